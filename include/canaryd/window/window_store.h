#pragma once
// The WindowStore turns the stream of series into the two sides of every running analysis, one
// value per step, with Prometheus range-query semantics (step_eval.h).
//
// Selection. Each active analysis contributes, per metric and side, one label selector. A series
// is matched against all selectors once, on first sight (a name index makes that a handful of
// matcher runs), and the result is cached in the series table's attachment word: "feeds
// nothing", or a pointer to the series' SeriesState listing what it feeds. Adding an analysis
// matches only its own selectors against the series already known; removing one drops its
// memberships. Later samples of a series cost the table lookup plus, for selected series, an
// append to its short sample history; no regex ever runs per sample.
//
// Windows. Step boundaries are start + k*step. Step t closes once the analysis' watermark (the
// newest sample time of its series, moved on by the wall clock when its series go quiet) passes
// t + late allowance; samples are placed by their own timestamps, so samples arriving late but
// within the allowance count. Closing evaluates each member series at t (latest sample within the
// lookback delta, or rate/irate/increase over the range), aggregates per tag set and appends one
// value per (metric, tag set, side) to a StepRing. Per series, out-of-order and duplicate
// samples are dropped and counted, as are samples too old for any step still open.
//
// Memory (see docs/architecture.md for the formula): per analysis, 2 rings of
// 8 B x capacity per metric and tag set; per selected series, its samples within
// lookback-or-range + allowance + step.
//
// Thread safety: all public methods are thread-safe. Append runs concurrently on ingest threads
// under a shared lock; AddAnalysis, RemoveAnalysis and ExpireIdle take it exclusively (they wait
// for requests in flight, which take microseconds to a few milliseconds).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/ingest/sample_sink.h"
#include "canaryd/model/metric_set_pair.h"
#include "canaryd/select/promql.h"
#include "canaryd/select/selector_index.h"
#include "canaryd/series/series_table.h"

namespace canaryd::window {

using AnalysisId = uint64_t;

enum class Side : uint8_t { kControl = 0, kExperiment = 1 };

/// One metric of an analysis: the query each side evaluates (same shape, scope-specific
/// selectors).
struct MetricQueries {
  std::string name;
  select::QueryPlan control;
  select::QueryPlan experiment;
};

struct Lookback {
  enum class Mode { kGrowing, kSliding };
  Mode mode = Mode::kGrowing;
  int64_t length_ms = 0;  // kSliding: how far back a judgment looks
};

struct AnalysisWindowSpec {
  std::vector<MetricQueries> metrics;
  int64_t start_ms = 0;  // first step boundary (ms since the epoch)
  int64_t step_ms = 60'000;
  Lookback lookback;
  /// Spinnaker's baselineAnalysisOffset: the control side's step t is evaluated at
  /// t - control_offset_ms (its samples are kept that much longer).
  int64_t control_offset_ms = 0;
};

struct WindowOptions {
  /// How far back an instant selector looks for a sample (Prometheus's --query.lookback-delta).
  int64_t lookback_delta_ms = 5 * 60'000;
  /// How long after a step boundary its samples may still arrive; <= 0 means one step.
  int64_t late_allowance_ms = 0;
  /// Ring capacity cap: a growing window keeps at most this many newest steps.
  size_t max_steps = 1440;
  /// Tag sets per metric (groupByFields combinations); values of further tag sets are dropped.
  size_t max_tag_sets_per_metric = 100;
  /// Samples kept per series; the oldest go first (only very fast series reach it).
  size_t max_samples_per_series = 4096;
};

/// A snapshot of one analysis' windows.
struct AnalysisWindowInfo {
  int64_t start_ms = 0;
  int64_t step_ms = 0;
  int64_t next_step_ms = 0;      // the first step not yet closed
  uint64_t steps_closed = 0;
  size_t steps_held = 0;         // steps currently in the rings (<= capacity)
  size_t ring_capacity = 0;
  size_t control_series = 0;     // selected series (memberships) per side
  size_t experiment_series = 0;
  size_t memory_bytes = 0;       // rings, tag sets and the analysis' share of series state
};

class WindowStore final : public ingest::SampleSink {
 public:
  WindowStore(series::SeriesTable& table, const Clock& clock, MetricsRegistry& metrics,
              WindowOptions options = {});
  ~WindowStore() override;
  WindowStore(const WindowStore&) = delete;
  WindowStore& operator=(const WindowStore&) = delete;

  // SampleSink: records every series in the series table; selected series keep their samples.
  void Append(const model::SeriesBatch& batch) override;

  /// Starts windows for an analysis and selects the matching series already known.
  /// REQUIRES: spec.step_ms > 0 and at least one metric.
  AnalysisId AddAnalysis(AnalysisWindowSpec spec);
  /// Stops an analysis' windows and frees what only it used. False if unknown.
  bool RemoveAnalysis(AnalysisId id);

  /// Closes every step whose time has come, in every analysis; returns how many closed.
  size_t Tick();
  /// Closes the steps of `id` up to and including `t_ms` now, whatever the watermark says
  /// (for a retrospective window at its end). Returns how many closed.
  size_t CloseThrough(AnalysisId id, int64_t t_ms);

  /// The step values, Kayenta MetricSetPair shape: per metric (config order) and tag set (sorted),
  /// control and experiment of equal length, oldest step first. False if unknown.
  bool Snapshot(AnalysisId id, std::vector<model::MetricSetPair>& out) const;
  std::optional<AnalysisWindowInfo> Info(AnalysisId id) const;

  /// Removes series not seen for `retention`; returns how many left the table.
  size_t ExpireIdle(std::chrono::seconds retention);

  const WindowOptions& options() const { return options_; }

  // Implementation details, opaque to callers.
  struct SeriesState;
  struct Analysis;

 private:
  struct SelectorRef;

  uint32_t NowSeconds() const;
  uint64_t Classify(series::SeriesId id, std::string_view key);
  void AddMemberships(SeriesState& state, std::string_view key,
                      const std::vector<const SelectorRef*>& matched);
  void RebuildIndex();
  size_t CloseDue(Analysis& a, int64_t through_ms);
  void CloseStep(Analysis& a, int64_t t_ms);
  void PruneMembers(Analysis& a);

  series::SeriesTable& table_;
  const Clock& clock_;
  const WindowOptions options_;
  const std::chrono::steady_clock::time_point origin_;

  // Shared by Append and Tick; exclusive for changes to the set of analyses and for expiry.
  mutable std::shared_mutex mu_;
  // Serializes creating the SeriesState of a newly selected series (rare).
  std::mutex classify_mu_;
  // Serializes step closing (Tick, CloseThrough) across callers.
  std::mutex close_mu_;
  AnalysisId next_id_ = 1;
  std::unordered_map<AnalysisId, std::unique_ptr<Analysis>> analyses_;
  // Every selector of every analysis (tag = index into refs_), rebuilt when analyses change.
  select::SelectorIndex index_;
  std::vector<SelectorRef> refs_;

  Counter& series_created_;
  Counter& series_expired_;
  Counter& series_selected_;
  Counter& samples_appended_;
  Counter& samples_out_of_order_;
  Counter& samples_duplicate_;
  Counter& samples_too_late_;
  Counter& steps_closed_;
  Counter& tag_sets_dropped_;
};

}  // namespace canaryd::window
