#include "cli/planning.h"

#include <algorithm>
#include <cctype>
#include <map>

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

static std::string last_component(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::vector<std::string> varied_titles(const std::vector<std::string>& paths) {
  std::map<std::string, int> ends;
  for (const std::string& path : paths) ++ends[last_component(path)];
  std::vector<std::string> titles;
  for (const std::string& path : paths) {
    const std::string last = last_component(path);
    const bool index = std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); });
    titles.push_back(ends[last] == 1 && !index ? last : path);
  }
  return titles;
}

std::string value_text(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace sweep::cli
