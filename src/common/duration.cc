#include "canaryd/common/duration.h"

#include <charconv>
#include <cstdint>
#include <utility>

namespace canaryd {

bool ParseDuration(std::string_view text, std::chrono::milliseconds& out) {
  // Prometheus's syntax: one or more <number><unit>, units y w d h m s ms, largest first.
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1},         {"s", 1000},        {"m", 60'000},        {"h", 3'600'000},
      {"d", 86'400'000}, {"w", 604'800'000}, {"y", 31'536'000'000}};
  if (text.empty()) {
    return false;
  }
  if (text == "0") {
    out = std::chrono::milliseconds(0);
    return true;
  }
  int64_t total = 0;
  int64_t last_unit = INT64_MAX;
  while (!text.empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || p == text.data() || n < 0) {
      return false;
    }
    text.remove_prefix(static_cast<size_t>(p - text.data()));
    int64_t unit = 0;
    // "ms" must be tried before "m".
    for (const auto& [name, ms] : kUnits) {
      if (text.substr(0, name.size()) == name) {
        unit = ms;
        text.remove_prefix(name.size());
        break;
      }
    }
    if (unit == 0 || unit >= last_unit || n > INT64_MAX / unit / 2) {
      return false;
    }
    last_unit = unit;
    if (n * unit > INT64_MAX - total) {
      return false;  // the parts fit one by one, but their sum does not
    }
    total += n * unit;
  }
  out = std::chrono::milliseconds(total);
  return true;
}

}  // namespace canaryd
