#include "canaryd/canaryconfig/canary_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace canaryd::canaryconfig {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& name) {
  std::ifstream f(std::string(CANARYD_CANARYCONFIG_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

CanaryConfig MustParse(std::string_view json) {
  auto r = ParseCanaryConfig(json);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
  return r ? *r : CanaryConfig{};
}

std::vector<std::string> Problems(std::string_view json) {
  auto r = ParseCanaryConfig(json);
  EXPECT_FALSE(r.has_value()) << json;
  std::vector<std::string> out;
  if (!r) {
    for (const auto& p : r.error().problems) {
      out.push_back(p.ToString());
    }
  }
  return out;
}

// A minimal valid config around one metric's `canary` analysis block.
std::string WithCanary(std::string_view canary) {
  return R"({"metrics": [{"name": "m", "query": {"type": "prometheus", "metricName": "x"},
             "analysisConfigurations": {"canary": )" +
         std::string(canary) + "}}]}";
}

TEST(CanaryConfigTest, ParsesTheReferenceConfig) {
  const CanaryConfig c = MustParse(ReadFile("checkout-golden-signals.json"));
  EXPECT_EQ(c.name, "checkout-golden-signals");
  EXPECT_EQ(c.config_version, "1");
  EXPECT_THAT(c.applications, ElementsAre("checkout"));
  EXPECT_EQ(c.judge.name, "NetflixACAJudge-v1.0");
  EXPECT_FALSE(c.judge.tolerance.has_value());
  ASSERT_EQ(c.metrics.size(), 4u);
  EXPECT_EQ(c.templates.at("pod-scope"),
            R"(namespace="${namespace}",pod_name=~"checkout-${scope}.*",region="${location}")");
  EXPECT_EQ(c.group_weights.at("errors"), 40);
  ASSERT_TRUE(c.score_thresholds.has_value());
  EXPECT_EQ(c.score_thresholds->pass, 95);
  EXPECT_EQ(c.score_thresholds->marginal, 75);

  const MetricConfig& cpu = c.metrics[0];
  EXPECT_EQ(cpu.name, "cpu_usage");
  EXPECT_THAT(cpu.groups, ElementsAre("system"));
  EXPECT_EQ(cpu.scope_name, "default");
  EXPECT_EQ(cpu.query.type, "prometheus");
  EXPECT_EQ(cpu.query.metric_name, "container_cpu_usage_rate");
  EXPECT_THAT(cpu.query.label_bindings, ElementsAre("container=\"checkout\""));
  EXPECT_EQ(cpu.query.custom_filter_template, "pod-scope");
  EXPECT_FALSE(cpu.query.custom_inline_template.has_value());
  EXPECT_EQ(cpu.analysis.direction, Direction::kIncrease);
  EXPECT_EQ(cpu.analysis.nan_strategy, NanStrategy::kRemove);
  EXPECT_FALSE(cpu.analysis.critical);

  const MetricConfig& errors = c.metrics[1];
  EXPECT_EQ(
      errors.query.custom_inline_template,
      R"(PromQL:sum(rate(http_requests_total{status=~"5..",pod_name=~"checkout-${scope}.*"}[1m])))");
  EXPECT_EQ(errors.analysis.nan_strategy, NanStrategy::kReplace);
  EXPECT_TRUE(errors.analysis.critical);
  EXPECT_EQ(errors.analysis.effect_size.AllowedIncrease(), 1.1);
  EXPECT_EQ(errors.analysis.effect_size.CriticalIncrease(), 2.0);
  EXPECT_EQ(errors.analysis.effect_size.AllowedDecrease(), 1.0);  // default

  const MetricConfig& latency = c.metrics[2];
  EXPECT_TRUE(latency.analysis.must_have_data);
  EXPECT_EQ(latency.analysis.outliers.strategy, OutlierStrategy::kRemove);
  EXPECT_EQ(latency.analysis.outliers.outlier_factor, 3.0);
  EXPECT_EQ(latency.analysis.effect_size.AllowedIncrease(), 1.05);

  const MetricConfig& rps = c.metrics[3];
  EXPECT_THAT(rps.query.group_by_fields, ElementsAre("route"));
  EXPECT_EQ(rps.analysis.direction, Direction::kDecrease);
  EXPECT_FALSE(rps.analysis.muted);
  EXPECT_EQ(c.FindMetric("p99_latency"), &c.metrics[2]);
  EXPECT_EQ(c.FindMetric("nope"), nullptr);
}

TEST(CanaryConfigTest, AcceptsKayentaExportsWithNullsServerFieldsAndIntegers) {
  const CanaryConfig c = MustParse(ReadFile("kayenta-export.json"));
  EXPECT_EQ(c.id, "integration-test-canary-config");
  EXPECT_EQ(c.config_version, "1");  // a number in the file
  ASSERT_EQ(c.metrics.size(), 1u);
  EXPECT_FALSE(c.metrics[0].query.custom_inline_template.has_value());  // null
  EXPECT_TRUE(c.metrics[0].query.label_bindings.empty());               // null
  EXPECT_EQ(c.metrics[0].analysis.nan_strategy, NanStrategy::kRemove);  // "none"
  EXPECT_TRUE(c.metrics[0].analysis.critical);
  EXPECT_EQ(c.group_weights.at("pod-group"), 100.0);  // integer accepted
}

TEST(CanaryConfigTest, DefaultsAreKayentas) {
  const CanaryConfig c =
      MustParse(R"({"metrics": [{"name": "m", "query": {"type": "prometheus"}}]})");
  const MetricAnalysisConfig& a = c.metrics[0].analysis;
  EXPECT_EQ(a.direction, Direction::kEither);
  EXPECT_EQ(a.nan_strategy, NanStrategy::kRemove);
  EXPECT_EQ(a.outliers.strategy, OutlierStrategy::kKeep);
  EXPECT_EQ(a.outliers.outlier_factor, 3.0);
  EXPECT_FALSE(a.critical || a.must_have_data || a.muted);
  EXPECT_EQ(a.effect_size.measure, EffectSizeMeasure::kMeanRatio);
  EXPECT_EQ(a.effect_size.AllowedIncrease(), 1.0);
  EXPECT_EQ(a.effect_size.CriticalDecrease(), 1.0);
  EXPECT_EQ(c.metrics[0].scope_name, "default");
  EXPECT_EQ(c.judge.name, "NetflixACAJudge-v1.0");
  EXPECT_FALSE(c.score_thresholds.has_value());
}

TEST(CanaryConfigTest, ClesDefaultsToHalf) {
  const CanaryConfig c = MustParse(WithCanary(R"({"effectSize": {"measure": "cles",
                                                  "allowedIncrease": 0.8}})"));
  const auto& es = c.metrics[0].analysis.effect_size;
  EXPECT_EQ(es.measure, EffectSizeMeasure::kCles);
  EXPECT_EQ(es.AllowedIncrease(), 0.8);
  EXPECT_EQ(es.AllowedDecrease(), 0.5);
  EXPECT_EQ(es.CriticalIncrease(), 0.5);
}

TEST(CanaryConfigTest, JudgeOverrides) {
  const CanaryConfig c = MustParse(R"({"judge": {"name": "NetflixACAJudge-v1.0",
      "judgeConfigurations": {"tolerance": 0.1, "confLevel": 0.95}},
      "metrics": [{"name": "m", "query": {"type": "prometheus"}}]})");
  EXPECT_EQ(c.judge.tolerance, 0.1);
  EXPECT_EQ(c.judge.conf_level, 0.95);
}

TEST(CanaryConfigTest, UnknownFieldsAreIgnored) {
  const CanaryConfig c = MustParse(R"({"foo": [1, {"x": null}], "metrics": [{"name": "m",
      "bar": true, "query": {"type": "prometheus", "customFilter": "x"},
      "analysisConfigurations": {"canary": {"unknownKnob": 3}}}]})");
  EXPECT_EQ(c.metrics.size(), 1u);
}

TEST(CanaryConfigTest, BadEnumNamesItsPathAndTheChoices) {
  EXPECT_THAT(Problems(WithCanary(R"({"direction": "increse"})")),
              ElementsAre("metrics[0].analysisConfigurations.canary.direction: expected one of "
                          "\"increase\", \"decrease\", \"either\", got \"increse\""));
  EXPECT_THAT(Problems(WithCanary(R"({"nanStrategy": 1})")),
              ElementsAre(HasSubstr("canary.nanStrategy: expected one of \"remove\", \"replace\", "
                                    "\"none\", got a number")));
  EXPECT_THAT(Problems(WithCanary(R"({"effectSize": {"measure": "ratio"}})")),
              ElementsAre(HasSubstr("canary.effectSize.measure: expected one of \"meanRatio\"")));
  EXPECT_THAT(Problems(WithCanary(R"({"outliers": {"strategy": "drop"}})")),
              ElementsAre(HasSubstr("canary.outliers.strategy: expected one of \"keep\"")));
}

TEST(CanaryConfigTest, WrongTypesAreErrors) {
  EXPECT_THAT(Problems(WithCanary(R"({"critical": "true"})")),
              ElementsAre("metrics[0].analysisConfigurations.canary.critical: expected true or "
                          "false, got a string"));
  EXPECT_THAT(
      Problems(WithCanary(R"({"effectSize": {"allowedIncrease": "1.1"}})")),
      ElementsAre(HasSubstr("effectSize.allowedIncrease: expected a number, got a string")));
  EXPECT_THAT(Problems(WithCanary("[]")),
              ElementsAre("metrics[0].analysisConfigurations.canary: expected an object, got an "
                          "array"));
}

TEST(CanaryConfigTest, ReportsEveryProblemInDocumentOrder) {
  const auto problems = Problems(R"({
    "judge": {"name": "dredd-v1.0", "judgeConfigurations": {"confLevel": 1.5}},
    "templates": {"ok": "a", "bad one": 3},
    "classifier": {"groupWeights": {"g": "ten", "h": -1}},
    "metrics": [
      {"name": "a", "query": {"type": "prometheus", "labelBindings": ["x", 2]}, "groups": "g"},
      {"query": {"metricName": "y"}},
      {"name": "a", "query": {"type": "prometheus"},
       "analysisConfigurations": {"canary": {"outliers": {"outlierFactor": 0}, "muted": 1}}},
      7
    ]})");
  EXPECT_THAT(problems,
              ElementsAre("templates[\"bad one\"]: expected a string, got a number",
                          "classifier.groupWeights.g: expected a number, got a string",
                          "metrics[0].groups: expected an array of strings, got a string",
                          "metrics[0].query.labelBindings[1]: expected a string, got a number",
                          "metrics[1].name: required",
                          "metrics[1].query.type: required "
                          "(\"prometheus\")",
                          "metrics[2].analysisConfigurations.canary.muted: expected true or "
                          "false, got a number",
                          "metrics[3]: expected an object, got a number",
                          "metrics[2].name: duplicate metric name \"a\" (pairs are matched to "
                          "metrics by name)",
                          "metrics[2].analysisConfigurations.canary.outliers.outlierFactor: must "
                          "be greater than 0",
                          "classifier.groupWeights.h: must be a number >= 0",
                          "judge.name: canaryd implements \"NetflixACAJudge-v1.0\" only, got "
                          "\"dredd-v1.0\"",
                          "judge.judgeConfigurations.confLevel: must be between 0 and 1, "
                          "exclusive (Kayenta uses 0.98)"));
}

TEST(CanaryConfigTest, DocumentLevelProblems) {
  EXPECT_THAT(Problems("[]"),
              ElementsAre("expected a JSON object (a Kayenta canary config), got an array"));
  EXPECT_THAT(Problems("{}"), ElementsAre("metrics: required: the list of metrics to judge"));
  EXPECT_THAT(Problems(R"({"metrics": []})"),
              ElementsAre("metrics: must list at least one metric"));
  EXPECT_THAT(Problems("{\n  \"metrics\": [\n    {\"name\": }"),
              ElementsAre(HasSubstr("invalid JSON at line 3, column 14")));
  EXPECT_THAT(Problems(""), ElementsAre(HasSubstr("invalid JSON at line 1, column 1")));
  EXPECT_THAT(Problems(std::string(200, '[') + std::string(200, ']')),
              ElementsAre(HasSubstr("invalid JSON")));  // depth limit, not a stack overflow
}

TEST(CanaryConfigTest, SerializeRoundTrips) {
  for (const char* file : {"checkout-golden-signals.json", "kayenta-export.json"}) {
    const CanaryConfig c = MustParse(ReadFile(file));
    const std::string json = SerializeCanaryConfig(c);
    const CanaryConfig again = MustParse(json);
    EXPECT_EQ(again, c) << file << "\n" << json;
    EXPECT_EQ(SerializeCanaryConfig(again), json);
  }
  CanaryConfig c = MustParse(WithCanary(R"({"effectSize": {"measure": "cles"}})"));
  c.judge.tolerance = 0.2;
  const std::string json = SerializeCanaryConfig(c);
  EXPECT_THAT(json, HasSubstr(R"("judgeConfigurations":{"tolerance":0.2})"));
  EXPECT_THAT(json, HasSubstr(R"("effectSize":{"measure":"cles"})"));  // unset stays unset
  EXPECT_EQ(MustParse(json), c);
}

TEST(CanaryConfigTest, ValidateCatchesConfigsBuiltInCode) {
  CanaryConfig c;
  EXPECT_THAT(ValidateCanaryConfig(c), ElementsAre(ConfigProblem{"metrics",
                                                                 "must list at least "
                                                                 "one metric"}));
  c.metrics.resize(1);
  c.metrics[0].name = "m";
  EXPECT_TRUE(ValidateCanaryConfig(c).empty());
  c.judge.conf_level = 0;
  EXPECT_EQ(ValidateCanaryConfig(c).size(), 1u);
}

}  // namespace
}  // namespace canaryd::canaryconfig
