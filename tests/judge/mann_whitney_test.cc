// The fast paths of MannWhitney (presorted merges, moved counts, trimmed exact ranking, shift
// collapse checks) against a plain re-statement of Kayenta's wilcoxonDiff: rank the
// concatenation, average the ties, sum. Results must be bit-identical, on data built to hit
// every path: continuous, heavy ties, signed zeros, infinities, values one ulp apart.

#include "canaryd/judge/mann_whitney.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

namespace canaryd::judge {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// java.lang.Double.compare: NaN above everything (Kayenta ranks NaN as +inf: NaNStrategy
// MAXIMAL recodes it), -0.0 below +0.0.
int JavaCompare(double a, double b) {
  if (std::isnan(a)) {
    a = kInf;
  }
  if (std::isnan(b)) {
    b = kInf;
  }
  if (a < b) {
    return -1;
  }
  if (a > b) {
    return 1;
  }
  if (a == 0 && b == 0) {
    return std::signbit(b) - std::signbit(a);
  }
  return 0;
}

// Kayenta's wilcoxonDiff(mu, quantile), stated plainly.
std::optional<double> ReferenceW(const std::vector<double>& x, const std::vector<double>& y,
                                 double mu, double quantile) {
  std::vector<double> all;
  for (const double v : x) {
    all.push_back(v - mu);
  }
  all.insert(all.end(), y.begin(), y.end());
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return JavaCompare(all[a], all[b]) < 0; });
  std::vector<double> rank(all.size());
  double ties = 0;
  for (size_t i = 0; i < order.size();) {
    size_t k = i + 1;
    while (k < order.size() && JavaCompare(all[order[k]], all[order[i]]) == 0) {
      ++k;
    }
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(k)) / 2;
    for (size_t r = i; r < k; ++r) {
      rank[order[r]] = avg;
    }
    const double t = static_cast<double>(k - i);
    ties += std::pow(t, 3) - t;
    i = k;
  }
  const double nx = static_cast<double>(x.size()), ny = static_cast<double>(y.size());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sum += rank[i];
  }
  const double dz = sum - nx * (nx + 1) / 2 - nx * ny / 2;
  const double correction = (dz > 0 ? 1.0 : dz < 0 ? -1.0 : 0.0) * 0.5;
  const double sigma =
      std::sqrt((nx * ny / 12) * ((nx + ny + 1) - ties / ((nx + ny) * (nx + ny - 1))));
  if (sigma == 0) {
    return std::nullopt;
  }
  return (dz - correction) / sigma - quantile;
}

// Kayenta's calculateConfidenceInterval on the reference W.
struct Reference {
  double lower, upper, estimate;
};
std::optional<Reference> ReferenceTest(const std::vector<double>& x, const std::vector<double>& y,
                                       double conf) {
  const double mu_min =
      *std::min_element(x.begin(), x.end()) - *std::max_element(y.begin(), y.end());
  const double mu_max =
      *std::max_element(x.begin(), x.end()) - *std::min_element(y.begin(), y.end());
  bool ok = true;
  auto w = [&](double d, double zq) {
    auto v = ReferenceW(x, y, d, zq);
    ok = ok && v.has_value();
    return v.value_or(0);
  };
  auto brent = [&](double zq, double fl, double fu) {
    double root = 0;
    Zeroin(
        mu_min, mu_max, fl, fu,
        [&](double d, double& f) {
          f = w(d, zq);
          return ok;
        },
        root);
    return root;
  };
  auto root = [&](double zq) {
    const double fl = w(mu_min, zq), fu = w(mu_max, zq);
    if (fl <= 0) {
      return mu_min;
    }
    if (fu >= 0) {
      return mu_max;
    }
    return brent(zq, fl, fu);
  };
  const double z = NormalQuantile((1.0 - conf) / 2);
  Reference r{root(z * -1), root(z), brent(0, w(mu_min, 0), w(mu_max, 0))};
  if (!ok) {
    return std::nullopt;
  }
  return r;
}

std::vector<double> Draw(std::mt19937_64& rng, int kind, size_t n, double shift) {
  std::normal_distribution<double> normal(100 + shift, 10);
  std::uniform_int_distribution<int> small(0, 4);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> v(n);
  for (double& d : v) {
    switch (kind) {
      case 0:  // continuous
        d = normal(rng);
        break;
      case 1:  // heavy ties
        d = small(rng) + shift;
        break;
      case 2:  // zero-inflated with signed zeros
        d = unit(rng) < 0.6 ? (unit(rng) < 0.5 ? 0.0 : -0.0) : normal(rng) / 50;
        break;
      case 3:  // values an ulp apart: shifting can merge them
        d = std::nextafter(1e6 + small(rng), kInf) + small(rng) * 1e-10;
        break;
      case 4:  // a few infinities
        d = unit(rng) < 0.05 ? (unit(rng) < 0.5 ? kInf : -kInf) : normal(rng);
        break;
      default:  // huge and tiny magnitudes
        d = (unit(rng) < 0.5 ? 1e-300 : 1e300) * normal(rng);
        break;
    }
  }
  return v;
}

TEST(MannWhitneyTest, WilcoxonDiffIsBitIdenticalToPlainRanking) {
  std::mt19937_64 rng(12345);
  int compared = 0;
  for (int kind = 0; kind < 6; ++kind) {
    for (const auto& [n, m] :
         {std::pair<size_t, size_t>{1, 1}, {3, 7}, {40, 25}, {300, 280}, {600, 50}, {20, 700}}) {
      const auto x = Draw(rng, kind, n, 1.5), y = Draw(rng, kind, m, 0);
      const MannWhitney mw(x, y);
      std::vector<double> shifts = {mw.MuMin(), mw.MuMax(), 0.0, -0.0, 1.5, 0.25};
      std::uniform_int_distribution<size_t> pick_x(0, n - 1), pick_y(0, m - 1);
      for (int k = 0; k < 6; ++k) {
        shifts.push_back(x[pick_x(rng)] - y[pick_y(rng)]);  // makes x - d meet a y exactly
      }
      for (const double d : shifts) {
        for (const double q : {0.0, 1.959963984540054}) {
          const auto ref = ReferenceW(x, y, d, q);
          const auto got = mw.WilcoxonDiff(d, q);
          SCOPED_TRACE("kind " + std::to_string(kind) + " n=" + std::to_string(n) +
                       " m=" + std::to_string(m) + " d=" + std::to_string(d));
          if (!ref) {
            ASSERT_FALSE(got.has_value());
            continue;
          }
          ASSERT_TRUE(got.has_value());
          if (std::isnan(*ref)) {
            EXPECT_TRUE(std::isnan(*got));
          } else {
            EXPECT_EQ(*got, *ref);
          }
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 700);
}

TEST(MannWhitneyTest, TestIsBitIdenticalToPlainRootFinding) {
  std::mt19937_64 rng(777);
  for (int kind : {0, 1, 2, 3}) {
    for (const auto& [n, m] : {std::pair<size_t, size_t>{12, 15}, {300, 290}, {700, 650}}) {
      for (const double shift : {0.0, 0.3, 4.0}) {
        const auto x = Draw(rng, kind, n, shift), y = Draw(rng, kind, m, 0);
        SCOPED_TRACE("kind " + std::to_string(kind) + " n=" + std::to_string(n));
        const auto ref = ReferenceTest(x, y, 0.98);
        const auto got = MannWhitneyUTest(x, y, 0.98);
        if (!ref) {
          EXPECT_FALSE(got.has_value());
          continue;
        }
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(got->ci_lower, ref->lower);
        EXPECT_EQ(got->ci_upper, ref->upper);
        EXPECT_EQ(got->estimate, ref->estimate);
        EXPECT_GT(got->evaluations, 3);
      }
    }
  }
}

TEST(MannWhitneyTest, Errors) {
  const std::vector<double> empty, one = {1.0};
  EXPECT_EQ(MannWhitneyUTest(empty, one, 0.95).error(), make_error_code(StatsErrc::kEmptySample));
  EXPECT_EQ(MannWhitneyUTest(one, empty, 0.95).error(), make_error_code(StatsErrc::kEmptySample));
  const std::vector<double> ones = {1, 1, 1}, more_ones = {1, 1};
  const auto tied = MannWhitneyUTest(ones, more_ones, 0.95);
  ASSERT_FALSE(tied.has_value());
  EXPECT_EQ(tied.error(), make_error_code(StatsErrc::kAllTied));
  EXPECT_EQ(tied.error().message(),
            "cannot compute confidence interval when all observations are tied");
  // Ties only at a bracket end: zeros against one value.
  EXPECT_FALSE(MannWhitneyUTest(std::vector<double>{0, 0, 0}, std::vector<double>{5}, 0.95));
}

TEST(MannWhitneyTest, PValueIsTwoSidedFromTheSameStatistic) {
  const std::vector<double> x = {10, 20, 30, 40}, y = {1, 2, 3, 4};
  const auto r = MannWhitneyUTest(x, y, 0.95);
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(r->p_value, 0.03038282197657749, 1e-15);
  const auto swapped = MannWhitneyUTest(y, x, 0.95);
  EXPECT_DOUBLE_EQ(swapped->p_value, r->p_value);
  EXPECT_DOUBLE_EQ(swapped->estimate, -r->estimate);
  // No shift at all: p = 1 (capped; the continuity correction would push it above).
  EXPECT_EQ(
      MannWhitneyUTest(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 3}, 0.95)->p_value,
      1.0);
}

TEST(NormalQuantileTest, KnownValuesAndSymmetry) {
  EXPECT_DOUBLE_EQ(NormalQuantile(0.5), 0.0);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-15);
  EXPECT_NEAR(NormalQuantile(0.01), -2.3263478740408408, 1e-15);
  // Probabilities whose complement is exact (the R golden data covers the rest).
  for (const double p : {0x1p-40, 0x1p-20, 0x1p-9, 0.0625, 0.125, 0.25, 0.375}) {
    EXPECT_EQ(NormalQuantile(p), -NormalQuantile(1 - p)) << p;
  }
  EXPECT_EQ(NormalQuantile(0), -kInf);
  EXPECT_EQ(NormalQuantile(1), kInf);
  EXPECT_TRUE(std::isnan(NormalQuantile(-0.1)));
  EXPECT_TRUE(std::isnan(NormalQuantile(std::nan(""))));
  EXPECT_NEAR(NormalUpperTail(1.959963984540054), 0.025, 1e-16);
  EXPECT_NEAR(NormalUpperTail(10), 7.61985302416047e-24, 1e-36);
}

TEST(ZeroinTest, FindsRootsAndEndpoints) {
  double root = 0;
  auto f = [](double d, double& v) {
    v = 2 - d * d;
    return true;
  };
  ASSERT_TRUE(Zeroin(0, 2, 2, -2, f, root));
  EXPECT_NEAR(root, std::sqrt(2.0), 1e-4);
  ASSERT_TRUE(Zeroin(5, 9, 0, 3, f, root));
  EXPECT_EQ(root, 5);  // f(a) == 0
  ASSERT_TRUE(Zeroin(5, 9, 3, 0, f, root));
  EXPECT_EQ(root, 9);
  auto fails = [](double, double&) { return false; };
  EXPECT_FALSE(Zeroin(0, 2, 2, -2, fails, root));
  // A step function with a flat zero region: the path, not the math, decides the root.
  auto step = [](double d, double& v) {
    v = d < 1 ? 1 : d > 3 ? -1 : 0;
    return true;
  };
  ASSERT_TRUE(Zeroin(0, 4, 1, -1, step, root));
  EXPECT_GE(root, 1);
  EXPECT_LE(root, 3);
}

}  // namespace
}  // namespace canaryd::judge
