#pragma once

#include "canaryd/model/series_batch.h"

namespace canaryd::ingest {

/// Where decoded series go: remote-write requests and scrapes both end in Append, so whatever is
/// downstream (series table, scope selection, windows) cannot tell the two sources apart.
///
/// Contract: Append is called once per request or scrape with its valid series only. The batch
/// and the label keys it points to are valid only during the call; copy what must outlive it.
/// Thread safety: implementations must accept concurrent calls from several threads.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  virtual void Append(const model::SeriesBatch& batch) = 0;
};

}  // namespace canaryd::ingest
