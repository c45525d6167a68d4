#include "canaryd/select/template.h"

#include <gtest/gtest.h>

namespace canaryd::select {
namespace {

std::string Expand(std::string_view text, const Bindings& b) {
  auto r = ExpandTemplate(text, b);
  return r ? *r : "ERROR: " + r.error().message;
}

TEST(TemplateTest, SubstitutesScopeLocationAndExtendedParams) {
  const Bindings b{{"scope", "canary"}, {"location", "us-east-1"}, {"namespace", "shop"}};
  EXPECT_EQ(Expand("namespace=\"${namespace}\",pod_name=~\"checkout-${scope}.*\",region=\"${location}\"", b),
            "namespace=\"shop\",pod_name=~\"checkout-canary.*\",region=\"us-east-1\"");
  EXPECT_EQ(Expand("namespace='${namespace}', scope='${scope}'", b), "namespace='shop', scope='canary'");
}

TEST(TemplateTest, UndefinedVariableIsAnErrorNamingIt) {
  auto r = ExpandTemplate("pod=~\"${app}-${scope}\"", Bindings{{"scope", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().variable, "app");
  EXPECT_NE(r.error().message.find("\"app\""), std::string::npos);
}

TEST(TemplateTest, DefaultsEscapesAndLiteralDollars) {
  EXPECT_EQ(Expand("${zone:-eu}", {}), "eu");
  EXPECT_EQ(Expand("${zone:-eu}", Bindings{{"zone", "us"}}), "us");
  EXPECT_EQ(Expand("$${scope} costs $5", Bindings{{"scope", "x"}}), "${scope} costs $5");
  EXPECT_EQ(Expand("unterminated ${scope", Bindings{{"scope", "x"}}), "unterminated ${scope");
  EXPECT_EQ(Expand("", {}), "");
}

TEST(TemplateTest, ValuesAreExpandedRecursivelyAndCyclesFail) {
  EXPECT_EQ(Expand("${a}", Bindings{{"a", "x-${b}"}, {"b", "y"}}), "x-y");
  auto r = ExpandTemplate("${a}", Bindings{{"a", "${b}"}, {"b", "${a}"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cycle"), std::string::npos);
}

}  // namespace
}  // namespace canaryd::select
