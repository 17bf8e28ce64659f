// Asking Slurm about a submitted array: submit with sbatch, follow it with
// squeue (and sacct where accounting works), cancel with scancel.
#pragma once
#include <functional>
#include <map>
#include <string>

namespace sweep::slurm {

// Submit a script with `sbatch --parsable`; returns the job id. sbatch's
// own message is an InputError (exit 2) when it refuses the script (a bad
// partition, time or option), since those are the user's to fix.
std::string sbatch(const std::string& script_path);
// InputError unless sbatch is installed here (checked before a database is
// written, so `--executor slurm` off a Slurm node leaves nothing behind).
void require_sbatch();

// How an array's tasks stand. squeue knows the tasks still queued; sacct (when
// the cluster keeps accounting) also knows the finished ones.
struct ArrayCounts {
  bool queue_known = false;  // squeue answered
  bool sacct_known = false;  // sacct answered with this job's tasks
  int pending = 0, running = 0;    // from squeue
  int completed = 0, failed = 0;   // from sacct: COMPLETED; FAILED/CANCELLED/TIMEOUT/OUT_OF_MEMORY/NODE_FAIL/PREEMPTED
  std::map<std::string, int> pending_reasons;  // squeue's reason (%r) -> pending tasks
  int in_queue() const { return pending + running; }
};
ArrayCounts array_counts(const std::string& job_id);

// True while squeue lists any task of the job.
bool in_queue(const std::string& job_id);

// The reasons for which a pending task waits on a person, not on the cluster:
// held (scontrol release), or a request the partition, account or QOS can
// never grant. Empty when some task runs or waits for something that comes.
std::string stuck_reason(const ArrayCounts& counts);

// Poll squeue every `poll_seconds` until the job has left the queue; calls
// `progress` after each poll that changed the counts. Gives up with an
// InputError (naming the job, the reason and what to do) when every task
// of the array has been stuck (stuck_reason) for two polls in a row, rather
// than wait forever; the job stays queued.
void wait_until_gone(const std::string& job_id, double poll_seconds,
                     const std::function<void(const ArrayCounts&)>& progress);

}  // namespace sweep::slurm
