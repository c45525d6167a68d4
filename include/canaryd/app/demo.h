#pragma once
// `canaryd demo`: the whole product on an embedded default, with nothing else running.
//
// It starts the synthetic fleet (demo::SyntheticFleet: 3 baseline and 3 canary pods on loopback
// ports, the canary carrying the chosen regression), a canaryd Service on 127.0.0.1 port 0 whose
// embedded scraper scrapes the pods every second, and an analysis with the built-in canary config
// (demo::DemoAnalysis: 2 s steps, three intervals over `duration`). While it runs it shows the
// elapsed time, the samples ingested and the steps closed; per judged interval the score and a
// per-metric table (classification, estimate, confidence interval). At the end it prints the
// verdict and the verdict the regression should produce, and writes the analysis as
// GET /api/v1/analyses/{id} returns it (plus the last step values seen) to `output`.
//
// Exit code: 0 if the verdict is the expected one (FAIL for a regression, PASS for none), 1
// otherwise (or if something failed to start, or the analysis did not finish in time).
// SIGINT/SIGTERM cancel the analysis and end the demo (exit 1).
//
// Thread safety: runs on the calling thread; call it once per process (it blocks SIGINT and
// SIGTERM in the calling thread before starting threads, which inherit the mask).

#include <chrono>
#include <cstdio>
#include <string>

#include "canaryd/demo/synthetic_fleet.h"

namespace canaryd::app {

struct DemoOptions {
  demo::Regression regression = demo::Regression::kLatency;
  std::chrono::milliseconds duration{std::chrono::seconds(60)};
  std::string output = "demo-result.json";
  /// Only the final verdict lines (no live progress, no tables).
  bool quiet = false;
  /// canaryd's log level while the demo runs (its log lines go to stderr).
  std::string log_level = "warn";
  /// The fleet's random seed.
  uint64_t seed = 1;
};

/// Runs the demo, printing to `out`; returns the process exit code (0 or 1).
int RunDemo(const DemoOptions& options, std::FILE* out = stdout);

}  // namespace canaryd::app
