// Runs an expanded sweep: TBB tasks over a resource model (CPU cores split
// into runs x threads-per-run, GPU devices with N concurrent runs each),
// longest-first by the cost model, a live view, failure isolation and clean
// interrupts. Every state change goes to the Store as it happens.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "grid/grid.h"
#include "store/store.h"
#include "train/checkpoint.h"

namespace sweep {

struct ScheduleOptions {
  std::string backend = "auto";  // cpu | gpu | auto | ref
  int jobs = 0;                  // concurrent runs on the CPU; 0 = automatic
  int threads_per_run = 0;       // 0 = automatic
  int gpu_runs_per_device = 0;   // 0 = automatic
  bool fail_fast = false;
  bool quiet = false;            // only the final summary
  enum class View { automatic, live, plain } view = View::automatic;
  // Checkpoints (docs/checkpoints.md): run <hash> checkpoints into
  // <checkpoint_dir>/<hash>/ after every epoch and, interrupted, continues from
  // there. Empty, or keep none: no checkpoints, an interrupted run starts over.
  std::string checkpoint_dir;
  CheckpointKeep checkpoint_keep = CheckpointKeep::last;
  std::string checkpoint_monitor = "val_loss";  // for keep best
  std::string results_path;  // the database, named in the header line ("results in ...")
  // Seconds the cost model may spend timing networks it has no measurement
  // of. Negative: time none, price them by FLOPs alone, as a TPE round of a
  // few new networks does (its runs fill the lanes whatever their order;
  // timing would cost more than it saves).
  double cost_measure_seconds = 30;
};

struct SweepOutcome {
  int total = 0, skipped = 0;  // skipped = already done before this invocation
  int done = 0, failed = 0, diverged = 0, interrupted = 0;
  // Runs the grid's pruning rule stopped early: here, and before this
  // invocation. Pruned is finished, not failed: it does not fail the exit code.
  int pruned = 0, pruned_before = 0;
  // Runs another live sweep process had claimed (Store::start_run): left to
  // it, not trained here. `elsewhere_by` names those processes ("pid 12").
  int elsewhere = 0;
  std::vector<std::string> elsewhere_by;
  double wall_seconds = 0;
  bool interrupted_by_signal = false;
  // 0: every run is done or left to another process, and none failed,
  // diverged or was interrupted here; else 1.
  int exit_code() const;
};

// Train every run of `sweep_id` that is not done yet. Runs `grid.runs` must
// already be in the store (Store::upsert_sweep).
SweepOutcome run_sweep(Store& store, int64_t sweep_id, const ExpandedGrid& grid, const ScheduleOptions& options);

// The checks run_sweep makes before anything runs, for callers that want them
// before touching the database: InputError for an unknown backend, for
// --backend gpu in a build without the GPU backend or on a machine without a
// usable GPU, and for negative counts.
void check_schedule_options(const ScheduleOptions& options);

// What `sweep run` with `options` would do with `runs` on this machine (`sweep
// plan`): its lanes and each run's expected seconds on its fastest lane, from
// measured step costs (schedule/step_costs.h; cached in `store` when not null),
// and the ETA of the whole sweep: the list schedule of those over the lanes.
struct SweepForecast {
  std::vector<double> run_seconds;
  double eta_seconds = 0;
  int lanes = 0;
  std::string where;         // "2 x 1 thread(s) on cpu"
  std::string threads_note;  // why a run gets more than one thread, or not
  std::string cost_note;     // what was measured (cost_note())
};
SweepForecast forecast_sweep(const std::vector<const RunConfig*>& runs, const ScheduleOptions& options, Store* store);

// The FLOPs model alone (no measurement): estimated seconds of one run on
// `threads` CPU threads from FLOPs per image x images x epochs and a
// calibration measured once per process. What a sweep records when planned;
// run_sweep replaces it by the measured estimate when the run is scheduled.
double estimate_run_seconds(const RunConfig& config, int threads = 1);

}  // namespace sweep
