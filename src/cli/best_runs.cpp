#include "cli/best_runs.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "cli/format.h"
#include "schedule/progress.h"

namespace sweep::cli {

void print_best_runs(std::ostream& out, Store& store, int64_t sweep_id, const ExpandedGrid& grid, size_t top) {
  // Only this grid's runs (the sweep may keep runs of its earlier versions: in_grid = 0).
  const Store::QueryResult done = store.query(fmt::format(
      "SELECT hash, test_accuracy, test_loss, wall_seconds FROM runs WHERE sweep_id = {} AND in_grid = 1 "
      "AND status = 'done' AND test_accuracy IS NOT NULL ORDER BY test_accuracy DESC, test_loss, id",
      sweep_id));
  if (done.rows.empty()) return;
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < grid.runs.size(); ++i) index_of.emplace(grid.runs[i].config.hash, i);

  int repeats = 1;
  for (const ExpandedRun& run : grid.runs) repeats = std::max(repeats, run.repeat + 1);
  const bool seed_varied = std::any_of(grid.varied.begin(), grid.varied.end(), [](const std::string& path) {
    return path == "seed" || path.ends_with(".seed");
  });
  std::vector<std::string> header = {"run"};
  std::vector<Align> align = {Align::right};
  for (const std::string& title : varied_titles(grid.varied)) {
    header.push_back(title);
    align.push_back(Align::left);
  }
  if (repeats > 1) {
    header.push_back("rep");
    align.push_back(Align::right);
    if (!seed_varied) {
      header.push_back("seed");
      align.push_back(Align::right);
    }
  }
  for (const char* title : {"test_acc", "test_loss", "time"}) {
    header.push_back(title);
    align.push_back(Align::right);
  }

  std::vector<std::vector<std::string>> rows;
  for (const auto& result : done.rows) {
    if (rows.size() >= top) break;
    const auto found = index_of.find(result[0].value_or(""));
    if (found == index_of.end()) continue;
    const ExpandedRun& run = grid.runs[found->second];
    std::vector<std::string> row = {fmt::format("#{}", found->second + 1)};
    // A key only another variant sets is null here: an empty cell, not "null".
    for (const std::string& path : grid.varied)
      row.push_back(run.varied.is_object() && run.varied.contains(path) ? value_text(run.varied.at(path)) : "");
    if (repeats > 1) {
      row.push_back(fmt::format("{}/{}", run.repeat + 1, repeats));
      if (!seed_varied) row.push_back(std::to_string(run.config.train.seed));
    }
    const auto number = [](const std::optional<std::string>& text) { return text ? std::stod(*text) : 0.0; };
    row.push_back(fmt::format("{:.4f}", number(result[1])));
    row.push_back(fmt::format("{:.4f}", number(result[2])));
    row.push_back(format_duration(number(result[3])));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  out << fmt::format("best {} of {} done {} by test accuracy:\n", rows.size(), done.rows.size(),
                     done.rows.size() == 1 ? "run" : "runs")
      << text_table(header, rows, align) << std::flush;
}

}  // namespace sweep::cli
