#include "canaryd/ingest/series_table_sink.h"

#include <vector>

namespace canaryd::ingest {

SeriesTableSink::SeriesTableSink(series::SeriesTable& table, const Clock& clock,
                                 MetricsRegistry& metrics)
    : table_(table),
      clock_(clock),
      origin_(clock.Monotonic()),
      created_(
          metrics.AddCounter("canaryd_series_created_total", "Series added to the series table.")),
      expired_(metrics.AddCounter("canaryd_series_expired_total",
                                  "Series removed from the series table after the retention "
                                  "period without samples.")) {
  metrics.AddCallback("canaryd_series_active", "Series in the series table.",
                      [this] { return static_cast<double>(table_.size()); });
  metrics.AddCallback("canaryd_series_table_bytes",
                      "Memory used by the series table (slots, label keys, free lists).",
                      [this] { return static_cast<double>(table_.MemoryBytes()); });
}

uint32_t SeriesTableSink::NowSeconds() const {
  // Seconds since the sink was created, so 32 bits last 136 years.
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Monotonic() - origin_).count());
}

void SeriesTableSink::Append(const model::SeriesBatch& batch) {
  thread_local std::vector<series::SeriesId> ids;
  const size_t inserted = table_.ResolveBatch(batch, NowSeconds(), ids);
  if (inserted > 0) {
    created_.Inc(inserted);
  }
}

size_t SeriesTableSink::ExpireIdle(std::chrono::seconds retention) {
  const uint32_t now = NowSeconds();
  const auto r = static_cast<uint32_t>(retention.count());
  if (now < r) {
    return 0;
  }
  const size_t removed = table_.ExpireBefore(now - r);
  expired_.Inc(removed);
  return removed;
}

}  // namespace canaryd::ingest
