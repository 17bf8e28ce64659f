#include "schedule/resources.h"

#include <sched.h>

#include <algorithm>
#include <thread>

#include "common/error.h"

namespace sweep {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ResourcePlan plan_resources(const ScheduleOptions& options, int cores, int pending_runs, int gpu_devices) {
  if (options.jobs < 0) throw InputError("--jobs must be 0 (automatic) or more", {}, "jobs");
  if (options.threads_per_run < 0)
    throw InputError("--threads-per-run must be 0 (automatic) or more", {}, "threads_per_run");
  if (options.gpu_runs_per_device < 0)
    throw InputError("--gpu-runs-per-device must be 0 (automatic) or more", {}, "gpu_runs_per_device");
  cores = std::max(1, cores);
  pending_runs = std::max(0, pending_runs);
  ResourcePlan plan;

  const bool use_gpu = gpu_devices > 0 && (options.backend == "gpu" || options.backend == "auto");
  if (use_gpu) {
    plan.gpu_backend = "gpu";
    plan.gpu_devices = gpu_devices;
    plan.gpu_runs_per_device =
        options.gpu_runs_per_device > 0 ? options.gpu_runs_per_device : kDefaultGpuRunsPerDevice;
  }
  const bool use_cpu = options.backend != "gpu";
  if (!use_cpu) return plan;

  plan.cpu_backend = options.backend == "ref" ? "ref" : "cpu";
  // A host thread feeds each GPU; leave it its core.
  const int cpu_cores = use_gpu ? std::max(1, cores - gpu_devices) : cores;
  if (options.jobs > 0 && options.threads_per_run > 0) {
    plan.cpu_lanes = options.jobs;
    plan.threads_per_run = options.threads_per_run;
  } else if (options.jobs > 0) {
    plan.cpu_lanes = options.jobs;
    plan.threads_per_run = std::max(1, cpu_cores / options.jobs);
  } else if (options.threads_per_run > 0) {
    plan.threads_per_run = options.threads_per_run;
    plan.cpu_lanes = std::max(1, cpu_cores / options.threads_per_run);
  } else {
    // Automatic: one thread per run while runs outnumber cores; fewer runs
    // than cores share the spare cores out.
    const int runs_for_cpu = std::max(1, use_gpu ? pending_runs - plan.gpu_devices * plan.gpu_runs_per_device
                                                 : pending_runs);
    plan.cpu_lanes = std::min(cpu_cores, runs_for_cpu);
    plan.threads_per_run = std::max(1, cpu_cores / plan.cpu_lanes);
  }
  // Never more lanes than runs: an empty lane would only hold a thread.
  plan.cpu_lanes = std::min(plan.cpu_lanes, std::max(1, pending_runs));
  return plan;
}

}  // namespace sweep
