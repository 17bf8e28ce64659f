// sweep run GRID --executor slurm: one job array per submission (see docs/slurm.md).
#include <iostream>
#include <map>
#include <set>

#include "cli/slurm_run.h"
#include "common/error.h"
#include "slurm/collect.h"
#include "slurm/executor.h"
#include "slurm/queue.h"
#include "store/owner.h"

namespace sweep::cli {

void add_slurm_run_options(CLI::App& run, SlurmRunOptions& options) {
  const char* group = "Slurm (with --executor slurm)";
  slurm::SlurmOptions& sbatch = options.sbatch;
  run.add_option("--partition", sbatch.partition, "Slurm partition of the job array (sbatch --partition)")
      ->group(group);
  run.add_option("--time", sbatch.time, "Time limit of each array task (sbatch --time, e.g. 30, 2:00:00, 1-0)")
      ->group(group);
  run.add_option("--cpus-per-task", sbatch.cpus_per_task, "CPUs of each array task (sbatch --cpus-per-task)")
      ->check(CLI::PositiveNumber)
      ->group(group);
  run.add_option("--gpus-per-task", sbatch.gpus_per_task, "GPUs of each array task (sbatch --gpus-per-task)")
      ->check(CLI::NonNegativeNumber)
      ->group(group);
  run.add_option("--array-parallelism", sbatch.array_parallelism,
                 "At most this many array tasks run at once (sbatch --array=0-N%K)")
      ->check(CLI::PositiveNumber)
      ->group(group);
  run.add_option("--runs-per-task", sbatch.runs_per_task,
                 "Runs each array task trains (one task per run by default); they share the task's CPUs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(group);
  run.add_option("--sbatch-arg", sbatch.sbatch_args,
                 "An extra sbatch option for the script, e.g. --sbatch-arg=--account=abc (repeatable)")
      ->allow_extra_args(false)
      ->group(group);
  run.add_flag("--wait", options.wait,
               "Follow the job array until it leaves the queue, then collect its results into the database")
      ->group(group);
}

namespace {

void print_collect(const slurm::CollectSummary& summary) {
  for (const std::string& note : summary.notes) std::cout << "sweep: collect: " << note << "\n";
  if (summary.done_copied + summary.updated > 0)
    std::cout << "sweep: collected " << summary.shards << " shards: " << summary.done_copied
              << " runs done, " << summary.updated << " updated\n";
}

// The grid's runs that are not done, split into those a live `sweep run`
// process is training (store/owner.h; they are not sent to Slurm too) and
// the rest.
struct NotDone {
  std::vector<const ExpandedRun*> to_train;
  size_t elsewhere = 0;
  std::set<std::string> owners;  // who trains them, for the message
};

NotDone runs_not_done(Store& store, int64_t sweep_id, const ExpandedGrid& grid) {
  std::map<std::string, RunRow> rows;
  for (const RunRow& row : store.runs_of(sweep_id)) rows[row.hash] = row;
  NotDone result;
  for (const ExpandedRun& run : grid.runs) {
    const auto row = rows.find(run.config.hash);
    if (row != rows.end() && row->second.status == RunStatus::done) continue;
    if (row != rows.end() && row->second.status == RunStatus::running && !owner_is_stale(row->second.owner)) {
      ++result.elsewhere;
      result.owners.insert(owner_description(row->second.owner));
      continue;
    }
    result.to_train.push_back(&run);
  }
  return result;
}

void print_elsewhere(const NotDone& runs) {
  if (runs.elsewhere == 0) return;
  std::string who;
  for (const std::string& owner : runs.owners) who += (who.empty() ? "" : ", ") + owner;
  std::cout << "sweep: " << runs.elsewhere << (runs.elsewhere == 1 ? " run" : " runs")
            << " left out: being trained by another sweep process (" << who << ")\n";
}

}  // namespace

int run_on_slurm(Store& store, int64_t sweep_id, const ExpandedGrid& grid, const SlurmRunOptions& options,
                 const ScheduleOptions& schedule) {
  // Tasks of an earlier submission may have finished runs: merge them first,
  // so a resubmission only sends what is still not done.
  print_collect(slurm::collect_shards(store));
  const NotDone not_done = runs_not_done(store, sweep_id, grid);
  const auto& to_train = not_done.to_train;
  const std::string& db = store.path();
  print_elsewhere(not_done);
  if (to_train.empty()) {
    std::cout << "sweep '" << grid.name << "': " << (not_done.elsewhere ? "no run is left to submit" : "every run is done")
              << " in " << db << "; nothing to submit\n";
    return kExitOk;
  }
  const slurm::WorkerOptions worker{schedule.backend, schedule.jobs, schedule.threads_per_run,
                                    schedule.checkpoint_keep, schedule.checkpoint_monitor};
  const slurm::Submitted job = slurm::submit(store, sweep_id, grid, to_train, options.sbatch, worker, db);
  std::cout << "sweep '" << grid.name << "': submitted Slurm job " << job.job_id << ": " << job.tasks
            << (job.tasks == 1 ? " array task" : " array tasks") << " for " << job.runs
            << (job.runs == 1 ? " run" : " runs") << "\n"
            << "  script: " << job.paths.script.string() << "\n"
            << "  logs:   " << job.paths.log_dir.string() << "\n"
            << "  follow: sweep status " << db << "   (or squeue -j " << job.job_id << ")\n"
            << "  merge:  sweep collect " << db << "   (any time; again when the array is done)\n"
            << std::flush;
  if (!options.wait) return kExitOk;

  slurm::wait_until_gone(job.job_id, options.poll_seconds, [&](const slurm::ArrayCounts& counts) {
    std::string reasons;
    for (const auto& [reason, tasks] : counts.pending_reasons)
      if (!reason.empty() && reason != "None") reasons += (reasons.empty() ? "" : ", ") + reason;
    std::cout << "slurm job " << job.job_id << ": " << counts.pending << " pending"
              << (reasons.empty() ? "" : " (" + reasons + ")") << ", " << counts.running << " running\n"
              << std::flush;
  });
  const slurm::CollectSummary summary = slurm::collect_shards(store);
  for (const std::string& note : summary.notes) std::cout << "sweep: collect: " << note << "\n";
  const NotDone left = runs_not_done(store, sweep_id, grid);
  const size_t total = grid.runs.size();
  std::cout << "sweep '" << grid.name << "': slurm job " << job.job_id << " left the queue; "
            << total - left.to_train.size() - left.elsewhere << " of " << total << " runs done in " << db << "\n";
  print_elsewhere(left);
  if (left.to_train.empty()) return kExitOk;  // what is left, another live process is training
  std::cout << "  " << left.to_train.size() << (left.to_train.size() == 1 ? " run is" : " runs are")
            << " not done (see sweep status " << db << "); run the same command again to resubmit them\n";
  return kExitRunsFailed;
}

}  // namespace sweep::cli
