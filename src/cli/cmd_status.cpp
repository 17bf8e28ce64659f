// sweep status DB: each sweep's runs by status and, for sweeps submitted to
// Slurm, how the latest job array stands (squeue; sacct where it works).
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "slurm/executor.h"
#include "slurm/queue.h"
#include "store/store.h"

namespace sweep::cli {
namespace {

struct StatusOptions {
  std::string db;
  std::string sweep;  // empty = every sweep
};

constexpr const char* kStatuses[] = {"done", "running", "pending", "failed", "diverged", "interrupted"};

std::string run_counts(Store& store, int64_t sweep_id) {
  std::map<std::string, int> counts;
  int total = 0;
  int out = 0;  // runs that left the grid (in_grid = 0): not part of the sweep now
  for (const RunRow& row : store.runs_of(sweep_id)) {
    if (!row.in_grid) {
      ++out;
      continue;
    }
    ++counts[to_string(row.status)];
    ++total;
  }
  std::string line = std::to_string(total) + (total == 1 ? " run:" : " runs:");
  const char* separator = " ";
  for (const char* status : kStatuses) {
    line += separator + std::to_string(counts[status]) + " " + status;
    separator = ", ";
  }
  if (counts["pruned"] > 0) line += ", " + std::to_string(counts["pruned"]) + " pruned";  // only where a rule pruned
  if (out > 0) line += " (and " + std::to_string(out) + " no longer in the grid)";
  return line;
}

int count_shards(const std::string& db, const std::string& sweep_name) {
  int shards = 0;
  std::error_code error;
  const std::string prefix = slurm::file_safe(sweep_name) + "-";
  for (const auto& entry : std::filesystem::directory_iterator(results_dir(db) / "shards", error)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".db" && name.rfind(prefix, 0) == 0) ++shards;
  }
  return shards;
}

void print_slurm(Store& store, int64_t sweep_id, const std::string& db, const std::string& sweep_name) {
  const auto submissions = slurm::submissions_of(store, sweep_id);
  if (submissions.empty()) return;
  const slurm::SubmissionRecord& job = submissions.back();
  std::cout << "  slurm job " << job.job_id << " (" << job.tasks << " array tasks for " << job.runs
            << " runs, submitted " << job.submitted << "; " << submissions.size()
            << (submissions.size() == 1 ? " submission" : " submissions") << " in all)\n";
  const slurm::ArrayCounts counts = slurm::array_counts(job.job_id);
  if (!counts.queue_known) {
    std::cout << "  squeue is not available here: task states unknown\n";
  } else if (counts.sacct_known) {
    std::cout << "  tasks: " << counts.pending << " pending, " << counts.running << " running, " << counts.completed
              << " completed, " << counts.failed << " failed (squeue, sacct)\n";
  } else {
    std::cout << "  tasks: " << counts.pending << " pending, " << counts.running << " running, "
              << job.tasks - counts.in_queue() << " finished (squeue; no sacct accounting here)\n";
  }
  std::cout << "  shards: " << count_shards(db, sweep_name) << " in " << (results_dir(db) / "shards").string()
            << "; last collected " << (job.collected.empty() ? "never" : job.collected) << " (sweep collect " << db
            << " merges them)\n";
}

int run_status(const StatusOptions& options) {
  auto store = Store::open(options.db, Store::Mode::read_only);
  const Store::QueryResult sweeps = store->query("SELECT id, name FROM sweeps ORDER BY id");
  bool any = false;
  for (const auto& row : sweeps.rows) {
    const std::string name = row[1].value_or("");
    if (!options.sweep.empty() && name != options.sweep) continue;
    any = true;
    const int64_t id = std::stoll(row[0].value_or("0"));
    std::cout << "sweep '" << name << "': " << run_counts(*store, id) << "\n";
    print_slurm(*store, id, options.db, name);
  }
  if (!any) {
    if (!options.sweep.empty()) throw InputError(options.db + " has no sweep named '" + options.sweep + "'");
    std::cout << options.db << " has no sweeps yet\n";
  }
  return kExitOk;
}

}  // namespace

Command status_command(CLI::App& parent) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* app = parent.add_subcommand("status", "Show the runs of each sweep by status, and its Slurm job array");
  app->footer(
      "For each sweep of the database: its runs counted by status and, when it was submitted with\n"
      "`sweep run --executor slurm`, the latest job array's tasks (pending and running from squeue; completed\n"
      "and failed from sacct when the cluster keeps accounting) and its shards. Run counts are the database's:\n"
      "`sweep collect DB` merges what finished tasks wrote. Read-only: safe at any time.");
  add_db_argument(*app, options->db);
  app->add_option("--sweep,-s", options->sweep, "Only this sweep (by name)");
  add_exit_codes(*app, "the runs were counted (and the Slurm job shown)",
                 "",
                 "no database at the path (results.db by default), no sweep of that name, or a bad option");
  return {app, [options] { return run_status(*options); }};
}

}  // namespace sweep::cli
