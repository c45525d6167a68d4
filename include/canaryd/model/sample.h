#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace canaryd::model {

/// One float sample. Timestamps are milliseconds since the Unix epoch, as in remote-write.
struct Sample {
  int64_t timestamp_ms = 0;
  double value = 0;
};

/// Prometheus's staleness marker: a NaN with this exact bit pattern ends a series. It is not a
/// value; an ordinary NaN (0x7ff8000000000001 from Prometheus) is.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

inline bool IsStaleNaN(double v) noexcept { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }
inline double StaleNaN() noexcept { return std::bit_cast<double>(kStaleNaNBits); }

}  // namespace canaryd::model
