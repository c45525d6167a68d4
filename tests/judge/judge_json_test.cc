// MetricSetPair JSON in (values as numbers, "NaN", null; errors with JSON paths) and the judge
// result JSON out (Kayenta's shape, NaN as Jackson writes it, unset evidence as null).

#include "canaryd/judge/judge_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>

namespace canaryd::judge {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::string ErrorOf(std::string_view json) {
  const auto r = ParseMetricSetPairs(json);
  EXPECT_FALSE(r.has_value()) << json;
  return r ? "" : r.error().ToString();
}

TEST(MetricSetPairJsonTest, ParsesKayentaPairs) {
  const auto r = ParseMetricSetPairs(R"js([
    {"name": "rps", "id": "8d1f", "tags": {"route": "/b", "az": "x"},
     "values": {"control": [1.5, "NaN", null, 2, -3e2, "Infinity", "-Inf"], "experiment": []},
     "scopes": {"control": {"startTimeMillis": 1700000000000, "stepMillis": 60000}},
     "attributes": {"control": {"query": "avg(x)"}}},
    {"name": "cpu", "tags": null, "values": {"control": [0.1], "experiment": [0.30000000000000004]}}
  ])js");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 2u);
  const model::MetricSetPair& p = (*r)[0];
  EXPECT_EQ(p.name, "rps");
  EXPECT_THAT(p.tags, ElementsAre(Pair("az", "x"), Pair("route", "/b")));  // sorted
  ASSERT_EQ(p.control.size(), 7u);
  EXPECT_EQ(p.control[0], 1.5);
  EXPECT_TRUE(std::isnan(p.control[1]));
  EXPECT_TRUE(std::isnan(p.control[2]));
  EXPECT_EQ(p.control[4], -300);
  EXPECT_EQ(p.control[5], std::numeric_limits<double>::infinity());
  EXPECT_EQ(p.control[6], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(p.experiment.empty());
  EXPECT_EQ(p.start_time_millis, 1700000000000);
  EXPECT_EQ(p.step_millis, 60000);
  EXPECT_TRUE((*r)[1].tags.empty());
  EXPECT_EQ((*r)[1].experiment[0], 0.1 + 0.2);  // parsed exactly (correctly rounded)
}

TEST(MetricSetPairJsonTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(ErrorOf(R"({"name": "x"})"), "expected a JSON array of MetricSetPairs, got an object");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "values": {"control": [], "experiment": []}}, 3])"),
            "[1]: expected a MetricSetPair object, got a number");
  EXPECT_EQ(ErrorOf(R"([{"values": {"control": [], "experiment": []}}])"),
            "[0].name: required (the metric's name in the config)");
  EXPECT_EQ(ErrorOf(R"([{"name": 1}])"), "[0].name: expected a string, got a number");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "tags": {"k": 1}, "values": {}}])"),
            "[0].tags.k: expected a string, got a number");
  EXPECT_EQ(ErrorOf(R"([{"name": "a"}])"),
            R"([0].values: required ({"control": [...], "experiment": [...]}))");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "values": {"control": []}}])"),
            "[0].values.experiment: required (an array of numbers)");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "values": {"control": [1, true], "experiment": []}}])"),
            "[0].values.control[1]: expected a number, \"NaN\" or null, got a boolean");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "values": {"control": [], "experiment": "1,2"}}])"),
            "[0].values.experiment: expected an array of numbers, got a string");
  EXPECT_EQ(ErrorOf(R"([{"name": "a", "values": {"control": [], "experiment": []},
                       "scopes": {"control": {"stepMillis": 1.5}}}])"),
            "[0].scopes.control.stepMillis: expected an integer, got a number");
  EXPECT_THAT(ErrorOf("[\n{\"name\": \"a\",,}]"), ::testing::StartsWith("invalid JSON at line 2"));
}

TEST(MetricSetPairJsonTest, RoundTrips) {
  model::MetricSetPair p;
  p.name = "lat\"ency";
  p.tags = {{"a", "1"}, {"b", "\n"}};
  p.control = {0.1, std::numeric_limits<double>::quiet_NaN(), 1e300, -0.0};
  p.experiment = {std::numeric_limits<double>::infinity(), 5e-324};
  p.start_time_millis = 42;
  p.step_millis = 10;
  const std::vector<model::MetricSetPair> pairs = {p};
  const auto back = ParseMetricSetPairs(MetricSetPairsToJson(pairs));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  const model::MetricSetPair& q = (*back)[0];
  EXPECT_EQ(q.name, p.name);
  EXPECT_EQ(q.tags, p.tags);
  EXPECT_EQ(q.control[0], 0.1);
  EXPECT_TRUE(std::isnan(q.control[1]));
  EXPECT_EQ(q.control[2], 1e300);
  EXPECT_TRUE(std::signbit(q.control[3]));
  EXPECT_EQ(q.experiment, p.experiment);
  EXPECT_EQ(q.start_time_millis, 42);
  EXPECT_EQ(q.step_millis, 10);
}

TEST(JudgeResultJsonTest, KayentaShapeWithDetails) {
  JudgeResult r;
  r.score = {83.33, ScoreClassification::kMarginal, ""};
  r.group_scores = {{"latency", 66.66666666666667, false}};
  MetricResult m;
  m.name = "p99";
  m.tags = {{"route", "/a"}};
  m.groups = {"latency"};
  m.classification.classification = Classification::kHigh;
  m.classification.rule = Rule::kHigh;
  m.classification.reason = "p99 was classified as High";
  m.classification.deviation = std::numeric_limits<double>::quiet_NaN();
  m.classification.evidence.ci_lower = 1.5;
  m.classification.evidence.ci_upper = 2;
  m.classification.evidence.p_value = 1e-9;
  m.experiment_stats = {1, 3, 2, 1, 3};
  r.results = {m};
  const std::string json = JudgeResultToJson(r);
  const boost::json::value v = boost::json::parse(json);
  EXPECT_EQ(v.at("judgeName"), "NetflixACAJudge-v1.0");
  EXPECT_EQ(v.at("score").at("score").as_double(), 83.33);
  EXPECT_EQ(v.at("score").at("classification"), "Marginal");
  EXPECT_EQ(v.at("groupScores").at(0).at("classification"), "");
  const auto& res = v.at("results").at(0);
  EXPECT_EQ(res.at("tags").at("route"), "/a");
  EXPECT_EQ(res.at("classification"), "High");
  EXPECT_EQ(res.at("resultMetadata").at("ratio"), "NaN");  // Jackson's spelling
  EXPECT_EQ(res.at("experimentMetadata").at("stats").at("count"), 3);
  EXPECT_EQ(res.at("controlMetadata").at("stats").at("mean").as_double(), 0.0);
  const auto& d = res.at("details");
  EXPECT_EQ(d.at("rule"), "high");
  EXPECT_EQ(d.at("ciLower").as_double(), 1.5);
  EXPECT_TRUE(d.at("estimate").is_null());
  EXPECT_EQ(d.at("pValue").as_double(), 1e-9);
  EXPECT_EQ(d.at("effectSizeMeasure"), "meanRatio");
  EXPECT_EQ(d.at("noiseAdded"), false);
  // Doubles keep a fraction like Jackson's ("2.0", not "2"); compact form has no spaces.
  EXPECT_NE(json.find("\"ciUpper\": 2.0"), std::string::npos) << json;
  EXPECT_NE(JudgeResultToJson(r, false).find(R"({"judgeName":"NetflixACAJudge-v1.0","score":{)"),
            std::string::npos);
}

}  // namespace
}  // namespace canaryd::judge
