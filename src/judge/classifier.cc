// Kayenta's MannWhitneyClassifier, NaN/outlier transforms and descriptive statistics.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "canaryd/judge/judge.h"
#include "canaryd/judge/mann_whitney.h"
#include "judge/java_random.h"
#include "judge/order_key.h"

namespace canaryd::judge {
namespace {

using canaryconfig::Direction;
using canaryconfig::EffectSizeMeasure;
using canaryconfig::NanStrategy;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// commons-math StatUtils.mean: the sum in input order, then one correction pass.
double Mean(std::span<const double> v) {
  if (v.empty()) {
    return kNaN;
  }
  const double n = static_cast<double>(v.size());
  double sum = 0;
  for (const double x : v) {
    sum += x;
  }
  const double xbar = sum / n;
  double correction = 0;
  for (const double x : v) {
    correction += x - xbar;
  }
  return xbar + correction / n;
}

// commons-math StatUtils.variance (bias-corrected, two-pass with correction).
double Variance(std::span<const double> v, double mean) {
  if (v.size() < 2) {
    return 0;
  }
  double accum = 0, accum2 = 0;
  for (const double x : v) {
    const double dev = x - mean;
    accum += dev * dev;
    accum2 += dev;
  }
  const double n = static_cast<double>(v.size());
  return (accum - accum2 * accum2 / n) / (n - 1.0);
}

// Kayenta's EffectSizes.meanRatio(control, experiment).
double MeanRatio(std::span<const double> control, std::span<const double> experiment) {
  const double c = Mean(control), e = Mean(experiment);
  return c == 0.0 || e == 0.0 ? kNaN : e / c;
}

std::string Num(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Keys in Java's order: equal keys are the values Kayenta's `distinct` and ranking treat as one.
std::vector<int64_t> SortedKeys(std::span<const double> v) {
  std::vector<int64_t> keys(v.size());
  std::transform(v.begin(), v.end(), keys.begin(), OrderKey);
  SortKeys(keys.data(), keys.size());
  return keys;
}

bool Constant(const std::vector<int64_t>& sorted_keys) {
  return !sorted_keys.empty() && sorted_keys.front() == sorted_keys.back();
}

// Gaussian noise with sd = first value * 1e-5, as Kayenta breaks the ties of two constant sides.
Eigen::ArrayXd WithNoise(std::span<const double> v, JavaRandom& rng) {
  Eigen::ArrayXd out =
      Eigen::Map<const Eigen::ArrayXd>(v.data(), static_cast<Eigen::Index>(v.size()));
  const double sd = v.front() * 1e-5;
  for (Eigen::Index i = 0; i < out.size(); ++i) {
    out[i] += rng.NextGaussian() * sd;
  }
  return out;
}

std::string Interval(const Evidence& e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g%%", e.conf_level * 100);
  return std::string("the ") + buf + " confidence interval of the shift (experiment - control), [" +
         Num(*e.ci_lower) + ", " + Num(*e.ci_upper) + "],";
}

std::string Bound(const Evidence& e, const char* sign) {
  return std::string(sign) + "bound " + Num(*e.bound) + " (tolerance " + Num(e.tolerance) +
         " x |estimate " + Num(*e.estimate) + "|)";
}

std::string EffectName(const Evidence& e) {
  return e.effect_size_measure == EffectSizeMeasure::kCles ? "CLES" : "mean ratio";
}

std::string EffectVs(const Evidence& e, const char* op, const char* threshold_name,
                     double threshold) {
  if (std::isnan(*e.effect_size)) {
    return "the " + EffectName(e) + " is undefined (a mean is 0), so the " + threshold_name +
           " check is skipped";
  }
  return "the " + EffectName(e) + " " + Num(*e.effect_size) + " " + op + " " + threshold_name +
         " " + Num(threshold);
}

}  // namespace

std::string_view ClassificationName(Classification c) {
  switch (c) {
    case Classification::kPass:
      return "Pass";
    case Classification::kHigh:
      return "High";
    case Classification::kLow:
      return "Low";
    case Classification::kNodata:
      return "Nodata";
    case Classification::kNodataFailMetric:
      return "NodataFailMetric";
    case Classification::kError:
      return "Error";
  }
  return "Error";
}

std::string_view RuleName(Rule r) {
  switch (r) {
    case Rule::kMissingData:
      return "missing_data";
    case Rule::kMissingDataReplaced:
      return "missing_data_replaced";
    case Rule::kIdentical:
      return "identical";
    case Rule::kSingleValue:
      return "single_value";
    case Rule::kHigh:
      return "high";
    case Rule::kLow:
      return "low";
    case Rule::kCriticalHigh:
      return "critical_high";
    case Rule::kCriticalLow:
      return "critical_low";
    case Rule::kWithinBound:
      return "within_bound";
    case Rule::kEffectSizeTooSmall:
      return "effect_size_too_small";
    case Rule::kDirectionIgnored:
      return "direction_ignored";
    case Rule::kClassificationFailed:
      return "classification_failed";
  }
  return "unknown";
}

double PercentileR7(std::span<const double> sorted, double p) {
  const size_t n = sorted.size();
  if (n == 0) {
    return kNaN;
  }
  if (n == 1) {
    return sorted[0];
  }
  const double q = p / 100;
  const double pos = q == 0   ? 0
                     : q == 1 ? static_cast<double>(n)
                              : 1 + (static_cast<double>(n) - 1) * q;
  if (pos < 1) {
    return sorted[0];
  }
  if (pos >= static_cast<double>(n)) {
    return sorted[n - 1];
  }
  const double fpos = std::floor(pos);
  const auto k = static_cast<size_t>(fpos);
  const double lower = sorted[k - 1], upper = sorted[k];
  return lower + (pos - fpos) * (upper - lower);
}

std::vector<double> Preprocess(std::span<const double> values,
                               const canaryconfig::MetricAnalysisConfig& analysis) {
  std::vector<double> out;
  out.reserve(values.size());
  for (const double v : values) {
    if (!std::isnan(v)) {
      out.push_back(v);
    } else if (analysis.nan_strategy == NanStrategy::kReplace) {
      out.push_back(0.0);
    }
  }
  if (analysis.outliers.strategy == canaryconfig::OutlierStrategy::kRemove && !out.empty()) {
    // Kayenta's IQRDetector(factor, reduceSensitivity = true).
    std::vector<double> sorted = out;
    std::sort(sorted.begin(), sorted.end());
    const double f = analysis.outliers.outlier_factor;
    const double p25 = PercentileR7(sorted, 25), p75 = PercentileR7(sorted, 75);
    const double iqr = p75 - p25;
    const double lower = std::min(PercentileR7(sorted, 1), p25 - f * iqr);
    const double upper = std::max(PercentileR7(sorted, 99), p75 + f * iqr);
    std::erase_if(out, [&](double x) { return x > upper || x < lower; });
  }
  return out;
}

DescriptiveStats Describe(std::span<const double> values) {
  DescriptiveStats s;
  if (values.empty()) {
    return s;
  }
  const Eigen::Map<const Eigen::ArrayXd> v(values.data(), static_cast<Eigen::Index>(values.size()));
  s.min = v.minCoeff();
  s.max = v.maxCoeff();
  s.mean = Mean(values);
  s.std = std::sqrt(Variance(values, s.mean));
  s.count = static_cast<int64_t>(values.size());
  return s;
}

Classification ClassifyMeanInequality(std::span<const double> control,
                                      std::span<const double> experiment, Direction direction) {
  if (control.empty() || experiment.empty()) {
    return Classification::kNodata;
  }
  const double c = Mean(control), e = Mean(experiment);
  if (direction != Direction::kDecrease && e > c) {
    return Classification::kHigh;
  }
  if (direction != Direction::kIncrease && e < c) {
    return Classification::kLow;
  }
  return Classification::kPass;
}

MetricClassification ClassifyMannWhitney(std::string_view metric_name,
                                         std::span<const double> control,
                                         std::span<const double> experiment,
                                         const ClassifierParams& params) {
  const std::string name(metric_name);
  MetricClassification out;
  Evidence& ev = out.evidence;
  ev.tolerance = params.tolerance;
  ev.conf_level = params.conf_level;
  ev.effect_size_measure = params.effect_size.measure;
  ev.control_count = static_cast<int64_t>(control.size());
  ev.experiment_count = static_cast<int64_t>(experiment.size());
  out.deviation = 1.0;

  if (experiment.empty() || control.empty()) {
    const std::string which = experiment.empty() && control.empty() ? "neither side has values"
                              : experiment.empty()                  ? "the experiment has no values"
                                                                    : "the control has no values";
    if (params.nan_strategy == NanStrategy::kRemove) {
      out.rule = Rule::kMissingData;
      out.reason = "Missing data for " + name + ": " + which + " (after removing NaNs)";
      if (params.must_have_data && !params.critical) {
        out.classification = Classification::kNodataFailMetric;
        out.reason += "; mustHaveData makes that a failure";
      } else {
        out.classification = Classification::kNodata;
        out.critical = params.critical;
        if (params.critical) {
          out.reason += "; the metric is critical";
        }
      }
    } else {
      // Kayenta passes here without a reason, whatever mustHaveData says.
      out.classification = Classification::kPass;
      out.rule = Rule::kMissingDataReplaced;
      out.reason = name + " passed: " + which + ", and nanStrategy \"replace\" passes missing data";
    }
    return out;
  }

  const std::vector<int64_t> ek = SortedKeys(experiment), ck = SortedKeys(control);
  bool identical = ek.size() == ck.size();
  for (size_t i = 0; identical && i < ek.size(); ++i) {
    identical = FromOrderKey(ek[i]) == FromOrderKey(ck[i]);
  }
  if (identical) {
    out.classification = Classification::kPass;
    out.rule = Rule::kIdentical;
    out.reason = "The Canary and Baseline data are identical";
    return out;
  }
  if (Constant(ek) && Constant(ck) && ek.front() == ck.front()) {
    out.classification = Classification::kPass;
    out.rule = Rule::kSingleValue;
    out.reason = name + " passed: every control and experiment value is " + Num(experiment[0]);
    return out;
  }

  Eigen::ArrayXd noisy_x, noisy_y;
  std::span<const double> x = experiment, y = control;
  if (Constant(ek) && Constant(ck)) {
    JavaRandom rng(params.noise_seed);
    noisy_x = WithNoise(experiment, rng);
    noisy_y = WithNoise(control, rng);
    x = std::span<const double>(noisy_x.data(), static_cast<size_t>(noisy_x.size()));
    y = std::span<const double>(noisy_y.data(), static_cast<size_t>(noisy_y.size()));
    ev.noise_added = true;
  }

  // Without noise the samples are already sorted: do not sort them again.
  std::vector<double> xs_sorted, ys_sorted;
  if (!ev.noise_added) {
    xs_sorted.resize(ek.size());
    ys_sorted.resize(ck.size());
    std::transform(ek.begin(), ek.end(), xs_sorted.begin(), FromOrderKey);
    std::transform(ck.begin(), ck.end(), ys_sorted.begin(), FromOrderKey);
  }
  const MannWhitney mw =
      ev.noise_added ? MannWhitney(x, y) : MannWhitney::FromSorted(xs_sorted, ys_sorted);
  out.deviation = MeanRatio(y, x);
  const auto test = mw.Test(params.conf_level);
  if (!test) {
    out.classification = Classification::kError;
    out.rule = Rule::kClassificationFailed;
    out.reason = "Metric Classification Failed: " + test.error().message();
    return out;
  }
  const double effect =
      params.effect_size.measure == EffectSizeMeasure::kCles
          ? mw.UStatistic() / (static_cast<double>(x.size()) * static_cast<double>(y.size()))
          : out.deviation;
  const double bound = params.tolerance * std::fabs(test->estimate);
  ev.ci_lower = test->ci_lower;
  ev.ci_upper = test->ci_upper;
  ev.estimate = test->estimate;
  ev.p_value = test->p_value;
  ev.bound = bound;
  ev.effect_size = effect;

  const auto& es = params.effect_size;
  const bool judges_increase = params.direction != Direction::kDecrease;
  const bool judges_decrease = params.direction != Direction::kIncrease;
  const bool above = test->ci_lower > bound;
  const bool below = test->ci_upper < -bound;
  const bool effect_high = std::isnan(effect) || effect >= es.AllowedIncrease();
  const bool effect_low = std::isnan(effect) || effect <= es.AllowedDecrease();
  const bool high = judges_increase && above && effect_high;
  const bool low = !high && judges_decrease && below && effect_low;

  if (high || low) {
    const bool critical =
        params.critical && (high ? std::isnan(effect) || effect >= es.CriticalIncrease()
                                 : std::isnan(effect) || effect <= es.CriticalDecrease());
    const char* label = high ? "High" : "Low";
    out.classification = high ? Classification::kHigh : Classification::kLow;
    out.critical = critical;
    out.rule = critical ? (high ? Rule::kCriticalHigh : Rule::kCriticalLow)
                        : (high ? Rule::kHigh : Rule::kLow);
    out.reason = critical ? "The metric " + name + " was classified as " + label + " (Critical)"
                          : name + " was classified as " + label;
    out.reason += ": " + Interval(ev) +
                  (high ? " lies above " + Bound(ev, "+") : " lies below " + Bound(ev, "-"));
    out.reason += ", and " + (high ? EffectVs(ev, ">=", "allowedIncrease", es.AllowedIncrease())
                                   : EffectVs(ev, "<=", "allowedDecrease", es.AllowedDecrease()));
    if (critical) {
      out.reason += high ? "; " + EffectVs(ev, ">=", "criticalIncrease", es.CriticalIncrease())
                         : "; " + EffectVs(ev, "<=", "criticalDecrease", es.CriticalDecrease());
    } else if (params.critical) {
      out.reason +=
          high ? "; not critical: " + EffectVs(ev, "<", "criticalIncrease", es.CriticalIncrease())
               : "; not critical: " + EffectVs(ev, ">", "criticalDecrease", es.CriticalDecrease());
    }
    return out;
  }

  out.classification = Classification::kPass;
  if ((above && judges_increase) || (below && judges_decrease)) {
    out.rule = Rule::kEffectSizeTooSmall;
    out.reason = name + " passed: " + Interval(ev) +
                 (above ? " lies above " + Bound(ev, "+") + ", but " +
                              EffectVs(ev, "<", "allowedIncrease", es.AllowedIncrease())
                        : " lies below " + Bound(ev, "-") + ", but " +
                              EffectVs(ev, ">", "allowedDecrease", es.AllowedDecrease()));
  } else if (above || below) {
    out.rule = Rule::kDirectionIgnored;
    out.reason = name + " passed: " + Interval(ev) +
                 (above ? " lies above " + Bound(ev, "+") : " lies below " + Bound(ev, "-")) +
                 ", but direction is \"" +
                 std::string(canaryconfig::DirectionName(params.direction)) + "\"";
  } else {
    out.rule = Rule::kWithinBound;
    out.reason = name + " passed: " + Interval(ev) + " does not lie beyond " + Bound(ev, "+-");
  }
  return out;
}

}  // namespace canaryd::judge
