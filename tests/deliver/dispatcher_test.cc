// The dispatcher against a real HTTP receiver on 127.0.0.1 that verifies every signature.
#include <canaryd/common/clock.h>
#include <canaryd/common/metrics.h>
#include <canaryd/deliver/dispatcher.h>
#include <canaryd/deliver/outbox.h>
#include <canaryd/deliver/signature.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_cert.h"
#include "webhook_receiver.h"

namespace canaryd::deliver {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Receiver = testutil::WebhookReceiver;

using testutil::MakeSelfSignedCert;
using testutil::TestCert;

// Collapses consecutive duplicates (at-least-once may repeat the delivery in flight).
std::vector<std::string> Dedup(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (out.empty() || out.back() != s) {
      out.push_back(s);
    }
  }
  return out;
}

std::vector<std::string> Bodies(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back("{\"n\":" + std::to_string(i) + "}");
  }
  return out;
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("canaryd_dispatcher_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.data_dir = dir_;
    options_.backoff_base = 100ms;
    options_.backoff_cap = 1s;
    options_.attempt_timeout = 2s;
    options_.max_age = 1h;
    options_.rng_seed = 7;
  }
  void TearDown() override {
    dispatcher_.reset();
    receiver_.Stop();
    fs::remove_all(dir_);
  }

  void StartDispatcher() {
    auto d = Dispatcher::Create(options_, clock_, metrics_);
    ASSERT_TRUE(d.has_value()) << d.error().message();
    dispatcher_ = std::move(*d);
  }

  Endpoint Ep(const std::string& path) {
    return {receiver_.Url(path), secrets_.at(path), {{"X-Team", "payments"}}};
  }

  // Moves the manual clock past any backoff and lets the dispatcher run, until pred() holds.
  bool Pump(const std::function<bool()>& pred, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) {
        return true;
      }
      clock_.Advance(options_.backoff_cap);
      dispatcher_->RunDueWorkNow();
      receiver_.WaitForRequest(20ms);
    }
    return pred();
  }

  const std::map<std::string, std::string> secrets_{{"/a", "secret-a"}, {"/b", "secret-b"}};
  fs::path dir_;
  DispatcherOptions options_;
  ManualClock clock_;
  MetricsRegistry registry_;
  DeliverMetrics metrics_{registry_};
  Receiver receiver_{secrets_};
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, DeliversSignedInOrderPerEndpoint) {
  receiver_.Start();
  StartDispatcher();
  const auto bodies = Bodies(10);
  std::vector<std::string> ids;
  for (const auto& body : bodies) {
    for (const char* path : {"/a", "/b"}) {
      auto id = dispatcher_->Enqueue(Ep(path), "analysis.interval", body);
      ASSERT_TRUE(id.has_value()) << id.error().message();
      ids.push_back(*id);
    }
  }
  ASSERT_TRUE(Pump([&] { return metrics_.delivered.Value() == 20; }));
  EXPECT_EQ(receiver_.Delivered("/a"), bodies);
  EXPECT_EQ(receiver_.Delivered("/b"), bodies);
  const auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 20u);
  std::vector<std::string> seen_ids;
  for (const auto& r : requests) {
    EXPECT_TRUE(r.signature_ok) << r.path << " " << r.body;
    EXPECT_EQ(r.event, "analysis.interval");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.team, "payments");
    seen_ids.push_back(r.id);
  }
  std::sort(ids.begin(), ids.end());
  std::sort(seen_ids.begin(), seen_ids.end());
  EXPECT_EQ(seen_ids, ids);
  EXPECT_EQ(dispatcher_->QueueDepth(), 0u);
  EXPECT_EQ(metrics_.queue_depth.Value(), 0.0);
  EXPECT_EQ(metrics_.retried.Value(), 0u);
  const std::string text = registry_.Render();
  EXPECT_NE(text.find("canaryd_webhook_deliveries_total{result=\"delivered\"} 20"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("canaryd_webhook_queue_depth 0"), std::string::npos) << text;
}

TEST_F(DispatcherTest, ReceiverDownThenFailingThenBackGetsEverythingInOrder) {
  receiver_.Start();
  const unsigned short port = receiver_.port();
  receiver_.Stop();  // connection refused from here on
  StartDispatcher();
  const auto bodies = Bodies(5);
  for (const auto& body : bodies) {
    ASSERT_TRUE(dispatcher_->Enqueue(Ep("/a"), "analysis.interval", body));
    ASSERT_TRUE(dispatcher_->Enqueue(Ep("/b"), "analysis.interval", body));
  }
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 6; }));
  EXPECT_EQ(metrics_.delivered.Value(), 0u);
  EXPECT_EQ(dispatcher_->QueueDepth(), 10u);

  receiver_.SetStatus(503);
  receiver_.Start(port);
  ASSERT_TRUE(Pump([&] { return receiver_.Requests().size() >= 4; }));
  EXPECT_EQ(metrics_.delivered.Value(), 0u);
  // Ordering: while /a's first delivery fails, nothing after it is attempted.
  for (const auto& r : receiver_.Requests()) {
    EXPECT_EQ(r.body, bodies[0]);
  }

  receiver_.SetStatus(200);
  ASSERT_TRUE(Pump([&] { return dispatcher_->QueueDepth() == 0; }));
  EXPECT_EQ(Dedup(receiver_.Delivered("/a")), bodies);
  EXPECT_EQ(Dedup(receiver_.Delivered("/b")), bodies);
  for (const auto& r : receiver_.Requests()) {
    EXPECT_TRUE(r.signature_ok);
  }
  EXPECT_GE(metrics_.delivered.Value(), 10u);
  EXPECT_EQ(metrics_.dropped.Value(), 0u);
}

TEST_F(DispatcherTest, ClientErrorsAreRetriedToo) {
  receiver_.SetStatus(404);
  receiver_.Start();
  StartDispatcher();
  ASSERT_TRUE(dispatcher_->Enqueue(Ep("/a"), "analysis.completed", "{}"));
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 2; }));
  receiver_.SetStatus(204);
  ASSERT_TRUE(Pump([&] { return metrics_.delivered.Value() == 1; }));
  EXPECT_EQ(dispatcher_->QueueDepth(), 0u);
}

TEST_F(DispatcherTest, MaxAgeDropsAndCounts) {
  options_.max_age = 30s;
  receiver_.SetStatus(503);
  receiver_.Start();
  StartDispatcher();
  ASSERT_TRUE(dispatcher_->Enqueue(Ep("/a"), "analysis.interval", "{\"old\":true}"));
  ASSERT_TRUE(Pump([&] { return metrics_.dropped.Value() == 1; }));
  EXPECT_GE(metrics_.retried.Value(), 1u);
  EXPECT_EQ(dispatcher_->QueueDepth(), 0u);
  // The lane is free again: the next delivery goes through.
  receiver_.SetStatus(200);
  ASSERT_TRUE(dispatcher_->Enqueue(Ep("/a"), "analysis.interval", "{\"new\":true}"));
  ASSERT_TRUE(Pump([&] { return metrics_.delivered.Value() == 1; }));
  EXPECT_EQ(receiver_.Delivered("/a"), std::vector<std::string>{"{\"new\":true}"});
  EXPECT_NE(registry_.Render().find("canaryd_webhook_deliveries_total{result=\"dropped\"} 1"),
            std::string::npos);
  // The drop is durable.
  dispatcher_.reset();
  auto box = Outbox::Open({dir_});
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->PendingCount(), 0u);
}

TEST_F(DispatcherTest, RestartResumesPendingDeliveries) {
  receiver_.SetStatus(503);
  receiver_.Start();
  StartDispatcher();
  const auto bodies = Bodies(3);
  std::vector<std::string> ids;
  for (const auto& body : bodies) {
    auto id = dispatcher_->Enqueue(Ep("/a"), "analysis.interval", body);
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 1; }));
  dispatcher_.reset();
  EXPECT_FALSE(dispatcher_);

  receiver_.SetStatus(200);
  StartDispatcher();
  EXPECT_EQ(dispatcher_->QueueDepth(), 3u);
  ASSERT_TRUE(Pump([&] { return dispatcher_->QueueDepth() == 0; }));
  EXPECT_EQ(Dedup(receiver_.Delivered("/a")), bodies);
  std::vector<std::string> delivered_ids;
  for (const auto& r : receiver_.Requests()) {
    EXPECT_TRUE(r.signature_ok);
    if (r.answered == 200 && (delivered_ids.empty() || delivered_ids.back() != r.id)) {
      delivered_ids.push_back(r.id);
    }
  }
  EXPECT_EQ(delivered_ids, ids);  // same ids as before the restart
}

TEST_F(DispatcherTest, ConcurrentEnqueuersKeepPerThreadOrder) {
  receiver_.Start();
  StartDispatcher();
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string body =
            "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        EXPECT_TRUE(dispatcher_->Enqueue(Ep("/a"), "analysis.interval", body));
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  ASSERT_TRUE(Pump([&] { return dispatcher_->QueueDepth() == 0; }));
  const auto got = receiver_.Delivered("/a");
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kEach));
  // Each enqueuer's deliveries arrive in the order it enqueued them.
  for (int t = 0; t < kThreads; ++t) {
    const std::string prefix = "{\"t\":" + std::to_string(t) + ",";
    int next = 0;
    for (const auto& body : got) {
      if (body.starts_with(prefix)) {
        EXPECT_EQ(body, prefix + "\"i\":" + std::to_string(next) + "}");
        ++next;
      }
    }
    EXPECT_EQ(next, kEach);
  }
}

// A listening socket that never accepts: connects complete (kernel backlog), requests are
// buffered, no response ever comes.
class BlackHole {
 public:
  BlackHole() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {}
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/a";
  }

 private:
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
};

TEST_F(DispatcherTest, AttemptTimeoutCountsAsFailure) {
  BlackHole hole;
  options_.attempt_timeout = 100ms;
  StartDispatcher();
  ASSERT_TRUE(dispatcher_->Enqueue({hole.Url(), "secret-a", {}}, "analysis.interval", "{}"));
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 2; }));
  EXPECT_EQ(metrics_.delivered.Value(), 0u);
  EXPECT_EQ(dispatcher_->QueueDepth(), 1u);
}

TEST_F(DispatcherTest, ShutdownWaitsForInFlightAttemptsOnlyUpToTheDrainTimeout) {
  BlackHole hole;
  options_.attempt_timeout = 60s;
  options_.drain_timeout = 200ms;
  StartDispatcher();
  // The attempt starts before the shutdown request is processed (both are posted, in order).
  ASSERT_TRUE(dispatcher_->Enqueue({hole.Url(), "secret-a", {}}, "analysis.interval", "{}"));
  const auto start = std::chrono::steady_clock::now();
  dispatcher_.reset();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 10s);
  auto box = Outbox::Open({dir_});
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->PendingCount(), 1u);  // left for the next start
}

class HttpsTest : public DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    const TestCert cert = MakeSelfSignedCert();
    server_tls_.use_certificate_chain(asio::buffer(cert.cert_pem));
    server_tls_.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    fs::create_directories(dir_);
    ca_file_ = dir_ / "ca.pem";
    std::ofstream(ca_file_) << cert.cert_pem;
    tls_receiver_.Start();
  }
  void TearDown() override {
    dispatcher_.reset();
    tls_receiver_.Stop();
    DispatcherTest::TearDown();
  }

  asio::ssl::context server_tls_{asio::ssl::context::tls_server};
  Receiver tls_receiver_{secrets_, &server_tls_};
  fs::path ca_file_;
};

TEST_F(HttpsTest, DeliversOverTlsWithConfiguredCa) {
  options_.ca_file = ca_file_;
  StartDispatcher();
  const std::string url = tls_receiver_.Url("/a");
  ASSERT_TRUE(url.starts_with("https://"));
  ASSERT_TRUE(dispatcher_->Enqueue({url, "secret-a", {{"X-Team", "payments"}}},
                                   "analysis.completed", "{\"verdict\":\"PASS\"}"));
  ASSERT_TRUE(Pump([&] { return metrics_.delivered.Value() == 1; }));
  const auto requests = tls_receiver_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].signature_ok);
  EXPECT_EQ(requests[0].event, "analysis.completed");
  EXPECT_EQ(requests[0].team, "payments");
}

TEST_F(HttpsTest, UntrustedCertificateFailsAndIsRetried) {
  // The system trust store does not know the test's self-signed certificate.
  StartDispatcher();
  ASSERT_TRUE(dispatcher_->Enqueue({tls_receiver_.Url("/a"), "secret-a", {}}, "e", "{}"));
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 2; }));
  EXPECT_EQ(metrics_.delivered.Value(), 0u);
  EXPECT_TRUE(tls_receiver_.Requests().empty());
}

TEST_F(HttpsTest, CertificateForAnotherHostIsRejected) {
  // Trusted CA, but the certificate names 127.0.0.1 and the URL says localhost.
  options_.ca_file = ca_file_;
  StartDispatcher();
  const std::string url = "https://localhost:" + std::to_string(tls_receiver_.port()) + "/a";
  ASSERT_TRUE(dispatcher_->Enqueue({url, "secret-a", {}}, "e", "{}"));
  ASSERT_TRUE(Pump([&] { return metrics_.retried.Value() >= 2; }));
  EXPECT_EQ(metrics_.delivered.Value(), 0u);
  EXPECT_TRUE(tls_receiver_.Requests().empty());
}

TEST_F(HttpsTest, MissingCaFileFailsCreate) {
  options_.ca_file = dir_ / "missing.pem";
  auto d = Dispatcher::Create(options_, clock_, metrics_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), make_error_code(DeliverErrc::kTlsSetup));
}

TEST_F(DispatcherTest, EnqueueValidation) {
  StartDispatcher();
  const Endpoint ok{"http://127.0.0.1:9/hook", "s", {}};
  EXPECT_EQ(dispatcher_->Enqueue({"ftp://example.com/hook", "s", {}}, "e", "{}").error(),
            make_error_code(DeliverErrc::kUnsupportedScheme));
  EXPECT_EQ(dispatcher_->Enqueue({"example.com/hook", "s", {}}, "e", "{}").error(),
            make_error_code(DeliverErrc::kBadUrl));
  EXPECT_EQ(dispatcher_->Enqueue({"http://:80/", "s", {}}, "e", "{}").error(),
            make_error_code(DeliverErrc::kBadUrl));
  EXPECT_EQ(dispatcher_->Enqueue(ok, "bad event\r\n", "{}").error(),
            make_error_code(DeliverErrc::kBadHeader));
  EXPECT_EQ(dispatcher_->Enqueue({ok.url, "s", {{"X-A", "v\r\nX-Injected: 1"}}}, "e", "{}").error(),
            make_error_code(DeliverErrc::kBadHeader));
  EXPECT_EQ(dispatcher_->Enqueue({ok.url, "s", {{"X-Canaryd-Signature", "x"}}}, "e", "{}").error(),
            make_error_code(DeliverErrc::kBadHeader));
  EXPECT_EQ(dispatcher_->QueueDepth(), 0u);
}

TEST(ParseHttpUrlTest, Forms) {
  auto u = ParseHttpUrl("http://example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  u = ParseHttpUrl("HTTP://10.0.0.1:8080/a/b?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/a/b?x=1");
  EXPECT_EQ(u->host_header, "10.0.0.1:8080");
  u = ParseHttpUrl("https://hooks.example.com/x");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, "443");
  u = ParseHttpUrl("http://[::1]:9000/h");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_FALSE(ParseHttpUrl("http://h:99999/"));
  EXPECT_FALSE(ParseHttpUrl("http://user@h/"));
  EXPECT_FALSE(ParseHttpUrl("ftp://h/"));
}

}  // namespace
}  // namespace canaryd::deliver
