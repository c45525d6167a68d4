#include "canaryd/window/step_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace canaryd::window {
namespace {

// First sample with timestamp >= t.
const model::Sample* LowerBound(std::span<const model::Sample> s, int64_t t) {
  return std::lower_bound(s.data(), s.data() + s.size(), t,
                          [](const model::Sample& a, int64_t ts) { return a.timestamp_ms < ts; });
}
// First sample with timestamp > t.
const model::Sample* UpperBound(std::span<const model::Sample> s, int64_t t) {
  return std::upper_bound(s.data(), s.data() + s.size(), t,
                          [](int64_t ts, const model::Sample& a) { return ts < a.timestamp_ms; });
}

}  // namespace

bool InstantValue(std::span<const model::Sample> samples, int64_t t_ms, int64_t lookback_ms,
                  double& out) {
  const model::Sample* end = UpperBound(samples, t_ms);
  if (end == samples.data()) {
    return false;
  }
  const model::Sample& latest = *(end - 1);
  if (latest.timestamp_ms < t_ms - lookback_ms || model::IsStaleNaN(latest.value)) {
    return false;
  }
  out = latest.value;
  return true;
}

bool RangeFunctionValue(select::RangeFunction fn, std::span<const model::Sample> samples,
                        int64_t t_ms, int64_t range_ms, double& out) {
  const int64_t range_start = t_ms - range_ms;
  const model::Sample* begin = LowerBound(samples, range_start);
  const model::Sample* end = UpperBound(samples, t_ms);
  // Stale markers are not part of a range vector. They are rare (one per series end), so the
  // points are gathered only when one is present.
  thread_local std::vector<model::Sample> points;
  std::span<const model::Sample> range(begin, static_cast<size_t>(end - begin));
  if (std::any_of(begin, end, [](const model::Sample& s) { return model::IsStaleNaN(s.value); })) {
    points.clear();
    for (const model::Sample* p = begin; p != end; ++p) {
      if (!model::IsStaleNaN(p->value)) points.push_back(*p);
    }
    range = points;
  }
  if (range.size() < 2) {
    return false;
  }
  if (fn == select::RangeFunction::kIrate) {
    const model::Sample& last = range[range.size() - 1];
    const model::Sample& prev = range[range.size() - 2];
    const double result = last.value < prev.value ? last.value : last.value - prev.value;
    const int64_t interval = last.timestamp_ms - prev.timestamp_ms;
    if (interval == 0) {
      return false;
    }
    out = result / (static_cast<double>(interval) / 1000);
    return true;
  }
  const model::Sample& first = range.front();
  const model::Sample& last = range.back();
  double result = last.value - first.value;
  double prev = first.value;
  for (size_t i = 1; i < range.size(); ++i) {
    if (range[i].value < prev) {
      result += prev;  // a counter reset: the counter restarted from zero
    }
    prev = range[i].value;
  }
  double duration_to_start = static_cast<double>(first.timestamp_ms - range_start) / 1000;
  const double duration_to_end = static_cast<double>(t_ms - last.timestamp_ms) / 1000;
  const double sampled_interval = static_cast<double>(last.timestamp_ms - first.timestamp_ms) / 1000;
  const double average_between = sampled_interval / static_cast<double>(range.size() - 1);
  if (result > 0 && first.value >= 0) {
    // A counter does not extrapolate below zero.
    const double duration_to_zero = sampled_interval * (first.value / result);
    if (duration_to_zero < duration_to_start) {
      duration_to_start = duration_to_zero;
    }
  }
  const double threshold = average_between * 1.1;
  double extrapolate_to = sampled_interval;
  extrapolate_to += duration_to_start < threshold ? duration_to_start : average_between / 2;
  extrapolate_to += duration_to_end < threshold ? duration_to_end : average_between / 2;
  double factor = extrapolate_to / sampled_interval;
  if (fn == select::RangeFunction::kRate) {
    factor /= static_cast<double>(range_ms) / 1000;
  }
  out = result * factor;
  return true;
}

void Aggregator::Add(double v) {
  using select::Aggregation;
  if (count_ == 0) {
    count_ = 1;
    value_ = v;
    return;
  }
  count_ += 1;
  switch (op_) {
    case Aggregation::kSum:
      value_ += v;
      break;
    case Aggregation::kAvg:
      if (std::isinf(value_)) {
        if (std::isinf(v) && (value_ > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      // The engine divides each term by the count to avoid overflow; same arithmetic here.
      value_ += v / count_ - value_ / count_;
      break;
    case Aggregation::kMin:
      if (value_ > v || std::isnan(value_)) value_ = v;
      break;
    case Aggregation::kMax:
      if (value_ < v || std::isnan(value_)) value_ = v;
      break;
    case Aggregation::kCount:
      break;
  }
}

double Aggregator::Result() const {
  return op_ == select::Aggregation::kCount ? count_ : value_;
}

double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (buckets.empty()) return kNaN;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return kNaN;
  // Coalesce buckets with the same bound (e.g. "1" and "1.0").
  size_t w = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (w > 0 && buckets[w - 1].upper_bound == buckets[i].upper_bound) {
      buckets[w - 1].count += buckets[i].count;
    } else {
      buckets[w++] = buckets[i];
    }
  }
  buckets.resize(w);
  // Counts of a cumulative histogram never decrease; rate() over scrapes can break that.
  double max = -kInf;
  for (Bucket& b : buckets) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (buckets.size() < 2) return kNaN;
  const double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

}  // namespace canaryd::window
