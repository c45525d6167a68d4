// Judge benchmarks: one metric's classification (Mann-Whitney interval, estimate, p-value) at
// n = m = 1,000 and 10,000, and a whole 100-metric judgment. Run from a release build on a quiet
// machine:
//   build/release/bench/canaryd_bench_judge --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Results: docs/judge-benchmarks.md.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "canaryd/judge/judge.h"
#include "canaryd/judge/mann_whitney.h"

namespace {

using canaryd::judge::ClassifierParams;

enum class Shape { kNormal, kTies };

// Latency-like values (ms): normal around 100 with sd 10, the canary 2% slower; or heavy ties
// (integers 0..9), where the rank statistic is a step function.
std::vector<double> Sample(size_t n, double shift, Shape shape, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(100 + shift, 10);
  std::uniform_int_distribution<int> small(0, 9);
  std::vector<double> v(n);
  for (double& x : v) {
    x = shape == Shape::kNormal ? normal(rng) : small(rng) + (shift > 0 ? 1 : 0) * (small(rng) > 7);
  }
  return v;
}

void BM_Judge_ClassifyMetric(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const Shape shape = state.range(1) == 0 ? Shape::kNormal : Shape::kTies;
  const std::vector<double> control = Sample(n, 0, shape, 1);
  const std::vector<double> experiment = Sample(n, 2, shape, 2);
  const ClassifierParams params;  // Kayenta's 0.25 / 0.98
  int evaluations = 0;
  for (auto _ : state) {
    auto r = canaryd::judge::ClassifyMannWhitney("latency", control, experiment, params);
    benchmark::DoNotOptimize(r);
  }
  canaryd::judge::MannWhitney mw(experiment, control);
  evaluations = mw.Test(params.conf_level)->evaluations;
  state.counters["W_evaluations"] = evaluations;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * n));
  state.SetLabel(shape == Shape::kNormal ? "normal" : "ties");
}
BENCHMARK(BM_Judge_ClassifyMetric)
    ->ArgsProduct({{1000, 10000}, {0, 1}})
    ->ArgNames({"n", "ties"})
    ->Unit(benchmark::kMicrosecond);

void BM_Judge_Judge100Metrics(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  canaryd::canaryconfig::CanaryConfig config;
  std::vector<canaryd::model::MetricSetPair> pairs;
  for (int i = 0; i < 100; ++i) {
    canaryd::canaryconfig::MetricConfig m;
    m.name = "metric_" + std::to_string(i);
    m.groups = {"group_" + std::to_string(i % 5)};
    m.query.type = "prometheus";
    m.analysis.direction = canaryd::canaryconfig::Direction::kIncrease;
    config.metrics.push_back(m);
    canaryd::model::MetricSetPair p;
    p.name = m.name;
    p.control = Sample(n, 0, Shape::kNormal, 10 + i);
    p.experiment = Sample(n, i % 10 == 0 ? 10 : 0, Shape::kNormal, 1000 + i);
    pairs.push_back(std::move(p));
  }
  const canaryd::judge::JudgeOptions options;
  for (auto _ : state) {
    auto r = canaryd::judge::Judge(config, pairs, options);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Judge_Judge100Metrics)
    ->Arg(60)
    ->Arg(300)
    ->Arg(1000)
    ->ArgNames({"n"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
