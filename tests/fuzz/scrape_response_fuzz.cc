// libFuzzer target: a scrape response from an untrusted target, through everything canaryd does
// with it: gzip decoding with a size limit, then TargetScraper::Process (parser, target labels and
// exported_ renaming, the series cache, staleness, report series). Two responses per input, so
// the cache and the staleness set carry over.
//
// Input: byte 0 = flags (bit 0: gzip-decode the body first; bit 1: OpenMetrics; bit 2:
// honor_labels; bit 3: a sample limit of 5), then the first body, a 0xFF byte, the second body.
// Checks beyond "does not crash": every series the sink receives has a canonical label key that
// hashes to what the batch says, with __name__, job and instance present.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "canaryd/ingest/sample_sink.h"
#include "canaryd/model/labels.h"
#include "canaryd/scrape/target.h"
#include "scrape/gzip.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

class CheckingSink final : public canaryd::ingest::SampleSink {
 public:
  void Append(const canaryd::model::SeriesBatch& batch) override {
    for (const auto& s : batch.series) {
      const auto h = canaryd::model::HashLabelKey128(s.labels);
      Check(h.lo == s.hash && h.hi == s.hash_hi);
      Check(s.first_sample + s.num_samples <= batch.samples.size());
      canaryd::model::LabelKeyReader reader(s.labels);
      canaryd::model::LabelView l, prev;
      bool first = true, name = false, job = false, instance = false;
      while (reader.Next(l)) {
        Check(!l.value.empty());
        Check(first || prev.name < l.name);
        name = name || l.name == "__name__";
        job = job || l.name == "job";
        instance = instance || l.name == "instance";
        prev = l;
        first = false;
      }
      Check(name && job && instance);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto cut = rest.find('\xff');
  const std::string_view bodies[2] = {rest.substr(0, cut),
                                      cut == std::string_view::npos ? std::string_view()
                                                                    : rest.substr(cut + 1)};
  canaryd::scrape::ScrapeConfig job;
  job.job_name = "fuzz";
  job.honor_labels = (flags & 4) != 0;
  job.sample_limit = (flags & 8) != 0 ? 5 : 0;
  canaryd::scrape::TargetSpec spec;
  Check(canaryd::scrape::MakeTargetSpec(job, "127.0.0.1:9100", {{"env", "x"}}, spec).empty());
  CheckingSink sink;
  canaryd::scrape::TargetScraper target(spec, job, sink);
  int64_t t = 1'700'000'000'000;
  for (std::string_view body : bodies) {
    canaryd::scrape::ScrapeResponse response;
    response.content_type =
        (flags & 2) != 0 ? "application/openmetrics-text; version=1.0.0" : "text/plain";
    std::string decoded, error;
    if ((flags & 1) != 0) {
      const auto status = canaryd::scrape::Gunzip(body, 1 << 20, decoded, error);
      Check(decoded.size() <= (1u << 20) + 1);
      if (status != canaryd::scrape::GunzipStatus::kOk) {
        response.failure = canaryd::scrape::ScrapeFailure::kBadEncoding;
        response.error = error;
      }
      body = decoded;
    }
    response.body = body;
    const auto report = target.Process(response, t, std::chrono::milliseconds(1));
    Check(report.failure != canaryd::scrape::ScrapeFailure::kNone || report.error.empty());
    t += 15'000;
  }
  target.EndOfRun(t);
  return 0;
}
