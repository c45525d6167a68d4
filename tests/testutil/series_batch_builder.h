#pragma once
// Builds model::SeriesBatch values for sink-level tests (window store, analyses) without going
// through a remote-write body. Owns the label keys the batch points to.

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "canaryd/model/labels.h"
#include "canaryd/model/series_batch.h"

namespace canaryd::testutil {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// The canonical label key of `labels` (any order; empty values dropped).
inline std::string LabelKeyOf(Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [n, v] : labels) {
    if (!v.empty()) model::AppendLabel(key, n, v);
  }
  return key;
}

class SeriesBatchBuilder {
 public:
  SeriesBatchBuilder& Add(const Labels& labels, std::vector<model::Sample> samples) {
    keys_.push_back(LabelKeyOf(labels));
    pending_.push_back(std::move(samples));
    return *this;
  }
  /// The batch of everything added so far; valid while the builder lives.
  const model::SeriesBatch& Build() {
    batch_.Clear();
    for (size_t i = 0; i < keys_.size(); ++i) {
      model::BatchSeries s;
      s.labels = keys_[i];
      const model::LabelHash h = model::HashLabelKey128(keys_[i]);
      s.hash = h.lo;
      s.hash_hi = h.hi;
      s.first_sample = static_cast<uint32_t>(batch_.samples.size());
      s.num_samples = static_cast<uint32_t>(pending_[i].size());
      batch_.samples.insert(batch_.samples.end(), pending_[i].begin(), pending_[i].end());
      batch_.series.push_back(s);
    }
    return batch_;
  }
  void Clear() {
    keys_.clear();
    pending_.clear();
    batch_.Clear();
  }

 private:
  std::deque<std::string> keys_;  // stable addresses: the batch holds views
  std::vector<std::vector<model::Sample>> pending_;
  model::SeriesBatch batch_;
};

}  // namespace canaryd::testutil
