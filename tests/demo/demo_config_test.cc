#include "canaryd/demo/demo_config.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <set>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/common/metrics.h"
#include "canaryd/select/kayenta_query.h"
#include "canaryd/select/matcher.h"
#include "canaryd/series/series_table.h"
#include "canaryd/window/analysis_spec.h"
#include "canaryd/window/window_store.h"
#include "exposition_lines.h"
#include "series_batch_builder.h"

namespace canaryd::demo {
namespace {

constexpr int64_t kT0 = 1'700'000'040'000;  // a step boundary

canaryconfig::CanaryConfig Config() {
  auto c = canaryconfig::ParseCanaryConfig(DemoCanaryConfigJson());
  EXPECT_TRUE(c) << (c ? "" : c.error().ToString());
  return c ? *c : canaryconfig::CanaryConfig{};
}

TEST(DemoConfigTest, ParsesWithoutProblems) {
  const canaryconfig::CanaryConfig c = Config();
  EXPECT_TRUE(canaryconfig::ValidateCanaryConfig(c).empty());
  EXPECT_EQ(c.name, "canaryd-demo");
  EXPECT_EQ(c.judge.name, "NetflixACAJudge-v1.0");
  EXPECT_EQ(c.group_weights,
            (std::map<std::string, double>{{"Latency", 40}, {"Errors", 30}, {"Saturation", 30}}));
  std::set<std::string> groups;
  for (const auto& m : c.metrics) {
    EXPECT_EQ(m.scope_name, kScopeName) << m.name;
    EXPECT_EQ(m.analysis.direction, canaryconfig::Direction::kIncrease) << m.name;
    EXPECT_GT(m.analysis.effect_size.AllowedIncrease(), 1.1) << m.name;
    groups.insert(m.groups.begin(), m.groups.end());
  }
  EXPECT_EQ(groups, (std::set<std::string>{"Latency", "Errors", "Saturation"}));
  ASSERT_NE(c.FindMetric("error_rate"), nullptr);
  EXPECT_TRUE(c.FindMetric("error_rate")->analysis.critical);
  ASSERT_NE(c.FindMetric("resident_memory"), nullptr);
  EXPECT_TRUE(c.FindMetric("resident_memory")->analysis.muted);
  // The config round-trips through canaryd's own serializer.
  auto again = canaryconfig::ParseCanaryConfig(canaryconfig::SerializeCanaryConfig(c));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, c);
}

TEST(DemoConfigTest, EveryQueryPlansForBothScopesAndUsesTheScopeTemplate) {
  const canaryconfig::CanaryConfig c = Config();
  for (size_t i = 0; i < c.metrics.size(); ++i) {
    for (std::string_view scope : {kControlScope, kExperimentScope}) {
      const select::Scope s{std::string(scope), "", {}};
      auto text = select::BuildKayentaQuery(c, i, s);
      ASSERT_TRUE(text) << text.error().ToString();
      EXPECT_NE(text->find("pod=~\"demo-" + std::string(scope) + "-.*\""), std::string::npos)
          << *text;
      auto plan = select::PlanKayentaQuery(c, i, s);
      ASSERT_TRUE(plan) << plan.error().ToString();
      // Counters and histograms are read through rate(); gauges as they are.
      const bool gauge =
          c.metrics[i].name == "requests_in_flight" || c.metrics[i].name == "resident_memory";
      EXPECT_EQ(plan->function == select::RangeFunction::kNone, gauge) << *text;
    }
  }
  const analysis::AnalysisDefinition d = DemoAnalysis(std::chrono::seconds(60));
  window::WindowRequest req;
  req.scopes = d.scopes;
  req.start_ms = kT0;
  req.step_ms = d.step_ms;
  auto spec = window::MakeWindowSpec(d.config, req);
  ASSERT_TRUE(spec) << spec.error().ToString();
}

TEST(DemoConfigTest, AnalysisTiming) {
  analysis::AnalysisDefinition d = DemoAnalysis(std::chrono::seconds(60));
  EXPECT_EQ(d.step_ms, 2000);
  EXPECT_EQ(d.interval_ms, 20'000);
  EXPECT_EQ(d.lifetime_ms, 60'000);
  EXPECT_EQ(d.pass, 75);
  EXPECT_EQ(d.marginal, 50);
  EXPECT_EQ(d.scopes.at("default").control.scope, "baseline");
  EXPECT_EQ(d.scopes.at("default").experiment.scope, "canary");
  d = DemoAnalysis(std::chrono::seconds(30));
  EXPECT_EQ(d.interval_ms, 10'000);
  EXPECT_EQ(d.lifetime_ms, 30'000);
  d = DemoAnalysis(std::chrono::seconds(5));  // at least 3 steps per interval
  EXPECT_EQ(d.interval_ms, 6'000);
  d = DemoAnalysis(std::chrono::milliseconds(100'000));  // whole steps
  EXPECT_EQ(d.interval_ms, 32'000);
  EXPECT_EQ(d.lifetime_ms, 96'000);
}

TEST(DemoConfigTest, ScrapeConfigHasOneGroupPerPod) {
  ManualClock clock(kT0);
  SyntheticFleet fleet({}, clock);
  const scrape::ScrapeConfig c = DemoScrapeConfig(fleet);
  EXPECT_EQ(c.job_name, "demo");
  EXPECT_EQ(c.scrape_interval, std::chrono::seconds(1));
  EXPECT_LE(c.scrape_timeout, c.scrape_interval);
  EXPECT_EQ(c.metrics_path, "/metrics");
  EXPECT_EQ(c.static_configs.size(), 6u);
}

// The whole judgment path without sockets or a scraper: each pod is "scraped" every second (at
// its own phase) under a manual clock, its exposition becomes samples with the target labels a
// scraper adds, and the window store and analysis manager run as in the service. The verdict must
// be the expected one for every regression and seed.
// Per interval, the metrics that did not pass ("name:Classification" each).
class NonPassRecorder final : public analysis::Listener {
 public:
  void OnInterval(const analysis::AnalysisStatus& status,
                  const analysis::IntervalRecord& interval) override {
    (void)interval;
    std::vector<std::string> bad;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(status.latest_judge_result_json, ec);
    if (!ec && v.is_object() && v.get_object().contains("results")) {
      for (const auto& r : v.at("results").as_array()) {
        const std::string c(r.at("classification").as_string());
        if (c != "Pass") bad.push_back(std::string(r.at("name").as_string()) + ":" + c);
      }
    }
    intervals.push_back(std::move(bad));
  }
  std::vector<std::vector<std::string>> intervals;
};

class DemoPipeline {
 public:
  DemoPipeline(Regression regression, uint64_t seed, std::chrono::milliseconds duration)
      : clock_(kT0),
        fleet_({.regression = regression, .seed = seed}, clock_),
        windows_(table_, clock_, metrics_),
        manager_(windows_, clock_, metrics_, {}),
        duration_(duration) {
    manager_.SetListener(&recorder_);
  }
  const NonPassRecorder& recorder() const { return recorder_; }

  analysis::AnalysisStatus Run() {
    std::vector<int64_t> next_scrape;
    for (size_t i = 0; i < fleet_.size(); ++i) {
      next_scrape.push_back(kT0 + 100 + static_cast<int64_t>(i) * 157);
    }
    std::string id;
    const int64_t create_at = kT0 + 1500;  // the demo creates the analysis after a first scrape
    const int64_t give_up = kT0 + duration_.count() + 30'000;
    for (int64_t now = kT0; now < give_up; now += 50) {
      clock_.SetMillis(now);
      for (size_t i = 0; i < fleet_.size(); ++i) {
        if (now >= next_scrape[i]) {
          Ingest(i, now);
          next_scrape[i] += kScrapeInterval.count();
        }
      }
      if (id.empty() && now >= create_at) {
        auto created = manager_.Create(DemoAnalysis(duration_));
        EXPECT_TRUE(created) << created.error().ToString();
        if (!created) return {};
        id = *created;
      }
      if (now % 250 == 0) {
        windows_.Tick();
        manager_.Tick();
        if (!id.empty() && manager_.Get(id)->complete) break;
      }
    }
    return *manager_.Get(id);
  }

 private:
  void Ingest(size_t pod, int64_t now) {
    const PodTarget& t = fleet_.targets()[pod];
    testutil::SeriesBatchBuilder b;
    for (const testing::Line& l : testing::ParseLines(fleet_.pod(pod).Scrape())) {
      testutil::Labels labels = {{"__name__", l.name},
                                 {"job", "demo"},
                                 {"instance", "127.0.0.1:" + std::to_string(9000 + pod)},
                                 {"app", "demo"},
                                 {"track", t.track},
                                 {"pod", t.pod}};
      for (const auto& [k, v] : l.labels) labels.emplace_back(k, v);
      b.Add(labels, {{now, l.value}});
    }
    windows_.Append(b.Build());
  }

  ManualClock clock_;
  SyntheticFleet fleet_;
  MetricsRegistry metrics_;
  series::SeriesTable table_;
  window::WindowStore windows_;
  analysis::AnalysisManager manager_;
  std::chrono::milliseconds duration_;
  NonPassRecorder recorder_;
};

std::string Describe(const analysis::AnalysisStatus& s) {
  std::string out = "verdict " + std::string(analysis::VerdictName(s.verdict)) + ": " + s.reason;
  for (const auto& h : s.history) {
    out += "\n  interval " + std::to_string(h.index) + " score " +
           (h.score ? std::to_string(*h.score) : "-") + " " + h.classification + " " + h.reason;
  }
  out += "\n" + s.latest_judge_result_json;
  return out;
}

struct PipelineCase {
  Regression regression;
  int seconds;
};

class DemoPipelineTest : public ::testing::TestWithParam<PipelineCase> {};

TEST_P(DemoPipelineTest, VerdictIsTheExpectedOne) {
  // CANARYD_DEMO_SEEDS=N runs N seeds (a reliability measurement); 3 by default.
  int seeds = 3;
  if (const char* env = std::getenv("CANARYD_DEMO_SEEDS")) seeds = std::atoi(env);
  const PipelineCase c = GetParam();
  int right = 0;
  std::map<std::string, int> outcomes;  // how often each set of non-passing metrics was seen
  for (int seed = 1; seed <= seeds; ++seed) {
    DemoPipeline p(c.regression, static_cast<uint64_t>(seed), std::chrono::seconds(c.seconds));
    const analysis::AnalysisStatus s = p.Run();
    for (size_t i = 0; i < p.recorder().intervals.size(); ++i) {
      std::string key = "interval " + std::to_string(i + 1) + ":";
      for (const std::string& m : p.recorder().intervals[i]) key += " " + m;
      ++outcomes[key];
    }
    EXPECT_TRUE(s.complete) << Describe(s);
    const bool ok = analysis::VerdictName(s.verdict) == ExpectedVerdict(c.regression);
    right += ok ? 1 : 0;
    EXPECT_TRUE(ok) << "seed " << seed << ": " << Describe(s);
    if (std::getenv("CANARYD_DEMO_VERBOSE") != nullptr) {
      std::printf("seed %d: %s\n", seed, Describe(s).c_str());
    }
    if (c.regression == Regression::kNone) {
      EXPECT_EQ(s.history.size(), 3u) << Describe(s);
    }
  }
  std::printf("regression %s, %d s: %d of %d verdicts as expected\n",
              std::string(RegressionName(c.regression)).c_str(), c.seconds, right, seeds);
  for (const auto& [key, n] : outcomes) std::printf("  %4d x %s\n", n, key.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    All, DemoPipelineTest,
    ::testing::Values(PipelineCase{Regression::kNone, 60}, PipelineCase{Regression::kLatency, 60},
                      PipelineCase{Regression::kErrors, 60}, PipelineCase{Regression::kCpu, 60},
                      PipelineCase{Regression::kNone, 30}, PipelineCase{Regression::kLatency, 30},
                      PipelineCase{Regression::kErrors, 30}, PipelineCase{Regression::kCpu, 30}),
    [](const auto& p) {
      return std::string(RegressionName(p.param.regression)) + "_" +
             std::to_string(p.param.seconds) + "s";
    });

}  // namespace
}  // namespace canaryd::demo
