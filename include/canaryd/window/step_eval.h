#pragma once
// Per-step evaluation with Prometheus 2.42's range-query semantics, the version the oracle test
// runs (the differences from Prometheus 3 are noted where they matter):
//   - an instant selector at time t takes a series' latest sample in [t - lookback, t]
//     (Prometheus 3 makes the left end open); if that sample is a stale marker the series is
//     absent at t;
//   - a range selector [r] at t takes the series' samples in [t - r, t], skipping stale markers;
//   - rate/increase extrapolate like extrapolatedRate() (counter resets add the previous value),
//     irate uses the last two samples;
//   - aggregations follow the engine's float arithmetic (avg is the incremental mean);
//   - histogram_quantile follows bucketQuantile() (sort, coalesce, force monotonic, interpolate).
//
// Thread safety: pure functions; Aggregator instances are not shared.

#include <cstdint>
#include <span>
#include <vector>

#include "canaryd/model/sample.h"
#include "canaryd/select/promql.h"

namespace canaryd::window {

/// The value of an instant selector at `t_ms`. `samples` are sorted by time (strictly
/// increasing). False when the series has no value at t.
bool InstantValue(std::span<const model::Sample> samples, int64_t t_ms, int64_t lookback_ms,
                  double& out);

/// rate/irate/increase over the range [t_ms - range_ms, t_ms]. False when there is no result
/// (fewer than two samples in the range, or irate's two samples at the same time).
bool RangeFunctionValue(select::RangeFunction fn, std::span<const model::Sample> samples,
                        int64_t t_ms, int64_t range_ms, double& out);

/// Folds series values into one aggregate the way the PromQL engine does.
class Aggregator {
 public:
  explicit Aggregator(select::Aggregation op) : op_(op) {}
  void Add(double v);
  bool empty() const { return count_ == 0; }
  /// REQUIRES: !empty().
  double Result() const;

 private:
  select::Aggregation op_;
  double count_ = 0;
  double value_ = 0;  // sum, min, max, or the running mean for avg
};

struct Bucket {
  double upper_bound = 0;
  double count = 0;
};

/// histogram_quantile's interpolation over one group of classic buckets. Reorders `buckets`.
double BucketQuantile(double q, std::vector<Bucket>& buckets);

}  // namespace canaryd::window
