#pragma once
// The running canaryd service, wired from a Config: metrics registry, series table, window store
// (the sample sink: scope selection and step windows), remote-write handler, HTTP server. `canaryd serve` runs one; tests run one in-process on port 0.

#include <memory>

#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/config/config.h"
#include "canaryd/series/series_table.h"
#include "canaryd/server/http_server.h"
#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/analysis/config_store.h"
#include "canaryd/app/webhook_notifier.h"
#include "canaryd/deliver/dispatcher.h"
#include "canaryd/scrape/scrape_manager.h"
#include "canaryd/window/window_store.h"

namespace canaryd::app {

/// Thread safety: Start/Shutdown/Wait from one controlling thread; accessors are thread-safe.
class Service {
 public:
  Service(config::Config config, const Clock& clock);
  ~Service();

  /// Binds and starts serving, then starts the scraper (if there are scrape_configs). Fails if
  /// the listen address cannot be bound; throws (start-up) if a scrape job's TLS files cannot be
  /// loaded.
  Result<void> Start();
  /// Stops scraping, then shuts the HTTP server down gracefully (see HttpServer); Wait() blocks
  /// until it is complete.
  void Shutdown();
  void Wait();
  /// Removes series idle for longer than series.retention; returns how many.
  size_t ExpireIdleSeries();
  /// Periodic work, to be called about once a second from one thread: closes the analysis steps
  /// that are due, judges the analysis intervals that are due and, every retention/4 (at most
  /// every minute), expires idle series.
  void Housekeeping();

  uint16_t port() const;
  const config::Config& config() const { return config_; }
  MetricsRegistry& metrics() { return metrics_; }
  series::SeriesTable& series_table() { return table_; }
  window::WindowStore& windows() { return windows_; }
  analysis::AnalysisManager& analyses() { return *analyses_; }
  analysis::ConfigStore& canary_configs() { return *configs_; }
  deliver::Dispatcher& webhooks() { return *dispatcher_; }
  server::HttpServer& http_server() { return *server_; }
  /// The embedded scraper; null when the config has no scrape_configs.
  scrape::ScrapeManager* scraper() { return scraper_.get(); }

 private:
  config::Config config_;
  const Clock& clock_;
  MetricsRegistry metrics_;
  series::SeriesTable table_;
  window::WindowStore windows_;
  std::unique_ptr<analysis::AnalysisManager> analyses_;
  std::unique_ptr<analysis::ConfigStore> configs_;
  std::unique_ptr<deliver::DeliverMetrics> deliver_metrics_;
  std::unique_ptr<deliver::Dispatcher> dispatcher_;
  std::unique_ptr<WebhookNotifier> notifier_;
  std::filesystem::path scratch_dir_;  // webhook outbox when there is no data_dir
  std::chrono::steady_clock::time_point last_expiry_;
  std::unique_ptr<ingest::RemoteWriteHandler> remote_write_;
  std::unique_ptr<scrape::ScrapeManager> scraper_;
  std::unique_ptr<server::HttpServer> server_;
};

}  // namespace canaryd::app
