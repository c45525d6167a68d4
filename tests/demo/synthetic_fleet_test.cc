#include "canaryd/demo/synthetic_fleet.h"

#include <gtest/gtest.h>

#include <set>

#include "exposition_lines.h"
#include "http_client.h"

namespace canaryd::demo {
namespace {

using testing::Line;
using testing::ParseLines;
using testing::Sum;

constexpr int64_t kT0 = 1'700'000'000'000;

TEST(RegressionTest, NamesRoundTrip) {
  for (Regression r :
       {Regression::kNone, Regression::kLatency, Regression::kErrors, Regression::kCpu}) {
    EXPECT_EQ(ParseRegression(RegressionName(r)), r);
  }
  EXPECT_EQ(ParseRegression("Latency"), std::nullopt);
  EXPECT_EQ(ParseRegression(""), std::nullopt);
}

TEST(SyntheticPodTest, ServesEveryFamilyInTheTextFormat) {
  ManualClock clock(kT0);
  SyntheticPod pod("demo-baseline-0", PodBehaviour{}, 1, clock);
  clock.Advance(std::chrono::seconds(5));
  const std::string text = pod.Scrape();
  const std::vector<Line> lines = ParseLines(text);
  std::set<std::string> names;
  for (const Line& l : lines) names.insert(l.name);
  EXPECT_EQ(names,
            (std::set<std::string>{
                "demo_http_requests_total", "demo_http_request_duration_seconds_bucket",
                "demo_http_request_duration_seconds_sum",
                "demo_http_request_duration_seconds_count", "demo_http_requests_in_flight",
                "process_cpu_seconds_total", "process_resident_memory_bytes", "demo_build_info"}))
      << text;
  // 2 routes x 4 codes; buckets plus +Inf; labels a real exporter would have.
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const Line& l) { return l.name == "demo_http_requests_total"; }),
            8);
  EXPECT_EQ(Sum(lines, "demo_http_request_duration_seconds_bucket", {{"le", "+Inf"}}),
            Sum(lines, "demo_http_request_duration_seconds_count"));
  EXPECT_EQ(Sum(lines, "demo_http_requests_total"),
            Sum(lines, "demo_http_request_duration_seconds_count"));
  EXPECT_EQ(Sum(lines, "demo_http_requests_total",
                {{"code", "200"}, {"method", "GET"}, {"route", "/api/items"}}) > 0,
            true);
  // ~200 requests per second for 5 s.
  EXPECT_NEAR(Sum(lines, "demo_http_request_duration_seconds_count"), 1000, 150);
  EXPECT_EQ(Sum(lines, "demo_build_info", {{"version", "1.4.2"}}), 1);
  // No pod or instance labels: the scraper's target labels say which pod it is.
  for (const Line& l : lines) {
    EXPECT_FALSE(l.labels.contains("pod")) << l.series;
    EXPECT_FALSE(l.labels.contains("instance")) << l.series;
  }
}

TEST(SyntheticPodTest, CountersAreMonotonicAndHistogramsCumulative) {
  ManualClock clock(kT0);
  SyntheticPod pod("demo-canary-1", CanaryBehaviour(Regression::kLatency), 42, clock);
  std::map<std::string, double> previous;
  for (int i = 0; i < 120; ++i) {
    // Irregular scrape times, and a repeated scrape with no time in between.
    clock.Advance(std::chrono::milliseconds(i % 7 == 0 ? 0 : 250 + 97 * (i % 13)));
    const std::vector<Line> lines = ParseLines(pod.Scrape());
    double last_bucket = 0;
    for (const Line& l : lines) {
      const bool counter = l.name.ends_with("_total") || l.name.ends_with("_bucket") ||
                           l.name.ends_with("_sum") || l.name.ends_with("_count");
      if (counter) {
        auto [it, inserted] = previous.emplace(l.series, l.value);
        if (!inserted) {
          EXPECT_GE(l.value, it->second) << l.series << " decreased at scrape " << i;
          it->second = l.value;
        }
        EXPECT_GE(l.value, 0) << l.series;
      }
      if (l.name == "demo_http_request_duration_seconds_bucket") {
        EXPECT_GE(l.value, last_bucket) << "buckets are cumulative: " << l.series;
        last_bucket = l.value;
      }
    }
  }
  EXPECT_EQ(pod.scrapes(), 120u);
}

TEST(SyntheticPodTest, SameSeedAndScrapeTimesGiveTheSameCounters) {
  ManualClock a(kT0), b(kT0);
  SyntheticPod pa("p", PodBehaviour{}, 7, a), pb("p", PodBehaviour{}, 7, b);
  for (int i = 0; i < 10; ++i) {
    a.Advance(std::chrono::seconds(1));
    b.Advance(std::chrono::seconds(1));
    ASSERT_EQ(pa.Scrape(), pb.Scrape());
  }
  SyntheticPod pc("p", PodBehaviour{}, 8, a);
  a.Advance(std::chrono::seconds(1));
  b.Advance(std::chrono::seconds(1));
  EXPECT_NE(pc.Scrape(), pb.Scrape());
}

TEST(CanaryBehaviourTest, EachRegressionChangesOneThing) {
  const PodBehaviour base;
  const PodBehaviour none = CanaryBehaviour(Regression::kNone);
  EXPECT_EQ(none.latency_median_seconds, base.latency_median_seconds);
  EXPECT_EQ(none.error_ratio, base.error_ratio);
  EXPECT_EQ(none.cpu_seconds_per_request, base.cpu_seconds_per_request);
  EXPECT_EQ(CanaryBehaviour(Regression::kLatency).latency_median_seconds,
            2 * base.latency_median_seconds);
  EXPECT_EQ(CanaryBehaviour(Regression::kLatency).error_ratio, base.error_ratio);
  EXPECT_EQ(CanaryBehaviour(Regression::kErrors).error_ratio, 0.08);
  EXPECT_EQ(CanaryBehaviour(Regression::kErrors).latency_median_seconds,
            base.latency_median_seconds);
  EXPECT_DOUBLE_EQ(CanaryBehaviour(Regression::kCpu).cpu_seconds_per_request,
                   1.6 * base.cpu_seconds_per_request);
  EXPECT_EQ(CanaryBehaviour(Regression::kCpu).error_ratio, base.error_ratio);
}

// What a minute of each pod looks like, from its own counters.
struct Observed {
  double requests = 0;
  double error_ratio = 0;
  double mean_latency = 0;
  double cpu_per_request = 0;
};

Observed Observe(SyntheticPod& pod, ManualClock& clock) {
  // Pods share the clock: measure the differences over this pod's minute.
  auto totals = [](const std::vector<Line>& lines) {
    return std::vector<double>{Sum(lines, "demo_http_request_duration_seconds_count"),
                               Sum(lines, "demo_http_requests_total", {{"code", "500"}}) +
                                   Sum(lines, "demo_http_requests_total", {{"code", "503"}}),
                               Sum(lines, "demo_http_request_duration_seconds_sum"),
                               Sum(lines, "process_cpu_seconds_total")};
  };
  const std::vector<double> before = totals(ParseLines(pod.Scrape()));
  for (int i = 0; i < 60; ++i) {
    clock.Advance(std::chrono::seconds(1));
    pod.Scrape();
  }
  const std::vector<double> after = totals(ParseLines(pod.Scrape()));
  Observed o;
  o.requests = after[0] - before[0];
  o.error_ratio = (after[1] - before[1]) / o.requests;
  o.mean_latency = (after[2] - before[2]) / o.requests;
  o.cpu_per_request = (after[3] - before[3]) / o.requests;
  return o;
}

class FleetRegressionTest : public ::testing::TestWithParam<Regression> {};

TEST_P(FleetRegressionTest, OnlyCanaryPodsRegress) {
  const Regression r = GetParam();
  ManualClock clock(kT0);
  SyntheticFleet fleet({.pods_per_track = 2, .regression = r, .seed = 3}, clock);
  ASSERT_EQ(fleet.size(), 4u);
  for (size_t i = 0; i < fleet.size(); ++i) {
    const bool canary = fleet.targets()[i].track == "canary";
    EXPECT_EQ(fleet.targets()[i].pod,
              std::string(canary ? "demo-canary-" : "demo-baseline-") + std::to_string(i % 2));
    EXPECT_EQ(fleet.pod(i).name(), fleet.targets()[i].pod);
    const Observed o = Observe(fleet.pod(i), clock);
    SCOPED_TRACE(fleet.targets()[i].pod + " with regression " + std::string(RegressionName(r)));
    EXPECT_NEAR(o.requests, 12000, 600);  // 200/s for a minute, Poisson
    const bool errors = canary && r == Regression::kErrors;
    const bool latency = canary && r == Regression::kLatency;
    const bool cpu = canary && r == Regression::kCpu;
    EXPECT_NEAR(o.error_ratio, errors ? 0.08 : 0.01, errors ? 0.01 : 0.004);
    // Log-normal mean: median x exp(sigma^2 / 2) = 0.0567 s (x2 with the latency regression).
    EXPECT_NEAR(o.mean_latency, latency ? 0.1133 : 0.0567, 0.003);
    // 0.0005 s per request plus 0.01 s/s idle over 200 requests/s = 0.00055 (x1.6).
    EXPECT_NEAR(o.cpu_per_request, cpu ? 0.00088 : 0.00055, 0.00003);
  }
}

INSTANTIATE_TEST_SUITE_P(All, FleetRegressionTest,
                         ::testing::Values(Regression::kNone, Regression::kLatency,
                                           Regression::kErrors, Regression::kCpu),
                         [](const auto& p) { return std::string(RegressionName(p.param)); });

TEST(SyntheticFleetTest, ServesMetricsOverHttpOnLoopbackPorts) {
  ManualClock clock(kT0);
  SyntheticFleet fleet({.regression = Regression::kErrors}, clock);
  ASSERT_TRUE(fleet.Start());
  ASSERT_EQ(fleet.targets().size(), 6u);
  std::set<std::string> addresses;
  for (const PodTarget& t : fleet.targets()) {
    ASSERT_TRUE(t.address.starts_with("127.0.0.1:")) << t.address;
    addresses.insert(t.address);
  }
  EXPECT_EQ(addresses.size(), 6u);

  clock.Advance(std::chrono::seconds(2));
  for (const PodTarget& t : fleet.targets()) {
    const auto port = static_cast<uint16_t>(std::stoi(t.address.substr(t.address.find(':') + 1)));
    testutil::HttpClient client(port);
    for (int i = 0; i < 2; ++i) {  // keep-alive: a second request on the same connection
      const testutil::HttpResult res = client.Get("/metrics");
      ASSERT_EQ(res.status, 200) << t.pod;
      EXPECT_EQ(res.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const std::vector<Line> lines = ParseLines(res.body);
      EXPECT_EQ(
          Sum(lines, "demo_build_info", {{"version", t.track == "canary" ? "1.5.0" : "1.4.2"}}), 1);
    }
    EXPECT_EQ(client.Get("/nope").status, 404);
  }
  EXPECT_EQ(fleet.scrapes_served(), 12u);

  const std::vector<scrape::TargetGroup> groups = fleet.TargetGroups();
  ASSERT_EQ(groups.size(), 6u);
  EXPECT_EQ(groups[0].targets, std::vector<std::string>{fleet.targets()[0].address});
  EXPECT_EQ(groups[0].labels,
            (std::map<std::string, std::string>{
                {"app", "demo"}, {"track", "baseline"}, {"pod", "demo-baseline-0"}}));
  EXPECT_EQ(groups[5].labels.at("pod"), "demo-canary-2");
  EXPECT_EQ(groups[5].labels.at("track"), "canary");

  fleet.Stop();
  fleet.Stop();  // idempotent
  EXPECT_EQ(testutil::HttpClient(static_cast<uint16_t>(std::stoi(groups[0].targets[0].substr(
                                     groups[0].targets[0].find(':') + 1))))
                .Get("/metrics")
                .status,
            0);
}

}  // namespace
}  // namespace canaryd::demo
