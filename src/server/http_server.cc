#include "canaryd/server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <limits>
#include <list>
#include <mutex>

namespace canaryd::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Largest spare body buffer a connection keeps between requests; larger ones are freed so idle
// connections do not pin memory.
constexpr size_t kMaxRetainedBody = 4 << 20;

// Connections that send bodies over kLargeBody get a read buffer of kLargeReadBuffer, so a body
// arrives in few large reads instead of many small ones.
constexpr uint64_t kLargeBody = 16 << 10;
constexpr size_t kLargeReadBuffer = 64 << 10;

}  // namespace

Response Handler::OnBodyTooLarge(RequestState& state) {
  (void)state;
  Response res{http::status::payload_too_large, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = "request body is over the limit of " + std::to_string(BodyLimit()) + " bytes\n";
  res.prepare_payload();
  return res;
}

bool WantsKeepAlive(const RequestHeader& req) {
  http::token_list connection(req[http::field::connection]);
  if (connection.exists("close")) {
    return false;
  }
  return req.version() >= 11 || connection.exists("keep-alive");
}

Response TextResponse(const RequestHeader& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(WantsKeepAlive(req));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

void Router::Add(http::verb method, std::string path, std::shared_ptr<Handler> handler) {
  routes_.push_back({method, std::move(path), std::move(handler)});
}

namespace {

// `pattern` segments are literal or `{name}`, which matches one non-empty segment.
bool PathMatches(std::string_view pattern, std::string_view path) {
  while (!pattern.empty() && !path.empty()) {
    const size_t pe = pattern.find('/', 1);
    const size_t te = path.find('/', 1);
    const std::string_view ps = pattern.substr(0, pe);
    const std::string_view ts = path.substr(0, te);
    const bool wildcard = ps.size() > 3 && ps[1] == '{' && ps.back() == '}';
    if (wildcard ? ts.size() < 2 : ps != ts) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = te == std::string_view::npos ? std::string_view() : path.substr(te);
  }
  return pattern.empty() && path.empty();
}

}  // namespace

Router::Match Router::Find(http::verb method, std::string_view target) const {
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  Match m;
  for (const auto& r : routes_) {
    if (r.path != path && !(r.path.find('{') != std::string::npos && PathMatches(r.path, path))) {
      continue;
    }
    if (r.method == method || (method == http::verb::head && r.method == http::verb::get)) {
      m.handler = r.handler.get();
      m.path = r.path;
      return m;
    }
    if (!m.allow.empty()) {
      m.allow += ", ";
    }
    m.allow += std::string(http::to_string(r.method));
  }
  return m;
}

struct HttpServer::Impl {
  // What shutdown needs to know about a live connection. Touched only on its own io_context.
  struct Connection {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;  // between a request's header and its response being written
  };
  struct Context {
    asio::io_context ioc{1};
    std::list<Connection> connections;
  };

  ServerOptions options;
  Router router;
  std::vector<std::unique_ptr<Context>> contexts;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> live{0};
  std::atomic<uint16_t> bound_port{0};
  size_t next_context = 0;

  Counter& connections_total;
  Counter& connections_rejected;
  Family<Counter>& http_requests;

  Impl(ServerOptions o, Router r, MetricsRegistry& metrics)
      : options(std::move(o)),
        router(std::move(r)),
        connections_total(
            metrics.AddCounter("canaryd_http_connections_total", "HTTP connections accepted.")),
        connections_rejected(metrics.AddCounter(
            "canaryd_http_connections_rejected_total",
            "HTTP connections closed at once because max_connections was reached.")),
        http_requests(metrics.AddCounterFamily("canaryd_http_requests_total",
                                               "HTTP requests by route and status code.",
                                               {"handler", "code"})) {
    metrics.AddCallback("canaryd_http_connections_active", "Open HTTP connections.",
                        [this] { return static_cast<double>(live.load()); });
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      Context& target = *contexts[next_context];
      next_context = (next_context + 1) % contexts.size();
      auto [ec, socket] = co_await acceptor->async_accept(target.ioc, kUseTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) {
          co_return;
        }
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      if (live.load() >= options.max_connections) {
        connections_rejected.Inc();
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      connections_total.Inc();
      live.fetch_add(1);
      asio::co_spawn(target.ioc, Session(target, beast::tcp_stream(std::move(socket))),
                     [this](const std::exception_ptr& e) {
                       live.fetch_sub(1);
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("http: connection ended by exception: {}", ex.what());
                         }
                       }
                     });
    }
  }

  asio::awaitable<void> Write(beast::tcp_stream& stream, Response& res, bool& keep_alive) {
    if (stopping) {
      keep_alive = false;
    }
    res.keep_alive(keep_alive && res.keep_alive());
    keep_alive = res.keep_alive();
    stream.expires_after(options.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, kUseTuple);
    if (ec) {
      keep_alive = false;
    }
  }

  void Count(std::string_view handler, http::status status) {
    // One map lookup per request: small next to reading and decoding a body.
    http_requests.WithLabels({handler, std::to_string(static_cast<unsigned>(status))}).Inc();
  }

  asio::awaitable<void> Session(Context& ctx, beast::tcp_stream stream) {
    auto conn = ctx.connections.insert(ctx.connections.end(), Connection{&stream, false});
    beast::flat_buffer buffer;
    std::string spare_body;
    bool keep_alive = true;
    while (keep_alive && !stopping) {
      std::optional<http::request_parser<http::string_body>> parser;
      parser.emplace();
      parser->header_limit(static_cast<uint32_t>(options.header_limit));
      // The route's own limit applies once it is known (after the header); until then Beast
      // must not reject a large Content-Length itself, so that the route can answer it.
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      parser->get().body() = std::move(spare_body);
      parser->get().body().clear();

      conn->busy = false;
      stream.expires_after(options.idle_timeout);
      auto [hec, header_bytes] =
          co_await http::async_read_header(stream, buffer, *parser, kUseTuple);
      conn->busy = true;
      (void)header_bytes;
      if (hec) {
        if (hec == http::error::header_limit) {
          Response res{http::status::request_header_fields_too_large, 11};
          res.set(http::field::content_type, "text/plain; charset=utf-8");
          res.body() = "request header over the limit of " + std::to_string(options.header_limit) +
                       " bytes\n";
          res.prepare_payload();
          keep_alive = false;
          co_await Write(stream, res, keep_alive);
        } else if (hec.category() == http::make_error_code(http::error::bad_method).category() &&
                   hec != http::error::end_of_stream && hec != http::error::partial_message) {
          Response res{http::status::bad_request, 11};
          res.set(http::field::content_type, "text/plain; charset=utf-8");
          res.body() = "malformed HTTP request: " + hec.message() + "\n";
          res.prepare_payload();
          keep_alive = false;
          co_await Write(stream, res, keep_alive);
        }
        break;
      }
      const RequestHeader& header = parser->get();
      keep_alive = WantsKeepAlive(header);
      const auto match = router.Find(header.method(), header.target());
      if (match.handler == nullptr) {
        Response res =
            match.allow.empty()
                ? TextResponse(header, http::status::not_found,
                               "no such endpoint: " + std::string(header.target()) + "\n")
                : TextResponse(header, http::status::method_not_allowed,
                               "method " + std::string(header.method_string()) +
                                   " not allowed; allowed: " + match.allow + "\n");
        if (!match.allow.empty()) {
          res.set(http::field::allow, match.allow);
        }
        Count("other", res.result());
        // Unless the (unread) body is empty, it would be parsed as the next request.
        if (!parser->is_done()) {
          keep_alive = false;
        }
        co_await Write(stream, res, keep_alive);
        continue;
      }
      RequestState state;
      if (auto early = match.handler->OnHeader(header, state)) {
        if (!parser->is_done()) {
          keep_alive = false;
        }
        Count(match.path, early->result());
        co_await Write(stream, *early, keep_alive);
        continue;
      }
      parser->body_limit(match.handler->BodyLimit());
      if (const auto length = parser->content_length(); length && *length > 0) {
        // Reuse the connection's body buffer, with headroom so that the next, slightly larger
        // body of a steady sender does not reallocate; and read large bodies in large chunks.
        if (*length <= match.handler->BodyLimit()) {
          auto& body = parser->get().body();
          if (body.capacity() < *length) {
            body.reserve(*length + *length / 4);
          }
        }
        if (*length > kLargeBody && buffer.capacity() < kLargeReadBuffer) {
          buffer.reserve(kLargeReadBuffer);
        }
      }
      stream.expires_after(options.read_timeout);
      auto [bec, bn] = co_await http::async_read(stream, buffer, *parser, kUseTuple);
      if (bec == http::error::body_limit) {
        Response res = match.handler->OnBodyTooLarge(state);
        keep_alive = false;
        Count(match.path, res.result());
        co_await Write(stream, res, keep_alive);
        break;
      }
      if (bec) {
        if (bec != beast::error::timeout && bec != http::error::end_of_stream &&
            bec != http::error::partial_message && bec != asio::error::operation_aborted) {
          Response res = TextResponse(header, http::status::bad_request,
                                      "malformed HTTP request body: " + bec.message() + "\n");
          keep_alive = false;
          co_await Write(stream, res, keep_alive);
        }
        break;
      }
      Request request = parser->release();
      Response res = match.handler->Handle(request, state);
      if (request.method() == http::verb::head) {
        res.body().clear();
      }
      Count(match.path, res.result());
      co_await Write(stream, res, keep_alive);
      state.hold.reset();
      if (request.body().capacity() <= kMaxRetainedBody) {
        spare_body = std::move(request.body());
      }
    }
    ctx.connections.erase(conn);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }
};

HttpServer::HttpServer(ServerOptions options, Router router, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), metrics)) {}

HttpServer::~HttpServer() {
  if (!impl_->threads.empty()) {
    Shutdown();
    Wait();
  }
}

Result<void> HttpServer::Start() {
  auto& impl = *impl_;
  unsigned n = impl.options.threads;
  if (n == 0) {
    n = std::max(1u, std::thread::hardware_concurrency());
  }
  for (unsigned i = 0; i < n; ++i) {
    impl.contexts.push_back(std::make_unique<Impl::Context>());
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl.options.address, ec);
  if (ec) {
    return ec;
  }
  tcp::endpoint endpoint(address, impl.options.port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl.contexts[0]->ioc);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return ec;
  }
  impl.bound_port = acceptor->local_endpoint().port();
  impl.acceptor = std::move(acceptor);
  asio::co_spawn(impl.contexts[0]->ioc, impl.Accept(), asio::detached);
  for (auto& ctx : impl.contexts) {
    impl.threads.emplace_back([c = ctx.get()] {
      auto guard = asio::make_work_guard(c->ioc);
      c->ioc.run();
    });
  }
  return {};
}

uint16_t HttpServer::port() const { return impl_->bound_port.load(); }
bool HttpServer::stopping() const { return impl_->stopping.load(); }
size_t HttpServer::thread_count() const { return impl_->contexts.size(); }

void HttpServer::Shutdown() {
  auto& impl = *impl_;
  if (impl.stopping.exchange(true) || impl.contexts.empty()) {
    return;
  }
  asio::post(impl.contexts[0]->ioc, [&impl] {
    boost::system::error_code ignored;
    impl.acceptor->close(ignored);
  });
  // Close connections that wait for a request; busy ones finish theirs and then close.
  for (auto& ctx : impl.contexts) {
    asio::post(ctx->ioc, [c = ctx.get()] {
      for (auto& conn : c->connections) {
        if (!conn.busy) {
          conn.stream->cancel();
        }
      }
    });
  }
  // A watchdog on the first context ends everything when all connections are gone or the grace
  // period is over.
  asio::co_spawn(
      impl.contexts[0]->ioc,
      [&impl]() -> asio::awaitable<void> {
        const auto deadline = std::chrono::steady_clock::now() + impl.options.shutdown_grace;
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (impl.live.load() > 0 && std::chrono::steady_clock::now() < deadline) {
          timer.expires_after(std::chrono::milliseconds(10));
          co_await timer.async_wait(kUseTuple);
        }
        if (impl.live.load() > 0) {
          spdlog::warn("http: {} connections still open after the shutdown grace period; closing",
                       impl.live.load());
        }
        for (auto& ctx : impl.contexts) {
          ctx->ioc.stop();
        }
      },
      asio::detached);
}

void HttpServer::Wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) {
      t.join();
    }
  }
  impl_->threads.clear();
}

}  // namespace canaryd::server
