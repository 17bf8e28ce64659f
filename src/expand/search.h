// Random search: deterministic samples from the distributions of search.space.
#pragma once
#include <vector>

#include "grid/grid_spec.h"

namespace sweep {

// samples[j][d]: sample j's value for search_space[d]. A pure function of the
// grid's search seed, counts and distributions (counter-based, rng.h), so the
// same file always gives the same samples. Floats are rounded to 4
// significant digits, so they read well and hash stably.
std::vector<std::vector<json>> draw_search_samples(const GridSpec& grid);

// `v` to `digits` significant digits: how every sampler writes a float it
// drew (random search, TPE), so values read well and hash stably.
double round_significant(double v, int digits);

}  // namespace sweep
