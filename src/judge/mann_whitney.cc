#include "canaryd/judge/mann_whitney.h"

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "judge/order_key.h"

namespace canaryd::judge {
namespace {

class StatsCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "canaryd.judge"; }
  std::string message(int ev) const override {
    switch (static_cast<StatsErrc>(ev)) {
      case StatsErrc::kEmptySample:
        return "cannot compute confidence interval of an empty sample";
      case StatsErrc::kAllTied:
        return "cannot compute confidence interval when all observations are tied";
    }
    return "unknown statistics error";
  }
};

}  // namespace

const boost::system::error_category& StatsCategory() noexcept {
  static const StatsCategoryImpl category;
  return category;
}

double NormalQuantile(double p) {
  // Wichura, Algorithm AS 241 (Applied Statistics 37, 1988), PPND16; the form R's qnorm uses.
  if (std::isnan(p) || p < 0 || p > 1) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (p == 0) {
    return -std::numeric_limits<double>::infinity();
  }
  if (p == 1) {
    return std::numeric_limits<double>::infinity();
  }
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q *
           (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) *
                    r +
                45921.953931549871457) *
                   r +
               13731.693765509461125) *
                  r +
              1971.5909503065514427) *
                 r +
             133.14166789178437745) *
                r +
            3.387132872796366608) /
           (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) *
                    r +
                21213.794301586595867) *
                   r +
               5394.1960214247511077) *
                  r +
              687.1870074920579083) *
                 r +
             42.313330701600911252) *
                r +
            1.0);
  }
  // Tails: r = sqrt(-log(min(p, 1 - p))), using p itself on the lower side so that small
  // probabilities keep their precision.
  double r = std::sqrt(-std::log(q < 0 ? p : 1.0 - p));
  double val;
  if (r <= 5.0) {
    r -= 1.6;
    val = (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r +
                0.24178072517745061177) *
                   r +
               1.27045825245236838258) *
                  r +
              3.64784832476320460504) *
                 r +
             5.7694972214606914055) *
                r +
            4.6303378461565452959) *
               r +
           1.42343711074968357734) /
          (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r +
                0.0151986665636164571966) *
                   r +
               0.14810397642748007459) *
                  r +
              0.68976733498510000455) *
                 r +
             1.6763848301838038494) *
                r +
            2.05319162663775882187) *
               r +
           1.0);
  } else {
    r -= 5.0;
    val = (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r +
                0.0012426609473880784386) *
                   r +
               0.026532189526576123093) *
                  r +
              0.29656057182850489123) *
                 r +
             1.7848265399172913358) *
                r +
            5.4637849111641143699) *
               r +
           6.6579046435011037772) /
          (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r +
                1.8463183175100546818e-5) *
                   r +
               7.868691311456132591e-4) *
                  r +
              0.0148753612908506148525) *
                 r +
             0.13692988092273580531) *
                r +
            0.59983220655588793769) *
               r +
           1.0);
  }
  return q < 0.0 ? -val : val;
}

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

struct MannWhitney::Impl {
  Eigen::ArrayXd xs;  // x ascending in Java's order, NaN replaced by +inf (the rank it gets)
  Eigen::ArrayXd ys;
  Eigen::Array<int64_t, Eigen::Dynamic, 1> yk;  // OrderKey of ys
  double nx = 0, ny = 0;
  // No NaN and no -0.0 in either sample: then ordinary comparisons of x - d with y (d finite)
  // are exactly Java's order and the merge can use plain doubles.
  bool plain = true;
  int64_t x_equal_neighbours = 0;  // i with xs[i] == xs[i + 1]
  double tie_x = 0;                // sum of t^3 - t over tie groups within x
  double tie_y = 0;

  // Sum of (#y < x_i - d) + 1/2 (#y == x_i - d) over i (the U statistic), and the tie term
  // sum(t^3 - t) of the combined ranking, by a fast branch-free merge when the shift creates no
  // tie; false if it did (then Exact() decides).
  bool Fast(double d, double& u, double& ties) const {
    const double* x = xs.data();
    const double* y = ys.data();
    const int64_t n = xs.size(), m = ys.size();
    int64_t i = 0, j = 0, lt = 0;
    bool eq = false;
    while (i < n && j < m) {
      const double v = x[i] - d;
      const double w = y[j];
      const bool y_first = w < v;
      eq |= (w == v);
      lt += y_first ? 0 : j;
      j += y_first;
      i += !y_first;
    }
    lt += (n - i) * m;
    if (eq) {
      return false;
    }
    if (d != 0 && n > 1) {
      // Rounding can merge distinct x values once shifted; that changes the tie term.
      const int64_t shifted = ((xs.head(n - 1) - d) == (xs.tail(n - 1) - d)).count();
      if (shifted != x_equal_neighbours) {
        return false;
      }
    }
    u = static_cast<double>(lt);
    ties = tie_x + tie_y;
    return true;
  }

  // The same by a full merge of keys in Java's order with average ranks, as Kayenta ranks.
  void Exact(double d, double& u, double& ties) const {
    const double* x = xs.data();
    const int64_t* y = yk.data();
    const int64_t n = xs.size(), m = ys.size();
    int64_t i = 0, j = 0;
    double pos = 0, rank_sum = 0;
    ties = 0;
    while (i < n || j < m) {
      int64_t key;
      if (j >= m) {
        key = OrderKey(x[i] - d);
      } else if (i >= n) {
        key = y[j];
      } else {
        key = std::min(OrderKey(x[i] - d), y[j]);
      }
      int64_t cx = 0, cy = 0;
      while (i < n && OrderKey(x[i] - d) == key) {
        ++cx;
        ++i;
      }
      while (j < m && y[j] == key) {
        ++cy;
        ++j;
      }
      const double t = static_cast<double>(cx + cy);
      rank_sum += static_cast<double>(cx) * (pos + (t + 1) / 2);
      ties += t * t * t - t;
      pos += t;
    }
    u = rank_sum - nx * (nx + 1) / 2;
  }

  // Kayenta's wilcoxonDiff without the quantile: W(d) + zq.
  bool W0(double d, double& out) const {
    double u = 0, ties = 0;
    if (!(plain && std::isfinite(d) && Fast(d, u, ties))) {
      Exact(d, u, ties);
    }
    const double dz = u - nx * ny / 2;
    const double correction = (dz > 0 ? 1.0 : dz < 0 ? -1.0 : 0.0) * 0.5;
    const double sigma =
        std::sqrt((nx * ny / 12) * ((nx + ny + 1) - ties / ((nx + ny) * (nx + ny - 1))));
    if (sigma == 0) {
      return false;
    }
    out = (dz - correction) / sigma;
    return true;
  }
};

namespace {

// Sorts `in` in Java's order into `values` (NaN as +inf) and returns the keys.
Eigen::Array<int64_t, Eigen::Dynamic, 1> SortByKey(std::span<const double> in,
                                                   Eigen::ArrayXd& values) {
  Eigen::Array<int64_t, Eigen::Dynamic, 1> keys(static_cast<Eigen::Index>(in.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    keys[static_cast<Eigen::Index>(i)] = OrderKey(in[i]);
  }
  std::sort(keys.data(), keys.data() + keys.size());
  values.resize(keys.size());
  for (Eigen::Index i = 0; i < keys.size(); ++i) {
    values[i] = FromOrderKey(keys[i]);
  }
  return keys;
}

// Sum of t^3 - t over runs of equal keys, and the number of equal neighbours.
double TieTerm(const Eigen::Array<int64_t, Eigen::Dynamic, 1>& keys, int64_t& equal_neighbours) {
  double ties = 0;
  equal_neighbours = 0;
  for (Eigen::Index i = 0; i < keys.size();) {
    Eigen::Index k = i + 1;
    while (k < keys.size() && keys[k] == keys[i]) {
      ++k;
    }
    const double t = static_cast<double>(k - i);
    ties += t * t * t - t;
    equal_neighbours += k - i - 1;
    i = k;
  }
  return ties;
}

bool HasNanOrNegativeZero(std::span<const double> v) {
  return std::any_of(v.begin(), v.end(),
                     [](double d) { return std::isnan(d) || (d == 0 && std::signbit(d)); });
}

}  // namespace

MannWhitney::MannWhitney(std::span<const double> x, std::span<const double> y)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const auto xk = SortByKey(x, s.xs);
  s.yk = SortByKey(y, s.ys);
  s.nx = static_cast<double>(x.size());
  s.ny = static_cast<double>(y.size());
  s.plain = !HasNanOrNegativeZero(x) && !HasNanOrNegativeZero(y);
  s.tie_x = TieTerm(xk, s.x_equal_neighbours);
  int64_t unused = 0;
  s.tie_y = TieTerm(s.yk, unused);
}

MannWhitney::~MannWhitney() = default;
MannWhitney::MannWhitney(MannWhitney&&) noexcept = default;
MannWhitney& MannWhitney::operator=(MannWhitney&&) noexcept = default;

double MannWhitney::MuMin() const {
  return impl_->xs.size() == 0 || impl_->ys.size() == 0
             ? std::numeric_limits<double>::quiet_NaN()
             : impl_->xs[0] - impl_->ys[impl_->ys.size() - 1];
}

double MannWhitney::MuMax() const {
  return impl_->xs.size() == 0 || impl_->ys.size() == 0
             ? std::numeric_limits<double>::quiet_NaN()
             : impl_->xs[impl_->xs.size() - 1] - impl_->ys[0];
}

double MannWhitney::UStatistic() const {
  if (impl_->xs.size() == 0 || impl_->ys.size() == 0) {
    return 0;
  }
  double u = 0, ties = 0;
  impl_->Exact(0, u, ties);
  return u;
}

boost::system::result<double> MannWhitney::WilcoxonDiff(double mu, double quantile) const {
  if (impl_->xs.size() == 0 || impl_->ys.size() == 0) {
    return StatsErrc::kEmptySample;
  }
  double w0 = 0;
  if (!impl_->W0(mu, w0)) {
    return StatsErrc::kAllTied;
  }
  return w0 - quantile;
}

boost::system::result<MannWhitneyResult> MannWhitney::Test(double conf_level) const {
  const Impl& s = *impl_;
  if (s.xs.size() == 0 || s.ys.size() == 0) {
    return StatsErrc::kEmptySample;
  }
  MannWhitneyResult out;
  bool ok = true;
  auto w0 = [&](double d) {
    double v = 0;
    ok = ok && s.W0(d, v);
    ++out.evaluations;
    return v;
  };
  const double mu_min = MuMin(), mu_max = MuMax();
  // W(d, zq) = W0(d) - zq exactly as Kayenta computes it, so the end points serve every root.
  const double w_min = w0(mu_min);
  const double w_max = w0(mu_max);
  if (!ok) {
    return StatsErrc::kAllTied;
  }
  auto solve = [&](double zq, double f_lower, double f_upper, double& root) {
    return Zeroin(
        mu_min, mu_max, f_lower, f_upper,
        [&](double d, double& f) {
          f = w0(d) - zq;
          return ok;
        },
        root);
  };
  auto ci_root = [&](double zq, double& root) {
    const double f_lower = w_min - zq, f_upper = w_max - zq;
    if (f_lower <= 0) {
      root = mu_min;
      return true;
    }
    if (f_upper >= 0) {
      root = mu_max;
      return true;
    }
    return solve(zq, f_lower, f_upper, root);
  };
  const double alpha = 1.0 - conf_level;
  const double z = NormalQuantile(alpha / 2);
  // The estimate has no end point shortcut in Kayenta.
  if (!ci_root(z * -1, out.ci_lower) || !ci_root(z, out.ci_upper) ||
      !solve(0, w_min - 0, w_max - 0, out.estimate)) {
    return StatsErrc::kAllTied;
  }
  const double at_zero = w0(0);
  if (!ok) {
    return StatsErrc::kAllTied;
  }
  out.p_value = std::min(1.0, 2 * NormalUpperTail(std::fabs(at_zero)));
  return out;
}

boost::system::result<MannWhitneyResult> MannWhitneyUTest(std::span<const double> x,
                                                          std::span<const double> y,
                                                          double conf_level) {
  return MannWhitney(x, y).Test(conf_level);
}

}  // namespace canaryd::judge
