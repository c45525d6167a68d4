#pragma once
// The api module's one way of answering with JSON (private to src/api).

#include <string>

#include "canaryd/server/http_server.h"

namespace canaryd::api {

/// `body` as application/json with `status`, keeping the connection as the client asked.
inline server::Response JsonResponse(const server::Request& req, boost::beast::http::status status,
                                     std::string body) {
  namespace http = boost::beast::http;
  server::Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(server::WantsKeepAlive(req));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace canaryd::api
