// Every case of kayenta-vectors.json (Kayenta's MannWhitneySuite, ClassifierSuite and ScorerSuite
// asserts, with their tolerances), plus the intermediate values of the reference re-implementation
// ("derived_*") to a much tighter tolerance, since our port follows the same arithmetic.

#include <gtest/gtest.h>

#include <cmath>

#include "canaryd/judge/judge.h"
#include "canaryd/judge/mann_whitney.h"
#include "test_data.h"

namespace canaryd::judge {
namespace {

namespace json = boost::json;
using canaryconfig::Direction;
using canaryconfig::EffectSizeMeasure;
using canaryconfig::NanStrategy;
using testing::CaseName;
using testing::Doubles;
using testing::LoadJson;
using testing::Num;

// How closely we follow the reference port where Kayenta itself asserts nothing.
constexpr double kDerivedTolerance = 1e-9;

const json::value& Vectors() {
  static const json::value v = LoadJson("kayenta-vectors.json");
  return v;
}

std::vector<json::object> Suite(const char* name) {
  std::vector<json::object> out;
  for (const auto& c : Vectors().at(name).as_array()) {
    out.push_back(c.as_object());
  }
  return out;
}

void ExpectNear(double actual, double expected, double tol, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
    return;
  }
  EXPECT_NEAR(actual, expected, tol * std::max(1.0, std::fabs(expected))) << what;
}

std::string NameOfCase(const ::testing::TestParamInfo<json::object>& p) {
  return CaseName(std::string(p.param.at("name").as_string()), p.index);
}

// ---- MannWhitneySuite ----

class MannWhitneySuite : public ::testing::TestWithParam<json::object> {};

TEST_P(MannWhitneySuite, Reproduced) {
  const json::object& c = GetParam();
  const std::string name(c.at("name").as_string());
  if (c.contains("call")) {  // "Test zQuant": qnorm(0.02 / 2)
    EXPECT_NEAR(NormalQuantile(0.02 / 2), Num(c.at("expected")), Num(c.at("tol")));
    return;
  }
  if (c.contains("calls")) {  // wilcoxonDiff(mu, quantile)
    const MannWhitney mw(Doubles(c.at("x")), Doubles(c.at("y")));
    for (const auto& call : c.at("calls").as_array()) {
      const auto w = mw.WilcoxonDiff(Num(call.at("mu")), Num(call.at("quantile")));
      ASSERT_TRUE(w.has_value());
      EXPECT_NEAR(*w, Num(call.at("expected")), Num(call.at("tol"))) << "mu=" << call.at("mu");
    }
    const auto t = mw.Test(0.95);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(t->p_value, Num(c.at("derived_two_sided_pvalue_R_style")), 1e-12);
    return;
  }
  if (c.contains("x")) {  // "Intermediate Values / Variables"
    const MannWhitney mw(Doubles(c.at("x")), Doubles(c.at("y")));
    const json::object& e = c.at("expected").as_object();
    const double tol = Num(c.at("tolerance"));
    const double conf = Num(c.at("confLevel"));
    EXPECT_NEAR(mw.MuMin(), Num(e.at("muMin")), tol);
    EXPECT_NEAR(mw.MuMax(), Num(e.at("muMax")), tol);
    const double z = NormalQuantile((1 - conf) / 2);
    EXPECT_NEAR(-z, Num(e.at("zqLower")), tol);
    EXPECT_NEAR(z, Num(e.at("zqUpper")), tol);
    EXPECT_NEAR(*mw.WilcoxonDiff(mw.MuMin(), -z), Num(e.at("fLower1(muMin,zqLower)")), tol);
    EXPECT_NEAR(*mw.WilcoxonDiff(mw.MuMax(), -z), Num(e.at("fUpper1(muMax,zqLower)")), tol);
    EXPECT_NEAR(*mw.WilcoxonDiff(mw.MuMin(), z), Num(e.at("fLower2(muMin,zqUpper)")), tol);
    EXPECT_NEAR(*mw.WilcoxonDiff(mw.MuMax(), z), Num(e.at("fUpper2(muMax,zqUpper)")), tol);
    const auto t = mw.Test(conf);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(t->ci_lower, Num(e.at("ciLower=Brent(zqLower)")), tol);
    EXPECT_NEAR(t->ci_upper, Num(e.at("ciUpper=Brent(zqUpper)")), tol);
    EXPECT_NEAR(t->estimate, Num(e.at("estimate=Brent(0)")), tol);
    // The inverted interval of heavy ties, reproduced exactly.
    EXPECT_GT(t->ci_lower, t->ci_upper);
    return;
  }
  // Confidence interval and estimate.
  const auto t = MannWhitneyUTest(Doubles(c.at("x_experiment")), Doubles(c.at("y_control")),
                                  Num(c.at("confLevel")));
  ASSERT_TRUE(t.has_value()) << name;
  const json::object& e = c.at("expected").as_object();
  const json::object& tol = c.at("tolerance").as_object();
  EXPECT_NEAR(t->ci_lower, Num(e.at("ci_low")), Num(tol.at("ci")));
  EXPECT_NEAR(t->ci_upper, Num(e.at("ci_high")), Num(tol.at("ci")));
  EXPECT_NEAR(t->estimate, Num(e.at("estimate")), Num(tol.at("estimate")));
  const json::object& d = c.at("derived_port_output").as_object();
  ExpectNear(t->ci_lower, Num(d.at("ci_low")), kDerivedTolerance, "derived ci_low");
  ExpectNear(t->ci_upper, Num(d.at("ci_high")), kDerivedTolerance, "derived ci_high");
  ExpectNear(t->estimate, Num(d.at("estimate")), kDerivedTolerance, "derived estimate");
  EXPECT_NEAR(t->p_value, Num(c.at("derived_two_sided_pvalue_R_style")), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Kayenta, MannWhitneySuite, ::testing::ValuesIn(Suite("MannWhitneySuite")),
                         NameOfCase);

// ---- ClassifierSuite ----

Direction ParseDirection(const json::value& v) {
  return v == "increase"   ? Direction::kIncrease
         : v == "decrease" ? Direction::kDecrease
                           : Direction::kEither;
}

class ClassifierSuite : public ::testing::TestWithParam<json::object> {};

TEST_P(ClassifierSuite, Reproduced) {
  const json::object& c = GetParam();
  const std::string name(c.at("name").as_string());
  const std::vector<double> experiment = Doubles(c.at("experiment"));
  const std::vector<double> control = Doubles(c.at("control"));
  const Direction direction = ParseDirection(c.at("direction"));
  if (c.at("classifier") == "MeanInequalityClassifier") {
    EXPECT_EQ(ClassificationName(ClassifyMeanInequality(control, experiment, direction)),
              c.at("expected_classification").as_string());
    return;
  }
  ClassifierParams p;
  p.tolerance = Num(c.at("tolerance"));
  p.conf_level = Num(c.at("confLevel"));
  p.direction = direction;
  p.nan_strategy = c.at("nanStrategy") == "replace" ? NanStrategy::kReplace : NanStrategy::kRemove;
  p.critical = c.at("isCriticalMetric").as_bool();
  const auto effect = Doubles(c.at("effectSizeThresholds_decrease_increase"));
  const auto critical = Doubles(c.at("criticalThresholds_decrease_increase"));
  p.effect_size.measure = c.at("effectSizeMeasure") == "cles" ? EffectSizeMeasure::kCles
                                                              : EffectSizeMeasure::kMeanRatio;
  p.effect_size.allowed_decrease = effect[0];
  p.effect_size.allowed_increase = effect[1];
  p.effect_size.critical_decrease = critical[0];
  p.effect_size.critical_increase = critical[1];

  // Noise cases depend on the seed: every seed must give Kayenta's label.
  for (uint64_t seed : {0ULL, 1ULL, 42ULL, 0xdeadbeefULL}) {
    p.noise_seed = seed;
    const MetricClassification r = ClassifyMannWhitney("test-metric", control, experiment, p);
    const std::string label(ClassificationName(r.classification));
    if (c.contains("expected_classification")) {
      EXPECT_EQ(label, c.at("expected_classification").as_string()) << r.reason;
    }
    if (c.contains("expected_critical")) {
      EXPECT_EQ(r.critical, c.at("expected_critical").as_bool());
    }
    if (c.contains("expected_deviation")) {
      ExpectNear(r.deviation, Num(c.at("expected_deviation")), 1e-12, "deviation");
    }
    if (c.contains("expected_reason_nonempty")) {
      EXPECT_FALSE(r.reason.empty());
    }
    const json::object& d = c.at("derived_port_output").as_object();
    EXPECT_EQ(label, d.at("cls").as_string()) << r.reason;
    EXPECT_EQ(r.critical, d.at("critical").as_bool());
    if (c.contains("note")) {
      continue;  // derived numbers came from one unseeded noise draw
    }
    ExpectNear(r.deviation, Num(d.at("deviation")), kDerivedTolerance, "deviation");
    if (d.contains("ci")) {
      const auto ci = Doubles(d.at("ci"));
      ASSERT_TRUE(r.evidence.ci_lower && r.evidence.ci_upper) << r.reason;
      ExpectNear(*r.evidence.ci_lower, ci[0], kDerivedTolerance, "ci_lower");
      ExpectNear(*r.evidence.ci_upper, ci[1], kDerivedTolerance, "ci_upper");
      ExpectNear(*r.evidence.estimate, Num(d.at("estimate")), kDerivedTolerance, "estimate");
      ExpectNear(*r.evidence.effect_size, Num(d.at("effect")), kDerivedTolerance, "effect");
      ExpectNear(*r.evidence.bound, Doubles(d.at("bounds"))[1], kDerivedTolerance, "bound");
    }
    if (d.contains("reason")) {
      EXPECT_EQ(r.rule, Rule::kIdentical);
      EXPECT_EQ(r.reason, "The Canary and Baseline data are identical");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kayenta, ClassifierSuite, ::testing::ValuesIn(Suite("ClassifierSuite")),
                         NameOfCase);

// ---- ScorerSuite ----

Classification ParseClassification(std::string_view s) {
  for (auto c :
       {Classification::kPass, Classification::kHigh, Classification::kLow, Classification::kNodata,
        Classification::kNodataFailMetric, Classification::kError}) {
    if (ClassificationName(c) == s) {
      return c;
    }
  }
  ADD_FAILURE() << "unknown classification " << s;
  return Classification::kError;
}

class ScorerSuite : public ::testing::TestWithParam<json::object> {};

TEST_P(ScorerSuite, Reproduced) {
  const json::object& c = GetParam();
  std::vector<MetricResult> results;
  for (const auto& r : c.at("results").as_array()) {
    MetricResult m;
    m.classification.classification = ParseClassification(r.at(0).as_string());
    for (const auto& g : r.at(1).as_array()) {
      m.groups.emplace_back(g.as_string());
    }
    m.classification.critical = r.at(2).as_bool();
    results.push_back(m);
  }
  std::map<std::string, double> weights;
  for (const auto& [k, v] : c.at("groupWeights").as_object()) {
    weights[std::string(k)] = Num(v);
  }
  EXPECT_EQ(ScoreResults(results, weights).score, Num(c.at("expectedScore")));
}

INSTANTIATE_TEST_SUITE_P(Kayenta, ScorerSuite, ::testing::ValuesIn(Suite("ScorerSuite")),
                         NameOfCase);

}  // namespace
}  // namespace canaryd::judge
