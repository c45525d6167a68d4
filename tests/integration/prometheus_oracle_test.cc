// Prometheus as the oracle for step values. The same remote-write requests (a few hundred series
// over 30 minutes of sample time, with counter resets, a gap longer than the lookback delta, a
// pod that ends with a stale marker and its replacement, several pods per scope and noise pods in
// neither scope) go to an in-process canaryd and to a real `prometheus
// --web.enable-remote-write-receiver` (Debian's 2.42). canaryd's analysis is created from a
// Kayenta canary config with a `${scope}` filter template, one metric per supported query shape;
// steps close as the data arrives (Tick after every request, as the service does). Then, for
// every metric and side, canaryd's step values must equal Prometheus's /api/v1/query_range for
// the equivalent PromQL (QueryPlan::ToPromQL) at every step, to 1e-9 relative; a value absent
// from Prometheus's answer must be NaN in canaryd's.
//
// CANARYD_PROMETHEUS overrides the binary path; without the binary the test skips.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <array>
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "canaryd/app/service.h"
#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/logging.h"
#include "canaryd/model/sample.h"
#include "canaryd/window/analysis_spec.h"
#include "http_client.h"
#include "remote_write_builders.h"
#include "subprocess.h"

namespace canaryd::testing {
namespace {

using namespace std::chrono_literals;
using testutil::LabelPairs;
using testutil::SamplePairs;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kScrape = 15'000;
constexpr int kMinutes = 30;

std::string PrometheusPath() {
  const char* env = std::getenv("CANARYD_PROMETHEUS");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/prometheus";
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The canary config: one metric per supported query shape, all scoped by one template.
constexpr const char* kCanaryConfig = R"json({
  "name": "oracle",
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "templates": {"pods": "pod=~\"app-${scope}-.*\",env=\"${env}\""},
  "classifier": {"groupWeights": {"all": 100}},
  "metrics": [
    {"name": "cpu_avg", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "metricName": "oracle_cpu", "customFilterTemplate": "pods"}},
    {"name": "cpu_by_route", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "metricName": "oracle_cpu", "customFilterTemplate": "pods",
               "labelBindings": ["route!=\"c\""], "groupByFields": ["route"]}},
    {"name": "cpu_sum", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:sum by (route) (oracle_cpu{pod=~\"app-${scope}-.*\"})"}},
    {"name": "cpu_min", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:min(oracle_cpu{pod=~'app-${scope}-.*'})"}},
    {"name": "cpu_max", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:max(oracle_cpu{pod=~\"app-${scope}-.*\"}) by (route)"}},
    {"name": "cpu_count", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:count by (route) (oracle_cpu{pod=~\"app-${scope}-.*\"})"}},
    {"name": "error_rate", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:sum by (code) (rate(oracle_requests_total{pod=~\"app-${scope}-.*\"}[2m]))"}},
    {"name": "ok_irate", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:avg(irate(oracle_requests_total{pod=~\"app-${scope}-.*\",code=\"200\"}[1m]))"}},
    {"name": "increase_by_route", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:max by (route) (increase(oracle_requests_total{pod=~\"app-${scope}-.*\"}[5m]))"}},
    {"name": "rate_min", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:min(rate(oracle_requests_total{pod=~\"app-${scope}-.*\"}[3m]))"}},
    {"name": "p90", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:histogram_quantile(0.9, sum by (le) (rate(oracle_latency_seconds_bucket{pod=~\"app-${scope}-.*\"}[2m])))"}},
    {"name": "p50_by_route", "groups": ["all"], "scopeName": "default", "analysisConfigurations": {"canary": {}},
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:histogram_quantile(0.5, sum(rate(oracle_latency_seconds_bucket{pod=~\"app-${scope}-.*\"}[1m])) by (le, route))"}}
  ]
})json";

// One synthetic pod: which scope it belongs to and what happens to it.
struct Pod {
  std::string name;
  int64_t offset_ms = 0;     // scrape offset within the interval
  double level = 0;          // typical gauge value
  double latency_scale = 1;  // shifts the latency histogram
  int ends_at_minute = -1;  // writes stale markers at this minute and stops
  int starts_at_minute = 0;
  int gap_from = -1, gap_to = -1;  // no samples (and no markers) in [from, to) minutes
  std::vector<int> resets;         // minutes at which counters restart from 0
};

class Generator {
 public:
  explicit Generator(int64_t t0) : t0_(t0), rng_(20261129) {
    auto pod = [&](std::string name, int64_t offset_ms, double level, double latency_scale) -> Pod& {
      Pod& p = pods_.emplace_back();
      p.name = std::move(name);
      p.offset_ms = offset_ms;
      p.level = level;
      p.latency_scale = latency_scale;
      return p;
    };
    pod("app-baseline-0", 1'300, 10, 1.0).resets = {12};
    pod("app-baseline-1", 4'100, 12, 1.0);
    Pod& gap = pod("app-baseline-2", 7'700, 11, 1.1);  // silent for 7 minutes, longer than the lookback
    gap.gap_from = 10;
    gap.gap_to = 17;
    pod("app-baseline-3", 11'900, 9, 0.9);
    pod("app-canary-0", 2'500, 14, 1.6);
    pod("app-canary-1", 5'300, 15, 1.5).resets = {8, 21};
    pod("app-canary-2", 9'100, 13, 1.7);
    pod("app-canary-3", 13'700, 16, 1.4).ends_at_minute = 15;  // replaced by app-canary-4
    pod("app-canary-4", 600, 15, 1.5).starts_at_minute = 16;
    pod("other-0", 3'000, 50, 3.0);
    pod("other-1", 8'000, 60, 3.0);
    pod("app-canary-5", 6'000, 99, 9.0);  // env="staging": excluded by the template's env matcher
    for (Pod& p : pods_) counters_[p.name] = {};
  }

  // The request for scrape round `round` (every pod's samples in [t0 + round*15s, +15s)).
  std::string Request(int round) {
    prometheus::WriteRequest req;
    const int64_t tick = t0_ + round * kScrape;
    const int minute = static_cast<int>((tick - t0_) / kMinute);
    for (Pod& p : pods_) {
      const int64_t ts = tick + p.offset_ms;
      const std::string env = p.name == "app-canary-5" ? "staging" : "prod";
      if (minute < p.starts_at_minute || (minute >= p.gap_from && minute < p.gap_to)) continue;
      if (p.ends_at_minute >= 0 && minute > p.ends_at_minute) continue;
      const bool stale = p.ends_at_minute >= 0 && minute == p.ends_at_minute;
      if (stale && ended_[p.name]) continue;
      const bool reset = std::find(p.resets.begin(), p.resets.end(), minute) != p.resets.end() &&
                         (tick - t0_) % kMinute == 0;
      auto value = [&](double v) { return stale ? model::StaleNaN() : v; };
      std::uniform_real_distribution<double> noise(-1, 1);
      for (const char* route : {"a", "b", "c"}) {
        testutil::AddSeries(req, {{"__name__", "oracle_cpu"}, {"env", env}, {"pod", p.name}, {"route", route}},
                            {{ts, value(p.level + noise(rng_) + (route[0] - 'a'))}});
      }
      auto& c = counters_[p.name];
      for (const char* route : {"a", "b"}) {
        for (const char* code : {"200", "500"}) {
          double& total = c[std::string("req") + route + code];
          if (reset) total = 0;
          std::poisson_distribution<int> arrivals(code[0] == '2' ? 40.0 : 2.0 * p.latency_scale);
          total += arrivals(rng_);
          testutil::AddSeries(req,
                              {{"__name__", "oracle_requests_total"}, {"code", code}, {"env", env},
                               {"pod", p.name}, {"route", route}},
                              {{ts, value(total)}});
        }
        // A cumulative histogram: each observation lands in the first bucket that holds it.
        static const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"};
        static const double kBound[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1e300};
        std::vector<double>& buckets = hist_[p.name + route];
        buckets.resize(9, 0);
        if (reset) std::fill(buckets.begin(), buckets.end(), 0);
        std::lognormal_distribution<double> latency(std::log(0.04 * p.latency_scale), 0.8);
        for (int i = 0; i < 30; ++i) {
          const double x = latency(rng_);
          for (int b = 0; b < 9; ++b) {
            if (x <= kBound[b]) buckets[b] += 1;
          }
        }
        for (int b = 0; b < 9; ++b) {
          testutil::AddSeries(req,
                              {{"__name__", "oracle_latency_seconds_bucket"}, {"env", env}, {"le", kLe[b]},
                               {"pod", p.name}, {"route", route}},
                              {{ts, value(buckets[b])}});
        }
      }
      if (stale) ended_[p.name] = true;
    }
    return testutil::Snappy(testutil::Encode(req));
  }

  size_t series_count() const { return pods_.size() * (3 + 4 + 18); }

 private:
  int64_t t0_;
  std::mt19937_64 rng_;
  std::vector<Pod> pods_;
  std::map<std::string, std::map<std::string, double>> counters_;
  std::map<std::string, std::vector<double>> hist_;
  std::map<std::string, bool> ended_;
};

using Tags = std::vector<std::pair<std::string, std::string>>;
using StepSeries = std::map<Tags, std::vector<double>>;  // tags -> value per step (NaN: absent)

class PrometheusOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(PrometheusPath().c_str(), X_OK) != 0) {
      GTEST_SKIP() << PrometheusPath()
                   << " not found: install the Debian package 'prometheus' (deploy/install-deps.sh)";
    }
    ASSERT_TRUE(InitLogging("warn"));
    tmp_ = std::make_unique<TempDir>("canaryd-oracle-");
    const auto yml = tmp_->path() / "prometheus.yml";
    WriteFile(yml, "global:\n  scrape_interval: 1h\n");
    prom_port_ = FreeLoopbackPort();
    std::string error;
    ASSERT_TRUE(prometheus_.Start({PrometheusPath(), "--config.file=" + yml.string(),
                                   "--storage.tsdb.path=" + (tmp_->path() / "data").string(),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
                                   "--web.enable-remote-write-receiver", "--log.level=warn"},
                                  tmp_->path() / "prometheus.log", error))
        << error;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline && prometheus_.Running()) {
      testutil::HttpClient probe(prom_port_);
      ready = probe.Get("/-/ready").status == 200;
      if (!ready) std::this_thread::sleep_for(200ms);
    }
    ASSERT_TRUE(ready) << "prometheus not ready: " << prometheus_.Status() << "\n" << prometheus_.LogTail();

    config::Config cfg;
    cfg.server.address = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.threads = 2;
    cfg.server.shutdown_grace = 2s;
    service_ = std::make_unique<app::Service>(std::move(cfg), SystemClock::Instance());
    auto started = service_->Start();
    ASSERT_TRUE(started) << started.error().message();
  }

  void TearDown() override {
    if (HasFailure() && tmp_ != nullptr) {
      std::cerr << "prometheus log tail:\n" << prometheus_.LogTail() << "\nkept " << tmp_->path() << "\n";
      tmp_->Keep();
    }
    prometheus_.Stop();
    service_.reset();
    tmp_.reset();
  }

  // Prometheus's answer for `query` at every step of [start, end].
  StepSeries QueryRange(const std::string& query, int64_t start_ms, int64_t end_ms, int64_t step_ms) {
    testutil::HttpClient client(prom_port_);
    const std::string target = "/api/v1/query_range?query=" + UrlEncode(query) +
                               "&start=" + std::to_string(start_ms / 1000) +
                               "&end=" + std::to_string(end_ms / 1000) +
                               "&step=" + std::to_string(step_ms / 1000);
    const auto r = client.Get(target);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    const size_t steps = static_cast<size_t>((end_ms - start_ms) / step_ms + 1);
    StepSeries out;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(r.body, ec);
    if (ec) {
      ADD_FAILURE() << "bad JSON from prometheus: " << r.body.substr(0, 200);
      return out;
    }
    for (const auto& series : doc.at("data").at("result").as_array()) {
      Tags tags;
      for (const auto& [k, v] : series.at("metric").as_object()) {
        tags.emplace_back(std::string(k), std::string(v.as_string()));
      }
      std::sort(tags.begin(), tags.end());
      std::vector<double>& values = out[tags];
      values.assign(steps, std::nan(""));
      for (const auto& point : series.at("values").as_array()) {
        const double ts = point.at(0).is_double() ? point.at(0).as_double()
                                                  : static_cast<double>(point.at(0).to_number<int64_t>());
        const auto k = static_cast<size_t>(std::llround((ts * 1000 - static_cast<double>(start_ms)) /
                                                        static_cast<double>(step_ms)));
        const std::string text(point.at(1).as_string());
        values.at(k) = text == "NaN" ? std::nan("") : std::strtod(text.c_str(), nullptr);
      }
    }
    return out;
  }

  std::unique_ptr<TempDir> tmp_;
  Subprocess prometheus_;
  uint16_t prom_port_ = 0;
  std::unique_ptr<app::Service> service_;
};

bool Agree(double ours, double theirs) {
  if (std::isnan(ours) || std::isnan(theirs)) return std::isnan(ours) && std::isnan(theirs);
  if (ours == theirs) return true;  // includes equal infinities
  return std::abs(ours - theirs) <= 1e-9 * std::max(std::abs(ours), std::abs(theirs));
}

TEST_F(PrometheusOracleTest, StepValuesEqualQueryRange) {
  // Sample time: 30 minutes ending 10 minutes ago (Prometheus's head takes the past in order).
  const int64_t now = SystemClock::Instance().NowMillis();
  const int64_t t0 = (now - (kMinutes + 10) * kMinute) / kMinute * kMinute;
  const int64_t window_start = t0 + 3 * kMinute;
  const int64_t window_end = t0 + kMinutes * kMinute;
  constexpr int64_t kStepMs = kMinute;

  auto config = canaryconfig::ParseCanaryConfig(kCanaryConfig);
  ASSERT_TRUE(config) << config.error().ToString();
  window::WindowRequest request;
  request.scopes["default"] = {{"baseline", "", {{"env", "prod"}}}, {"canary", "", {{"env", "prod"}}}};
  request.start_ms = window_start;
  request.step_ms = kStepMs;
  auto spec = window::MakeWindowSpec(*config, request);
  ASSERT_TRUE(spec) << spec.error().ToString();
  std::vector<std::array<std::string, 2>> promql;
  for (const auto& m : spec->metrics) promql.push_back({m.control.ToPromQL(), m.experiment.ToPromQL()});
  const window::AnalysisId id = service_->windows().AddAnalysis(std::move(*spec));

  // Same bytes to both receivers, in time order; steps close as the data arrives.
  Generator gen(t0);
  testutil::HttpClient canaryd(service_->port());
  testutil::HttpClient prom(prom_port_);
  const std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/x-protobuf"},
      {"Content-Encoding", "snappy"},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  const int rounds = static_cast<int>(kMinutes * kMinute / kScrape) + 1;
  size_t closed_while_sending = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string body = gen.Request(round);
    const auto a = canaryd.Post("/api/v1/write", body, headers);
    ASSERT_EQ(a.status, 204) << a.body;
    const auto b = prom.Post("/api/v1/write", body, headers);
    ASSERT_EQ(b.status, 204) << "prometheus: " << b.body;
    closed_while_sending += service_->windows().Tick();
  }
  const size_t closed_at_end = service_->windows().CloseThrough(id, window_end);
  const auto info = service_->windows().Info(id);
  ASSERT_TRUE(info);
  const size_t steps = static_cast<size_t>((window_end - window_start) / kStepMs + 1);
  EXPECT_EQ(info->steps_closed, steps);
  EXPECT_GT(closed_while_sending, steps / 2) << "the watermark should close most steps as data arrives";
  std::cout << "[ oracle   ] " << gen.series_count() << " series, " << rounds << " requests; "
            << closed_while_sending << " steps closed by the watermark, " << closed_at_end
            << " at the end; control series " << info->control_series << ", experiment series "
            << info->experiment_series << "\n";

  std::vector<model::MetricSetPair> pairs;
  ASSERT_TRUE(service_->windows().Snapshot(id, pairs));
  size_t compared = 0, non_nan = 0;
  for (size_t m = 0; m < config->metrics.size(); ++m) {
    const std::string& name = config->metrics[m].name;
    StepSeries ours[2];
    for (const auto& p : pairs) {
      if (p.name != name) continue;
      ASSERT_EQ(p.control.size(), steps) << name;
      ASSERT_EQ(p.start_time_millis, window_start);
      ours[0][p.tags] = p.control;
      ours[1][p.tags] = p.experiment;
    }
    for (int side = 0; side < 2; ++side) {
      const StepSeries theirs = QueryRange(promql[m][side], window_start, window_end, kStepMs);
      EXPECT_FALSE(theirs.empty()) << name << " side " << side << ": Prometheus returned nothing for "
                                   << promql[m][side];
      std::set<Tags> all;
      for (const auto& [t, v] : theirs) all.insert(t);
      for (const auto& [t, v] : ours[side]) all.insert(t);
      for (const Tags& tags : all) {
        const std::vector<double> nan(steps, std::nan(""));
        const auto o = ours[side].find(tags);
        const auto p = theirs.find(tags);
        const std::vector<double>& ov = o == ours[side].end() ? nan : o->second;
        const std::vector<double>& pv = p == theirs.end() ? nan : p->second;
        for (size_t k = 0; k < steps; ++k) {
          ++compared;
          non_nan += std::isnan(pv[k]) ? 0 : 1;
          EXPECT_TRUE(Agree(ov[k], pv[k]))
              << name << (side == 0 ? " control" : " experiment") << " tags{" << tags.size()
              << "} step " << k << ": canaryd " << ov[k] << ", prometheus " << pv[k] << "\n  "
              << promql[m][side];
        }
      }
    }
  }
  std::cout << "[ oracle   ] compared " << compared << " step values (" << non_nan
            << " not NaN) for " << config->metrics.size() << " metrics x 2 sides\n";
  EXPECT_GT(non_nan, compared / 2);
}

}  // namespace
}  // namespace canaryd::testing
