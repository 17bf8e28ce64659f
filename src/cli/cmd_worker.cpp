// sweep worker --db DB --task-manifest FILE --task-id N: what one Slurm array
// task runs (the generated sbatch script calls it; internal, hidden from --help).
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "slurm/executor.h"

namespace sweep::cli {
namespace {

struct WorkerCommandOptions {
  std::string db, manifest, job_id;
  int task_id = -1;
  ScheduleOptions schedule;
  std::string checkpoints = "last";
};

std::string slurm_job_id() {
  for (const char* name : {"SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID"})
    if (const char* value = std::getenv(name); value && *value) return value;
  return "local";
}

}  // namespace

Command worker_command(CLI::App& parent) {
  auto options = std::make_shared<WorkerCommandOptions>();
  CLI::App* app = parent.add_subcommand("worker", "Train one Slurm array task's runs into its shard (internal)");
  app->group("");  // internal: the sbatch script of `sweep run --executor slurm` runs it
  app->footer(
      "Run by each task of the job array that `sweep run GRID --executor slurm` submits: reads the runs listed\n"
      "for --task-id in the manifest (their full configs are in it; the database is not read), trains them with\n"
      "the local scheduler and writes them to the task's own SQLite shard <db>.d/shards/<sweep>-<job>-<task>.db.\n"
      "`sweep collect DB` merges the shards. SIGTERM (Slurm's time limit, scancel, preemption) ends the runs in\n"
      "flight as interrupted; the next submission of the grid reruns them.");
  app->add_option("--db", options->db, "The results database the shards belong beside")->required();
  app->add_option("--task-manifest", options->manifest, "The submission's manifest (JSON)")->required();
  app->add_option("--task-id", options->task_id, "The array task (SLURM_ARRAY_TASK_ID)")
      ->required()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--job-id", options->job_id, "Job id in the shard's name (default: SLURM_ARRAY_JOB_ID)");
  app->add_option("--backend", options->schedule.backend, "cpu, gpu, ref or auto")
      ->check(CLI::IsMember({"cpu", "gpu", "auto", "ref"}));
  app->add_option("--jobs,-j", options->schedule.jobs, "Concurrent runs in this task (0 = automatic)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--threads-per-run", options->schedule.threads_per_run, "CPU threads per run (0 = automatic)")
      ->check(CLI::NonNegativeNumber);
  add_checkpoint_options(*app, options->checkpoints, options->schedule.checkpoint_monitor);
  add_exit_codes(*app, "every run of the task is done",
                 "some runs of the task failed, diverged or were interrupted (SIGTERM)",
                 "bad input: the manifest, the task id or an option");
  return {app, [options] {
            WorkerCommandOptions o = *options;
            o.schedule.checkpoint_keep = checkpoint_keep_from(o.checkpoints);
            if (o.job_id.empty()) o.job_id = slurm_job_id();
            o.schedule.view = ScheduleOptions::View::plain;  // a log file, never a terminal
            return slurm::work(o.db, o.manifest, o.task_id, o.job_id, o.schedule).exit_code();
          }};
}

}  // namespace sweep::cli
