#include "canaryd/analysis/analysis_manager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "canaryd/common/metrics.h"
#include "series_batch_builder.h"

namespace canaryd::analysis {
namespace {

constexpr int64_t kStep = 60'000;
constexpr int64_t kT0 = 1'700'000'040'000;  // a minute boundary

constexpr const char* kConfig = R"json({
  "name": "latency",
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "templates": {"pods": "pod=~\"app-${scope}-.*\""},
  "classifier": {"groupWeights": {"latency": 100}},
  "metrics": [{"name": "latency", "groups": ["latency"], "scopeName": "default",
               "analysisConfigurations": {"canary": {"direction": "increase"}},
               "query": {"type": "prometheus", "metricName": "latency_seconds", "customFilterTemplate": "pods"}}]
})json";

class Recorder final : public Listener {
 public:
  void OnInterval(const AnalysisStatus& status, const IntervalRecord& interval) override {
    events.emplace_back(status.id, interval);
  }
  std::vector<std::pair<std::string, IntervalRecord>> events;
};

class AnalysisManagerTest : public ::testing::Test {
 protected:
  AnalysisManagerTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("canaryd-analysis-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        clock_(kT0) {
    std::filesystem::remove_all(dir_);
    Restart();
  }
  ~AnalysisManagerTest() override {
    manager_.reset();
    windows_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A fresh process: new metrics, table, window store and manager over the same data directory.
  void Restart() {
    manager_.reset();
    windows_.reset();
    table_ = std::make_unique<series::SeriesTable>();
    metrics_ = std::make_unique<MetricsRegistry>();
    windows_ = std::make_unique<window::WindowStore>(*table_, clock_, *metrics_);
    manager_ = std::make_unique<AnalysisManager>(*windows_, clock_, *metrics_, dir_);
    manager_->SetListener(&recorder_);
  }

  AnalysisDefinition Definition() {
    AnalysisDefinition d;
    d.config = *canaryconfig::ParseCanaryConfig(kConfig);
    d.scopes["default"] = {{"baseline", "", {}}, {"canary", "", {}}};
    d.step_ms = kStep;
    d.lifetime_ms = 30 * kStep;
    d.interval_ms = 10 * kStep;
    d.pass = 75;
    d.marginal = 50;
    return d;
  }

  // Three pods per scope report latency every 15 s up to `until`; the canary's is `factor` x.
  void Feed(int64_t until, double factor) {
    for (; fed_ <= until; fed_ += 15'000) {
      testutil::SeriesBatchBuilder b;
      for (int pod = 0; pod < 3; ++pod) {
        std::normal_distribution<double> noise(0.2, 0.02);
        b.Add({{"__name__", "latency_seconds"}, {"pod", "app-baseline-" + std::to_string(pod)}},
              {{fed_, noise(rng_)}});
        b.Add({{"__name__", "latency_seconds"}, {"pod", "app-canary-" + std::to_string(pod)}},
              {{fed_, noise(rng_) * factor}});
      }
      clock_.SetMillis(std::max(clock_.NowMillis(), fed_));
      windows_->Append(b.Build());
      windows_->Tick();
      manager_->Tick();
    }
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<series::SeriesTable> table_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<window::WindowStore> windows_;
  std::unique_ptr<AnalysisManager> manager_;
  Recorder recorder_;
  std::mt19937_64 rng_{7};
  int64_t fed_ = kT0;
};

TEST_F(AnalysisManagerTest, HealthyCanaryContinuesThenPasses) {
  auto id = manager_->Create(Definition());
  ASSERT_TRUE(id) << id.error().ToString();
  auto s = manager_->Get(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->start_ms, kT0);
  EXPECT_EQ(s->intervals, 3);
  Feed(kT0 + 35 * kStep, 1.0);
  s = manager_->Get(*id);
  ASSERT_EQ(s->history.size(), 3u) << s->reason;
  EXPECT_EQ(s->history[0].verdict, Verdict::kContinue);
  EXPECT_EQ(s->history[1].verdict, Verdict::kContinue);
  EXPECT_EQ(s->history[2].verdict, Verdict::kPass);
  EXPECT_EQ(s->verdict, Verdict::kPass);
  EXPECT_TRUE(s->complete);
  EXPECT_EQ(s->history[0].window_start_ms, kT0);
  EXPECT_EQ(s->history[0].window_end_ms, kT0 + 10 * kStep);
  EXPECT_EQ(s->history[2].window_end_ms, kT0 + 30 * kStep);  // growing: each looks back to the start
  EXPECT_EQ(*s->history[2].score, 100);
  EXPECT_NE(s->latest_judge_result_json.find("\"judgeName\""), std::string::npos);
  ASSERT_EQ(recorder_.events.size(), 3u);
  EXPECT_EQ(recorder_.events[2].second.verdict, Verdict::kPass);
  EXPECT_TRUE(manager_->StepValues(*id).empty());  // windows freed once complete
}

TEST_F(AnalysisManagerTest, RegressionFailsAtTheFirstIntervalAndNeverChanges) {
  auto id = manager_->Create(Definition());
  ASSERT_TRUE(id);
  Feed(kT0 + 35 * kStep, 1.5);
  const auto s = manager_->Get(*id);
  ASSERT_EQ(s->history.size(), 1u);
  EXPECT_EQ(s->verdict, Verdict::kFail);
  EXPECT_EQ(*s->history[0].score, 0);
  EXPECT_NE(s->reason.find("not above the marginal threshold"), std::string::npos) << s->reason;
  EXPECT_NE(s->latest_judge_result_json.find("\"High\""), std::string::npos);
}

TEST_F(AnalysisManagerTest, SlidingLookbackJudgesOnlyTheRecentSteps) {
  AnalysisDefinition d = Definition();
  d.lookback = {window::Lookback::Mode::kSliding, 5 * kStep};
  auto id = manager_->Create(std::move(d));
  ASSERT_TRUE(id);
  Feed(kT0 + 25 * kStep, 1.0);
  const auto s = manager_->Get(*id);
  ASSERT_GE(s->history.size(), 2u);
  EXPECT_EQ(s->history[1].window_start_ms, kT0 + 16 * kStep);
  EXPECT_EQ(s->history[1].window_end_ms, kT0 + 20 * kStep);
}

TEST_F(AnalysisManagerTest, NoDataIntervalsAndANoDataEnd) {
  AnalysisDefinition d = Definition();
  d.lifetime_ms = 10 * kStep;
  auto id = manager_->Create(std::move(d));
  ASSERT_TRUE(id);
  // Only unrelated series arrive; steps still close by the wall clock.
  for (int64_t t = kT0; t <= kT0 + 20 * kStep; t += 15'000) {
    testutil::SeriesBatchBuilder b;
    b.Add({{"__name__", "other"}, {"pod", "x"}}, {{t, 1}});
    clock_.SetMillis(t);
    windows_->Append(b.Build());
    windows_->Tick();
    manager_->Tick();
  }
  const auto s = manager_->Get(*id);
  ASSERT_EQ(s->history.size(), 1u);
  EXPECT_EQ(s->verdict, Verdict::kNoData);
  EXPECT_TRUE(s->complete);
  EXPECT_FALSE(s->history[0].score.has_value());
  EXPECT_NE(s->reason.find("not enough data"), std::string::npos);
}

TEST_F(AnalysisManagerTest, ValidationListsEveryProblem) {
  AnalysisDefinition d = Definition();
  d.lifetime_ms = 0;
  d.pass = 40;
  d.marginal = 60;
  d.webhooks.push_back({"ftp://x", "s", {}});
  d.webhooks.push_back({"http://ok", "s", {{"X-Canaryd-Event", "spoof"}, {"X-Bad", "a\r\nInjected: 1"}}});
  d.scopes.clear();
  auto r = manager_->Create(std::move(d));
  ASSERT_FALSE(r);
  const std::string text = r.error().ToString();
  EXPECT_NE(text.find("lifetime"), std::string::npos) << text;
  EXPECT_NE(text.find("thresholds"), std::string::npos) << text;
  EXPECT_NE(text.find("webhooks[0].url"), std::string::npos) << text;
  EXPECT_NE(text.find("webhooks[1].headers.X-Canaryd-Event: canaryd sets this header itself"), std::string::npos) << text;
  EXPECT_NE(text.find("webhooks[1].headers.X-Bad"), std::string::npos) << text;
  AnalysisDefinition bad_scope = Definition();
  bad_scope.scopes.clear();
  r = manager_->Create(std::move(bad_scope));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("canaryConfig.metrics[0].scopeName"), std::string::npos)
      << r.error().ToString();
  EXPECT_TRUE(manager_->List().empty());
}

TEST_F(AnalysisManagerTest, SurvivesARestartAndContinuesWithNewData) {
  AnalysisDefinition d = Definition();
  d.webhooks.push_back({"http://127.0.0.1:9/hook", "secret", {{"X-Team", "shop"}}});
  auto id = manager_->Create(std::move(d));
  ASSERT_TRUE(id);
  Feed(kT0 + 12 * kStep, 1.0);
  ASSERT_EQ(manager_->Get(*id)->history.size(), 1u);
  Restart();  // as after kill -9: only the data directory survives
  EXPECT_EQ(manager_->Recover(), 1u);
  auto s = manager_->Get(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->history.size(), 1u);
  EXPECT_EQ(s->verdict, Verdict::kContinue);
  ASSERT_EQ(s->definition.webhooks.size(), 1u);
  EXPECT_EQ(s->definition.webhooks[0].headers[0].second, "shop");
  EXPECT_EQ(s->definition.config, *canaryconfig::ParseCanaryConfig(kConfig));
  Feed(kT0 + 35 * kStep, 1.0);
  s = manager_->Get(*id);
  ASSERT_EQ(s->history.size(), 3u);
  EXPECT_EQ(s->verdict, Verdict::kPass);
  // The finished state is persisted too.
  Restart();
  EXPECT_EQ(manager_->Recover(), 1u);
  EXPECT_EQ(manager_->Get(*id)->verdict, Verdict::kPass);
  EXPECT_TRUE(manager_->Get(*id)->complete);
}

TEST_F(AnalysisManagerTest, CorruptFilesAreSkippedAndCounted) {
  auto id = manager_->Create(Definition());
  ASSERT_TRUE(id);
  {
    std::ofstream bad(dir_ / "analyses" / "broken.json");
    bad << "{\"id\": 3";
  }
  Restart();
  EXPECT_EQ(manager_->Recover(), 1u);
  EXPECT_NE(metrics_->Render().find("canaryd_analysis_recover_errors_total 1"), std::string::npos);
}

TEST_F(AnalysisManagerTest, CancelStopsAndIsFinal) {
  auto id = manager_->Create(Definition());
  ASSERT_TRUE(id);
  EXPECT_TRUE(manager_->Cancel(*id));
  EXPECT_FALSE(manager_->Cancel("nope"));
  Feed(kT0 + 35 * kStep, 1.5);
  const auto s = manager_->Get(*id);
  EXPECT_EQ(s->verdict, Verdict::kCancelled);
  EXPECT_TRUE(s->history.empty());
}

}  // namespace
}  // namespace canaryd::analysis
