// NetflixACAJudge.judge: classify every pair with its metric's settings, then Kayenta's
// WeightedSumScorer and ThresholdScoreClassifier.

#include "canaryd/judge/judge.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace canaryd::judge {
namespace {

// splitmix64 finalizer: spreads a 64-bit value over all bits.
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Each pair gets its own noise stream from (seed, name, tags), so that a pair's verdict does not
// depend on which other pairs were judged before it.
uint64_t PairSeed(uint64_t seed, const model::MetricSetPair& pair) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  auto add = [&h](std::string_view s) {
    for (const unsigned char c : s) {
      h = (h ^ c) * 0x100000001b3ULL;
    }
    h = (h ^ 0xff) * 0x100000001b3ULL;  // separator: ("ab","c") != ("a","bc")
  };
  add(pair.name);
  for (const auto& [k, v] : pair.tags) {
    add(k);
    add(v);
  }
  return Mix(seed ^ Mix(h));
}

}  // namespace

std::string_view ScoreClassificationName(ScoreClassification c) {
  switch (c) {
    case ScoreClassification::kPass:
      return "Pass";
    case ScoreClassification::kMarginal:
      return "Marginal";
    case ScoreClassification::kFail:
      break;
  }
  return "Fail";
}

double RoundHalfUp2(double x) {
  if (!std::isfinite(x) || std::fabs(x) >= 1e15) {
    return x;  // no fractional digits left to round (or Precision.round's NaN/inf cases)
  }
  // commons-math rounds the decimal form Double.toString prints (shortest round-trip digits),
  // not the binary value: 0.125 -> 0.13, and 33.335 (binary 33.33499...) -> 33.34.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::fixed);
  const std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos || s.size() - dot - 1 <= 2) {
    return x;
  }
  int64_t hundredths = 0;
  for (const char c : s.substr(0, dot)) {
    hundredths = hundredths * 10 + (c - '0');
  }
  hundredths = hundredths * 100 + (s[dot + 1] - '0') * 10 + (s[dot + 2] - '0');
  if (s[dot + 3] >= '5') {
    ++hundredths;  // HALF_UP: away from zero
  }
  char out[64];
  std::snprintf(out, sizeof out, "%s%lld.%02lld", x < 0 ? "-" : "",
                static_cast<long long>(hundredths / 100), static_cast<long long>(hundredths % 100));
  return std::strtod(out, nullptr);
}

ScoreClassification ClassifyScore(double score, double pass, double marginal) {
  if (score >= pass) {
    return ScoreClassification::kPass;
  }
  if (score >= marginal) {
    return ScoreClassification::kMarginal;
  }
  return ScoreClassification::kFail;
}

ScoreResult ScoreResults(std::span<const MetricResult> results,
                         const std::map<std::string, double>& group_weights) {
  ScoreResult out;
  struct Counts {
    int64_t pass = 0, total = 0;
  };
  std::vector<Counts> counts;
  size_t scored = 0, nodata = 0;
  const MetricResult* critical_failure = nullptr;
  for (const MetricResult& r : results) {
    if (r.muted) {
      continue;  // reported, never scored
    }
    ++scored;
    const Classification c = r.classification.classification;
    nodata += c == Classification::kNodata;
    if (critical_failure == nullptr && r.classification.critical && c != Classification::kPass) {
      critical_failure = &r;
    }
    for (const std::string& g : r.groups) {
      size_t i = 0;
      while (i < out.group_scores.size() && out.group_scores[i].name != g) {
        ++i;
      }
      if (i == out.group_scores.size()) {
        out.group_scores.push_back({g, 0, false});
        counts.emplace_back();
      }
      // Nodata and Error count in no group's total.
      counts[i].pass += c == Classification::kPass;
      counts[i].total += c == Classification::kPass || c == Classification::kHigh ||
                         c == Classification::kLow || c == Classification::kNodataFailMetric;
    }
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    GroupScore& g = out.group_scores[i];
    g.no_data = counts[i].total == 0;
    g.score =
        g.no_data
            ? 0.0
            : (static_cast<double>(counts[i].pass) / static_cast<double>(counts[i].total)) * 100;
  }

  if (critical_failure != nullptr) {
    out.score = 0.0;
    out.reason = "Canary Failed: " + critical_failure->classification.reason;
    return out;
  }
  // With nothing scored this is 0/0 = NaN, which is not >= 50: Kayenta then scores 0 below.
  const double nodata_percent = (static_cast<double>(nodata) / static_cast<double>(scored)) * 100;
  if (nodata_percent >= 50) {
    out.score = 0.0;
    out.reason = "Canary Failed: 50% or more metrics returned NODATA";
    return out;
  }
  double weight_sum = 0;
  for (const auto& [group, weight] : group_weights) {
    weight_sum += weight;
  }
  size_t unweighted = 0;
  for (const GroupScore& g : out.group_scores) {
    unweighted += group_weights.count(g.name) == 0;
  }
  const double shared_weight =
      unweighted > 0 ? (100 - weight_sum) / static_cast<double>(unweighted) : 0.0;
  double summary = 0;
  for (const GroupScore& g : out.group_scores) {
    const auto it = group_weights.find(g.name);
    const double weight = it != group_weights.end() ? it->second : shared_weight;
    summary += (g.no_data ? 100.0 : g.score) * (weight / 100);
  }
  out.score = RoundHalfUp2(summary);
  return out;
}

void throw_exception_from_error(const JudgeError& e, const boost::source_location&) {
  throw std::invalid_argument(e.message);
}

MetricResult JudgeMetric(const canaryconfig::CanaryConfig& config,
                         const canaryconfig::MetricConfig& metric, const model::MetricSetPair& pair,
                         uint64_t seed) {
  const canaryconfig::MetricAnalysisConfig& a = metric.analysis;
  MetricResult r;
  r.name = pair.name;
  r.tags = pair.tags;
  r.groups = metric.groups;
  r.muted = a.muted;
  const std::vector<double> control = Preprocess(pair.control, a);
  const std::vector<double> experiment = Preprocess(pair.experiment, a);
  r.control_stats = Describe(control);
  r.experiment_stats = Describe(experiment);
  ClassifierParams p;
  p.tolerance = config.judge.tolerance.value_or(kDefaultTolerance);
  p.conf_level = config.judge.conf_level.value_or(kDefaultConfLevel);
  p.direction = a.direction;
  p.nan_strategy = a.nan_strategy;
  p.effect_size = a.effect_size;
  p.critical = a.critical;
  p.must_have_data = a.must_have_data;
  p.noise_seed = PairSeed(seed, pair);
  r.classification = ClassifyMannWhitney(pair.name, control, experiment, p);
  return r;
}

boost::system::result<JudgeResult, JudgeError> Judge(const canaryconfig::CanaryConfig& config,
                                                     std::span<const model::MetricSetPair> pairs,
                                                     const JudgeOptions& options) {
  JudgeResult out;
  out.results.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const canaryconfig::MetricConfig* metric = config.FindMetric(pairs[i].name);
    if (metric == nullptr) {
      return JudgeError{i, "metric \"" + pairs[i].name + "\" is not in the canary config"};
    }
    out.results.push_back(JudgeMetric(config, *metric, pairs[i], options.seed));
  }
  ScoreResult scored = ScoreResults(out.results, config.group_weights);
  out.group_scores = std::move(scored.group_scores);
  out.score.score = scored.score;
  out.score.reason = std::move(scored.reason);
  out.score.classification = ClassifyScore(scored.score, options.pass, options.marginal);
  return out;
}

}  // namespace canaryd::judge
