#pragma once
// Realistic remote-write traffic for benchmarks and load tests: Kubernetes cAdvisor-style series
// (12 labels: __name__, container, endpoint, id, image, instance, job, metrics_path, namespace,
// node, pod, service), as kubelet scrapes produce them.
//
// The series universe is `total_series` series; request k carries `series_per_request`
// consecutive series (wrapping around the universe), each with `samples_per_series` samples.
// Timestamps advance by `interval_ms` every time the universe has been covered once, so a
// sequence of requests looks like successive scrapes of the same targets.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace canaryd::bench {

struct WorkloadOptions {
  int series_per_request = 500;
  int samples_per_series = 1;
  int total_series = 100'000;
  int64_t start_ms = 1'795'000'000'000;
  int64_t interval_ms = 15'000;
  uint32_t seed = 1;
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options) : options_(options) {}
  /// Request k as an uncompressed prometheus.WriteRequest (1.0).
  std::string EncodeV1(int64_t k) const;
  /// Request k as an uncompressed io.prometheus.write.v2.Request (2.0).
  std::string EncodeV2(int64_t k) const;
  const WorkloadOptions& options() const { return options_; }
  int64_t samples_per_request() const {
    return static_cast<int64_t>(options_.series_per_request) * options_.samples_per_series;
  }

 private:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  using Samples = std::vector<std::pair<int64_t, double>>;  // (timestamp ms, value)
  using SeriesFn = std::function<void(const Labels&, const Samples&)>;
  /// Calls fn for each series of request k, with its labels (sorted) and samples.
  void ForEachSeries(int64_t k, const SeriesFn& fn) const;

  WorkloadOptions options_;
};

/// The 20 cAdvisor metric names the workload cycles through (series i has metric i % 20) and the
/// number of apps (series i belongs to pod i / 60 of app "app-" + (pod % kApps)).
std::vector<std::string> MetricNames();
inline constexpr int kApps = 97;

/// Selector text for workload series of `metric` in the pods of app `app`.
std::string AppSelector(const std::string& metric, int app);

/// `n` analyses of 10 metrics each over the workload: analysis a compares app a % 20 (control)
/// with app 20 + a % 19 (experiment), so 100 analyses select 39 of 97 apps x 10 of 20 metrics,
/// about 20 % of all series. Even metrics are gauges (avg), odd ones counters
/// (sum by (container) (rate(...[2m]))). Returns PromQL text pairs (control, experiment).
std::vector<std::vector<std::pair<std::string, std::string>>> AnalysisQueries(int n);

std::string SnappyCompress(const std::string& raw);
std::string ZstdCompress(const std::string& raw, int level = 1);

}  // namespace canaryd::bench
