// Prometheus's scrape semantics for one target, without sockets: labels, timestamps, staleness,
// report series, limits.

#include "canaryd/scrape/target.h"

#include <gtest/gtest.h>

#include <cmath>

#include "recording_sink.h"

namespace canaryd::scrape {
namespace {

using testing::Find;
using testing::RecordingSink;
using testing::Row;

constexpr int64_t kT0 = 1'700'000'000'000;

ScrapeConfig Job() {
  ScrapeConfig c;
  c.job_name = "node";
  c.scrape_interval = std::chrono::seconds(15);
  return c;
}

TargetSpec Spec(const ScrapeConfig& job, std::map<std::string, std::string> labels = {}) {
  TargetSpec spec;
  EXPECT_EQ(MakeTargetSpec(job, "10.0.0.1:9100", labels, spec), "");
  return spec;
}

ScrapeResponse Text(std::string_view body) {
  ScrapeResponse r;
  r.body = body;
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

TEST(MakeTargetSpec, AddressesLabelsAndUrl) {
  ScrapeConfig job = Job();
  job.params["module"] = {"http 2xx"};
  TargetSpec s;
  ASSERT_EQ(MakeTargetSpec(job, "example.com", {{"env", "prod"}, {"__hidden", "x"}}, s), "");
  EXPECT_EQ(s.Instance(), "example.com:80");
  EXPECT_EQ(s.Url(), "http://example.com:80/metrics?module=http+2xx");
  ASSERT_EQ(s.labels.size(), 3u);
  EXPECT_EQ(s.labels[0], (std::pair<std::string, std::string>{"env", "prod"}));
  EXPECT_EQ(s.labels[1], (std::pair<std::string, std::string>{"instance", "example.com:80"}));
  EXPECT_EQ(s.labels[2], (std::pair<std::string, std::string>{"job", "node"}));

  ASSERT_EQ(MakeTargetSpec(job, "[::1]:9100", {{"__scheme__", "https"}, {"__metrics_path__", "/m"},
                                               {"instance", "pod-1"}},
                           s),
            "");
  EXPECT_EQ(s.Url(), "https://[::1]:9100/m?module=http+2xx");
  EXPECT_EQ(s.labels[0].second, "pod-1");

  EXPECT_NE(MakeTargetSpec(job, "http://x:1/metrics", {}, s).find("not host:port"),
            std::string::npos);
  EXPECT_NE(MakeTargetSpec(job, "x:99999", {}, s).find("1 to 65535"), std::string::npos);
  EXPECT_NE(MakeTargetSpec(job, "::1", {}, s).find("[address]"), std::string::npos);
  EXPECT_NE(MakeTargetSpec(job, ":80", {}, s).find("no host"), std::string::npos);
  // The key separates targets that differ only in labels.
  TargetSpec a, b;
  MakeTargetSpec(job, "h:1", {{"x", "1"}}, a);
  MakeTargetSpec(job, "h:1", {{"x", "2"}}, b);
  EXPECT_NE(a.Key(), b.Key());
}

TEST(TargetScraper, LabelsTimestampsAndReportSeries) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job, {{"env", "prod"}}), job, sink);
  const auto report = t.Process(Text("# TYPE a counter\n"
                                     "a{path=\"/x\"} 3\n"
                                     "b 1.5 1699999990000\n"
                                     "c{empty=\"\"} 2\n"),
                                kT0, std::chrono::milliseconds(12));
  EXPECT_EQ(report.failure, ScrapeFailure::kNone);
  EXPECT_EQ(report.samples_scraped, 3u);
  EXPECT_EQ(report.series_added, 3u);
  const auto rows = sink.last();
  const Row* a = Find(rows, "a{env=\"prod\", instance=\"10.0.0.1:9100\", job=\"node\", path=\"/x\"}");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ts, kT0);
  EXPECT_EQ(a->value, 3);
  const Row* b = Find(rows, "b{env=\"prod\", instance=\"10.0.0.1:9100\", job=\"node\"}");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ts, 1699999990000);  // honor_timestamps
  ASSERT_NE(Find(rows, "c{env=\"prod\", instance=\"10.0.0.1:9100\", job=\"node\"}"), nullptr)
      << "an empty label value is an absent label";
  const std::string target = "{env=\"prod\", instance=\"10.0.0.1:9100\", job=\"node\"}";
  EXPECT_EQ(Find(rows, "up" + target)->value, 1);
  // The fetch's 12 ms plus the (short) processing of the body.
  EXPECT_GE(Find(rows, "scrape_duration_seconds" + target)->value, 0.012);
  EXPECT_LT(Find(rows, "scrape_duration_seconds" + target)->value, 0.5);
  EXPECT_GE(report.duration_s, 0.012);
  EXPECT_EQ(Find(rows, "scrape_samples_scraped" + target)->value, 3);
  EXPECT_EQ(Find(rows, "scrape_samples_post_metric_relabeling" + target)->value, 3);
  EXPECT_EQ(Find(rows, "scrape_series_added" + target)->value, 3);
  EXPECT_EQ(Find(rows, "up" + target)->ts, kT0);
  EXPECT_EQ(rows.size(), 8u);

  // The second scrape adds no series.
  t.Process(Text("a{path=\"/x\"} 4\nb 1.5 1699999990000\nc{empty=\"\"} 2\n"), kT0 + 15000,
            std::chrono::milliseconds(1));
  EXPECT_EQ(Find(sink.last(), "scrape_series_added" + target)->value, 0);
}

TEST(TargetScraper, HonorTimestampsFalseStampsScrapeTime) {
  RecordingSink sink;
  ScrapeConfig job = Job();
  job.honor_timestamps = false;
  TargetScraper t(Spec(job), job, sink);
  t.Process(Text("b 1 1600000000000\n"), kT0, {});
  EXPECT_EQ(Find(sink.last(), "b{instance=\"10.0.0.1:9100\", job=\"node\"}")->ts, kT0);
}

TEST(TargetScraper, ConflictingLabelsAreExported) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  t.Process(Text("m{job=\"app\",instance=\"pod-1\",exported_job=\"z\"} 1\n"), kT0, {});
  EXPECT_NE(Find(sink.last(), "m{exported_exported_job=\"app\", exported_instance=\"pod-1\", "
                              "exported_job=\"z\", instance=\"10.0.0.1:9100\", job=\"node\"}"),
            nullptr);

  ScrapeConfig honor = Job();
  honor.honor_labels = true;
  TargetScraper h(Spec(honor), honor, sink);
  h.Process(Text("m{job=\"app\"} 1\n"), kT0, {});
  EXPECT_NE(Find(sink.last(), "m{instance=\"10.0.0.1:9100\", job=\"app\"}"), nullptr);
}

TEST(TargetScraper, DisappearedSeriesGetStaleMarkers) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  t.Process(Text("a 1\nb 2\nc 3 1699999990000\n"), kT0, {});
  const auto report = t.Process(Text("a 1\n"), kT0 + 15000, {});
  EXPECT_EQ(report.stale_markers, 1u);  // b; c has its own timestamps, so it is not staled
  const auto rows = sink.last();
  const Row* b = Find(rows, "b{instance=\"10.0.0.1:9100\", job=\"node\"}");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->stale);
  EXPECT_EQ(b->ts, kT0 + 15000);
  EXPECT_EQ(Find(rows, "c{instance=\"10.0.0.1:9100\", job=\"node\"}"), nullptr);
  // Only once.
  t.Process(Text("a 1\n"), kT0 + 30000, {});
  EXPECT_EQ(Find(sink.last(), "b{instance=\"10.0.0.1:9100\", job=\"node\"}"), nullptr);
  // It may come back.
  t.Process(Text("a 1\nb 5\n"), kT0 + 45000, {});
  EXPECT_EQ(Find(sink.last(), "b{instance=\"10.0.0.1:9100\", job=\"node\"}")->value, 5);
}

TEST(TargetScraper, FailedScrapeIsAnEmptyScrape) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  t.Process(Text("a 1\nb 2\n"), kT0, {});
  ScrapeResponse down;
  down.failure = ScrapeFailure::kConnect;
  down.error = "connection refused";
  const auto report = t.Process(down, kT0 + 15000, std::chrono::milliseconds(3));
  EXPECT_EQ(report.failure, ScrapeFailure::kConnect);
  EXPECT_EQ(report.stale_markers, 2u);
  const auto rows = sink.last();
  const std::string target = "{instance=\"10.0.0.1:9100\", job=\"node\"}";
  EXPECT_EQ(Find(rows, "up" + target)->value, 0);
  EXPECT_EQ(Find(rows, "scrape_samples_scraped" + target)->value, 0);
  EXPECT_TRUE(Find(rows, "a" + target)->stale);
  EXPECT_TRUE(Find(rows, "b" + target)->stale);
  // A second failure has nothing left to stale.
  EXPECT_EQ(t.Process(down, kT0 + 30000, {}).stale_markers, 0u);
  // Recovery.
  t.Process(Text("a 7\n"), kT0 + 45000, {});
  EXPECT_EQ(Find(sink.last(), "up" + target)->value, 1);
  EXPECT_EQ(Find(sink.last(), "a" + target)->value, 7);
}

TEST(TargetScraper, ParseErrorRollsTheWholeScrapeBack) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  t.Process(Text("a 1\n"), kT0, {});
  const auto report = t.Process(Text("a 2\nb 3\nthis is not a sample\n"), kT0 + 15000, {});
  EXPECT_EQ(report.failure, ScrapeFailure::kParse);
  EXPECT_NE(report.error.find("line 3"), std::string::npos) << report.error;
  const auto rows = sink.last();
  const std::string target = "{instance=\"10.0.0.1:9100\", job=\"node\"}";
  EXPECT_TRUE(Find(rows, "a" + target)->stale) << "the valid lines before the error are dropped";
  EXPECT_EQ(Find(rows, "b" + target), nullptr);
  EXPECT_EQ(Find(rows, "up" + target)->value, 0);
}

TEST(TargetScraper, SampleLimitFailsTheScrape) {
  RecordingSink sink;
  ScrapeConfig job = Job();
  job.sample_limit = 2;
  TargetScraper t(Spec(job), job, sink);
  EXPECT_EQ(t.Process(Text("a 1\nb 2\n"), kT0, {}).failure, ScrapeFailure::kNone);
  const auto report = t.Process(Text("a 1\nb 2\nc 3\n"), kT0 + 15000, {});
  EXPECT_EQ(report.failure, ScrapeFailure::kSampleLimit);
  EXPECT_NE(report.error.find("sample_limit"), std::string::npos);
  const std::string target = "{instance=\"10.0.0.1:9100\", job=\"node\"}";
  EXPECT_EQ(Find(sink.last(), "up" + target)->value, 0);
  EXPECT_EQ(Find(sink.last(), "c" + target), nullptr);
}

TEST(TargetScraper, LabelLimits) {
  RecordingSink sink;
  ScrapeConfig job = Job();
  job.label_limit = 4;  // __name__, instance, job + 1
  TargetScraper t(Spec(job), job, sink);
  EXPECT_EQ(t.Process(Text("a{x=\"1\"} 1\n"), kT0, {}).failure, ScrapeFailure::kNone);
  EXPECT_EQ(t.Process(Text("a{x=\"1\",y=\"2\"} 1\n"), kT0 + 1, {}).failure,
            ScrapeFailure::kLabelLimit);
  ScrapeConfig len = Job();
  len.label_value_length_limit = 3;
  TargetScraper v(Spec(len), len, sink);
  const auto r = v.Process(Text("a{x=\"long\"} 1\n"), kT0, {});
  EXPECT_EQ(r.failure, ScrapeFailure::kLabelLimit);
  EXPECT_NE(r.error.find("label_value_length_limit"), std::string::npos);
  ScrapeConfig name = Job();
  name.label_name_length_limit = 8;
  TargetScraper n(Spec(name), name, sink);
  EXPECT_EQ(n.Process(Text("a{longlabelname=\"1\"} 1\n"), kT0, {}).failure,
            ScrapeFailure::kLabelLimit);
}

TEST(TargetScraper, DuplicateSeriesKeepTheFirstSample) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  const auto r = t.Process(Text("a 1\na 2\n"), kT0, {});
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(Find(sink.last(), "a{instance=\"10.0.0.1:9100\", job=\"node\"}")->value, 1);
}

TEST(TargetScraper, OpenMetricsTimestampsAreSeconds) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  ScrapeResponse r;
  r.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  r.body = "# TYPE a gauge\na 1 1699999990.5\n# EOF\n";
  ASSERT_EQ(t.Process(r, kT0, {}).failure, ScrapeFailure::kNone);
  EXPECT_EQ(Find(sink.last(), "a{instance=\"10.0.0.1:9100\", job=\"node\"}")->ts, 1699999990500);
  r.body = "# TYPE a gauge\na 1\n";  // no # EOF
  EXPECT_EQ(t.Process(r, kT0 + 1, {}).failure, ScrapeFailure::kParse);
}

TEST(TargetScraper, EndOfRunStalesEverythingIncludingReportSeries) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  t.EndOfRun(kT0);
  EXPECT_EQ(sink.size(), 0u) << "never scraped: nothing to stale";
  t.Process(Text("a 1\n"), kT0, {});
  t.EndOfRun(kT0 + 30000);
  const auto rows = sink.last();
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& r : rows) {
    EXPECT_TRUE(r.stale) << r.series;
    EXPECT_EQ(r.ts, kT0 + 30000);
  }
}

TEST(TargetScraper, ManySeriesChurnKeepsTheCacheBounded) {
  RecordingSink sink;
  const ScrapeConfig job = Job();
  TargetScraper t(Spec(job), job, sink);
  for (int round = 0; round < 5; ++round) {
    std::string body;
    for (int i = 0; i < 3000; ++i) {
      body += "m{round=\"" + std::to_string(round) + "\",i=\"" + std::to_string(i) + "\"} 1\n";
    }
    const auto r = t.Process(Text(body), kT0 + round * 15000, {});
    EXPECT_EQ(r.series_added, 3000u);
    EXPECT_EQ(r.stale_markers, round == 0 ? 0u : 3000u);
    EXPECT_EQ(t.active_series(), 3000u);
  }
}

}  // namespace
}  // namespace canaryd::scrape
