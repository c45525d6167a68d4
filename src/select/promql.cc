#include "canaryd/select/promql.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "canaryd/common/duration.h"

namespace canaryd::select {
namespace {

constexpr std::string_view kShapes =
    "a selector `m{...}` (averaged, as Kayenta does); `avg|sum|min|max|count [by (labels)] "
    "(m{...})`; the same around `rate|irate|increase(m{...}[range])`; and "
    "`histogram_quantile(q, sum by (le[, labels]) (rate(m_bucket{...}[range])))`";

enum class Tok {
  kEnd,
  kIdent,
  kString,
  kNumber,
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kEq,
  kNeq,
  kReMatch,
  kReNoMatch,
  kError,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;        // byte offset in the text
  std::string text;      // identifier, unescaped string, number text
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token Next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
    Token t;
    t.pos = pos_;
    if (pos_ >= text_.size()) {
      t.kind = Tok::kEnd;
      return t;
    }
    const char c = text_[pos_];
    auto single = [&](Tok k) {
      ++pos_;
      t.kind = k;
      return t;
    };
    switch (c) {
      case '{':
        return single(Tok::kLBrace);
      case '}':
        return single(Tok::kRBrace);
      case '(':
        return single(Tok::kLParen);
      case ')':
        return single(Tok::kRParen);
      case '[':
        return single(Tok::kLBracket);
      case ']':
        return single(Tok::kRBracket);
      case ',':
        return single(Tok::kComma);
      case '=':
        if (Peek(1) == '~') {
          pos_ += 2;
          t.kind = Tok::kReMatch;
          return t;
        }
        if (Peek(1) == '=') {
          return Error(t, "`==` is a comparison, not a label matcher; use `=`");
        }
        return single(Tok::kEq);
      case '!':
        if (Peek(1) == '=') {
          pos_ += 2;
          t.kind = Tok::kNeq;
          return t;
        }
        if (Peek(1) == '~') {
          pos_ += 2;
          t.kind = Tok::kReNoMatch;
          return t;
        }
        return Error(t, "unexpected character '!'");
      case '"':
      case '\'':
      case '`':
        return String(t, c);
      default:
        break;
    }
    if (IsIdentStart(c)) {
      const size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
        ++pos_;
      }
      t.kind = Tok::kIdent;
      t.text = std::string(text_.substr(start, pos_ - start));
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '+' || c == '-') {
      const size_t start = pos_;
      ++pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '.' ||
              ((text_[pos_] == '+' || text_[pos_] == '-') &&
               (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
        ++pos_;
      }
      t.kind = Tok::kNumber;
      t.text = std::string(text_.substr(start, pos_ - start));
      return t;
    }
    char msg[64];
    std::snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    return Error(t, msg);
  }

  std::string error;

 private:
  char Peek(size_t ahead) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  Token Error(Token t, std::string message) {
    t.kind = Tok::kError;
    error = std::move(message);
    return t;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Token String(Token t, char quote) {
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) {
        return Error(t, "unterminated string literal");
      }
      const char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (quote == '`' || c != '\\') {
        if (quote != '`' && c == '\n') {
          return Error(t, "newline in string literal");
        }
        out.push_back(c);
        ++pos_;
        continue;
      }
      // Go escape sequences, as PromQL's lexer accepts them.
      const size_t esc_pos = pos_;
      ++pos_;
      if (pos_ >= text_.size()) {
        return Error(t, "unterminated string literal");
      }
      const char e = text_[pos_++];
      switch (e) {
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case '\\': out.push_back('\\'); break;
        case '"':
        case '\'':
          if (e != quote) {
            t.pos = esc_pos;
            return Error(t, std::string("unknown escape sequence \\") + e);
          }
          out.push_back(e);
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t v = 0;
          for (int i = 0; i < digits; ++i) {
            const int h = pos_ < text_.size() ? HexValue(text_[pos_]) : -1;
            if (h < 0) {
              t.pos = esc_pos;
              return Error(t, "invalid escape sequence in string literal");
            }
            v = v * 16 + static_cast<uint32_t>(h);
            ++pos_;
          }
          if (e == 'x') {
            out.push_back(static_cast<char>(v));
          } else {
            if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
              t.pos = esc_pos;
              return Error(t, "escape sequence is an invalid Unicode code point");
            }
            AppendUtf8(out, v);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2; ++i) {
              if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '7') {
                t.pos = esc_pos;
                return Error(t, "invalid octal escape in string literal");
              }
              v = v * 8 + static_cast<uint32_t>(text_[pos_++] - '0');
            }
            if (v > 255) {
              t.pos = esc_pos;
              return Error(t, "octal escape value > 255");
            }
            out.push_back(static_cast<char>(v));
            break;
          }
          t.pos = esc_pos;
          return Error(t, std::string("unknown escape sequence \\") + e);
      }
    }
    t.kind = Tok::kString;
    t.text = std::move(out);
    return t;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) != 0) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

std::optional<Aggregation> AggregationOf(std::string_view lower) {
  if (lower == "avg") return Aggregation::kAvg;
  if (lower == "sum") return Aggregation::kSum;
  if (lower == "min") return Aggregation::kMin;
  if (lower == "max") return Aggregation::kMax;
  if (lower == "count") return Aggregation::kCount;
  return std::nullopt;
}

bool IsOtherAggregation(std::string_view lower) {
  return lower == "stddev" || lower == "stdvar" || lower == "topk" || lower == "bottomk" ||
         lower == "quantile" || lower == "count_values" || lower == "group";
}

std::optional<RangeFunction> RangeFunctionOf(std::string_view s) {
  if (s == "rate") return RangeFunction::kRate;
  if (s == "irate") return RangeFunction::kIrate;
  if (s == "increase") return RangeFunction::kIncrease;
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) { Advance(); }

  bool failed() const { return failed_; }
  QueryError TakeError() { return std::move(error_); }

  // A whole query.
  std::optional<QueryPlan> Query() {
    QueryPlan plan;
    if (tok_.kind == Tok::kIdent && Lower(tok_.text) == "histogram_quantile" && PeekIsLParen()) {
      if (!HistogramQuantile(plan)) return std::nullopt;
    } else if (tok_.kind == Tok::kIdent && AggregationOf(Lower(tok_.text)) && PeekAggregationStart()) {
      if (!AggregationExpr(plan, /*histogram=*/false)) return std::nullopt;
    } else if (tok_.kind == Tok::kIdent && RangeFunctionOf(tok_.text) && PeekIsLParen()) {
      return Fail(tok_.pos, tok_.text + "(...) must be wrapped in an aggregation (avg, sum, min, max "
                                        "or count) to give one value per step");
    } else {
      if (!Operand(plan, /*allow_range=*/false)) return std::nullopt;
      plan.aggregation = Aggregation::kAvg;
    }
    if (tok_.kind != Tok::kEnd) {
      return Fail(tok_.pos, "unexpected " + Describe(tok_) + " after the end of the query");
    }
    return plan;
  }

  // The inside of `{...}`: matchers up to the end of the text.
  std::optional<std::vector<Matcher>> MatcherList() {
    std::vector<Matcher> out;
    if (!Matchers(out, Tok::kEnd)) return std::nullopt;
    return out;
  }

  std::nullopt_t Fail(size_t pos, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.column = pos + 1;
      error_.message = std::move(message);
    }
    return std::nullopt;
  }

 private:
  void Advance() {
    if (have_peek_) {
      tok_ = std::move(peek_);
      have_peek_ = false;
    } else {
      tok_ = lexer_.Next();
    }
    if (tok_.kind == Tok::kError) {
      Fail(tok_.pos, lexer_.error);
    }
  }
  const Token& Peek() {
    if (!have_peek_) {
      peek_ = lexer_.Next();
      have_peek_ = true;
    }
    return peek_;
  }
  bool PeekIsLParen() { return Peek().kind == Tok::kLParen; }
  bool PeekAggregationStart() {
    const Token& p = Peek();
    return p.kind == Tok::kLParen ||
           (p.kind == Tok::kIdent && (Lower(p.text) == "by" || Lower(p.text) == "without"));
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "end of query";
      case Tok::kIdent: return "identifier \"" + t.text + "\"";
      case Tok::kString: return "string";
      case Tok::kNumber: return "number " + t.text;
      case Tok::kLBrace: return "'{'";
      case Tok::kRBrace: return "'}'";
      case Tok::kLParen: return "'('";
      case Tok::kRParen: return "')'";
      case Tok::kLBracket: return "'['";
      case Tok::kRBracket: return "']'";
      case Tok::kComma: return "','";
      case Tok::kEq: return "'='";
      case Tok::kNeq: return "'!='";
      case Tok::kReMatch: return "'=~'";
      case Tok::kReNoMatch: return "'!~'";
      case Tok::kError: return "error";
    }
    return "token";
  }

  bool Expect(Tok kind, std::string_view what) {
    if (failed_) return false;
    if (tok_.kind != kind) {
      Fail(tok_.pos, "expected " + std::string(what) + ", found " + Describe(tok_));
      return false;
    }
    Advance();
    return !failed_;
  }

  bool Unsupported(size_t pos, std::string_view what) {
    Fail(pos, std::string(what) + " is not supported; supported query shapes: " +
                  std::string(kShapes));
    return false;
  }

  // by (a, b) after `by` has been seen.
  bool Grouping(std::vector<std::string>& by) {
    if (!Expect(Tok::kLParen, "'(' after by")) return false;
    while (tok_.kind != Tok::kRParen) {
      if (tok_.kind != Tok::kIdent || !IsLabelName(tok_.text)) {
        Fail(tok_.pos, "expected a label name in by (...), found " + Describe(tok_));
        return false;
      }
      by.push_back(tok_.text);
      Advance();
      if (tok_.kind == Tok::kComma) {
        Advance();
      } else if (tok_.kind != Tok::kRParen) {
        Fail(tok_.pos, "expected ',' or ')' in by (...), found " + Describe(tok_));
        return false;
      }
    }
    Advance();
    return !failed_;
  }

  bool OptionalGrouping(std::vector<std::string>& by, bool& seen) {
    if (tok_.kind != Tok::kIdent) return true;
    const std::string lower = Lower(tok_.text);
    if (lower == "without") {
      return Unsupported(tok_.pos, "`without`");
    }
    if (lower != "by") return true;
    if (seen) {
      Fail(tok_.pos, "by (...) given twice");
      return false;
    }
    seen = true;
    Advance();
    return Grouping(by);
  }

  bool AggregationExpr(QueryPlan& plan, bool histogram) {
    const size_t pos = tok_.pos;
    plan.aggregation = *AggregationOf(Lower(tok_.text));
    Advance();
    bool by_seen = false;
    std::vector<std::string> by;
    if (!OptionalGrouping(by, by_seen)) return false;
    if (!Expect(Tok::kLParen, "'('")) return false;
    if (!Operand(plan, /*allow_range=*/true)) return false;
    if (!Expect(Tok::kRParen, "')' closing the aggregation")) return false;
    if (!OptionalGrouping(by, by_seen)) return false;
    std::sort(by.begin(), by.end());
    by.erase(std::unique(by.begin(), by.end()), by.end());
    if (histogram) {
      if (plan.aggregation != Aggregation::kSum) {
        return Unsupported(pos, "histogram_quantile over an aggregation other than sum");
      }
      const auto le = std::find(by.begin(), by.end(), "le");
      if (le == by.end()) {
        Fail(pos, "histogram_quantile needs the buckets summed by (le, ...); `le` is missing from by");
        return false;
      }
      by.erase(le);
      if (plan.function == RangeFunction::kNone) {
        return Unsupported(pos, "histogram_quantile over bucket counters without rate/irate/increase");
      }
    }
    plan.by = std::move(by);
    return true;
  }

  bool HistogramQuantile(QueryPlan& plan) {
    Advance();  // histogram_quantile
    if (!Expect(Tok::kLParen, "'('")) return false;
    if (tok_.kind != Tok::kNumber) {
      Fail(tok_.pos, "histogram_quantile needs a number as its first argument, found " +
                         Describe(tok_));
      return false;
    }
    double q = 0;
    const char* first = tok_.text.data();
    const char* last = first + tok_.text.size();
    if (*first == '+') ++first;
    const auto [ptr, ec] = std::from_chars(first, last, q);
    if (ec != std::errc() || ptr != last || std::isnan(q)) {
      Fail(tok_.pos, "invalid number " + tok_.text);
      return false;
    }
    plan.quantile = q;
    Advance();
    if (!Expect(Tok::kComma, "','")) return false;
    if (!(tok_.kind == Tok::kIdent && AggregationOf(Lower(tok_.text)) && PeekAggregationStart())) {
      return Unsupported(tok_.pos, "this histogram_quantile argument");
    }
    if (!AggregationExpr(plan, /*histogram=*/true)) return false;
    return Expect(Tok::kRParen, "')' closing histogram_quantile");
  }

  // A selector, or (when allowed) rate|irate|increase(selector[range]).
  bool Operand(QueryPlan& plan, bool allow_range) {
    if (failed_) return false;
    if (tok_.kind == Tok::kIdent && Peek().kind == Tok::kLParen) {
      const std::string lower = Lower(tok_.text);
      const auto fn = RangeFunctionOf(tok_.text);
      if (!fn) {
        if (AggregationOf(lower) || IsOtherAggregation(lower)) {
          return Unsupported(tok_.pos, "a nested aggregation");
        }
        return Unsupported(tok_.pos, "the function " + tok_.text + "()");
      }
      if (!allow_range) {
        return Unsupported(tok_.pos, tok_.text + "() here");
      }
      plan.function = *fn;
      Advance();
      Advance();  // (
      if (!Selector(plan.selector)) return false;
      const size_t bracket = tok_.pos;
      if (tok_.kind != Tok::kLBracket) {
        Fail(tok_.pos, std::string(RangeFunctionName(plan.function)) +
                           "() needs a range vector: add a range such as [1m] after the selector");
        return false;
      }
      if (!RangeDuration(bracket, plan.range_ms)) return false;
      if (tok_.kind == Tok::kIdent && Lower(tok_.text) == "offset") {
        return Unsupported(tok_.pos, "`offset`");
      }
      return Expect(Tok::kRParen, "')' closing " + std::string(RangeFunctionName(plan.function)));
    }
    if (tok_.kind == Tok::kIdent && IsOtherAggregation(Lower(tok_.text))) {
      return Unsupported(tok_.pos, "the aggregation " + tok_.text);
    }
    if (!Selector(plan.selector)) return false;
    if (tok_.kind == Tok::kLBracket) {
      return Unsupported(tok_.pos, "a range vector outside rate/irate/increase");
    }
    if (tok_.kind == Tok::kIdent && Lower(tok_.text) == "offset") {
      return Unsupported(tok_.pos, "`offset`");
    }
    return true;
  }

  // `[5m]`: the lexer reads digits and letters as a number token.
  bool RangeDuration(size_t bracket_pos, int64_t& ms) {
    Advance();  // [
    if (tok_.kind != Tok::kNumber && tok_.kind != Tok::kIdent) {
      Fail(tok_.pos, "expected a duration such as 5m, found " + Describe(tok_));
      return false;
    }
    if (!ParsePromDuration(tok_.text, ms)) {
      Fail(tok_.pos, "invalid duration \"" + tok_.text + "\" (use e.g. 30s, 5m, 1h30m)");
      return false;
    }
    Advance();
    if (tok_.kind == Tok::kIdent || tok_.kind == Tok::kNumber) {
      Fail(tok_.pos, "unexpected " + Describe(tok_) + " in range");
      return false;
    }
    if (tok_.kind != Tok::kRBracket) {
      Fail(tok_.kind == Tok::kEnd ? bracket_pos : tok_.pos, "expected ']' closing the range");
      return false;
    }
    Advance();
    return !failed_;
  }

  bool Selector(LabelSelector& out) {
    if (failed_) return false;
    const size_t start = tok_.pos;
    std::vector<Matcher> matchers;
    if (tok_.kind == Tok::kIdent) {
      const std::string lower = Lower(tok_.text);
      if (lower == "by" || lower == "without" || lower == "offset" || lower == "bool" ||
          lower == "on" || lower == "ignoring") {
        Fail(tok_.pos, "expected a metric selector, found keyword \"" + tok_.text + "\"");
        return false;
      }
      auto m = Matcher::Create("__name__", MatchOp::kEqual, tok_.text);
      matchers.push_back(std::move(*m));
      Advance();
    } else if (tok_.kind != Tok::kLBrace) {
      Fail(tok_.pos, "expected a metric selector, found " + Describe(tok_));
      return false;
    }
    if (tok_.kind == Tok::kLBrace) {
      Advance();
      if (!Matchers(matchers, Tok::kRBrace)) return false;
      Advance();  // }
    }
    if (failed_) return false;
    const bool has_non_empty = std::any_of(matchers.begin(), matchers.end(),
                                           [](const Matcher& m) { return !m.Matches(""); });
    if (!has_non_empty) {
      Fail(start, "vector selector must contain at least one non-empty matcher");
      return false;
    }
    out = LabelSelector(std::move(matchers));
    return true;
  }

  // Matchers separated by commas (a trailing comma is allowed), up to `end`.
  bool Matchers(std::vector<Matcher>& out, Tok end) {
    while (!failed_ && tok_.kind != end) {
      if (tok_.kind != Tok::kIdent || !IsLabelName(tok_.text)) {
        Fail(tok_.pos, "expected a label name, found " + Describe(tok_));
        return false;
      }
      std::string name = tok_.text;
      Advance();
      MatchOp op;
      switch (tok_.kind) {
        case Tok::kEq: op = MatchOp::kEqual; break;
        case Tok::kNeq: op = MatchOp::kNotEqual; break;
        case Tok::kReMatch: op = MatchOp::kRegexMatch; break;
        case Tok::kReNoMatch: op = MatchOp::kRegexNoMatch; break;
        default:
          if (failed_) return false;
          Fail(tok_.pos, "expected one of =, !=, =~, !~ after label \"" + name + "\", found " +
                             Describe(tok_));
          return false;
      }
      Advance();
      if (tok_.kind != Tok::kString) {
        if (failed_) return false;
        Fail(tok_.pos, "expected a quoted string after " + name + std::string(MatchOpText(op)) +
                           ", found " + Describe(tok_));
        return false;
      }
      auto m = Matcher::Create(std::move(name), op, tok_.text);
      if (!m) {
        Fail(tok_.pos, m.error());
        return false;
      }
      out.push_back(std::move(*m));
      Advance();
      if (tok_.kind == Tok::kComma) {
        Advance();
      } else if (tok_.kind != end && !failed_) {
        Fail(tok_.pos, "expected ',' or " + std::string(end == Tok::kEnd ? "the end" : "'}'") +
                           " after a matcher, found " + Describe(tok_));
        return false;
      }
    }
    return !failed_;
  }

  Lexer lexer_;
  Token tok_;
  Token peek_;
  bool have_peek_ = false;
  bool failed_ = false;
  QueryError error_;
};

std::string FormatDuration(int64_t ms) {
  std::string out;
  auto part = [&](int64_t unit, const char* suffix) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + suffix;
      ms %= unit;
    }
  };
  part(3'600'000, "h");
  part(60'000, "m");
  part(1'000, "s");
  part(1, "ms");
  return out.empty() ? "0s" : out;
}

std::string FormatNumber(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as v
  return std::string(buf, r.ptr);
}

}  // namespace

std::string_view AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kAvg: return "avg";
    case Aggregation::kSum: return "sum";
    case Aggregation::kMin: return "min";
    case Aggregation::kMax: return "max";
    case Aggregation::kCount: return "count";
  }
  return "?";
}

std::string_view RangeFunctionName(RangeFunction f) {
  switch (f) {
    case RangeFunction::kNone: return "";
    case RangeFunction::kRate: return "rate";
    case RangeFunction::kIrate: return "irate";
    case RangeFunction::kIncrease: return "increase";
  }
  return "?";
}

std::string_view SupportedQueryShapes() { return kShapes; }

bool ParsePromDuration(std::string_view text, int64_t& millis) {
  std::chrono::milliseconds d{};
  if (!ParseDuration(text, d) || d.count() <= 0) {
    return false;
  }
  millis = d.count();
  return true;
}

std::string QueryPlan::ToPromQL() const {
  std::string inner = selector.ToString();
  if (function != RangeFunction::kNone) {
    inner = std::string(RangeFunctionName(function)) + "(" + inner + "[" + FormatDuration(range_ms) +
            "])";
  }
  std::vector<std::string> group = by;
  if (quantile) {
    group.insert(group.begin(), "le");
  }
  std::string agg(AggregationName(quantile ? Aggregation::kSum : aggregation));
  if (!group.empty() || quantile) {
    agg += " by (";
    for (size_t i = 0; i < group.size(); ++i) {
      if (i > 0) agg += ", ";
      agg += group[i];
    }
    agg += ")";
  }
  std::string out = agg + " (" + inner + ")";
  if (quantile) {
    out = "histogram_quantile(" + FormatNumber(*quantile) + ", " + out + ")";
  }
  return out;
}

boost::system::result<QueryPlan, QueryError> ParseQuery(std::string_view text) {
  Parser parser(text);
  if (parser.failed()) return parser.TakeError();
  std::optional<QueryPlan> plan = parser.Query();
  if (!plan) return parser.TakeError();
  return std::move(*plan);
}

boost::system::result<std::vector<Matcher>, QueryError> ParseMatchers(std::string_view text) {
  Parser parser(text);
  if (parser.failed()) return parser.TakeError();
  auto matchers = parser.MatcherList();
  if (!matchers) return parser.TakeError();
  return std::move(*matchers);
}

}  // namespace canaryd::select
