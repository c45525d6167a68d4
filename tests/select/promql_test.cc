#include "canaryd/select/promql.h"

#include <gtest/gtest.h>

namespace canaryd::select {
namespace {

QueryPlan Parse(std::string_view text) {
  auto r = ParseQuery(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : QueryPlan{};
}

QueryError ParseError(std::string_view text) {
  auto r = ParseQuery(text);
  EXPECT_FALSE(r) << text << " parsed as " << (r ? r->ToPromQL() : "");
  return r ? QueryError{} : r.error();
}

TEST(PromqlTest, PlainSelectorIsAveraged) {
  const QueryPlan p = Parse("container_cpu_usage_rate{container=\"checkout\",pod_name=~\"checkout-canary.*\"}");
  EXPECT_EQ(p.aggregation, Aggregation::kAvg);
  EXPECT_EQ(p.function, RangeFunction::kNone);
  EXPECT_TRUE(p.by.empty());
  EXPECT_EQ(p.selector.MetricName(), "container_cpu_usage_rate");
  EXPECT_EQ(p.selector.matchers().size(), 3u);
  EXPECT_EQ(p.ToPromQL(),
            "avg (container_cpu_usage_rate{container=\"checkout\",pod_name=~\"checkout-canary.*\"})");
}

TEST(PromqlTest, AggregationsWithByBeforeOrAfter) {
  for (const char* q : {"sum by (route, code) (http_requests{job=\"a\"})",
                        "sum(http_requests{job=\"a\"}) by (code,route)",
                        "SUM BY (route,code,route) (http_requests{job=\"a\"})"}) {
    const QueryPlan p = Parse(q);
    EXPECT_EQ(p.aggregation, Aggregation::kSum) << q;
    EXPECT_EQ(p.by, (std::vector<std::string>{"code", "route"})) << q;
  }
  EXPECT_EQ(Parse("min(x)").aggregation, Aggregation::kMin);
  EXPECT_EQ(Parse("max(x)").aggregation, Aggregation::kMax);
  EXPECT_EQ(Parse("count(x)").aggregation, Aggregation::kCount);
  EXPECT_EQ(Parse("avg(x) by ()").by.size(), 0u);
}

TEST(PromqlTest, RangeFunctionsInsideAggregations) {
  const QueryPlan p = Parse("sum(rate(http_requests_total{status=~\"5..\",pod_name=~\"checkout-canary.*\"}[1m]))");
  EXPECT_EQ(p.function, RangeFunction::kRate);
  EXPECT_EQ(p.range_ms, 60'000);
  EXPECT_EQ(Parse("avg by (pod) (irate(x[90s]))").function, RangeFunction::kIrate);
  EXPECT_EQ(Parse("avg by (pod) (irate(x[90s]))").range_ms, 90'000);
  EXPECT_EQ(Parse("max(increase(x[1h30m]))").range_ms, 5'400'000);
  EXPECT_EQ(Parse("sum(rate(x[5m]))").ToPromQL(), "sum (rate(x{}[5m]))");
}

TEST(PromqlTest, HistogramQuantile) {
  const QueryPlan p = Parse(
      "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{pod_name=~\"checkout-canary.*\"}[1m])) by (le))");
  ASSERT_TRUE(p.quantile.has_value());
  EXPECT_DOUBLE_EQ(*p.quantile, 0.99);
  EXPECT_TRUE(p.by.empty());
  EXPECT_EQ(p.function, RangeFunction::kRate);
  const QueryPlan q = Parse("histogram_quantile(0.5, sum by (le, route) (rate(h_bucket[2m])))");
  EXPECT_EQ(q.by, std::vector<std::string>{"route"});
  EXPECT_EQ(q.ToPromQL(), "histogram_quantile(0.5, sum by (le, route) (rate(h_bucket{}[2m])))");
}

TEST(PromqlTest, StringLiteralsAndEscapes) {
  const QueryPlan p = Parse(R"(m{a='single',b="dq \"x\" \\ \n \x41 \u00e9 \101",c=`raw\n`})");
  const auto& ms = p.selector.matchers();
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_EQ(ms[1].value(), "single");
  EXPECT_EQ(ms[2].value(), "dq \"x\" \\ \n A \xc3\xa9 A");
  EXPECT_EQ(ms[3].value(), "raw\\n");
  EXPECT_EQ(Parse("m{a=\"x\",}").selector.matchers().size(), 2u);  // trailing comma
}

TEST(PromqlTest, ErrorsNameTheColumn) {
  QueryError e = ParseError("m{a=\"x\",b=c}");
  EXPECT_EQ(e.column, 11u);  // the `c`
  EXPECT_NE(e.message.find("quoted string"), std::string::npos);
  e = ParseError("m{a=\"x\"");
  EXPECT_NE(e.message.find("expected"), std::string::npos);
  e = ParseError("m{a=\"unterminated}");
  EXPECT_EQ(e.column, 5u);
  EXPECT_NE(e.message.find("unterminated"), std::string::npos);
  e = ParseError("m{a=~\"(x\"}");
  EXPECT_NE(e.message.find("invalid regular expression"), std::string::npos);
  e = ParseError("m{a=\"\\q\"}");
  EXPECT_NE(e.message.find("escape"), std::string::npos);
  e = ParseError("sum(rate(x[5x]))");
  EXPECT_NE(e.message.find("duration"), std::string::npos);
  EXPECT_EQ(e.column, 12u);
}

TEST(PromqlTest, SelectorNeedsANonEmptyMatcher) {
  EXPECT_NE(ParseError("{job=~\".*\"}").message.find("non-empty matcher"), std::string::npos);
  EXPECT_NE(ParseError("{a=\"\"}").message.find("non-empty matcher"), std::string::npos);
  Parse("{job=~\".+\"}");
}

TEST(PromqlTest, UnsupportedShapesListWhatIsSupported) {
  for (const char* q : {"rate(x[5m])", "sum without (pod) (x)", "stddev(x)", "sum(avg(x))",
                        "abs(x)", "x[5m]", "sum(x offset 5m)", "topk(3, x)", "sum(x) / sum(y)",
                        "histogram_quantile(0.9, max by (le) (rate(x_bucket[1m])))",
                        "histogram_quantile(0.9, sum by (le) (x_bucket))",
                        "histogram_quantile(0.9, sum by (route) (rate(x_bucket[1m])))"}) {
    const QueryError e = ParseError(q);
    EXPECT_FALSE(e.message.empty()) << q;
    EXPECT_GT(e.column, 0u) << q;
  }
  EXPECT_NE(ParseError("stddev(x)").message.find("histogram_quantile(q, sum by (le"), std::string::npos);
  EXPECT_NE(ParseError("rate(x[5m])").message.find("aggregation"), std::string::npos);
}

TEST(PromqlTest, MatcherListForFilterTemplates) {
  auto r = ParseMatchers("namespace='shop', pod_name=~\"checkout-canary.*\",region=\"us\"");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].name(), "pod_name");
  EXPECT_FALSE(ParseMatchers("some-label=some-app-canary"));  // Kayenta would send this; PromQL rejects it
}

TEST(PromqlTest, Durations) {
  int64_t ms = 0;
  EXPECT_TRUE(ParsePromDuration("1m30s", ms));
  EXPECT_EQ(ms, 90'000);
  EXPECT_TRUE(ParsePromDuration("250ms", ms));
  EXPECT_EQ(ms, 250);
  EXPECT_FALSE(ParsePromDuration("0s", ms));
  EXPECT_FALSE(ParsePromDuration("30s1m", ms));
  EXPECT_FALSE(ParsePromDuration("1.5m", ms));
}

}  // namespace
}  // namespace canaryd::select

namespace canaryd::select {
namespace {

// Found by promql_fuzz: a __name__ value that is not an identifier must stay quoted.
TEST(PromqlTest, PrintedQueriesParseBack) {
  for (const char* q : {"{__name__=\"a b\",job=\"api\"}", "{__name__=\"\\x00~h\"}",
                        "sum(rate({__name__=\"1x\"}[1m]))", "http_requests_total{code=\"5\\n\"}"}) {
    const QueryPlan p = Parse(q);
    const std::string printed = p.ToPromQL();
    auto again = ParseQuery(printed);
    ASSERT_TRUE(again) << q << " printed as " << printed << ": " << again.error().message;
    EXPECT_EQ(again->ToPromQL(), printed);
  }
}

}  // namespace
}  // namespace canaryd::select
