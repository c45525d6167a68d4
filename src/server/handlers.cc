#include "canaryd/server/handlers.h"

namespace canaryd::server {
namespace {

ingest::WriteRequestHeader ToWriteHeader(const RequestHeader& h) {
  ingest::WriteRequestHeader w;
  w.content_type = h[http::field::content_type];
  w.content_encoding = h[http::field::content_encoding];
  w.user_agent = h[http::field::user_agent];
  // Beast's parser validated Content-Length; chunked bodies have none.
  if (auto it = h.find(http::field::content_length); it != h.end()) {
    w.content_length = std::strtoull(std::string(it->value()).c_str(), nullptr, 10);
  }
  return w;
}

Response ToResponse(unsigned version, bool keep_alive, ingest::WriteResponse&& w) {
  Response res{static_cast<http::status>(w.status), version};
  res.keep_alive(keep_alive);
  for (auto& [name, value] : w.headers) {
    res.set(name, value);
  }
  if (!w.body.empty()) {
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(w.body);
  }
  res.prepare_payload();
  return res;
}

class RemoteWriteRoute final : public Handler {
 public:
  explicit RemoteWriteRoute(ingest::RemoteWriteHandler& h) : handler_(h) {}

  size_t BodyLimit() const override { return handler_.options().max_body_bytes; }

  std::optional<Response> OnHeader(const RequestHeader& header, RequestState& state) override {
    auto reservation = std::make_shared<ingest::InflightReservation>();
    if (auto early = handler_.Admit(ToWriteHeader(header), *reservation)) {
      return ToResponse(header.version(), WantsKeepAlive(header), std::move(*early));
    }
    state.hold = std::move(reservation);
    return std::nullopt;
  }

  Response Handle(const Request& request, RequestState& state) override {
    auto* reservation = static_cast<ingest::InflightReservation*>(state.hold.get());
    ingest::InflightReservation none;
    return ToResponse(request.version(), request.keep_alive(),
                      handler_.Handle(ToWriteHeader(request), request.body(),
                                      reservation != nullptr ? *reservation : none));
  }

  Response OnBodyTooLarge(RequestState& state) override {
    (void)state;
    return ToResponse(11, false, handler_.BodyTooLarge());
  }

 private:
  ingest::RemoteWriteHandler& handler_;
};

class FunctionRoute final : public Handler {
 public:
  explicit FunctionRoute(std::function<Response(const Request&)> fn) : fn_(std::move(fn)) {}
  size_t BodyLimit() const override { return 64 << 10; }
  Response Handle(const Request& request, RequestState& state) override {
    (void)state;
    return fn_(request);
  }

 private:
  std::function<Response(const Request&)> fn_;
};

}  // namespace

std::shared_ptr<Handler> MakeRemoteWriteHandler(ingest::RemoteWriteHandler& handler) {
  return std::make_shared<RemoteWriteRoute>(handler);
}

std::shared_ptr<Handler> MakeMetricsHandler(const MetricsRegistry& registry) {
  return std::make_shared<FunctionRoute>([&registry](const Request& req) {
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = registry.Render();
    res.prepare_payload();
    return res;
  });
}

std::shared_ptr<Handler> MakeHealthyHandler() {
  return std::make_shared<FunctionRoute>([](const Request& req) {
    return TextResponse(req, http::status::ok, "canaryd is Healthy.\n");
  });
}

std::shared_ptr<Handler> MakeReadyHandler(std::function<bool()> ready) {
  return std::make_shared<FunctionRoute>([ready = std::move(ready)](const Request& req) {
    return ready() ? TextResponse(req, http::status::ok, "canaryd is Ready.\n")
                   : TextResponse(req, http::status::service_unavailable,
                                  "canaryd is shutting down.\n");
  });
}

void AddStandardRoutes(Router& router, ingest::RemoteWriteHandler& remote_write,
                       const MetricsRegistry& registry, std::function<bool()> ready) {
  auto rw = MakeRemoteWriteHandler(remote_write);
  for (const char* path : {"/api/v1/write", "/api/v1/push", "/api/v1/receive"}) {
    router.Add(http::verb::post, path, rw);
  }
  router.Add(http::verb::get, "/metrics", MakeMetricsHandler(registry));
  router.Add(http::verb::get, "/-/healthy", MakeHealthyHandler());
  router.Add(http::verb::get, "/-/ready", MakeReadyHandler(std::move(ready)));
}

}  // namespace canaryd::server
