#include "store/schema.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "store/schema_sql.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace sweep::store_detail {
namespace {

// One step of the migration path: takes a database at version to_version-1
// to to_version. Step 1 creates the schema from nothing; a later schema adds
// a step here (ALTER TABLE ...) and raises kSchemaVersion, never edits step 1.
struct Migration {
  int to_version;
  void (*apply)(sqlite3* db);
};

void create_version_1(sqlite3* db) { exec(db, kSchemaSql); }

// Version 2: the Slurm job arrays a sweep was submitted as (`sweep run
// --executor slurm`), one row per sbatch, newest last.
void add_slurm_submissions(sqlite3* db) {
  exec(db, R"sql(
CREATE TABLE slurm_submissions (
  id            INTEGER PRIMARY KEY,
  sweep_id      INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  job_id        TEXT NOT NULL,
  submitted     TEXT NOT NULL,
  tasks         INTEGER NOT NULL,
  runs          INTEGER NOT NULL,
  runs_per_task INTEGER NOT NULL,
  script        TEXT NOT NULL,
  manifest      TEXT NOT NULL,
  collected     TEXT
);
CREATE INDEX slurm_submissions_by_sweep ON slurm_submissions(sweep_id);)sql");
}

// Version 3: which process trains a run (store/owner.h), so that two `sweep
// run` processes on one database split a grid's runs instead of both training
// them, and one does not mark the other's live runs interrupted. Rows of older
// versions get NULL: unknown, treated like a dead process (what they were).
void add_run_owner(sqlite3* db) { exec(db, "ALTER TABLE runs ADD COLUMN owner TEXT"); }

// Version 4: one sweep = one grid. A run whose config left the sweep's grid
// (the grid was edited) keeps its row, status and metrics with in_grid = 0;
// the results view, `sweep status` and reports show only in_grid = 1. Rows of
// older versions were all part of their sweep as it stood: 1.
void add_run_in_grid(sqlite3* db) {
  exec(db, "ALTER TABLE runs ADD COLUMN in_grid INTEGER NOT NULL DEFAULT 1 CHECK (in_grid IN (0, 1))");
}

// Version 5: what the sweep's grid was when it was last recorded: its
// fingerprint (grid_fingerprint(): the text, the file's stem, the sweep
// version and the expansion's code) and its run count. A `sweep run` of a grid
// with the same fingerprint whose runs are all done needs no expansion to say
// so. Rows of older versions get NULL: unknown, the grid is expanded.
void add_sweep_fingerprint(sqlite3* db) {
  exec(db, "ALTER TABLE sweeps ADD COLUMN grid_fingerprint TEXT");
  exec(db, "ALTER TABLE sweeps ADD COLUMN grid_runs INTEGER");
}

// Version 6: checkpoints (docs/checkpoints.md). runs.checkpoint is the
// trained model file kept of a done run, relative to the database's checkpoint
// folder (<db stem>.checkpoints/); runs.resumed_from_epoch > 0 says the run's
// first epochs came from a checkpoint of an earlier, interrupted attempt.
// evaluations: a stored model scored on another dataset (`sweep evaluate`).
void add_run_checkpoint(sqlite3* db) {
  exec(db, "ALTER TABLE runs ADD COLUMN checkpoint TEXT");
  exec(db, "ALTER TABLE runs ADD COLUMN resumed_from_epoch INTEGER NOT NULL DEFAULT 0");
  exec(db,
       "CREATE TABLE evaluations ("
       "  id         INTEGER PRIMARY KEY,"
       "  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
       "  dataset    TEXT NOT NULL,"  // the dataset's folder name
       "  data_dir   TEXT NOT NULL,"  // the data directory it was read from
       "  checkpoint TEXT NOT NULL,"  // the model file scored, relative to <db>.d/checkpoints/
       "  images     INTEGER NOT NULL,"
       "  loss REAL, accuracy REAL, precision REAL, recall REAL, f1 REAL,"
       "  created    TEXT NOT NULL)");
  exec(db, "CREATE INDEX evaluations_by_run ON evaluations(run_id)");
}

// Version 7: sweeps.provenance, the machine and build that last ran the
// sweep (JSON, common/provenance.h). NULL for sweeps recorded before.
void add_sweep_provenance(sqlite3* db) { exec(db, "ALTER TABLE sweeps ADD COLUMN provenance TEXT"); }

// Version 8: the cost model's cache of measured step costs (one row per
// machine, build, lane kind and network; schedule/step_costs.h), so that a
// second `sweep plan` and a `sweep run` after a plan measure nothing.
void add_step_costs(sqlite3* db) {
  exec(db,
       "CREATE TABLE step_costs ("
       "  key           TEXT PRIMARY KEY,"  // machine|backend|threads|device|concurrency|precision|optimizer|batch|model
       "  setup         REAL NOT NULL,"     // seconds: session creation and its first step
       "  train_step    REAL NOT NULL,"     // seconds per optimizer step
       "  predict_image REAL NOT NULL,"     // seconds per image in evaluation
       "  measured      TEXT NOT NULL)");
}

// Version 9: step_costs.measure_seconds, the wall time a row's measurement
// took. A plan charges the rows it finds against its time budget, so that a
// second plan (or the run after a plan) does not spend the budget again on
// the networks the first one left to the FLOPs model.
void add_step_cost_seconds(sqlite3* db) { exec(db, "ALTER TABLE step_costs ADD COLUMN measure_seconds REAL"); }

// Version 10: pruning and TPE (docs/search.md). runs.status may be
// 'pruned': the run stopped early by the grid's pruning rule, keeping its
// epochs; runs.pruned_epoch is the epoch it stopped after, and
// runs.continued = 1 marks a pruned run the user had trained on (`sweep run
// --continue-pruned`), which is never pruned again. prune_decisions holds
// every decision a rule made, promoted or pruned, with the value, rank and
// reason. search_trials holds a TPE search's trials in the order they were
// proposed, with their parameters and which sampler chose them.
//
// The status CHECK is widened by editing the table's stored CREATE text,
// SQLite's documented way to change a constraint that every existing row
// already satisfies (lang_altertable.html, "Making Other Kinds Of Table Schema
// Changes"). Rebuilding the table instead would DROP runs, which with foreign
// keys on deletes every run's epochs through their ON DELETE CASCADE.
void widen_status_check(sqlite3* db, const std::string& create) {
  int64_t cookie = 0;
  {
    Statement stmt(db, "PRAGMA schema_version");
    if (stmt.step()) cookie = stmt.column_int(0);
  }
  exec(db, "PRAGMA writable_schema = ON");
  {
    Statement update(db, "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'runs'");
    update.bind_text(1, create).run();
  }
  // A new schema cookie makes every connection, this one included, read the edited text.
  exec(db, "PRAGMA schema_version = " + std::to_string(cookie + 1));
  exec(db, "PRAGMA writable_schema = OFF");
}

void add_search(sqlite3* db) {
  std::string create;
  {
    Statement stmt(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'");
    if (stmt.step()) create = stmt.column_text(0);
  }
  const std::string old_check = "'diverged','interrupted')", new_check = "'diverged','interrupted','pruned')";
  const size_t at = create.find(old_check);
  if (create.find(new_check) != std::string::npos) {
    // Already widened: a database whose user_version was set back by hand.
  } else if (at == std::string::npos || create.find(old_check, at + 1) != std::string::npos) {
    throw RuntimeError("cannot migrate the runs table to schema version 10: its status constraint is not the one "
                       "sweep created");
  } else {
    widen_status_check(db, create.replace(at, old_check.size(), new_check));
  }
  exec(db, "ALTER TABLE runs ADD COLUMN pruned_epoch INTEGER");
  exec(db, "ALTER TABLE runs ADD COLUMN continued INTEGER NOT NULL DEFAULT 0 CHECK (continued IN (0, 1))");
  exec(db, R"sql(
CREATE TABLE prune_decisions (
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch       INTEGER NOT NULL,
  strategy    TEXT NOT NULL,              -- asha | hyperband | median
  bracket     INTEGER NOT NULL DEFAULT 0, -- hyperband's bracket; 0 otherwise
  rung        INTEGER,                    -- 0-based rung (asha, hyperband); NULL for median
  metric      TEXT NOT NULL,
  value       REAL,                       -- the run's value of metric (median: its best so far)
  rank        INTEGER,                    -- 1 = best among the values it was compared with
  competitors INTEGER NOT NULL,           -- how many values it was compared with, its own included
  decision    TEXT NOT NULL CHECK (decision IN ('continue', 'prune')),
  reason      TEXT NOT NULL,
  decided     TEXT NOT NULL,              -- ISO 8601 UTC
  PRIMARY KEY (run_id, epoch)
);
CREATE TABLE search_trials (
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  trial       INTEGER NOT NULL,  -- 0-based, in the order proposed
  run_hash    TEXT NOT NULL,     -- runs.hash of the run that tries it
  params      TEXT NOT NULL,     -- JSON object: search.space path -> value
  sampler     TEXT NOT NULL CHECK (sampler IN ('random', 'tpe')),
  batch       INTEGER NOT NULL,  -- 0 = the random startup trials; then one per proposal round
  proposed    TEXT NOT NULL,     -- ISO 8601 UTC
  PRIMARY KEY (sweep_id, trial)
);)sql");
}

constexpr Migration kMigrations[] = {
    {1, create_version_1},
    {2, add_slurm_submissions},
    {3, add_run_owner},
    {4, add_run_in_grid},
    {5, add_sweep_fingerprint},
    {6, add_run_checkpoint},
    {7, add_sweep_provenance},
    {8, add_step_costs},
    {9, add_step_cost_seconds},
    {10, add_search},
};
static_assert(std::size(kMigrations) == size_t(kSchemaVersion), "one migration step per schema version");

int user_version(sqlite3* db, const std::string& path) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  if (rc == SQLITE_NOTADB) throw InputError(path + " is not a SQLite database");
  if (rc != SQLITE_ROW) throw RuntimeError("cannot read the schema version of " + path + ": " + sqlite3_errmsg(db));
  return version;
}

bool has_table(sqlite3* db, const char* name) {
  Statement stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  stmt.bind_text(1, name);
  return stmt.step();
}

bool is_empty(sqlite3* db) {
  Statement stmt(db, "SELECT COUNT(*) FROM sqlite_master");
  stmt.step();
  return stmt.column_int(0) == 0;
}

void refuse_newer(int version, const std::string& path) {
  if (version > kSchemaVersion)
    throw InputError(path + " has results schema version " + std::to_string(version) + ", but this sweep (" +
                     SWEEP_VERSION + ") knows versions up to " + std::to_string(kSchemaVersion) +
                     ": use a newer sweep to open it");
}

}  // namespace

int migrate(sqlite3* db, const std::string& path, bool read_only) {
  int version = user_version(db, path);
  refuse_newer(version, path);
  if (read_only) {
    // An older database is read as it is (migrations only add): a query of
    // what it has works, one of what it lacks says "no such table".
    if (version == 0) throw InputError(path + " is not a sweep results database (it has no schema version)");
    return version;
  }
  if (version == kSchemaVersion) return version;
  Transaction txn(db);
  version = user_version(db, path);  // another process may have migrated it meanwhile
  refuse_newer(version, path);
  if (version == kSchemaVersion) return version;
  if (version == 0 && !is_empty(db) && !has_table(db, "sweeps"))
    throw InputError(path + " is not a sweep results database (it has other tables and no schema version)");
  for (const Migration& step : kMigrations)
    if (step.to_version > version) step.apply(db);
  exec(db, "PRAGMA user_version = " + std::to_string(kSchemaVersion));
  rebuild_results_view(db);
  txn.commit();
  return kSchemaVersion;
}

namespace {

// The view's fixed columns that come from the config, by the path they show.
const std::map<std::string, std::string>& fixed_config_columns() {
  static const std::map<std::string, std::string> columns = {
      {"train.optimizer", "optimizer"},
      {"train.learning_rate", "learning_rate"},
      {"train.batch_size", "batch_size"},
      {"train.epochs", "epochs"},
      {"variant", "variant"},
  };
  return columns;
}

// The view's columns after the varied ones (name, SQL expression).
const std::vector<std::pair<std::string, std::string>>& tail_columns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"optimizer", "json_extract(r.config, '$.train.optimizer')"},
      {"learning_rate", "json_extract(r.config, '$.train.learning_rate')"},
      {"batch_size", "json_extract(r.config, '$.train.batch_size')"},
      {"epochs", "json_extract(r.config, '$.train.epochs')"},
      {"variant", "r.variant"},
      {"repeat", "r.repeat"},
      {"seed", "r.seed"},
      {"params", "m.params_trainable + m.params_non_trainable"},
      {"params_trainable", "m.params_trainable"},
      {"params_non_trainable", "m.params_non_trainable"},
      {"flops_per_image", "m.flops_per_image"},
      {"epochs_run", "r.epochs_run"},
      {"early_stopped", "r.early_stopped"},
      {"train_loss", "r.train_loss"},
      {"train_accuracy", "r.train_accuracy"},
      {"val_loss", "r.val_loss"},
      {"val_accuracy", "r.val_accuracy"},
      {"test_loss", "r.test_loss"},
      {"test_accuracy", "r.test_accuracy"},
      {"test_precision", "r.test_precision"},
      {"test_recall", "r.test_recall"},
      {"test_f1", "r.test_f1"},
      {"wall_seconds", "r.wall_seconds"},
      {"backend", "r.backend"},
      {"attempts", "r.attempts"},
      {"hash", "r.hash"},
  };
  return columns;
}

const std::vector<std::pair<std::string, std::string>> kHeadColumns = {
    {"sweep", "s.name"}, {"run_id", "r.id"}, {"status", "r.status"}};

bool is_reserved_name(const std::string& name) {
  for (const auto& [column, expr] : kHeadColumns)
    if (column == name) return true;
  for (const auto& [column, expr] : tail_columns())
    if (column == name) return true;
  return false;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

bool is_index(const std::string& part) {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "model.layers.0.filters" -> $."model"."layers"[0]."filters" (SQLite JSON path).
std::string json_path(const std::string& dotted) {
  std::string out = "$";
  for (const std::string& part : split_path(dotted)) out += is_index(part) ? "[" + part + "]" : ".\"" + part + "\"";
  return out;
}

std::string full_name(const std::string& path) {
  std::string name = path;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

std::vector<ResultsColumn> results_varied_columns(const std::vector<std::string>& varied_paths) {
  std::vector<std::string> paths;
  for (const std::string& path : varied_paths)
    if (!fixed_config_columns().count(path) && std::find(paths.begin(), paths.end(), path) == paths.end())
      paths.push_back(path);
  std::map<std::string, int> ends;
  for (const std::string& path : paths) ++ends[split_path(path).back()];
  std::vector<ResultsColumn> columns;
  std::set<std::string> taken;
  for (const std::string& path : paths) {
    const std::string last = split_path(path).back();
    const bool short_ok = ends[last] == 1 && !is_index(last) && !is_reserved_name(last);
    std::string name = short_ok ? last : full_name(path);
    while (taken.count(name) || is_reserved_name(name)) name += "_";  // "a_b.c" vs "a.b_c": keep both
    taken.insert(name);
    columns.push_back({name, path});
  }
  return columns;
}

void rebuild_results_view(sqlite3* db) {
  std::vector<std::string> varied;
  {
    Statement stmt(db, "SELECT varied FROM sweeps ORDER BY id");
    while (stmt.step()) {
      const auto list = nlohmann::json::parse(stmt.column_text(0), nullptr, false);
      if (!list.is_array()) continue;
      for (const auto& path : list)
        if (path.is_string()) varied.push_back(path.get<std::string>());
    }
  }
  std::string sql = "CREATE VIEW results AS SELECT";
  const char* separator = "\n  ";
  auto add = [&](const std::string& name, const std::string& expr) {
    sql += separator + expr + " AS " + sql_identifier(name);
    separator = ",\n  ";
  };
  for (const auto& [name, expr] : kHeadColumns) add(name, expr);
  // A path varied in one sweep is usually fixed in another: fall back to the
  // run's own config, so every run of the database has a value.
  for (const ResultsColumn& column : results_varied_columns(varied))
    add(column.name, "COALESCE(json_extract(r.varied, " + sql_literal("$." + sql_identifier(column.path)) +
                         "), json_extract(r.config, " + sql_literal(json_path(column.path)) + "))");
  for (const auto& [name, expr] : tail_columns()) add(name, expr);
  sql += "\nFROM runs r JOIN sweeps s ON s.id = r.sweep_id LEFT JOIN models m ON m.hash = r.model_hash";
  sql += "\nWHERE r.in_grid = 1";  // a sweep is its current grid (schema version 4)
  exec(db, "DROP VIEW IF EXISTS results");
  exec(db, sql);
}

}  // namespace sweep::store_detail
