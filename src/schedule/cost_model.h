// The scheduler's cost model: how long a run takes on a lane.
//
// A run is priced from its own network's measured step costs
// (schedule/step_costs.h: a few real training steps and predictions at its
// batch size, thread count, precision and the machine's concurrency):
//   setup + epochs x (training steps x step + validation images x predict)
//   + test images x predict.
// A network that could not be measured in the time budget (a random search
// over thousands of distinct networks) is priced by FLOPs: the per-process
// calibration below (seconds = steps x overhead + FLOPs / rate), scaled by
// the median ratio measured/FLOPs-priced of the timed networks of its family
// (network_family), or of the whole grid when none of its family was timed.
//
// Not foreseen: early stopping (a run that stops early takes less) and other
// load on the machine. The live ETA (schedule/eta.h) corrects both from the
// epochs that finish. bench/eta measures estimate against actual.
#pragma once
#include <cstdint>
#include <string>

#include <vector>

#include "config/run_config.h"
#include "data/dataset.h"
#include "schedule/step_costs.h"

namespace sweep {

// The family of a network: its layer kinds and activations in order, e.g.
// "conv2d:relu maxpool2d batchnorm flatten dense:softmax". Networks of one
// family differ in sizes only, so they are off the FLOPs model alike.
std::string network_family(const ModelSpec& model);

// What a run does, counted before it runs.
struct RunWork {
  int64_t fit_images = 0, val_images = 0, test_images = 0;
  int64_t train_steps = 0;  // optimizer steps over all epochs
  int64_t eval_steps = 0;   // forward-only batches (validation every epoch + test)
  double flops = 0;         // total: training passes + evaluation passes
  double step_flops = 0;    // one training step at the run's batch size
};
RunWork run_work(const RunConfig& config);

// A device's speed: seconds = steps x seconds_per_step + flops / flops_per_second.
struct Calibration {
  std::string backend;
  int threads = 1;
  int device = 0;
  double seconds_per_step = 0;
  double flops_per_second = 0;
  double measured_seconds = 0;  // how long the calibration itself took
};

// Measures (first call) or returns the cached calibration of a backend at a
// thread count on a device. Thread-safe. Uses synthetic data, so it needs no
// dataset on disk.
const Calibration& calibration(const std::string& backend, int threads = 1, int device = 0);

// Seconds of a run under the FLOPs calibration. `work_share` > 1 models a device
// shared by that many concurrent runs (their FLOPs compete, their per-batch
// latencies overlap).
double estimate_seconds(const RunWork& work, const Calibration& calibration, double work_share = 1.0);

// A run's expected seconds, split the way it runs, so that the live ETA can
// correct each part from the epochs that finish.
struct RunCost {
  double setup = 0;       // session creation and first step
  double epoch = 0;       // one epoch: training steps + validation
  double final_eval = 0;  // the test split
  int epochs = 0;
  bool measured = false;  // from the run's own measured step costs (else the FLOPs model)
  double total() const { return setup + epoch * epochs + final_eval; }
};

// From measured step costs.
RunCost run_cost(const RunWork& work, int epochs, const StepCost& step);
// From the FLOPs calibration, times `scale` (measured/modelled of measured networks).
RunCost modelled_run_cost(const RunWork& work, int epochs, const Calibration& calibration, double work_share,
                          double scale);

// A lane as the scheduler runs it.
struct LaneSpec {
  std::string backend;
  int device = 0;
  int threads = 1;
  bool gpu = false;
  double work_share = 1;  // concurrent runs sharing the device's FLOPs (GPU lanes)
};

// Every run's cost on every lane ([run][lane]), measuring what is not cached
// (in the process, or in `store` when not null) within `budget_seconds`.
struct CostTable {
  std::vector<std::vector<RunCost>> costs;
  StepCostReport steps;
  int modelled_runs = 0;  // runs whose network was not measured, priced by FLOPs
  int family_priced = 0;  // of those, scaled by timed networks of their own family
};
CostTable estimate_costs(const std::vector<const RunConfig*>& runs, const std::vector<LaneSpec>& lanes, Store* store,
                         double budget_seconds = 30);

// One line for the log: what was measured, reused, and how the rest was priced.
std::string cost_note(const CostTable& table);

// Seconds until the last of `costs` ends when they run longest first, each on
// the lane that frees first (the scheduler's list schedule on identical lanes),
// with lane i busy for `busy[i]` seconds first.
double list_schedule_makespan(std::vector<double> costs, std::vector<double> busy);

// dataset_counts() (the images a spec selects) is in data/dataset.h.

}  // namespace sweep
