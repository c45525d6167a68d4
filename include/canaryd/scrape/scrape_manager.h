#pragma once
// The embedded scraper: runs every target of every `scrape_configs` job on a schedule, the way
// Prometheus does, and appends what it scrapes to the same SampleSink as remote-write.
//
// Scheduling: each target is scraped at the wall-clock instants t with t mod interval == offset,
// where the offset is a fixed hash of the target (so targets of a job spread over the interval
// and keep their phase across restarts). A scrape that takes longer than the interval skips the
// instants it missed. Each scrape is bounded by scrape_timeout (connect, TLS, request and body).
// Connections are kept alive between scrapes.
//
// Targets come from static_configs and file_sd_configs. file_sd files are checked every second
// (and fully re-read every refresh_interval); a changed file replaces that file's targets. A file
// that cannot be read or parsed is logged and counted and its previous targets stay. A removed
// target gets Prometheus's end-of-run staleness: after two intervals plus 10 % (in case it comes
// back), stale markers for all its series, stamped at its next scrape instant.
//
// Threading: ScrapeOptions::threads threads run one io_context. Each target is a coroutine on its
// own strand, so a target's state needs no lock; parsing and the sink's Append happen on these
// threads. Target discovery runs on another strand; the target map is guarded by a mutex.
// Start/Stop are called from one controlling thread; Targets() is thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/ingest/sample_sink.h"
#include "canaryd/scrape/scrape_config.h"

namespace canaryd::scrape {

/// One target's state, as reported by GET /api/v1/targets.
struct TargetStatus {
  std::string job;
  std::string url;
  std::vector<std::pair<std::string, std::string>> labels;  // target labels (job, instance, ...)
  std::string health = "unknown";                           // "up", "down" or "unknown"
  std::string last_error;
  int64_t last_scrape_ms = 0;
  double last_scrape_duration_s = 0;
  size_t last_samples = 0;
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds timeout{0};
};

class ScrapeManager {
 public:
  /// `sink`, `clock` and `metrics` must outlive the manager.
  ScrapeManager(std::vector<ScrapeConfig> jobs, ScrapeOptions options, ingest::SampleSink& sink,
                const Clock& clock, MetricsRegistry& metrics);
  ~ScrapeManager();
  ScrapeManager(const ScrapeManager&) = delete;
  ScrapeManager& operator=(const ScrapeManager&) = delete;

  /// Loads each job's TLS settings, reads file_sd files and starts scraping. Start-up work:
  /// throws std::runtime_error naming the job and file when a TLS file cannot be loaded.
  void Start();
  /// Stops every scrape (in-flight ones are cancelled) and joins the threads. No stale markers are
  /// written: like Prometheus at shutdown, the series simply stop. Idempotent.
  void Stop();

  /// Every current target, sorted by job and URL.
  std::vector<TargetStatus> Targets() const;

  /// Scrapes completed (successful or not) since start, over all targets.
  uint64_t scrapes_completed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canaryd::scrape
