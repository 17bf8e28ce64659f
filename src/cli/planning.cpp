#include "cli/planning.h"

#include <map>

#include "common/provenance.h"
#include "schedule/scheduler.h"
#include "store/plan.h"
#include "train/backend.h"

namespace sweep::cli {

PlannedRun plan_grid_run(const ExpandedGrid& grid, size_t index) {
  const ExpandedRun& run = grid.runs[index];
  return plan_run(run, estimate_run_seconds(run.config, 1));
}

std::vector<PlannedRun> plan_grid(const ExpandedGrid& grid) {
  std::vector<PlannedRun> runs;
  runs.reserve(grid.runs.size());
  for (size_t i = 0; i < grid.runs.size(); ++i) runs.push_back(plan_grid_run(grid, i));
  return runs;
}

int64_t record_sweep(Store& store, const ExpandedGrid& grid, GridChange* change) {
  return store.upsert_sweep(
      sweep_record(grid), grid.runs.size(), [&grid](size_t i) { return plan_grid_run(grid, i); }, change);
}

SweepRecord sweep_record(const ExpandedGrid& grid) {
  SweepRecord sweep;
  sweep.name = grid.name;
  sweep.description = grid.description;
  sweep.grid_path = grid.path;
  sweep.grid_text = grid.text;
  sweep.varied = grid.varied;
  sweep.fingerprint = grid.fingerprint;
  // The GPU module is not loaded for this: its runs name their device.
  std::map<std::string, std::string> libraries;
  for (const std::string& name : backend_names())
    if (name != "gpu")
      if (std::string library = get_backend(name).library(); !library.empty()) libraries[name] = library;
  sweep.provenance = provenance_json(libraries);
  return sweep;
}

}  // namespace sweep::cli
