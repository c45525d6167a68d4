#include "canaryd/window/window_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <thread>

#include "canaryd/model/labels.h"
#include "http_client.h"
#include "series_batch_builder.h"

namespace canaryd::window {
namespace {

using Labels = testutil::Labels;
using BatchBuilder = testutil::SeriesBatchBuilder;
constexpr int64_t kT0 = 1'700'000'040'000;  // a minute boundary; ManualClock's default start + 40 s
constexpr int64_t kStep = 60'000;

std::string Key(Labels labels) { return testutil::LabelKeyOf(std::move(labels)); }

select::QueryPlan Plan(std::string_view q) {
  auto r = select::ParseQuery(q);
  EXPECT_TRUE(r) << q << ": " << (r ? "" : r.error().message);
  return *r;
}

MetricQueries Metric(std::string name, std::string_view control, std::string_view experiment) {
  return MetricQueries{std::move(name), Plan(control), Plan(experiment)};
}

class WindowStoreTest : public ::testing::Test {
 protected:
  WindowStoreTest() : clock_(kT0), store_(table_, clock_, metrics_, Options()) {}
  static WindowOptions Options() {
    WindowOptions o;
    o.lookback_delta_ms = 5 * 60'000;
    return o;
  }

  // Samples arrive when they are stamped, as from a live sender: the clock moves to the newest.
  void Send(const Labels& labels, std::vector<model::Sample> samples) {
    for (const auto& s : samples) {
      if (s.timestamp_ms > clock_.NowMillis()) clock_.SetMillis(s.timestamp_ms);
    }
    BatchBuilder b;
    b.Add(labels, std::move(samples));
    store_.Append(b.Build());
  }
  std::vector<model::MetricSetPair> Snap(AnalysisId id) {
    std::vector<model::MetricSetPair> out;
    EXPECT_TRUE(store_.Snapshot(id, out));
    return out;
  }
  double Counter(std::string_view series) {
    return testutil::MetricValue(metrics_.Render(), series);
  }
  AnalysisId GaugeAnalysis() {
    AnalysisWindowSpec spec;
    spec.metrics.push_back(Metric("cpu", "cpu{pod=~\"app-baseline.*\"}", "cpu{pod=~\"app-canary.*\"}"));
    spec.start_ms = kT0;
    spec.step_ms = kStep;
    return store_.AddAnalysis(std::move(spec));
  }

  ManualClock clock_;
  MetricsRegistry metrics_;
  series::SeriesTable table_;
  WindowStore store_;
};

TEST_F(WindowStoreTest, AveragesEachScopeAtEveryStep) {
  const AnalysisId id = GaugeAnalysis();
  for (int k = 0; k < 4; ++k) {
    const int64_t t = kT0 + k * kStep;
    Send({{"__name__", "cpu"}, {"pod", "app-baseline-1"}}, {{t, 1.0 + k}});
    Send({{"__name__", "cpu"}, {"pod", "app-baseline-2"}}, {{t, 3.0 + k}});
    Send({{"__name__", "cpu"}, {"pod", "app-canary-1"}}, {{t, 10.0 * (k + 1)}});
    Send({{"__name__", "cpu"}, {"pod", "other-1"}}, {{t, 1000}});
  }
  clock_.SetMillis(kT0 + 3 * kStep);
  // Newest sample at t3; allowance one step: t0..t2 close.
  EXPECT_EQ(store_.Tick(), 3u);
  const auto pairs = Snap(id);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].name, "cpu");
  EXPECT_TRUE(pairs[0].tags.empty());
  EXPECT_EQ(pairs[0].control, (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(pairs[0].experiment, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(pairs[0].start_time_millis, kT0);
  EXPECT_EQ(pairs[0].step_millis, kStep);
  const auto info = store_.Info(id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->control_series, 2u);
  EXPECT_EQ(info->experiment_series, 1u);
  EXPECT_EQ(info->steps_closed, 3u);
  EXPECT_EQ(Counter("canaryd_window_series_selected_total"), 3);
}

TEST_F(WindowStoreTest, LateSamplesWithinTheAllowanceCountAndLaterOnesDoNot) {
  const AnalysisId id = GaugeAnalysis();
  const Labels fast{{"__name__", "cpu"}, {"pod", "app-baseline-1"}};
  const Labels slow{{"__name__", "cpu"}, {"pod", "app-baseline-2"}};
  const Labels canary{{"__name__", "cpu"}, {"pod", "app-canary-1"}};
  Send(fast, {{kT0, 1}, {kT0 + kStep, 1}});
  Send(canary, {{kT0, 5}, {kT0 + kStep, 5}});
  // The slow pod's sample for t0 arrives after t1's samples, still within the allowance.
  Send(slow, {{kT0, 3}});
  Send(fast, {{kT0 + 2 * kStep, 1}});
  clock_.SetMillis(kT0 + 2 * kStep);
  EXPECT_EQ(store_.Tick(), 2u);  // t0 and t1
  auto pairs = Snap(id);
  EXPECT_EQ(pairs[0].control, (std::vector<double>{2, 2}));  // slow pod counted at t0 (and t1)
  // A sample for a step closed long ago, older than anything an open step reads, is dropped.
  const Labels late{{"__name__", "cpu"}, {"pod", "app-baseline-3"}};
  Send(late, {{kT0 - 10 * kStep, 100}});
  EXPECT_EQ(Counter("canaryd_window_samples_total{result=\"too_late\"}"), 1);
}

TEST_F(WindowStoreTest, OutOfOrderAndDuplicateSamplesAreDroppedAndCounted) {
  GaugeAnalysis();
  const Labels s{{"__name__", "cpu"}, {"pod", "app-canary-1"}};
  Send(s, {{kT0 + 2000, 1}, {kT0 + 1000, 2}, {kT0 + 2000, 3}, {kT0 + 3000, 4}});
  EXPECT_EQ(Counter("canaryd_window_samples_total{result=\"appended\"}"), 2);
  EXPECT_EQ(Counter("canaryd_window_samples_total{result=\"out_of_order\"}"), 1);
  EXPECT_EQ(Counter("canaryd_window_samples_total{result=\"duplicate\"}"), 1);
}

TEST_F(WindowStoreTest, StaleMarkerEndsASeriesAtTheNextSteps) {
  const AnalysisId id = GaugeAnalysis();
  const Labels b1{{"__name__", "cpu"}, {"pod", "app-baseline-1"}};
  const Labels b2{{"__name__", "cpu"}, {"pod", "app-baseline-2"}};
  Send(b1, {{kT0, 1}, {kT0 + kStep, 1}, {kT0 + 2 * kStep, 1}});
  Send(b2, {{kT0, 3}, {kT0 + kStep - 1, model::StaleNaN()}});
  clock_.SetMillis(kT0 + 2 * kStep);
  store_.Tick();
  const auto pairs = Snap(id);
  // Without the marker, b2's value would stay in the 5-minute lookback at t1.
  EXPECT_EQ(pairs[0].control, (std::vector<double>{2, 1}));
  EXPECT_TRUE(std::isnan(pairs[0].experiment[0]));
}

TEST_F(WindowStoreTest, NewAnalysisSelectsExistingSeriesWithoutReReadingSamples) {
  const Labels b{{"__name__", "cpu"}, {"pod", "app-baseline-1"}};
  const Labels c{{"__name__", "cpu"}, {"pod", "app-canary-1"}};
  const Labels unrelated{{"__name__", "mem"}, {"pod", "app-canary-1"}};
  const AnalysisId first = GaugeAnalysis();  // an analysis exists, so series get classified
  Send(b, {{kT0 - 30'000, 7}});
  Send(c, {{kT0 - 30'000, 8}});
  Send(unrelated, {{kT0 - 30'000, 9}});
  ASSERT_TRUE(store_.RemoveAnalysis(first));
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("mem", "mem{pod=~\"app-baseline.*\"}", "mem{pod=~\"app-canary.*\"}"));
  spec.metrics.push_back(Metric("cpu", "cpu{pod=~\"app-baseline.*\"}", "cpu{pod=~\"app-canary.*\"}"));
  spec.start_ms = kT0;
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  auto info = store_.Info(id);
  EXPECT_EQ(info->control_series, 1u);
  EXPECT_EQ(info->experiment_series, 2u);
  // Samples sent before the analysis started are not replayed: t0 has no value yet.
  Send(b, {{kT0 + kStep, 1}});
  Send(c, {{kT0 + kStep, 2}});
  Send(unrelated, {{kT0 + kStep, 3}});
  Send(b, {{kT0 + 2 * kStep, 1}});
  clock_.SetMillis(kT0 + 2 * kStep);
  store_.Tick();
  const auto pairs = Snap(id);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].name, "cpu");
  EXPECT_TRUE(std::isnan(pairs[1].control[0]));
  EXPECT_EQ(pairs[1].control[1], 1);
  EXPECT_EQ(pairs[0].experiment[1], 3);
  EXPECT_TRUE(store_.RemoveAnalysis(id));
  EXPECT_FALSE(store_.RemoveAnalysis(id));
  EXPECT_FALSE(store_.Info(id).has_value());
}

TEST_F(WindowStoreTest, GroupByPairsTagSetsAcrossScopes) {
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("rps", "sum by (route) (rps{pod=~\"b.*\"})", "sum by (route) (rps{pod=~\"c.*\"})"));
  spec.start_ms = kT0;
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  Send({{"__name__", "rps"}, {"pod", "b1"}, {"route", "/a"}}, {{kT0, 1}});
  Send({{"__name__", "rps"}, {"pod", "b2"}, {"route", "/a"}}, {{kT0, 2}});
  Send({{"__name__", "rps"}, {"pod", "c1"}, {"route", "/a"}}, {{kT0, 4}});
  Send({{"__name__", "rps"}, {"pod", "c1"}, {"route", "/b"}}, {{kT0, 8}});
  Send({{"__name__", "rps"}, {"pod", "c1"}}, {{kT0, 16}});  // no route: its own, untagged group
  store_.CloseThrough(id, kT0);
  const auto pairs = Snap(id);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_TRUE(pairs[0].tags.empty());
  EXPECT_TRUE(std::isnan(pairs[0].control[0]));
  EXPECT_EQ(pairs[0].experiment[0], 16);
  EXPECT_EQ(pairs[1].tags, (Labels{{"route", "/a"}}));
  EXPECT_EQ(pairs[1].control[0], 3);
  EXPECT_EQ(pairs[1].experiment[0], 4);
  EXPECT_EQ(pairs[2].tags, (Labels{{"route", "/b"}}));
  EXPECT_TRUE(std::isnan(pairs[2].control[0]));
}

TEST_F(WindowStoreTest, HistogramQuantileOverBucketRates) {
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("p50", "histogram_quantile(0.5, sum by (le) (rate(lat_bucket{pod=~\"b.*\"}[1m])))",
                                "histogram_quantile(0.5, sum by (le) (rate(lat_bucket{pod=~\"c.*\"}[1m])))"));
  spec.start_ms = kT0;
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  // Per 15 s: 10 observations <= 0.1, 20 <= 0.5, 20 <= +Inf (cumulative counts).
  for (const char* pod : {"b1", "c1"}) {
    const double scale = pod[0] == 'b' ? 1 : 3;
    for (auto [le, per] : std::vector<std::pair<const char*, double>>{{"0.1", 10}, {"0.5", 20}, {"+Inf", 20}}) {
      std::vector<model::Sample> s;
      for (int k = 0; k <= 4; ++k) s.push_back({kT0 - kStep + k * 15'000, per * k * (le[0] == '0' && le[2] == '1' ? scale : 1)});
      Send({{"__name__", "lat_bucket"}, {"pod", pod}, {"le", le}}, s);
    }
  }
  Send({{"__name__", "lat_bucket"}, {"pod", "b1"}, {"le", "bogus"}}, {{kT0, 1e9}});  // ignored
  store_.CloseThrough(id, kT0);
  const auto pairs = Snap(id);
  ASSERT_EQ(pairs.size(), 1u);
  // Baseline: rank 10 of 20 falls at the 0.1 bucket's count -> 0.1.
  EXPECT_DOUBLE_EQ(pairs[0].control[0], 0.1);
  // Canary: counts 30 (<=0.1), 20 lifted to 30 (<=0.5), 20 -> 30 (+Inf): rank 15 -> 0.1*15/30.
  EXPECT_DOUBLE_EQ(pairs[0].experiment[0], 0.05);
}

TEST_F(WindowStoreTest, QuietSeriesStillCloseStepsByTheWallClock) {
  const AnalysisId id = GaugeAnalysis();
  Send({{"__name__", "cpu"}, {"pod", "app-canary-1"}}, {{kT0, 1}});
  clock_.SetMillis(kT0 + kStep);
  EXPECT_EQ(store_.Tick(), 0u);  // t0 awaits late samples for one step
  clock_.SetMillis(kT0 + 3 * kStep);
  EXPECT_GE(store_.Tick(), 1u);
  const auto pairs = Snap(id);
  EXPECT_EQ(pairs[0].experiment[0], 1);
}

TEST_F(WindowStoreTest, SlidingLookbackKeepsOnlyItsLength) {
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("cpu", "cpu{pod=\"b\"}", "cpu{pod=\"c\"}"));
  spec.start_ms = kT0;
  spec.lookback = {Lookback::Mode::kSliding, 3 * kStep};
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  for (int k = 0; k < 10; ++k) {
    Send({{"__name__", "cpu"}, {"pod", "b"}}, {{kT0 + k * kStep, double(k)}});
  }
  store_.CloseThrough(id, kT0 + 9 * kStep);
  const auto pairs = Snap(id);
  EXPECT_EQ(pairs[0].control, (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(pairs[0].start_time_millis, kT0 + 7 * kStep);
  EXPECT_EQ(store_.Info(id)->ring_capacity, 3u);
}

TEST_F(WindowStoreTest, ExpiredSeriesLeaveTheTableAndComeBackAsNew) {
  const AnalysisId id = GaugeAnalysis();
  const Labels c{{"__name__", "cpu"}, {"pod", "app-canary-1"}};
  Send(c, {{kT0, 1}});
  store_.CloseThrough(id, kT0);
  clock_.Advance(std::chrono::minutes(20));
  EXPECT_EQ(store_.ExpireIdle(std::chrono::minutes(15)), 1u);
  EXPECT_EQ(table_.size(), 0u);
  Send(c, {{kT0 + kStep, 2}});  // same labels, new id, classified again
  EXPECT_EQ(table_.size(), 1u);
  store_.CloseThrough(id, kT0 + kStep);
  const auto pairs = Snap(id);
  EXPECT_EQ(pairs[0].experiment, (std::vector<double>{1, 2}));
  // Once its samples are out of range, the expired state is forgotten.
  store_.CloseThrough(id, kT0 + 10 * kStep);
  EXPECT_EQ(store_.Info(id)->experiment_series, 1u);
}

TEST_F(WindowStoreTest, NoDataGivesOneUntaggedPairOfNaNs) {
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("rps", "sum by (route) (rps{pod=\"b\"})", "sum by (route) (rps{pod=\"c\"})"));
  spec.start_ms = kT0;
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  store_.CloseThrough(id, kT0 + kStep);
  const auto pairs = Snap(id);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_TRUE(pairs[0].tags.empty());
  ASSERT_EQ(pairs[0].control.size(), 2u);
  EXPECT_TRUE(std::isnan(pairs[0].control[1]));
}

}  // namespace
}  // namespace canaryd::window

namespace canaryd::window {
namespace {

// Ingest threads append while another thread starts, ticks, snapshots and ends analyses, and
// series expire: run under the tsan preset this checks the locking; in any build it checks that
// nothing is lost or double counted for an analysis that lives through it all.
TEST(WindowStoreConcurrencyTest, AppendWhileAnalysesComeAndGo) {
  // The writers run at their own pace; a step closed while one of them lags by more than the
  // allowance would rightly miss its samples. The clock stays ten minutes behind the samples, so
  // they never move the watermark and only the final CloseThrough closes steps.
  ManualClock clock(kT0 - 600'000);
  MetricsRegistry metrics;
  series::SeriesTable table;
  WindowStore store(table, clock, metrics);
  AnalysisWindowSpec steady;
  steady.metrics.push_back(
      {"cpu", *select::ParseQuery("sum(cpu{pod=~\"b.*\"})"), *select::ParseQuery("sum(cpu{pod=~\"c.*\"})")});
  steady.start_ms = kT0;
  const AnalysisId id = store.AddAnalysis(steady);
  constexpr int kThreads = 3, kPodsPerThread = 20, kRounds = 40;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      std::vector<std::string> keys;
      for (int p = 0; p < kPodsPerThread; ++p) {
        for (const char* side : {"b", "c"}) {
          keys.push_back(Key({{"__name__", "cpu"}, {"pod", side + std::to_string(w * 100 + p)}}));
        }
      }
      model::SeriesBatch batch;
      for (int r = 0; r < kRounds; ++r) {
        batch.Clear();
        for (const std::string& key : keys) {
          const auto h = model::HashLabelKey128(key);
          batch.series.push_back({key, h.lo, h.hi, static_cast<uint32_t>(batch.samples.size()), 1});
          batch.samples.push_back({kT0 + r * 15'000, 1.0});
        }
        store.Append(batch);
      }
    });
  }
  std::thread churn([&] {
    std::vector<model::MetricSetPair> pairs;
    while (!done.load()) {
      AnalysisWindowSpec spec = steady;
      const AnalysisId extra = store.AddAnalysis(std::move(spec));
      store.Tick();
      store.Snapshot(extra, pairs);
      store.RemoveAnalysis(extra);
      store.ExpireIdle(std::chrono::hours(1));
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  churn.join();
  store.CloseThrough(id, kT0 + 9 * kStep);
  std::vector<model::MetricSetPair> pairs;
  ASSERT_TRUE(store.Snapshot(id, pairs));
  ASSERT_EQ(pairs.size(), 1u);
  // Every pod sent 1.0 at every step: the sums count each pod exactly once.
  for (size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(pairs[0].control[k], kThreads * kPodsPerThread) << k;
    EXPECT_EQ(pairs[0].experiment[k], kThreads * kPodsPerThread) << k;
  }
}

}  // namespace
}  // namespace canaryd::window

namespace canaryd::window {
namespace {

TEST_F(WindowStoreTest, BaselineOffsetEvaluatesTheControlEarlier) {
  AnalysisWindowSpec spec;
  spec.metrics.push_back(Metric("cpu", "cpu{pod=\"b\"}", "cpu{pod=\"c\"}"));
  spec.start_ms = kT0 + 10 * kStep;
  spec.control_offset_ms = 10 * kStep;  // compare the canary now with the baseline ten minutes ago
  const AnalysisId id = store_.AddAnalysis(std::move(spec));
  for (int k = 0; k <= 15; ++k) {
    Send({{"__name__", "cpu"}, {"pod", "b"}}, {{kT0 + k * kStep, double(k)}});
    Send({{"__name__", "cpu"}, {"pod", "c"}}, {{kT0 + k * kStep, 100.0 + k}});
  }
  store_.CloseThrough(id, kT0 + 12 * kStep);
  const auto pairs = Snap(id);
  EXPECT_EQ(pairs[0].control, (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(pairs[0].experiment, (std::vector<double>{110, 111, 112}));
}

}  // namespace
}  // namespace canaryd::window
