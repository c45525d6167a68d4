// Series-table cost per sample after first sight (hits), and per new series (inserts).
// Run: build/release/bench/canaryd_bench_series

#include <benchmark/benchmark.h>

#include "canaryd/codec/remote_write.h"
#include "canaryd/series/series_table.h"
#include "workload/workload.h"

namespace {

// Resolving batches of 500 known series, with `range(0)` series in the table.
void BM_SeriesTable_ResolveHits(benchmark::State& state) {
  canaryd::bench::WorkloadOptions o;
  o.total_series = static_cast<int>(state.range(0));
  canaryd::bench::Workload w(o);
  const int64_t requests = o.total_series / o.series_per_request;
  std::vector<std::string> raw;
  for (int64_t k = 0; k < requests; ++k) {
    raw.push_back(w.EncodeV1(k));
  }
  std::vector<canaryd::model::SeriesBatch> batches(raw.size());
  std::vector<canaryd::codec::RemoteWriteDecoder> decoders(raw.size());
  canaryd::codec::DecodeReport report;
  canaryd::series::SeriesTable table;
  std::vector<canaryd::series::SeriesId> ids;
  for (size_t k = 0; k < raw.size(); ++k) {
    decoders[k].Decode(canaryd::codec::ProtocolVersion::kV1, raw[k], {}, batches[k], report);
    table.ResolveBatch(batches[k], 0, ids);
  }
  size_t k = 0;
  for (auto _ : state) {
    table.ResolveBatch(batches[k], 1, ids);
    benchmark::DoNotOptimize(ids.data());
    k = (k + 1) % batches.size();
  }
  state.SetItemsProcessed(state.iterations() * o.series_per_request);
  double key_bytes = 0;
  table.ForEach([&](canaryd::series::SeriesId, std::string_view key) {
    key_bytes += static_cast<double>(key.size());
  });
  const double n = static_cast<double>(table.size());
  state.counters["table_bytes_per_series"] = static_cast<double>(table.MemoryBytes()) / n;
  state.counters["label_key_bytes_per_series"] = key_bytes / n;
  state.counters["overhead_bytes_per_series"] =
      (static_cast<double>(table.MemoryBytes()) - key_bytes) / n;
}
BENCHMARK(BM_SeriesTable_ResolveHits)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

}  // namespace
