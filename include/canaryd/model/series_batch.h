#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "canaryd/model/sample.h"

namespace canaryd::model {

/// One valid series of a decoded request: its canonical label key (see labels.h), the key's
/// 128-bit hash (HashLabelKey128: `hash` is the low half, `hash_hi` the high half), and its
/// samples as a range of SeriesBatch::samples.
struct BatchSeries {
  std::string_view labels;
  uint64_t hash = 0;
  uint64_t hash_hi = 0;
  uint32_t first_sample = 0;
  uint32_t num_samples = 0;
};

/// The valid content of one remote-write request or scrape, ready for a SampleSink.
/// Label keys are views into buffers owned by whoever produced the batch; they stay valid until
/// that producer decodes its next request. Not thread-safe; reused per thread to avoid allocation.
struct SeriesBatch {
  std::vector<BatchSeries> series;
  std::vector<Sample> samples;

  void Clear() {
    series.clear();
    samples.clear();
  }
  std::span<const Sample> SamplesOf(const BatchSeries& s) const {
    return {samples.data() + s.first_sample, s.num_samples};
  }
};

}  // namespace canaryd::model
