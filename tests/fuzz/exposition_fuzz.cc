// libFuzzer target: the scrape exposition parser (Prometheus text 0.0.4 and OpenMetrics 1.0).
//
// The first byte picks the format (bit 0: 0 text, 1 OpenMetrics); the rest is the body. Checks
// beyond "does not crash":
//   - every view handed to the visitor is readable for the whole OnSample call (all its bytes are
//     read, so ASan catches a view into a buffer that moved), series_text lies inside the body and
//     starts the way the header documents, names are non-empty, names and values valid UTF-8,
//     label names unique and never `__name__`;
//   - ParseStats::samples equals the OnSample calls; errors have a message, a bounded length and a
//     line inside the body (0 only for OpenMetrics' missing # EOF);
//   - equal series_text within one body means equal name and labels (callers cache by it);
//   - a successful parse printed back as Prometheus text parses to the same samples;
//   - parsing again with the same parser (warm buffers) gives the same result.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/common/metrics.h"
#include "canaryd/model/labels.h"
#include "canaryd/scrape/exposition.h"

namespace {

using canaryd::scrape::ExpositionFormat;
using canaryd::scrape::ExpositionParser;
using canaryd::scrape::ExpositionSample;
using canaryd::scrape::ExpositionVisitor;
using canaryd::scrape::ParseError;
using canaryd::scrape::ParseStats;

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  canaryd::AppendEscapedLabelValue(out, s);
  out += '"';
}

struct Copy {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  uint64_t value_bits = 0;
  bool has_ts = false;
  int64_t ts = 0;
  bool operator==(const Copy&) const = default;
};

// Prometheus text for one sample; parses back to the same sample.
void Print(std::string& out, const Copy& c) {
  const bool bare = IsMetricName(c.name);
  if (bare) out += c.name;
  out += '{';
  if (!bare) {
    AppendQuoted(out, c.name);
    out += ',';
  }
  for (const auto& [n, v] : c.labels) {
    if (canaryd::model::IsValidLabelName(n)) {
      out += n;
    } else {
      AppendQuoted(out, n);
    }
    out += '=';
    AppendQuoted(out, v);
    out += ',';
  }
  out += "} ";
  const double v = std::bit_cast<double>(c.value_bits);
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
  if (c.has_ts) {
    out += ' ';
    out += std::to_string(c.ts);
  }
  out += '\n';
}

class Checker : public ExpositionVisitor {
 public:
  explicit Checker(std::string_view body) : body_(body) {}

  void OnSample(const ExpositionSample& s) override {
    Check(!s.name.empty());
    Check(canaryd::model::IsValidUtf8(s.name));
    Check(InBody(s.series_text));
    Check(!s.series_text.empty());
    if (s.series_text.front() == '{') {
      Check(s.series_text.back() == '}');
    } else {
      // An identifier name is the start of series_text, as a view into the body.
      Check(s.series_text.starts_with(s.name));
      Check(s.name.data() == s.series_text.data());
      Check(s.series_text.size() == s.name.size() || s.series_text.back() == '}');
    }
    unsigned sum = Touch(s.name) + Touch(s.series_text);
    Copy c;
    c.name = std::string(s.name);
    for (size_t i = 0; i < s.labels.size(); ++i) {
      const auto& l = s.labels[i];
      sum += Touch(l.name) + Touch(l.value);
      Check(!l.name.empty());
      Check(l.name != "__name__");
      Check(canaryd::model::IsValidUtf8(l.name));
      Check(canaryd::model::IsValidUtf8(l.value));
      for (size_t j = 0; j < i; ++j) Check(s.labels[j].name != l.name);
      c.labels.emplace_back(std::string(l.name), std::string(l.value));
    }
    checksum_ += sum;
    c.value_bits = std::bit_cast<uint64_t>(s.value);
    if (std::isnan(s.value)) Check(c.value_bits == 0x7ff8000000000001ULL);
    c.has_ts = s.has_timestamp;
    c.ts = s.has_timestamp ? s.timestamp_ms : 0;
    if (!s.has_timestamp) Check(s.timestamp_ms == 0);

    // Equal series_text, equal series.
    std::string key = c.name;
    key += '\0';
    for (const auto& [n, v] : c.labels) {
      key += n;
      key += '\0';
      key += v;
      key += '\0';
    }
    const auto [it, inserted] = by_series_.emplace(std::string(s.series_text), key);
    if (!inserted) Check(it->second == key);
    samples.push_back(std::move(c));
  }

  std::vector<Copy> samples;

 private:
  bool InBody(std::string_view v) const {
    return v.data() >= body_.data() && v.data() + v.size() <= body_.data() + body_.size();
  }
  static unsigned Touch(std::string_view v) {
    unsigned sum = 0;
    for (const char ch : v) sum += static_cast<unsigned char>(ch);
    return sum;
  }
  std::string_view body_;
  std::map<std::string, std::string> by_series_;
  unsigned checksum_ = 0;
};

ExpositionParser& Parser() {
  static ExpositionParser parser;  // warm buffers across inputs, as in a scrape loop
  return parser;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ExpositionFormat format =
      (data[0] & 1) != 0 ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kPrometheusText;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  Checker checker(body);
  ParseError error;
  ParseStats stats;
  const bool ok = Parser().Parse(body, format, checker, error, &stats);
  Check(stats.samples == checker.samples.size());
  const size_t lines = static_cast<size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
  if (!ok) {
    Check(!error.message.empty());
    Check(error.message.size() < 400);
    Check(error.line <= lines);
    Check(error.line > 0 || format == ExpositionFormat::kOpenMetrics);
  } else {
    Check(error.line == 0 && error.message.empty());
    Check(stats.families <= lines);
    if (format == ExpositionFormat::kOpenMetrics) {
      Check(body.ends_with("# EOF") || body.ends_with("# EOF\n"));
    }
  }

  // The same input again, with the same (now warm) parser: the same outcome.
  Checker again(body);
  ParseError error2;
  ParseStats stats2;
  Check(Parser().Parse(body, format, again, error2, &stats2) == ok);
  Check(error2.line == error.line && error2.message == error.message);
  Check(again.samples == checker.samples);
  Check(stats2.families == stats.families);

  if (ok) {
    // Printed back as Prometheus text, the samples parse to themselves.
    std::string printed;
    for (const Copy& c : checker.samples) Print(printed, c);
    Checker back(printed);
    ParseError error3;
    ExpositionParser fresh;
    Check(fresh.Parse(printed, ExpositionFormat::kPrometheusText, back, error3));
    Check(back.samples == checker.samples);
  }
  return 0;
}
