#pragma once
// A SampleSink that keeps everything appended, as readable rows, for scrape tests.

#include <mutex>
#include <string>
#include <vector>

#include "canaryd/ingest/sample_sink.h"
#include "canaryd/model/labels.h"
#include "canaryd/model/sample.h"

namespace canaryd::scrape::testing {

struct Row {
  std::string series;  // FormatLabelKey form: name{a="b", ...}
  int64_t ts = 0;
  double value = 0;
  bool stale = false;
};

class RecordingSink final : public ingest::SampleSink {
 public:
  void Append(const model::SeriesBatch& batch) override {
    std::lock_guard lock(mu_);
    std::vector<Row> rows;
    for (const auto& s : batch.series) {
      for (const auto& sample : batch.SamplesOf(s)) {
        EXPECT_EQ(model::HashLabelKey128(s.labels), (model::LabelHash{s.hash, s.hash_hi}));
        rows.push_back(Row{model::FormatLabelKey(s.labels), sample.timestamp_ms, sample.value,
                           model::IsStaleNaN(sample.value)});
      }
    }
    batches_.push_back(std::move(rows));
  }
  std::vector<std::vector<Row>> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<Row> last() const {
    std::lock_guard lock(mu_);
    return batches_.empty() ? std::vector<Row>{} : batches_.back();
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return batches_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<Row>> batches_;
};

inline const Row* Find(const std::vector<Row>& rows, const std::string& series) {
  for (const auto& r : rows) {
    if (r.series == series) return &r;
  }
  return nullptr;
}

}  // namespace canaryd::scrape::testing
