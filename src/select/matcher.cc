#include "canaryd/select/matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "canaryd/model/labels.h"

namespace canaryd::select {
namespace {

bool IsRegexMeta(char c) {
  switch (c) {
    case '.':
    case '+':
    case '*':
    case '?':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '|':
    case '^':
    case '$':
    case '\\':
      return true;
    default:
      return false;
  }
}

bool IsLiteral(std::string_view s) { return std::none_of(s.begin(), s.end(), IsRegexMeta); }

}  // namespace

std::string_view MatchOpText(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegexMatch:
      return "=~";
    case MatchOp::kRegexNoMatch:
      return "!~";
  }
  return "?";
}

boost::system::result<Matcher, std::string> Matcher::Create(std::string name, MatchOp op,
                                                            std::string value) {
  Matcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  if (op == MatchOp::kEqual || op == MatchOp::kNotEqual) {
    m.kind_ = Kind::kLiteral;
    m.literal_ = m.value_;
    return m;
  }
  const std::string_view re = m.value_;
  // Shortcuts for the shapes scope filters use; each is exactly equivalent to the anchored regex
  // with `.` matching newlines.
  if (re == ".*") {
    m.kind_ = Kind::kAny;
    return m;
  }
  if (re == ".+") {
    m.kind_ = Kind::kNonEmpty;
    return m;
  }
  if (IsLiteral(re)) {
    m.kind_ = Kind::kLiteral;
    m.literal_ = std::string(re);
    return m;
  }
  if (re.size() > 2 && re.substr(re.size() - 2) == ".*" && IsLiteral(re.substr(0, re.size() - 2))) {
    m.kind_ = Kind::kPrefix;
    m.literal_ = std::string(re.substr(0, re.size() - 2));
    return m;
  }
  {
    std::vector<std::string> alternatives;
    size_t start = 0;
    bool all_literal = true;
    while (true) {
      const size_t bar = re.find('|', start);
      const std::string_view alt = re.substr(start, bar == std::string_view::npos ? re.npos : bar - start);
      if (!IsLiteral(alt)) {
        all_literal = false;
        break;
      }
      alternatives.emplace_back(alt);
      if (bar == std::string_view::npos) {
        break;
      }
      start = bar + 1;
    }
    if (all_literal && alternatives.size() > 1) {
      std::sort(alternatives.begin(), alternatives.end());
      alternatives.erase(std::unique(alternatives.begin(), alternatives.end()), alternatives.end());
      m.kind_ = Kind::kSet;
      m.set_ = std::move(alternatives);
      return m;
    }
  }
  RE2::Options options;
  options.set_dot_nl(true);
  options.set_log_errors(false);
  auto compiled = std::make_shared<const re2::RE2>(m.value_, options);
  if (!compiled->ok()) {
    return "invalid regular expression " + QuoteString(m.value_) + ": " + compiled->error();
  }
  m.kind_ = Kind::kRegex;
  m.regex_ = std::move(compiled);
  return m;
}

bool Matcher::PositiveMatch(std::string_view v) const {
  switch (kind_) {
    case Kind::kLiteral:
      return v == literal_;
    case Kind::kAny:
      return true;
    case Kind::kNonEmpty:
      return !v.empty();
    case Kind::kPrefix:
      return v.substr(0, literal_.size()) == literal_;
    case Kind::kSet:
      return std::binary_search(set_.begin(), set_.end(), v);
    case Kind::kRegex:
      return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *regex_);
  }
  return false;
}

bool Matcher::Matches(std::string_view label_value) const {
  const bool positive = PositiveMatch(label_value);
  return (op_ == MatchOp::kEqual || op_ == MatchOp::kRegexMatch) ? positive : !positive;
}

std::string Matcher::ToString() const {
  std::string out = name_;
  out.append(MatchOpText(op_));
  out.append(QuoteString(value_));
  return out;
}

bool LabelSelector::MatchesKey(std::string_view label_key) const {
  for (const Matcher& m : matchers_) {
    if (!m.Matches(model::FindLabel(label_key, m.name()))) {
      return false;
    }
  }
  return true;
}

std::string_view LabelSelector::MetricName() const {
  for (const Matcher& m : matchers_) {
    if (m.name() == "__name__" && m.op() == MatchOp::kEqual) {
      return m.value();
    }
  }
  return {};
}

std::string LabelSelector::ToString() const {
  std::string out;
  std::string_view name = MetricName();
  // Only a valid metric name may stand before the braces; any other __name__ value stays a
  // quoted matcher, so the text always parses back.
  const bool bare = !name.empty() &&
                    (std::isalpha(static_cast<unsigned char>(name[0])) != 0 || name[0] == '_' ||
                     name[0] == ':') &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
                    });
  if (!bare) name = {};
  out.append(name);
  out.push_back('{');
  bool first = true;
  bool name_done = false;
  for (const Matcher& m : matchers_) {
    if (!name_done && !name.empty() && m.name() == "__name__" && m.op() == MatchOp::kEqual) {
      name_done = true;
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append(m.ToString());
  }
  out.push_back('}');
  return out;
}

std::string QuoteString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (const unsigned char c : s) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace canaryd::select
