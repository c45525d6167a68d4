#pragma once
// A small synchronous HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:port.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::testutil {

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool keep_alive = false;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  HttpResult Post(const std::string& target, std::string body,
                  const std::vector<std::pair<std::string, std::string>>& headers);
  HttpResult Get(const std::string& target);
  /// Sends raw bytes and reads one response (for malformed-HTTP tests).
  HttpResult Raw(std::string_view bytes);
  /// True if the server closed the connection after the last response.
  bool closed() const { return closed_; }

 private:
  HttpResult Exchange(std::string_view bytes);
  void Connect();

  uint16_t port_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::ip::tcp::socket> socket_;
  boost::beast::flat_buffer buffer_;
  bool closed_ = true;
};

/// Value of the sample `series` (exact text before the value, e.g.
/// `canaryd_remote_write_requests_total{code="204"}`) in a text exposition; NaN if absent.
double MetricValue(std::string_view exposition, std::string_view series);

}  // namespace canaryd::testutil
