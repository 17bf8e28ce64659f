#include "slurm/queue.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "slurm/process.h"

namespace sweep::slurm {

namespace {

std::string program(const std::string& name) {
  const auto path = find_program(name);
  if (!path) throw InputError(name + " is not installed here (not on PATH, /usr/bin or /usr/sbin): is this a Slurm login node?");
  return *path;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  size_t start = 0;
  while (start < text.size() && (text[start] == '\n' || text[start] == ' ')) ++start;
  return text.substr(start);
}

}  // namespace

void require_sbatch() { (void)program("sbatch"); }

std::string sbatch(const std::string& script_path) {
  const CommandResult result = run_command({program("sbatch"), "--parsable", script_path});
  if (result.exit_code != 0) {
    const std::string why = trimmed(result.err.empty() ? result.out : result.err);
    throw InputError("sbatch refused the job (" + script_path + "): " + (why.empty() ? "no message" : why));
  }
  // --parsable prints "jobid" or "jobid;cluster".
  std::string id = trimmed(result.out);
  id = id.substr(0, id.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw RuntimeError("sbatch printed no job id: '" + trimmed(result.out) + "'");
  return id;
}

ArrayCounts array_counts(const std::string& job_id) {
  ArrayCounts counts;
  if (const auto squeue = find_program("squeue")) {
    // -r: one line per array task, also for the pending ones.
    const CommandResult result = run_command({*squeue, "-h", "-r", "-j", job_id, "-o", "%T|%r"});
    // A job that left the queue long ago is unknown to squeue: it exits 1 with
    // "Invalid job id specified", which also means "nothing queued".
    if (result.exit_code == 0 || result.err.find("Invalid job id") != std::string::npos) {
      counts.queue_known = true;
      std::istringstream lines(result.exit_code == 0 ? result.out : "");
      for (std::string line; std::getline(lines, line);) {
        line = trimmed(line);
        const size_t bar = line.find('|');
        const std::string state = line.substr(0, bar);
        const std::string reason = bar == std::string::npos ? "" : trimmed(line.substr(bar + 1));
        if (state == "PENDING" || state == "REQUEUED" || state == "SUSPENDED") {
          ++counts.pending;
          ++counts.pending_reasons[reason];
        } else if (!state.empty()) {
          ++counts.running;  // RUNNING, CONFIGURING, COMPLETING...
        }
      }
    }
  }
  if (const auto sacct = find_program("sacct")) {
    const CommandResult result = run_command({*sacct, "-n", "-X", "-P", "-j", job_id, "--format=JobID,State"});
    if (result.exit_code == 0) {
      std::istringstream lines(result.out);
      for (std::string line; std::getline(lines, line);) {
        const size_t bar = line.find('|');
        if (bar == std::string::npos) continue;
        const std::string task = line.substr(0, bar), state = trimmed(line.substr(bar + 1));
        // Only single finished tasks ("123_4"); "123_[5-9]" lines are pending ones squeue counts.
        if (task.rfind(job_id + "_", 0) != 0 || task.find('[') != std::string::npos) continue;
        counts.sacct_known = true;
        if (state == "COMPLETED") ++counts.completed;
        else if (state.rfind("FAILED", 0) == 0 || state.rfind("CANCELLED", 0) == 0 || state == "TIMEOUT" ||
                 state == "OUT_OF_MEMORY" || state == "NODE_FAIL" || state == "PREEMPTED" || state == "BOOT_FAIL" ||
                 state == "DEADLINE")
          ++counts.failed;
      }
    }
  }
  return counts;
}

bool in_queue(const std::string& job_id) {
  const CommandResult result = run_command({program("squeue"), "-h", "-r", "-j", job_id, "-o", "%i"});
  if (result.exit_code != 0) {
    if (result.err.find("Invalid job id") != std::string::npos) return false;
    throw RuntimeError("squeue failed: " + trimmed(result.err));
  }
  return !trimmed(result.out).empty();
}

std::string stuck_reason(const ArrayCounts& counts) {
  // Slurm's pending reasons (squeue(1), "JOB REASON CODES") that no amount of
  // waiting resolves.
  static const char* const kStuck[] = {
      "JobHeldUser",      "JobHeldAdmin",       "DependencyNeverSatisfied", "BadConstraints",
      "PartitionConfig",  "PartitionNodeLimit", "PartitionTimeLimit",       "InvalidAccount",
      "InvalidQOS",       "AccountNotAllowed",  "QOSMaxWallDurationPerJobLimit",
      "QOSMaxCpuPerJobLimit", "QOSMaxNodePerJobLimit"};
  if (counts.running > 0 || counts.pending == 0) return "";
  std::string reasons;
  for (const auto& [reason, tasks] : counts.pending_reasons) {
    if (std::find(std::begin(kStuck), std::end(kStuck), reason) == std::end(kStuck)) return "";
    reasons += (reasons.empty() ? "" : ", ") + reason;
  }
  return reasons;
}

void wait_until_gone(const std::string& job_id, double poll_seconds,
                     const std::function<void(const ArrayCounts&)>& progress) {
  int last_pending = -1, last_running = -1;
  std::string stuck_before;
  while (true) {
    const ArrayCounts counts = array_counts(job_id);
    if (!counts.queue_known) throw RuntimeError("squeue does not answer about job " + job_id);
    if (counts.pending != last_pending || counts.running != last_running) {
      progress(counts);
      last_pending = counts.pending;
      last_running = counts.running;
    }
    if (counts.in_queue() == 0) return;
    const std::string stuck = stuck_reason(counts);
    if (!stuck.empty() && stuck == stuck_before) {
      const bool held = stuck.find("JobHeld") != std::string::npos;
      throw InputError("Slurm job " + job_id + " cannot start by itself: its tasks are pending with reason " + stuck +
                       (held ? " (release it with `scontrol release " + job_id + "`" : " (change the request") +
                       " or cancel it with `scancel " + job_id + "`); it stays queued, `sweep status` follows it "
                       "and `sweep collect` merges what it finishes");
    }
    stuck_before = stuck;
    std::this_thread::sleep_for(std::chrono::duration<double>(poll_seconds));
  }
}

}  // namespace sweep::slurm
