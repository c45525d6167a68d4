#include "workload/workload.h"

#include <snappy.h>
#include <zstd.h>

#include <array>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "io/prometheus/write/v2/types.pb.h"
#include "prometheus/remote.pb.h"

namespace canaryd::bench {
namespace {

constexpr std::array<std::string_view, 20> kMetrics = {
    "container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
    "container_cpu_system_seconds_total", "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total", "container_memory_working_set_bytes",
    "container_memory_rss", "container_memory_cache", "container_memory_usage_bytes",
    "container_memory_failcnt", "container_fs_reads_bytes_total", "container_fs_writes_bytes_total",
    "container_network_receive_bytes_total", "container_network_transmit_bytes_total",
    "container_network_receive_packets_total", "container_network_transmit_packets_total",
    "container_last_seen", "container_spec_cpu_shares", "container_spec_memory_limit_bytes",
    "container_threads"};

constexpr std::array<std::string_view, 8> kNamespaces = {"prod",        "staging", "payments",
                                                         "search",      "checkout", "monitoring",
                                                         "kube-system", "ingress"};

// A cheap deterministic hash for label values that look random but repeat per series.
uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::string Hex(uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    s[static_cast<size_t>(i)] = kHex[v & 15];
    v >>= 4;
  }
  return s;
}


// Series i: metric i%20 of container (i/20)%3 of pod i/60, pods spread over 200 nodes.
std::vector<std::pair<std::string, std::string>> SeriesLabels(int64_t i, uint32_t seed) {
  const int64_t metric = i % static_cast<int64_t>(kMetrics.size());
  const int64_t container = (i / 20) % 3;
  const int64_t pod = i / 60;
  const uint64_t pod_hash = Mix(static_cast<uint64_t>(pod) * 7919 + seed);
  const int64_t node = static_cast<int64_t>(pod_hash % 200);
  const std::string ns(kNamespaces[pod_hash % kNamespaces.size()]);
  const std::string app = "app-" + std::to_string(pod % 97);
  const std::string pod_name = app + "-" + Hex(pod_hash >> 8, 10) + "-" + Hex(pod_hash >> 40, 5);
  const std::string container_name = container == 0 ? app : (container == 1 ? "istio-proxy" : "log-shipper");
  const std::string container_id = Hex(Mix(pod_hash + static_cast<uint64_t>(container)), 16);
  const std::string pod_uid = Hex(pod_hash, 8) + "-" + Hex(pod_hash >> 12, 4) + "-" +
                              Hex(pod_hash >> 24, 4) + "-" + Hex(pod_hash >> 36, 4) + "-" +
                              Hex(Mix(pod_hash), 12);
  return {
      {"__name__", std::string(kMetrics[static_cast<size_t>(metric)])},
      {"container", container_name},
      {"endpoint", "https-metrics"},
      {"id", "/kubepods/burstable/pod" + pod_uid + "/" + container_id},
      {"image", "registry.example.com/" + ns + "/" + container_name + ":v1." + std::to_string(pod % 13)},
      {"instance", "10.0." + std::to_string(node / 250) + "." + std::to_string(node % 250) + ":10250"},
      {"job", "kubelet"},
      {"metrics_path", "/metrics/cadvisor"},
      {"namespace", ns},
      {"node", "ip-10-0-" + std::to_string(node / 250) + "-" + std::to_string(node % 250) + ".ec2.internal"},
      {"pod", pod_name},
      {"service", "kubelet"},
  };
}

double Value(int64_t series, int64_t t) {
  return static_cast<double>((Mix(static_cast<uint64_t>(series * 31 + t)) % 1'000'000)) / 100.0;
}

}  // namespace

void Workload::ForEachSeries(int64_t k, const SeriesFn& fn) const {
  const auto& o = options_;
  std::vector<std::pair<int64_t, double>> samples;
  for (int s = 0; s < o.series_per_request; ++s) {
    const int64_t global = k * o.series_per_request + s;
    const int64_t series = global % o.total_series;
    const int64_t round = global / o.total_series;
    samples.clear();
    for (int j = 0; j < o.samples_per_series; ++j) {
      const int64_t t = o.start_ms + (round * o.samples_per_series + j) * o.interval_ms;
      samples.emplace_back(t, Value(series, t));
    }
    fn(SeriesLabels(series, o.seed), samples);
  }
}

std::string Workload::EncodeV1(int64_t k) const {
  prometheus::WriteRequest req;
  ForEachSeries(k, [&](const Labels& labels, const Samples& samples) {
    auto* ts = req.add_timeseries();
    for (const auto& [n, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    for (const auto& [t, v] : samples) {
      auto* sample = ts->add_samples();
      sample->set_timestamp(t);
      sample->set_value(v);
    }
  });
  return req.SerializeAsString();
}

std::string Workload::EncodeV2(int64_t k) const {
  io::prometheus::write::v2::Request req;
  std::map<std::string, uint32_t> symbols;
  auto sym = [&](const std::string& s) {
    auto [it, inserted] = symbols.emplace(s, static_cast<uint32_t>(req.symbols_size()));
    if (inserted) {
      req.add_symbols(s);
    }
    return it->second;
  };
  sym("");
  ForEachSeries(k, [&](const Labels& labels, const Samples& samples) {
    auto* ts = req.add_timeseries();
    for (const auto& [n, v] : labels) {
      ts->add_labels_refs(sym(n));
      ts->add_labels_refs(sym(v));
    }
    for (const auto& [t, v] : samples) {
      auto* sample = ts->add_samples();
      sample->set_timestamp(t);
      sample->set_value(v);
    }
    ts->mutable_metadata()->set_type(io::prometheus::write::v2::Metadata::METRIC_TYPE_COUNTER);
  });
  return req.SerializeAsString();
}

std::vector<std::string> MetricNames() { return {kMetrics.begin(), kMetrics.end()}; }

std::string AppSelector(const std::string& metric, int app) {
  return metric + "{job=\"kubelet\",pod=~\"app-" + std::to_string(app) + "-.*\"}";
}

std::vector<std::vector<std::pair<std::string, std::string>>> AnalysisQueries(int n) {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  for (int a = 0; a < n; ++a) {
    auto& metrics = out.emplace_back();
    for (int m = 0; m < 10; ++m) {
      const std::string name(kMetrics[static_cast<size_t>(m)]);
      auto query = [&](int app) {
        const std::string sel = AppSelector(name, app);
        return m % 2 == 0 ? "avg(" + sel + ")" : "sum by (container) (rate(" + sel + "[2m]))";
      };
      metrics.emplace_back(query(a % 20), query(20 + a % 19));
    }
  }
  return out;
}

std::string SnappyCompress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string ZstdCompress(const std::string& raw, int level) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

}  // namespace canaryd::bench
