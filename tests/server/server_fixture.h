#pragma once
// An in-process canaryd on a free loopback port, for end-to-end HTTP tests.

#include <gtest/gtest.h>

#include <memory>

#include "canaryd/app/service.h"
#include "canaryd/common/clock.h"
#include "http_client.h"
#include "remote_write_builders.h"

namespace canaryd::testing {

inline config::Config TestConfig() {
  config::Config cfg;
  cfg.server.address = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.threads = 2;
  cfg.log_level = "off";
  return cfg;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartService(config::Config cfg = TestConfig()) {
    service_ = std::make_unique<app::Service>(std::move(cfg), clock_);
    auto r = service_->Start();
    ASSERT_TRUE(r) << r.error().message();
  }
  void SetUp() override { StartService(); }
  void TearDown() override { service_.reset(); }

  testutil::HttpClient Client() { return testutil::HttpClient(service_->port()); }

  /// Current value of a metric series on /metrics (0 if absent).
  double Metric(const std::string& series) {
    auto client = Client();
    auto res = client.Get("/metrics");
    const double v = testutil::MetricValue(res.body, series);
    return std::isnan(v) ? 0 : v;
  }

  /// A valid snappy-compressed 1.0 request with `n` series.
  static std::string GoodV1Body(int n = 3) {
    return testutil::Snappy(testutil::Encode(testutil::RealisticV1(n, 1'700'000'000'000)));
  }
  static std::vector<std::pair<std::string, std::string>> V1Headers() {
    return {{"Content-Type", "application/x-protobuf"},
            {"Content-Encoding", "snappy"},
            {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  }
  static std::vector<std::pair<std::string, std::string>> V2Headers() {
    return {{"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
            {"Content-Encoding", "snappy"},
            {"X-Prometheus-Remote-Write-Version", "2.0.0"}};
  }

  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<app::Service> service_;
};

}  // namespace canaryd::testing
