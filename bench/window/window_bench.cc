// Scope selection and step windows: the cost of placing a new series with many active analyses,
// the cost of closing a step, and the memory an analysis takes against its formula
// (docs/architecture.md, "Windows").
// Run: build/release/bench/canaryd_bench_window

#include <benchmark/benchmark.h>

#include <memory>

#include "canaryd/codec/remote_write.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/window/window_store.h"
#include "workload/workload.h"

namespace {

using canaryd::window::WindowStore;

constexpr int64_t kStart = 1'795'000'000'000;

// 100 analyses x 10 metrics over the cAdvisor workload (about 20 % of series selected).
void AddAnalyses(WindowStore& store, int n) {
  for (const auto& metrics : canaryd::bench::AnalysisQueries(n)) {
    canaryd::window::AnalysisWindowSpec spec;
    spec.start_ms = kStart;
    spec.step_ms = 60'000;
    for (size_t m = 0; m < metrics.size(); ++m) {
      spec.metrics.push_back({"m" + std::to_string(m), *canaryd::select::ParseQuery(metrics[m].first),
                              *canaryd::select::ParseQuery(metrics[m].second)});
    }
    store.AddAnalysis(std::move(spec));
  }
}

// Decoded batches of series never seen before (500 per batch).
struct FreshBatches {
  explicit FreshBatches(int count) {
    canaryd::bench::WorkloadOptions o;
    o.total_series = count * o.series_per_request;
    canaryd::bench::Workload w(o);
    raw.resize(static_cast<size_t>(count));
    batches.resize(raw.size());
    decoders.resize(raw.size());
    canaryd::codec::DecodeReport report;
    for (size_t k = 0; k < raw.size(); ++k) {
      raw[k] = w.EncodeV1(static_cast<int64_t>(k));
      decoders[k].Decode(canaryd::codec::ProtocolVersion::kV1, raw[k], {}, batches[k], report);
    }
  }
  std::vector<std::string> raw;
  std::vector<canaryd::codec::RemoteWriteDecoder> decoders;
  std::vector<canaryd::model::SeriesBatch> batches;
};

// Time to place a new series: insert into the series table and, with analyses, match it against
// every selector (name index first) and create its window state when selected.
void BM_PlaceNewSeries(benchmark::State& state) {
  static FreshBatches fresh(400);  // 200k distinct series
  canaryd::ManualClock clock(kStart);
  size_t k = fresh.batches.size();
  std::unique_ptr<canaryd::MetricsRegistry> metrics;
  std::unique_ptr<canaryd::series::SeriesTable> table;
  std::unique_ptr<WindowStore> store;
  for (auto _ : state) {
    if (k == fresh.batches.size()) {
      // Every series must be new: start over with an empty table.
      state.PauseTiming();
      store.reset();
      table = std::make_unique<canaryd::series::SeriesTable>();
      metrics = std::make_unique<canaryd::MetricsRegistry>();
      store = std::make_unique<WindowStore>(*table, clock, *metrics);
      AddAnalyses(*store, static_cast<int>(state.range(0)));
      k = 0;
      state.ResumeTiming();
    }
    store->Append(fresh.batches[k++]);
  }
  state.SetItemsProcessed(state.iterations() * 500);
  state.counters["ns_per_new_series"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 500,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PlaceNewSeries)->Arg(0)->Arg(100)->Unit(benchmark::kMicrosecond)->Iterations(400);

// Closing one step of one analysis of 10 metrics whose sides select `range(0)` series each
// (instant avg on even metrics, sum by (container) of rate[2m] on odd ones), 8 samples per
// series in range.
void BM_CloseStep(benchmark::State& state) {
  const int pods = static_cast<int>(state.range(0));
  canaryd::ManualClock clock(kStart);
  canaryd::MetricsRegistry metrics;
  canaryd::series::SeriesTable table;
  WindowStore store(table, clock, metrics);
  canaryd::window::AnalysisWindowSpec spec;
  spec.start_ms = kStart;
  for (int m = 0; m < 10; ++m) {
    const std::string sel_c = "m" + std::to_string(m) + "{pod=~\"b.*\"}";
    const std::string sel_e = "m" + std::to_string(m) + "{pod=~\"c.*\"}";
    const bool gauge = m % 2 == 0;
    auto q = [&](const std::string& sel) {
      return gauge ? "avg(" + sel + ")" : "sum by (container) (rate(" + sel + "[2m]))";
    };
    spec.metrics.push_back({"m" + std::to_string(m), *canaryd::select::ParseQuery(q(sel_c)),
                            *canaryd::select::ParseQuery(q(sel_e))});
  }
  const auto id = store.AddAnalysis(std::move(spec));
  // Series: metric m, pod b<i> or c<i>, container i % 3.
  std::vector<std::string> keys;
  for (int m = 0; m < 10; ++m) {
    for (int i = 0; i < pods; ++i) {
      for (const char* side : {"b", "c"}) {
        std::string key;
        canaryd::model::AppendLabel(key, "__name__", "m" + std::to_string(m));
        canaryd::model::AppendLabel(key, "container", "k" + std::to_string(i % 3));
        canaryd::model::AppendLabel(key, "pod", side + std::to_string(i));
        keys.push_back(std::move(key));
      }
    }
  }
  int64_t t = kStart - 120'000;
  auto feed = [&](int64_t until) {
    canaryd::model::SeriesBatch batch;
    for (; t <= until; t += 15'000) {
      batch.Clear();
      for (const std::string& key : keys) {
        const auto h = canaryd::model::HashLabelKey128(key);
        batch.series.push_back({key, h.lo, h.hi, static_cast<uint32_t>(batch.samples.size()), 1});
        batch.samples.push_back({t, static_cast<double>(t / 1000)});
      }
      clock.SetMillis(t);
      store.Append(batch);
    }
  };
  int64_t step = kStart;
  for (auto _ : state) {
    state.PauseTiming();
    feed(step + 60'000);
    state.ResumeTiming();
    benchmark::DoNotOptimize(store.CloseThrough(id, step));
    step += 60'000;
  }
  state.counters["member_series"] = static_cast<double>(keys.size());
  state.counters["ns_per_member_series"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(keys.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  const auto info = store.Info(id);
  state.counters["analysis_bytes"] = static_cast<double>(info->memory_bytes);
}
BENCHMARK(BM_CloseStep)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Memory of one analysis once its rings are full, against the documented formula:
//   rings:  metrics x tag sets x 2 sides x (8 B x capacity + 56 B)
//   series: member series x (~160 B + 16 B x samples held)
void BM_AnalysisMemory(benchmark::State& state) {
  const auto capacity = static_cast<size_t>(state.range(0));
  canaryd::ManualClock clock(kStart);
  canaryd::MetricsRegistry metrics;
  canaryd::series::SeriesTable table;
  canaryd::window::WindowOptions options;
  options.max_steps = capacity;
  WindowStore store(table, clock, metrics, options);
  canaryd::window::AnalysisWindowSpec spec;
  spec.start_ms = kStart;
  for (int m = 0; m < 10; ++m) {
    const std::string name = "m" + std::to_string(m);
    spec.metrics.push_back({name, *canaryd::select::ParseQuery("avg by (route) (" + name + "{pod=~\"b.*\"})"),
                            *canaryd::select::ParseQuery("avg by (route) (" + name + "{pod=~\"c.*\"})")});
  }
  const auto id = store.AddAnalysis(std::move(spec));
  std::vector<std::string> keys;  // 10 metrics x 4 routes x 8 pods per side
  for (int m = 0; m < 10; ++m) {
    for (int r = 0; r < 4; ++r) {
      for (int i = 0; i < 8; ++i) {
        for (const char* side : {"b", "c"}) {
          std::string key;
          canaryd::model::AppendLabel(key, "__name__", "m" + std::to_string(m));
          canaryd::model::AppendLabel(key, "pod", side + std::to_string(i));
          canaryd::model::AppendLabel(key, "route", "/r" + std::to_string(r));
          keys.push_back(std::move(key));
        }
      }
    }
  }
  canaryd::model::SeriesBatch batch;
  const int64_t end = kStart + static_cast<int64_t>(capacity + 10) * 60'000;
  for (int64_t t = kStart - 300'000; t <= end; t += 15'000) {
    batch.Clear();
    for (const std::string& key : keys) {
      const auto h = canaryd::model::HashLabelKey128(key);
      batch.series.push_back({key, h.lo, h.hi, static_cast<uint32_t>(batch.samples.size()), 1});
      batch.samples.push_back({t, 1.0});
    }
    clock.SetMillis(t);
    store.Append(batch);
    store.Tick();
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.Info(id));
  }
  const auto info = store.Info(id);
  const double tag_sets = 10 * 4;
  const double rings = tag_sets * 2 * (8.0 * static_cast<double>(capacity) + 56);
  state.counters["steps_held"] = static_cast<double>(info->steps_held);
  state.counters["member_series"] = static_cast<double>(keys.size());
  state.counters["measured_bytes"] = static_cast<double>(info->memory_bytes);
  state.counters["ring_formula_bytes"] = rings;
  state.counters["series_bytes_each"] =
      (static_cast<double>(info->memory_bytes) - rings) / static_cast<double>(keys.size());
}
BENCHMARK(BM_AnalysisMemory)->Arg(60)->Arg(1440)->Unit(benchmark::kMicrosecond);

}  // namespace
