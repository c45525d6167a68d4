#pragma once
// The PromQL subset canaryd evaluates continuously. Supported shapes (anything else is rejected
// with a message listing these):
//   <selector>                                    evaluated as avg(<selector>), Kayenta's default
//   AGG [by (l,...)] (<selector>)                 AGG is avg, sum, min, max or count; `by` may
//   AGG (<selector>) [by (l,...)]                 also follow the parentheses
//   AGG [by (...)] (F(<selector>[range]))         F is rate, irate or increase
//   histogram_quantile(q, sum by (le[, l...]) (F(<selector>[range])))
// A selector is `name{matchers}`, `name` or `{matchers}`; string literals may use "", '' or ``;
// escapes are Go's (as in PromQL). As in Prometheus, a selector needs at least one matcher that
// does not match the empty string.
//
// Thread safety: pure functions; a QueryPlan is immutable and shareable.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "canaryd/select/matcher.h"

namespace canaryd::select {

enum class Aggregation { kAvg, kSum, kMin, kMax, kCount };
enum class RangeFunction { kNone, kRate, kIrate, kIncrease };

std::string_view AggregationName(Aggregation a);
std::string_view RangeFunctionName(RangeFunction f);

struct QueryPlan {
  LabelSelector selector;
  RangeFunction function = RangeFunction::kNone;
  int64_t range_ms = 0;  // for range functions
  Aggregation aggregation = Aggregation::kAvg;
  /// The aggregation's `by` labels, sorted and unique. For histogram_quantile these exclude
  /// `le`: they are the labels of the result.
  std::vector<std::string> by;
  /// Set for histogram_quantile(q, ...): the inner aggregation is sum by (le, by...).
  std::optional<double> quantile;

  /// The plan as canonical PromQL, which Prometheus evaluates to the same values (used in
  /// messages and by the oracle test).
  std::string ToPromQL() const;
};

struct QueryError {
  QueryError() = default;
  QueryError(size_t col, std::string msg) : column(col), message(std::move(msg)) {}
  size_t column = 0;  // 1-based column in the query text where the problem is
  std::string message;
};

/// Parses one query of the supported subset.
boost::system::result<QueryPlan, QueryError> ParseQuery(std::string_view text);

/// Parses a comma-separated matcher list (the inside of `{...}`, e.g. an expanded Kayenta filter
/// template) into matchers.
boost::system::result<std::vector<Matcher>, QueryError> ParseMatchers(std::string_view text);

/// Parses a Prometheus duration ("90s", "1m30s", "500ms", "1h"); false if malformed or zero.
bool ParsePromDuration(std::string_view text, int64_t& millis);

/// The list of supported shapes, for error messages.
std::string_view SupportedQueryShapes();

}  // namespace canaryd::select
