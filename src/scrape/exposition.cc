#include "canaryd/scrape/exposition.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <system_error>

namespace canaryd::scrape {

namespace {

using model::LabelView;

// Character classes. Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names: [a-zA-Z_][a-zA-Z0-9_]*.
enum : uint8_t {
  kNameStart = 1,     // [a-zA-Z_]
  kNameChar = 2,      // [a-zA-Z0-9_]
  kColon = 4,         // ':' (metric names only)
  kBlank = 8,         // ' ' '\t' (separators in the Prometheus text format)
  kQuoteSpecial = 16  // '"' '\\' (ends the fast scan of a quoted string)
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (alpha) v |= kNameStart | kNameChar;
    if (c >= '0' && c <= '9') v |= kNameChar;
    if (c == ':') v |= kColon;
    if (c == ' ' || c == '\t') v |= kBlank;
    if (c == '"' || c == '\\') v |= kQuoteSpecial;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClasses();

inline uint8_t Cls(char c) { return kClass[static_cast<unsigned char>(c)]; }
inline bool IsMetricNameStart(char c) { return (Cls(c) & (kNameStart | kColon)) != 0; }
inline bool IsMetricNameChar(char c) { return (Cls(c) & (kNameChar | kColon)) != 0; }
inline bool IsBlank(char c) { return (Cls(c) & kBlank) != 0; }

// Prometheus replaces every NaN it parses with this one (value.NormalNaN), so a target cannot
// send a staleness marker.
constexpr uint64_t kNormalNaNBits = 0x7ff8000000000001ULL;

bool EqualsIgnoreCase(const char* p, size_t n, std::string_view lower) {
  if (n != lower.size()) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// After std::from_chars reported result_out_of_range for the unsigned decimal number [p, e): true
// if it overflowed (Go's ParseFloat fails with ErrRange), false if it underflowed (Go returns 0).
bool DecimalOverflows(const char* p, const char* e) {
  int64_t magnitude = 0;  // decimal exponent of the first significant digit, plus one
  bool seen_nonzero = false;
  bool in_fraction = false;
  int64_t frac_zeros = 0;
  for (; p < e; ++p) {
    const char c = *p;
    if (c == '.') {
      in_fraction = true;
    } else if (c >= '0' && c <= '9') {
      if (!in_fraction) {
        if (seen_nonzero || c != '0') {
          seen_nonzero = true;
          if (magnitude < 1'000'000'000) ++magnitude;
        }
      } else if (!seen_nonzero) {
        if (c == '0') {
          if (frac_zeros < 1'000'000'000) ++frac_zeros;
        } else {
          seen_nonzero = true;
          magnitude = -frac_zeros;
        }
      }
    } else {
      break;  // 'e' or 'E'
    }
  }
  int64_t exp = 0;
  if (p < e) {
    ++p;
    bool neg = false;
    if (p < e && (*p == '+' || *p == '-')) {
      neg = *p == '-';
      ++p;
    }
    for (; p < e; ++p) {
      if (exp < 1'000'000'000) exp = exp * 10 + (*p - '0');
    }
    if (neg) exp = -exp;
  }
  return magnitude + exp > 0;
}

// Go's strconv.ParseFloat(s, 64) as Prometheus's textparse uses it: decimal notation with an
// optional sign and exponent, [+-]inf / [+-]infinity / nan in any case; no hex floats and no
// underscores (textparse rejects 'p' and '_'); out-of-range values are errors, underflow is 0.
bool ParseGoFloat(std::string_view s, double& out) {
  const char* p = s.data();
  const char* const e = p + s.size();
  if (p == e) return false;
  bool neg = false;
  bool has_sign = false;
  if (*p == '+' || *p == '-') {
    neg = *p == '-';
    has_sign = true;
    ++p;
    if (p == e) return false;
  }
  if ((*p >= '0' && *p <= '9') || *p == '.') {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(p, e, v, std::chars_format::general);
    if (ptr != e) return false;
    if (ec == std::errc::result_out_of_range) {
      if (DecimalOverflows(p, e)) return false;
      v = 0;
    } else if (ec != std::errc()) {
      return false;
    }
    out = neg ? -v : v;
    return true;
  }
  const size_t n = static_cast<size_t>(e - p);
  if (EqualsIgnoreCase(p, n, "inf") || EqualsIgnoreCase(p, n, "infinity")) {
    out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (!has_sign && EqualsIgnoreCase(p, n, "nan")) {
    out = std::bit_cast<double>(kNormalNaNBits);
    return true;
  }
  return false;
}

// `"text"` for messages: Go %q-like escaping, at most ~40 bytes of the input.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  const bool cut = s.size() > kMax;
  if (cut) {
    size_t n = kMax;  // do not split a UTF-8 sequence
    while (n > kMax - 4 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
  }
  const bool utf8 = model::IsValidUtf8(s);
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  if (cut) out += "...";
  return out;
}

// A set of 64-bit hashes of family names (open addressing, linear probing; 0 marks an empty slot).
class FamilySet {
 public:
  explicit FamilySet(std::vector<uint64_t>& slots) : slots_(slots) {
    if (slots_.size() < 64) slots_.assign(64, 0);
    std::fill(slots_.begin(), slots_.end(), 0);
  }
  void Insert(std::string_view name) {
    uint64_t h = std::hash<std::string_view>{}(name);
    if (h == 0) h = 1;
    if (h == last_) return;  // HELP and TYPE of one family come together
    last_ = h;
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    if (Place(slots_, h)) ++count_;
  }
  size_t count() const { return count_; }

 private:
  static bool Place(std::vector<uint64_t>& slots, uint64_t h) {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == h) return false;
      if (slots[i] == 0) {
        slots[i] = h;
        return true;
      }
    }
  }
  void Grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    for (const uint64_t h : slots_) {
      if (h != 0) Place(bigger, h);
    }
    slots_.swap(bigger);
  }
  std::vector<uint64_t>& slots_;
  size_t count_ = 0;
  uint64_t last_ = 0;
};

// One Parse call: the body, the current line, the outputs.
class Parser {
 public:
  Parser(std::string_view body, ExpositionFormat format, ExpositionVisitor& visitor,
         ParseError& error, std::vector<LabelView>& labels, std::string& unescaped,
         std::vector<std::string_view>& names_scratch, std::vector<uint64_t>& family_slots)
      : body_(body),
        om_(format == ExpositionFormat::kOpenMetrics),
        visitor_(visitor),
        error_(error),
        labels_(labels),
        unescaped_(unescaped),
        names_scratch_(names_scratch),
        families_(family_slots) {}

  bool Run();
  size_t samples() const { return samples_; }
  size_t families() const { return families_.count(); }

 private:
  bool Fail(std::string message) {
    error_.line = line_no_;
    error_.message = std::move(message);
    return false;
  }
  bool FailWhole(std::string message) {
    error_.line = 0;
    error_.message = std::move(message);
    return false;
  }
  // What is at `p` for an error message: the quoted rest of the line, or "end of line".
  std::string Got(const char* p) const {
    if (p >= eol_) return has_newline_ ? "end of line" : "end of data";
    return Quote(std::string_view(p, static_cast<size_t>(eol_ - p)));
  }
  const char* SkipBlanks(const char* p) const {
    while (p < eol_ && IsBlank(*p)) ++p;
    return p;
  }
  // Prometheus text: blanks and tabs separate tokens, in any number. OpenMetrics: nothing.
  const char* SkipSeparators(const char* p) const { return om_ ? p : SkipBlanks(p); }

  bool PromLine(const char* p);
  bool OmLine(const char* p, bool& eof);
  bool Descriptor(const char* p, std::string_view keyword);
  bool SampleLine(const char* p);
  bool Labels(const char*& p, std::string_view& name, bool exemplar);
  bool QuotedString(const char*& p, std::string_view& out, bool& needs_utf8_check, bool& escaped);
  bool CheckDuplicates(size_t begin, bool has_name);
  std::string_view Unescape(std::string_view raw);

  const std::string_view body_;
  const bool om_;
  ExpositionVisitor& visitor_;
  ParseError& error_;
  std::vector<LabelView>& labels_;
  std::string& unescaped_;
  std::vector<std::string_view>& names_scratch_;
  FamilySet families_;

  size_t line_no_ = 0;
  const char* line_begin_ = nullptr;
  const char* eol_ = nullptr;  // the line's '\n', or the end of the body
  bool has_newline_ = false;
  size_t samples_ = 0;
};

bool Parser::Run() {
  const char* p = body_.data();
  const char* const end = p + body_.size();
  while (p < end) {
    ++line_no_;
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    line_begin_ = p;
    eol_ = nl != nullptr ? static_cast<const char*>(nl) : end;
    has_newline_ = nl != nullptr;
    if (om_) {
      bool eof = false;
      if (!OmLine(p, eof)) return false;
      if (eof) {
        // `# EOF`, optionally followed by one newline, and nothing else.
        if (has_newline_ && eol_ + 1 != end) {
          ++line_no_;
          return Fail("unexpected data after # EOF: " +
                      Quote(std::string_view(eol_ + 1, static_cast<size_t>(end - eol_ - 1))));
        }
        return true;
      }
    } else if (!PromLine(p)) {
      return false;
    }
    p = eol_ + 1;
  }
  if (om_) return FailWhole("data does not end with # EOF");
  return true;
}

bool Parser::PromLine(const char* p) {
  p = SkipBlanks(p);
  if (p == eol_) return true;  // empty or blank line (also blanks after the last newline)
  if (*p != '#') return SampleLine(p);
  // `#` then blanks then HELP or TYPE then blanks: a descriptor. Anything else is a comment, and
  // comments (only they, as in promparse) may end the body without a newline.
  const char* q = p + 1;
  if (q < eol_ && IsBlank(*q)) {
    q = SkipBlanks(q);
    if (eol_ - q > 4 && IsBlank(q[4])) {
      const std::string_view word(q, 4);
      if (word == "HELP" || word == "TYPE") return Descriptor(SkipBlanks(q + 4), word);
    }
  }
  return true;
}

bool Parser::OmLine(const char* p, bool& eof) {
  if (p == eol_) {
    if (!has_newline_) return true;  // cannot happen: Run stops at the end
    return Fail("unexpected empty line (OpenMetrics allows none)");
  }
  if (*p != '#') {
    if (!SampleLine(p)) return false;
    return true;
  }
  const std::string_view rest(p, static_cast<size_t>(eol_ - p));
  if (rest == "# EOF") {
    eof = true;
    return true;
  }
  if (rest.size() >= 7 && rest[1] == ' ' && rest[6] == ' ') {
    const std::string_view word = rest.substr(2, 4);
    if (word == "HELP" || word == "TYPE" || word == "UNIT") return Descriptor(p + 7, word);
  }
  if (rest.starts_with("# EOF")) return Fail("unexpected data after # EOF: " + Got(p + 5));
  return Fail("invalid comment " + Got(p) +
              ": OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF");
}

// `p` is at the metric name after `# HELP ` / `# TYPE ` / `# UNIT `.
bool Parser::Descriptor(const char* p, std::string_view keyword) {
  std::string_view name;
  const char* q = p;
  if (q < eol_ && IsMetricNameStart(*q)) {
    ++q;
    while (q < eol_ && IsMetricNameChar(*q)) ++q;
    name = std::string_view(p, static_cast<size_t>(q - p));
  } else if (q < eol_ && *q == '"') {
    unescaped_.clear();
    bool check = false;
    bool escaped = false;
    std::string_view raw;
    if (!QuotedString(q, raw, check, escaped)) return false;
    if (check && !model::IsValidUtf8(raw)) return Fail("invalid UTF-8 in metric name " + Quote(raw));
    name = (escaped ? Unescape(raw) : raw);
    if (name.empty()) return Fail("empty metric name after " + std::string(keyword));
  } else {
    return Fail("expected metric name after " + std::string(keyword) + ", got " + Got(q));
  }
  std::string_view text;
  if (om_) {
    // `# HELP name text` with exactly one space before the (possibly empty) text.
    if (q >= eol_ || *q != ' ') return Fail("expected text in " + std::string(keyword) + ", got " + Got(q));
    text = std::string_view(q + 1, static_cast<size_t>(eol_ - q - 1));
    if (!has_newline_) return Fail("data does not end with # EOF");
  } else {
    // promparse drops the one character after the name, whatever it is.
    if (q < eol_) text = std::string_view(q + 1, static_cast<size_t>(eol_ - q - 1));
    if (!has_newline_) return Fail(std::string(keyword) + " line does not end with a newline");
  }
  if (keyword == "TYPE") {
    static constexpr std::string_view kProm[] = {"counter", "gauge", "histogram", "summary",
                                                 "untyped"};
    static constexpr std::string_view kOm[] = {"counter", "gauge",   "histogram", "gaugehistogram",
                                               "stateset", "info", "summary",   "unknown"};
    bool ok = false;
    if (om_) {
      ok = std::find(std::begin(kOm), std::end(kOm), text) != std::end(kOm);
    } else {
      ok = std::find(std::begin(kProm), std::end(kProm), text) != std::end(kProm);
    }
    if (!ok) return Fail("invalid metric type " + Quote(text));
  } else if (keyword == "HELP") {
    if (!model::IsValidUtf8(text)) return Fail("help text is not valid UTF-8");
  } else {  // UNIT: if not empty, a suffix of the name after an underscore
    if (!text.empty() && (name.size() < text.size() + 1 || !name.ends_with(text) ||
                          name[name.size() - text.size() - 1] != '_')) {
      return Fail("unit " + Quote(text) + " is not a suffix of metric " + Quote(name));
    }
  }
  families_.Insert(name);
  return true;
}

// `p` is at an opening quote. Sets `out` to the raw bytes between the quotes and moves `p` past
// the closing quote. Escapes pair a backslash with the next byte; a string must end on its line.
bool Parser::QuotedString(const char*& p, std::string_view& out, bool& needs_utf8_check,
                          bool& escaped) {
  const char* s = p + 1;
  unsigned char high = 0;
  escaped = false;
  while (s < eol_) {
    const char c = *s;
    if ((Cls(c) & kQuoteSpecial) == 0) {
      high |= static_cast<unsigned char>(c);
      ++s;
      continue;
    }
    if (c == '"') break;
    if (s + 1 >= eol_) {  // a backslash needs a byte after it on this line
      s = eol_;
      break;
    }
    escaped = true;
    high |= static_cast<unsigned char>(s[1]);
    s += 2;
  }
  if (s >= eol_) return Fail("unterminated quoted string " + Got(p));
  out = std::string_view(p + 1, static_cast<size_t>(s - p - 1));
  needs_utf8_check = (high & 0x80) != 0;
  p = s + 1;
  return true;
}

// The value of a quoted string: `raw` itself when it has no backslash, else `\\` `\"` `\n`
// replaced (other escapes stay as they are, like Prometheus's replacer) into unescaped_.
std::string_view Parser::Unescape(std::string_view raw) {
  const size_t line_len = static_cast<size_t>(eol_ - line_begin_);
  // Every unescaped string of a line is shorter than the line: reserving the line's length
  // before the first one means the buffer never moves while this line's views point into it.
  if (unescaped_.empty() && unescaped_.capacity() < line_len) unescaped_.reserve(line_len);
  const size_t start = unescaped_.size();
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char n = raw[i + 1];
      if (n == '\\' || n == '"') {
        unescaped_.push_back(n);
        ++i;
        continue;
      }
      if (n == 'n') {
        unescaped_.push_back('\n');
        ++i;
        continue;
      }
    }
    unescaped_.push_back(c);
  }
  return std::string_view(unescaped_.data() + start, unescaped_.size() - start);
}

// Parses a label set; `p` is just after `{` and ends just after `}`. Appends the labels to labels_.
// A quoted string followed by `,` or `}` is the metric name (not in exemplars).
bool Parser::Labels(const char*& p, std::string_view& name, bool exemplar) {
  const size_t begin = labels_.size();
  bool expect_label = false;  // after a comma, OpenMetrics wants another label
  for (;;) {
    p = SkipSeparators(p);
    if (p >= eol_) return Fail("unterminated label set, got " + Got(p));
    if (*p == '}') {
      if (expect_label) return Fail("expected label name after ',', got " + Got(p));
      ++p;
      break;
    }
    // The label name: an identifier or a quoted UTF-8 string.
    std::string_view label;
    bool quoted = false;
    const char* const label_start = p;
    if (Cls(*p) & kNameStart) {
      const char* q = p + 1;
      while (q < eol_ && (Cls(*q) & kNameChar)) ++q;
      label = std::string_view(p, static_cast<size_t>(q - p));
      p = q;
    } else if (*p == '"') {
      bool check = false;
    bool escaped = false;
      std::string_view raw;
      if (!QuotedString(p, raw, check, escaped)) return false;
      if (check && !model::IsValidUtf8(raw)) return Fail("invalid UTF-8 in name " + Quote(raw));
      label = (escaped ? Unescape(raw) : raw);
      quoted = true;
    } else {
      return Fail("expected label name, got " + Got(p));
    }
    p = SkipSeparators(p);
    if (quoted && p < eol_ && (*p == ',' || *p == '}')) {
      if (exemplar) return Fail("expected '=' after exemplar label name, got " + Got(p));
      if (!name.empty()) {
        return Fail("metric name given twice: " + Quote(name) + " and " + Got(label_start));
      }
      if (label.empty()) return Fail("empty metric name in braces");
      name = label;
    } else {
      if (label.empty()) return Fail("empty label name");
      if (p >= eol_ || *p != '=') {
        return Fail("expected '=' after label name " + Quote(label) + ", got " + Got(p));
      }
      p = SkipSeparators(p + 1);
      if (p >= eol_ || *p != '"') {
        return Fail("expected label value after " + Quote(std::string(label) + "=") + ", got " +
                    Got(p));
      }
      bool check = false;
    bool escaped = false;
      std::string_view raw;
      if (!QuotedString(p, raw, check, escaped)) return false;
      if (check && !model::IsValidUtf8(raw)) {
        return Fail("invalid UTF-8 in the value of label " + Quote(label));
      }
      labels_.push_back(LabelView{label, (escaped ? Unescape(raw) : raw)});
    }
    p = SkipSeparators(p);
    if (p < eol_ && *p == ',') {
      ++p;
      expect_label = om_;  // Prometheus text allows a trailing comma
      continue;
    }
    if (p < eol_ && *p == '}') {
      ++p;
      break;
    }
    return Fail("expected ',' or '}' after label, got " + Got(p));
  }
  return CheckDuplicates(begin, !exemplar && !name.empty());
}

bool Parser::CheckDuplicates(size_t begin, bool has_name) {
  const size_t n = labels_.size() - begin;
  const LabelView* const l = labels_.data() + begin;
  if (n <= 12) {
    for (size_t i = 0; i < n; ++i) {
      if (has_name && l[i].name == "__name__") {
        return Fail("duplicate label name \"__name__\" (the metric name is given)");
      }
      for (size_t j = i + 1; j < n; ++j) {
        if (l[i].name == l[j].name) return Fail("duplicate label name " + Quote(l[i].name));
      }
    }
    return true;
  }
  names_scratch_.clear();
  for (size_t i = 0; i < n; ++i) names_scratch_.push_back(l[i].name);
  if (has_name) names_scratch_.push_back("__name__");
  std::sort(names_scratch_.begin(), names_scratch_.end());
  const auto dup = std::adjacent_find(names_scratch_.begin(), names_scratch_.end());
  if (dup != names_scratch_.end()) return Fail("duplicate label name " + Quote(*dup));
  return true;
}

bool Parser::SampleLine(const char* p) {
  labels_.clear();
  unescaped_.clear();
  ExpositionSample s;
  const char* const series_begin = p;
  const char* q = p;
  if (IsMetricNameStart(*q)) {
    ++q;
    while (q < eol_ && IsMetricNameChar(*q)) ++q;
    s.name = std::string_view(p, static_cast<size_t>(q - p));
  } else if (*q != '{') {
    return Fail("expected metric name, comment or '{' at start of line, got " + Got(q));
  }
  const char* series_end = q;
  const char* r = SkipSeparators(q);
  if (r < eol_ && *r == '{') {
    ++r;
    if (!Labels(r, s.name, false)) return false;
    series_end = r;
  }
  if (s.name.empty()) {
    // `{__name__="x", ...}` names the metric by label.
    const auto it = std::find_if(labels_.begin(), labels_.end(),
                                 [](const LabelView& l) { return l.name == "__name__"; });
    if (it == labels_.end() || it->value.empty()) {
      return Fail("metric name missing in " + Quote(std::string_view(
                                                  series_begin,
                                                  static_cast<size_t>(series_end - series_begin))));
    }
    s.name = it->value;
    labels_.erase(it);
  }
  const size_t sample_labels = labels_.size();
  s.series_text =
      std::string_view(series_begin, static_cast<size_t>(series_end - series_begin));

  // The value.
  const char* v = r;
  if (om_) {
    if (v >= eol_ || *v != ' ') return Fail("expected ' ' and value after metric, got " + Got(v));
    ++v;
  } else {
    v = SkipBlanks(v);
  }
  const char* ve = v;
  if (om_) {
    while (ve < eol_ && *ve != ' ') ++ve;
  } else {
    while (ve < eol_ && !IsBlank(*ve) && *ve != '{') ++ve;
  }
  if (ve == v) return Fail("expected value after metric, got " + Got(v));
  if (!ParseGoFloat(std::string_view(v, static_cast<size_t>(ve - v)), s.value)) {
    return Fail("invalid value " + Quote(std::string_view(v, static_cast<size_t>(ve - v))));
  }

  // The timestamp, then (OpenMetrics) the exemplar.
  const char* t = ve;
  if (om_) {
    auto exemplar_next = [&](const char* at) {
      return eol_ - at >= 4 && at[0] == ' ' && at[1] == '#' && at[2] == ' ' && at[3] == '{';
    };
    if (t < eol_ && !exemplar_next(t)) {
      if (*t != ' ') return Fail("expected timestamp after value, got " + Got(t));  // unreachable
      ++t;
      const char* te = t;
      while (te < eol_ && *te != ' ') ++te;
      double ts = 0;
      const std::string_view tok(t, static_cast<size_t>(te - t));
      if (tok.empty()) return Fail("expected timestamp or exemplar after value, got " + Got(t));
      if (!ParseGoFloat(tok, ts)) return Fail("invalid timestamp " + Quote(tok));
      if (std::isnan(ts) || std::isinf(ts)) return Fail("invalid timestamp " + Quote(tok));
      const double ms = ts * 1000;
      if (!(ms > -9.2233720368547758e18 && ms < 9.2233720368547758e18)) {
        return Fail("timestamp out of range " + Quote(tok));
      }
      s.has_timestamp = true;
      s.timestamp_ms = static_cast<int64_t>(ms);  // truncation toward zero, as Go's int64()
      t = te;
    }
    if (t < eol_) {
      if (!exemplar_next(t)) return Fail("expected exemplar or end of line, got " + Got(t));
      // ` # {labels} value [timestamp]`: validated, then dropped.
      const char* x = t + 4;
      std::string_view unused;
      const size_t ex_begin = labels_.size();
      if (!Labels(x, unused, true)) return false;
      size_t code_points = 0;
      for (size_t i = ex_begin; i < labels_.size(); ++i) {
        for (const std::string_view part : {labels_[i].name, labels_[i].value}) {
          for (const char c : part) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        }
      }
      if (code_points > 128) {
        return Fail("exemplar labels have " + std::to_string(code_points) +
                    " code points, more than 128");
      }
      labels_.resize(ex_begin);
      if (x >= eol_ || *x != ' ') return Fail("expected value after exemplar labels, got " + Got(x));
      ++x;
      const char* xe = x;
      while (xe < eol_ && *xe != ' ') ++xe;
      double xv = 0;
      const std::string_view vtok(x, static_cast<size_t>(xe - x));
      if (!ParseGoFloat(vtok, xv)) return Fail("invalid exemplar value " + Quote(vtok));
      if (xe < eol_) {
        ++xe;  // the space
        const char* xte = xe;
        while (xte < eol_ && *xte != ' ') ++xte;
        const std::string_view ttok(xe, static_cast<size_t>(xte - xe));
        double xts = 0;
        if (!ParseGoFloat(ttok, xts) || std::isnan(xts) || std::isinf(xts)) {
          return Fail("invalid exemplar timestamp " + Quote(ttok));
        }
        if (xte < eol_) return Fail("expected end of line after exemplar timestamp, got " + Got(xte));
      }
    }
    if (!has_newline_) return Fail("data does not end with # EOF");
  } else {
    t = SkipBlanks(t);
    if (t < eol_) {
      const char* te = t;
      while (te < eol_ && !IsBlank(*te)) ++te;
      const auto [ptr, ec] = std::from_chars(t, te, s.timestamp_ms);
      if (ec != std::errc() || ptr != te) {
        return Fail("invalid timestamp " + Quote(std::string_view(t, static_cast<size_t>(te - t))));
      }
      s.has_timestamp = true;
      te = SkipBlanks(te);
      if (te < eol_) return Fail("expected end of line after timestamp, got " + Got(te));
    }
    if (!has_newline_) return Fail("last line does not end with a newline");
  }
  s.labels = std::span<const LabelView>(labels_.data(), sample_labels);
  ++samples_;
  visitor_.OnSample(s);
  return true;
}

}  // namespace

ExpositionFormat FormatFromContentType(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  if (EqualsIgnoreCase(media.data(), media.size(), "application/openmetrics-text")) {
    return ExpositionFormat::kOpenMetrics;
  }
  return ExpositionFormat::kPrometheusText;
}

bool ExpositionParser::Parse(std::string_view body, ExpositionFormat format,
                             ExpositionVisitor& visitor, ParseError& error, ParseStats* stats) {
  error = ParseError{};
  Parser parser(body, format, visitor, error, labels_, unescaped_, names_scratch_, family_slots_);
  const bool ok = parser.Run();
  if (stats != nullptr) {
    stats->samples = parser.samples();
    stats->families = parser.families();
  }
  return ok;
}

}  // namespace canaryd::scrape
