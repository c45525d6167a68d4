#include <canaryd/deliver/dispatcher.h>
#include <canaryd/deliver/signature.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace canaryd::deliver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::result;

DeliverMetrics::DeliverMetrics(MetricsRegistry& registry)
    : DeliverMetrics(registry,
                     registry.AddCounterFamily(
                         "canaryd_webhook_deliveries_total",
                         "Webhook delivery attempts by outcome: delivered (2xx), retried (a failed "
                         "attempt that will be retried), dropped (older than the maximum age)",
                         {"result"})) {}

DeliverMetrics::DeliverMetrics(MetricsRegistry& registry, Family<Counter>& deliveries)
    : delivered(deliveries.WithLabels({"delivered"})),
      retried(deliveries.WithLabels({"retried"})),
      dropped(deliveries.WithLabels({"dropped"})),
      queue_depth(registry.AddGauge("canaryd_webhook_queue_depth",
                                    "Webhook deliveries pending in the outbox")),
      corrupt_records(
          registry.AddCounter("canaryd_webhook_outbox_corrupt_records_total",
                              "Torn or corrupt outbox records truncated away at start-up")) {}

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool ValidToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool ValidHeaderValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool IsReservedHeader(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"x-canaryd-signature", "x-canaryd-delivery",
                                                   "x-canaryd-event",     "content-type",
                                                   "content-length",      "host",
                                                   "transfer-encoding",   "connection"};
  std::string lower(name);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return std::find(std::begin(kReserved), std::end(kReserved), lower) != std::end(kReserved);
}

struct AttemptOutcome {
  int status = 0;  // HTTP status, 0 if no response
  boost::system::error_code ec;
};

http::request<http::string_body> BuildRequest(Delivery d, const HttpUrl& url) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "canaryd-webhook/1");
  for (const auto& [name, value] : d.endpoint.headers) {
    req.set(name, value);
  }
  req.set(http::field::content_type, "application/json");
  req.set("X-Canaryd-Delivery", d.id);
  req.set("X-Canaryd-Event", d.event);
  req.set("X-Canaryd-Signature", ComputeSignature(d.endpoint.secret, d.body));
  req.keep_alive(false);
  req.body() = std::move(d.body);
  req.prepare_payload();
  return req;
}

template <typename Stream>
asio::awaitable<AttemptOutcome> Exchange(Stream& stream,
                                         const http::request<http::string_body>& req) {
  auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
  if (wec) {
    co_return AttemptOutcome{0, wec};
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the body is ignored; do not let a receiver make us buffer much
  auto [rdec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  if (rdec && !parser.is_header_done()) {
    co_return AttemptOutcome{0, rdec};
  }
  co_return AttemptOutcome{static_cast<int>(parser.get().result_int()), {}};
}

// One POST over a fresh connection (Connection: close). The stream's expiry bounds the whole
// attempt after name resolution: connect, TLS handshake, write and read.
asio::awaitable<AttemptOutcome> Post(Delivery d, HttpUrl url, std::chrono::milliseconds timeout,
                                     asio::ssl::context& tls) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, kUseTuple);
  if (rec) {
    co_return AttemptOutcome{0, rec};
  }
  const auto req = BuildRequest(std::move(d), url);
  boost::system::error_code ignored;
  if (!url.tls) {
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(results, kUseTuple);
    if (cec) {
      co_return AttemptOutcome{0, cec};
    }
    const AttemptOutcome out = co_await Exchange(stream, req);
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(timeout);
  auto [cec, ep] = co_await tcp.async_connect(results, kUseTuple);
  if (cec) {
    co_return AttemptOutcome{0, cec};
  }
  // SNI only for names (RFC 6066 forbids IP literals); the certificate is checked against the
  // URL's host either way.
  boost::system::error_code not_ip;
  asio::ip::make_address(url.host, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    co_return AttemptOutcome{0, boost::system::error_code(static_cast<int>(ERR_get_error()),
                                                          asio::error::get_ssl_category())};
  }
  boost::system::error_code vec;
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host), vec);
  if (vec) {
    co_return AttemptOutcome{0, vec};
  }
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kUseTuple);
  if (hec) {
    co_return AttemptOutcome{0, hec};
  }
  const AttemptOutcome out = co_await Exchange(stream, req);
  // The status is already known; a receiver that skips close_notify must not turn it into a
  // failure, so the shutdown's result is ignored.
  auto [sec] = co_await stream.async_shutdown(kUseTuple);
  (void)sec;
  co_return out;
}

std::string NewDeliveryId() {
  // 128 random bits, UUIDv4-shaped. Independent of the jitter seed so that ids stay unique even
  // when tests fix that seed.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }()};
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;
  lo = (lo & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

}  // namespace

result<HttpUrl> ParseHttpUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return DeliverErrc::kBadUrl;
  }
  std::string scheme(url.substr(0, scheme_end));
  for (char& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  HttpUrl out;
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return DeliverErrc::kUnsupportedScheme;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.front() == '?') {
    out.target.insert(0, "/");
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return DeliverErrc::kBadUrl;
  }
  out.host_header = std::string(authority);
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return DeliverErrc::kBadUrl;
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return DeliverErrc::kBadUrl;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (out.host.empty() || !ValidHeaderValue(url) ||
      url.find_first_of(" \t") != std::string_view::npos) {
    return DeliverErrc::kBadUrl;
  }
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0) {
      return DeliverErrc::kBadUrl;
    }
    out.port = std::string(port);
  }
  return out;
}

class DispatcherImpl {
 public:
  DispatcherImpl(DispatcherOptions options, const Clock& clock, DeliverMetrics& metrics,
                 std::unique_ptr<Outbox> outbox, asio::ssl::context tls)
      : options_(std::move(options)),
        clock_(clock),
        metrics_(metrics),
        outbox_(std::move(outbox)),
        tls_(std::move(tls)),
        rng_(options_.rng_seed != 0 ? options_.rng_seed : std::random_device{}()),
        wake_timer_(ioc_),
        drain_timer_(ioc_),
        work_(asio::make_work_guard(ioc_)) {
    for (Delivery& d : outbox_->Pending()) {
      lanes_[d.endpoint.url].queue.push_back(std::move(d));
    }
    UpdateDepth();
    thread_ = std::thread([this] { Run(); });
    RunDueWorkNow();
  }

  ~DispatcherImpl() {
    {
      std::lock_guard lock(enqueue_mu_);
      stopping_enqueue_ = true;
    }
    asio::post(ioc_, [this] { BeginShutdown(); });
    thread_.join();
  }

  result<std::string> Enqueue(const Endpoint& endpoint, std::string_view event, std::string body) {
    auto url = ParseHttpUrl(endpoint.url);
    if (!url) {
      return url.error();
    }
    if (!ValidToken(event)) {
      return DeliverErrc::kBadHeader;
    }
    for (const auto& [name, value] : endpoint.headers) {
      if (!ValidToken(name) || !ValidHeaderValue(value) || IsReservedHeader(name)) {
        return DeliverErrc::kBadHeader;
      }
    }
    Delivery d;
    d.id = NewDeliveryId();
    d.endpoint = endpoint;
    d.event = std::string(event);
    d.body = std::move(body);
    d.created_ms = clock_.NowMillis();
    // Held across append and post so the delivery thread sees one URL's deliveries in sequence
    // order even when several threads enqueue at once.
    std::lock_guard lock(enqueue_mu_);
    if (stopping_enqueue_) {
      return DeliverErrc::kShuttingDown;
    }
    auto stored = outbox_->Append(std::move(d));
    if (!stored) {
      return stored.error();
    }
    std::string id = stored->id;
    asio::post(ioc_, [this, dv = std::move(*stored)]() mutable {
      lanes_[dv.endpoint.url].queue.push_back(std::move(dv));
      UpdateDepth();
      Schedule();
    });
    return id;
  }

  void RunDueWorkNow() {
    asio::post(ioc_, [this] { Schedule(); });
  }

  size_t QueueDepth() const { return outbox_->PendingCount(); }

 private:
  struct Lane {
    std::deque<Delivery> queue;
    int64_t next_due_ms = 0;  // Clock time of the next attempt of queue.front()
    uint32_t failures = 0;    // failed attempts of queue.front()
    bool in_flight = false;
  };

  void Run() {
    // Handlers do not throw (attempt coroutines report through their completion handler); this
    // guards against a bug taking the process down silently.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("webhook dispatcher: unexpected exception: {}", e.what());
      }
    }
  }

  void UpdateDepth() { metrics_.queue_depth.Set(static_cast<double>(outbox_->PendingCount())); }

  void Finish(Lane& lane, Completion how) {
    const Delivery& d = lane.queue.front();
    if (auto r = outbox_->Complete(d.id, how); !r) {
      // Stays pending on disk: redelivered after a restart, which at-least-once allows.
      spdlog::error("webhook {}: cannot record completion: {}", d.id, r.error().message());
    }
    lane.queue.pop_front();
    lane.failures = 0;
    lane.next_due_ms = 0;
    UpdateDepth();
  }

  // Drops expired deliveries, starts due attempts, and arms the timer for the earliest future one.
  void Schedule() {
    if (stopping_) {
      return;
    }
    const int64_t now = clock_.NowMillis();
    int64_t earliest = INT64_MAX;
    for (auto& [url, lane] : lanes_) {
      if (lane.in_flight) {
        continue;
      }
      while (!lane.queue.empty() &&
             now - lane.queue.front().created_ms > options_.max_age.count()) {
        spdlog::warn("webhook {} to {}: dropped after {} failed attempts (older than max age)",
                     lane.queue.front().id, url, lane.failures);
        metrics_.dropped.Inc();
        Finish(lane, Completion::kDropped);
      }
      if (lane.queue.empty()) {
        continue;
      }
      if (lane.next_due_ms <= now) {
        StartAttempt(url, lane);
        if (!lane.in_flight) {  // the URL did not parse: StartAttempt postponed it
          earliest = std::min(earliest, lane.next_due_ms);
        }
      } else {
        // Also wake when the front delivery expires, so the drop is not late by a backoff.
        earliest = std::min({earliest, lane.next_due_ms,
                             lane.queue.front().created_ms + options_.max_age.count() + 1});
      }
    }
    std::erase_if(lanes_,
                  [](const auto& kv) { return kv.second.queue.empty() && !kv.second.in_flight; });
    if (earliest != INT64_MAX) {
      wake_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(earliest - now, 0)));
      wake_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          Schedule();
        }
      });
    }
  }

  void StartAttempt(const std::string& url, Lane& lane) {
    auto parsed = ParseHttpUrl(url);
    if (!parsed) {
      // Validated at enqueue; only a hand-edited outbox gets here. Keep it until max age.
      lane.next_due_ms = clock_.NowMillis() + options_.backoff_cap.count();
      return;
    }
    lane.in_flight = true;
    ++in_flight_;
    asio::co_spawn(
        ioc_, Post(lane.queue.front(), *parsed, options_.attempt_timeout, tls_),
        [this, url](std::exception_ptr ep, AttemptOutcome out) { OnAttemptDone(url, ep, out); });
  }

  void OnAttemptDone(const std::string& url, std::exception_ptr ep, const AttemptOutcome& out) {
    --in_flight_;
    Lane& lane = lanes_[url];
    lane.in_flight = false;
    if (lane.queue.empty()) {
      return;
    }
    const Delivery& d = lane.queue.front();
    if (!ep && out.status >= 200 && out.status < 300) {
      spdlog::debug("webhook {} to {}: delivered ({})", d.id, url, out.status);
      metrics_.delivered.Inc();
      Finish(lane, Completion::kDelivered);
    } else {
      ++lane.failures;
      metrics_.retried.Inc();
      const int64_t exp_ms = options_.backoff_base.count()
                             << std::min<uint32_t>(lane.failures - 1, 30);
      const int64_t ceiling = std::max<int64_t>(
          0, std::min<int64_t>(options_.backoff_cap.count(), exp_ms < 0 ? INT64_MAX : exp_ms));
      const int64_t delay = std::uniform_int_distribution<int64_t>(0, ceiling)(rng_);
      lane.next_due_ms = clock_.NowMillis() + delay;
      std::string why = ep       ? std::string("exception")
                        : out.ec ? out.ec.message()
                                 : "HTTP " + std::to_string(out.status);
      spdlog::warn("webhook {} to {}: attempt {} failed ({}), retrying in {} ms", d.id, url,
                   lane.failures, why, delay);
    }
    if (stopping_) {
      if (in_flight_ == 0) {
        ioc_.stop();
      }
      return;
    }
    Schedule();
  }

  void BeginShutdown() {
    stopping_ = true;
    wake_timer_.cancel();
    work_.reset();
    if (in_flight_ == 0) {
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(options_.drain_timeout);
    drain_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        spdlog::warn(
            "webhook dispatcher: {} attempts still in flight at shutdown; they stay "
            "pending in the outbox",
            in_flight_);
        ioc_.stop();
      }
    });
  }

  const DispatcherOptions options_;
  const Clock& clock_;
  DeliverMetrics& metrics_;
  std::unique_ptr<Outbox> outbox_;
  asio::ssl::context tls_;  // shared by all https attempts; only used on the delivery thread

  std::mutex enqueue_mu_;
  bool stopping_enqueue_ = false;  // guarded by enqueue_mu_

  // Delivery-thread state.
  std::mt19937_64 rng_;
  std::map<std::string, Lane> lanes_;
  int in_flight_ = 0;
  bool stopping_ = false;

  // Declared last so it is destroyed first: suspended attempt coroutines are destroyed with it
  // while the state above is still alive.
  asio::io_context ioc_;
  asio::steady_timer wake_timer_;
  asio::steady_timer drain_timer_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

result<std::unique_ptr<Dispatcher>> Dispatcher::Create(DispatcherOptions options,
                                                       const Clock& clock,
                                                       DeliverMetrics& metrics) {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1,
                  ec);
  if (!ec) {
    tls.set_verify_mode(asio::ssl::verify_peer, ec);
  }
  if (!ec) {
    if (options.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(options.ca_file.string(), ec);
    }
  }
  if (ec) {
    spdlog::error("webhook dispatcher: TLS setup (CA file '{}'): {}", options.ca_file.string(),
                  ec.message());
    return DeliverErrc::kTlsSetup;
  }
  auto outbox = Outbox::Open({options.data_dir, options.compaction_bytes});
  if (!outbox) {
    return outbox.error();
  }
  metrics.corrupt_records.Inc((*outbox)->corrupt_records());
  return std::unique_ptr<Dispatcher>(new Dispatcher(std::make_unique<DispatcherImpl>(
      std::move(options), clock, metrics, std::move(*outbox), std::move(tls))));
}

Dispatcher::Dispatcher(std::unique_ptr<DispatcherImpl> impl) : impl_(std::move(impl)) {}
Dispatcher::~Dispatcher() = default;

result<std::string> Dispatcher::Enqueue(const Endpoint& endpoint, std::string_view event,
                                        std::string body) {
  return impl_->Enqueue(endpoint, event, std::move(body));
}

void Dispatcher::RunDueWorkNow() { impl_->RunDueWorkNow(); }

size_t Dispatcher::QueueDepth() const { return impl_->QueueDepth(); }

}  // namespace canaryd::deliver
