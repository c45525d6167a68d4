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

#include <algorithm>
#include <array>
#include <vector>

namespace canaryd::judge {

/// Sorts order keys ascending. Large inputs by an LSD radix sort on 11-bit digits (digits equal
/// in every key are skipped): the two sorts dominate a test of 10,000-value samples otherwise.
inline void SortKeys(int64_t* keys, size_t n) {
  if (n < 4096) {
    std::sort(keys, keys + n);
    return;
  }
  constexpr int kBits = 11, kPasses = 6;
  constexpr size_t kBuckets = size_t{1} << kBits;
  constexpr uint64_t kSign = uint64_t{1} << 63;
  std::vector<uint64_t> a(n), b(n);
  std::vector<std::array<uint32_t, kBuckets>> counts(kPasses);
  for (auto& c : counts) {
    c.fill(0);
  }
  for (size_t i = 0; i < n; ++i) {
    a[i] = static_cast<uint64_t>(keys[i]) ^ kSign;  // signed order as unsigned
    for (int p = 0; p < kPasses; ++p) {
      ++counts[p][(a[i] >> (p * kBits)) & (kBuckets - 1)];
    }
  }
  for (int p = 0; p < kPasses; ++p) {
    auto& c = counts[p];
    if (c[(a[0] >> (p * kBits)) & (kBuckets - 1)] == n) {
      continue;  // every key has this digit
    }
    uint32_t sum = 0;
    for (auto& v : c) {
      const uint32_t t = v;
      v = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; ++i) {
      b[c[(a[i] >> (p * kBits)) & (kBuckets - 1)]++] = a[i];
    }
    a.swap(b);
  }
  for (size_t i = 0; i < n; ++i) {
    keys[i] = static_cast<int64_t>(a[i] ^ kSign);
  }
}

}  // namespace canaryd::judge
