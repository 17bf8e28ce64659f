// The scheduler's cost model: how long a run takes, from its work (FLOPs per
// image x images x epochs, plus a fixed cost per batch) and a calibration of
// the device measured once per process.
//
// Accuracy, honestly: the calibration measures two small networks for a
// fraction of a second, so it captures the machine's speed and the per-batch
// overhead, not how efficiently a particular large convolution runs. On the
// nets of the lab write-ups estimates land within about 2x of the truth;
// larger networks tend to be overestimated (big convolutions run faster per
// FLOP than the calibration net). Early stopping is not foreseen: a run that
// stops early takes less than its estimate. The ordering (longest first) is
// what the schedule needs and is much more reliable than the absolute values;
// the ETA corrects itself with the ratio actual/estimated of finished runs.
#pragma once
#include <cstdint>
#include <string>

#include "config/run_config.h"
#include "data/dataset.h"

namespace sweep {

// What a run does, counted before it runs.
struct RunWork {
  int64_t fit_images = 0, val_images = 0, test_images = 0;
  int64_t train_steps = 0;  // optimizer steps over all epochs
  int64_t eval_steps = 0;   // forward-only batches (validation every epoch + test)
  double flops = 0;         // total: training passes + evaluation passes
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

// Seconds of a run under a calibration. `work_share` > 1 models a device
// shared by that many concurrent runs (their FLOPs compete, their per-batch
// latencies overlap).
double estimate_seconds(const RunWork& work, const Calibration& calibration, double work_share = 1.0);

// dataset_counts() (the images a spec selects) is in data/dataset.h.

}  // namespace sweep
