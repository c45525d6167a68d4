#include "canaryd/common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <string>

namespace canaryd {

Result<void> InitLogging(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return make_error_code(Errc::kConfigInvalid);
  }
  auto logger = spdlog::get("canaryd");
  if (!logger) {
    logger = spdlog::stderr_logger_mt("canaryd");
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

bool RateLimitedLog::Allow(std::chrono::steady_clock::time_point now, uint64_t& suppressed) {
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  int64_t next = next_allowed_ns_.load(std::memory_order_relaxed);
  const int64_t interval_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count();
  if (now_ns >= next && next_allowed_ns_.compare_exchange_strong(next, now_ns + interval_ns,
                                                                 std::memory_order_relaxed)) {
    suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace canaryd
