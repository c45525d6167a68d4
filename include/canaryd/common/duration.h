#pragma once

#include <chrono>
#include <string_view>

namespace canaryd {

/// Prometheus duration syntax: one or more <number><unit> with units y w d h m s ms, largest
/// first ("1h30m", "15s", "500ms", "2d"), or "0". Returns false (leaving `out` alone) if malformed
/// or out of range. Thread-safe.
bool ParseDuration(std::string_view text, std::chrono::milliseconds& out);

}  // namespace canaryd
