// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), deterministically:
//   canaryd_fuzz_make_seeds <corpus dir> [<prometheus-2.42 capture dir>]
// With the capture dir (/work/shared/testdata/prometheus-2.42), three real Prometheus requests are
// copied into the remote_write_v1 corpus as well.
//
// Valid requests come from the generated protobuf classes (tests/testutil); everything a
// conforming encoder never writes (unknown fields and groups, non-canonical encodings, bad
// wire types, truncation) is written by hand with the small Pb writer below.
//
// The remote-write targets try every input both as a snappy body and as a raw body, so each
// request is written twice: `<name>.snappy` and `<name>.raw`. Decompress inputs start with two
// selector bytes (codec, size limit): see decompress_fuzz.cc.
//
// Two kinds of files in the corpora are not written by this tool, and regenerating leaves them
// alone: `crash-*` (minimized crashers found by fuzzing, replayed forever by ctest) and `fuzz-*`
// (coverage-increasing inputs merged from fuzzing runs, named by their SHA-1).
#include <zstd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "remote_write_builders.h"

namespace {

namespace fs = std::filesystem;
namespace v2 = io::prometheus::write::v2;
using canaryd::testutil::AddSeries;
using canaryd::testutil::Encode;
using canaryd::testutil::LabelPairs;
using canaryd::testutil::Snappy;
using canaryd::testutil::V2Builder;

constexpr int64_t kTs = 1'795'000'000'000;             // 2026-11-18, like the real captures
constexpr int64_t kFuture = 5'000'000'000'000;         // 2128: past the targets' limit
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002;  // Prometheus's stale marker

double StaleNaN() {
  double d;
  std::memcpy(&d, &kStaleNaNBits, sizeof d);
  return d;
}

// A protobuf writer for bytes the generated classes will not produce.
class Pb {
 public:
  Pb& Varint(uint64_t v) {
    while (v >= 0x80) {
      s_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Pb& Tag(uint32_t field, uint32_t wire_type) { return Varint((uint64_t{field} << 3) | wire_type); }
  Pb& Uint(uint32_t field, uint64_t v) { return Tag(field, 0).Varint(v); }
  Pb& Double(uint32_t field, double d) {
    Tag(field, 1);
    char b[8];
    std::memcpy(b, &d, 8);
    s_.append(b, 8);
    return *this;
  }
  Pb& Fixed32(uint32_t field, uint32_t v) {
    Tag(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);
    s_.append(b, 4);
    return *this;
  }
  Pb& Bytes(uint32_t field, std::string_view b) {
    Tag(field, 2).Varint(b.size());
    s_.append(b);
    return *this;
  }
  Pb& Raw(std::string_view b) {
    s_.append(b);
    return *this;
  }
  const std::string& str() const { return s_; }
  operator std::string_view() const { return s_; }  // NOLINT: a builder

 private:
  std::string s_;
};

std::string Label(std::string_view name, std::string_view value) {
  return Pb().Bytes(1, name).Bytes(2, value).str();
}
std::string SampleMsg(double v, int64_t ts) {
  return Pb().Double(1, v).Uint(2, static_cast<uint64_t>(ts)).str();
}

class Writer {
 public:
  explicit Writer(fs::path root) : root_(std::move(root)) {}

  void File(const std::string& target, const std::string& name, std::string_view bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
      ok_ = false;
    }
    ++files_;
    bytes_ += bytes.size();
  }
  // A remote-write body, both snappy-compressed and raw.
  void Body(const std::string& target, const std::string& name, std::string_view raw) {
    File(target, name + ".snappy", Snappy(raw));
    File(target, name + ".raw", raw);
  }
  bool ok() const { return ok_; }
  size_t files() const { return files_; }
  size_t bytes() const { return bytes_; }

 private:
  fs::path root_;
  bool ok_ = true;
  size_t files_ = 0;
  size_t bytes_ = 0;
};

// ---- remote-write 1.0 ----

// Histogram messages (either version: the fields agree) whose bucket deltas overflow int64.
std::string DeltaOverflowUp() {  // positive_deltas: INT64_MAX, +1 (zigzag)
  return Pb().Uint(12, 0xfffffffffffffffe).Uint(12, 2).str();
}
std::string DeltaOverflowDown() {  // negative_deltas, packed: INT64_MIN, -1 (zigzag)
  return Pb().Bytes(9, Pb().Varint(0xffffffffffffffff).Varint(1)).str();
}

prometheus::WriteRequest BasicV1() {
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "up"}, {"instance", "localhost:9100"}, {"job", "node"}},
            {{kTs, 1}, {kTs + 15'000, 1}});
  AddSeries(req, {{"__name__", "node_load1"}, {"instance", "localhost:9100"}, {"job", "node"}},
            {{kTs, 0.25}});
  return req;
}

void AddIntHistogram(prometheus::Histogram* h, int64_t ts) {
  // Buckets 2, 3 (deltas 2, +1), a span of 2 at offset 0, then 1 bucket at offset 2; zero count 1.
  h->set_count_int(1 + 2 + 3 + 4);
  h->set_sum(42.5);
  h->set_schema(3);
  h->set_zero_threshold(1e-128);
  h->set_zero_count_int(1);
  auto* s1 = h->add_positive_spans();
  s1->set_offset(0);
  s1->set_length(2);
  auto* s2 = h->add_positive_spans();
  s2->set_offset(2);
  s2->set_length(1);
  h->add_positive_deltas(2);
  h->add_positive_deltas(1);
  h->add_positive_deltas(1);
  h->set_timestamp(ts);
}

void AddFloatHistogram(prometheus::Histogram* h, int64_t ts) {
  h->set_count_float(7.5);
  h->set_sum(-3.25);
  h->set_schema(-2);
  h->set_zero_count_float(0.5);
  auto* n = h->add_negative_spans();
  n->set_offset(-1);
  n->set_length(2);
  h->add_negative_counts(1);
  h->add_negative_counts(2);
  auto* p = h->add_positive_spans();
  p->set_offset(1);
  p->set_length(1);
  h->add_positive_counts(4);
  h->set_reset_hint(prometheus::Histogram::GAUGE);
  h->set_timestamp(ts);
}

void AddCustomBucketsHistogram(prometheus::Histogram* h, int64_t ts) {
  h->set_count_int(1 + 3 + 1);
  h->set_sum(12);
  h->set_schema(-53);
  for (double b : {0.1, 0.5, 1.0, 5.0}) {
    h->add_custom_values(b);
  }
  auto* s = h->add_positive_spans();
  s->set_offset(0);
  s->set_length(3);
  h->add_positive_deltas(1);
  h->add_positive_deltas(2);
  h->add_positive_deltas(-2);
  h->set_timestamp(ts);
}

void WriteV1(Writer& w) {
  const std::string t = "remote_write_v1";
  w.Body(t, "basic", Encode(BasicV1()));
  w.Body(t, "empty", "");
  w.Body(t, "realistic-20", Encode(canaryd::testutil::RealisticV1(20, kTs, 3)));

  {  // label-level rejections and the BuildKey path, one series each
    prometheus::WriteRequest req;
    AddSeries(req, {{"job", "node"}, {"__name__", "unsorted"}, {"instance", "a:1"}}, {{kTs, 1}});
    AddSeries(req, {{"__name__", "empty_value"}, {"env", ""}, {"job", "x"}}, {{kTs, 2}});
    AddSeries(req, {{"job", "no_name"}}, {{kTs, 3}});
    AddSeries(req, {{"__name__", "dup"}, {"job", "a"}, {"job", "b"}}, {{kTs, 4}});
    AddSeries(req, {{"__name__", "empty_name"}, {"", "v"}}, {{kTs, 5}});
    AddSeries(req, {{"__name__", "bad_utf8"}, {"job", "\xc3\x28"}}, {{kTs, 6}});
    AddSeries(req, {{"__name__", ""}, {"job", "empty_name_value"}}, {{kTs, 7}});
    AddSeries(req, {{"__name__", "no_samples"}}, {});
    AddSeries(req, {{"__name__", "utf8_\xe2\x82\xac"}, {"k\xc3\xa9y", "\xf0\x9f\x98\x80"}}, {{kTs, 8}});
    w.Body(t, "label-rules", Encode(req));
  }
  {  // special sample values and timestamps
    prometheus::WriteRequest req;
    AddSeries(req, {{"__name__", "special"}},
              {{kTs, std::numeric_limits<double>::quiet_NaN()},
               {kTs + 1, std::numeric_limits<double>::infinity()},
               {kTs + 2, -std::numeric_limits<double>::infinity()},
               {kTs + 3, StaleNaN()},
               {-1, 0},
               {0, -0.0},
               {kFuture, 1},
               {std::numeric_limits<int64_t>::max(), 2},
               {std::numeric_limits<int64_t>::min(), 3}});
    AddSeries(req, {{"__name__", "all_future"}}, {{kFuture, 1}, {kFuture + 1, 2}});
    w.Body(t, "sample-values", Encode(req));
  }
  {  // native histograms, valid and not
    prometheus::WriteRequest req;
    auto* ts = AddSeries(req, {{"__name__", "hist_int"}, {"job", "h"}}, {});
    AddIntHistogram(ts->add_histograms(), kTs);
    AddIntHistogram(ts->add_histograms(), kTs + 1000);
    ts = AddSeries(req, {{"__name__", "hist_float"}}, {});
    AddFloatHistogram(ts->add_histograms(), kTs);
    ts = AddSeries(req, {{"__name__", "hist_custom"}}, {});
    AddCustomBucketsHistogram(ts->add_histograms(), kTs);
    ts = AddSeries(req, {{"__name__", "hist_stale"}}, {});
    ts->add_histograms()->set_sum(StaleNaN());
    ts = AddSeries(req, {{"__name__", "hist_invalid"}}, {});
    auto* h = ts->add_histograms();
    AddIntHistogram(h, kTs);
    h->add_positive_deltas(-10);  // negative bucket, and more deltas than spans cover
    h = ts->add_histograms();
    AddIntHistogram(h, kTs);
    h->set_schema(9);
    h = ts->add_histograms();
    AddIntHistogram(h, kFuture);
    h = ts->add_histograms();
    AddCustomBucketsHistogram(h, kTs);
    h->add_custom_values(0.2);  // not increasing
    h = ts->add_histograms();
    AddIntHistogram(h, kTs);
    h->set_sum(std::numeric_limits<double>::quiet_NaN());
    h->set_count_int(100);
    ts = AddSeries(req, {{"__name__", "samples_and_hist"}}, {{kTs, 1}});
    AddIntHistogram(ts->add_histograms(), kTs);
    w.Body(t, "histograms", Encode(req));
  }
  {  // exemplars
    prometheus::WriteRequest req;
    auto* ts = AddSeries(req, {{"__name__", "http_requests_total"}, {"code", "200"}}, {{kTs, 10}});
    auto* e = ts->add_exemplars();
    auto* l = e->add_labels();
    l->set_name("trace_id");
    l->set_value("4bf92f3577b34da6a3ce929d0e0e4736");
    e->set_value(0.125);
    e->set_timestamp(kTs);
    ts->add_exemplars()->set_value(1);  // no labels
    e = ts->add_exemplars();
    l = e->add_labels();
    l->set_name("");  // invalid
    l->set_value("x");
    e = ts->add_exemplars();
    l = e->add_labels();
    l->set_name("span_id");
    l->set_value("\xff\xfe");  // invalid UTF-8
    ts = AddSeries(req, {{"job", "exemplar_no_name"}}, {{kTs, 1}});
    ts->add_exemplars()->set_value(2);
    w.Body(t, "exemplars", Encode(req));
  }
  {  // metadata, alone (as Prometheus sends it) and with series
    prometheus::WriteRequest req;
    const prometheus::MetricMetadata::MetricType types[] = {
        prometheus::MetricMetadata::COUNTER, prometheus::MetricMetadata::GAUGE,
        prometheus::MetricMetadata::HISTOGRAM, prometheus::MetricMetadata::SUMMARY,
        prometheus::MetricMetadata::STATESET};
    int i = 0;
    for (auto type : types) {
      auto* md = req.add_metadata();
      md->set_type(type);
      md->set_metric_family_name("family_" + std::to_string(i));
      md->set_help("Help text for family " + std::to_string(i) + ".");
      if (i++ % 2 == 0) {
        md->set_unit("seconds");
      }
    }
    w.Body(t, "metadata-only", Encode(req));
    AddSeries(req, {{"__name__", "family_0"}}, {{kTs, 1}});
    w.Body(t, "metadata-and-series", Encode(req));
  }

  // ---- hand-written encodings ----
  {  // unknown fields everywhere: top level (reserved 2, fixed32, group), series, label, sample
    const std::string group = Pb().Tag(9, 3).Uint(1, 5).Tag(10, 3).Fixed32(2, 7).Tag(10, 4)
                                  .Bytes(3, "x").Tag(9, 4).str();
    const std::string ts = Pb().Bytes(1, Pb().Bytes(1, "__name__").Bytes(2, "unknown_fields")
                                          .Uint(3, 9))
                               .Bytes(1, Label("job", "j"))
                               .Bytes(2, Pb().Double(1, 1.5).Uint(2, kTs).Fixed32(4, 1))
                               .Uint(9, 77)
                               .Raw(group)
                               .Bytes(15, "opaque")
                               .str();
    const std::string body = Pb().Uint(2, 123).Bytes(1, ts).Fixed32(7, 0xdeadbeef).Raw(group)
                                 .Double(8, 1.0).Bytes(100, "future").str();
    w.Body(t, "unknown-fields", body);
  }
  {  // non-canonical encodings of valid data: key must be rebuilt, not aliased
    const std::string value_first = Pb().Bytes(2, "v").Bytes(1, "a").str();
    const std::string nonminimal = Pb().Tag(1, 2).Raw(std::string("\x88\x00", 2))
                                       .Raw("__name__").Bytes(2, "nonminimal").str();
    const std::string twice = Pb().Bytes(1, "zz").Bytes(2, "first").Bytes(2, "last").str();
    const std::string ts = Pb().Bytes(1, nonminimal)
                               .Bytes(2, SampleMsg(1, kTs))
                               .Bytes(1, value_first)  // interleaved with samples
                               .Bytes(1, twice)
                               .Bytes(2, Pb().Uint(2, kTs + 1).Double(1, 2).str())  // ts first
                               .Bytes(2, "")                                       // all defaults
                               .Bytes(2, Pb().Double(1, 3).Double(1, 4).Uint(2, 5).Uint(2, kTs))
                               .str();
    // Labels in canonical form but split over two TimeSeries messages (proto merge semantics
    // do not apply to repeated messages: these are two series).
    const std::string canonical = Pb().Bytes(1, Label("__name__", "canon"))
                                      .Bytes(1, Label("a", "b"))
                                      .Bytes(2, SampleMsg(7, kTs))
                                      .str();
    w.Body(t, "non-canonical", Pb().Bytes(1, ts).Bytes(1, canonical).str());
  }
  {  // a remote-write 2.0 body sent as 1.0: an empty 1.0 message (fields 4 and 5 are unknown)
    V2Builder b;
    b.AddSeries({{"__name__", "v2_in_v1"}}, {{kTs, 1}});
    w.Body(t, "v2-body", b.Encode());
  }
  // Malformed bodies: every one must be a clean error.
  const std::string basic = Encode(BasicV1());
  w.Body(t, "bad-truncated", basic.substr(0, basic.size() / 2));
  w.Body(t, "bad-truncated-label", basic.substr(0, 9));
  w.Body(t, "bad-wire-type-7", Pb().Raw(basic).Tag(3, 7).str());
  w.Body(t, "bad-field-0", Pb().Tag(0, 2).Varint(0).str());
  w.Body(t, "bad-varint-11", Pb().Tag(2, 0).Raw("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").str());
  w.Body(t, "bad-end-group", Pb().Tag(5, 4).str());
  w.Body(t, "bad-group-mismatch", Pb().Tag(5, 3).Tag(6, 4).str());
  {
    Pb deep, too_deep;
    for (int i = 0; i < 100; ++i) deep.Tag(20, 3);
    for (int i = 0; i < 100; ++i) deep.Tag(20, 4);
    for (int i = 0; i < 101; ++i) too_deep.Tag(20, 3);
    for (int i = 0; i < 101; ++i) too_deep.Tag(20, 4);
    w.Body(t, "groups-100-deep", deep);
    w.Body(t, "bad-groups-101-deep", too_deep);
  }
  w.Body(t, "bad-sample-truncated", Pb().Bytes(1, Pb().Bytes(1, Label("__name__", "x"))
                                                     .Bytes(2, Pb().Tag(1, 1).Raw("abc").str())
                                                     .str()));
  w.Body(t, "bad-histogram-truncated",
         Pb().Bytes(1, Pb().Bytes(1, Label("__name__", "x")).Bytes(4, Pb().Tag(3, 1).Raw("ab").str())
                           .str()));
  w.Body(t, "bad-packed-doubles",
         Pb().Bytes(1, Pb().Bytes(1, Label("__name__", "x")).Bytes(4, Pb().Bytes(13, "1234567").str())
                           .str()));
  w.Body(t, "bad-metadata", Pb().Bytes(3, Pb().Tag(1, 6).str()));
  w.Body(t, "bad-exemplar-label", Pb().Bytes(1, Pb().Bytes(1, Label("__name__", "x"))
                                                   .Bytes(3, Pb().Bytes(1, "\x0a\x05").str())
                                                   .str()));
  // Bucket deltas whose running sum leaves int64 (found by remote_write_v1_fuzz: signed overflow
  // in CheckHistogram): up past INT64_MAX in the positive buckets, down past INT64_MIN in the
  // negative ones.
  w.Body(t, "hist-delta-overflow", Pb().Bytes(1, Pb().Bytes(1, Label("__name__", "x"))
                                                    .Bytes(4, DeltaOverflowUp())
                                                    .Bytes(4, DeltaOverflowDown())
                                                    .str()));
  // Snappy-level damage (snappy inputs only).
  const std::string snappy = Snappy(basic);
  w.File(t, "bad-snappy-truncated.snappy", snappy.substr(0, snappy.size() - 3));
  w.File(t, "bad-snappy-huge-length.snappy", std::string("\xff\xff\xff\xff\x0f\x00", 6));
  w.File(t, "bad-snappy-over-32mib.snappy", Pb().Varint((uint64_t{32} << 20) + 1).Raw("\x00").str());
  w.File(t, "bad-snappy-bad-copy.snappy", std::string("\x0a\x08" "ab\x05\xff\x00", 7));
}

// ---- remote-write 2.0 ----

void AddV2IntHistogram(v2::Histogram* h, int64_t ts) {
  h->set_count_int(1 + 2 + 3 + 4);
  h->set_sum(42.5);
  h->set_schema(3);
  h->set_zero_threshold(1e-128);
  h->set_zero_count_int(1);
  auto* s1 = h->add_positive_spans();
  s1->set_offset(0);
  s1->set_length(2);
  auto* s2 = h->add_positive_spans();
  s2->set_offset(2);
  s2->set_length(1);
  h->add_positive_deltas(2);
  h->add_positive_deltas(1);
  h->add_positive_deltas(1);
  h->set_timestamp(ts);
}

void WriteV2(Writer& w) {
  const std::string t = "remote_write_v2";
  {
    V2Builder b;
    b.AddSeries({{"__name__", "up"}, {"instance", "localhost:9100"}, {"job", "node"}},
                {{kTs, 1}, {kTs + 15'000, 1}});
    b.AddSeries({{"__name__", "node_load1"}, {"instance", "localhost:9100"}, {"job", "node"}},
                {{kTs, 0.25}});
    w.Body(t, "basic", b.Encode());
  }
  w.Body(t, "empty", "");
  w.Body(t, "only-empty-symbol", Pb().Bytes(4, "").str());
  {
    V2Builder b;
    const auto v1 = canaryd::testutil::RealisticV1(20, kTs, 5);
    for (const auto& ts : v1.timeseries()) {
      LabelPairs labels;
      for (const auto& l : ts.labels()) {
        labels.emplace_back(l.name(), l.value());
      }
      b.AddSeries(labels, {{ts.samples(0).timestamp(), ts.samples(0).value()}});
    }
    w.Body(t, "realistic-20", b.Encode());
  }
  {  // label-level rejections
    V2Builder b;
    b.AddSeries({{"job", "node"}, {"__name__", "unsorted"}, {"instance", "a:1"}}, {{kTs, 1}});
    b.AddSeries({{"__name__", "empty_value"}, {"env", ""}, {"job", "x"}}, {{kTs, 2}});
    b.AddSeries({{"job", "no_name"}}, {{kTs, 3}});
    b.AddSeries({{"__name__", "dup"}, {"job", "a"}, {"job", "b"}}, {{kTs, 4}});
    b.AddSeries({{"__name__", "empty_name"}, {"", "v"}}, {{kTs, 5}});
    b.AddSeries({{"__name__", "bad_utf8"}, {"job", "\xc3\x28"}}, {{kTs, 6}});
    b.AddSeries({{"__name__", "no_samples"}}, {});
    b.AddSeries({{"__name__", "future"}}, {{kFuture, 1}, {kTs, 2}});
    auto* ts = b.AddSeries({{"__name__", "odd_refs"}}, {{kTs, 1}});
    ts->add_labels_refs(1);
    ts = b.AddSeries({{"__name__", "bad_ref"}}, {{kTs, 1}});
    ts->add_labels_refs(1);
    ts->add_labels_refs(100000);
    ts = b.AddSeries({{"__name__", "huge_ref"}}, {{kTs, 1}});
    ts->add_labels_refs(0xffffffffu);
    ts->add_labels_refs(1);
    w.Body(t, "label-rules", b.Encode());
  }
  {  // histograms, exemplars, metadata, created timestamp, start timestamps
    V2Builder b;
    const uint32_t trace = b.Symbol("trace_id");
    const uint32_t trace_val = b.Symbol("4bf92f3577b34da6");
    const uint32_t help = b.Symbol("Total HTTP requests.");
    const uint32_t unit = b.Symbol("requests");
    auto* ts = b.AddSeries({{"__name__", "http_requests_total"}, {"code", "200"}}, {{kTs, 10}});
    ts->mutable_samples(0)->set_start_timestamp(kTs - 60'000);
    ts->set_created_timestamp(kTs - 60'000);
    auto* e = ts->add_exemplars();
    e->add_labels_refs(trace);
    e->add_labels_refs(trace_val);
    e->set_value(0.5);
    e->set_timestamp(kTs);
    e = ts->add_exemplars();  // odd refs
    e->add_labels_refs(trace);
    e = ts->add_exemplars();  // name ref 0 (the empty string)
    e->add_labels_refs(0);
    e->add_labels_refs(trace_val);
    e = ts->add_exemplars();  // out of range
    e->add_labels_refs(trace);
    e->add_labels_refs(99999);
    auto* md = ts->mutable_metadata();
    md->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
    md->set_help_ref(help);
    md->set_unit_ref(unit);

    ts = b.AddSeries({{"__name__", "latency_seconds"}}, {});
    AddV2IntHistogram(ts->add_histograms(), kTs);
    auto* h = ts->add_histograms();
    h->set_count_float(3);
    h->set_sum(1.5);
    h->set_schema(0);
    h->set_zero_count_float(3);
    h->set_start_timestamp(kTs - 1000);
    h->set_timestamp(kTs + 1000);
    ts->mutable_metadata()->set_type(v2::Metadata::METRIC_TYPE_HISTOGRAM);

    ts = b.AddSeries({{"__name__", "custom_buckets"}}, {});
    h = ts->add_histograms();
    h->set_count_int(3);
    h->set_schema(-53);
    h->add_custom_values(1);
    h->add_custom_values(2);
    auto* s = h->add_positive_spans();
    s->set_length(2);
    h->add_positive_deltas(1);
    h->add_positive_deltas(1);

    ts = b.AddSeries({{"__name__", "invalid_histogram"}}, {});
    h = ts->add_histograms();
    AddV2IntHistogram(h, kTs);
    h->set_count_int(3);

    ts = b.AddSeries({{"__name__", "samples_and_histograms"}}, {{kTs, 1}});
    AddV2IntHistogram(ts->add_histograms(), kTs);

    ts = b.AddSeries({{"__name__", "bad_metadata_ref"}}, {{kTs, 1}});
    ts->mutable_metadata()->set_help_ref(77777);
    w.Body(t, "rich", b.Encode());
  }

  // ---- hand-written encodings ----
  {  // symbols after the series, unpacked refs, unknown fields, symbols split around series
    const std::string series = Pb().Uint(1, 1).Uint(1, 2).Uint(1, 3).Uint(1, 4)
                                   .Bytes(2, SampleMsg(1, kTs))
                                   .Uint(6, kTs)
                                   .Uint(12, 5)
                                   .Bytes(2, Pb().Uint(2, kTs + 1).Double(1, 2).Uint(3, 1).str())
                                   .str();
    const std::string body = Pb().Bytes(5, series)
                                 .Bytes(4, "")
                                 .Bytes(4, "__name__")
                                 .Uint(1, 1)  // reserved 1.0 field numbers
                                 .Bytes(4, "late_symbols")
                                 .Bytes(3, "x")
                                 .Bytes(4, "job")
                                 .Bytes(4, "j")
                                 .Tag(7, 3).Uint(1, 1).Tag(7, 4)
                                 .str();
    w.Body(t, "symbols-after-series", body);
    // Mixed packed and unpacked refs in one series, and refs with bits above 32.
    const std::string mixed = Pb().Bytes(1, Pb().Varint(1).Varint(2).str())
                                  .Uint(1, (uint64_t{1} << 32) | 3)
                                  .Uint(1, 4)
                                  .Bytes(2, SampleMsg(3, kTs))
                                  .str();
    w.Body(t, "refs-mixed", Pb().Bytes(4, "").Bytes(4, "__name__").Bytes(4, "mixed")
                                .Bytes(4, "a").Bytes(4, "b").Bytes(5, mixed).str());
  }
  {  // a 1.0 body sent as 2.0: no symbols, no series
    w.Body(t, "v1-body", Encode(BasicV1()));
  }
  // Bucket deltas that overflow int64 (found by remote_write_v2_fuzz; see WriteV1).
  w.Body(t, "hist-delta-overflow",
         Pb().Bytes(4, "").Bytes(4, "__name__").Bytes(4, "x")
             .Bytes(5, Pb().Uint(1, 1).Uint(1, 2).Bytes(3, DeltaOverflowUp())
                           .Bytes(3, DeltaOverflowDown()).str())
             .str());
  // Malformed.
  w.Body(t, "bad-symbol0-not-empty", Pb().Bytes(4, "x").Bytes(5, Pb().Uint(1, 0).Uint(1, 0)).str());
  w.Body(t, "bad-refs-no-symbols", Pb().Bytes(5, Pb().Uint(1, 1).Uint(1, 2)).str());
  {
    V2Builder b;
    b.AddSeries({{"__name__", "x"}}, {{kTs, 1}});
    const std::string body = b.Encode();
    w.Body(t, "bad-truncated", body.substr(0, body.size() - 4));
    w.Body(t, "bad-wire-type-6", Pb().Raw(body).Tag(9, 6).str());
  }
  w.Body(t, "bad-packed-refs", Pb().Bytes(4, "").Bytes(5, Pb().Bytes(1, "\x80\x80").str()).str());
  w.Body(t, "bad-exemplar-refs", Pb().Bytes(4, "").Bytes(5, Pb().Bytes(4, Pb().Bytes(1, "\xff").str()).str()).str());
  w.Body(t, "bad-metadata", Pb().Bytes(4, "").Bytes(5, Pb().Bytes(5, Pb().Tag(3, 0).str()).str()).str());
  w.Body(t, "bad-histogram-spans",
         Pb().Bytes(4, "").Bytes(5, Pb().Bytes(3, Pb().Bytes(11, Pb().Tag(1, 0).str()).str()).str()).str());
  w.Body(t, "bad-field-0", Pb().Tag(0, 0).Varint(1).str());
  w.Body(t, "bad-varint-11", Pb().Raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01").str());
}

// ---- Decompress ----

std::string ZstdFrame(std::string_view raw, bool content_size, bool checksum, int level = 3) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cctx);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// Selector bytes: codec (0 snappy, 1 zstd, 2 none), then the limit index into decompress_fuzz.cc's
// {0, 1, 64, 1000, 4096, 65536, 300000, 1 MiB}.
enum Codec : char { kSnappy = 0, kZstd = 1, kNone = 2 };
enum Limit : char { k0 = 0, k1 = 1, k64 = 2, k1000 = 3, k4096 = 4, k64K = 5, k300K = 6, k1M = 7 };

void WriteDecompress(Writer& w) {
  const std::string t = "decompress";
  auto file = [&](const std::string& name, Codec c, Limit l, std::string_view payload) {
    std::string bytes;
    bytes.push_back(static_cast<char>(c));
    bytes.push_back(static_cast<char>(l));
    bytes.append(payload);
    w.File(t, name, bytes);
  };
  const std::string body = Encode(canaryd::testutil::RealisticV1(10, kTs));
  std::string big;  // ~200 KB, very compressible
  for (int i = 0; big.size() < 200'000; ++i) {
    big += "series_" + std::to_string(i % 97) + "{job=\"node\"} ";
  }

  file("snappy-body", kSnappy, k1M, Snappy(body));
  file("snappy-body-too-large", kSnappy, k1000, Snappy(body));
  file("snappy-big-limit-64k", kSnappy, k64K, Snappy(big));
  file("snappy-big-fits", kSnappy, k300K, Snappy(big));
  file("snappy-empty", kSnappy, k0, Snappy(""));
  file("snappy-one-byte", kSnappy, k1, Snappy("x"));
  file("snappy-no-input", kSnappy, k64, "");
  const std::string s = Snappy(body);
  file("snappy-truncated", kSnappy, k1M, s.substr(0, s.size() / 2));
  file("snappy-huge-length", kSnappy, k1M, std::string("\xff\xff\xff\xff\x0f", 5));
  file("snappy-bad-varint", kSnappy, k1M, std::string("\xff\xff\xff\xff\xff\xff", 6));
  file("snappy-copy-before-start", kSnappy, k64, std::string("\x08\x05\x00\x00", 4));

  file("zstd-body", kZstd, k1M, ZstdFrame(body, true, false));
  file("zstd-body-too-large", kZstd, k1000, ZstdFrame(body, true, false));
  file("zstd-body-checksum", kZstd, k64K, ZstdFrame(body, true, true));
  file("zstd-stream-body", kZstd, k64K, ZstdFrame(body, false, false));
  file("zstd-stream-big-fits", kZstd, k300K, ZstdFrame(big, false, true));
  file("zstd-stream-big-too-large", kZstd, k64K, ZstdFrame(big, false, false, 19));
  file("zstd-stream-limit-0", kZstd, k0, ZstdFrame("abc", false, false));
  file("zstd-stream-empty", kZstd, k0, ZstdFrame("", false, false));
  file("zstd-empty", kZstd, k0, ZstdFrame("", true, false));
  file("zstd-no-input", kZstd, k64, "");
  file("zstd-two-frames", kZstd, k64K, ZstdFrame(body, true, false) + ZstdFrame("tail", true, false));
  file("zstd-two-stream-frames", kZstd, k64K,
       ZstdFrame(body, false, false) + ZstdFrame("tail", false, false));
  {
    // A skippable frame (magic 0x184D2A50, 4-byte size, payload) before a real frame.
    std::string skippable("\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
    file("zstd-skippable-then-frame", kZstd, k64K, skippable + ZstdFrame(body, false, false));
    file("zstd-skippable-only", kZstd, k64K, skippable);
  }
  const std::string z = ZstdFrame(body, false, true);
  file("zstd-stream-truncated", kZstd, k1M, z.substr(0, z.size() - 5));
  std::string corrupt = z;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
  file("zstd-stream-corrupt", kZstd, k1M, corrupt);
  file("zstd-trailing-garbage", kZstd, k1M, ZstdFrame(body, true, false) + "garbage");

  // Frames whose last block is a compressed block of size 0: libzstd's streaming API accepts them
  // (empty output), its one-shot API does not (found by decompress_fuzz against ZSTD_decompress).
  file("zstd-zero-size-block", kZstd, k0, std::string("\x28\xb5\x2f\xfd\x00\x00\x05\x00\x00", 9));
  file("zstd-zero-size-block-declared", kZstd, k64,
       std::string("\x28\xb5\x2f\xfd\x20\x00\x05\x00\x00", 9));
  file("none-fits", kNone, k1000, "plain body");
  file("none-too-large", kNone, k1, "plain body");
  file("none-empty", kNone, k0, "");
}

bool CopyCaptures(const fs::path& captures, Writer& w) {
  bool ok = true;
  for (const char* name : {"0001.bin", "0003.bin", "0102.bin"}) {
    std::ifstream f(captures / name, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "cannot read %s\n", (captures / name).c_str());
      ok = false;
      continue;
    }
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    w.File("remote_write_v1", std::string("prometheus-2.42-") + name, bytes);
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s <corpus dir> [<prometheus-2.42 capture dir>]\n", argv[0]);
    return 2;
  }
  Writer w{fs::path(argv[1])};
  WriteV1(w);
  WriteV2(w);
  WriteDecompress(w);
  bool ok = w.ok();
  if (argc == 3) {
    ok &= CopyCaptures(argv[2], w);
  }
  std::printf("wrote %zu files, %zu bytes\n", w.files(), w.bytes());
  return ok ? 0 : 1;
}
