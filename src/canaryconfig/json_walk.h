#pragma once
// Shared by the config parser: JSON parsing with a line:column on syntax errors, and JSON path
// spelling (`metrics[2].query.metricName`, `templates["pod scope"]`).

#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace canaryd::canaryconfig::detail {

/// Parses a whole document. On a syntax error returns null and sets `error` to
/// "invalid JSON at line L, column C: <what>".
boost::json::value ParseJson(std::string_view text, std::string& error);

/// `base` + `.key`, or `base["key"]` when the key is not a plain identifier.
std::string Member(std::string_view base, std::string_view key);

/// `base[index]`.
std::string Index(std::string_view base, size_t index);

/// Compact JSON text like boost::json::serialize, but doubles in their shortest round-trip form
/// ("100", "0.1", "1e-300"; Boost 1.81 writes "1E2"), and NaN or infinities as null.
std::string Serialize(const boost::json::value& v);

/// JSON type name for messages: "a string", "a number", "null", ...
std::string_view KindName(const boost::json::value& v);

}  // namespace canaryd::canaryconfig::detail
