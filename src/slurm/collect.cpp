#include "slurm/collect.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "common/error.h"
#include "slurm/submission.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace sweep::slurm {

namespace fs = std::filesystem;
using store_detail::exec;
using store_detail::Statement;
using store_detail::Transaction;

namespace {

// The runs columns a task's attempt fills in, copied as SQLite values (so
// REALs stay bit-identical and NULLs stay NULL).
constexpr const char* kAttemptColumns[] = {
    "status",         "backend",      "device",    "threads",        "started",       "finished",
    "wall_seconds",   "epochs_run",   "early_stopped", "train_loss", "train_accuracy", "val_loss",
    "val_accuracy",   "test_loss",    "test_accuracy", "test_precision", "test_recall", "test_f1",
    "error",          "attempts",     "checkpoint", "resumed_from_epoch"};
// The last two came with schema version 6: an older shard reads as NULL and 0.
constexpr int kVersion6Columns = 2;
constexpr int kAttemptColumnCount = int(std::size(kAttemptColumns));

std::string column_list(const char* prefix) {
  std::string list;
  for (const char* column : kAttemptColumns) list += (list.empty() ? "" : ", ") + std::string(prefix) + column;
  return list;
}

// The owner is not copied but cleared: the task's process wrote its shard,
// not this database, and a node's pid cannot be checked from here. A run
// collected as 'running' is then like one of an older sweep: the next `sweep
// run` of the grid marks it interrupted (docs/slurm.md), as before owners.
// (Shards of older sweeps have no owner column either.)
std::string update_sql() {
  std::string sql = "UPDATE runs SET ";
  for (int i = 0; i < kAttemptColumnCount; ++i) sql += (i ? ", " : "") + std::string(kAttemptColumns[i]) + " = ?";
  return sql + ", owner = NULL WHERE id = ?";
}

struct MainRun {
  int64_t id = 0;
  std::string status;
  std::string started;  // '' when it never started
};

// Copy rows of a per-run table (epochs, confusion) from the shard's run to the database's.
void copy_children(sqlite3* shard, sqlite3* main, const char* table, const char* columns, int column_count,
                   int64_t shard_run, int64_t main_run) {
  Statement clear(main, std::string("DELETE FROM ") + table + " WHERE run_id = ?");
  clear.bind_int(1, main_run).run();
  Statement read(shard, std::string("SELECT ") + columns + " FROM " + table + " WHERE run_id = ?");
  read.bind_int(1, shard_run);
  std::string placeholders = "?";
  for (int i = 0; i < column_count; ++i) placeholders += ", ?";
  Statement write(main, std::string("INSERT INTO ") + table + " (run_id, " + columns + ") VALUES (" + placeholders +
                            ")");
  while (read.step()) {
    write.bind_int(1, main_run);
    for (int i = 0; i < column_count; ++i) sqlite3_bind_value(write.get(), i + 2, sqlite3_column_value(read.get(), i));
    write.run();
    write.reset();
  }
}

void merge_one_shard(sqlite3* shard, sqlite3* main, CollectSummary& summary, const std::string& shard_name) {
  // Sweeps by name: the shard's ids are its own.
  std::map<int64_t, int64_t> sweep_ids;  // shard sweep id -> database sweep id
  {
    Statement sweeps(shard, "SELECT id, name FROM sweeps");
    while (sweeps.step()) {
      Statement find(main, "SELECT id FROM sweeps WHERE name = ?");
      find.bind_text(1, sweeps.column_text(1));
      if (find.step())
        sweep_ids[sweeps.column_int(0)] = find.column_int(0);
      else
        summary.notes.push_back(shard_name + ": sweep '" + sweeps.column_text(1) +
                                "' is not in the database (a shard of another database?); skipped");
    }
  }
  std::string columns = column_list("");
  {
    Statement has_checkpoint(shard, "SELECT 1 FROM pragma_table_info('runs') WHERE name = 'checkpoint'");
    if (!has_checkpoint.step()) {
      columns.clear();
      for (int i = 0; i < kAttemptColumnCount - kVersion6Columns; ++i)
        columns += (i ? ", " : "") + std::string(kAttemptColumns[i]);
      columns += ", NULL, 0";
    }
  }
  Statement runs(shard, "SELECT id, sweep_id, hash, " + columns + " FROM runs");
  Statement find(main, "SELECT id, status, COALESCE(started, '') FROM runs WHERE sweep_id = ? AND hash = ?");
  Statement update(main, update_sql());
  constexpr int kFirstAttemptColumn = 3;
  while (runs.step()) {
    const auto sweep = sweep_ids.find(runs.column_int(1));
    if (sweep == sweep_ids.end()) continue;
    find.reset();
    find.bind_int(1, sweep->second).bind_text(2, runs.column_text(2));
    if (!find.step()) {
      summary.notes.push_back(shard_name + ": run " + runs.column_text(2) + " is not in the database; skipped");
      continue;
    }
    const MainRun target{find.column_int(0), find.column_text(1), find.column_text(2)};
    const std::string status = runs.column_text(kFirstAttemptColumn);  // "status" is the first attempt column
    const std::string started = runs.is_null(kFirstAttemptColumn + 4) ? "" : runs.column_text(kFirstAttemptColumn + 4);
    const bool copy = target.status != "done" && status != "pending" &&
                      (status == "done" || started >= target.started);
    if (!copy) {
      ++summary.unchanged;
      continue;
    }
    for (int i = 0; i < kAttemptColumnCount; ++i)
      sqlite3_bind_value(update.get(), i + 1, sqlite3_column_value(runs.get(), kFirstAttemptColumn + i));
    update.bind_int(kAttemptColumnCount + 1, target.id);
    update.run();
    update.reset();
    const int64_t shard_run = runs.column_int(0);
    copy_children(shard, main, "epochs", "epoch, loss, accuracy, val_loss, val_accuracy, seconds, images_per_sec", 7,
                  shard_run, target.id);
    copy_children(shard, main, "confusion", "true_label, predicted, count", 3, shard_run, target.id);
    ++(status == "done" ? summary.done_copied : summary.updated);
  }
}

}  // namespace

CollectSummary collect_shards(const std::string& db_path) {
  auto main = Store::open(db_path);
  return collect_shards(*main);
}

CollectSummary collect_shards(Store& main_store) {
  CollectSummary summary;
  Store* main = &main_store;
  const fs::path shard_dir = results_dir(main->path()) / "shards";
  std::vector<fs::path> shards;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(shard_dir, error))
    if (entry.path().extension() == ".db") shards.push_back(entry.path());
  std::sort(shards.begin(), shards.end());
  for (const fs::path& path : shards) {
    std::unique_ptr<Store> shard;
    try {
      shard = Store::open(path.string(), Store::Mode::read_only);
    } catch (const InputError& e) {
      summary.notes.push_back(path.filename().string() + ": not readable yet (" + e.message() + "); skipped");
      continue;
    }
    // One read transaction: a consistent snapshot of a shard its task may still be writing.
    exec(shard->handle(), "BEGIN");
    Transaction txn(main->handle());
    merge_one_shard(shard->handle(), main->handle(), summary, path.filename().string());
    txn.commit();
    exec(shard->handle(), "COMMIT");
    ++summary.shards;
  }
  if (summary.shards > 0)
    exec(main->handle(), "UPDATE slurm_submissions SET collected = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')");
  return summary;
}

}  // namespace sweep::slurm
