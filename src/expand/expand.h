// Stage 2 of a grid: combine axes into runs, parse and validate each run, and
// map any error back to the grid file (see src/grid/grid.h).
#pragma once
#include "grid/grid.h"
#include "grid/grid_spec.h"

namespace sweep {

// Expand a structurally checked grid into its runs. The order: for each
// repeat, for each variant (or the base alone), the cartesian product of the
// axes in file order (first axis slowest; a zip group moves as one axis at its
// first member's place), minus excluded cells; then the include cells; every
// cell crossed with the random-search samples. Duplicates (same hash) are
// dropped with a note.
ExpandedGrid expand_grid(const GridSpec& grid);

// Limit on the number of runs one grid may expand to (a typo guard).
constexpr size_t kMaxRuns = 100000;

}  // namespace sweep
