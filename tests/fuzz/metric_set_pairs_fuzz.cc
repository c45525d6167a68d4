// libFuzzer target: judge::ParseMetricSetPairs on untrusted JSON (the pairs a user hands to
// `canaryd judge`, later the API's replay endpoint), then a judgment of what parsed.
//
// Checks beyond "does not crash": errors carry a message; whatever parses serializes back to the
// same pairs; judging them with a config that names every metric succeeds, gives one result per
// pair and a score in [0, 100].
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "canaryd/judge/judge.h"
#include "canaryd/judge/judge_json.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool SameValues(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canaryd;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto pairs = judge::ParseMetricSetPairs(in);
  if (!pairs) {
    Check(!pairs.error().message.empty());
    return 0;
  }
  const auto again = judge::ParseMetricSetPairs(judge::MetricSetPairsToJson(*pairs));
  Check(again.has_value() && again->size() == pairs->size());
  std::set<std::string> names;
  for (size_t i = 0; i < pairs->size(); ++i) {
    const auto& a = (*pairs)[i];
    const auto& b = (*again)[i];
    Check(a.name == b.name && a.tags == b.tags && SameValues(a.control, b.control) &&
          SameValues(a.experiment, b.experiment));
    names.insert(a.name);
  }
  // Judge with one config that names every metric, alternating the settings that change paths.
  canaryconfig::CanaryConfig config;
  int k = 0;
  for (const auto& name : names) {
    canaryconfig::MetricConfig m;
    m.name = name;
    m.groups = {k % 2 == 0 ? "a" : "b"};
    m.analysis.nan_strategy =
        k % 3 == 0 ? canaryconfig::NanStrategy::kReplace : canaryconfig::NanStrategy::kRemove;
    m.analysis.outliers.strategy =
        k % 4 == 1 ? canaryconfig::OutlierStrategy::kRemove : canaryconfig::OutlierStrategy::kKeep;
    m.analysis.effect_size.measure = k % 5 == 2 ? canaryconfig::EffectSizeMeasure::kCles
                                                : canaryconfig::EffectSizeMeasure::kMeanRatio;
    m.analysis.critical = k % 7 == 3;
    config.metrics.push_back(m);
    ++k;
  }
  const auto result = judge::Judge(config, *pairs, judge::JudgeOptions{});
  Check(result.has_value() && result->results.size() == pairs->size());
  Check(result->score.score >= 0 && result->score.score <= 100);
  Check(!judge::JudgeResultToJson(*result).empty());
  return 0;
}
