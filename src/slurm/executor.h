// The Slurm executor's three steps, as the CLI calls them:
// submit (sweep run --executor slurm), work (sweep worker, in each array task)
// and the submissions kept in the database (sweep status).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "schedule/scheduler.h"
#include "slurm/submission.h"
#include "store/store.h"

namespace sweep::slurm {

struct Submitted {
  std::string job_id;
  SubmissionPaths paths;
  int tasks = 0, runs = 0;
};

// Write the manifest and sbatch script of `to_train` (runs of `grid`, already
// upserted into `store` as sweep `sweep_id`), submit them as one job array,
// and record the job in the database (slurm_submissions, sweeps.slurm_job_id).
// When sbatch refuses, the two files are removed and its message is an InputError.
Submitted submit(Store& store, int64_t sweep_id, const ExpandedGrid& grid,
                 const std::vector<const ExpandedRun*>& to_train, const SlurmOptions& slurm,
                 const WorkerOptions& worker, const std::string& db_path);

// What `sweep worker` does in array task `task_id`: train the task's runs of
// the manifest with the local scheduler into the task's own shard
// (<db>.d/shards/<sweep>-<job>-<task>.db). `job_id` is SLURM_ARRAY_JOB_ID
// (or "local" outside Slurm). SIGTERM ends runs in flight as interrupted.
SweepOutcome work(const std::string& db_path, const std::string& manifest_path, int task_id,
                  const std::string& job_id, const ScheduleOptions& options);

// A row of slurm_submissions.
struct SubmissionRecord {
  std::string job_id, submitted, script, manifest, collected;
  int tasks = 0, runs = 0, runs_per_task = 1;
};
// The sweep's submissions, oldest first.
std::vector<SubmissionRecord> submissions_of(Store& store, int64_t sweep_id);

}  // namespace sweep::slurm
