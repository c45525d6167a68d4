#pragma once
// A webhook receiver for tests: a real HTTP(S) server on 127.0.0.1 that answers every POST with a
// configurable status and records each request (path, canaryd's headers, body, and whether the
// X-Canaryd-Signature verified with the path's secret). Header-only; link canaryd::deliver.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "canaryd/deliver/signature.h"

namespace canaryd::testutil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class WebhookReceiver {
 public:
  struct Request {
    std::string path, id, event, content_type, team, body;
    int answered = 0;
    bool signature_ok = false;
  };

  // With `tls`, the receiver speaks HTTPS with that server context.
  explicit WebhookReceiver(std::map<std::string, std::string> secrets, asio::ssl::context* tls = nullptr)
      : secrets_(std::move(secrets)), tls_(tls) {}
  ~WebhookReceiver() { Stop(); }

  void Start(unsigned short port = 0) {
    ioc_.restart();
    acceptor_.emplace(ioc_);
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_->open(ep.protocol());
    acceptor_->set_option(asio::socket_base::reuse_address(true));
    acceptor_->bind(ep);
    acceptor_->listen();
    port_ = acceptor_->local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  // After Stop, connections are refused.
  void Stop() {
    if (!thread_.joinable()) {
      return;
    }
    asio::post(ioc_, [this] {
      acceptor_->close();
      ioc_.stop();
    });
    thread_.join();
    acceptor_.reset();
  }

  unsigned short port() const { return port_; }
  std::string Url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  void SetStatus(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  std::vector<Request> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Bodies answered 2xx on `path`, in arrival order.
  std::vector<std::string> Delivered(const std::string& path) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : requests_) {
      if (r.path == path && r.answered / 100 == 2) {
        out.push_back(r.body);
      }
    }
    return out;
  }
  // Waits up to `d` for the next request (a bounded wait for an event, not a sleep for time).
  void WaitForRequest(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    const size_t n = requests_.size();
    cv_.wait_for(lock, d, [&] { return requests_.size() != n; });
  }

 private:
  void Accept() {
    acceptor_->async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) {
        return;
      }
      Serve(std::move(socket));
      Accept();
    });
  }

  void Serve(asio::ip::tcp::socket socket) {
    boost::system::error_code ec;
    if (tls_ == nullptr) {
      Handle(socket);
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      return;
    }
    asio::ssl::stream<asio::ip::tcp::socket&> stream(socket, *tls_);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      return;  // e.g. the client rejected our certificate
    }
    Handle(stream);
    stream.shutdown(ec);
  }

  template <typename Stream>
  void Handle(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(stream, buffer, req, ec);
    if (ec) {
      return;
    }
    Request r;
    r.path = std::string(req.target());
    r.id = std::string(req["X-Canaryd-Delivery"]);
    r.event = std::string(req["X-Canaryd-Event"]);
    r.content_type = std::string(req[http::field::content_type]);
    r.team = std::string(req["X-Team"]);
    r.body = req.body();
    auto secret = secrets_.find(r.path);
    r.signature_ok = secret != secrets_.end() &&
                     deliver::VerifySignature(secret->second, req.body(), req["X-Canaryd-Signature"]);
    int status = 0;
    {
      std::lock_guard lock(mu_);
      status = status_;
    }
    r.answered = status;
    {
      // Recorded before answering, so a test that sees the response also sees the request.
      std::lock_guard lock(mu_);
      requests_.push_back(r);
    }
    cv_.notify_all();
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    if (status != 204 && status != 304) {  // those must not have a body
      res.body() = "ok";
    }
    res.keep_alive(false);
    res.prepare_payload();
    http::write(stream, res, ec);
  }

  const std::map<std::string, std::string> secrets_;
  asio::ssl::context* const tls_;
  asio::io_context ioc_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  unsigned short port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 200;
  std::vector<Request> requests_;
};


}  // namespace canaryd::testutil
