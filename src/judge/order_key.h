#pragma once
// Java's Double.compare order as integers: NaN sorts as +inf (Kayenta ranks with
// NaNStrategy.MAXIMAL), -0.0 sorts below +0.0, and equal keys are what Kayenta's ranking and
// `distinct` treat as equal.

#include <bit>
#include <cstdint>
#include <limits>

namespace canaryd::judge {

inline int64_t OrderKey(double v) {
  if (v != v) {
    v = std::numeric_limits<double>::infinity();
  }
  const auto b = std::bit_cast<int64_t>(v);
  // Negative doubles order backwards by their bits: flip the magnitude bits of those.
  return b ^ ((b >> 63) & std::numeric_limits<int64_t>::max());
}

inline double FromOrderKey(int64_t k) {
  return std::bit_cast<double>(k ^ ((k >> 63) & std::numeric_limits<int64_t>::max()));
}

}  // namespace canaryd::judge
