#pragma once
// The synthetic service `canaryd demo` analyses: a baseline and a canary version of a small web
// service, a few pods each, every pod an HTTP server on a loopback port answering GET /metrics in
// the Prometheus text format 0.0.4, as a real pod's exporter would.
//
// Nothing runs in the background. Each pod is a small simulation driven by an injected Clock: when
// it is scraped it advances itself from the previous scrape to now (requests arriving at a fixed
// mean rate, each with a status code and a latency drawn from the pod's distributions, CPU spent
// per request) and renders its counters. The work per scrape is O(buckets), not O(requests): the
// number of requests is drawn from a Poisson distribution and split into status codes and latency
// buckets with binomial draws, so the counters have the statistics of individual requests without
// simulating each. Every pod has its own seeded generator, so a run is reproducible given the
// same scrape times.
//
// The canary pods carry the chosen regression (the baseline pods never do):
//   kLatency  every request takes twice as long (the whole distribution is scaled by 2)
//   kErrors   5xx responses go from 1% to 8% of requests
//   kCpu      CPU seconds per request (and idle CPU) x 1.6
//   kNone     the canary is statistically identical to the baseline
// Each is far beyond what noise produces, so DemoCanaryConfigJson() fails it reliably, while with
// kNone the differences are small enough for Kayenta's tolerance bound and effect-size thresholds
// to pass it reliably.
//
// Usage:
//   demo::SyntheticFleet fleet({.regression = demo::Regression::kLatency},
//   SystemClock::Instance()); if (auto r = fleet.Start(); !r) { ... } scrape_config.static_configs
//   = fleet.TargetGroups();
//   ...
//   fleet.Stop();

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/common/clock.h"
#include "canaryd/common/error.h"
#include "canaryd/scrape/scrape_config.h"

namespace canaryd::demo {

enum class Regression { kNone, kLatency, kErrors, kCpu };

/// "none", "latency", "errors", "cpu".
std::string_view RegressionName(Regression r);
/// The inverse of RegressionName; nullopt for anything else.
std::optional<Regression> ParseRegression(std::string_view name);

/// How one pod behaves. The defaults are the baseline; CanaryBehaviour() applies a regression.
struct PodBehaviour {
  double requests_per_second = 200;      // mean arrival rate (Poisson)
  double error_ratio = 0.01;             // share of requests answered 5xx
  double not_found_ratio = 0.005;        // share of the others answered 404
  double latency_median_seconds = 0.05;  // log-normal latency distribution...
  double latency_sigma = 0.5;            // ...and its shape (sigma of the log)
  double cpu_seconds_per_request = 0.0005;
  double idle_cpu_per_second = 0.01;
  std::string version = "1.4.2";  // demo_build_info{version}
};

/// The baseline's behaviour with `regression` applied (and the canary's version).
PodBehaviour CanaryBehaviour(Regression regression);

/// The `le` bounds of demo_http_request_duration_seconds (+Inf is implicit).
const std::vector<double>& LatencyBuckets();

/// One simulated pod: its counters and the generator that moves them.
/// Thread-safe (one mutex): Scrape may be called from any thread.
class SyntheticPod {
 public:
  /// The pod's simulation starts at clock.NowMillis().
  SyntheticPod(std::string name, PodBehaviour behaviour, uint64_t seed, const Clock& clock);

  /// Advances the simulation to the clock's now (if it moved forward) and returns the pod's
  /// /metrics body in the text format 0.0.4. Counters never decrease between calls.
  std::string Scrape();

  const std::string& name() const { return name_; }
  const PodBehaviour& behaviour() const { return behaviour_; }
  /// How many times Scrape was called.
  uint64_t scrapes() const;

 private:
  void AdvanceTo(int64_t now_ms);  // REQUIRES: mu_ held

  const std::string name_;
  const PodBehaviour behaviour_;
  const Clock& clock_;
  const int64_t start_ms_;
  std::vector<double> bucket_probability_;  // P(latency in bucket i), i = 0..buckets (last: +Inf)
  double latency_mean_ = 0;                 // of the log-normal
  double latency_stddev_ = 0;

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  int64_t last_ms_;
  uint64_t scrapes_ = 0;
  // demo_http_requests_total by route (0: GET /api/items, 1: POST /api/orders) and code.
  struct RouteCounts {
    uint64_t ok = 0;           // 200
    uint64_t not_found = 0;    // 404
    uint64_t internal = 0;     // 500
    uint64_t unavailable = 0;  // 503
  };
  RouteCounts routes_[2];
  std::vector<uint64_t> bucket_counts_;  // non-cumulative, one per bucket plus +Inf
  uint64_t request_count_ = 0;
  double latency_sum_ = 0;
  double cpu_seconds_ = 0;
  double in_flight_ = 0;
  double resident_bytes_ = 0;
};

struct FleetOptions {
  int pods_per_track = 3;  // baseline pods and canary pods each
  Regression regression = Regression::kLatency;
  uint64_t seed = 1;
  std::string address = "127.0.0.1";  // every pod listens here, on a port of its own
};

/// One pod as a scrape target.
struct PodTarget {
  std::string pod;      // "demo-baseline-0", "demo-canary-2"
  std::string track;    // "baseline" or "canary"
  std::string address;  // "127.0.0.1:port"; empty before Start
};

/// The fleet: 2 x pods_per_track pods, each with its own HTTP server (one I/O thread each) serving
/// GET /metrics (Content-Type `text/plain; version=0.0.4; charset=utf-8`).
/// Thread safety: Start and Stop from one controlling thread; the accessors are thread-safe after
/// Start.
class SyntheticFleet {
 public:
  SyntheticFleet(FleetOptions options, const Clock& clock);
  ~SyntheticFleet();  // stops the servers
  SyntheticFleet(const SyntheticFleet&) = delete;
  SyntheticFleet& operator=(const SyntheticFleet&) = delete;

  /// Binds every pod's server on `options.address`, port 0. Fails with the system error if one
  /// cannot be bound (those already started are stopped again).
  Result<void> Start();
  /// Stops the servers (closing idle connections at once); idempotent.
  void Stop();

  /// Baseline pods first, then canary pods; addresses are set once Start succeeded.
  const std::vector<PodTarget>& targets() const { return targets_; }
  /// One group per pod, for a scrape config's static_configs: the pod's address with the labels
  /// app="demo", track, pod.
  std::vector<scrape::TargetGroup> TargetGroups() const;
  /// The pods' simulations, in the order of targets().
  SyntheticPod& pod(size_t i) { return *pods_[i]; }
  size_t size() const { return pods_.size(); }
  /// /metrics requests answered by all pods.
  uint64_t scrapes_served() const;

 private:
  struct Server;
  FleetOptions options_;
  std::vector<std::unique_ptr<SyntheticPod>> pods_;
  std::vector<PodTarget> targets_;
  std::vector<std::unique_ptr<Server>> servers_;
};

}  // namespace canaryd::demo
