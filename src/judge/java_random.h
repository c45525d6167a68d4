#pragma once
// java.util.Random (48-bit LCG) and its nextGaussian (Marsaglia polar method): the generator
// behind Kayenta's tie-breaking noise. Kayenta never seeds it; canaryd does, so that a judgment
// replays identically on every platform (std::normal_distribution differs between libraries).

#include <cmath>
#include <cstdint>

namespace canaryd::judge {

class JavaRandom {
 public:
  explicit JavaRandom(uint64_t seed) : seed_((seed ^ kMultiplier) & kMask) {}

  double NextDouble() {
    const auto hi = static_cast<uint64_t>(Next(26));
    const auto lo = static_cast<uint64_t>(Next(27));
    return static_cast<double>((hi << 27) + lo) * 0x1.0p-53;
  }

  double NextGaussian() {
    if (have_next_) {
      have_next_ = false;
      return next_;
    }
    double v1, v2, s;
    do {
      v1 = 2 * NextDouble() - 1;
      v2 = 2 * NextDouble() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s == 0);
    const double multiplier = std::sqrt(-2 * std::log(s) / s);
    next_ = v2 * multiplier;
    have_next_ = true;
    return v1 * multiplier;
  }

 private:
  static constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  static constexpr uint64_t kMask = (uint64_t{1} << 48) - 1;

  uint32_t Next(int bits) {
    seed_ = (seed_ * kMultiplier + 0xBULL) & kMask;
    return static_cast<uint32_t>(seed_ >> (48 - bits));
  }

  uint64_t seed_;
  double next_ = 0;
  bool have_next_ = false;
};

}  // namespace canaryd::judge
