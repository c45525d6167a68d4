#pragma once
// JSON in and out of the judge, in Kayenta's shapes: MetricSetPair arrays (what Kayenta stores as
// a metric set pair list) and CanaryJudgeResult, extended with `details` per result.
//
// Thread safety: pure functions.

#include <boost/system/result.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/judge/judge.h"
#include "canaryd/model/metric_set_pair.h"

namespace canaryd::judge {

/// Where a document is wrong: a JSON path such as `[3].values.control[17]` (empty for the
/// document itself) and what is wrong there.
struct JsonError {
  std::string path;
  std::string message;

  std::string ToString() const;  // "path: message"
};
[[noreturn]] void throw_exception_from_error(  // NOLINT(readability-identifier-naming)
    const JsonError& e, const boost::source_location& loc);

/// Parses a JSON array of Kayenta MetricSetPairs:
///   [{"name": "cpu", "tags": {"route": "/a"},
///     "values": {"control": [1.5, "NaN", null], "experiment": [2.0]},
///     "scopes": {"control": {"startTimeMillis": 0, "stepMillis": 60000}}}, ...]
/// A value is a number, "NaN" or null (both NaN), or "Infinity"/"-Infinity" (also "+Inf",
/// "-Inf", as Prometheus spells them). Other fields (id, attributes) are ignored. Tags come out
/// sorted. Returns the first problem found. Never throws (except std::bad_alloc).
boost::system::result<std::vector<model::MetricSetPair>, JsonError> ParseMetricSetPairs(
    std::string_view json);

/// The inverse of ParseMetricSetPairs (NaN written as "NaN", infinities as "Infinity").
std::string MetricSetPairsToJson(std::span<const model::MetricSetPair> pairs);

/// Kayenta's CanaryJudgeResult JSON (judgeName, score, groupScores, results[] with
/// resultMetadata.ratio and experiment/controlMetadata.stats) plus `details` per result:
/// rule, ciLower, ciUpper, estimate, bound, effectSize, effectSizeMeasure, pValue,
/// controlCount, experimentCount, tolerance, confLevel, noiseAdded. Values that were not
/// computed are null; NaN is "NaN" as Jackson writes it. `pretty` indents by two spaces.
std::string JudgeResultToJson(const JudgeResult& result, bool pretty = true);

}  // namespace canaryd::judge
