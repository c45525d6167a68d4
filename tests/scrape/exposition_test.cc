#include "canaryd/scrape/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace canaryd::scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr auto kText = ExpositionFormat::kPrometheusText;
constexpr auto kOm = ExpositionFormat::kOpenMetrics;

struct Rec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string series;
  double value = 0;
  bool has_ts = false;
  int64_t ts = 0;
  // Where the views pointed: into the body or elsewhere (the parser's buffer).
  bool name_in_body = false;
  bool series_in_body = false;
  std::vector<bool> value_in_body;
};

class Collector : public ExpositionVisitor {
 public:
  explicit Collector(std::string_view body) : body_(body) {}
  void OnSample(const ExpositionSample& s) override {
    Rec r;
    r.name = std::string(s.name);
    for (const auto& l : s.labels) {
      r.labels.emplace_back(std::string(l.name), std::string(l.value));
      r.value_in_body.push_back(InBody(l.value));
    }
    r.series = std::string(s.series_text);
    r.value = s.value;
    r.has_ts = s.has_timestamp;
    r.ts = s.timestamp_ms;
    r.name_in_body = InBody(s.name);
    r.series_in_body = InBody(s.series_text);
    samples.push_back(std::move(r));
  }
  bool InBody(std::string_view v) const {
    return v.data() >= body_.data() && v.data() + v.size() <= body_.data() + body_.size();
  }
  std::vector<Rec> samples;

 private:
  std::string_view body_;
};

struct Result {
  bool ok = false;
  ParseError error;
  ParseStats stats;
  std::vector<Rec> samples;
};

Result Parse(std::string_view body, ExpositionFormat format) {
  ExpositionParser parser;
  Collector c(body);
  Result r;
  r.ok = parser.Parse(body, format, c, r.error, &r.stats);
  r.samples = std::move(c.samples);
  EXPECT_EQ(r.stats.samples, r.samples.size());
  return r;
}

Rec One(std::string_view body, ExpositionFormat format = kText) {
  const Result r = Parse(body, format);
  EXPECT_TRUE(r.ok) << body << " -> line " << r.error.line << ": " << r.error.message;
  EXPECT_EQ(r.samples.size(), 1u) << body;
  return r.samples.empty() ? Rec{} : r.samples[0];
}

double Value(std::string_view v, ExpositionFormat format = kText) {
  std::string body = "m " + std::string(v) + "\n";
  if (format == kOm) body += "# EOF\n";
  return One(body, format).value;
}

// Expects the body to fail at `line` with a message containing `what`.
void ExpectError(std::string_view body, ExpositionFormat format, size_t line, std::string_view what) {
  const Result r = Parse(body, format);
  EXPECT_FALSE(r.ok) << "accepted: " << body;
  EXPECT_EQ(r.error.line, line) << body << " -> " << r.error.message;
  EXPECT_THAT(r.error.message, HasSubstr(std::string(what))) << body;
  EXPECT_LE(r.error.message.size(), 200u);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------- Prometheus text 0.0.4

TEST(ExpositionTextTest, PlainSample) {
  const Rec r = One("http_requests_total 1027\n");
  EXPECT_EQ(r.name, "http_requests_total");
  EXPECT_TRUE(r.labels.empty());
  EXPECT_EQ(r.series, "http_requests_total");
  EXPECT_EQ(r.value, 1027);
  EXPECT_FALSE(r.has_ts);
  EXPECT_TRUE(r.name_in_body);
}

TEST(ExpositionTextTest, LabelsInOrderWithColonsInName) {
  const Rec r = One("ns:rule:rate5m{method=\"post\",code=\"200\",_x9=\"\"} 3 1395066363000\n");
  EXPECT_EQ(r.name, "ns:rule:rate5m");
  EXPECT_THAT(r.labels, ElementsAre(Pair("method", "post"), Pair("code", "200"), Pair("_x9", "")));
  EXPECT_EQ(r.series, "ns:rule:rate5m{method=\"post\",code=\"200\",_x9=\"\"}");
  EXPECT_TRUE(r.has_ts);
  EXPECT_EQ(r.ts, 1395066363000);
  EXPECT_TRUE(r.series_in_body);
  EXPECT_THAT(r.value_in_body, ElementsAre(true, true, true));  // no escapes: zero copy
}

TEST(ExpositionTextTest, LabelValueEscapes) {
  const Rec r = One(R"(m{a="x\\y",b="q\"r",c="l\nm",d="t\tu",e="plain"} 2)" "\n");
  EXPECT_THAT(r.labels, ElementsAre(Pair("a", "x\\y"), Pair("b", "q\"r"), Pair("c", "l\nm"),
                                    Pair("d", "t\\tu"),  // unknown escapes stay as written
                                    Pair("e", "plain")));
  EXPECT_THAT(r.value_in_body, ElementsAre(false, false, false, false, true));
  EXPECT_EQ(One(R"(m{a="\\n"} 1)" "\n").labels[0].second, "\\n");
  EXPECT_EQ(One(R"(m{a="\\\""} 1)" "\n").labels[0].second, "\\\"");
}

TEST(ExpositionTextTest, ManyEscapedValuesOnOneLineStayValid) {
  // Views into the unescape buffer must survive the whole line (ASan catches a reallocation).
  std::string line = "m{";
  for (int i = 0; i < 60; ++i) {
    line += "l" + std::to_string(i) + "=\"v\\\\" + std::string(static_cast<size_t>(i), 'x') + "\",";
  }
  line += "} 1\n";
  const Rec r = One(line);
  ASSERT_EQ(r.labels.size(), 60u);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(r.labels[static_cast<size_t>(i)].second, "v\\" + std::string(static_cast<size_t>(i), 'x'));
  }
  // The parser keeps its buffer between lines and between calls.
  ExpositionParser parser;
  const std::string body = line + "m{a=\"\\\"\"} 2\n" + line;
  Collector c(body);
  ParseError e;
  ASSERT_TRUE(parser.Parse(body, kText, c, e));
  ASSERT_EQ(c.samples.size(), 3u);
  EXPECT_EQ(c.samples[1].labels[0].second, "\"");
  EXPECT_EQ(c.samples[2].labels[59].second, "v\\" + std::string(59, 'x'));
  Collector c2(body);
  ASSERT_TRUE(parser.Parse(body, kText, c2, e));
  EXPECT_EQ(c2.samples.size(), 3u);
}

TEST(ExpositionTextTest, BlanksTabsAndTrailingComma) {
  const Rec r = One("  \tm { a = \"1\" ,\tb=\"2\", } \t 3 \t 123 \t\n");
  EXPECT_EQ(r.name, "m");
  EXPECT_THAT(r.labels, ElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_EQ(r.series, "m { a = \"1\" ,\tb=\"2\", }");
  EXPECT_EQ(r.value, 3);
  EXPECT_EQ(r.ts, 123);
  EXPECT_EQ(One("m{} 1\n").series, "m{}");
  EXPECT_EQ(One("m{a=\"b\",} 1\n").labels.size(), 1u);
  EXPECT_EQ(One("m{a=\"b\"}1\n").value, 1);  // promparse needs no blank after `}`
}

TEST(ExpositionTextTest, Timestamps) {
  EXPECT_EQ(One("m 1 1700000000123\n").ts, 1700000000123);
  EXPECT_EQ(One("m 1 -5\n").ts, -5);  // int64 per the format (promparse 2.42 accepts digits only)
  EXPECT_EQ(One("m 1 0\n").ts, 0);
  EXPECT_EQ(One("m 1 9223372036854775807\n").ts, std::numeric_limits<int64_t>::max());
  ExpectError("m 1 9223372036854775808\n", kText, 1, "invalid timestamp");
  ExpectError("m 1 1.5\n", kText, 1, "invalid timestamp \"1.5\"");
  ExpectError("m 1 +5\n", kText, 1, "invalid timestamp");
  ExpectError("m 1 12x\n", kText, 1, "invalid timestamp \"12x\"");
  ExpectError("m 1 2 3\n", kText, 1, "expected end of line after timestamp, got \"3\"");
  ExpectError("m 1 {\n", kText, 1, "invalid timestamp");
}

TEST(ExpositionTextTest, GoParseFloatValues) {
  EXPECT_TRUE(std::isnan(Value("NaN")));
  EXPECT_TRUE(std::isnan(Value("nan")));
  EXPECT_TRUE(std::isnan(Value("nAn")));
  // Every NaN becomes Prometheus's normal NaN, so a target cannot send a stale marker.
  EXPECT_EQ(std::bit_cast<uint64_t>(Value("NaN")), 0x7ff8000000000001ULL);
  EXPECT_EQ(Value("+Inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("-Inf"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("Inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("-infinity"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("+INFINITY"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("1e3"), 1000);
  EXPECT_EQ(Value("1E-3"), 0.001);
  EXPECT_EQ(Value("-.5"), -0.5);
  EXPECT_EQ(Value("5."), 5);
  EXPECT_EQ(Value("+7"), 7);
  EXPECT_EQ(Value("007"), 7);
  EXPECT_EQ(Value("1.7976931348623157e308"), 1.7976931348623157e308);
  EXPECT_EQ(Value("4.9e-324"), 4.9e-324);  // subnormal, as Go
  EXPECT_EQ(Value("1e-400"), 0);           // underflow is 0 in Go, not an error
  EXPECT_TRUE(std::signbit(Value("-1e-400")));
  EXPECT_EQ(Value("0.0000000000000000000000000000000000000000000000000001e-300"), 0);
  EXPECT_EQ(Value("-0"), 0);
  for (const char* bad : {"1e400", "-1e400", "1000000000e300", "0x1p3", "0x10", "1_000", "+nan",
                          "-NaN", "infin", "in", "nan(1)", "1e", ".", "+", "-", "--1", "+-1",
                          "1.2.3", "abc", "1,5", "\"1\""}) {
    ExpectError("m " + std::string(bad) + "\n", kText, 1, "invalid value");
  }
}

TEST(ExpositionTextTest, HelpTypeAndComments) {
  const Result r = Parse(
      "# HELP m Some help with \\\\ and \\n escapes.\n"
      "# TYPE m counter\n"
      "# just a comment { with \" anything \xff\n"
      "#no blank after hash\n"
      "#\n"
      "# HELP\n"            // no blank after HELP: a comment
      "# HELPER m text\n"   // not HELP: a comment
      "#\tTYPE\tn\tgauge\n"  // tabs separate as well
      "# HELP o\n"          // empty docstring
      "# TYPE p untyped\n"
      "# TYPE q histogram\n"
      "# TYPE s summary\n"
      "m 1\n",
      kText);
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.stats.families, 6u);  // m n o p q s
  ExpectError("# TYPE m counter \n", kText, 1, "invalid metric type \"counter \"");
  ExpectError("# TYPE m  counter\n", kText, 1, "invalid metric type \" counter\"");
  ExpectError("m 1\n# TYPE m unknown\n", kText, 2, "invalid metric type \"unknown\"");
  ExpectError("# TYPE m\n", kText, 1, "invalid metric type \"\"");
  ExpectError("# HELP \n", kText, 1, "expected metric name after HELP, got end of line");
  ExpectError("# TYPE 1m counter\n", kText, 1, "expected metric name after TYPE, got \"1m counter\"");
  ExpectError("# HELP m bad \xc3\x28 utf8\n", kText, 1, "help text is not valid UTF-8");
  ExpectError("# HELP m text", kText, 1, "does not end with a newline");
}

TEST(ExpositionTextTest, EmptyAndBlankLines) {
  const Result r = Parse("\n\n  \t\nm 1\n\n \nn 2\n   ", kText);
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.samples.size(), 2u);
  EXPECT_TRUE(Parse("", kText).ok);
}

TEST(ExpositionTextTest, LastLineMustEndWithNewline) {
  ExpectError("m 1\nn 2", kText, 2, "last line does not end with a newline");
  ExpectError("m 1 123", kText, 1, "last line does not end with a newline");
  ExpectError("m{a=\"b\"", kText, 1, "expected ',' or '}' after label, got end of data");
  ExpectError("m{", kText, 1, "unterminated label set, got end of data");
  // A final comment needs no newline (promparse's comment lexer stops at the end of the data).
  EXPECT_TRUE(Parse("m 1\n# trailing comment", kText).ok);
}

TEST(ExpositionTextTest, CarriageReturnIsNotASeparator) {
  // promparse treats '\r' as an ordinary byte: CRLF bodies fail on every sample line.
  ExpectError("m 1\r\n", kText, 1, "invalid value \"1\\r\"");
  ExpectError("m 1 123\r\n", kText, 1, "invalid timestamp \"123\\r\"");
  ExpectError("# TYPE m counter\r\n", kText, 1, "invalid metric type \"counter\\r\"");
  EXPECT_TRUE(Parse("# a comment\r\n", kText).ok);
}

TEST(ExpositionTextTest, HistogramsAndSummariesArePlainSamples) {
  const Result r = Parse(
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.05\"} 24054\n"
      "h_bucket{le=\"0.1\"} 33444\n"
      "h_bucket{le=\"+Inf\"} 144320\n"
      "h_sum 53423\n"
      "h_count 144320\n"
      "# TYPE s summary\n"
      "s{quantile=\"0.5\"} 4773\n"
      "s{quantile=\"0.99\"} NaN\n"
      "s_sum 1.7560473e+07\n"
      "s_count 2693\n",
      kText);
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.samples.size(), 9u);
  EXPECT_EQ(r.samples[2].name, "h_bucket");
  EXPECT_THAT(r.samples[2].labels, ElementsAre(Pair("le", "+Inf")));
  EXPECT_EQ(r.samples[4].name, "h_count");
  EXPECT_TRUE(std::isnan(r.samples[6].value));
  EXPECT_EQ(r.samples[7].value, 1.7560473e+07);
  EXPECT_EQ(r.stats.families, 2u);
}

TEST(ExpositionTextTest, QuotedUtf8Names) {
  Rec r = One("{\"my.dotted.metric\", \"error.message\"=\"Not Found\", code=\"404\"} 1\n");
  EXPECT_EQ(r.name, "my.dotted.metric");
  EXPECT_THAT(r.labels, ElementsAre(Pair("error.message", "Not Found"), Pair("code", "404")));
  EXPECT_EQ(r.series, "{\"my.dotted.metric\", \"error.message\"=\"Not Found\", code=\"404\"}");
  r = One("{a=\"1\",\"name.last\"} 2\n");  // the name may come anywhere in the braces
  EXPECT_EQ(r.name, "name.last");
  EXPECT_THAT(r.labels, ElementsAre(Pair("a", "1")));
  r = One("{\"q\\\"uote\\\\d\"} 3\n");
  EXPECT_EQ(r.name, "q\"uote\\d");
  EXPECT_FALSE(r.name_in_body);
  r = One("m{\"\xc3\xa9t\xc3\xa9\"=\"\xe2\x82\xac\"} 4\n");
  EXPECT_THAT(r.labels, ElementsAre(Pair("\xc3\xa9t\xc3\xa9", "\xe2\x82\xac")));
  r = One("{__name__=\"by_label\",a=\"b\"} 5\n");
  EXPECT_EQ(r.name, "by_label");
  EXPECT_THAT(r.labels, ElementsAre(Pair("a", "b")));
  const Result d = Parse("# TYPE \"my.metric\" counter\n# HELP \"my.metric\" help\n", kText);
  ASSERT_TRUE(d.ok) << d.error.message;
  EXPECT_EQ(d.stats.families, 1u);

  ExpectError("m{\"x\"} 1\n", kText, 1, "metric name given twice");
  ExpectError("{\"x\",\"y\"} 1\n", kText, 1, "metric name given twice");
  ExpectError("{a=\"b\"} 1\n", kText, 1, "metric name missing in \"{a=\\\"b\\\"}\"");
  ExpectError("{\"\"} 1\n", kText, 1, "empty metric name");
  ExpectError("m{\"\"=\"v\"} 1\n", kText, 1, "empty label name");
  ExpectError("{\"a\xff\"} 1\n", kText, 1, "invalid UTF-8 in name");
  ExpectError("m{\"a=\"b\"} 1\n", kText, 1, "expected '=' after label name");
}

TEST(ExpositionTextTest, LabelErrors) {
  ExpectError("m{a=\"1\",a=\"2\"} 1\n", kText, 1, "duplicate label name \"a\"");
  ExpectError("m{__name__=\"x\"} 1\n", kText, 1, "duplicate label name \"__name__\"");
  std::string many = "m{";
  for (int i = 0; i < 30; ++i) many += "l" + std::to_string(i) + "=\"v\",";
  ExpectError(many + "l7=\"again\"} 1\n", kText, 1, "duplicate label name \"l7\"");
  ExpectError(many + "__name__=\"n\"} 1\n", kText, 1, "duplicate label name \"__name__\"");
  EXPECT_EQ(One(many + "} 1\n").labels.size(), 30u);
  ExpectError("m{1a=\"b\"} 1\n", kText, 1, "expected label name, got \"1a=");
  ExpectError("m{a:b=\"c\"} 1\n", kText, 1, "expected '=' after label name \"a\", got \":b=");
  ExpectError("m{a-b=\"c\"} 1\n", kText, 1, "expected '=' after label name \"a\"");
  ExpectError("m{le=abc} 1\n", kText, 1, "expected label value after \"le=\", got \"abc} 1\"");
  ExpectError("m{a=\"1\" b=\"2\"} 1\n", kText, 1, "expected ',' or '}' after label, got \"b=");
  ExpectError("m{,} 1\n", kText, 1, "expected label name, got \",} 1\"");
  ExpectError("m{a=\"1\",,} 1\n", kText, 1, "expected label name");
  ExpectError("m{a=\"x\xff\"} 1\n", kText, 1, "invalid UTF-8 in the value of label \"a\"");
  ExpectError("m{a=\"\xed\xa0\x80\"} 1\n", kText, 1, "invalid UTF-8");  // a surrogate
  ExpectError("m{a=\"line\nbreak\"} 1\n", kText, 1, "unterminated quoted string");
  ExpectError("m{a=\"ends in backslash\\\n\"} 1\n", kText, 1, "unterminated quoted string");
  ExpectError("m{a=\"b\"}{c=\"d\"} 1\n", kText, 1, "expected value after metric, got \"{c=");
}

TEST(ExpositionTextTest, SampleLineErrors) {
  ExpectError("m\n", kText, 1, "expected value after metric, got end of line");
  ExpectError("m{a=\"b\"}   \n", kText, 1, "expected value after metric");
  ExpectError("-m 1\n", kText, 1, "expected metric name, comment or '{' at start of line, got \"-m 1\"");
  ExpectError("1m 1\n", kText, 1, "at start of line");
  ExpectError(std::string("\0m 1\n", 5), kText, 1, "at start of line, got \"\\x00m 1\"");
  ExpectError("m 1 x\n", kText, 1, "invalid timestamp \"x\"");
}

TEST(ExpositionTextTest, FirstErrorWinsWithItsLine) {
  const Result r = Parse("a 1\n\n# c\nb 2\nc{x=} 3\nd oops\n", kText);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 5u);
  EXPECT_THAT(r.error.message, HasSubstr("expected label value after \"x=\", got \"} 3\""));
  EXPECT_EQ(r.samples.size(), 2u);  // seen before the error; the caller discards them
}

TEST(ExpositionTextTest, MessagesQuoteAtMostFortyBytes) {
  const std::string junk(5000, 'z');
  const Result r = Parse("m " + junk + "\n", kText);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.message, "invalid value \"" + std::string(40, 'z') + "\"...");
  // A cut never splits a UTF-8 sequence; invalid bytes are escaped.
  const Result u = Parse("m " + std::string(39, 'a') + "\xc3\xa9xyz\n", kText);
  EXPECT_EQ(u.error.message, "invalid value \"" + std::string(39, 'a') + "\"...");
  const Result b = Parse("m 1\xff\n", kText);
  EXPECT_EQ(b.error.message, "invalid value \"1\\xff\"");
}

TEST(ExpositionTextTest, SeriesTextIsExactAndKeysTheSeries) {
  const std::string body =
      "m{a=\"1\"} 1\n"
      "m{a=\"1\"} 2 5\n"
      "m {a=\"1\"} 3\n"
      "m 4\n"
      "m\t5\n"
      "{\"m.x\",a=\"1\"} 6\n";
  const Result r = Parse(body, kText);
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.samples.size(), 6u);
  EXPECT_EQ(r.samples[0].series, "m{a=\"1\"}");
  EXPECT_EQ(r.samples[1].series, "m{a=\"1\"}");
  EXPECT_EQ(r.samples[2].series, "m {a=\"1\"}");
  EXPECT_EQ(r.samples[3].series, "m");
  EXPECT_EQ(r.samples[4].series, "m");
  EXPECT_EQ(r.samples[5].series, "{\"m.x\",a=\"1\"}");
  for (const Rec& s : r.samples) EXPECT_TRUE(s.series_in_body);
}

TEST(ExpositionTextTest, StatsCountDistinctFamilies) {
  const Result r = Parse(
      "# HELP a x\n# TYPE a counter\n# HELP b y\n# TYPE a counter\n# TYPE c gauge\na 1\n", kText);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.stats.families, 3u);
  EXPECT_EQ(r.stats.samples, 1u);
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "# TYPE f" + std::to_string(i) + " gauge\n";
  EXPECT_EQ(Parse(big + big, kText).stats.families, 5000u);
}

TEST(ExpositionTextTest, RealNodeExporterOutput) {
  const std::string body = ReadFile(CANARYD_SCRAPE_TESTDATA "/node_exporter.prom");
  ASSERT_GT(body.size(), 10000u);
  const Result r = Parse(body, kText);
  ASSERT_TRUE(r.ok) << "line " << r.error.line << ": " << r.error.message;
  EXPECT_EQ(r.samples.size(), 507u);
  size_t families = 0;
  for (const Rec& s : r.samples) {
    EXPECT_FALSE(s.name.empty());
    EXPECT_TRUE(s.series.starts_with(s.name));
  }
  for (size_t p = 0; (p = body.find("# TYPE ", p)) != std::string::npos; ++p) ++families;
  EXPECT_EQ(r.stats.families, families);
  // The same bytes are not OpenMetrics (no # EOF).
  const Result om = Parse(body, kOm);
  EXPECT_FALSE(om.ok);
}

// ---------------------------------------------------------------- OpenMetrics 1.0

TEST(ExpositionOpenMetricsTest, MinimalWithEof) {
  Result r = Parse("# TYPE c counter\n# UNIT c_seconds seconds\nc_total 1\n# EOF\n", kOm);
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.samples.size(), 1u);
  r = Parse("m 1\n# EOF", kOm);
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_TRUE(Parse("# EOF\n", kOm).ok);
  EXPECT_TRUE(Parse("# EOF", kOm).ok);
}

TEST(ExpositionOpenMetricsTest, EofRules) {
  ExpectError("m 1\n", kOm, 0, "data does not end with # EOF");
  ExpectError("", kOm, 0, "data does not end with # EOF");
  ExpectError("m 1", kOm, 1, "data does not end with # EOF");
  ExpectError("# EOF\n\n", kOm, 2, "unexpected data after # EOF");
  ExpectError("# EOF\nm 1\n", kOm, 2, "unexpected data after # EOF: \"m 1\\n\"");
  ExpectError("# EOF \n", kOm, 1, "unexpected data after # EOF");
  ExpectError("# EOFx\n", kOm, 1, "unexpected data after # EOF");
  ExpectError("#  EOF\n", kOm, 1, "invalid comment");
}

TEST(ExpositionOpenMetricsTest, Descriptors) {
  const Result r = Parse(
      "# TYPE a gaugehistogram\n# TYPE b stateset\n# TYPE c info\n# TYPE d unknown\n"
      "# TYPE e summary\n# TYPE f histogram\n# TYPE g gauge\n# HELP g \n# HELP h some \\\" text\n"
      "# UNIT i_bytes bytes\n# UNIT j \n# EOF\n",
      kOm);
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.stats.families, 10u);
  ExpectError("# TYPE m untyped\n# EOF\n", kOm, 1, "invalid metric type \"untyped\"");
  ExpectError("# HELP m\n# EOF\n", kOm, 1, "expected text in HELP, got end of line");
  ExpectError("# HELP \n# EOF\n", kOm, 1, "expected metric name after HELP");
  ExpectError("# UNIT m_seconds bytes\n# EOF\n", kOm, 1, "unit \"bytes\" is not a suffix");
  ExpectError("# UNIT seconds seconds\n# EOF\n", kOm, 1, "is not a suffix");
  ExpectError("# UNIT mseconds seconds\n# EOF\n", kOm, 1, "is not a suffix");
  ExpectError("# a comment\n# EOF\n", kOm, 1, "invalid comment \"# a comment\"");
  ExpectError("#TYPE m gauge\n# EOF\n", kOm, 1, "invalid comment");
  ExpectError("# TYPE  m gauge\n# EOF\n", kOm, 1, "expected metric name after TYPE");
  ExpectError("# TYPE m gauge", kOm, 1, "data does not end with # EOF");
}

TEST(ExpositionOpenMetricsTest, StrictSeparatorsAndNoEmptyLines) {
  ExpectError("m 1\n\n# EOF\n", kOm, 2, "unexpected empty line");
  ExpectError("m  1\n# EOF\n", kOm, 1, "expected value after metric, got \" 1\"");
  ExpectError("m\t1\n# EOF\n", kOm, 1, "expected ' ' and value after metric, got \"\\t1\"");
  ExpectError(" m 1\n# EOF\n", kOm, 1, "at start of line");
  ExpectError("m{a=\"1\", b=\"2\"} 1\n# EOF\n", kOm, 1, "expected label name, got \" b=");
  ExpectError("m {a=\"1\"} 1\n# EOF\n", kOm, 1, "invalid value \"{a=");
  ExpectError("m{a=\"1\",} 1\n# EOF\n", kOm, 1, "expected label name after ','");
  ExpectError("m 1 \n# EOF\n", kOm, 1, "expected timestamp or exemplar after value");
  ExpectError("m 1 2 \n# EOF\n", kOm, 1, "expected exemplar or end of line");
  ExpectError("m 1\r\n# EOF\n", kOm, 1, "invalid value \"1\\r\"");
  ExpectError("m{a=\"1\"}\n# EOF\n", kOm, 1, "expected ' ' and value after metric, got end of line");
  EXPECT_EQ(One("m{} 1\n# EOF\n", kOm).series, "m{}");
}

TEST(ExpositionOpenMetricsTest, NumbersAndTimestamps) {
  EXPECT_TRUE(std::isnan(Value("NaN", kOm)));
  EXPECT_TRUE(std::isnan(Value("nan", kOm)));
  EXPECT_EQ(Value("+Inf", kOm), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("-inf", kOm), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("Infinity", kOm), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Value("007.5", kOm), 7.5);

  Rec r = One("m 1 1520879607.789\n# EOF\n", kOm);
  EXPECT_TRUE(r.has_ts);
  const double ts = 1520879607.789;
  EXPECT_EQ(r.ts, static_cast<int64_t>(ts * 1000));  // truncated, as Prometheus does
  EXPECT_EQ(One("m 1 1520879607\n# EOF\n", kOm).ts, 1520879607000);
  EXPECT_EQ(One("m 1 -1.5\n# EOF\n", kOm).ts, -1500);
  EXPECT_EQ(One("m 1 -0.0009\n# EOF\n", kOm).ts, 0);  // toward zero
  EXPECT_EQ(One("m 1 1e3\n# EOF\n", kOm).ts, 1000000);
  EXPECT_EQ(One("m 1 0.0019\n# EOF\n", kOm).ts, 1);
  ExpectError("m 1 NaN\n# EOF\n", kOm, 1, "invalid timestamp \"NaN\"");
  ExpectError("m 1 +Inf\n# EOF\n", kOm, 1, "invalid timestamp");
  ExpectError("m 1 1e300\n# EOF\n", kOm, 1, "timestamp out of range");
  ExpectError("m 1 12s\n# EOF\n", kOm, 1, "invalid timestamp \"12s\"");
}

TEST(ExpositionOpenMetricsTest, ExemplarsAreValidatedAndDropped) {
  const Result r = Parse(
      "# TYPE foo histogram\n"
      "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
      "foo_bucket{le=\"+Inf\"} 18 123 # {trace_id=\"x\",span_id=\"y\"} 1\n"
      "foo_count 18 # {} -Inf\n"
      "foo_sum 324789.3\n"
      "# EOF\n",
      kOm);
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.samples.size(), 4u);
  EXPECT_THAT(r.samples[0].labels, ElementsAre(Pair("le", "10")));
  EXPECT_EQ(r.samples[0].value, 17);
  EXPECT_FALSE(r.samples[0].has_ts);
  EXPECT_THAT(r.samples[1].labels, ElementsAre(Pair("le", "+Inf")));
  EXPECT_EQ(r.samples[1].ts, 123000);
  EXPECT_EQ(r.samples[0].series, "foo_bucket{le=\"10\"}");

  // 128 code points of names and values: accepted; 129: not.
  const std::string v124 = std::string(60, 'a') + std::string(32, 'b') + "\xc3\xa9" +
                           std::string(31, 'c');  // 124 code points
  ASSERT_TRUE(Parse("m_total 1 # {abcd=\"" + v124 + "\"} 1\n# EOF\n", kOm).ok);
  ExpectError("m_total 1 # {abcde=\"" + v124 + "\"} 1\n# EOF\n", kOm, 1,
              "exemplar labels have 129 code points");
  ExpectError("m 1 # {a=\"1\",a=\"2\"} 1\n# EOF\n", kOm, 1, "duplicate label name \"a\"");
  ExpectError("m 1 # {a=\"1\"}\n# EOF\n", kOm, 1, "expected value after exemplar labels");
  ExpectError("m 1 # {a=\"1\"} x\n# EOF\n", kOm, 1, "invalid exemplar value \"x\"");
  ExpectError("m 1 # {a=\"1\"} 1 NaN\n# EOF\n", kOm, 1, "invalid exemplar timestamp");
  ExpectError("m 1 # {a=\"1\"} 1 2 3\n# EOF\n", kOm, 1, "expected end of line after exemplar timestamp");
  ExpectError("m 1 # {\"a\"} 1\n# EOF\n", kOm, 1, "expected '=' after exemplar label name");
  ExpectError("m 1 # {a=\"\xff\"} 1\n# EOF\n", kOm, 1, "invalid UTF-8");
  ExpectError("m 1 # {1=\"\"} 1\n# EOF\n", kOm, 1, "expected label name");
  ExpectError("m 1 #{a=\"1\"} 1\n# EOF\n", kOm, 1, "invalid timestamp \"#{a=");
  ExpectError("m 1 # {a=\"1\"} 1\n", kOm, 0, "data does not end with # EOF");
  // The text format has no exemplars.
  ExpectError("m 1 # {a=\"1\"} 1\n", kText, 1, "invalid timestamp \"#\"");
}

TEST(ExpositionOpenMetricsTest, LabelsAndQuotedNames) {
  Rec r = One("m{a=\"x\\\\y\\n\",b=\"\"} 1\n# EOF\n", kOm);
  EXPECT_THAT(r.labels, ElementsAre(Pair("a", "x\\y\n"), Pair("b", "")));
  r = One("{\"my.metric\",\"a.b\"=\"x\"} 2\n# EOF\n", kOm);
  EXPECT_EQ(r.name, "my.metric");
  EXPECT_THAT(r.labels, ElementsAre(Pair("a.b", "x")));
  ExpectError("m{a=\"1\",a=\"1\"} 1\n# EOF\n", kOm, 1, "duplicate label name");
  ExpectError("m{,a=\"1\"} 1\n# EOF\n", kOm, 1, "expected label name");
  ExpectError("m{a=\"1\"\n# EOF\n", kOm, 1, "expected ',' or '}' after label, got end of line");
  ExpectError("m{\n# EOF\n", kOm, 1, "unterminated label set, got end of line");
}

TEST(ExpositionOpenMetricsTest, RealPrometheusOutput) {
  const std::string body = ReadFile(CANARYD_SCRAPE_TESTDATA "/prometheus_openmetrics.txt");
  ASSERT_GT(body.size(), 10000u);
  const Result r = Parse(body, kOm);
  ASSERT_TRUE(r.ok) << "line " << r.error.line << ": " << r.error.message;
  EXPECT_EQ(r.samples.size(), 293u);
  bool saw_bucket = false;
  for (const Rec& s : r.samples) {
    if (s.name == "prometheus_tsdb_compaction_chunk_range_seconds_bucket") saw_bucket = true;
  }
  EXPECT_TRUE(saw_bucket);
  // Cut anywhere before the # EOF, the exposition is invalid.
  const size_t eof = body.rfind("# EOF");
  ASSERT_NE(eof, std::string::npos);
  EXPECT_FALSE(Parse(std::string_view(body).substr(0, eof), kOm).ok);
  EXPECT_FALSE(Parse(std::string_view(body).substr(0, eof / 2), kOm).ok);
}

// ---------------------------------------------------------------- content type

TEST(ExpositionFormatTest, FromContentType) {
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"), kOm);
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text;version=0.0.1"), kOm);
  EXPECT_EQ(FormatFromContentType("Application/OpenMetrics-Text"), kOm);
  EXPECT_EQ(FormatFromContentType("  application/openmetrics-text ; version=1.0.0"), kOm);
  EXPECT_EQ(FormatFromContentType("text/plain; version=0.0.4; charset=utf-8"), kText);
  EXPECT_EQ(FormatFromContentType("text/plain"), kText);
  EXPECT_EQ(FormatFromContentType(""), kText);
  EXPECT_EQ(FormatFromContentType("application/openmetrics-textx"), kText);
  EXPECT_EQ(FormatFromContentType("application/json"), kText);
}

}  // namespace
}  // namespace canaryd::scrape
