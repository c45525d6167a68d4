#include "canaryd/judge/mann_whitney.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

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
  // ys between sentinels, -inf before and +inf after, so walks need no bounds checks.
  std::vector<double> y_guarded;
  double nx = 0, ny = 0;
  // No NaN and no -0.0 in either sample: then ordinary comparisons of x - d with y (d finite)
  // are exactly Java's order and the merge can use plain doubles.
  bool plain = true;
  int64_t x_equal_neighbours = 0;  // i with xs[i] == xs[i + 1]
  double x_min_gap = 0;            // smallest difference of distinct neighbours in xs (inf: none)
  double x_max_abs = 0;            // largest |x|
  double tie_x = 0;                // sum of t^3 - t over tie groups within x
  double tie_y = 0;
  // tie_y_prefix[j]: the tie term of y[0, j) where j starts a tie group (other entries unused);
  // tie_x_suffix[i]: the tie term of x[i, n) where i starts a tie group.
  std::vector<double> tie_y_prefix, tie_x_suffix;

  // What one test remembers between evaluations of W, allocated once per test so that root
  // finding allocates nothing.
  struct Workspace {
    std::vector<int64_t> below;  // #y < x_i - d at d = at
    bool valid = false;
    double at = 0;
    int64_t lt = 0;       // sum of below
    double density = -1;  // |change of lt| per unit of d between the last two counts; < 0 unknown
  };

  const double* Y() const { return y_guarded.data() + 1; }

  // The U statistic sum_i (#y < x_i - d) + 1/2 (#y == x_i - d) and the tie term sum(t^3 - t) of
  // the combined ranking when the shift creates no tie (then U is the first sum alone); false if
  // it does (then Exact() decides). Counts either by a merge or, when d is close to the last d
  // counted (late root-finder steps, where few counts change), by moving each count from there.
  bool Fast(double d, double& u, double& ties, Workspace& ws) const {
    const int64_t n = xs.size();
    int64_t lt = 0;
    bool eq = false;
    bool counted = false;
    if (ws.valid && ws.density >= 0 &&
        ws.density * std::fabs(d - ws.at) <= static_cast<double>(n)) {
      counted = Move(d, ws, lt, eq);
    }
    if (!counted) {
      lt = Merge(d, ws.below.data(), eq);
    }
    if (ws.valid && d != ws.at) {
      ws.density = std::fabs(static_cast<double>(lt - ws.lt)) / std::fabs(d - ws.at);
    }
    ws.valid = true;
    ws.at = d;
    ws.lt = lt;
    if (eq) {
      return false;
    }
    // Rounding can merge distinct x values once shifted, which changes the tie term; it cannot
    // when the closest distinct values are further apart than the rounding errors of x - d.
    if (d != 0 && n > 1 && !NoCollapse(d)) {
      const int64_t shifted = ((xs.head(n - 1) - d) == (xs.tail(n - 1) - d)).count();
      if (shifted != x_equal_neighbours) {
        return false;
      }
    }
    u = static_cast<double>(lt);
    ties = tie_x + tie_y;
    return true;
  }

  // Moves every count from ws.at to d. Gives up (false, workspace invalid) after more moves than
  // a merge would take steps.
  bool Move(double d, Workspace& ws, int64_t& lt, bool& eq) const {
    const double* x = xs.data();
    const double* y = Y();
    int64_t* below = ws.below.data();
    const int64_t n = xs.size();
    const int64_t budget = n + ys.size();
    int64_t moves = 0;
    lt = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[i] - d;
      int64_t j = below[i];
      if (y[j] < v) {
        do {
          ++j;
        } while (y[j] < v);  // stops at the +inf sentinel
        moves += j - below[i];
      } else if (y[j - 1] >= v) {
        do {
          --j;
        } while (j > 0 && y[j - 1] >= v);
        moves += below[i] - j;
      }
      eq |= y[j] == v;
      below[i] = j;
      lt += j;
      if (moves > budget) {
        ws.valid = false;
        ws.density = -1;
        return false;
      }
    }
    return true;
  }

  // #y < x_i - d for every i into `below`, and their sum, by merging x - d with y. A merge is one
  // long dependency chain (load, subtract, compare, advance), so x is split into four ranges,
  // each starting at its place in y (binary search), merged in lockstep for the CPU to overlap.
  int64_t Merge(double d, int64_t* below, bool& eq) const {
    const double* x = xs.data();
    const double* y = Y();
    const int64_t n = xs.size(), m = ys.size();
    constexpr int kChains = 4;
    std::array<int64_t, kChains + 1> x_at{}, y_at{};
    for (int k = 0; k <= kChains; ++k) {
      x_at[k] = n * k / kChains;
      y_at[k] = k == kChains ? m : CountBelow(x[x_at[k]] - d);
    }
    std::array<int64_t, kChains> i{}, j{}, sum{};
    bool e = false;
    for (int k = 0; k < kChains; ++k) {
      i[k] = x_at[k];
      j[k] = y_at[k];
    }
    // One step: take y[j] if it is below x[i] - d, else x[i], which then has j values of y
    // below it (the last write to below[i] is when x[i] is taken).
    auto step = [&](int64_t& ii, int64_t& jj, int64_t& ss) {
      const double v = x[ii] - d;
      const double w = y[jj];
      const bool y_first = w < v;
      e |= w == v;
      below[ii] = jj;
      ss += y_first ? 0 : jj;
      jj += y_first;
      ii += !y_first;
    };
    for (;;) {
      // Rounds of steps that no range can overrun (each step consumes one x or one y), in
      // locals so that the four chains stay in registers.
      int64_t steps = std::numeric_limits<int64_t>::max();
      for (int k = 0; k < kChains; ++k) {
        steps = std::min({steps, x_at[k + 1] - i[k], y_at[k + 1] - j[k]});
      }
      if (steps <= 0) {
        break;
      }
      int64_t i0 = i[0], i1 = i[1], i2 = i[2], i3 = i[3];
      int64_t j0 = j[0], j1 = j[1], j2 = j[2], j3 = j[3];
      int64_t s0 = sum[0], s1 = sum[1], s2 = sum[2], s3 = sum[3];
      for (int64_t t = 0; t < steps; ++t) {
        step(i0, j0, s0);
        step(i1, j1, s1);
        step(i2, j2, s2);
        step(i3, j3, s3);
      }
      i = {i0, i1, i2, i3};
      j = {j0, j1, j2, j3};
      sum = {s0, s1, s2, s3};
    }
    int64_t lt = 0;
    for (int k = 0; k < kChains; ++k) {
      while (i[k] < x_at[k + 1] && j[k] < y_at[k + 1]) {
        step(i[k], j[k], sum[k]);
      }
      // x left in a range: every y of the range is below them, and none of the next range's
      // (by the binary search).
      for (int64_t r = i[k]; r < x_at[k + 1]; ++r) {
        below[r] = y_at[k + 1];
      }
      lt += sum[k] + (x_at[k + 1] - i[k]) * y_at[k + 1];
    }
    eq |= e;
    return lt;
  }

  // The same by merging keys in Java's order with average ranks, as Kayenta ranks. Only where
  // the samples overlap: y below every x - d and x - d above every y rank trivially (which makes
  // the bracket ends muMin and muMax, where the samples just touch, cheap).
  void Exact(double d, double& u, double& ties) const {
    const double* x = xs.data();
    const int64_t* y = yk.data();
    const int64_t n = xs.size(), m = ys.size();
    auto xkey = [&](int64_t i) { return OrderKey(x[i] - d); };
    // y[0, j0) are below every x - d; x[i1, n) are above every y.
    const int64_t j0 = std::lower_bound(y, y + m, xkey(0)) - y;
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (xkey(mid) <= y[m - 1]) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const int64_t i1 = lo;
    int64_t i = 0, j = j0;
    double pos = static_cast<double>(j0), rank_sum = 0;
    ties = tie_y_prefix[static_cast<size_t>(j0)];
    while (i < i1 || j < m) {
      int64_t key;
      if (j >= m) {
        key = xkey(i);
      } else if (i >= i1) {
        key = y[j];
      } else {
        key = std::min(xkey(i), y[j]);
      }
      int64_t cx = 0, cy = 0;
      while (i < i1 && xkey(i) == key) {
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
    // x[i1, n) take ranks pos + 1 .. n + m: their sum does not depend on how they tie.
    const double rest = static_cast<double>(n - i1);
    rank_sum += rest * pos + rest * (rest + 1) / 2;
    if (NoCollapse(d)) {
      ties += tie_x_suffix[static_cast<size_t>(i1)];  // shifted, x keeps its tie groups
    } else {
      for (int64_t r = i1; r < n;) {
        const int64_t key = xkey(r);
        int64_t k = r + 1;
        while (k < n && xkey(k) == key) {
          ++k;
        }
        const double t = static_cast<double>(k - r);
        ties += t * t * t - t;
        r = k;
      }
    }
    u = rank_sum - nx * (nx + 1) / 2;
  }

  // Kayenta's wilcoxonDiff without the quantile: W(d) + zq.
  bool W0(double d, double& out, Workspace& ws) const {
    double u = 0, ties = 0;
    // At the bracket ends the samples touch, a tie Fast() would find only to hand over.
    const bool end = d == xs[0] - ys[ys.size() - 1] || d == xs[xs.size() - 1] - ys[0];
    if (!(plain && !end && std::isfinite(d) && Fast(d, u, ties, ws))) {
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

  Workspace NewWorkspace() const {
    Workspace ws;
    ws.below.assign(static_cast<size_t>(xs.size()), 0);
    return ws;
  }

  // True if x - d keeps distinct x values distinct: the closest distinct values are further
  // apart than the rounding errors of x - d can close.
  bool NoCollapse(double d) const {
    constexpr double kEps = std::numeric_limits<double>::epsilon();
    return d == 0 || x_min_gap > 4 * kEps * (x_max_abs + std::fabs(d));
  }

  // #y < v, by binary search.
  int64_t CountBelow(double v) const { return std::lower_bound(Y(), Y() + ys.size(), v) - Y(); }
};

namespace {

// Sorts `in` in Java's order into `values` (NaN as +inf) and returns the keys.
Eigen::Array<int64_t, Eigen::Dynamic, 1> SortByKey(std::span<const double> in,
                                                   Eigen::ArrayXd& values) {
  Eigen::Array<int64_t, Eigen::Dynamic, 1> keys(static_cast<Eigen::Index>(in.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    keys[static_cast<Eigen::Index>(i)] = OrderKey(in[i]);
  }
  SortKeys(keys.data(), static_cast<size_t>(keys.size()));
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

}  // namespace

MannWhitney::MannWhitney(std::span<const double> x, std::span<const double> y)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  SortByKey(x, s.xs);
  s.yk = SortByKey(y, s.ys);
  Init();
}

MannWhitney MannWhitney::FromSorted(std::span<const double> x_sorted,
                                    std::span<const double> y_sorted) {
  MannWhitney mw;
  Impl& s = *mw.impl_;
  s.xs =
      Eigen::Map<const Eigen::ArrayXd>(x_sorted.data(), static_cast<Eigen::Index>(x_sorted.size()));
  s.ys =
      Eigen::Map<const Eigen::ArrayXd>(y_sorted.data(), static_cast<Eigen::Index>(y_sorted.size()));
  s.yk.resize(s.ys.size());
  for (Eigen::Index i = 0; i < s.ys.size(); ++i) {
    s.yk[i] = OrderKey(s.ys[i]);
  }
  mw.Init();
  return mw;
}

MannWhitney::MannWhitney() : impl_(std::make_unique<Impl>()) {}

void MannWhitney::Init() {
  Impl& s = *impl_;
  Eigen::Array<int64_t, Eigen::Dynamic, 1> xk(s.xs.size());
  for (Eigen::Index i = 0; i < s.xs.size(); ++i) {
    xk[i] = OrderKey(s.xs[i]);
  }
  s.nx = static_cast<double>(s.xs.size());
  s.ny = static_cast<double>(s.ys.size());
  s.y_guarded.reserve(static_cast<size_t>(s.ys.size()) + 2);
  s.y_guarded.push_back(-std::numeric_limits<double>::infinity());
  s.y_guarded.insert(s.y_guarded.end(), s.ys.data(), s.ys.data() + s.ys.size());
  s.y_guarded.push_back(std::numeric_limits<double>::infinity());
  auto awkward = [](const Eigen::ArrayXd& v) {
    return std::any_of(v.data(), v.data() + v.size(),
                       [](double d) { return std::isnan(d) || (d == 0 && std::signbit(d)); });
  };
  s.plain = !awkward(s.xs) && !awkward(s.ys);
  s.tie_x = TieTerm(xk, s.x_equal_neighbours);
  s.x_min_gap = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i + 1 < s.xs.size(); ++i) {
    if (s.xs[i + 1] != s.xs[i]) {
      s.x_min_gap = std::min(s.x_min_gap, s.xs[i + 1] - s.xs[i]);
    }
  }
  s.x_max_abs = s.xs.size() > 0 ? s.xs.abs().maxCoeff() : 0;
  s.tie_x_suffix.assign(static_cast<size_t>(s.xs.size()) + 1, 0);
  double suffix = 0;
  for (Eigen::Index b = s.xs.size(); b > 0;) {
    Eigen::Index a = b - 1;
    while (a > 0 && xk[a - 1] == xk[b - 1]) {
      --a;
    }
    const double t = static_cast<double>(b - a);
    suffix += t * t * t - t;
    s.tie_x_suffix[static_cast<size_t>(a)] = suffix;
    b = a;
  }
  int64_t unused = 0;
  s.tie_y = TieTerm(s.yk, unused);
  s.tie_y_prefix.assign(static_cast<size_t>(s.ys.size()) + 1, 0);
  double acc = 0;
  for (Eigen::Index a = 0; a < s.yk.size();) {
    Eigen::Index b = a + 1;
    while (b < s.yk.size() && s.yk[b] == s.yk[a]) {
      ++b;
    }
    const double t = static_cast<double>(b - a);
    acc += t * t * t - t;
    s.tie_y_prefix[static_cast<size_t>(b)] = acc;
    a = b;
  }
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
  Impl::Workspace ws = impl_->NewWorkspace();
  if (!impl_->W0(mu, w0, ws)) {
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
  Impl::Workspace ws = s.NewWorkspace();
  auto w0 = [&](double d) {
    double v = 0;
    ok = ok && s.W0(d, v, ws);
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
