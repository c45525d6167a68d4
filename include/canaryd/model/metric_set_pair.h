#pragma once
// Kayenta's MetricSetPair: one metric's control (baseline) and experiment (canary) values for
// one tag set over one judgment window. The windows produce it; the judge consumes it.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace canaryd::model {

/// One value per step for each side. Timestamps are not kept (the judge treats each side as an
/// unordered sample, as Kayenta does); a missing step is a NaN or simply absent, and the two
/// sides may differ in length.
///
/// Thread safety: a plain value.
struct MetricSetPair {
  std::string name;  // the metric's name in the canary config
  /// The series' distinguishing labels (from `groupByFields`), sorted by name; empty for a
  /// plain avg() query.
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<double> control;
  std::vector<double> experiment;
  int64_t start_time_millis = 0;  // start of the window (0 if unknown)
  int64_t step_millis = 0;        // distance between values (0 if unknown)

  bool operator==(const MetricSetPair&) const = default;
};

}  // namespace canaryd::model
