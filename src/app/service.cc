#include "canaryd/app/service.h"

#include "canaryd/ingest/remote_write_handler.h"
#include "canaryd/server/handlers.h"

#ifndef CANARYD_VERSION
#define CANARYD_VERSION "dev"
#endif

namespace canaryd::app {

Service::Service(config::Config config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), sink_(table_, clock_, metrics_) {
  metrics_
      .AddGaugeFamily("canaryd_build_info", "canaryd build information; value is 1.", {"version"})
      .WithLabels({CANARYD_VERSION})
      .Set(1);
  metrics_.AddProcessMetrics();
  remote_write_ =
      std::make_unique<ingest::RemoteWriteHandler>(config_.remote_write, sink_, clock_, metrics_);
  server::Router router;
  server::AddStandardRoutes(router, *remote_write_, metrics_,
                            [this] { return server_ != nullptr && !server_->stopping(); });
  server_ = std::make_unique<server::HttpServer>(config_.server, std::move(router), metrics_);
}

Service::~Service() {
  Shutdown();
  Wait();
}

Result<void> Service::Start() { return server_->Start(); }
void Service::Shutdown() { server_->Shutdown(); }
void Service::Wait() { server_->Wait(); }
uint16_t Service::port() const { return server_->port(); }
size_t Service::ExpireIdleSeries() { return sink_.ExpireIdle(config_.series_retention); }

}  // namespace canaryd::app
