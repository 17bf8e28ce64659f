// `sweep run` of a grid with search.strategy: tpe (src/cli/cmd_run_tpe.cpp):
// rounds of proposing trials from the results so far, recording them, and
// training them, until search.trials are tried (docs/search.md).
#pragma once
#include "grid/grid.h"
#include "schedule/scheduler.h"
#include "store/store.h"

namespace sweep::cli {

// Runs the search from wherever the database left it (the trials recorded
// in search_trials, their runs done or not) and returns the exit code: 0 when
// every trial is done or pruned and none failed. `first` is the grid as
// loaded (its runs: the random startup trials).
int run_tpe_search(Store& store, const ExpandedGrid& first, ScheduleOptions options);

}  // namespace sweep::cli
