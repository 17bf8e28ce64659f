#include "slurm/executor.h"

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "cli/planning.h"
#include "common/error.h"
#include "slurm/process.h"
#include "slurm/queue.h"
#include "store/sqlite_util.h"

namespace sweep::slurm {

namespace fs = std::filesystem;
using store_detail::Statement;
using store_detail::Transaction;

namespace {

// 20260501T120000Z: sorts in time order; a suffix keeps two submissions in one second apart.
std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) throw RuntimeError("cannot write " + path.string());
}

void record_submission(Store& store, int64_t sweep_id, const Submitted& submitted, int runs_per_task) {
  sqlite3* db = store.handle();
  Transaction txn(db);
  Statement insert(db,
                   "INSERT INTO slurm_submissions (sweep_id, job_id, submitted, tasks, runs, runs_per_task, script, "
                   "manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind_int(1, sweep_id).bind_text(2, submitted.job_id).bind_text(3, store_detail::now_iso8601());
  insert.bind_int(4, submitted.tasks).bind_int(5, submitted.runs).bind_int(6, runs_per_task);
  insert.bind_text(7, submitted.paths.script.string()).bind_text(8, submitted.paths.manifest.string()).run();
  Statement update(db, "UPDATE sweeps SET slurm_job_id = ? WHERE id = ?");
  update.bind_text(1, submitted.job_id).bind_int(2, sweep_id).run();
  txn.commit();
}

}  // namespace

Submitted submit(Store& store, int64_t sweep_id, const ExpandedGrid& grid,
                 const std::vector<const ExpandedRun*>& to_train, const SlurmOptions& slurm,
                 const WorkerOptions& worker, const std::string& db_path) {
  validate(slurm);
  std::vector<std::string> hashes;
  for (const ExpandedRun* run : to_train) hashes.push_back(run->config.hash);
  const auto tasks = split_into_tasks(hashes, slurm.runs_per_task);

  std::string stamp = utc_stamp();
  Submitted submitted;
  submitted.paths = submission_paths(db_path, grid.name, stamp);
  for (int n = 2; fs::exists(submitted.paths.manifest); ++n)
    submitted.paths = submission_paths(db_path, grid.name, stamp + "-" + std::to_string(n));
  for (const fs::path& dir : {submitted.paths.script.parent_path(), submitted.paths.log_dir, submitted.paths.shard_dir})
    fs::create_directories(dir);
  const char* data_dir = std::getenv("SWEEP_DATA_DIR");
  const std::string absolute_data_dir = data_dir && *data_dir ? fs::absolute(data_dir).string() : "";
  write_text(submitted.paths.manifest, make_manifest(grid, to_train, tasks, db_path).dump(1) + "\n");
  write_text(submitted.paths.script, make_sbatch_script(grid.name, int(tasks.size()), slurm, worker, submitted.paths,
                                                        db_path, self_executable(), absolute_data_dir));
  try {
    submitted.job_id = sbatch(submitted.paths.script.string());
  } catch (...) {
    // Nothing was queued: leave no script behind that looks submitted.
    fs::remove(submitted.paths.script);
    fs::remove(submitted.paths.manifest);
    throw;
  }
  submitted.tasks = int(tasks.size());
  submitted.runs = int(hashes.size());
  record_submission(store, sweep_id, submitted, slurm.runs_per_task);
  return submitted;
}

SweepOutcome work(const std::string& db_path, const std::string& manifest_path, int task_id,
                  const std::string& job_id, const ScheduleOptions& options) {
  const json manifest = read_manifest(manifest_path);
  const ExpandedGrid grid = task_grid(manifest, task_id, manifest_path);
  const fs::path shard = shard_path(db_path, grid.name, job_id, task_id);
  fs::create_directories(shard.parent_path());
  // The task's own database: nothing else writes it, so no locking over NFS.
  auto store = Store::open(shard.string());
  const int64_t sweep_id = cli::record_sweep(*store, grid);
  // A requeued task starts again in the same shard, maybe on another node:
  // every run its earlier incarnation left running is dead (Slurm ended it),
  // whatever host its owner names.
  store->mark_stale_running_interrupted(sweep_id, StaleRuns::all_running);
  // Checkpoints beside the main database, not the shard: a requeued task,
  // whatever its node, continues its runs from them.
  ScheduleOptions with_checkpoints = options;
  if (with_checkpoints.checkpoint_dir.empty()) with_checkpoints.checkpoint_dir = checkpoint_dir(db_path).string();
  return run_sweep(*store, sweep_id, grid, with_checkpoints);
}

std::vector<SubmissionRecord> submissions_of(Store& store, int64_t sweep_id) {
  Statement stmt(store.handle(),
                 "SELECT job_id, submitted, script, manifest, COALESCE(collected, ''), tasks, runs, runs_per_task "
                 "FROM slurm_submissions WHERE sweep_id = ? ORDER BY id");
  stmt.bind_int(1, sweep_id);
  std::vector<SubmissionRecord> records;
  while (stmt.step()) {
    SubmissionRecord record;
    record.job_id = stmt.column_text(0);
    record.submitted = stmt.column_text(1);
    record.script = stmt.column_text(2);
    record.manifest = stmt.column_text(3);
    record.collected = stmt.column_text(4);
    record.tasks = int(stmt.column_int(5));
    record.runs = int(stmt.column_int(6));
    record.runs_per_task = int(stmt.column_int(7));
    records.push_back(record);
  }
  return records;
}

}  // namespace sweep::slurm
