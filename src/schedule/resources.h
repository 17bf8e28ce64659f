// The resource model: how many runs go side by side and with how many threads.
//
// CPU cores are split into lanes x threads-per-run. For throughput, several
// single-threaded runs side by side beat one run with all the cores: the
// small networks of a sweep scale poorly inside one run (per-batch overheads,
// small GEMMs, OpenMP barriers) but well across independent runs. Measured by
// bench/schedule on the shared 2-core build machine (load average ~14): two
// runs side by side with 1 thread each finished 17x (conv8, batch 32), 46x
// (conv8, batch 128) and 19x (conv32-conv64, batch 64) sooner than the same
// two one after the other with 2 threads each; a loaded machine makes OpenMP
// teams stall whenever one of their threads is descheduled. So the automatic
// choice is one thread per run while runs outnumber cores; with fewer runs
// than cores the spare cores are shared out only when the calibration at
// that thread count measures it faster for those runs (run_sweep checks).
// --jobs and --threads-per-run override it.
//
// GPUs: each device takes N runs at once (small networks leave a GPU mostly
// idle, so overlapping runs raises its utilisation). With --backend auto the
// CPU keeps lanes too, less one core per GPU that feeds it.
#pragma once
#include <string>

#include "schedule/scheduler.h"

namespace sweep {

struct ResourcePlan {
  std::string cpu_backend;      // "cpu" or "ref"; empty: no CPU lanes
  int cpu_lanes = 0;
  int threads_per_run = 1;
  std::string gpu_backend;      // "gpu"; empty: no GPU lanes
  int gpu_devices = 0;
  int gpu_runs_per_device = 0;
  int lanes() const { return cpu_lanes + gpu_devices * gpu_runs_per_device; }
};

// Concurrent runs per GPU when not given.
inline constexpr int kDefaultGpuRunsPerDevice = 2;

// `backend` is the resolved choice: "cpu", "ref", "gpu" or "auto" (auto with
// gpu_devices > 0 means GPU and CPU together; without, the CPU alone).
// Never more lanes than runs to do. InputError for negative options.
ResourcePlan plan_resources(const ScheduleOptions& options, int cores, int pending_runs, int gpu_devices);

// The cores this process may use (its CPU affinity mask, which Slurm and
// taskset restrict), at least 1.
int available_cores();

}  // namespace sweep
