// From an expanded grid to the runs the store plans (shared by plan and run).
#pragma once
#include <string>
#include <vector>

#include "grid/grid.h"
#include "store/store.h"

namespace sweep::cli {

// Every run of the grid with its model facts and single-thread cost estimate.
std::vector<PlannedRun> plan_grid(const ExpandedGrid& grid);

// The sweep's row for the store.
SweepRecord sweep_record(const ExpandedGrid& grid);

}  // namespace sweep::cli
