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

// Column titles for varied paths: the last component, or the whole dotted
// path where that is ambiguous (two paths end alike) or a list index.
std::vector<std::string> varied_titles(const std::vector<std::string>& paths);

// A varied value as table text: strings bare, everything else as JSON.
std::string value_text(const json& value);

}  // namespace sweep::cli
