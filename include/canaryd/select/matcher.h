#pragma once
// PromQL label matchers with Prometheus's semantics:
//   =  !=  =~  !~ ; regexes are RE2, fully anchored, and `.` matches a newline (Prometheus 3);
//   a missing label has the value "" (so {env=""} and {env!="prod"} match series without env);
//   several matchers in one selector are ANDed, also on the same label.
// Regex matchers take Prometheus's FastRegexMatcher shortcuts (literal, set of literals,
// literal prefix + ".*", ".*", ".+") so that common scope filters never enter RE2.
//
// Thread safety: immutable after construction; Matches() may be called from any thread.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

namespace re2 {
class RE2;
}

namespace canaryd::select {

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

/// "=", "!=", "=~" or "!~".
std::string_view MatchOpText(MatchOp op);

class Matcher {
 public:
  /// Builds a matcher; fails (with RE2's message) when a regex does not compile.
  static boost::system::result<Matcher, std::string> Create(std::string name, MatchOp op,
                                                            std::string value);

  /// Whether a label value ("" when the label is absent) satisfies the matcher.
  bool Matches(std::string_view label_value) const;

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }

  /// `name="value"` in PromQL syntax, with the value escaped.
  std::string ToString() const;

 private:
  enum class Kind { kLiteral, kAny, kNonEmpty, kPrefix, kSet, kRegex };
  Matcher() = default;
  bool PositiveMatch(std::string_view v) const;

  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  Kind kind_ = Kind::kLiteral;
  std::string literal_;           // kLiteral: the value; kPrefix: the prefix
  std::vector<std::string> set_;  // kSet: sorted alternatives
  std::shared_ptr<const re2::RE2> regex_;
};

/// A vector selector's matchers (the metric name is the `__name__` matcher).
class LabelSelector {
 public:
  LabelSelector() = default;
  explicit LabelSelector(std::vector<Matcher> matchers) : matchers_(std::move(matchers)) {}

  /// Matches a canonical label key (model/labels.h).
  bool MatchesKey(std::string_view label_key) const;

  const std::vector<Matcher>& matchers() const { return matchers_; }

  /// The metric name if the selector has a `__name__="x"` matcher, else "".
  std::string_view MetricName() const;

  /// `name{a="b",...}` in PromQL syntax.
  std::string ToString() const;

 private:
  std::vector<Matcher> matchers_;
};

/// PromQL string literal (double quotes, Go escapes) for `s`.
std::string QuoteString(std::string_view s);

}  // namespace canaryd::select
