#pragma once
// Continuous analyses: each is a Kayenta canary config judged every interval over its step
// windows, with Spinnaker's canary-stage semantics (reference: kayenta-judge.md section 5):
//
//   start      = creation time + beginAfter (warm-up), aligned down to a step
//   interval i = [window start, start + i x interval] for i = 1..lifetime/interval; the window
//                start is `start` (growing lookback) or end - lookback (sliding)
//   a score at or below `marginal` fails the analysis at once; the last interval passes at or
//   above `pass` and fails below it. In between, an interval that judges is CONTINUE.
//   An interval whose data is too thin (no metric with `min_steps` valued steps on both sides)
//   is NODATA; if the last one is, the analysis ends NODATA. A judge error ends it ERROR.
//   Once PASS, FAIL, NODATA, ERROR or CANCELLED, the verdict never changes.
//
// An interval is judged once the window store has closed its last step (the watermark passed it,
// or the wall clock did while the series were quiet), so a judgment never sees a half-filled
// step. Definitions and interval history are persisted to a data directory (one JSON file per
// analysis, written atomically: temp file, fsync, rename, fsync of the directory); after a restart
// Recover() re-creates the windows, which fill with the data that arrives from then on.
//
// Thread safety: all public methods are thread-safe (one mutex; judging runs outside it).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/system/result.hpp>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/metrics.h"
#include "canaryd/model/metric_set_pair.h"
#include "canaryd/window/analysis_spec.h"
#include "canaryd/window/window_store.h"

namespace canaryd::analysis {

enum class Verdict { kContinue, kPass, kFail, kNoData, kError, kCancelled };
/// "CONTINUE", "PASS", "FAIL", "NODATA", "ERROR", "CANCELLED".
std::string_view VerdictName(Verdict v);
bool IsFinal(Verdict v);

struct Webhook {
  std::string url;
  std::string secret;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What a user asks for (the API's POST body, decoded).
struct AnalysisDefinition {
  canaryconfig::CanaryConfig config;
  std::map<std::string, window::ScopePair> scopes;  // by scopeName
  int64_t step_ms = 60'000;
  window::Lookback lookback;  // growing (default) or sliding with a length
  double pass = 75;
  double marginal = 50;
  int64_t lifetime_ms = 0;     // required
  int64_t interval_ms = 0;     // 0, or more than the lifetime: one interval
  int64_t begin_after_ms = 0;  // warm-up before the window starts
  int64_t baseline_offset_ms = 0;  // the control window lags the experiment's by this much
  /// An explicit window start (ms since the epoch) instead of creation + begin_after. It may lie
  /// in the past only as far as canaryd has data (none before the analysis exists).
  std::optional<int64_t> start_ms;
  int64_t min_steps = 3;       // NODATA below this many valued steps per side
  uint64_t seed = 0;           // the judge's tie-breaking noise
  std::vector<Webhook> webhooks;
  /// Free-form labels (e.g. the Flagger canary an analysis belongs to); persisted, searchable.
  std::map<std::string, std::string> labels;
};

/// One judged (or skipped) interval.
struct IntervalRecord {
  int index = 0;  // 1-based
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;
  int64_t judged_at_ms = 0;  // wall clock
  std::optional<double> score;
  std::string classification;  // the judge's Pass / Marginal / Fail; "" without a judgment
  Verdict verdict = Verdict::kContinue;  // the analysis' verdict after this interval
  std::string reason;
};

struct AnalysisStatus {
  std::string id;
  AnalysisDefinition definition;
  int64_t created_ms = 0;
  int64_t start_ms = 0;  // first step of the window
  int intervals = 0;     // planned
  Verdict verdict = Verdict::kContinue;
  bool complete = false;
  std::string reason;
  std::vector<IntervalRecord> history;
  std::string latest_judge_result_json;  // Kayenta CanaryJudgeResult + details, "" before any
};

/// Told about every interval result (and so about completion: `status.complete`). Called
/// without the manager's lock held, from the thread that runs Tick().
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void OnInterval(const AnalysisStatus& status, const IntervalRecord& interval) = 0;
};

class AnalysisManager {
 public:
  /// `data_dir` empty: nothing is persisted.
  AnalysisManager(window::WindowStore& windows, const Clock& clock, MetricsRegistry& metrics,
                  std::filesystem::path data_dir);
  ~AnalysisManager();

  void SetListener(Listener* listener);

  /// Validates (every problem, with JSON paths), starts the windows, persists; returns the id.
  /// `requested_id`: a client-chosen id (letters, digits, '-', '_', '.'; at most 128), for
  /// idempotent creation; an id already in use is a problem (path "id").
  boost::system::result<std::string, canaryconfig::ConfigErrors> Create(
      AnalysisDefinition def, const std::string& requested_id = "");
  /// Cancels a running analysis (verdict CANCELLED; its windows stop). False if unknown.
  bool Cancel(const std::string& id);
  std::optional<AnalysisStatus> Get(const std::string& id) const;
  std::vector<AnalysisStatus> List() const;
  /// The most recently created analysis whose labels include all of `labels`.
  std::optional<AnalysisStatus> FindByLabels(const std::map<std::string, std::string>& labels) const;
  /// The step values of a running analysis (empty when complete or unknown).
  std::vector<model::MetricSetPair> StepValues(const std::string& id) const;

  /// Judges every interval that is due; returns how many were judged.
  size_t Tick();

  /// Loads the analyses persisted in the data directory (start-up). Returns how many; a file
  /// that cannot be read is logged, counted and skipped.
  size_t Recover();

 private:
  struct Entry;
  void Persist(const Entry& e);
  canaryconfig::ConfigResult<window::AnalysisId> StartWindows(const AnalysisStatus& s);

  window::WindowStore& windows_;
  const Clock& clock_;
  const std::filesystem::path data_dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  Listener* listener_ = nullptr;
  Counter& intervals_total_;
  Counter& persist_errors_;
  Counter& recover_errors_;
};

}  // namespace canaryd::analysis
