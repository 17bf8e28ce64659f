// From an expanded grid to the runs the store plans (shared by plan and run).
#pragma once
#include <string>
#include <vector>

#include "grid/grid.h"
#include "store/store.h"

namespace sweep::cli {

// Every run of the grid with its model facts and single-thread cost estimate.
std::vector<PlannedRun> plan_grid(const ExpandedGrid& grid);

// The run at `index` of the grid, planned (plan_grid's element, made alone).
PlannedRun plan_grid_run(const ExpandedGrid& grid, size_t index);

// The sweep's row for the store.
SweepRecord sweep_record(const ExpandedGrid& grid);

// Records the sweep and every run of the grid (Store::upsert_sweep), planning
// one run at a time so that memory does not grow with the grid twice over.
int64_t record_sweep(Store& store, const ExpandedGrid& grid, GridChange* change = nullptr);

}  // namespace sweep::cli
