#pragma once
// One (analysis, metric, tag set, side)'s step values: a fixed-capacity ring over an Eigen array,
// with summary statistics kept up to date as values enter and leave.
//
// A step without a value is NaN; statistics cover the non-NaN values currently held. Capacity is
// fixed at construction, so memory is 8 bytes x capacity + a constant (MemoryBytes()).
//
// Thread safety: none; the owner (WindowStore) serializes access.

#include <cstddef>
#include <vector>

#include <Eigen/Core>

namespace canaryd::window {

/// Count, mean, sample variance (Welford), min and max of a multiset that grows and shrinks.
struct RunningStats {
  size_t count = 0;
  double mean = 0;
  double m2 = 0;  // sum of squared deviations from the mean
  double min = 0;
  double max = 0;

  void Add(double v);
  /// Removes one occurrence of `v` (which must be held). min/max are left for the caller to
  /// recompute when `v` was an extreme.
  void Remove(double v);
  /// Sample variance (n - 1 denominator); 0 for fewer than two values.
  double Variance() const { return count > 1 ? m2 / static_cast<double>(count - 1) : 0; }
};

class StepRing {
 public:
  explicit StepRing(size_t capacity);

  /// Appends the next step's value (NaN: no value); when full, the oldest step leaves.
  void Push(double v);

  size_t size() const { return size_; }
  size_t capacity() const { return static_cast<size_t>(values_.size()); }
  /// i = 0 is the oldest step held.
  double at(size_t i) const { return values_[static_cast<Eigen::Index>((head_ + i) % capacity())]; }
  /// The held values, oldest first.
  void CopyTo(std::vector<double>& out) const;
  const RunningStats& stats() const { return stats_; }

  size_t MemoryBytes() const { return sizeof(*this) + capacity() * sizeof(double); }

 private:
  void RecomputeExtremes();

  Eigen::ArrayXd values_;
  size_t head_ = 0;  // index of the oldest value
  size_t size_ = 0;
  RunningStats stats_;
};

}  // namespace canaryd::window
