// Classification rules beyond the Kayenta vectors: each rule and its reason, the evidence, NaN and
// outlier handling, descriptive statistics.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "canaryd/judge/judge.h"

namespace canaryd::judge {
namespace {

using canaryconfig::Direction;
using canaryconfig::EffectSizeMeasure;
using canaryconfig::NanStrategy;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// 30 latency-like values around `center`.
std::vector<double> Around(double center) {
  std::vector<double> v;
  for (int i = 0; i < 30; ++i) {
    v.push_back(center + 0.37 * ((i * 7) % 11) - 0.21 * ((i * 5) % 7));
  }
  return v;
}

MetricClassification Classify(const std::vector<double>& control,
                              const std::vector<double>& experiment,
                              ClassifierParams p = ClassifierParams{}) {
  return ClassifyMannWhitney("latency", control, experiment, p);
}

TEST(ClassifierTest, HighCarriesEvidenceAndKayentasReasonFirst) {
  const auto r = Classify(Around(10), Around(20));
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_EQ(r.rule, Rule::kHigh);
  EXPECT_FALSE(r.critical);
  EXPECT_THAT(r.reason, StartsWith("latency was classified as High: the 98% confidence interval"));
  EXPECT_THAT(r.reason, HasSubstr(">= allowedIncrease 1"));
  const Evidence& e = r.evidence;
  ASSERT_TRUE(e.ci_lower && e.ci_upper && e.estimate && e.bound && e.effect_size && e.p_value);
  EXPECT_NEAR(*e.estimate, 10, 0.5);
  EXPECT_DOUBLE_EQ(*e.bound, 0.25 * std::fabs(*e.estimate));
  EXPECT_GT(*e.ci_lower, *e.bound);
  EXPECT_LT(*e.p_value, 1e-6);
  EXPECT_DOUBLE_EQ(*e.effect_size, r.deviation);
  EXPECT_EQ(e.control_count, 30);
  EXPECT_EQ(e.experiment_count, 30);
  EXPECT_EQ(e.conf_level, 0.98);
  EXPECT_FALSE(e.noise_added);
}

TEST(ClassifierTest, DirectionDecidesWhichSideFails) {
  ClassifierParams p;
  p.direction = Direction::kIncrease;
  const auto low = Classify(Around(20), Around(10), p);
  EXPECT_EQ(low.classification, Classification::kPass);
  EXPECT_EQ(low.rule, Rule::kDirectionIgnored);
  EXPECT_THAT(low.reason, HasSubstr("lies below -bound"));
  EXPECT_THAT(low.reason, HasSubstr("but direction is \"increase\""));
  p.direction = Direction::kDecrease;
  EXPECT_EQ(Classify(Around(20), Around(10), p).classification, Classification::kLow);
}

TEST(ClassifierTest, EffectSizeFiltersAndCriticalThresholds) {
  ClassifierParams p;
  p.effect_size.allowed_increase = 3.0;  // mean ratio is about 2
  auto r = Classify(Around(10), Around(20), p);
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_EQ(r.rule, Rule::kEffectSizeTooSmall);
  EXPECT_THAT(r.reason, HasSubstr("< allowedIncrease 3"));

  p.effect_size.allowed_increase = 1.5;
  p.critical = true;
  p.effect_size.critical_increase = 2.5;
  r = Classify(Around(10), Around(20), p);
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_FALSE(r.critical);
  EXPECT_THAT(r.reason, HasSubstr("not critical: the mean ratio"));

  p.effect_size.critical_increase = 1.8;
  r = Classify(Around(10), Around(20), p);
  EXPECT_TRUE(r.critical);
  EXPECT_EQ(r.rule, Rule::kCriticalHigh);
  EXPECT_THAT(r.reason, StartsWith("The metric latency was classified as High (Critical)"));
}

TEST(ClassifierTest, ClesEffectSize) {
  ClassifierParams p;
  p.effect_size.measure = EffectSizeMeasure::kCles;
  const auto r = Classify(Around(10), Around(20), p);
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_EQ(*r.evidence.effect_size, 1.0);  // every experiment value above every control value
  EXPECT_EQ(r.evidence.effect_size_measure, EffectSizeMeasure::kCles);
  EXPECT_THAT(r.reason, HasSubstr("the CLES 1 >= allowedIncrease 0.5"));
}

TEST(ClassifierTest, WithinBound) {
  const auto r = Classify(Around(10), Around(10.05));
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_EQ(r.rule, Rule::kWithinBound);
  EXPECT_THAT(r.reason, HasSubstr("does not lie beyond +-bound"));
}

TEST(ClassifierTest, MissingData) {
  ClassifierParams p;
  auto r = Classify({}, Around(10), p);
  EXPECT_EQ(r.classification, Classification::kNodata);
  EXPECT_EQ(r.rule, Rule::kMissingData);
  EXPECT_EQ(r.reason, "Missing data for latency: the control has no values (after removing NaNs)");
  EXPECT_FALSE(r.evidence.ci_lower.has_value());
  EXPECT_EQ(r.deviation, 1.0);

  p.must_have_data = true;
  r = Classify(Around(10), {}, p);
  EXPECT_EQ(r.classification, Classification::kNodataFailMetric);
  EXPECT_FALSE(r.critical);

  p.critical = true;  // critical wins over mustHaveData: Nodata, critical
  r = Classify(Around(10), {}, p);
  EXPECT_EQ(r.classification, Classification::kNodata);
  EXPECT_TRUE(r.critical);

  p.nan_strategy = NanStrategy::kReplace;  // Kayenta passes, ignoring mustHaveData
  r = Classify(Around(10), {}, p);
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_EQ(r.rule, Rule::kMissingDataReplaced);
  EXPECT_FALSE(r.critical);
}

TEST(ClassifierTest, IdenticalSingleValueAndConstantSides) {
  EXPECT_EQ(Classify({3, 1, 2}, {2, 3, 1}).rule, Rule::kIdentical);
  const auto single = Classify({5, 5}, {5, 5, 5});
  EXPECT_EQ(single.rule, Rule::kSingleValue);
  EXPECT_EQ(single.reason, "latency passed: every control and experiment value is 5");
  const auto noise = Classify({1, 1, 1, 1, 1}, {10, 10, 10, 10, 10});
  EXPECT_EQ(noise.classification, Classification::kHigh);
  EXPECT_TRUE(noise.evidence.noise_added);
  // -0.0 and 0.0 are one value for "identical" but two for Kayenta's `distinct`: no noise, and
  // every observation tied after all -> Error, as in Kayenta.
  const auto zeros = Classify({0.0}, {0.0, -0.0, 0.0});
  EXPECT_EQ(zeros.classification, Classification::kError);
  EXPECT_EQ(zeros.rule, Rule::kClassificationFailed);
}

TEST(ClassifierTest, ErrorWhenEveryObservationTies) {
  // Experiment constant 0 (noise sd 0), control one value: ties at the bracket end.
  const auto r = Classify({5}, {0, 0, 0});
  EXPECT_EQ(r.classification, Classification::kError);
  EXPECT_FALSE(r.critical);
  EXPECT_EQ(r.reason,
            "Metric Classification Failed: cannot compute confidence interval when all "
            "observations are tied");
}

TEST(ClassifierTest, NoiseIsSeededPerPair) {
  ClassifierParams p;
  p.noise_seed = 1;
  const auto a = Classify({1, 1, 1}, {2, 2, 2}, p);
  const auto b = Classify({1, 1, 1}, {2, 2, 2}, p);
  p.noise_seed = 2;
  const auto c = Classify({1, 1, 1}, {2, 2, 2}, p);
  EXPECT_EQ(*a.evidence.estimate, *b.evidence.estimate);
  EXPECT_NE(*a.evidence.estimate, *c.evidence.estimate);
}

TEST(PreprocessTest, NanStrategies) {
  canaryconfig::MetricAnalysisConfig a;
  const std::vector<double> v = {1, kNaN, 3, kNaN};
  EXPECT_EQ(Preprocess(v, a), (std::vector<double>{1, 3}));
  a.nan_strategy = NanStrategy::kReplace;
  EXPECT_EQ(Preprocess(v, a), (std::vector<double>{1, 0, 3, 0}));
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(Preprocess(std::vector<double>{inf, -inf}, a).size(), 2u);  // infinities stay
}

TEST(PreprocessTest, IqrOutliersWithR7Percentiles) {
  // numpy.percentile(v, [1, 25, 75, 99]) for v = 1..20 and 1000:
  std::vector<double> v;
  for (int i = 1; i <= 20; ++i) {
    v.push_back(i);
  }
  v.push_back(1000);
  std::vector<double> sorted = v;
  EXPECT_DOUBLE_EQ(PercentileR7(sorted, 25), 6.0);
  EXPECT_DOUBLE_EQ(PercentileR7(sorted, 75), 16.0);
  EXPECT_DOUBLE_EQ(PercentileR7(sorted, 1), 1.2);
  EXPECT_NEAR(PercentileR7(sorted, 99), 804, 1e-9);
  EXPECT_DOUBLE_EQ(PercentileR7(sorted, 100), 1000);
  EXPECT_TRUE(std::isnan(PercentileR7({}, 50)));
  canaryconfig::MetricAnalysisConfig a;
  a.outliers.strategy = canaryconfig::OutlierStrategy::kRemove;
  a.outliers.outlier_factor = 3.0;
  // Fences: min(P1, 6 - 30) = -24, max(P99 = 804, 16 + 30) = 804: 1000 goes.
  const auto kept = Preprocess(v, a);
  EXPECT_EQ(kept.size(), 20u);
  EXPECT_EQ(kept.back(), 20);
  a.outliers.strategy = canaryconfig::OutlierStrategy::kKeep;
  EXPECT_EQ(Preprocess(v, a).size(), 21u);
}

TEST(DescribeTest, SampleStatistics) {
  const DescriptiveStats s = Describe(std::vector<double>{2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_EQ(s.mean, 5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(32.0 / 7));  // n - 1
  EXPECT_EQ(s.count, 8);
  const DescriptiveStats empty = Describe({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.mean, 0);
  EXPECT_EQ(Describe(std::vector<double>{3}).std, 0);
}

TEST(ClassifierTest, MeanInequality) {
  const std::vector<double> low = {1, 2}, high = {3, 4}, none;
  EXPECT_EQ(ClassifyMeanInequality(low, high, Direction::kEither), Classification::kHigh);
  EXPECT_EQ(ClassifyMeanInequality(low, high, Direction::kDecrease), Classification::kPass);
  EXPECT_EQ(ClassifyMeanInequality(high, low, Direction::kEither), Classification::kLow);
  EXPECT_EQ(ClassifyMeanInequality(none, low, Direction::kEither), Classification::kNodata);
}

}  // namespace
}  // namespace canaryd::judge
