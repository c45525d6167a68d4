#pragma once
// Kayenta's canary configuration (the JSON document Kayenta stores and the Spinnaker UI edits),
// read unchanged: a config that works with Kayenta works here. What each field means is in
// docs/judge.md; the judge reads `analysisConfigurations.canary` (MetricAnalysisConfig), issue 3's
// selection reads `query` and `templates`.
//
// Parsing differs from Kayenta's Jackson mapping in one deliberate way: Kayenta silently maps an
// unknown enum string (e.g. "direction": "increse") to the default, which hides typos that change
// verdicts; here such values are errors. Unknown fields are ignored, as in Kayenta. Values of the
// wrong JSON type are errors (Kayenta fails the whole judgment on some of them at run time).
//
// Thread safety: plain values; the functions are pure and may be called from any thread.

#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::canaryconfig {

/// `query` of a metric (Kayenta's PrometheusCanaryMetricSetQueryConfig). Kept as raw strings:
/// templates and query building are the selection module's business, not this parser's.
struct PrometheusQuery {
  std::string type;  // "prometheus"
  std::string metric_name;
  std::optional<std::string> custom_filter_template;  // name of an entry in CanaryConfig::templates
  std::optional<std::string> custom_inline_template;  // template text; "PromQL:..." = whole query
  std::vector<std::string> label_bindings;            // extra selectors, e.g. `mode=~"user|system"`
  std::vector<std::string> group_by_fields;           // -> avg(...) by (a,b)
  std::string resource_type;                          // "gce_instance", "aws_ec2_instance" or empty

  bool operator==(const PrometheusQuery&) const = default;
};

/// `analysisConfigurations.canary.direction`: which way of change is a failure.
enum class Direction { kEither, kIncrease, kDecrease };
/// `nanStrategy`: NaN samples are dropped (remove, Kayenta's "none" default) or become 0.
enum class NanStrategy { kRemove, kReplace };
/// `outliers.strategy`: keep (default) or drop IQR outliers before the test.
enum class OutlierStrategy { kKeep, kRemove };
/// `effectSize.measure`: mean ratio mean(E)/mean(C) (default) or CLES (P(E > C)).
enum class EffectSizeMeasure { kMeanRatio, kCles };

/// `analysisConfigurations.canary.effectSize`. Thresholds that were not set stay empty so that
/// the serialized config says what the user wrote; the accessors apply Kayenta's defaults (1.0 for
/// the mean ratio, 0.5 for CLES, where each means "no effect").
struct EffectSizeConfig {
  EffectSizeMeasure measure = EffectSizeMeasure::kMeanRatio;
  std::optional<double> allowed_increase;
  std::optional<double> allowed_decrease;
  std::optional<double> critical_increase;
  std::optional<double> critical_decrease;

  double DefaultThreshold() const { return measure == EffectSizeMeasure::kCles ? 0.5 : 1.0; }
  double AllowedIncrease() const { return allowed_increase.value_or(DefaultThreshold()); }
  double AllowedDecrease() const { return allowed_decrease.value_or(DefaultThreshold()); }
  double CriticalIncrease() const { return critical_increase.value_or(DefaultThreshold()); }
  double CriticalDecrease() const { return critical_decrease.value_or(DefaultThreshold()); }

  bool operator==(const EffectSizeConfig&) const = default;
};

/// `analysisConfigurations.canary.outliers`.
struct OutlierConfig {
  OutlierStrategy strategy = OutlierStrategy::kKeep;
  double outlier_factor = 3.0;  // IQR multiplier for the fences; > 0

  bool operator==(const OutlierConfig&) const = default;
};

/// Everything the judge reads from `analysisConfigurations.canary`, with Kayenta's defaults.
struct MetricAnalysisConfig {
  Direction direction = Direction::kEither;
  NanStrategy nan_strategy = NanStrategy::kRemove;
  bool critical = false;        // a High/Low (or Nodata) of this metric fails the whole canary
  bool must_have_data = false;  // missing data counts as a failure (NodataFailMetric)
  bool muted = false;           // judged and reported, but left out of the score
  EffectSizeConfig effect_size;
  OutlierConfig outliers;

  bool operator==(const MetricAnalysisConfig&) const = default;
};

/// One entry of `metrics`.
struct MetricConfig {
  std::string name;  // unique within the config; MetricSetPairs refer to it
  std::vector<std::string> groups;
  std::string scope_name = "default";
  PrometheusQuery query;
  MetricAnalysisConfig analysis;

  bool operator==(const MetricConfig&) const = default;
};

/// `classifier.scoreThresholds`. Kayenta's judge ignores them (thresholds come with each run);
/// kept so that stored configs round-trip and UIs can offer them as defaults.
struct ScoreThresholds {
  double pass = 75;
  double marginal = 50;

  bool operator==(const ScoreThresholds&) const = default;
};

/// `judge`. Kayenta hard-codes tolerance 0.25 and confidence 0.98; canaryd lets a config override
/// them through `judge.judgeConfigurations.tolerance` / `.confLevel` (unset = Kayenta's values).
struct JudgeConfig {
  std::string name = "NetflixACAJudge-v1.0";
  std::optional<double> tolerance;   // >= 0
  std::optional<double> conf_level;  // in (0, 1)

  bool operator==(const JudgeConfig&) const = default;
};

struct CanaryConfig {
  std::string id;
  std::string name;
  std::string description;
  std::string config_version;
  std::vector<std::string> applications;
  std::vector<MetricConfig> metrics;
  std::map<std::string, std::string> templates;  // named filter templates
  std::map<std::string, double> group_weights;   // classifier.groupWeights
  std::optional<ScoreThresholds> score_thresholds;
  JudgeConfig judge;

  /// The metric named `name`, or nullptr.
  const MetricConfig* FindMetric(std::string_view metric_name) const;

  bool operator==(const CanaryConfig&) const = default;
};

/// One thing wrong with a config: where (a JSON path such as
/// `metrics[2].analysisConfigurations.canary.direction`, empty for the document itself) and what.
struct ConfigProblem {
  std::string path;
  std::string message;

  /// "path: message", or just the message for the document itself.
  std::string ToString() const;
  bool operator==(const ConfigProblem&) const = default;
};

/// Every problem found in a config, in document order (never empty when returned as an error).
struct ConfigErrors {
  std::vector<ConfigProblem> problems;

  /// One problem per line.
  std::string ToString() const;
};

/// Lets boost::system::result<T, ConfigErrors>::value() report a failure (start-up code only).
[[noreturn]] void throw_exception_from_error(  // NOLINT(readability-identifier-naming): ADL hook
    const ConfigErrors& e, const boost::source_location& loc);

template <typename T>
using ConfigResult = boost::system::result<T, ConfigErrors>;

/// Parses a Kayenta canary config. On failure returns every problem found (bad JSON syntax stops
/// at the first; otherwise the whole document is checked), each naming its JSON path.
/// Never throws (except std::bad_alloc).
ConfigResult<CanaryConfig> ParseCanaryConfig(std::string_view json);

/// Checks a config built in code the same way ParseCanaryConfig checks a parsed one (names,
/// uniqueness, numeric ranges). Empty if valid.
std::vector<ConfigProblem> ValidateCanaryConfig(const CanaryConfig& config);

/// The config as Kayenta JSON (compact). Fields left at "unset" are omitted, so
/// ParseCanaryConfig(SerializeCanaryConfig(c)) == c for every valid config.
std::string SerializeCanaryConfig(const CanaryConfig& config);

/// Stable spellings used in JSON: "either"/"increase"/"decrease", "remove"/"replace",
/// "keep"/"remove", "meanRatio"/"cles".
std::string_view DirectionName(Direction d);
std::string_view NanStrategyName(NanStrategy s);
std::string_view OutlierStrategyName(OutlierStrategy s);
std::string_view EffectSizeMeasureName(EffectSizeMeasure m);

}  // namespace canaryd::canaryconfig
