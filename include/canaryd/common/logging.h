#pragma once
// Logging goes through spdlog: one line per event, never one per sample, and at info level never
// one per request. Problems caused by clients are logged through RateLimitedLog so that a
// misbehaving sender cannot flood the log; counters on /metrics are the exact record.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <string_view>

#include "canaryd/common/error.h"

namespace canaryd {

/// Configures the default spdlog logger: one timestamped line per event on stderr. Returns an error
/// for an unknown level name (trace, debug, info, warn, error, off). Call once at start-up, before
/// threads start; calling it again replaces the level.
Result<void> InitLogging(std::string_view level);

/// Lets one log line through per `interval`, and reports how many were suppressed since.
/// Thread-safe (lock-free).
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  /// Returns true if the caller may log now; `suppressed` then receives the number of calls that
  /// were refused since the last allowed one.
  bool Allow(std::chrono::steady_clock::time_point now, uint64_t& suppressed);

 private:
  std::chrono::steady_clock::duration interval_;
  std::atomic<int64_t> next_allowed_ns_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace canaryd
