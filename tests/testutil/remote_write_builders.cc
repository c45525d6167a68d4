#include "remote_write_builders.h"

#include <snappy.h>
#include <zstd.h>

namespace canaryd::testutil {

std::string Snappy(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string Zstd(std::string_view raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

prometheus::TimeSeries* AddSeries(prometheus::WriteRequest& req, const LabelPairs& labels,
                                  const SamplePairs& samples) {
  auto* ts = req.add_timeseries();
  for (const auto& [n, v] : labels) {
    auto* l = ts->add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  for (const auto& [t, v] : samples) {
    auto* s = ts->add_samples();
    s->set_timestamp(t);
    s->set_value(v);
  }
  return ts;
}

std::string Encode(const google::protobuf::MessageLite& msg) {
  std::string out;
  msg.SerializeToString(&out);
  return out;
}

V2Builder::V2Builder() { Symbol(""); }

uint32_t V2Builder::Symbol(const std::string& s) {
  auto [it, inserted] = index_.emplace(s, static_cast<uint32_t>(req_.symbols_size()));
  if (inserted) {
    req_.add_symbols(s);
  }
  return it->second;
}

io::prometheus::write::v2::TimeSeries* V2Builder::AddSeries(const LabelPairs& labels,
                                                            const SamplePairs& samples) {
  auto* ts = req_.add_timeseries();
  for (const auto& [n, v] : labels) {
    ts->add_labels_refs(Symbol(n));
    ts->add_labels_refs(Symbol(v));
  }
  for (const auto& [t, v] : samples) {
    auto* s = ts->add_samples();
    s->set_timestamp(t);
    s->set_value(v);
  }
  return ts;
}

std::string V2Builder::Encode() const { return testutil::Encode(req_); }

prometheus::WriteRequest RealisticV1(int series, int64_t timestamp_ms, int seed) {
  prometheus::WriteRequest req;
  for (int i = 0; i < series; ++i) {
    const int pod = (i + seed) % 40;
    const int node = (i + seed) % 12;
    AddSeries(req,
              {{"__name__", "container_cpu_usage_seconds_total"},
               {"container", "app-" + std::to_string(i % 7)},
               {"cpu", "total"},
               {"endpoint", "https-metrics"},
               {"id", "/kubepods/burstable/pod" + std::to_string(pod) + "/c" + std::to_string(i)},
               {"image", "registry.example.com/team/app:v1." + std::to_string(i % 5)},
               {"instance", "10.0." + std::to_string(node) + ".1:10250"},
               {"job", "kubelet"},
               {"metrics_path", "/metrics/cadvisor"},
               {"namespace", "prod"},
               {"node", "node-" + std::to_string(node)},
               {"pod", "app-" + std::to_string(pod) + "-7d9f8b6c5-" + std::to_string(i)},
               {"service", "kubelet"}},
              {{timestamp_ms, 1.5 * i}});
  }
  return req;
}

}  // namespace canaryd::testutil
