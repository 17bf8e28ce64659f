// sweep plan GRID [--summary]: what a grid expands to, before anything runs.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/planning.h"
#include "grid/grid.h"
#include "schedule/scheduler.h"
#include "store/plan.h"
#include "train/checkpoint.h"

namespace sweep::cli {
namespace {

// Whole layer lists can vary (variants with their own `layers:`): keep the table readable.
std::string shortened(const std::string& text) {
  constexpr size_t kMaxCell = 40;
  return text.size() <= kMaxCell ? text : text.substr(0, kMaxCell - 3) + "...";
}

struct PlanOptions {
  std::string grid;
  std::string db = "results.db";
  bool summary = false;
};

// What a search grid adds to the plan: the rule that will prune and where it
// judges, and for TPE that the plan shows only its random startup trials.
std::string search_note(const ExpandedGrid& grid) {
  std::string note = "search: ";
  if (grid.tpe.active)
    note += "TPE, " + std::to_string(grid.tpe.trials) + " trials; planned here are the " +
            std::to_string(grid.runs.size()) + " random startup trials, the rest are proposed in batches as results " +
            "come (docs/search.md)";
  const PruningSpec& p = grid.pruning;
  if (p.active()) {
    if (grid.tpe.active) note += "; ";
    if (p.strategy == PruningSpec::Strategy::median) {
      note += "median rule on " + p.metric + " after every epoch from " + std::to_string(p.min_epochs) + ", once " +
              std::to_string(p.startup_runs) + " runs have finished";
    } else {
      int epochs = 0;
      for (const ExpandedRun& run : grid.runs) epochs = std::max(epochs, run.config.train.epochs);
      std::string rungs;
      for (int64_t e = p.min_epochs; e < epochs; e *= p.reduction_factor) rungs += (rungs.empty() ? "" : ", ") + std::to_string(e);
      note += p.strategy_name + " on " + p.metric + ", judging runs after epoch" + (rungs.find(',') == std::string::npos ? " " : "s ") +
              rungs + (p.strategy == PruningSpec::Strategy::hyperband ? " (bracket 0; later brackets start later)" : "") +
              ": the best 1/" + std::to_string(p.reduction_factor) + " go on";
    }
    note += ". The estimates are for runs trained to their last epoch: pruning makes the sweep shorter";
  }
  return note;
}

int run_plan(const PlanOptions& options) {
  const ExpandedGrid grid = load_grid(options.grid);
  // Runs are planned one at a time (not plan_grid): a 100,000-run grid's
  // PlannedRuns would double what the expanded grid already holds.
  const std::vector<ExpandedRun>& runs = grid.runs;

  // The variant's name is a column unless the grid already lists it as varied.
  bool any_variant = false, any_repeat = false;
  for (const ExpandedRun& run : runs) {
    any_variant = any_variant || !run.variant.empty();
    any_repeat = any_repeat || run.repeat > 0;
  }
  if (std::find(grid.varied.begin(), grid.varied.end(), "variant") != grid.varied.end()) any_variant = false;
  std::vector<std::string> header = {"#"};
  std::vector<Align> align = {Align::right};
  auto add_column = [&](const std::string& title, Align how) {
    header.push_back(title);
    align.push_back(how);
  };
  if (any_variant) add_column("variant", Align::left);
  for (const std::string& title : varied_titles(grid.varied)) add_column(title, Align::left);
  if (any_repeat) add_column("repeat", Align::right);
  for (const char* title : {"params", "FLOPs/image", "estimate"}) add_column(title, Align::right);

  // Each run priced as `sweep run` would schedule it: its own network's
  // measured step costs on the lanes it would get (cached in the database, so
  // a second plan and the run measure nothing).
  std::vector<const RunConfig*> configs;
  for (const ExpandedRun& run : runs) configs.push_back(&run.config);
  std::unique_ptr<Store> store;
  try {
    store = Store::open(options.db);
  } catch (const std::exception& error) {
    std::cerr << "sweep plan: not caching measured step costs in " << options.db << " (" << error.what() << ")\n";
  }
  const SweepForecast forecast = forecast_sweep(configs, ScheduleOptions{}, store.get());

  std::vector<std::vector<std::string>> rows;
  double total_seconds = 0;
  // Checkpoint sizes: one file per run (last/best), one per epoch (all).
  double checkpoint_total = 0, checkpoint_all = 0, checkpoint_largest = 0;
  std::map<std::string, size_t> first_of_model;  // model hash -> first run using it (for --summary)
  for (size_t i = 0; i < runs.size(); ++i) {
    const PlannedRun run = plan_grid_run(grid, i);
    if (options.summary) first_of_model.emplace(model_hash(run.model_spec), i);
    auto& row = rows.emplace_back();
    row.push_back(std::to_string(i + 1));
    if (any_variant) row.push_back(run.variant);
    for (const std::string& path : grid.varied)
      row.push_back(run.varied.contains(path) ? shortened(value_text(run.varied[path])) : "");
    if (any_repeat) row.push_back(std::to_string(run.repeat));
    row.push_back(thousands(run.params_trainable + run.params_non_trainable));
    row.push_back(thousands(run.flops_per_image));
    row.push_back(human_seconds(forecast.run_seconds[i]));
    total_seconds += forecast.run_seconds[i];
    const RunConfig& config = runs[i].config;
    const double bytes = double(checkpoint_bytes(config.model, config.optimizer));
    checkpoint_total += bytes;
    checkpoint_all += bytes * config.train.epochs;
    checkpoint_largest = std::max(checkpoint_largest, bytes);
  }

  std::cout << "sweep '" << grid.name << "' (" << grid.path << ")";
  if (!grid.description.empty()) std::cout << ": " << grid.description;
  std::cout << "\n\n" << text_table(header, rows, align) << "\n";
  std::cout << runs.size() << (runs.size() == 1 ? " run" : " runs") << ", about " << human_seconds(total_seconds)
            << " of training in all; ETA about " << human_seconds(forecast.eta_seconds) << " run as " << forecast.where
            << " (the estimate column: each run on its lane, runs side by side)\n";
  if (grid.pruning.active() || grid.tpe.active) std::cout << search_note(grid) << "\n";
  if (!runs.empty()) {
    std::cout << forecast.cost_note << "\n";
    if (!forecast.threads_note.empty()) std::cout << forecast.threads_note << "\n";
  }
  if (!runs.empty())
    std::cout << "Checkpoints (sweep run --checkpoints, docs/checkpoints.md): " << human_bytes(checkpoint_total)
              << " in all with last or best (" << human_bytes(checkpoint_total / double(runs.size()))
              << " per run on average, the largest " << human_bytes(checkpoint_largest) << "), "
              << human_bytes(checkpoint_all) << " with all (every epoch), nothing with none\n";

  if (options.summary) {
    // One summary per distinct architecture, in the order of first use.
    std::vector<std::pair<size_t, std::string>> models;
    for (const auto& [hash, first] : first_of_model) models.emplace_back(first, hash);
    std::sort(models.begin(), models.end());
    for (const auto& [first, hash] : models)
      std::cout << "\nModel " << hash << " (first used by run " << first + 1 << "):\n"
                << keras_summary(plan_grid_run(grid, first).model_spec);
  }
  return 0;
}

}  // namespace

Command plan_command(CLI::App& parent) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* app = parent.add_subcommand("plan", "Show the runs a grid expands to, with sizes and time estimates");
  app->footer(
      "Read and check a grid file and print every run it expands to: its varied values, parameter count,\n"
      "forward FLOPs per image and estimated training time, then the total and an ETA for this machine.\n"
      "The estimates time a few real training steps and predictions of each distinct network at its batch size,\n"
      "as `sweep run` would run it (docs/eta.md); the timings are cached in the database, so a second plan and\n"
      "the run itself measure nothing. Nothing is trained and no sweep is recorded. A bad grid is reported with\n"
      "file:line and exit code 2.");
  app->add_option("grid", options->grid, "Grid file (YAML)")->required();
  app->add_option("--db", options->db, "Results database that caches the measured step costs (created when missing)")
      ->capture_default_str();
  app->add_flag("--summary", options->summary,
                "Also print the Keras-style model summary (layers, output shapes, parameters) of each distinct "
                "architecture");
  add_exit_codes(*app, "the grid is valid and its runs were printed",
                 "",
                 "bad input: the grid (named with file:line:column and the field) or an option");
  return {app, [options] { return run_plan(*options); }};
}

}  // namespace sweep::cli
