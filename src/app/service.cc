#include "canaryd/app/service.h"

#include "canaryd/api/analyses_api.h"
#include "canaryd/api/flagger_api.h"
#include "canaryd/api/kayenta_api.h"
#include "canaryd/api/targets_api.h"
#include "canaryd/ingest/remote_write_handler.h"
#include "canaryd/server/handlers.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <stdexcept>

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
  // Webhooks: the outbox lives in the data directory, so pending deliveries survive restarts;
  // without one, in a scratch directory that lasts as long as the process.
  std::filesystem::path outbox_dir;
  if (config_.data_dir.empty()) {
    char tmpl[] = "/tmp/canaryd-webhooks-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("cannot create a webhook outbox directory");
    scratch_dir_ = tmpl;
    outbox_dir = scratch_dir_;
  } else {
    outbox_dir = std::filesystem::path(config_.data_dir) / "webhooks";
  }
  deliver_metrics_ = std::make_unique<deliver::DeliverMetrics>(metrics_);
  deliver::DispatcherOptions delivery;
  delivery.data_dir = outbox_dir;
  delivery.max_age = config_.webhooks.max_age;
  delivery.ca_file = config_.webhooks.ca_file;
  delivery.backoff_base = config_.webhooks.backoff_base;
  delivery.backoff_cap = config_.webhooks.backoff_cap;
  auto dispatcher = deliver::Dispatcher::Create(delivery, clock_, *deliver_metrics_);
  if (!dispatcher) {
    throw std::runtime_error("webhook outbox " + outbox_dir.string() + ": " + dispatcher.error().message());
  }
  dispatcher_ = std::move(*dispatcher);
  const std::string base_url = !config_.external_url.empty()
                                   ? config_.external_url
                                   : "http://" + config_.server.address + ":" + std::to_string(config_.server.port);
  notifier_ = std::make_unique<WebhookNotifier>(*dispatcher_, base_url);
  analyses_ = std::make_unique<analysis::AnalysisManager>(windows_, clock_, metrics_,
                                                          config_.data_dir);
  analyses_->SetListener(notifier_.get());
  if (config_.data_dir.empty()) {
    spdlog::warn("no data_dir configured: analyses will not survive a restart");
  } else if (const size_t n = analyses_->Recover(); n > 0) {
    spdlog::info("recovered {} analyses from {}", n, config_.data_dir);
  }
  if (!config_.scrape_configs.empty()) {
    scrape::ScrapeOptions scrape_options = config_.scrape;
    scrape_options.user_agent = std::string("canaryd/") + CANARYD_VERSION;
    // Scraped samples go into the same sink as remote-write: analyses cannot tell them apart.
    scraper_ = std::make_unique<scrape::ScrapeManager>(config_.scrape_configs, scrape_options,
                                                       windows_, clock_, metrics_);
  }
  server::Router router;
  server::AddStandardRoutes(router, *remote_write_, metrics_,
                            [this] { return server_ != nullptr && !server_->stopping(); });
  configs_ = std::make_unique<analysis::ConfigStore>(clock_, config_.data_dir);
  api::AddAnalysesRoutes(router, *analyses_, *configs_);
  api::AddKayentaRoutes(router, *configs_, *analyses_);
  api::AddFlaggerRoutes(router, *configs_, *analyses_);
  api::AddTargetsRoutes(router, scraper_.get());
  server_ = std::make_unique<server::HttpServer>(config_.server, std::move(router), metrics_);
}

Service::~Service() {
  Shutdown();
  Wait();
  analyses_.reset();
  notifier_.reset();
  dispatcher_.reset();
  if (!scratch_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir_, ec);
  }
}

Result<void> Service::Start() {
  auto started = server_->Start();
  if (started && scraper_) {
    scraper_->Start();
  }
  return started;
}

void Service::Shutdown() {
  if (scraper_) {
    scraper_->Stop();
  }
  server_->Shutdown();
}
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
