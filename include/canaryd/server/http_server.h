#pragma once
// canaryd's HTTP/1.1 server (Boost.Beast).
//
// Threading: `threads` io_contexts, each run by one thread. A connection lives its whole life on
// one io_context, so its state needs no locks and no strand; the acceptor runs on the first
// context and hands sockets out round-robin. Handlers run on the connection's thread and must
// not block for long (the remote-write handler decodes inline: it is CPU work, bounded by the
// body limit).
//
// Per request: the header is read with the idle timeout, then the route's Handler::OnHeader may
// answer at once (413, 415, 503, ...) without reading the body, then the body is read with the
// read timeout and the route's body limit, then Handler::Handle answers.
//
// Shutdown (Shutdown(), e.g. on SIGTERM): the acceptor closes, /-/ready turns 503, connections
// waiting for a request are closed, requests in progress finish and get their response (with
// "Connection: close"), and after the grace period anything left is cut.

#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "canaryd/common/error.h"
#include "canaryd/common/metrics.h"

namespace canaryd::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using RequestHeader = http::request_header<>;

/// Whatever a handler keeps from OnHeader until its response has been sent (e.g. a budget
/// reservation). Owned by the connection, one per request.
struct RequestState {
  std::shared_ptr<void> hold;
};

/// One route's behaviour. Thread safety: called concurrently from all server threads.
class Handler {
 public:
  virtual ~Handler() = default;
  /// Largest body this route reads; a larger one gets OnBodyTooLarge().
  virtual size_t BodyLimit() const { return 1 << 20; }
  /// Called when the header has arrived. A response returned here is sent without reading the
  /// body, and the connection is then closed (its unread body would otherwise be parsed as the
  /// next request).
  virtual std::optional<Response> OnHeader(const RequestHeader& header, RequestState& state) {
    (void)header;
    (void)state;
    return std::nullopt;
  }
  /// Called with the complete request.
  virtual Response Handle(const Request& request, RequestState& state) = 0;
  /// The answer when the body passes BodyLimit() while being read.
  virtual Response OnBodyTooLarge(RequestState& state);
};

/// Maps (method, path) to handlers. Paths match exactly, without the query string; a `{name}`
/// segment in a route (e.g. "/api/v1/analyses/{id}") matches any one non-empty segment, and the
/// handler reads it from the request target.
/// Not thread-safe to modify; immutable once the server starts.
class Router {
 public:
  void Add(http::verb method, std::string path, std::shared_ptr<Handler> handler);

  struct Match {
    Handler* handler = nullptr;  // nullptr: no route for this method (see allow)
    std::string allow;           // for 405: the methods the path does accept, "" if path unknown
    std::string_view path;       // the matched route's path (a metric label)
  };
  Match Find(http::verb method, std::string_view target) const;

 private:
  struct Route {
    http::verb method;
    std::string path;
    std::shared_ptr<Handler> handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 9464;  // 0 picks a free port (see HttpServer::port())
  unsigned threads = 0;  // 0: one per core
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(15)};
  size_t max_connections = 4096;
  size_t header_limit = 16 << 10;
};

/// Thread safety: Start, Shutdown and Wait may be called from any one controlling thread;
/// Shutdown is also safe to call from a handler.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router, MetricsRegistry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts the threads. Fails (with the system error) if the address cannot be bound.
  Result<void> Start();
  /// The bound port (useful with port 0).
  uint16_t port() const;
  /// Begins a graceful shutdown; returns at once.
  void Shutdown();
  /// Blocks until every thread has exited (after Shutdown and the grace period at most).
  void Wait();
  bool stopping() const;
  size_t thread_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whether the client asked to keep the connection open (HTTP/1.1 default, or keep-alive on 1.0).
bool WantsKeepAlive(const RequestHeader& req);

/// A plain-text response with the given status.
Response TextResponse(const RequestHeader& req, http::status status, std::string body);

}  // namespace canaryd::server
