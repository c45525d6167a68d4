#include "canaryd/window/step_eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "canaryd/window/step_ring.h"

namespace canaryd::window {
namespace {

using model::Sample;
using select::Aggregation;
using select::RangeFunction;

TEST(InstantValueTest, LatestSampleWithinLookbackInclusive) {
  const std::vector<Sample> s{{1000, 1}, {2000, 2}, {3000, 3}};
  double v = 0;
  EXPECT_FALSE(InstantValue(s, 999, 300'000, v));
  ASSERT_TRUE(InstantValue(s, 2000, 300'000, v));
  EXPECT_EQ(v, 2);  // a sample exactly at t counts
  ASSERT_TRUE(InstantValue(s, 2999, 300'000, v));
  EXPECT_EQ(v, 2);
  ASSERT_TRUE(InstantValue(s, 3000 + 300'000, 300'000, v));
  EXPECT_EQ(v, 3);  // 2.42: the left end of the lookback window is inclusive
  EXPECT_FALSE(InstantValue(s, 3001 + 300'000, 300'000, v));
}

TEST(InstantValueTest, StaleMarkerEndsTheSeries) {
  const std::vector<Sample> s{{1000, 1}, {2000, model::StaleNaN()}, {5000, 5}};
  double v = 0;
  EXPECT_TRUE(InstantValue(s, 1500, 300'000, v));
  EXPECT_FALSE(InstantValue(s, 2000, 300'000, v));
  EXPECT_FALSE(InstantValue(s, 4999, 300'000, v));
  ASSERT_TRUE(InstantValue(s, 5000, 300'000, v));
  EXPECT_EQ(v, 5);
  // An ordinary NaN is a value.
  const std::vector<Sample> n{{1000, std::nan("")}};
  ASSERT_TRUE(InstantValue(n, 1000, 300'000, v));
  EXPECT_TRUE(std::isnan(v));
}

TEST(RangeFunctionTest, RateExtrapolatesLikePrometheus) {
  // A counter growing 1/s sampled every 15 s, evaluated over [60 s, 120 s] with samples at
  // 60..120: no extrapolation needed at either end.
  std::vector<Sample> s;
  for (int64_t t = 0; t <= 120'000; t += 15'000) s.push_back({t, t / 1000.0});
  double v = 0;
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kRate, s, 120'000, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 1.0);
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIncrease, s, 120'000, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 60.0);
  // Window [67.5 s, 127.5 s]: samples 75..120 (sampled 45 s, 3 intervals of 15 s); start gap
  // 7.5 s < 16.5 s threshold -> extrapolate 7.5 s; end gap 7.5 s -> 7.5 s. 45 * 60/45 = 60.
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIncrease, s, 127'500, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 45.0 * (60.0 / 45.0));
}

TEST(RangeFunctionTest, CounterResetAddsThePreviousValue) {
  const std::vector<Sample> s{{0, 10}, {15'000, 20}, {30'000, 5}, {45'000, 15}, {60'000, 25}};
  double v = 0;
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIncrease, s, 60'000, 60'000, v));
  // 25 - 10 + 20 (reset) = 35 over 60 s sampled; start gap 0 but duration-to-zero limit:
  // first value 10, result 35 -> zero point 60*10/35 = 17.1 s before the first sample, more than
  // the 0 s gap, so no change. No extrapolation.
  EXPECT_DOUBLE_EQ(v, 35.0);
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIrate, s, 60'000, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 10.0 / 15.0);
  const std::vector<Sample> reset_last{{0, 10}, {15'000, 3}};
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIrate, reset_last, 15'000, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 3.0 / 15.0);  // irate after a reset uses the new value
}

TEST(RangeFunctionTest, ExtrapolationStopsAtZeroForCounters) {
  // A counter starting at 1 in a window that starts 50 s earlier: extrapolation to the start
  // is limited to where the counter would have been zero.
  const std::vector<Sample> s{{50'000, 1}, {60'000, 2}, {70'000, 3}};
  double v = 0;
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIncrease, s, 70'000, 70'000, v));
  // sampled 20 s, result 2, avg 10 s, threshold 11 s; start gap 50 s but zero point 20*1/2 = 10 s
  // < 11 -> extrapolate 10 s; end gap 0. 2 * 30/20 = 3.
  EXPECT_DOUBLE_EQ(v, 3.0);
}

TEST(RangeFunctionTest, RangeIsInclusiveAndSkipsStaleMarkers) {
  const std::vector<Sample> s{{0, 1}, {30'000, 2}, {45'000, model::StaleNaN()}, {60'000, 4}};
  double v = 0;
  ASSERT_TRUE(RangeFunctionValue(RangeFunction::kIncrease, s, 60'000, 60'000, v));
  EXPECT_DOUBLE_EQ(v, 3.0);  // 0 and 60 s both in [0, 60 s]; the marker is not a point
  EXPECT_FALSE(RangeFunctionValue(RangeFunction::kRate, s, 60'000, 29'000, v));  // one point
  const std::vector<Sample> same_time{{0, 1}};
  EXPECT_FALSE(RangeFunctionValue(RangeFunction::kIrate, same_time, 0, 10'000, v));
}

TEST(AggregatorTest, MatchesEngineArithmetic) {
  Aggregator sum(Aggregation::kSum), avg(Aggregation::kAvg), mn(Aggregation::kMin),
      mx(Aggregation::kMax), cnt(Aggregation::kCount);
  for (double v : {3.0, 1.0, 2.0}) {
    for (Aggregator* a : {&sum, &avg, &mn, &mx, &cnt}) a->Add(v);
  }
  EXPECT_EQ(sum.Result(), 6);
  EXPECT_DOUBLE_EQ(avg.Result(), 2);
  EXPECT_EQ(mn.Result(), 1);
  EXPECT_EQ(mx.Result(), 3);
  EXPECT_EQ(cnt.Result(), 3);
  Aggregator nan_min(Aggregation::kMin);
  nan_min.Add(std::nan(""));
  nan_min.Add(5);
  EXPECT_EQ(nan_min.Result(), 5);  // min/max replace a NaN
  Aggregator inf_avg(Aggregation::kAvg);
  inf_avg.Add(std::numeric_limits<double>::infinity());
  inf_avg.Add(1);
  EXPECT_TRUE(std::isinf(inf_avg.Result()));
}

TEST(BucketQuantileTest, InterpolatesLikeHistogramQuantile) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<Bucket> b{{kInf, 100}, {0.1, 50}, {0.5, 90}, {1, 100}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, b), 0.1);
  b = {{0.1, 50}, {0.5, 90}, {1, 100}, {kInf, 100}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.7, b), 0.1 + 0.4 * (20.0 / 40.0));
  b = {{0.1, 50}, {0.5, 90}, {1, 95}, {kInf, 100}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, b), 1.0);  // in the +Inf bucket: the last finite bound
  b = {{0.1, 0}, {kInf, 0}};
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, b)));  // no observations
  b = {{0.1, 5}, {1, 10}};
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, b)));  // no +Inf bucket
  b = {{0.1, 50}, {0.5, 40}, {kInf, 100}};         // non-monotonic counts are lifted
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, b), 0.1);
  b = {{0.1, 50}, {kInf, 100}};
  EXPECT_EQ(BucketQuantile(-1, b), -kInf);
  EXPECT_EQ(BucketQuantile(2, b), kInf);
}

TEST(StepRingTest, KeepsTheNewestStepsAndTheirStatistics) {
  StepRing ring(3);
  ring.Push(1);
  ring.Push(std::nan(""));
  ring.Push(5);
  EXPECT_EQ(ring.stats().count, 2u);
  EXPECT_DOUBLE_EQ(ring.stats().mean, 3);
  EXPECT_DOUBLE_EQ(ring.stats().Variance(), 8);
  EXPECT_EQ(ring.stats().min, 1);
  ring.Push(7);  // 1 leaves: the minimum is recomputed
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.stats().count, 2u);
  EXPECT_DOUBLE_EQ(ring.stats().mean, 6);
  EXPECT_EQ(ring.stats().min, 5);
  EXPECT_EQ(ring.stats().max, 7);
  std::vector<double> out;
  ring.CopyTo(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 5);
  EXPECT_EQ(out[2], 7);
}

TEST(StepRingTest, IncrementalStatisticsMatchAFreshComputation) {
  StepRing ring(50);
  uint64_t x = 12345;
  std::vector<double> all;
  for (int i = 0; i < 1000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const double v = static_cast<double>(x >> 40) / 1e3 + (i % 7 == 0 ? 1e6 : 0);
    ring.Push(v);
    all.push_back(v);
  }
  const std::vector<double> last(all.end() - 50, all.end());
  double mean = 0;
  for (double v : last) mean += v;
  mean /= 50;
  double m2 = 0;
  for (double v : last) m2 += (v - mean) * (v - mean);
  EXPECT_NEAR(ring.stats().mean, mean, 1e-9 * std::abs(mean));
  EXPECT_NEAR(ring.stats().Variance(), m2 / 49, 1e-7 * (m2 / 49));
  EXPECT_EQ(ring.stats().min, *std::min_element(last.begin(), last.end()));
  EXPECT_EQ(ring.stats().max, *std::max_element(last.begin(), last.end()));
}

}  // namespace
}  // namespace canaryd::window
