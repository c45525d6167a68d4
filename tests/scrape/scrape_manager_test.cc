// The scraper end to end on loopback: real HTTP targets (canaryd's own server with test
// handlers), real time at short intervals.

#include "canaryd/scrape/scrape_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "canaryd/common/clock.h"
#include "canaryd/server/http_server.h"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "gzip_for_tests.h"
#include "test_cert.h"
#include "recording_sink.h"

namespace canaryd::scrape {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using testing::Find;
using testing::RecordingSink;
using testing::Row;

using testing::Gzip;

// A /metrics target whose answer the test controls.
class FakeTarget {
 public:
  struct Behaviour {
    std::string body = "# TYPE demo_total counter\ndemo_total{code=\"200\"} 42\n";
    std::string content_type = "text/plain; version=0.0.4";
    bool gzip = false;
    int status = 200;
    std::chrono::milliseconds delay{0};
  };

  FakeTarget() {
    server::Router router;
    router.Add(http::verb::get, "/metrics", std::make_shared<Handler>(*this));
    server::ServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    opts.threads = 2;
    opts.shutdown_grace = 100ms;
    server_ = std::make_unique<server::HttpServer>(opts, std::move(router), metrics_);
    EXPECT_TRUE(server_->Start());
  }
  ~FakeTarget() {
    server_->Shutdown();
    server_->Wait();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  void Set(Behaviour b) {
    std::lock_guard lock(mu_);
    behaviour_ = std::move(b);
  }
  server::Request last_request() const {
    std::lock_guard lock(mu_);
    return last_;
  }
  int requests() const { return requests_.load(); }

 private:
  struct Handler final : server::Handler {
    explicit Handler(FakeTarget& t) : target(t) {}
    server::Response Handle(const server::Request& req, server::RequestState&) override {
      Behaviour b;
      {
        std::lock_guard lock(target.mu_);
        target.last_ = req;
        b = target.behaviour_;
      }
      target.requests_.fetch_add(1);
      if (b.delay.count() > 0) std::this_thread::sleep_for(b.delay);
      server::Response res{static_cast<http::status>(b.status), req.version()};
      res.set(http::field::content_type, b.content_type);
      if (b.gzip) {
        res.set(http::field::content_encoding, "gzip");
        res.body() = Gzip(b.body);
      } else {
        res.body() = b.body;
      }
      res.keep_alive(server::WantsKeepAlive(req));
      res.prepare_payload();
      return res;
    }
    FakeTarget& target;
  };

  MetricsRegistry metrics_;
  std::unique_ptr<server::HttpServer> server_;
  mutable std::mutex mu_;
  Behaviour behaviour_;
  server::Request last_;
  std::atomic<int> requests_{0};
};

ScrapeConfig Job(const std::string& name, std::vector<std::string> targets,
                 std::chrono::milliseconds interval = 100ms) {
  ScrapeConfig c;
  c.job_name = name;
  c.scrape_interval = interval;
  c.scrape_timeout = interval;
  c.static_configs.push_back(TargetGroup{std::move(targets), {{"track", "baseline"}}});
  return c;
}

// Polls `pred` for up to `limit`.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// The newest value appended for `series`, if any.
const Row* Newest(const RecordingSink& sink, const std::string& series, std::vector<Row>& keep) {
  keep.clear();
  for (const auto& b : sink.batches()) {
    for (const auto& r : b) {
      if (r.series == series) keep.push_back(r);
    }
  }
  return keep.empty() ? nullptr : &keep.back();
}

std::string Labels(const FakeTarget& t, const std::string& job) {
  return "{instance=\"" + t.address() + "\", job=\"" + job + "\", track=\"baseline\"}";
}

TEST(ScrapeManager, ScrapesOnScheduleWithPrometheusHeadersAndGzip) {
  FakeTarget target;
  FakeTarget::Behaviour b;
  b.gzip = true;
  target.Set(b);
  RecordingSink sink;
  MetricsRegistry metrics;
  auto job = Job("app", {target.address()});
  job.basic_auth = ScrapeConfig::BasicAuth{"user", "pass", ""};
  job.params["format"] = {"prometheus"};
  ScrapeOptions options;
  options.user_agent = "canaryd/test";
  ScrapeManager manager({job}, options, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] { return manager.scrapes_completed() >= 4; }));
  manager.Stop();

  std::vector<Row> rows;
  const Row* up = Newest(sink, "up" + Labels(target, "app"), rows);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->value, 1);
  const size_t ups = rows.size();
  const Row* v = Newest(sink, "demo_total{code=\"200\", instance=\"" + target.address() +
                                  "\", job=\"app\", track=\"baseline\"}",
                        rows);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->value, 42);
  EXPECT_EQ(rows.size(), ups);
  // Consecutive scrapes are one interval apart (on the target's fixed phase).
  ASSERT_GE(rows.size(), 3u);
  for (size_t i = 1; i < rows.size(); ++i) {
    // Scheduled 100 ms apart; a wake-up more than 2 ms late is stamped when it happened.
    const int64_t off = (rows[i].ts - rows[0].ts) % 100;
    EXPECT_LT(std::min(off, 100 - off) , 30) << "off the schedule: " << rows[i].ts;
    EXPECT_GE(rows[i].ts - rows[i - 1].ts, 70);
  }
  const auto req = target.last_request();
  EXPECT_EQ(req.target(), "/metrics?format=prometheus");
  EXPECT_EQ(req[http::field::accept_encoding], "gzip");
  EXPECT_NE(req[http::field::accept].find("application/openmetrics-text;version=1.0.0"),
            std::string::npos);
  EXPECT_EQ(req[http::field::user_agent], "canaryd/test");
  EXPECT_EQ(req["X-Prometheus-Scrape-Timeout-Seconds"], "0.1");
  EXPECT_EQ(req[http::field::authorization], "Basic dXNlcjpwYXNz");
  const auto targets = manager.Targets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].health, "up");
  EXPECT_EQ(targets[0].url, "http://" + target.address() + "/metrics?format=prometheus");
  EXPECT_NE(metrics.Render().find("canaryd_scrapes_total{job=\"app\",result=\"success\"}"),
            std::string::npos);
}

struct FailureCase {
  const char* name;
  FakeTarget::Behaviour behaviour;
  uint64_t body_size_limit;
  const char* result;  // canaryd_scrapes_total result label
  const char* error;   // part of the target's lastError
};

class ScrapeFailures : public ::testing::TestWithParam<FailureCase> {};

TEST_P(ScrapeFailures, FailTheScrapeWithAReason) {
  const FailureCase& c = GetParam();
  FakeTarget target;
  target.Set(c.behaviour);
  RecordingSink sink;
  MetricsRegistry metrics;
  auto job = Job("j", {target.address()}, 200ms);
  job.body_size_limit = c.body_size_limit;
  ScrapeManager manager({job}, {}, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] { return manager.scrapes_completed() >= 2; }));
  const auto targets = manager.Targets();
  manager.Stop();
  std::vector<Row> rows;
  const Row* up = Newest(sink, "up" + Labels(target, "j"), rows);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->value, 0);
  EXPECT_EQ(Newest(sink, "demo_total{code=\"200\", instance=\"" + target.address() +
                             "\", job=\"j\", track=\"baseline\"}",
                   rows),
            nullptr);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].health, "down");
  EXPECT_NE(targets[0].last_error.find(c.error), std::string::npos) << targets[0].last_error;
  const std::string metric =
      std::string("canaryd_scrapes_total{job=\"j\",result=\"") + c.result + "\"} ";
  const std::string text = metrics.Render();
  const auto at = text.find(metric);
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(text[at + metric.size()], '0') << metric;
}

FakeTarget::Behaviour With(int status, std::chrono::milliseconds delay, std::string body,
                           bool gzip = false, std::string type = "text/plain; version=0.0.4") {
  FakeTarget::Behaviour b;
  b.status = status;
  b.delay = delay;
  b.body = std::move(body);
  b.gzip = gzip;
  b.content_type = std::move(type);
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, ScrapeFailures,
    ::testing::Values(
        FailureCase{"status", With(503, 0ms, "busy"), 0, "http_status", "HTTP status 503"},
        FailureCase{"timeout", With(200, 400ms, "a 1\n"), 0, "timeout", "scrape_timeout"},
        FailureCase{"body", With(200, 0ms, std::string(5000, '#') + "\n"), 1000,
                    "body_size_limit", "body_size_limit"},
        FailureCase{"gzip_bomb", With(200, 0ms, std::string(1 << 20, '\n'), true), 100000,
                    "body_size_limit", "body_size_limit"},
        FailureCase{"parse", With(200, 0ms, "a{b=\"1\" 1\n"), 0, "parse_error", "line 1"},
        FailureCase{"openmetrics_no_eof",
                    With(200, 0ms, "a 1\n", false, "application/openmetrics-text; version=1.0.0"),
                    0, "parse_error", "EOF"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ScrapeManager, ConnectionRefusedIsUpZero) {
  // Bind and close a port so nothing listens on it.
  std::string address;
  {
    FakeTarget t;
    address = t.address();
  }
  RecordingSink sink;
  MetricsRegistry metrics;
  ScrapeManager manager({Job("j", {address})}, {}, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] { return manager.scrapes_completed() >= 1; }));
  const auto targets = manager.Targets();
  manager.Stop();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].health, "down");
  EXPECT_NE(targets[0].last_error.find("connect"), std::string::npos) << targets[0].last_error;
}

TEST(ScrapeManager, FileSdChangesTargetsAndStalesRemovedOnes) {
  FakeTarget a, b;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("canaryd-filesd-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& body) {
    const auto tmp = dir / "t.json.tmp";
    std::ofstream(tmp) << body;
    std::filesystem::rename(tmp, dir / "t.json");
  };
  write("[{\"targets\": [\"" + a.address() + "\"], \"labels\": {\"track\": \"baseline\"}}]");
  ScrapeConfig job;
  job.job_name = "sd";
  job.scrape_interval = 100ms;
  job.scrape_timeout = 100ms;
  job.file_sd_configs.push_back(FileSdConfig{{(dir / "*.json").string()}, std::chrono::minutes(5)});
  RecordingSink sink;
  MetricsRegistry metrics;
  ScrapeManager manager({job}, {}, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] { return a.requests() >= 2; }));
  EXPECT_EQ(b.requests(), 0);

  write("[{\"targets\": [\"" + b.address() + "\"], \"labels\": {\"track\": \"baseline\"}}]");
  ASSERT_TRUE(WaitFor([&] { return b.requests() >= 2; }, 4000ms));
  const std::string a_series = "demo_total{code=\"200\", instance=\"" + a.address() +
                               "\", job=\"sd\", track=\"baseline\"}";
  // End-of-run staleness: about two intervals plus 10 % after the removal.
  std::vector<Row> rows;
  ASSERT_TRUE(WaitFor([&] {
    const Row* r = Newest(sink, a_series, rows);
    return r != nullptr && r->stale;
  }));
  const Row* up_a = Newest(sink, "up" + Labels(a, "sd"), rows);
  ASSERT_NE(up_a, nullptr);
  EXPECT_TRUE(up_a->stale) << "report series are staled too";
  const int a_requests = a.requests();

  // A broken file keeps the previous targets and is counted.
  write("[{\"targets\": [\"" + b.address() + "\"], \"labels\": {\"bad-name\": \"x\"}}]");
  ASSERT_TRUE(WaitFor([&] {
    return metrics.Render().find("canaryd_scrape_sd_file_errors_total{job=\"sd\"} 1") !=
           std::string::npos;
  }, 4000ms));
  const auto targets = manager.Targets();
  manager.Stop();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].url, "http://" + b.address() + "/metrics");
  EXPECT_LE(a.requests(), a_requests + 1) << "a removed target is no longer scraped";
  std::filesystem::remove_all(dir);
}

// An https /metrics target with the test's self-signed certificate for 127.0.0.1.
class TlsTarget {
 public:
  TlsTarget() : tls_(boost::asio::ssl::context::tls_server) {
    const auto cert = testutil::MakeSelfSignedCert();
    tls_.use_certificate_chain(boost::asio::buffer(cert.cert_pem));
    tls_.use_private_key(boost::asio::buffer(cert.key_pem), boost::asio::ssl::context::pem);
    ca_file_ = std::filesystem::temp_directory_path() /
               ("canaryd-scrape-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file_) << cert.cert_pem;
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsTarget() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the blocking accept with a connection of our own.
    boost::asio::ip::tcp::socket s(ioc_);
    s.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    std::filesystem::remove(ca_file_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  std::string ca_file() const { return ca_file_.string(); }
  int handshakes() const { return handshakes_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(socket, tls_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the scraper rejected the certificate
      handshakes_.fetch_add(1);
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) continue;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = "secure_total 7\n";
      res.keep_alive(false);
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::filesystem::path ca_file_;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

struct TlsCase {
  const char* name;
  bool trust_ca;
  bool skip_verify;
  const char* server_name;
  const char* health;
};

class HttpsScrapes : public ::testing::TestWithParam<TlsCase> {};

TEST_P(HttpsScrapes, VerifyTheTargetsCertificate) {
  const TlsCase& c = GetParam();
  TlsTarget target;
  RecordingSink sink;
  MetricsRegistry metrics;
  auto job = Job("tls", {target.address()}, 200ms);
  job.scheme = "https";
  if (c.trust_ca) job.tls_config.ca_file = target.ca_file();
  job.tls_config.insecure_skip_verify = c.skip_verify;
  job.tls_config.server_name = c.server_name;
  ScrapeManager manager({job}, {}, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] { return manager.scrapes_completed() >= 2; }));
  const auto targets = manager.Targets();
  manager.Stop();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].health, c.health) << targets[0].last_error;
  std::vector<Row> rows;
  const Row* v = Newest(sink, "secure_total{instance=\"" + target.address() +
                                  "\", job=\"tls\", track=\"baseline\"}",
                        rows);
  if (std::string(c.health) == "up") {
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->value, 7);
  } else {
    EXPECT_EQ(v, nullptr);
    EXPECT_NE(targets[0].last_error.find("TLS handshake"), std::string::npos)
        << targets[0].last_error;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tls, HttpsScrapes,
    ::testing::Values(TlsCase{"trusted_ca", true, false, "", "up"},
                      TlsCase{"system_store_rejects_self_signed", false, false, "", "down"},
                      TlsCase{"wrong_server_name", true, false, "metrics.example.com", "down"},
                      TlsCase{"insecure_skip_verify", false, true, "", "up"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ScrapeManager, BearerTokenFromAFileIsReadAtEveryScrape) {
  FakeTarget target;
  const auto token = std::filesystem::temp_directory_path() /
                     ("canaryd-token-" + std::to_string(::getpid()));
  std::ofstream(token) << "first\n";
  RecordingSink sink;
  MetricsRegistry metrics;
  auto job = Job("auth", {target.address()});
  job.authorization = ScrapeConfig::Authorization{"Bearer", "", token.string()};
  ScrapeManager manager({job}, {}, sink, SystemClock::Instance(), metrics);
  manager.Start();
  ASSERT_TRUE(WaitFor([&] {
    return target.last_request()[http::field::authorization] == "Bearer first";
  }));
  std::ofstream(token) << "rotated";
  EXPECT_TRUE(WaitFor([&] {
    return target.last_request()[http::field::authorization] == "Bearer rotated";
  }));
  std::filesystem::remove(token);
  // An unreadable credentials file fails the scrape with the reason.
  ASSERT_TRUE(WaitFor([&] {
    const auto t = manager.Targets();
    return !t.empty() && t[0].health == "down";
  }));
  const auto targets = manager.Targets();
  manager.Stop();
  EXPECT_NE(targets[0].last_error.find("credentials_file"), std::string::npos)
      << targets[0].last_error;
}

}  // namespace
}  // namespace canaryd::scrape
