#pragma once
// NetflixACAJudge-v1.0: per-metric classification (Kayenta's MannWhitneyClassifier behind NaN and
// outlier handling) and the weighted-sum scorer, reproducing Kayenta's numbers (see
// docs/judge.md and ../shared/reference/kayenta-judge.md section 1), plus the evidence Kayenta
// does not report: the interval, estimate, bound, effect size, p-value, sample counts and the rule
// that decided.
//
// Usage:
//   auto config = canaryconfig::ParseCanaryConfig(json).value();
//   judge::JudgeOptions options{.pass = 95, .marginal = 75};
//   auto result = judge::Judge(config, pairs, options);   // pairs from the windows
//   if (result) std::cout << judge::JudgeResultToJson(*result);
//
// Thread safety: all functions are pure (no shared state) and may run concurrently.

#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/model/metric_set_pair.h"

namespace canaryd::judge {

inline constexpr std::string_view kJudgeName = "NetflixACAJudge-v1.0";
/// Kayenta's hard-coded judge constants (NetflixACAJudge.scala), the defaults here.
inline constexpr double kDefaultTolerance = 0.25;
inline constexpr double kDefaultConfLevel = 0.98;

/// Per-metric labels, spelled in JSON as Kayenta spells them.
enum class Classification { kPass, kHigh, kLow, kNodata, kNodataFailMetric, kError };
std::string_view ClassificationName(Classification c);

/// The rule that decided a classification (`details.rule` in JSON).
enum class Rule {
  kMissingData,          // a side has no values (Nodata, or NodataFailMetric with mustHaveData)
  kMissingDataReplaced,  // nanStrategy replace and a side had no values at all: Pass
  kIdentical,            // sorted sides identical: Pass
  kSingleValue,          // every value on both sides the same: Pass
  kHigh,                 // interval above +bound, effect size >= allowedIncrease
  kLow,                  // interval below -bound, effect size <= allowedDecrease
  kCriticalHigh,         // kHigh on a critical metric with effect >= criticalIncrease
  kCriticalLow,          // kLow on a critical metric with effect <= criticalDecrease
  kWithinBound,          // interval not beyond +-bound: Pass
  kEffectSizeTooSmall,   // interval beyond the bound, but the effect-size threshold not met: Pass
  kDirectionIgnored,     // interval beyond the bound on the side `direction` does not judge: Pass
  kClassificationFailed  // the test could not be computed (all observations tied): Error
};
std::string_view RuleName(Rule r);  // "missing_data", "critical_high", ...

/// Kayenta's `stats` per side, on the values after NaN and outlier handling. All 0 if empty.
struct DescriptiveStats {
  double min = 0, max = 0, mean = 0;
  double std = 0;  // sample standard deviation (n - 1); 0 for one value
  int64_t count = 0;
};

/// What the classifier computed, beyond the label. Unset values were not computed because an
/// earlier rule decided (e.g. missing data).
struct Evidence {
  std::optional<double> ci_lower, ci_upper;  // confidence interval of the shift E - C
  std::optional<double> estimate;            // location shift E - C
  std::optional<double> bound;               // tolerance * |estimate|
  std::optional<double> effect_size;         // mean ratio or CLES (NaN: a mean was 0)
  std::optional<double> p_value;             // two-sided, from the same statistic
  canaryconfig::EffectSizeMeasure effect_size_measure = canaryconfig::EffectSizeMeasure::kMeanRatio;
  double tolerance = kDefaultTolerance;
  double conf_level = kDefaultConfLevel;
  int64_t control_count = 0;  // values judged, after NaN and outlier handling
  int64_t experiment_count = 0;
  bool noise_added = false;  // both sides were constant: Gaussian noise broke the ties
};

struct MetricClassification {
  Classification classification = Classification::kPass;
  Rule rule = Rule::kWithinBound;
  /// Human-readable: starts with Kayenta's own reason text where Kayenta gives one (e.g. "cpu
  /// was classified as High"), followed by the rule and its numbers.
  std::string reason;
  double deviation = 1.0;  // resultMetadata.ratio: mean(E) / mean(C), NaN if a mean is 0
  bool critical = false;   // a failure that fails the whole canary
  Evidence evidence;
};

/// Inputs of Kayenta's MannWhitneyClassifier for one metric.
struct ClassifierParams {
  double tolerance = kDefaultTolerance;
  double conf_level = kDefaultConfLevel;
  canaryconfig::Direction direction = canaryconfig::Direction::kEither;
  canaryconfig::NanStrategy nan_strategy = canaryconfig::NanStrategy::kRemove;
  canaryconfig::EffectSizeConfig effect_size;
  bool critical = false;
  bool must_have_data = false;
  uint64_t noise_seed = 0;  // seeds the tie-breaking noise (Kayenta: unseeded)
};

/// MannWhitneyClassifier.classify on already preprocessed values (no NaN handling here).
MetricClassification ClassifyMannWhitney(std::string_view metric_name,
                                         std::span<const double> control,
                                         std::span<const double> experiment,
                                         const ClassifierParams& params);

/// Kayenta's MeanInequalityClassifier (not used by NetflixACAJudge; kept for its test vectors):
/// High/Low when the experiment mean is above/below the control mean in a judged direction.
Classification ClassifyMeanInequality(std::span<const double> control,
                                      std::span<const double> experiment,
                                      canaryconfig::Direction direction);

/// NaN strategy then (if configured) IQR outlier removal, for one side.
std::vector<double> Preprocess(std::span<const double> values,
                               const canaryconfig::MetricAnalysisConfig& analysis);

/// Percentile with commons-math's R-7 estimation (numpy "linear"), p in (0, 100]; `sorted` must
/// be ascending. NaN if empty.
double PercentileR7(std::span<const double> sorted, double p);

DescriptiveStats Describe(std::span<const double> values);

/// One judged MetricSetPair.
struct MetricResult {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> groups;
  bool muted = false;
  MetricClassification classification;
  DescriptiveStats control_stats;
  DescriptiveStats experiment_stats;
};

/// One group's score (0 to 100); `no_data` if none of its results counted.
struct GroupScore {
  std::string name;
  double score = 0;
  bool no_data = false;
};

enum class ScoreClassification { kPass, kMarginal, kFail };
std::string_view ScoreClassificationName(ScoreClassification c);

struct JudgeScore {
  double score = 0;  // rounded HALF_UP to 2 decimals
  ScoreClassification classification = ScoreClassification::kFail;
  std::string reason;  // "" or "Canary Failed: ..."
};

struct ScoreResult {
  double score = 0;
  std::string reason;
  std::vector<GroupScore> group_scores;  // in order of first appearance
};

/// Kayenta's WeightedSumScorer over the unmuted results: a critical non-Pass or >= 50% Nodata
/// forces 0; otherwise the weighted sum of group scores (groups without a weight share what is
/// left of 100 equally; a group with no counted result counts as 100).
ScoreResult ScoreResults(std::span<const MetricResult> results,
                         const std::map<std::string, double>& group_weights);

/// Rounds like commons-math Precision.round(x, 2): HALF_UP on the shortest decimal form.
double RoundHalfUp2(double x);

/// >= pass: Pass; >= marginal: Marginal; else Fail.
ScoreClassification ClassifyScore(double score, double pass, double marginal);

struct JudgeOptions {
  double pass = 75;
  double marginal = 50;
  uint64_t seed = 0;  // tie-breaking noise; each pair's stream is derived from it and the pair
};

struct JudgeResult {
  std::string judge_name{kJudgeName};
  JudgeScore score;
  std::vector<GroupScore> group_scores;
  std::vector<MetricResult> results;
};

/// A pair that cannot be judged with this config (Kayenta fails the whole judgment).
struct JudgeError {
  size_t pair_index = 0;
  std::string message;
};
[[noreturn]] void throw_exception_from_error(  // NOLINT(readability-identifier-naming)
    const JudgeError& e, const boost::source_location& loc);

/// Classifies one pair with its metric's configuration. Tolerance and confidence come from
/// `config.judge` (Kayenta's 0.25 / 0.98 when unset).
MetricResult JudgeMetric(const canaryconfig::CanaryConfig& config,
                         const canaryconfig::MetricConfig& metric, const model::MetricSetPair& pair,
                         uint64_t seed);

/// The whole judgment: every pair classified (in order), then scored. Error if a pair names no
/// metric of the config.
boost::system::result<JudgeResult, JudgeError> Judge(const canaryconfig::CanaryConfig& config,
                                                     std::span<const model::MetricSetPair> pairs,
                                                     const JudgeOptions& options);

}  // namespace canaryd::judge
