// `sweep run --executor slurm`: the options it adds to `sweep run` and what it
// does once the grid is expanded and upserted (src/cli/cmd_run_slurm.cpp).
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "grid/grid.h"
#include "schedule/scheduler.h"
#include "slurm/submission.h"
#include "store/store.h"

namespace sweep::cli {

struct SlurmRunOptions {
  slurm::SlurmOptions sbatch;
  bool wait = false;
  double poll_seconds = 2.0;
};

// Registers --partition, --time, --cpus-per-task, --gpus-per-task,
// --array-parallelism, --runs-per-task, --sbatch-arg and --wait on `run`.
void add_slurm_run_options(CLI::App& run, SlurmRunOptions& options);

// Collect earlier shards, submit the grid's runs that are not done as one job
// array, print how to follow it, and with --wait follow it to the end and
// collect. Returns the exit code (with --wait: 0 when every run is done).
int run_on_slurm(Store& store, int64_t sweep_id, const ExpandedGrid& grid, const SlurmRunOptions& options,
                 const ScheduleOptions& schedule);

}  // namespace sweep::cli
