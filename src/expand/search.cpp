#include "expand/search.h"

#include <cmath>

#include "kernels/common/rng.h"

namespace sweep {

namespace {

// A stream id of its own, so search draws share nothing with training.
constexpr uint64_t kSearchStream = 0x5ea7c4;

double uniform01(uint64_t key, uint64_t counter) {
  return static_cast<double>(rng::bits(key, counter) >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
}

}  // namespace

double round_significant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

std::vector<std::vector<json>> draw_search_samples(const GridSpec& grid) {
  const uint64_t key = rng::derive_key(grid.search_seed, kSearchStream);
  const size_t dims = grid.search_space.size();
  std::vector<std::vector<json>> samples(static_cast<size_t>(grid.search_samples));
  for (size_t j = 0; j < samples.size(); ++j) {
    for (size_t d = 0; d < dims; ++d) {
      const SearchDimension& dim = grid.search_space[d];
      const double u = uniform01(key, j * dims + d);
      json v;
      if (dim.kind == "choice") {
        v = dim.args[std::min(dim.args.size() - 1, static_cast<size_t>(u * static_cast<double>(dim.args.size())))];
      } else if (dim.kind == "int_uniform") {
        const int64_t lo = dim.args[0].get<int64_t>(), hi = dim.args[1].get<int64_t>();
        v = std::min(hi, lo + static_cast<int64_t>(u * static_cast<double>(hi - lo + 1)));
      } else {
        const double lo = dim.args[0].get<double>(), hi = dim.args[1].get<double>();
        const double x = dim.kind == "log_uniform" ? std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo)))
                                                   : lo + u * (hi - lo);
        v = round_significant(x, 4);
      }
      samples[j].push_back(std::move(v));
    }
  }
  return samples;
}

}  // namespace sweep
