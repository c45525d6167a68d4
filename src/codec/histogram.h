#pragma once
// Native histogram validation, shared by the 1.0 and 2.0 decoders. Internal to the codec module.

#include <cstdint>
#include <string_view>

#include "canaryd/common/error.h"

namespace canaryd::codec {

enum class HistogramCheck { kValid, kInvalid, kMalformed };

struct HistogramInfo {
  int64_t timestamp_ms = 0;
  bool stale = false;
};

/// Walks one Histogram message (fields 1-17 of either protocol version) and applies Prometheus's
/// validation: schema -4..8 or -53 (custom buckets), spans consistent with the bucket arrays,
/// non-negative bucket counts, and for integer histograms the count rule (count equals zero count
/// plus bucket counts, or is at least that when the sum is NaN). kMalformed (with `err` set)
/// means the bytes are not a valid message, which fails the whole request.
HistogramCheck CheckHistogram(std::string_view msg, HistogramInfo& info, Errc& err);

}  // namespace canaryd::codec
