#include "cli/planning.h"

#include "schedule/scheduler.h"
#include "store/plan.h"

namespace sweep::cli {

std::vector<PlannedRun> plan_grid(const ExpandedGrid& grid) {
  std::vector<PlannedRun> runs;
  runs.reserve(grid.runs.size());
  for (const ExpandedRun& run : grid.runs) runs.push_back(plan_run(run, estimate_run_seconds(run.config, 1)));
  return runs;
}

SweepRecord sweep_record(const ExpandedGrid& grid) {
  SweepRecord sweep;
  sweep.name = grid.name;
  sweep.description = grid.description;
  sweep.grid_path = grid.path;
  sweep.grid_text = grid.text;
  sweep.varied = grid.varied;
  return sweep;
}

}  // namespace sweep::cli
