// The scorer's arithmetic and a whole judgment: weights, muted and critical metrics, NODATA,
// rounding, config overrides of tolerance and confidence, per-pair noise streams.

#include "canaryd/judge/judge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace canaryd::judge {
namespace {

using ::testing::HasSubstr;

MetricResult Result(Classification c, std::vector<std::string> groups, bool critical = false,
                    bool muted = false, std::string reason = "") {
  MetricResult r;
  r.classification.classification = c;
  r.classification.critical = critical;
  r.classification.reason = std::move(reason);
  r.groups = std::move(groups);
  r.muted = muted;
  return r;
}

TEST(RoundHalfUp2Test, RoundsTheDecimalFormLikeCommonsMath) {
  EXPECT_EQ(RoundHalfUp2(33.333333333333336), 33.33);
  EXPECT_EQ(RoundHalfUp2(66.66666666666667), 66.67);
  EXPECT_EQ(RoundHalfUp2(0.125), 0.13);    // HALF_UP, not banker's
  EXPECT_EQ(RoundHalfUp2(33.335), 33.34);  // binary 33.33499..., decimal form 33.335
  EXPECT_EQ(RoundHalfUp2(1.005), 1.01);
  EXPECT_EQ(RoundHalfUp2(-1.005), -1.01);  // away from zero
  EXPECT_EQ(RoundHalfUp2(100), 100);
  EXPECT_EQ(RoundHalfUp2(0.0049), 0.0);
  EXPECT_EQ(RoundHalfUp2(1e-20), 0.0);
}

TEST(ScoreResultsTest, MutedResultsAreNotScored) {
  const std::vector<MetricResult> results = {Result(Classification::kPass, {"g"}),
                                             Result(Classification::kHigh, {"g"}, true, true)};
  const ScoreResult s = ScoreResults(results, {});
  EXPECT_EQ(s.score, 100);
  EXPECT_TRUE(s.reason.empty());
}

TEST(ScoreResultsTest, CriticalFailureNamesTheFirstReason) {
  const std::vector<MetricResult> results = {
      Result(Classification::kPass, {"g"}),
      Result(Classification::kLow, {"g"}, true, false, "The metric rps was classified as Low"),
      Result(Classification::kHigh, {"g"}, true, false, "other")};
  const ScoreResult s = ScoreResults(results, {});
  EXPECT_EQ(s.score, 0);
  EXPECT_EQ(s.reason, "Canary Failed: The metric rps was classified as Low");
  ASSERT_EQ(s.group_scores.size(), 1u);
  EXPECT_NEAR(s.group_scores[0].score, 100.0 / 3, 1e-12);  // still reported
}

TEST(ScoreResultsTest, HalfNodataFails) {
  const std::vector<MetricResult> results = {Result(Classification::kPass, {"a"}),
                                             Result(Classification::kNodata, {"b"})};
  const ScoreResult s = ScoreResults(results, {});
  EXPECT_EQ(s.score, 0);
  EXPECT_EQ(s.reason, "Canary Failed: 50% or more metrics returned NODATA");
}

TEST(ScoreResultsTest, WeightsAndSharedRemainder) {
  // a: 1/2 pass; b: pass; c: no weight, gets (100 - 60 - 30) / 1 = 10; d has a weight but no
  // result: its 30 is lost (Kayenta does not renormalize).
  const std::vector<MetricResult> results = {
      Result(Classification::kPass, {"a"}), Result(Classification::kHigh, {"a"}),
      Result(Classification::kPass, {"b"}), Result(Classification::kNodataFailMetric, {"c"}),
      Result(Classification::kError, {"c"})};
  const ScoreResult s = ScoreResults(results, {{"a", 30}, {"b", 30}, {"d", 30}});
  // 50 * 0.3 + 100 * 0.3 + 0 * 0.1
  EXPECT_EQ(s.score, 45);
  ASSERT_EQ(s.group_scores.size(), 3u);
  EXPECT_EQ(s.group_scores[2].name, "c");
  EXPECT_FALSE(s.group_scores[2].no_data);  // NodataFailMetric counts, Error does not
}

TEST(ScoreResultsTest, GroupWithOnlyNodataCountsAsFull) {
  const std::vector<MetricResult> results = {
      Result(Classification::kHigh, {"a"}), Result(Classification::kPass, {"a"}),
      Result(Classification::kPass, {"a"}), Result(Classification::kError, {"b"})};
  const ScoreResult s = ScoreResults(results, {});
  // a: 66.67 * 0.5, b: no data -> 100 * 0.5
  EXPECT_EQ(s.score, 83.33);
  EXPECT_TRUE(s.group_scores[1].no_data);
}

TEST(ScoreResultsTest, NothingScored) {
  EXPECT_EQ(ScoreResults({}, {}).score, 0);
  EXPECT_EQ(ClassifyScore(0, 75, 50), ScoreClassification::kFail);
  EXPECT_EQ(ClassifyScore(50, 75, 50), ScoreClassification::kMarginal);
  EXPECT_EQ(ClassifyScore(75, 75, 50), ScoreClassification::kPass);
}

canaryconfig::CanaryConfig TwoMetricConfig() {
  return *canaryconfig::ParseCanaryConfig(R"({
    "metrics": [
      {"name": "latency", "groups": ["perf"], "query": {"type": "prometheus"},
       "analysisConfigurations": {"canary": {"direction": "increase"}}},
      {"name": "errors", "groups": ["errors"], "query": {"type": "prometheus"},
       "analysisConfigurations": {"canary": {"nanStrategy": "replace", "muted": true}}}],
    "classifier": {"groupWeights": {"perf": 60, "errors": 40}}})");
}

model::MetricSetPair Pair(std::string name, std::vector<double> control,
                          std::vector<double> experiment) {
  model::MetricSetPair p;
  p.name = std::move(name);
  p.control = std::move(control);
  p.experiment = std::move(experiment);
  return p;
}

TEST(JudgeTest, WholeJudgment) {
  const auto config = TwoMetricConfig();
  std::vector<double> base, slower;
  for (int i = 0; i < 40; ++i) {
    base.push_back(100 + (i * 13) % 17);
    slower.push_back(130 + (i * 7) % 17);
  }
  const std::vector<model::MetricSetPair> pairs = {Pair("latency", base, slower),
                                                   Pair("errors", {}, {1, 2})};
  const auto r = Judge(config, pairs, JudgeOptions{});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->judge_name, "NetflixACAJudge-v1.0");
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_EQ(r->results[0].classification.classification, Classification::kHigh);
  EXPECT_EQ(r->results[0].experiment_stats.count, 40);
  EXPECT_TRUE(r->results[1].muted);
  // errors is muted: only perf counts, 0 * 0.6.
  EXPECT_EQ(r->score.score, 0);
  EXPECT_EQ(r->score.classification, ScoreClassification::kFail);
  ASSERT_EQ(r->group_scores.size(), 1u);
}

TEST(JudgeTest, UnknownMetricIsAnError) {
  const std::vector<model::MetricSetPair> pairs = {Pair("latency", {1}, {2}),
                                                   Pair("nope", {1}, {2})};
  const auto r = Judge(TwoMetricConfig(), pairs, JudgeOptions{});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().pair_index, 1u);
  EXPECT_THAT(r.error().message, HasSubstr("\"nope\" is not in the canary config"));
}

TEST(JudgeTest, ToleranceAndConfLevelOverrides) {
  // A shift whose interval lies beyond 25% of the estimate but not beyond 90% of it.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 12);
  std::vector<double> c, e;
  for (int i = 0; i < 60; ++i) {
    c.push_back(100 + noise(rng));
    e.push_back(112 + noise(rng));
  }
  auto config = TwoMetricConfig();
  const std::vector<model::MetricSetPair> pairs = {Pair("latency", c, e)};
  auto r = Judge(config, pairs, JudgeOptions{});
  ASSERT_TRUE(r.has_value());
  const Evidence ev = r->results[0].classification.evidence;  // a copy: r is reassigned
  EXPECT_EQ(ev.tolerance, 0.25);
  EXPECT_EQ(ev.conf_level, 0.98);
  EXPECT_EQ(r->results[0].classification.classification, Classification::kHigh)
      << r->results[0].classification.reason;

  config.judge.tolerance = 0.9;
  r = Judge(config, pairs, JudgeOptions{});
  EXPECT_EQ(r->results[0].classification.classification, Classification::kPass);
  EXPECT_EQ(r->results[0].classification.evidence.tolerance, 0.9);

  config.judge.tolerance.reset();
  config.judge.conf_level = 0.5;  // a narrower interval
  r = Judge(config, pairs, JudgeOptions{});
  const Evidence& narrow = r->results[0].classification.evidence;
  EXPECT_GT(*narrow.ci_lower, *ev.ci_lower);
  EXPECT_EQ(narrow.conf_level, 0.5);
}

TEST(JudgeTest, NoiseDoesNotDependOnOtherPairs) {
  auto config = TwoMetricConfig();
  const auto constant = Pair("latency", {1, 1, 1}, {2, 2, 2});
  const auto other = Pair("errors", {1, 1}, {3, 3});
  const std::vector<model::MetricSetPair> alone = {constant}, after = {other, constant};
  const auto a = Judge(config, alone, JudgeOptions{});
  const auto b = Judge(config, after, JudgeOptions{});
  EXPECT_EQ(*a->results[0].classification.evidence.estimate,
            *b->results[1].classification.evidence.estimate);
  JudgeOptions seeded;
  seeded.seed = 99;
  const auto c = Judge(config, alone, seeded);
  EXPECT_NE(*a->results[0].classification.evidence.estimate,
            *c->results[0].classification.evidence.estimate);
}

}  // namespace
}  // namespace canaryd::judge
