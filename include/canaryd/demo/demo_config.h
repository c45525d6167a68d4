#pragma once
// The canary config `canaryd demo` judges the synthetic fleet with, and what it should conclude.
//
// Thread safety: pure functions returning constants.

#include <chrono>
#include <string_view>

#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/demo/synthetic_fleet.h"
#include "canaryd/scrape/scrape_config.h"

namespace canaryd::demo {

/// The demo's scope name, and the control and experiment scopes (the fleet's pod name infixes).
inline constexpr std::string_view kScopeName = "default";
inline constexpr std::string_view kControlScope = "baseline";
inline constexpr std::string_view kExperimentScope = "canary";

/// The built-in canary config, in Kayenta's JSON format. Every query selects pods with
/// `app="demo",pod=~"demo-${scope}-.*"`: through the named template `pods` (Kayenta's default
/// `avg(metric{filter})` query, for the gauges) or inside a `PromQL:` customInlineTemplate (for
/// counters and the histogram, which need rate()). Three groups:
///   Latency (40):    p50 and p90 latency (histogram_quantile over the histogram's 5 s rate) and
///                    requests in flight
///   Errors (30):     5xx responses per second; critical, so an error regression fails the canary
///                    at the first interval that sees it
///   Saturation (30): CPU cores used (rate of process_cpu_seconds_total), and resident memory
///                    (muted: shown, not scored)
/// Every metric is judged on increase only, with an effect-size threshold (mean ratio 1.2; 1.5
/// for errors) far above what the fleet's noise produces and far below its regressions. So each
/// regression takes its whole group to 0 (score 60 or 70, below the pass threshold 75, or 0 for a
/// critical error), and kNone scores 100.
std::string_view DemoCanaryConfigJson();

/// The demo's timing: a sample every second per target, a value every 2 s per metric and side,
/// and three judgments over the run.
inline constexpr std::chrono::milliseconds kScrapeInterval{1000};
inline constexpr std::chrono::milliseconds kStep{2000};
inline constexpr int kIntervals = 3;

/// The analysis `canaryd demo` starts: DemoCanaryConfigJson() with the scopes above, a step of
/// kStep, a lifetime of `duration` (rounded down to whole steps; at least 3 steps per interval)
/// judged in kIntervals intervals (growing lookback), thresholds pass 75 and marginal 50.
analysis::AnalysisDefinition DemoAnalysis(std::chrono::milliseconds duration);

/// The scrape job for the fleet: job "demo", every kScrapeInterval, one static target group per
/// pod (SyntheticFleet::TargetGroups).
scrape::ScrapeConfig DemoScrapeConfig(const SyntheticFleet& fleet);

/// The verdict an analysis of the fleet should end with: "PASS" for kNone, "FAIL" otherwise.
std::string_view ExpectedVerdict(Regression regression);

}  // namespace canaryd::demo
