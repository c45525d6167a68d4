#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <cmath>
#include <sstream>

namespace canaryd::testutil {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

HttpClient::HttpClient(uint16_t port) : port_(port) {}

void HttpClient::Connect() {
  socket_.emplace(ioc_);
  boost::system::error_code ec;
  socket_->connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ec);
  buffer_.clear();
  closed_ = static_cast<bool>(ec);
}

HttpResult HttpClient::Exchange(std::string_view bytes) {
  if (closed_) {
    Connect();
  }
  HttpResult result;
  if (closed_) {
    return result;
  }
  boost::system::error_code ec;
  boost::asio::write(*socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
  // A server may answer early (413/415) and close before reading everything: still read.
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(*socket_, buffer_, parser, ec);
  if (ec) {
    closed_ = true;
    return result;
  }
  auto res = parser.release();
  result.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    result.headers[name] = std::string(f.value());
  }
  result.body = std::move(res.body());
  result.keep_alive = res.keep_alive();
  if (!result.keep_alive) {
    socket_->close(ec);
    closed_ = true;
  }
  return result;
}

HttpResult HttpClient::Post(const std::string& target, std::string body,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [n, v] : headers) {
    req.set(n, v);
  }
  req.body() = std::move(body);
  req.prepare_payload();
  std::ostringstream os;
  os << req;
  return Exchange(os.str());
}

HttpResult HttpClient::Get(const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  std::ostringstream os;
  os << req;
  return Exchange(os.str());
}

HttpResult HttpClient::Raw(std::string_view bytes) { return Exchange(bytes); }

double MetricValue(std::string_view exposition, std::string_view series) {
  size_t pos = 0;
  while ((pos = exposition.find(series, pos)) != std::string_view::npos) {
    const bool line_start = pos == 0 || exposition[pos - 1] == '\n';
    const size_t after = pos + series.size();
    if (line_start && after < exposition.size() && exposition[after] == ' ') {
      return std::strtod(std::string(exposition.substr(after + 1, 40)).c_str(), nullptr);
    }
    pos = after;
  }
  return std::nan("");
}

}  // namespace canaryd::testutil
