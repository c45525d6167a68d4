#pragma once
// The webhook dispatcher: durable enqueue, asynchronous signed delivery with per-endpoint
// ordering, exponential backoff with full jitter, and a maximum age.
//
// Usage (from the analysis scheduler):
//   auto d = Dispatcher::Create({.data_dir = dir / "webhooks"}, SystemClock::Instance(), metrics);
//   if (!d) { ... }
//   auto id = (*d)->Enqueue(endpoint, "analysis.interval", json_body);  // on disk when it returns
//
// Semantics (docs/webhooks.md has the operator's view):
// - At-least-once: a delivery is removed from the outbox only after a 2xx answer (or max_age).
//   Receivers deduplicate with X-Canaryd-Delivery.
// - Per-endpoint ordering: deliveries to one URL are attempted one at a time in enqueue order; the
//   next waits until the previous got a 2xx or was dropped.
// - Every failure is retried until max_age: connection errors, timeouts, and every non-2xx status,
//   4xx included, because a receiver that is misconfigured today (401, 404) and fixed tomorrow
//   should still get the verdict. Delay before retry n (n >= 1):
//   uniform(0, min(backoff_cap, backoff_base * 2^(n-1))) ("full jitter").
// - A delivery whose age (Clock::NowMillis() - created_ms) exceeds max_age when it is next due is
//   dropped, recorded in the outbox and counted as result="dropped".
// - Backoff and age decisions use the injected Clock; the attempt timeout is real (network) time.

#include <canaryd/common/clock.h>
#include <canaryd/common/metrics.h>
#include <canaryd/deliver/outbox.h>
#include <canaryd/deliver/types.h>

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace canaryd::deliver {

struct DispatcherOptions {
  std::filesystem::path data_dir;  // the outbox directory
  std::chrono::milliseconds max_age = std::chrono::hours(24);
  std::chrono::milliseconds backoff_base = std::chrono::seconds(1);
  std::chrono::milliseconds backoff_cap = std::chrono::minutes(5);
  std::chrono::milliseconds attempt_timeout = std::chrono::seconds(10);  // connect+write+read
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(5);     // at destruction
  uint64_t compaction_bytes = 4u << 20;
  uint64_t rng_seed = 0;  // jitter RNG seed; 0 = from std::random_device
  // PEM file of CA certificates trusted for https:// webhooks; empty = the system trust store.
  // The server certificate must chain to one of them and match the URL's host (name or IP SAN).
  std::filesystem::path ca_file;
};

/// The module's metrics. Create one per MetricsRegistry and share it across dispatcher restarts
/// (the registry cannot unregister). Thread-safe.
struct DeliverMetrics {
  explicit DeliverMetrics(MetricsRegistry& registry);
  Counter& delivered;        // canaryd_webhook_deliveries_total{result="delivered"}
  Counter& retried;          // canaryd_webhook_deliveries_total{result="retried"}
  Counter& dropped;          // canaryd_webhook_deliveries_total{result="dropped"}
  Gauge& queue_depth;        // canaryd_webhook_queue_depth
  Counter& corrupt_records;  // canaryd_webhook_outbox_corrupt_records_total

 private:
  DeliverMetrics(MetricsRegistry& registry, Family<Counter>& deliveries);
};

class DispatcherImpl;

/// Thread-safe: Enqueue, RunDueWorkNow and QueueDepth may be called from any thread. Deliveries
/// run on one internal thread. Destruction stops new attempts, waits up to drain_timeout for
/// in-flight ones, and leaves everything undelivered in the outbox for the next start.
class Dispatcher {
 public:
  /// Opens the outbox in options.data_dir, starts the delivery thread and resumes every pending
  /// delivery. Errors: DeliverErrc::kIo when the outbox cannot be opened, kLocked when another
  /// dispatcher or process uses data_dir, kTlsSetup when
  /// options.ca_file (or the system trust store) cannot be loaded.
  static boost::system::result<std::unique_ptr<Dispatcher>> Create(DispatcherOptions options,
                                                                   const Clock& clock,
                                                                   DeliverMetrics& metrics);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Validates, assigns a delivery id, appends to the outbox (fsync'd) and wakes the delivery
  /// thread. Returns the delivery id (X-Canaryd-Delivery).
  /// Errors: kBadUrl, kUnsupportedScheme (not http/https), kBadHeader (CR/LF/NUL in a header or
  /// event, or a header the dispatcher sets itself), kIo, kShuttingDown.
  boost::system::result<std::string> Enqueue(const Endpoint& endpoint, std::string_view event,
                                             std::string body);

  /// Asks the delivery thread to re-evaluate due work against the Clock now (after a test
  /// advanced a ManualClock). Asynchronous: returns at once.
  void RunDueWorkNow();

  /// Deliveries still in the outbox (same value as canaryd_webhook_queue_depth).
  size_t QueueDepth() const;

 private:
  explicit Dispatcher(std::unique_ptr<DispatcherImpl> impl);
  std::unique_ptr<DispatcherImpl> impl_;
};

/// A parsed http:// or https:// URL (exposed for tests).
struct HttpUrl {
  bool tls = false;         // https
  std::string host;         // without brackets for IPv6 literals
  std::string port;         // "80" (http) or "443" (https) if absent
  std::string target;       // path and query, "/" if absent
  std::string host_header;  // Host header value
};
boost::system::result<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace canaryd::deliver
