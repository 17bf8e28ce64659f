#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "store/owner.h"
#include "store/plan.h"
#include "store/schema.h"
#include "store/sqlite_util.h"

namespace sweep {

using store_detail::exec;
using store_detail::now_iso8601;
using store_detail::Statement;
using store_detail::Transaction;

namespace {

// Statuses are stored by their names (train/trainer.h); the `status`
// column's CHECK list in schema.sql spells the same names.
const char* status_text(RunStatus status) { return to_string(status); }

RunStatus status_from_text(const std::string& text) {
  try {
    return run_status_from(text);
  } catch (const InputError&) {
    throw RuntimeError("unknown run status '" + text + "' in the database");
  }
}

// Insert a model and its layers once (models are shared across runs and sweeps).
std::string upsert_model(sqlite3* db, const PlannedRun& run) {
  if (run.model_spec.layers.empty()) return {};
  const json spec = model_spec_json(run.model_spec);
  const std::string hash = model_hash(run.model_spec);
  Statement insert(db,
                   "INSERT OR IGNORE INTO models (hash, spec, params_trainable, params_non_trainable, flops_per_image) "
                   "VALUES (?, ?, ?, ?, ?)");
  insert.bind_text(1, hash).bind_text(2, spec.dump()).bind_int(3, run.params_trainable);
  insert.bind_int(4, run.params_non_trainable).bind_int(5, run.flops_per_image).run();
  if (sqlite3_changes(db) == 0) return hash;
  Statement layer(db,
                  "INSERT INTO layers (model_hash, idx, name, type, output_shape, params_trainable, "
                  "params_non_trainable, flops) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  for (size_t i = 0; i < run.model.layers.size(); ++i) {
    const LayerInfo& info = run.model.layers[i];
    layer.bind_text(1, hash).bind_int(2, static_cast<int64_t>(i)).bind_text(3, info.name).bind_text(4, info.type);
    layer.bind_text(5, info.output.keras()).bind_int(6, info.trainable).bind_int(7, info.non_trainable);
    layer.bind_int(8, info.flops).run();
    layer.reset();
  }
  return hash;
}

RunRow read_run(const Statement& stmt) {
  RunRow row;
  row.id = stmt.column_int(0);
  row.sweep_id = stmt.column_int(1);
  row.hash = stmt.column_text(2);
  row.status = status_from_text(stmt.column_text(3));
  row.attempts = static_cast<int>(stmt.column_int(4));
  row.owner = stmt.column_text(5);
  row.in_grid = stmt.column_int(6) != 0;
  row.continued = stmt.column_int(7) != 0;
  return row;
}

// A read-only database older than version 3 has no owner column (read NULL),
// one older than 4 no in_grid (every run was in its grid: read 1), one older
// than 10 no continued (nothing was pruned: read 0).
std::string run_columns(bool has_owner, bool has_in_grid, bool has_pruning) {
  return std::string("SELECT id, sweep_id, hash, status, attempts, ") + (has_owner ? "owner" : "NULL") +
         ", " + (has_in_grid ? "in_grid" : "1") + ", " + (has_pruning ? "continued" : "0") + " FROM runs";
}

}  // namespace

Store::Store(sqlite3* db, std::string path, Mode mode) : db_(db), path_(std::move(path)), mode_(mode) {}

Store::~Store() { sqlite3_close_v2(db_); }

std::unique_ptr<Store> Store::open(const std::string& path, Mode mode) {
  const bool read_only = mode == Mode::read_only;
  if (read_only && !std::filesystem::exists(path))
    throw InputError("no results database at " + path + " (sweep run --db " + path + " creates it)");
  sqlite3* db = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw InputError("cannot open results database " + path + ": " + why);
  }
  std::unique_ptr<Store> store(new Store(db, path, mode));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);  // another writer (a second sweep) waits rather than fails
  if (!read_only) {
    // WAL first: it is persistent, and a non-SQLite file fails here with NOTADB.
    // Two sweeps creating one database at once both switch it; SQLite answers
    // the loser BUSY without calling the busy handler, so wait here instead.
    int wal_rc = SQLITE_BUSY;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      sqlite3_stmt* stmt = nullptr;
      wal_rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
      if (wal_rc == SQLITE_OK) wal_rc = sqlite3_step(stmt);
      sqlite3_finalize(stmt);
      if ((wal_rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (wal_rc == SQLITE_NOTADB) throw InputError(path + " is not a SQLite database");
    store_detail::check(db, wal_rc, "cannot switch " + path + " to WAL mode");
    exec(db, "PRAGMA synchronous = NORMAL");  // safe with WAL: a power cut loses at most the last commits
  }
  exec(db, "PRAGMA foreign_keys = ON");
  const int version = store_detail::migrate(db, path, read_only);
  store->has_owner_ = version >= 3;
  store->has_in_grid_ = version >= 4;
  store->has_fingerprint_ = version >= 5;
  store->has_step_costs_ = version >= 8;
  store->has_measure_seconds_ = version >= 9;
  store->has_pruning_ = version >= 10;
  return store;
}

int64_t Store::upsert_sweep(const SweepRecord& sweep, const std::vector<PlannedRun>& runs, GridChange* change) {
  return upsert_sweep(sweep, runs.size(), [&runs](size_t i) { return runs[i]; }, change);
}

int64_t Store::upsert_sweep(const SweepRecord& sweep, size_t run_count, const std::function<PlannedRun(size_t)>& run_at,
                            GridChange* change) {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::read_only) throw RuntimeError("upsert_sweep on a read-only store");
  Transaction txn(db_);
  const std::string now = now_iso8601();
  const std::string version = sweep.version.empty() ? SWEEP_VERSION : sweep.version;
  int64_t sweep_id = 0;
  {
    Statement find(db_, "SELECT id FROM sweeps WHERE name = ?");
    find.bind_text(1, sweep.name);
    if (find.step()) sweep_id = find.column_int(0);
  }
  // The sweep's varied fields are its grid's: fields that only runs now out of
  // the grid varied are not factors of the sweep any more.
  const std::string varied = json(sweep.varied).dump();
  if (sweep_id) {
    Statement update(db_,
                     "UPDATE sweeps SET description = ?, grid_path = ?, grid_text = ?, varied = ?, updated = ?, "
                     "sweep_version = ?, provenance = COALESCE(?, provenance) WHERE id = ?");
    update.bind_text(1, sweep.description).bind_text(2, sweep.grid_path).bind_text(3, sweep.grid_text);
    update.bind_text(4, varied).bind_text(5, now).bind_text(6, version).bind_text_or_null(7, sweep.provenance);
    update.bind_int(8, sweep_id).run();
  } else {
    Statement insert(db_,
                     "INSERT INTO sweeps (name, description, grid_path, grid_text, varied, created, updated, host, "
                     "sweep_version, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind_text(1, sweep.name).bind_text(2, sweep.description).bind_text(3, sweep.grid_path);
    insert.bind_text(4, sweep.grid_text).bind_text(5, varied);
    insert.bind_text(6, sweep.created.empty() ? now : sweep.created).bind_text(7, now);
    insert.bind_text(8, sweep.host.empty() ? this_host() : sweep.host).bind_text(9, version);
    insert.bind_text_or_null(10, sweep.provenance).run();
    sweep_id = sqlite3_last_insert_rowid(db_);
  }
  // An existing run keeps its status, metrics and epochs: resuming a sweep
  // trains only what is not done. Its estimate and varied values follow the grid.
  Statement upsert_run(db_,
                       "INSERT INTO runs (sweep_id, hash, config, varied, variant, repeat, seed, model_hash, "
                       "cost_estimate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sweep_id, hash) DO UPDATE SET "
                       "varied = excluded.varied, cost_estimate = excluded.cost_estimate");
  json hashes = json::array();  // membership: exactly these are in the grid
  for (size_t i = 0; i < run_count; ++i) {
    const PlannedRun run = run_at(i);
    const std::string model = upsert_model(db_, run);
    upsert_run.bind_int(1, sweep_id).bind_text(2, run.hash).bind_text(3, run.config);
    upsert_run.bind_text(4, (run.varied.is_null() ? json::object() : run.varied).dump()).bind_text(5, run.variant);
    upsert_run.bind_int(6, run.repeat).bind_int(7, static_cast<int64_t>(run.seed)).bind_text_or_null(8, model);
    upsert_run.bind_real(9, run.cost_estimate).run();
    upsert_run.reset();
    hashes.push_back(run.hash);
  }
  const std::string in_plan = "hash IN (SELECT value FROM json_each(?))";
  GridChange counted;
  {
    Statement count(db_, "SELECT COALESCE(SUM(in_grid = 1 AND NOT " + in_plan + "), 0), COALESCE(SUM(in_grid = 0 AND " +
                             in_plan + "), 0) FROM runs WHERE sweep_id = ?");
    count.bind_text(1, hashes.dump()).bind_text(2, hashes.dump()).bind_int(3, sweep_id);
    if (count.step()) {
      counted.left = static_cast<int>(count.column_int(0));
      counted.returned = static_cast<int>(count.column_int(1));
    }
  }
  Statement mark(db_, "UPDATE runs SET in_grid = (" + in_plan + ") WHERE sweep_id = ?");
  mark.bind_text(1, hashes.dump()).bind_int(2, sweep_id).run();
  Statement fingerprint(db_, "UPDATE sweeps SET grid_fingerprint = ?, grid_runs = ? WHERE id = ?");
  fingerprint.bind_text_or_null(1, sweep.fingerprint).bind_int(2, static_cast<int64_t>(run_count));
  fingerprint.bind_int(3, sweep_id).run();
  {
    Statement out(db_, "SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND in_grid = 0");
    out.bind_int(1, sweep_id);
    if (out.step()) counted.out = static_cast<int>(out.column_int(0));
  }
  if (change) *change = counted;
  store_detail::rebuild_results_view(db_);
  txn.commit();
  return sweep_id;
}

std::optional<SweepProgress> Store::sweep_by_fingerprint(const std::string& fingerprint) {
  std::lock_guard lock(mu_);
  if (!has_fingerprint_ || fingerprint.empty()) return std::nullopt;
  Statement stmt(db_,
                 "SELECT s.name, s.grid_runs, (SELECT COUNT(*) FROM runs r WHERE r.sweep_id = s.id AND r.in_grid = 1 "
                 "AND r.status = 'done') FROM sweeps s WHERE s.grid_fingerprint = ? ORDER BY s.updated DESC LIMIT 1");
  stmt.bind_text(1, fingerprint);
  if (!stmt.step()) return std::nullopt;
  return SweepProgress{stmt.column_text(0), stmt.column_int(1), stmt.column_int(2)};
}

std::optional<SweepRecord> Store::sweep_by_name(const std::string& name) {
  std::lock_guard lock(mu_);
  Statement stmt(db_,
                 "SELECT id, name, description, grid_path, grid_text, created, host, sweep_version, varied "
                 "FROM sweeps WHERE name = ?");
  stmt.bind_text(1, name);
  if (!stmt.step()) return std::nullopt;
  SweepRecord sweep;
  sweep.id = stmt.column_int(0);
  sweep.name = stmt.column_text(1);
  sweep.description = stmt.column_text(2);
  sweep.grid_path = stmt.column_text(3);
  sweep.grid_text = stmt.column_text(4);
  sweep.created = stmt.column_text(5);
  sweep.host = stmt.column_text(6);
  sweep.version = stmt.column_text(7);
  const json varied = json::parse(stmt.column_text(8), nullptr, false);
  if (varied.is_array())
    for (const auto& path : varied) sweep.varied.push_back(path.get<std::string>());
  return sweep;
}

std::vector<RunRow> Store::runs_of(int64_t sweep_id) {
  std::lock_guard lock(mu_);
  Statement stmt(db_, run_columns(has_owner_, has_in_grid_, has_pruning_) + " WHERE sweep_id = ? ORDER BY id");
  stmt.bind_int(1, sweep_id);
  std::vector<RunRow> rows;
  while (stmt.step()) rows.push_back(read_run(stmt));
  return rows;
}

std::optional<RunRow> Store::run_by_hash(const std::string& hash) {
  std::lock_guard lock(mu_);
  Statement stmt(db_, run_columns(has_owner_, has_in_grid_, has_pruning_) + " WHERE hash = ? ORDER BY id DESC LIMIT 1");
  stmt.bind_text(1, hash);
  if (!stmt.step()) return std::nullopt;
  return read_run(stmt);
}

Store::RunModel Store::run_model(const std::string& run) {
  std::lock_guard lock(mu_);
  const bool is_id = !run.empty() && run.find_first_not_of("0123456789") == std::string::npos;
  if (!is_id && run.size() < 6)
    throw InputError("run '" + run + "': give a run id or at least 6 characters of its hash", {}, "run");
  Statement stmt(db_, is_id ? "SELECT r.id, r.hash, s.name, r.status, r.config, COALESCE(r.checkpoint, '') FROM runs r "
                              "JOIN sweeps s ON s.id = r.sweep_id WHERE r.id = ?"
                            : "SELECT r.id, r.hash, s.name, r.status, r.config, COALESCE(r.checkpoint, '') FROM runs r "
                              "JOIN sweeps s ON s.id = r.sweep_id WHERE substr(r.hash, 1, ?) = ? ORDER BY r.id");
  if (is_id) stmt.bind_int(1, std::stoll(run));
  else stmt.bind_int(1, int64_t(run.size())).bind_text(2, run);
  std::vector<RunModel> found;
  while (stmt.step())
    found.push_back({stmt.column_int(0), stmt.column_text(1), stmt.column_text(2), stmt.column_text(3),
                     stmt.column_text(4), stmt.column_text(5)});
  if (found.empty()) throw InputError(path_ + " has no run '" + run + "' (sweep query " + path_ + " \"SELECT id, hash FROM runs\" lists them)", {}, "run");
  if (found.size() > 1) {
    // The same configuration in two sweeps is one hash: the newest one with a model wins.
    bool same_hash = true;
    for (const RunModel& m : found) same_hash = same_hash && m.hash == found[0].hash;
    if (!same_hash)
      throw InputError("run '" + run + "' is ambiguous in " + path_ + ": runs " + std::to_string(found[0].run_id) +
                           " and " + std::to_string(found[1].run_id) + " (and maybe more) start with it; give more of the hash",
                       {}, "run");
    for (auto it = found.rbegin(); it != found.rend(); ++it)
      if (!it->checkpoint.empty()) return *it;
    return found.back();
  }
  return found[0];
}

void Store::record_evaluation(int64_t run_id, const std::string& dataset, const std::string& data_dir,
                              const std::string& checkpoint, int64_t images, const Evaluation& result) {
  std::lock_guard lock(mu_);
  Statement stmt(db_,
                 "INSERT INTO evaluations (run_id, dataset, data_dir, checkpoint, images, loss, accuracy, precision, "
                 "recall, f1, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  stmt.bind_int(1, run_id).bind_text(2, dataset).bind_text(3, data_dir).bind_text(4, checkpoint).bind_int(5, images);
  stmt.bind_real(6, result.loss).bind_real(7, result.accuracy).bind_real(8, result.precision);
  stmt.bind_real(9, result.recall).bind_real(10, result.f1).bind_text(11, now_iso8601()).run();
}

std::vector<StoredStepCost> Store::step_costs(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  std::vector<StoredStepCost> rows;
  if (!has_step_costs_) return rows;
  Statement find(db_, has_measure_seconds_
                          ? "SELECT setup, train_step, predict_image, IFNULL(measure_seconds, 0) FROM step_costs WHERE key = ?"
                          : "SELECT setup, train_step, predict_image, 0 FROM step_costs WHERE key = ?");
  for (const std::string& key : keys) {
    find.reset();
    find.bind_text(1, key);
    if (find.step())
      rows.push_back(StoredStepCost{key, find.column_real(0), find.column_real(1), find.column_real(2),
                                    find.column_real(3)});
  }
  return rows;
}

void Store::save_step_costs(const std::vector<StoredStepCost>& rows) {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::read_only) return;
  Transaction txn(db_);
  Statement insert(db_,
                   "INSERT OR REPLACE INTO step_costs (key, setup, train_step, predict_image, measured, "
                   "measure_seconds) VALUES (?, ?, ?, ?, ?, ?)");
  const std::string now = now_iso8601();
  for (const StoredStepCost& row : rows) {
    insert.reset();
    insert.bind_text(1, row.key).bind_real(2, row.setup).bind_real(3, row.train_step);
    insert.bind_real(4, row.predict_image).bind_text(5, now).bind_real(6, row.measure_seconds).run();
  }
  txn.commit();
}

void Store::set_cost_estimates(const std::vector<std::pair<int64_t, double>>& estimates) {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::read_only || estimates.empty()) return;
  Transaction txn(db_);
  Statement update(db_, "UPDATE runs SET cost_estimate = ? WHERE id = ?");
  for (const auto& [id, seconds] : estimates) {
    update.reset();
    update.bind_real(1, seconds).bind_int(2, id).run();
  }
  txn.commit();
}

Claim Store::start_run(int64_t run_id, const std::string& backend, const std::string& device, int threads,
                       int expected_attempts) {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::read_only) throw RuntimeError("start_run on a read-only store");
  // BEGIN IMMEDIATE takes the database's write lock: from reading the row to
  // the commit no other process can claim it, so exactly one claim wins.
  Transaction txn(db_);
  Claim claim;
  int64_t attempts = 0;
  std::string owner;
  {
    Statement find(db_, "SELECT status, COALESCE(owner, ''), attempts FROM runs WHERE id = ?");
    find.bind_int(1, run_id);
    if (!find.step()) throw RuntimeError("start_run: no run with id " + std::to_string(run_id));
    claim.status = status_from_text(find.column_text(0));
    owner = find.column_text(1);
    attempts = find.column_int(2);
  }
  const bool live = claim.status == RunStatus::running && !owner_is_stale(owner);
  const bool taken = expected_attempts >= 0 && attempts != expected_attempts;
  if (live || taken) {
    claim.owner = owner;
    return claim;  // the transaction rolls back: nothing was written
  }
  // A new attempt starts clean: no epochs, matrix or metrics of an earlier one.
  for (const char* table : {"epochs", "confusion"}) {
    Statement clear(db_, std::string("DELETE FROM ") + table + " WHERE run_id = ?");
    clear.bind_int(1, run_id).run();
  }
  // The WHERE restates the claim rule on what was read, so the UPDATE itself
  // can only take a run that is not running, or running under the dead owner seen above.
  Statement stmt(db_,
                 "UPDATE runs SET status = 'running', owner = ?, backend = ?, device = ?, threads = ?, started = ?, "
                 "finished = NULL, wall_seconds = NULL, epochs_run = 0, early_stopped = 0, train_loss = NULL, "
                 "train_accuracy = NULL, val_loss = NULL, val_accuracy = NULL, test_loss = NULL, "
                 "test_accuracy = NULL, test_precision = NULL, test_recall = NULL, test_f1 = NULL, error = NULL, "
                 "checkpoint = NULL, resumed_from_epoch = 0, "
                 "attempts = attempts + 1 WHERE id = ? AND attempts = ? AND "
                 "(status <> 'running' OR COALESCE(owner, '') = ?)");
  stmt.bind_text(1, this_process_owner()).bind_text(2, backend).bind_text(3, device).bind_int(4, threads);
  stmt.bind_text(5, now_iso8601()).bind_int(6, run_id).bind_int(7, attempts).bind_text(8, owner).run();
  if (sqlite3_changes(db_) != 1) {
    claim.owner = owner;
    return claim;
  }
  txn.commit();
  claim.claimed = true;
  return claim;
}

namespace {

void write_epoch(sqlite3* db, int64_t run_id, const EpochMetrics& e) {
  Statement stmt(db,
                 "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, "
                 "images_per_sec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  stmt.bind_int(1, run_id).bind_int(2, e.epoch).bind_real(3, e.loss).bind_real(4, e.accuracy);
  stmt.bind_real(5, e.val_loss).bind_real(6, e.val_accuracy).bind_real(7, e.seconds);
  stmt.bind_real(8, e.images_per_sec).run();
}

// The run row shows its latest epoch, so a live query sees progress.
void write_last_epoch(sqlite3* db, int64_t run_id, const EpochMetrics& e) {
  Statement stmt(db,
                 "UPDATE runs SET epochs_run = ?, train_loss = ?, train_accuracy = ?, val_loss = ?, "
                 "val_accuracy = ? WHERE id = ?");
  stmt.bind_int(1, e.epoch).bind_real(2, e.loss).bind_real(3, e.accuracy).bind_real(4, e.val_loss);
  stmt.bind_real(5, e.val_accuracy).bind_int(6, run_id).run();
}

}  // namespace

void Store::record_epoch(int64_t run_id, const EpochMetrics& epoch) {
  std::lock_guard lock(mu_);
  Transaction txn(db_);
  write_epoch(db_, run_id, epoch);
  write_last_epoch(db_, run_id, epoch);
  txn.commit();
}

void Store::finish_run(int64_t run_id, const RunResult& result) {
  std::lock_guard lock(mu_);
  Transaction txn(db_);
  for (const EpochMetrics& epoch : result.epochs) write_epoch(db_, run_id, epoch);
  if (!result.epochs.empty()) write_last_epoch(db_, run_id, result.epochs.back());
  const bool done = result.status == RunStatus::done;
  Statement stmt(db_,
                 "UPDATE runs SET status = ?, finished = ?, wall_seconds = ?, epochs_run = ?, early_stopped = ?, "
                 "test_loss = ?, test_accuracy = ?, test_precision = ?, test_recall = ?, test_f1 = ?, error = ?, "
                 "backend = COALESCE(?, backend), device = COALESCE(?, device), checkpoint = ?, "
                 "resumed_from_epoch = ? WHERE id = ?");
  stmt.bind_text(1, status_text(result.status)).bind_text(2, now_iso8601()).bind_real(3, result.wall_seconds);
  stmt.bind_int(4, result.stop_epoch ? result.stop_epoch : static_cast<int64_t>(result.epochs.size()));
  stmt.bind_int(5, result.early_stopped ? 1 : 0);
  if (done) {
    stmt.bind_real(6, result.test.loss).bind_real(7, result.test.accuracy).bind_real(8, result.test.precision);
    stmt.bind_real(9, result.test.recall).bind_real(10, result.test.f1);
  }
  stmt.bind_text_or_null(11, result.error).bind_text_or_null(12, result.backend);
  stmt.bind_text_or_null(13, result.device).bind_text_or_null(14, result.checkpoint);
  stmt.bind_int(15, result.resumed_from_epoch).bind_int(16, run_id).run();
  if (sqlite3_changes(db_) != 1) throw RuntimeError("finish_run: no run with id " + std::to_string(run_id));
  if (result.status == RunStatus::pruned) {
    Statement pruned(db_, "UPDATE runs SET pruned_epoch = ? WHERE id = ?");
    pruned.bind_int(1, result.stop_epoch).bind_int(2, run_id).run();
  }
  const int classes = result.test.classes;
  if (done && classes > 0 && result.test.confusion.size() == size_t(classes) * size_t(classes)) {
    Statement cell(db_, "INSERT OR REPLACE INTO confusion (run_id, true_label, predicted, count) VALUES (?, ?, ?, ?)");
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p) {
        cell.bind_int(1, run_id).bind_int(2, t).bind_int(3, p);
        cell.bind_int(4, result.test.confusion[size_t(t) * size_t(classes) + size_t(p)]).run();
        cell.reset();
      }
  }
  txn.commit();
}

void Store::record_prune_decision(const PruneDecision& d, const PruningSpec& rule) {
  std::lock_guard lock(mu_);
  const char* strategy = rule.strategy == PruningSpec::Strategy::median      ? "median"
                         : rule.strategy == PruningSpec::Strategy::hyperband ? "hyperband"
                                                                             : "asha";
  Statement stmt(db_,
                 "INSERT OR REPLACE INTO prune_decisions (run_id, epoch, strategy, bracket, rung, metric, value, rank, "
                 "competitors, decision, reason, decided) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  stmt.bind_int(1, d.run_id).bind_int(2, d.epoch).bind_text(3, strategy).bind_int(4, d.bracket);
  if (d.rung >= 0) stmt.bind_int(5, d.rung);
  else stmt.bind_null(5);
  stmt.bind_text(6, rule.metric).bind_real(7, d.value).bind_int(8, d.rank).bind_int(9, d.competitors);
  stmt.bind_text(10, d.prune ? "prune" : "continue").bind_text(11, d.reason).bind_text(12, now_iso8601()).run();
}

std::vector<PruneDecision> Store::prune_decisions(int64_t sweep_id) {
  std::lock_guard lock(mu_);
  std::vector<PruneDecision> out;
  if (!has_pruning_) return out;
  Statement stmt(db_,
                 "SELECT d.run_id, d.epoch, d.bracket, COALESCE(d.rung, -1), d.value, COALESCE(d.rank, 0), "
                 "d.competitors, d.decision = 'prune', d.reason FROM prune_decisions d JOIN runs r ON r.id = d.run_id "
                 "WHERE r.sweep_id = ? ORDER BY d.decided, d.run_id, d.epoch");
  stmt.bind_int(1, sweep_id);
  while (stmt.step()) {
    PruneDecision d;
    d.run_id = stmt.column_int(0);
    d.epoch = static_cast<int>(stmt.column_int(1));
    d.bracket = static_cast<int>(stmt.column_int(2));
    d.rung = static_cast<int>(stmt.column_int(3));
    // NULL (a NaN value) reads back as NaN: the worst value, as it was judged.
    d.value = stmt.is_null(4) ? std::numeric_limits<double>::quiet_NaN() : stmt.column_real(4);
    d.rank = static_cast<int>(stmt.column_int(5));
    d.competitors = static_cast<int>(stmt.column_int(6));
    d.prune = stmt.column_int(7) != 0;
    d.reason = stmt.column_text(8);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::pair<int64_t, std::vector<EpochMetrics>>> Store::done_run_epochs(int64_t sweep_id) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<int64_t, std::vector<EpochMetrics>>> out;
  Statement stmt(db_,
                 "SELECT e.run_id, e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy FROM epochs e JOIN runs r "
                 "ON r.id = e.run_id WHERE r.sweep_id = ? AND r.status = 'done' ORDER BY e.run_id, e.epoch");
  stmt.bind_int(1, sweep_id);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  while (stmt.step()) {
    const int64_t run = stmt.column_int(0);
    if (out.empty() || out.back().first != run) out.emplace_back(run, std::vector<EpochMetrics>{});
    EpochMetrics m;
    m.epoch = static_cast<int>(stmt.column_int(1));
    m.loss = stmt.is_null(2) ? nan : stmt.column_real(2);
    m.accuracy = stmt.is_null(3) ? nan : stmt.column_real(3);
    m.val_loss = stmt.is_null(4) ? nan : stmt.column_real(4);
    m.val_accuracy = stmt.is_null(5) ? nan : stmt.column_real(5);
    out.back().second.push_back(m);
  }
  return out;
}

int Store::continue_pruned(int64_t sweep_id) {
  std::lock_guard lock(mu_);
  if (!has_pruning_) return 0;
  Statement stmt(db_,
                 "UPDATE runs SET status = 'pending', continued = 1 WHERE sweep_id = ? AND status = 'pruned' AND "
                 "in_grid = 1");
  stmt.bind_int(1, sweep_id).run();
  return sqlite3_changes(db_);
}

void Store::record_trials(int64_t sweep_id, const std::vector<SearchTrial>& trials) {
  std::lock_guard lock(mu_);
  Transaction txn(db_);
  Statement stmt(db_,
                 "INSERT OR IGNORE INTO search_trials (sweep_id, trial, run_hash, params, sampler, batch, proposed) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const SearchTrial& t : trials) {
    stmt.bind_int(1, sweep_id).bind_int(2, t.trial).bind_text(3, t.run_hash).bind_text(4, t.params.dump());
    stmt.bind_text(5, t.sampler).bind_int(6, t.batch).bind_text(7, now_iso8601()).run();
    stmt.reset();
  }
  txn.commit();
}

std::vector<SearchTrial> Store::search_trials(int64_t sweep_id) {
  std::lock_guard lock(mu_);
  std::vector<SearchTrial> out;
  if (!has_pruning_) return out;
  Statement stmt(db_, "SELECT trial, run_hash, params, sampler, batch FROM search_trials WHERE sweep_id = ? ORDER BY trial");
  stmt.bind_int(1, sweep_id);
  while (stmt.step()) {
    SearchTrial t;
    t.trial = static_cast<int>(stmt.column_int(0));
    t.run_hash = stmt.column_text(1);
    t.params = json::parse(stmt.column_text(2), nullptr, false);
    if (!t.params.is_object()) throw RuntimeError("search_trials: trial " + std::to_string(t.trial) + " has unreadable params");
    t.sampler = stmt.column_text(3);
    t.batch = static_cast<int>(stmt.column_int(4));
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TrialOutcome> Store::trial_outcomes(int64_t sweep_id, const std::string& metric) {
  std::lock_guard lock(mu_);
  if (metric != "val_accuracy" && metric != "val_loss" && metric != "accuracy" && metric != "loss")
    throw RuntimeError("trial_outcomes: no metric '" + metric + "'");
  std::vector<TrialOutcome> out;
  if (!has_pruning_) return out;
  Statement stmt(db_, "SELECT t.trial, r.status, r.epochs_run, e." + metric +
                          " FROM search_trials t JOIN runs r ON r.sweep_id = t.sweep_id AND r.hash = t.run_hash "
                          "LEFT JOIN epochs e ON e.run_id = r.id AND e.epoch = r.epochs_run WHERE t.sweep_id = ? "
                          "ORDER BY t.trial");
  stmt.bind_int(1, sweep_id);
  while (stmt.step()) {
    TrialOutcome o;
    o.trial = static_cast<int>(stmt.column_int(0));
    o.status = status_from_text(stmt.column_text(1));
    o.epochs = static_cast<int>(stmt.column_int(2));
    o.value = stmt.is_null(3) ? std::numeric_limits<double>::quiet_NaN() : stmt.column_real(3);
    out.push_back(o);
  }
  return out;
}

int Store::mark_stale_running_interrupted(int64_t sweep_id, StaleRuns which) {
  std::lock_guard lock(mu_);
  Transaction txn(db_);  // the write lock: no run changes owner between the check and the update
  std::vector<int64_t> stale;
  {
    Statement running(db_, "SELECT id, COALESCE(owner, '') FROM runs WHERE sweep_id = ? AND status = 'running'");
    running.bind_int(1, sweep_id);
    while (running.step())
      if (which == StaleRuns::all_running || owner_is_stale(running.column_text(1)))
        stale.push_back(running.column_int(0));
  }
  Statement mark(db_,
                 "UPDATE runs SET status = 'interrupted', error = 'the sweep process running it ended before "
                 "it finished' WHERE id = ? AND status = 'running'");
  int marked = 0;
  for (const int64_t id : stale) {
    mark.bind_int(1, id).run();
    marked += sqlite3_changes(db_);
    mark.reset();
  }
  txn.commit();
  return marked;
}

std::filesystem::path results_dir(const std::string& db_path) {
  const std::filesystem::path db = std::filesystem::absolute(db_path).lexically_normal();
  return db.parent_path() / (db.filename().string() + ".d");
}

std::filesystem::path checkpoint_dir(const std::string& db_path) { return results_dir(db_path) / "checkpoints"; }

}  // namespace sweep
