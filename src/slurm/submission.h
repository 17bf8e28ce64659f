// Running a sweep as a Slurm job array: what one submission is made of.
//
// `sweep run GRID --executor slurm` writes two files beside the results
// database, in <db>.d/slurm/:
//   <sweep>-<stamp>.manifest.json  the sweep record, the canonical config of
//                                  every run to train, and which runs each
//                                  array task trains ("tasks": [[hash...]...])
//   <sweep>-<stamp>.sbatch         the job-array script; task N runs
//                                  `sweep worker --task-manifest M --task-id N`
// Each task writes its own SQLite shard, <db>.d/shards/<sweep>-<job>-<task>.db
// (one SQLite file written from many machines over NFS is unsafe), and
// `sweep collect` merges the shards into the database.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "grid/grid.h"
#include "store/store.h"
#include "train/checkpoint.h"

namespace sweep::slurm {

// The sbatch options of `sweep run --executor slurm` (empty/0 = Slurm's default).
struct SlurmOptions {
  std::string partition;
  std::string time;               // --time (e.g. 30, 1:00:00, 1-0)
  int cpus_per_task = 0;
  int gpus_per_task = 0;
  int array_parallelism = 0;      // at most this many tasks at once (%K)
  int runs_per_task = 1;          // runs trained by one array task (sequentially or concurrently)
  std::vector<std::string> sbatch_args;  // extra #SBATCH lines, verbatim (e.g. --account=abc)
};

// What the worker passes on to the local scheduler in each task.
struct WorkerOptions {
  std::string backend = "auto";
  int jobs = 0;
  int threads_per_run = 0;
  CheckpointKeep checkpoints = CheckpointKeep::last;
  std::string checkpoint_monitor = "val_loss";
};

// The files of one submission.
struct SubmissionPaths {
  std::filesystem::path results_dir;  // <db>.d
  std::filesystem::path script;       // <db>.d/slurm/<sweep>-<stamp>.sbatch
  std::filesystem::path manifest;     // <db>.d/slurm/<sweep>-<stamp>.manifest.json
  std::filesystem::path log_dir;      // <db>.d/slurm/logs
  std::filesystem::path shard_dir;    // <db>.d/shards
};

// A sweep name made safe for a file name: [A-Za-z0-9._-], anything else '_'.
std::string file_safe(const std::string& name);
SubmissionPaths submission_paths(const std::string& db_path, const std::string& sweep_name, const std::string& stamp);
// <db>.d/shards/<sweep>-<job>-<task>.db
std::filesystem::path shard_path(const std::string& db_path, const std::string& sweep_name, const std::string& job_id,
                                 int task_id);

// Split run hashes into array tasks of runs_per_task each (the last may be shorter).
std::vector<std::vector<std::string>> split_into_tasks(const std::vector<std::string>& hashes, int runs_per_task);

// The manifest: the sweep record plus, for each run to train, its canonical
// config, varied values, variant and repeat (so a task never needs to read
// the main database), and each task's run hashes.
json make_manifest(const ExpandedGrid& grid, const std::vector<const ExpandedRun*>& runs,
                   const std::vector<std::vector<std::string>>& tasks, const std::string& db_path);

// The sbatch script text. `sweep_binary` and every path in it are absolute;
// `data_dir` (SWEEP_DATA_DIR) is exported when not empty.
std::string make_sbatch_script(const std::string& sweep_name, int task_count, const SlurmOptions& slurm,
                               const WorkerOptions& worker, const SubmissionPaths& paths, const std::string& db_path,
                               const std::string& sweep_binary, const std::string& data_dir);

// One task's share of a manifest as a grid the local scheduler can run: the
// sweep's name/description/varied and the task's runs (configs parsed and
// validated; a config whose hash differs from its manifest hash is an error).
// InputError naming the manifest for a bad file or task id.
ExpandedGrid task_grid(const json& manifest, int task_id, const std::string& manifest_path);

// Read a manifest file (InputError naming it when missing or not JSON).
json read_manifest(const std::string& path);

// Input checks of the options (InputError naming the option).
void validate(const SlurmOptions& slurm);

}  // namespace sweep::slurm
