#include "canaryd/window/step_ring.h"

#include <algorithm>
#include <cmath>

namespace canaryd::window {

void RunningStats::Add(double v) {
  ++count;
  if (count == 1) {
    mean = v;
    m2 = 0;
    min = max = v;
    return;
  }
  const double delta = v - mean;
  mean += delta / static_cast<double>(count);
  m2 += delta * (v - mean);
  min = std::min(min, v);
  max = std::max(max, v);
}

void RunningStats::Remove(double v) {
  if (count <= 1) {
    *this = RunningStats{};
    return;
  }
  const double old_mean = mean;
  --count;
  mean = (old_mean * static_cast<double>(count + 1) - v) / static_cast<double>(count);
  m2 -= (v - old_mean) * (v - mean);
  if (m2 < 0) {
    m2 = 0;  // rounding; a variance is never negative
  }
}

StepRing::StepRing(size_t capacity) : values_(static_cast<Eigen::Index>(std::max<size_t>(capacity, 1))) {}

void StepRing::Push(double v) {
  const size_t cap = capacity();
  bool recompute = false;
  if (size_ == cap) {
    const double old = values_[static_cast<Eigen::Index>(head_)];
    if (!std::isnan(old)) {
      stats_.Remove(old);
      recompute = stats_.count > 0 && (old == stats_.min || old == stats_.max);
    }
    values_[static_cast<Eigen::Index>(head_)] = v;
    head_ = (head_ + 1) % cap;
  } else {
    values_[static_cast<Eigen::Index>((head_ + size_) % cap)] = v;
    ++size_;
  }
  if (!std::isnan(v)) {
    stats_.Add(v);
  }
  if (recompute) {
    RecomputeExtremes();
  }
}

void StepRing::RecomputeExtremes() {
  bool first = true;
  for (size_t i = 0; i < size_; ++i) {
    const double v = at(i);
    if (std::isnan(v)) continue;
    if (first) {
      stats_.min = stats_.max = v;
      first = false;
    } else {
      stats_.min = std::min(stats_.min, v);
      stats_.max = std::max(stats_.max, v);
    }
  }
}

void StepRing::CopyTo(std::vector<double>& out) const {
  out.resize(size_);
  const size_t cap = capacity();
  const size_t first = std::min(size_, cap - head_);
  Eigen::Map<Eigen::ArrayXd>(out.data(), static_cast<Eigen::Index>(first)) =
      values_.segment(static_cast<Eigen::Index>(head_), static_cast<Eigen::Index>(first));
  if (first < size_) {
    Eigen::Map<Eigen::ArrayXd>(out.data() + first, static_cast<Eigen::Index>(size_ - first)) =
        values_.head(static_cast<Eigen::Index>(size_ - first));
  }
}

}  // namespace canaryd::window
