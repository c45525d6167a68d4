#pragma once

#include <chrono>

#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/ingest/sample_sink.h"
#include "canaryd/series/series_table.h"

namespace canaryd::ingest {

/// The sink of this stage of canaryd: records every series in the series table (so that later
/// per-sample work is one table lookup) and counts what arrives. Series not seen for the
/// retention period are removed by ExpireIdle, which the server calls periodically.
/// Exposes canaryd_series_active, canaryd_series_created_total, canaryd_series_expired_total.
/// Thread-safe.
class SeriesTableSink final : public SampleSink {
 public:
  SeriesTableSink(series::SeriesTable& table, const Clock& clock, MetricsRegistry& metrics);

  // SampleSink
  void Append(const model::SeriesBatch& batch) override;

  /// Removes series last seen more than `retention` ago; returns how many.
  size_t ExpireIdle(std::chrono::seconds retention);

 private:
  uint32_t NowSeconds() const;

  series::SeriesTable& table_;
  const Clock& clock_;
  const std::chrono::steady_clock::time_point origin_;
  Counter& created_;
  Counter& expired_;
};

}  // namespace canaryd::ingest
