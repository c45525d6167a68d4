// Parity with R (testdata/r_parity.json, made by testdata/make_golden.R): the interval of
// wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE) on 300 random pairs (normal,
// lognormal, heavy ties, zero-inflated, very different lengths) to 1e-6, the p-value, and qnorm.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "canaryd/judge/mann_whitney.h"
#include "test_data.h"

namespace canaryd::judge {
namespace {

namespace json = boost::json;
using testing::Doubles;
using testing::LoadJson;
using testing::Num;

const json::value& Golden() {
  static const json::value v = LoadJson("r_parity.json");
  return v;
}

TEST(RParityTest, IntervalAndPValueMatchWilcoxTest) {
  const json::array& cases = Golden().at("cases").as_array();
  ASSERT_GE(cases.size(), 300u);
  std::map<std::string, int> per_kind;
  double worst_ci = 0, worst_estimate = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json::object& c = cases[i].as_object();
    const std::string kind(c.at("kind").as_string());
    SCOPED_TRACE("case " + std::to_string(i) + " (" + kind + ")");
    const auto r = MannWhitneyUTest(Doubles(c.at("x")), Doubles(c.at("y")), Num(c.at("conf")));
    if (c.at("error").as_bool()) {
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error(), make_error_code(StatsErrc::kAllTied));
      continue;
    }
    ASSERT_TRUE(r.has_value()) << r.error().message();
    const auto ci = Doubles(c.at("ci"));
    EXPECT_NEAR(r->ci_lower, ci[0], 1e-6);
    EXPECT_NEAR(r->ci_upper, ci[1], 1e-6);
    const double p = Num(c.at("p_value"));
    EXPECT_NEAR(r->p_value, p, 1e-12 + 1e-10 * p);
    worst_ci = std::max({worst_ci, std::fabs(r->ci_lower - ci[0]), std::fabs(r->ci_upper - ci[1])});
    // R drops the continuity correction for the estimate; Kayenta keeps it. Not asserted.
    worst_estimate = std::max(worst_estimate, std::fabs(r->estimate - Num(c.at("r_estimate"))));
    ++per_kind[kind];
  }
  EXPECT_EQ(per_kind.size(), 5u);
  for (const auto& [kind, n] : per_kind) {
    EXPECT_GE(n, 50) << kind;
  }
  RecordProperty("worst_ci_difference", std::to_string(worst_ci));
  RecordProperty("worst_estimate_difference", std::to_string(worst_estimate));
}

TEST(RParityTest, NormalQuantileMatchesQnorm) {
  for (const auto& pq : Golden().at("qnorm").as_array()) {
    const double p = Num(pq.at(0)), q = Num(pq.at(1));
    EXPECT_NEAR(NormalQuantile(p), q, 1e-15 * std::max(1.0, std::fabs(q))) << "p=" << p;
  }
}

}  // namespace
}  // namespace canaryd::judge
