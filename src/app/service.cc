#include "canaryd/app/service.h"

#include "canaryd/api/analyses_api.h"
#include "canaryd/api/flagger_api.h"
#include "canaryd/api/kayenta_api.h"
#include "canaryd/ingest/remote_write_handler.h"
#include "canaryd/server/handlers.h"

#include <spdlog/spdlog.h>

#ifndef CANARYD_VERSION
#define CANARYD_VERSION "dev"
#endif

namespace canaryd::app {

Service::Service(config::Config config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      windows_(table_, clock_, metrics_, config_.windows),
      last_expiry_(clock_.Monotonic()) {
  metrics_
      .AddGaugeFamily("canaryd_build_info", "canaryd build information; value is 1.", {"version"})
      .WithLabels({CANARYD_VERSION})
      .Set(1);
  metrics_.AddProcessMetrics();
  remote_write_ =
      std::make_unique<ingest::RemoteWriteHandler>(config_.remote_write, windows_, clock_, metrics_);
  analyses_ = std::make_unique<analysis::AnalysisManager>(windows_, clock_, metrics_,
                                                          config_.data_dir);
  if (config_.data_dir.empty()) {
    spdlog::warn("no data_dir configured: analyses will not survive a restart");
  } else if (const size_t n = analyses_->Recover(); n > 0) {
    spdlog::info("recovered {} analyses from {}", n, config_.data_dir);
  }
  server::Router router;
  server::AddStandardRoutes(router, *remote_write_, metrics_,
                            [this] { return server_ != nullptr && !server_->stopping(); });
  api::AddAnalysesRoutes(router, *analyses_);
  configs_ = std::make_unique<analysis::ConfigStore>(clock_, config_.data_dir);
  api::AddKayentaRoutes(router, *configs_, *analyses_);
  api::AddFlaggerRoutes(router, *configs_, *analyses_);
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
size_t Service::ExpireIdleSeries() { return windows_.ExpireIdle(config_.series_retention); }

void Service::Housekeeping() {
  windows_.Tick();
  analyses_->Tick();
  const auto sweep = std::min<std::chrono::steady_clock::duration>(
      std::chrono::minutes(1),
      std::max<std::chrono::steady_clock::duration>(std::chrono::seconds(1),
                                                    config_.series_retention / 4));
  const auto now = clock_.Monotonic();
  if (now - last_expiry_ >= sweep) {
    last_expiry_ = now;
    if (const size_t n = ExpireIdleSeries(); n > 0) {
      spdlog::debug("expired {} idle series", n);
    }
  }
}

}  // namespace canaryd::app
