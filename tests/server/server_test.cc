#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <thread>

#include "server_fixture.h"

namespace canaryd::testing {
namespace {

using tcp = boost::asio::ip::tcp;

TEST_F(ServerTest, AcceptsV1WithKeepAliveAndNoWrittenHeaders) {
  auto client = Client();
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/api/v1/write", GoodV1Body(10), V1Headers());
    ASSERT_EQ(res.status, 204) << res.body;
    EXPECT_TRUE(res.keep_alive);
    EXPECT_FALSE(client.closed());
    // 1.0 responses carry no written-count headers (senders misread them).
    EXPECT_EQ(res.Header("x-prometheus-remote-write-samples-written"), "");
  }
  const auto metrics = client.Get("/metrics").body;  // same connection
  EXPECT_EQ(testutil::MetricValue(metrics, "canaryd_remote_write_samples_total"), 30);
  EXPECT_EQ(testutil::MetricValue(metrics, "canaryd_remote_write_requests_total{code=\"204\"}"), 3);
  EXPECT_EQ(testutil::MetricValue(metrics, "canaryd_http_connections_total"), 1);
  EXPECT_EQ(service_->series_table().size(), 10u);  // same series each time
}

TEST_F(ServerTest, AliasesAcceptRemoteWrite) {
  auto client = Client();
  EXPECT_EQ(client.Post("/api/v1/push", GoodV1Body(), V1Headers()).status, 204);
  EXPECT_EQ(client.Post("/api/v1/receive", GoodV1Body(), V1Headers()).status, 204);
}

TEST_F(ServerTest, MissingHeadersMeanV1Snappy) {
  auto client = Client();
  auto res = client.Post("/api/v1/write", GoodV1Body(2), {});
  EXPECT_EQ(res.status, 204) << res.body;
}

TEST_F(ServerTest, AcceptsIdentityAndZstd) {
  auto client = Client();
  const std::string raw = testutil::Encode(testutil::RealisticV1(3, 1'700'000'000'000));
  auto headers = V1Headers();
  headers[1].second = "identity";
  EXPECT_EQ(client.Post("/api/v1/write", raw, headers).status, 204);
  headers[1].second = "zstd";
  EXPECT_EQ(client.Post("/api/v1/write", testutil::Zstd(raw), headers).status, 204);
  EXPECT_EQ(Metric("canaryd_remote_write_bytes_total{encoding=\"zstd\"}") > 0, true);
}

TEST_F(ServerTest, V2ReportsWrittenCountsOnSuccessAndOnRejection) {
  testutil::V2Builder b;
  b.AddSeries({{"job", "x"}, {"__name__", "v2_metric"}}, {{1'700'000'000'000, 1}, {1'700'000'001'000, 2}});
  auto* ts = b.AddSeries({{"__name__", "v2_hist"}}, {});
  auto* h = ts->add_histograms();
  h->set_count_int(1);
  h->set_zero_count_int(1);
  h->set_sum(0.5);
  h->set_timestamp(1'700'000'000'000);
  auto* ex = b.request().mutable_timeseries(0)->add_exemplars();
  ex->add_labels_refs(b.Symbol("trace_id"));
  ex->add_labels_refs(b.Symbol("abc"));
  ex->set_value(1);
  ex->set_timestamp(1'700'000'000'000);
  auto client = Client();
  auto res = client.Post("/api/v1/write", testutil::Snappy(b.Encode()), V2Headers());
  ASSERT_EQ(res.status, 204) << res.body;
  EXPECT_EQ(res.Header("x-prometheus-remote-write-samples-written"), "2");
  EXPECT_EQ(res.Header("x-prometheus-remote-write-histograms-written"), "1");
  EXPECT_EQ(res.Header("x-prometheus-remote-write-exemplars-written"), "1");

  // One of four series has no name: 400, and the other three are written (compliance case).
  testutil::V2Builder p;
  p.AddSeries({{"__name__", "a"}}, {{1'700'000'000'000, 1}});
  p.AddSeries({{"__name__", "b"}}, {{1'700'000'000'000, 1}});
  p.AddSeries({{"job", "no_name"}}, {{1'700'000'000'000, 1}});
  p.AddSeries({{"__name__", "c"}}, {{1'700'000'000'000, 1}});
  res = client.Post("/api/v1/write", testutil::Snappy(p.Encode()), V2Headers());
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.Header("x-prometheus-remote-write-samples-written"), "3");
  EXPECT_EQ(res.Header("x-prometheus-remote-write-histograms-written"), "0");
  EXPECT_NE(res.body.find("job=\"no_name\""), std::string::npos) << res.body;
}

TEST_F(ServerTest, SameSeriesOverV1AndV2IsOneSeries) {
  auto client = Client();
  prometheus::WriteRequest v1;
  testutil::AddSeries(v1, {{"__name__", "m"}, {"a", "1"}, {"b", "2"}}, {{1'700'000'000'000, 1}});
  ASSERT_EQ(client.Post("/api/v1/write", testutil::Snappy(testutil::Encode(v1)), V1Headers()).status,
            204);
  testutil::V2Builder v2;
  v2.AddSeries({{"b", "2"}, {"__name__", "m"}, {"a", "1"}}, {{1'700'000'001'000, 1}});
  ASSERT_EQ(client.Post("/api/v1/write", testutil::Snappy(v2.Encode()), V2Headers()).status, 204);
  EXPECT_EQ(service_->series_table().size(), 1u);
}

TEST_F(ServerTest, AdminEndpoints) {
  auto client = Client();
  auto healthy = client.Get("/-/healthy");
  EXPECT_EQ(healthy.status, 200);
  auto ready = client.Get("/-/ready");
  EXPECT_EQ(ready.status, 200);
  ASSERT_EQ(client.Post("/api/v1/write", GoodV1Body(1), V1Headers()).status, 204);
  auto metrics = client.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.Header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* name :
       {"canaryd_remote_write_requests_total{code=\"204\"}", "canaryd_remote_write_samples_total",
        "canaryd_remote_write_series_rejected_total{reason=\"missing_name\"}",
        "canaryd_remote_write_bytes_total{encoding=\"snappy\"}", "canaryd_series_active",
        "canaryd_build_info{version=", "process_cpu_seconds_total",
        "process_resident_memory_bytes"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(testutil::MetricValue(metrics.body, "canaryd_series_active"), 1);
  EXPECT_GT(testutil::MetricValue(metrics.body, "process_resident_memory_bytes"), 1e6);
}

TEST_F(ServerTest, OverloadAnswers503WithRetryAfterThenRecovers) {
  auto cfg = TestConfig();
  cfg.remote_write.max_body_bytes = 1 << 20;
  cfg.remote_write.max_decoded_bytes = 1 << 20;
  cfg.remote_write.max_inflight_bytes = (1 << 20) + (1 << 19);
  service_.reset();
  StartService(cfg);

  // A request whose body is still arriving holds 1 MiB of the 1.5 MiB budget.
  boost::asio::io_context ioc;
  tcp::socket slow(ioc);
  slow.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), service_->port()));
  constexpr size_t kBody = 1 << 20;
  const std::string head =
      "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Encoding: identity\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n";
  boost::asio::write(slow, boost::asio::buffer(head));
  // Wait until the server has admitted the header (its in-flight gauge shows the reservation).
  for (int i = 0; i < 200 && Metric("canaryd_remote_write_inflight_bytes") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(Metric("canaryd_remote_write_inflight_bytes"), kBody);

  auto client = Client();
  auto res = client.Post("/api/v1/write", std::string(kBody, 'x'), V1Headers());
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.Header("retry-after"), "5");

  // Finish the slow request: a valid protobuf padded to exactly 1 MiB with an unknown field
  // (number 999, bytes), which the decoder must skip.
  const std::string raw = testutil::Encode(testutil::RealisticV1(50, 1'700'000'000'000));
  const auto varint = testutil::Varint;
  const std::string tag = "\xba\x3e";  // (999 << 3) | 2
  size_t pad = kBody - raw.size() - tag.size() - 3;  // a 3-byte length covers up to 2 MiB
  ASSERT_EQ(varint(pad).size(), 3u);
  const std::string full = raw + tag + varint(pad) + std::string(pad, 'p');
  ASSERT_EQ(full.size(), kBody);
  boost::asio::write(slow, boost::asio::buffer(full));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> slow_res;
  boost::beast::http::read(slow, buf, slow_res);
  EXPECT_EQ(slow_res.result_int(), 204u) << slow_res.body();
  EXPECT_EQ(Metric("canaryd_remote_write_inflight_bytes"), 0);

  EXPECT_EQ(client.Post("/api/v1/write", GoodV1Body(3), V1Headers()).status, 204);
  EXPECT_EQ(Metric("canaryd_remote_write_requests_total{code=\"503\"}"), 1);
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequest) {
  boost::asio::io_context ioc;
  tcp::socket busy(ioc);
  busy.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), service_->port()));
  const std::string body = GoodV1Body(20);
  std::string head = "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                     "Content-Encoding: snappy\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n";
  boost::asio::write(busy, boost::asio::buffer(head + body.substr(0, 10)));
  // An idle keep-alive connection, which shutdown closes.
  tcp::socket idle(ioc);
  idle.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), service_->port()));
  for (int i = 0; i < 200 && Metric("canaryd_http_connections_active") < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  service_->Shutdown();
  // The in-flight request still completes, with Connection: close.
  boost::asio::write(busy, boost::asio::buffer(body.substr(10)));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::system::error_code ec;
  boost::beast::http::read(busy, buf, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 204u);
  EXPECT_FALSE(res.keep_alive());
  // The idle connection is closed by the server.
  char byte;
  boost::asio::read(idle, boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof);
  service_->Wait();
  EXPECT_EQ(service_->series_table().size(), 20u);
  // New connections are refused.
  tcp::socket late(ioc);
  late.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), service_->port()), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, IdleConnectionsTimeOut) {
  auto cfg = TestConfig();
  cfg.server.idle_timeout = std::chrono::milliseconds(200);
  service_.reset();
  StartService(cfg);
  boost::asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), service_->port()));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code ec;
  boost::asio::read(s, boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, IdleSeriesExpireAfterRetention) {
  auto client = Client();
  ASSERT_EQ(client.Post("/api/v1/write", GoodV1Body(5), V1Headers()).status, 204);
  EXPECT_EQ(service_->ExpireIdleSeries(), 0u);
  clock_.Advance(std::chrono::minutes(16));
  EXPECT_EQ(service_->ExpireIdleSeries(), 5u);
  EXPECT_EQ(service_->series_table().size(), 0u);
  EXPECT_EQ(Metric("canaryd_series_expired_total"), 5);
}

TEST_F(ServerTest, ConcurrentSendersAllAccepted) {
  constexpr int kThreads = 4, kRequests = 50;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      testutil::HttpClient c(service_->port());
      for (int i = 0; i < kRequests; ++i) {
        const auto body = testutil::Snappy(
            testutil::Encode(testutil::RealisticV1(20, 1'700'000'000'000 + i, t * 1000)));
        ok += c.Post("/api/v1/write", body, V1Headers()).status == 204 ? 1 : 0;
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  EXPECT_EQ(Metric("canaryd_remote_write_samples_total"), kThreads * kRequests * 20);
}

}  // namespace
}  // namespace canaryd::testing
