// The table `sweep run` ends with: the grid's best runs by test accuracy, so
// a finished sweep answers "which settings won?" without a query.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>

#include "grid/grid.h"
#include "store/store.h"

namespace sweep::cli {

// "best 5 of 12 done runs by test accuracy:" and a table of them: the run's
// number in the grid, its varied values (its variant; its repeat and seed in
// a grid with repeats), test accuracy and loss, training time. Runs done
// before this invocation count too. Nothing when no run of the grid is done.
void print_best_runs(std::ostream& out, Store& store, int64_t sweep_id, const ExpandedGrid& grid, size_t top = 5);

}  // namespace sweep::cli
