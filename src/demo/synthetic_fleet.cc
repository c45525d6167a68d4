#include "canaryd/demo/synthetic_fleet.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "canaryd/common/metrics.h"
#include "canaryd/server/http_server.h"

namespace canaryd::demo {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// Share of requests on the first route (GET /api/items); the rest is POST /api/orders.
constexpr double kFirstRouteShare = 0.7;
// Share of 5xx answered 500; the rest is 503.
constexpr double kInternalShare = 0.7;

void AppendNumber(std::string& out, double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendNumber(std::string& out, uint64_t v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// P(X <= x) for a log-normal with this median and sigma.
double LogNormalCdf(double x, double median, double sigma) {
  if (x <= 0) {
    return 0;
  }
  return 0.5 * std::erfc(-(std::log(x) - std::log(median)) / (sigma * std::sqrt(2.0)));
}

uint64_t Binomial(std::mt19937_64& rng, uint64_t n, double p) {
  if (n == 0 || p <= 0) {
    return 0;
  }
  if (p >= 1) {
    return n;
  }
  return std::binomial_distribution<uint64_t>(n, p)(rng);
}

uint64_t Poisson(std::mt19937_64& rng, double mean) {
  if (!(mean > 0)) {
    return 0;
  }
  return std::poisson_distribution<uint64_t>(mean)(rng);
}

class MetricsRoute final : public server::Handler {
 public:
  explicit MetricsRoute(SyntheticPod& pod) : pod_(pod) {}
  server::Response Handle(const server::Request& request, server::RequestState& state) override {
    (void)state;
    server::Response res{server::http::status::ok, request.version()};
    res.set(server::http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(request.keep_alive());
    res.body() = pod_.Scrape();
    res.prepare_payload();
    return res;
  }

 private:
  SyntheticPod& pod_;
};

}  // namespace

std::string_view RegressionName(Regression r) {
  switch (r) {
    case Regression::kNone:
      return "none";
    case Regression::kLatency:
      return "latency";
    case Regression::kErrors:
      return "errors";
    case Regression::kCpu:
      return "cpu";
  }
  return "none";
}

std::optional<Regression> ParseRegression(std::string_view name) {
  for (Regression r :
       {Regression::kNone, Regression::kLatency, Regression::kErrors, Regression::kCpu}) {
    if (RegressionName(r) == name) {
      return r;
    }
  }
  return std::nullopt;
}

PodBehaviour CanaryBehaviour(Regression regression) {
  PodBehaviour b;
  b.version = "1.5.0";
  switch (regression) {
    case Regression::kNone:
      break;
    case Regression::kLatency:
      b.latency_median_seconds *= 2;
      break;
    case Regression::kErrors:
      b.error_ratio = 0.08;
      break;
    case Regression::kCpu:
      b.cpu_seconds_per_request *= 1.6;
      b.idle_cpu_per_second *= 1.6;
      break;
  }
  return b;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15,
                                              0.2,   0.3,  0.5,   0.75, 1,     2.5, 5};
  return buckets;
}

// ---- SyntheticPod ----

SyntheticPod::SyntheticPod(std::string name, PodBehaviour behaviour, uint64_t seed,
                           const Clock& clock)
    : name_(std::move(name)),
      behaviour_(std::move(behaviour)),
      clock_(clock),
      start_ms_(clock.NowMillis()),
      rng_(seed),
      last_ms_(start_ms_) {
  const auto& le = LatencyBuckets();
  double below = 0;
  for (double bound : le) {
    const double cdf =
        LogNormalCdf(bound, behaviour_.latency_median_seconds, behaviour_.latency_sigma);
    bucket_probability_.push_back(std::max(0.0, cdf - below));
    below = cdf;
  }
  bucket_probability_.push_back(std::max(0.0, 1 - below));
  bucket_counts_.assign(bucket_probability_.size(), 0);
  const double s2 = behaviour_.latency_sigma * behaviour_.latency_sigma;
  latency_mean_ = behaviour_.latency_median_seconds * std::exp(s2 / 2);
  latency_stddev_ = latency_mean_ * std::sqrt(std::exp(s2) - 1);
  resident_bytes_ = 180 * kMiB;
}

uint64_t SyntheticPod::scrapes() const {
  std::lock_guard lock(mu_);
  return scrapes_;
}

void SyntheticPod::AdvanceTo(int64_t now_ms) {
  if (now_ms <= last_ms_) {
    return;
  }
  const double dt = static_cast<double>(now_ms - last_ms_) / 1000.0;
  last_ms_ = now_ms;
  const PodBehaviour& b = behaviour_;

  const uint64_t n = Poisson(rng_, b.requests_per_second * dt);
  // Status codes, per route.
  const uint64_t first = Binomial(rng_, n, kFirstRouteShare);
  for (int r = 0; r < 2; ++r) {
    const uint64_t on_route = r == 0 ? first : n - first;
    const uint64_t errors = Binomial(rng_, on_route, b.error_ratio);
    const uint64_t internal = Binomial(rng_, errors, kInternalShare);
    const uint64_t not_found = Binomial(rng_, on_route - errors, b.not_found_ratio);
    routes_[r].internal += internal;
    routes_[r].unavailable += errors - internal;
    routes_[r].not_found += not_found;
    routes_[r].ok += on_route - errors - not_found;
  }
  // Latencies: a multinomial over the buckets as a chain of binomials; the sum from the normal
  // approximation of a sum of n log-normal draws.
  uint64_t remaining = n;
  double remaining_p = 1;
  for (size_t i = 0; i + 1 < bucket_probability_.size() && remaining > 0; ++i) {
    const double p =
        remaining_p > 0 ? std::clamp(bucket_probability_[i] / remaining_p, 0.0, 1.0) : 1.0;
    const uint64_t c = Binomial(rng_, remaining, p);
    bucket_counts_[i] += c;
    remaining -= c;
    remaining_p -= bucket_probability_[i];
  }
  bucket_counts_.back() += remaining;
  request_count_ += n;
  if (n > 0) {
    const double nd = static_cast<double>(n);
    std::normal_distribution<double> sum(nd * latency_mean_, std::sqrt(nd) * latency_stddev_);
    latency_sum_ += std::max(0.0, sum(rng_));
  }
  // CPU: idle plus a cost per request that varies a little.
  std::normal_distribution<double> jitter(1.0, 0.03);
  cpu_seconds_ += std::max(
      0.0, (b.idle_cpu_per_second * dt + static_cast<double>(n) * b.cpu_seconds_per_request) *
               jitter(rng_));
  // Gauges are instantaneous: requests in flight by Little's law (Poisson around rate x mean
  // latency); memory drifting slowly upwards with some noise.
  in_flight_ = static_cast<double>(Poisson(rng_, b.requests_per_second * latency_mean_));
  std::normal_distribution<double> memory_noise(0.0, 0.5 * kMiB);
  resident_bytes_ =
      std::round(180 * kMiB + static_cast<double>(now_ms - start_ms_) * 10.0 + memory_noise(rng_));
}

std::string SyntheticPod::Scrape() {
  std::lock_guard lock(mu_);
  AdvanceTo(clock_.NowMillis());
  ++scrapes_;

  std::string out;
  out.reserve(4096);
  out +=
      "# HELP demo_http_requests_total Requests handled, by status code, method and route.\n"
      "# TYPE demo_http_requests_total counter\n";
  static constexpr const char* kRoute[2] = {R"(method="GET",route="/api/items")",
                                            R"(method="POST",route="/api/orders")"};
  for (int r = 0; r < 2; ++r) {
    const std::pair<const char*, uint64_t> codes[] = {{"200", routes_[r].ok},
                                                      {"404", routes_[r].not_found},
                                                      {"500", routes_[r].internal},
                                                      {"503", routes_[r].unavailable}};
    for (const auto& [code, value] : codes) {
      out += "demo_http_requests_total{code=\"";
      out += code;
      out += "\",";
      out += kRoute[r];
      out += "} ";
      AppendNumber(out, value);
      out += '\n';
    }
  }

  out +=
      "# HELP demo_http_request_duration_seconds Time to answer a request.\n"
      "# TYPE demo_http_request_duration_seconds histogram\n";
  const auto& le = LatencyBuckets();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bucket_counts_.size(); ++i) {
    cumulative += bucket_counts_[i];
    out += "demo_http_request_duration_seconds_bucket{le=\"";
    if (i < le.size()) {
      AppendNumber(out, le[i]);
    } else {
      out += "+Inf";
    }
    out += "\"} ";
    AppendNumber(out, cumulative);
    out += '\n';
  }
  out += "demo_http_request_duration_seconds_sum ";
  AppendNumber(out, latency_sum_);
  out += "\ndemo_http_request_duration_seconds_count ";
  AppendNumber(out, request_count_);
  out += '\n';

  out +=
      "# HELP demo_http_requests_in_flight Requests being answered.\n"
      "# TYPE demo_http_requests_in_flight gauge\n"
      "demo_http_requests_in_flight ";
  AppendNumber(out, in_flight_);
  out +=
      "\n# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
      "# TYPE process_cpu_seconds_total counter\n"
      "process_cpu_seconds_total ";
  AppendNumber(out, cpu_seconds_);
  out +=
      "\n# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      "# TYPE process_resident_memory_bytes gauge\n"
      "process_resident_memory_bytes ";
  AppendNumber(out, resident_bytes_);
  out +=
      "\n# HELP demo_build_info The version of the demo service.\n"
      "# TYPE demo_build_info gauge\n"
      "demo_build_info{version=\"";
  out += behaviour_.version;
  out += "\"} 1\n";
  return out;
}

// ---- SyntheticFleet ----

struct SyntheticFleet::Server {
  MetricsRegistry metrics;  // the HttpServer's own counters; nobody reads them
  std::unique_ptr<server::HttpServer> http;
};

SyntheticFleet::SyntheticFleet(FleetOptions options, const Clock& clock)
    : options_(std::move(options)) {
  std::mt19937_64 seeds(options_.seed);
  const PodBehaviour canary = CanaryBehaviour(options_.regression);
  for (const char* track : {"baseline", "canary"}) {
    const bool is_canary = std::string_view(track) == "canary";
    for (int i = 0; i < options_.pods_per_track; ++i) {
      std::string name = std::string("demo-") + track + "-" + std::to_string(i);
      pods_.push_back(std::make_unique<SyntheticPod>(name, is_canary ? canary : PodBehaviour{},
                                                     seeds(), clock));
      targets_.push_back(PodTarget{std::move(name), track, ""});
    }
  }
}

SyntheticFleet::~SyntheticFleet() { Stop(); }

Result<void> SyntheticFleet::Start() {
  for (size_t i = 0; i < pods_.size(); ++i) {
    auto s = std::make_unique<Server>();
    server::ServerOptions opts;
    opts.address = options_.address;
    opts.port = 0;
    opts.threads = 1;
    opts.shutdown_grace = std::chrono::seconds(1);
    opts.max_connections = 64;
    server::Router router;
    router.Add(server::http::verb::get, "/metrics", std::make_shared<MetricsRoute>(*pods_[i]));
    s->http = std::make_unique<server::HttpServer>(std::move(opts), std::move(router), s->metrics);
    if (auto r = s->http->Start(); !r) {
      Stop();
      return r.error();
    }
    targets_[i].address = options_.address + ":" + std::to_string(s->http->port());
    servers_.push_back(std::move(s));
  }
  return {};
}

void SyntheticFleet::Stop() {
  for (auto& s : servers_) {
    s->http->Shutdown();
  }
  for (auto& s : servers_) {
    s->http->Wait();
  }
  servers_.clear();
}

std::vector<scrape::TargetGroup> SyntheticFleet::TargetGroups() const {
  std::vector<scrape::TargetGroup> groups;
  for (const PodTarget& t : targets_) {
    groups.push_back(
        scrape::TargetGroup{{t.address}, {{"app", "demo"}, {"track", t.track}, {"pod", t.pod}}});
  }
  return groups;
}

uint64_t SyntheticFleet::scrapes_served() const {
  uint64_t n = 0;
  for (const auto& p : pods_) {
    n += p->scrapes();
  }
  return n;
}

}  // namespace canaryd::demo
