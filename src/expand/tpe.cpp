#include "expand/tpe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "expand/search.h"
#include "kernels/common/rng.h"

namespace sweep {

namespace {

constexpr uint64_t kTpeStream = 0x7be5a3;  // a stream of its own: shares nothing with random search or training
constexpr double kPi = 3.14159265358979323846;

// Counter-based draws for one (trial, dimension): the same numbers whatever
// else the search drew before.
struct Draws {
  uint64_t key;
  uint64_t counter;
  double uniform() {  // [0, 1), 53 bits
    return static_cast<double>(rng::bits(key, counter++) >> 11) * (1.0 / 9007199254740992.0);
  }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
};

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// A numeric dimension in the space TPE models it in: log for log_uniform,
// integers widened by half a step each side so both ends are as likely.
struct Numeric {
  double low = 0, high = 1;
  bool log = false, integer = false;

  explicit Numeric(const SearchDimension& d) : log(d.kind == "log_uniform"), integer(d.kind == "int_uniform") {
    low = d.args[0].get<double>();
    high = d.args[1].get<double>();
    if (log) low = std::log(low), high = std::log(high);
    if (integer) low -= 0.5, high += 0.5;
  }
  double to_model(const json& v) const { return log ? std::log(v.get<double>()) : v.get<double>(); }
  json from_model(double x) const {
    if (integer) {
      const double lo = low + 0.5, hi = high - 0.5;
      return static_cast<int64_t>(std::clamp(std::round(x), lo, hi));
    }
    return round_significant(log ? std::exp(x) : x, 4);
  }
};

// A Parzen estimator over [low, high]: a truncated Gaussian per observation
// and one wide prior, equally weighted. Each observation's width is the
// larger gap to its neighbours (the range's ends count as neighbours),
// clipped to [range / min(100, 1 + n), range].
struct Parzen {
  std::vector<double> mu, sigma;
  double low, high;

  Parzen(std::vector<double> points, double lo, double hi) : low(lo), high(hi) {
    const double range = hi - lo;
    points.push_back(0.5 * (lo + hi));  // the prior's centre
    std::sort(points.begin(), points.end());
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(points.size()));
    for (size_t i = 0; i < points.size(); ++i) {
      const double left = points[i] - (i == 0 ? lo : points[i - 1]);
      const double right = (i + 1 == points.size() ? hi : points[i + 1]) - points[i];
      mu.push_back(points[i]);
      sigma.push_back(std::clamp(std::max(left, right), min_sigma, range));
    }
    // The prior keeps its full width, wherever it sorted to.
    for (size_t i = 0; i < mu.size(); ++i)
      if (mu[i] == 0.5 * (lo + hi)) {
        sigma[i] = range;
        break;
      }
  }

  double density(double x) const {
    double p = 0;
    for (size_t i = 0; i < mu.size(); ++i) {
      const double z = (x - mu[i]) / sigma[i];
      const double mass = normal_cdf((high - mu[i]) / sigma[i]) - normal_cdf((low - mu[i]) / sigma[i]);
      p += std::exp(-0.5 * z * z) / (sigma[i] * std::sqrt(2 * kPi) * std::max(mass, 1e-12));
    }
    return p / static_cast<double>(mu.size());
  }

  double sample(Draws& draws) const {
    const size_t i = std::min(mu.size() - 1, static_cast<size_t>(draws.uniform() * static_cast<double>(mu.size())));
    for (int tries = 0; tries < 100; ++tries) {
      const double x = mu[i] + sigma[i] * draws.normal();
      if (x >= low && x <= high) return x;
    }
    return std::clamp(mu[i], low, high);
  }
};

bool better(const TpeTrial& a, const TpeTrial& b, bool maximize) {
  if (a.stage != b.stage) return a.stage > b.stage;
  if (std::isnan(a.value)) return false;
  if (std::isnan(b.value)) return true;
  return maximize ? a.value > b.value : a.value < b.value;
}

// The index of `value` among a choice dimension's values (-1: not one of them).
int choice_index(const SearchDimension& d, const json& value) {
  for (size_t i = 0; i < d.args.size(); ++i)
    if (d.args[i] == value) return static_cast<int>(i);
  return -1;
}

json propose_dimension(const SearchDimension& d, size_t dim, const std::vector<const TpeTrial*>& below,
                       const std::vector<const TpeTrial*>& above, Draws& draws, int candidates) {
  if (d.kind == "choice") {
    const size_t k = d.args.size();
    std::vector<double> l(k, 1.0), g(k, 1.0);  // counts plus one: every choice stays possible
    for (const TpeTrial* t : below)
      if (const int i = choice_index(d, t->values[dim]); i >= 0) l[static_cast<size_t>(i)] += 1;
    for (const TpeTrial* t : above)
      if (const int i = choice_index(d, t->values[dim]); i >= 0) g[static_cast<size_t>(i)] += 1;
    double l_sum = 0, g_sum = 0;
    for (size_t i = 0; i < k; ++i) l_sum += l[i], g_sum += g[i];
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < candidates; ++c) {
      // A draw from l, scored by l / g.
      double u = draws.uniform() * l_sum;
      size_t i = 0;
      while (i + 1 < k && u >= l[i]) u -= l[i++];
      const double score = std::log(l[i] / l_sum) - std::log(g[i] / g_sum);
      if (score > best_score) best_score = score, best = i;
    }
    return d.args[best];
  }
  const Numeric n(d);
  auto points = [&](const std::vector<const TpeTrial*>& trials) {
    std::vector<double> out;
    for (const TpeTrial* t : trials)
      if (t->values[dim].is_number()) out.push_back(std::clamp(n.to_model(t->values[dim]), n.low, n.high));
    return out;
  };
  const Parzen l(points(below), n.low, n.high), g(points(above), n.low, n.high);
  double best = l.sample(draws), best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < candidates; ++c) {
    const double x = c == 0 ? best : l.sample(draws);
    const double score = std::log(l.density(x)) - std::log(g.density(x));
    if (score > best_score) best_score = score, best = x;
  }
  return n.from_model(best);
}

}  // namespace

std::vector<std::vector<json>> propose_tpe(const std::vector<SearchDimension>& space,
                                           const std::vector<TpeTrial>& history, int count, int first_trial,
                                           const TpeSettings& settings) {
  const uint64_t key = rng::derive_key(settings.seed, kTpeStream);
  std::vector<TpeTrial> trials = history;
  std::vector<std::vector<json>> proposed;
  for (int j = 0; j < count; ++j) {
    std::vector<const TpeTrial*> sorted;
    for (const TpeTrial& t : trials) sorted.push_back(&t);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&](const TpeTrial* a, const TpeTrial* b) { return better(*a, *b, settings.maximize); });
    const size_t n = sorted.size();
    const size_t n_below = std::min<size_t>((n + 9) / 10, 25);  // gamma(n) = min(ceil(0.1 n), 25)
    const std::vector<const TpeTrial*> below(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n_below));
    const std::vector<const TpeTrial*> above(sorted.begin() + static_cast<std::ptrdiff_t>(n_below), sorted.end());
    std::vector<json> values;
    const uint64_t trial = static_cast<uint64_t>(first_trial + j);
    for (size_t d = 0; d < space.size(); ++d) {
      Draws draws{key, (trial * space.size() + d) << 20};
      values.push_back(propose_dimension(space[d], d, below, above, draws, settings.candidates));
    }
    proposed.push_back(values);
    trials.push_back(TpeTrial{std::move(values), -1, 0.0});  // the constant liar: the worst result, for now
  }
  return proposed;
}

}  // namespace sweep
