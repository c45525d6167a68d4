// Exposition parser throughput (bytes/s and samples/s, one core): a generated node_exporter-like
// target of 100k series (2-5 labels each, histograms and summaries included) in the Prometheus
// text format and in OpenMetrics, and the captured real node_exporter and Prometheus outputs.
// Run from a release build on a quiet machine:
//   taskset -c 1 build/release/bench/canaryd_bench_scrape --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Results: docs/benchmarks.md ("Scrape parser").
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "canaryd/scrape/exposition.h"

namespace {

using canaryd::scrape::ExpositionFormat;
using canaryd::scrape::ExpositionParser;
using canaryd::scrape::ExpositionSample;
using canaryd::scrape::ExpositionVisitor;
using canaryd::scrape::ParseError;

// What a scrape loop does at least: look at every field once.
class Sink : public ExpositionVisitor {
 public:
  void OnSample(const ExpositionSample& s) override {
    ++samples;
    bytes += s.series_text.size() + s.labels.size();
    sum += s.value;
  }
  size_t samples = 0;
  size_t bytes = 0;
  double sum = 0;
};

// node_exporter-like families; `om` writes OpenMetrics (counters' `_total` samples under the
// family name, `# EOF`), otherwise the text format.
std::string Generate(size_t target_series, bool om) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> real(0, 1e7);
  std::uniform_int_distribution<int> small(0, 100000);
  std::string out;
  out.reserve(target_series * 100);
  size_t series = 0;
  char num[64];
  auto value = [&]() -> const char* {
    const int kind = small(rng) % 4;
    if (kind == 0) {
      std::snprintf(num, sizeof num, "%d", small(rng));
    } else if (kind == 1) {
      std::snprintf(num, sizeof num, "%.17g", real(rng));
    } else if (kind == 2) {
      std::snprintf(num, sizeof num, "%g", real(rng));
    } else {
      std::snprintf(num, sizeof num, "%.6e", real(rng));
    }
    return num;
  };
  auto header = [&](const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  const char* modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
  const char* les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                       "10", "+Inf"};
  for (int round = 0; series < target_series; ++round) {
    const std::string r = std::to_string(round);
    // 2 labels: per-CPU counters.
    {
      const std::string fam = "node_cpu_seconds_" + r;
      header(fam, "counter", "Seconds the CPUs spent in each mode.");
      for (int cpu = 0; cpu < 32; ++cpu) {
        for (const char* mode : modes) {
          out += fam + "_total{cpu=\"" + std::to_string(cpu) + "\",mode=\"" + mode + "\"} ";
          out += value();
          out += '\n';
          ++series;
        }
      }
    }
    // 3 labels: filesystem gauges.
    {
      const std::string fam = "node_filesystem_avail_bytes_" + r;
      header(fam, "gauge", "Filesystem space available to non-root users in bytes.");
      for (int i = 0; i < 64; ++i) {
        out += fam + "{device=\"/dev/nvme0n1p" + std::to_string(i) +
               "\",fstype=\"ext4\",mountpoint=\"/var/lib/kubelet/pods/" + std::to_string(i * 7919) +
               "/volumes\"} ";
        out += value();
        out += '\n';
        ++series;
      }
    }
    // 4-5 labels: a request histogram per handler and code.
    {
      const std::string fam = "http_request_duration_seconds_" + r;
      header(fam, "histogram", "A histogram of latencies for requests.");
      const char* handlers[] = {"/api/v1/query", "/api/v1/write", "/metrics", "/-/ready"};
      const char* codes[] = {"200", "204", "400", "503"};
      for (const char* handler : handlers) {
        for (const char* code : codes) {
          const std::string base = "handler=\"" + std::string(handler) + "\",code=\"" + code +
                                   "\",method=\"POST\",instance=\"10.1.2.3:9100\"";
          for (const char* le : les) {
            out += fam + "_bucket{" + base + ",le=\"" + le + "\"} " + std::to_string(small(rng)) + "\n";
          }
          out += fam + "_sum{" + base + "} " + value() + "\n";
          out += fam + "_count{" + base + "} " + std::to_string(small(rng)) + "\n";
          series += std::size(les) + 2;
        }
      }
    }
    // 3 labels: a summary.
    {
      const std::string fam = "go_gc_duration_seconds_" + r;
      header(fam, "summary", "A summary of the pause duration of garbage collection cycles.");
      for (const char* q : {"0", "0.25", "0.5", "0.75", "1"}) {
        out += fam + "{job=\"node\",instance=\"10.1.2.3:9100\",quantile=\"" + q + "\"} " + value() + "\n";
      }
      out += fam + "_sum 0.0123\n" + fam + "_count 4711\n";
      series += 7;
    }
  }
  if (om) out += "# EOF\n";
  return out;
}

std::string ReadFile(const char* path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void Run(benchmark::State& state, const std::string& body, ExpositionFormat format) {
  ExpositionParser parser;
  ParseError error;
  size_t samples = 0;
  for (auto _ : state) {
    Sink sink;
    if (!parser.Parse(body, format, sink, error)) {
      state.SkipWithError(("parse error at line " + std::to_string(error.line) + ": " +
                           error.message).c_str());
      return;
    }
    samples = sink.samples;
    benchmark::DoNotOptimize(sink.sum);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
}

void BM_Scrape_ParseGenerated100kText(benchmark::State& state) {
  static const std::string body = Generate(100'000, false);
  Run(state, body, ExpositionFormat::kPrometheusText);
}
BENCHMARK(BM_Scrape_ParseGenerated100kText)->Unit(benchmark::kMillisecond);

void BM_Scrape_ParseGenerated100kOpenMetrics(benchmark::State& state) {
  static const std::string body = Generate(100'000, true);
  Run(state, body, ExpositionFormat::kOpenMetrics);
}
BENCHMARK(BM_Scrape_ParseGenerated100kOpenMetrics)->Unit(benchmark::kMillisecond);

void BM_Scrape_ParseNodeExporterCapture(benchmark::State& state) {
  static const std::string body = ReadFile(CANARYD_SCRAPE_TESTDATA "/node_exporter.prom");
  Run(state, body, ExpositionFormat::kPrometheusText);
}
BENCHMARK(BM_Scrape_ParseNodeExporterCapture)->Unit(benchmark::kMicrosecond);

void BM_Scrape_ParsePrometheusOpenMetricsCapture(benchmark::State& state) {
  static const std::string body = ReadFile(CANARYD_SCRAPE_TESTDATA "/prometheus_openmetrics.txt");
  Run(state, body, ExpositionFormat::kOpenMetrics);
}
BENCHMARK(BM_Scrape_ParsePrometheusOpenMetricsCapture)->Unit(benchmark::kMicrosecond);

}  // namespace
