#include "canaryd/select/matcher.h"

#include <gtest/gtest.h>

#include "canaryd/model/labels.h"
#include "canaryd/select/promql.h"

namespace canaryd::select {
namespace {

Matcher Make(std::string name, MatchOp op, std::string value) {
  auto m = Matcher::Create(std::move(name), op, std::move(value));
  EXPECT_TRUE(m) << (m ? "" : m.error());
  return std::move(*m);
}

std::string Key(std::vector<std::pair<std::string, std::string>> labels) {
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [n, v] : labels) {
    if (!v.empty()) model::AppendLabel(key, n, v);
  }
  return key;
}

TEST(MatcherTest, EqualityAndNegation) {
  EXPECT_TRUE(Make("a", MatchOp::kEqual, "x").Matches("x"));
  EXPECT_FALSE(Make("a", MatchOp::kEqual, "x").Matches("xy"));
  EXPECT_TRUE(Make("a", MatchOp::kNotEqual, "x").Matches("y"));
  EXPECT_FALSE(Make("a", MatchOp::kNotEqual, "x").Matches("x"));
}

TEST(MatcherTest, RegexesAreFullyAnchored) {
  const Matcher m = Make("pod", MatchOp::kRegexMatch, "app-canary");
  EXPECT_TRUE(m.Matches("app-canary"));
  EXPECT_FALSE(m.Matches("my-app-canary"));
  EXPECT_FALSE(m.Matches("app-canary-1"));
  const Matcher re = Make("pod", MatchOp::kRegexMatch, "ap+-(canary|baseline)-[0-9]");
  EXPECT_TRUE(re.Matches("app-canary-1"));
  EXPECT_FALSE(re.Matches("xapp-canary-1"));
  EXPECT_FALSE(re.Matches("app-canary-12"));
  // An alternation is anchored as a whole, not per branch.
  const Matcher alt = Make("status", MatchOp::kRegexMatch, "5..|429");
  EXPECT_TRUE(alt.Matches("503"));
  EXPECT_TRUE(alt.Matches("429"));
  EXPECT_FALSE(alt.Matches("4290"));
  EXPECT_FALSE(alt.Matches("1503"));
}

TEST(MatcherTest, DotMatchesNewline) {
  EXPECT_TRUE(Make("a", MatchOp::kRegexMatch, "x.y").Matches("x\ny"));
  EXPECT_TRUE(Make("a", MatchOp::kRegexMatch, "x.*").Matches("x\n\nz"));
  EXPECT_TRUE(Make("a", MatchOp::kRegexMatch, "(x|q).*z").Matches("x\nz"));
}

TEST(MatcherTest, FastPathsAgreeWithTheRegexMeaning) {
  // Each shortcut shape, checked on values that separate anchored from unanchored matching.
  const Matcher prefix = Make("pod", MatchOp::kRegexMatch, "app-canary.*");
  EXPECT_TRUE(prefix.Matches("app-canary"));
  EXPECT_TRUE(prefix.Matches("app-canary-7f9\n"));
  EXPECT_FALSE(prefix.Matches("xapp-canary"));
  const Matcher set = Make("code", MatchOp::kRegexMatch, "500|502|503");
  EXPECT_TRUE(set.Matches("502"));
  EXPECT_FALSE(set.Matches("50"));
  EXPECT_FALSE(set.Matches(""));
  const Matcher set_with_empty = Make("code", MatchOp::kRegexMatch, "500|");
  EXPECT_TRUE(set_with_empty.Matches(""));
  EXPECT_TRUE(Make("a", MatchOp::kRegexMatch, ".*").Matches(""));
  EXPECT_FALSE(Make("a", MatchOp::kRegexMatch, ".+").Matches(""));
  EXPECT_TRUE(Make("a", MatchOp::kRegexMatch, ".+").Matches("\n"));
  EXPECT_TRUE(Make("a", MatchOp::kRegexNoMatch, "500|502").Matches("404"));
  EXPECT_FALSE(Make("a", MatchOp::kRegexNoMatch, "app.*").Matches("apple"));
}

TEST(MatcherTest, InvalidRegexIsRejected) {
  auto m = Matcher::Create("a", MatchOp::kRegexMatch, "(unclosed");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("invalid regular expression"), std::string::npos);
  EXPECT_FALSE(Matcher::Create("a", MatchOp::kRegexMatch, "a\\1"));  // RE2 has no backreferences
}

TEST(LabelSelectorTest, MissingLabelEqualsEmptyString) {
  const std::string with_env = Key({{"__name__", "up"}, {"env", "prod"}});
  const std::string without_env = Key({{"__name__", "up"}});
  auto sel = [](std::string_view text) {
    auto r = ParseQuery(text);
    EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
    return r->selector;
  };
  EXPECT_TRUE(sel("up{env=\"\"}").MatchesKey(without_env));
  EXPECT_FALSE(sel("up{env=\"\"}").MatchesKey(with_env));
  EXPECT_TRUE(sel("up{env!=\"prod\"}").MatchesKey(without_env));
  EXPECT_FALSE(sel("up{env!=\"prod\"}").MatchesKey(with_env));
  EXPECT_TRUE(sel("up{env=~\".*\"}").MatchesKey(without_env));
  EXPECT_FALSE(sel("up{env=~\".+\"}").MatchesKey(without_env));
  EXPECT_TRUE(sel("up{env!~\"x\"}").MatchesKey(without_env));
  EXPECT_TRUE(sel("up{env=~\"prod|\"}").MatchesKey(without_env));
}

TEST(LabelSelectorTest, MatchersOnOneLabelAreAnded) {
  auto r = ParseQuery("m{replica!=\"rep-a\",replica=~\"rep.*\"}");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->selector.MatchesKey(Key({{"__name__", "m"}, {"replica", "rep-b"}})));
  EXPECT_FALSE(r->selector.MatchesKey(Key({{"__name__", "m"}, {"replica", "rep-a"}})));
  EXPECT_FALSE(r->selector.MatchesKey(Key({{"__name__", "m"}, {"replica", "other"}})));
  EXPECT_FALSE(r->selector.MatchesKey(Key({{"__name__", "n"}, {"replica", "rep-b"}})));
}

TEST(LabelSelectorTest, NameIsAnOrdinaryLabel) {
  auto r = ParseQuery("{__name__=~\"http_.*_total\",job=\"api\"}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->selector.MetricName(), "");
  EXPECT_TRUE(r->selector.MatchesKey(Key({{"__name__", "http_requests_total"}, {"job", "api"}})));
  EXPECT_FALSE(r->selector.MatchesKey(Key({{"__name__", "grpc_requests_total"}, {"job", "api"}})));
}

}  // namespace
}  // namespace canaryd::select
