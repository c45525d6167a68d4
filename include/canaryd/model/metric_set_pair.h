#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace canaryd::model {

/// Kayenta's MetricSetPair: one metric's values for one tag set, control (baseline) and
/// experiment (canary) side by side, one value per step (NaN where a step has no value).
/// `tags` are sorted by name; empty for a metric without groupByFields.
struct MetricSetPair {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<double> control;
  std::vector<double> experiment;
  int64_t start_time_millis = 0;
  int64_t step_millis = 0;
};

}  // namespace canaryd::model
