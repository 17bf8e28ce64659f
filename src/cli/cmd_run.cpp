// sweep run GRID [--db PATH] ...: train every run of a grid that is not done.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "cli/best_runs.h"
#include "cli/commands.h"
#include "cli/planning.h"
#include "cli/slurm_run.h"
#include "cli/tpe_run.h"
#include "common/error.h"
#include "grid/grid.h"
#include "schedule/scheduler.h"
#include "slurm/queue.h"
#include "store/owner.h"
#include "store/store.h"
#include "train/backend.h"

namespace sweep::cli {
namespace {

struct RunOptions {
  std::string grid;
  std::string db = "results.db";
  ScheduleOptions schedule;
  bool plain = false;
  std::string checkpoints = "last";
  std::string executor = "local";
  SlurmRunOptions slurm;
  bool continue_pruned = false;
};

// What a rerun of a finished grid prints, by either path below.
void say_all_done(const std::string& sweep, int64_t runs, const std::string& db) {
  std::cout << "sweep '" << sweep << "': all " << runs << (runs == 1 ? " run is" : " runs are") << " already done in "
            << db << "; nothing to train\n";
}

// A rerun of a grid that is all done, told without expanding it: the
// database has a sweep recorded from a grid with the same fingerprint (the
// same text, file stem, sweep version and expansion code, so the same runs)
// and every one of its runs is done. A 100,000-run grid takes seconds to
// expand; this takes milliseconds. Reads only: the database is not created.
bool all_done_already(const RunOptions& options) {
  if (options.executor != "local") return false;
  std::error_code ec;
  if (!std::filesystem::exists(options.db, ec)) return false;
  std::string text;
  try {
    text = read_grid_file(options.grid);
  } catch (const InputError&) {
    return false;  // load_grid says what is wrong
  }
  std::optional<SweepProgress> progress;
  try {
    const auto store = Store::open(options.db, Store::Mode::read_only);
    progress = store->sweep_by_fingerprint(grid_fingerprint(text, options.grid));
  } catch (const std::runtime_error&) {
    return false;  // not (yet) a results database: the full path creates or refuses it
  }
  if (!progress || progress->runs <= 0 || progress->done != progress->runs) return false;
  check_schedule_options(options.schedule);  // a backend that cannot run here is still exit 2
  say_all_done(progress->name, progress->runs, options.db);
  return true;
}

int run_run(RunOptions options) {
  if (all_done_already(options)) return kExitOk;
  // Everything that can be wrong with the input is found before the database
  // is touched: a bad grid or backend leaves no file behind.
  const ExpandedGrid grid = load_grid(options.grid);
  // The backend must be able to run here (built in, a device where it needs
  // one), and Slurm must be reachable, before a database exists: exit 2 must
  // mean "nothing written".
  check_schedule_options(options.schedule);
  if (grid.tpe.active && options.executor == "slurm")
    throw InputError("search.strategy tpe proposes each batch from the results of the last; Slurm tasks train "
                         "apart, so a TPE search runs with --executor local only (docs/search.md)",
                     grid.tpe.at, "search.strategy");
  if (grid.tpe.active && options.continue_pruned)
    throw InputError("--continue-pruned: a TPE search's pruned trials stay pruned (TPE proposed later trials from "
                         "them as they were); to train them on, run a grid of their configurations",
                     grid.tpe.at, "search.strategy");
  if (options.executor == "slurm") {
    // A pruning rule compares each run with the others as their rungs come
    // in: one process must see them all. Slurm tasks train apart.
    if (grid.pruning.active())
      throw InputError("search.strategy " + grid.pruning.strategy_name +
                           " needs one sweep process that sees every run's epochs as they come; Slurm tasks train "
                           "apart, so pruning runs with --executor local only (docs/search.md)",
                       grid.pruning.at, "search.strategy");
    slurm::require_sbatch();
  }
  auto store = Store::open(options.db);
  // How runs train, whichever path trains them (TPE rounds, Slurm, here).
  options.schedule.checkpoint_keep = checkpoint_keep_from(options.checkpoints);
  options.schedule.checkpoint_dir = checkpoint_dir(options.db).string();
  options.schedule.results_path = options.db;
  if (options.plain) options.schedule.view = ScheduleOptions::View::plain;
  if (grid.tpe.active) {
    const int code = run_tpe_search(*store, grid, options.schedule);
    if (!options.schedule.quiet)
      if (const auto sweep = store->sweep_by_name(grid.name)) print_best_runs(std::cout, *store, sweep->id, grid);
    return code;
  }
  GridChange change;
  const int64_t sweep_id = record_sweep(*store, grid, &change);
  if (!options.schedule.quiet) {
    auto runs_text = [](int n) { return std::to_string(n) + (n == 1 ? " run" : " runs"); };
    if (change.left > 0)
      std::cout << "sweep '" << grid.name << "': " << runs_text(change.left)
                << " of an earlier version of this grid are no longer in it (their configuration changed or was "
                   "removed); kept in "
                << options.db << " with in_grid = 0, left out of the results view, `sweep status` and the report\n";
    if (change.returned > 0)
      std::cout << "sweep '" << grid.name << "': " << runs_text(change.returned)
                << " that had left the grid are in it again, with the results they had\n";
  }
  if (options.continue_pruned) {
    const int continued = store->continue_pruned(sweep_id);
    if (!options.schedule.quiet)
      std::cout << "sweep '" << grid.name << "': " << continued << (continued == 1 ? " pruned run continues" : " pruned runs continue")
                << (options.checkpoints == "none" ? " (from epoch 1: --checkpoints none kept no training state)"
                                                  : " from the epoch it was pruned after")
                << ", to its last epoch; it is not pruned again\n";
  }
  const int stale = store->mark_stale_running_interrupted(sweep_id);
  if (stale > 0 && !options.schedule.quiet)
    std::cout << "sweep: " << stale << (stale == 1 ? " run was" : " runs were")
              << " left running by an earlier sweep that ended; marked interrupted, it will run again\n";

  // Only this grid's runs count: the sweep may hold runs of earlier versions
  // of it, and another sweep of the database may hold the same config.
  int done = 0, elsewhere = 0;  // elsewhere: running in another live sweep process, left to it
  {  // (the rows are read again by the scheduler: not held while it trains)
    std::unordered_map<std::string, const RunRow*> row_by_hash;
    const std::vector<RunRow> rows = store->runs_of(sweep_id);
    for (const RunRow& row : rows) row_by_hash[row.hash] = &row;
    for (const ExpandedRun& run : grid.runs) {
      const auto found = row_by_hash.find(run.config.hash);
      const RunRow* row = found == row_by_hash.end() ? nullptr : found->second;
      if (row && row->status == RunStatus::done) ++done;
      if (row && row->status == RunStatus::running && !owner_is_stale(row->owner)) ++elsewhere;
    }
  }
  const int total = static_cast<int>(grid.runs.size());
  if (done == total) {
    say_all_done(grid.name, total, options.db);
    return kExitOk;
  }
  if (options.executor == "slurm") {
    if (!options.schedule.quiet)
      std::cout << "sweep '" << grid.name << "': " << total << " runs, " << done << " already done, "
                << (elsewhere > 0 ? std::to_string(elsewhere) + " being trained by another sweep process, " : "")
                << total - done - elsewhere << " to train; results in " << options.db << "\n";
    return run_on_slurm(*store, sweep_id, grid, options.slurm, options.schedule);
  }
  // Here run_sweep says the one line before training (with how the runs
  // share the machine, known only once it has planned them).
  const SweepOutcome outcome = run_sweep(*store, sweep_id, grid, options.schedule);
  if (!options.schedule.quiet) print_best_runs(std::cout, *store, sweep_id, grid);
  return outcome.exit_code();
}

}  // namespace

Command run_command(CLI::App& parent) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* app = parent.add_subcommand("run", "Train every run of a grid that is not done yet, into a results database");
  app->footer(
      "Expand the grid, record the sweep and its runs in the results database, and train every run that is\n"
      "not done yet, several at a time, longest first. Each epoch is committed as it ends, so the database\n"
      "can be queried while the sweep runs.\n"
      "Resuming: running the same grid against the same database again skips the runs that are done\n"
      "(a run is identified by the hash of its full configuration), reruns failed, interrupted and\n"
      "pending ones, and adds the runs of new grid cells (e.g. a value added to an axis).\n"
      "Ctrl-C stops cleanly: running runs are marked interrupted and the next `sweep run` redoes them.\n"
      "Two `sweep run` processes of one grid on one database split its runs: each claims a run as it starts it\n"
      "and skips the runs the other one trains.");
  app->add_option("grid", options->grid, "Grid file (YAML)")->required();
  app->add_option("--db", options->db,
                  "Results database (SQLite); created when missing. Default: results.db in the current directory")
      ->capture_default_str();
  app->add_option("--jobs,-j", options->schedule.jobs,
                  "How many runs train at the same time on the CPU (0 = automatic: from the cores and the "
                  "threads per run)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--threads-per-run", options->schedule.threads_per_run,
                  "CPU threads each run uses (0 = automatic: the cores divided among the runs)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--backend", options->schedule.backend,
                  "Where runs train: cpu (oneDNN), gpu (CUDA/cuDNN, when this build has it), ref (plain C++, "
                  "slow, for checking), auto (gpu when a GPU is usable, else cpu)")
      ->check(CLI::IsMember({"cpu", "gpu", "auto", "ref"}))
      ->capture_default_str();
  app->add_option("--gpu-runs-per-device", options->schedule.gpu_runs_per_device,
                  "Runs that share one GPU at the same time (0 = automatic)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_flag("--fail-fast", options->schedule.fail_fast,
                "Stop the sweep at the first failed or diverged run (the others are marked interrupted)");
  app->add_flag("--quiet,-q", options->schedule.quiet, "Print only the final summary");
  app->add_flag("--plain", options->plain,
                "Print one line per event instead of the live view (automatic when the output is not a terminal)");
  app->add_option("--executor", options->executor,
                  "local: train here; slurm: submit the runs not done as a Slurm job array (docs/slurm.md)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  add_checkpoint_options(*app, options->checkpoints, options->schedule.checkpoint_monitor);
  app->add_flag("--continue-pruned", options->continue_pruned,
                "Train the runs the grid's pruning rule stopped on to their last epoch, from their checkpoints, "
                "never pruning them again (docs/search.md)");
  add_slurm_run_options(*app, options->slurm);
  add_exit_codes(*app, "every run of the grid is done (with --executor slurm: the job array was submitted, or nothing was left to submit; with --wait, every run is done after the job)",
                 "some runs failed, diverged or were interrupted (Ctrl-C, SIGTERM), or runs are not done after a --wait job",
                 "bad input: the grid, an option, a --backend that cannot run here, --executor slurm without sbatch; nothing was trained or written");
  return {app, [options] { return run_run(*options); }};
}

}  // namespace sweep::cli
