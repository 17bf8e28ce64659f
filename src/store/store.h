// The results database (SQLite): sweeps, runs, per-epoch metrics, confusion
// matrices and layer summaries. The schema is a public interface, documented
// in docs/schema.md and versioned in PRAGMA user_version.
//
// Concurrency: a Store's methods are thread-safe (internal mutex); readers are
// never blocked (WAL mode). Several processes may write one database: each
// claims a run (start_run) before training it, so two `sweep run` processes on
// one grid split its runs (store/owner.h). Every epoch is committed as it finishes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "grid/search_spec.h"
#include "model/model.h"
#include "train/trainer.h"

struct sqlite3;

namespace sweep {

inline constexpr int kSchemaVersion = 10;  // 2: slurm_submissions, 3: runs.owner, 4: runs.in_grid,
                                          // 5: sweeps.grid_fingerprint and grid_runs,
                                          // 6: runs.checkpoint and resumed_from_epoch, evaluations,
                                          // 7: sweeps.provenance, 8: step_costs,
                                          // 9: step_costs.measure_seconds,
                                          // 10: 'pruned', runs.pruned_epoch and continued,
                                          // prune_decisions (docs/schema.md)

struct SweepRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string grid_path;
  std::string grid_text;
  std::string created;  // ISO 8601 UTC; filled by the store when empty
  std::string host;     // filled by the store (this machine) when empty
  std::string version;  // sweep version that last ran it; SWEEP_VERSION when empty
  std::vector<std::string> varied;  // dotted config paths that vary across runs
  std::string fingerprint;  // grid_fingerprint() of the grid that was recorded ('' = unknown)
  std::string provenance;   // JSON (common/provenance.h) of the machine and build that last ran it ('' = keep)
};

// A measured step cost (schedule/step_costs.h), cached for later plans and runs.
struct StoredStepCost {
  std::string key;  // StepKey::text(): machine, build, lane and network
  double setup = 0, train_step = 0, predict_image = 0;  // seconds
  double measure_seconds = 0;  // wall time the measurement took; 0 = not recorded (schema 8)
};

// A trial of a TPE search (search_trials), and how its run went.
struct SearchTrial {
  int trial = 0;
  std::string run_hash;
  json params = json::object();  // search.space path -> value
  std::string sampler;           // random | tpe
  int batch = 0;
};
struct TrialOutcome {
  int trial = 0;
  RunStatus status = RunStatus::pending;
  int epochs = 0;      // epochs it trained (a pruned run: up to the one it was pruned after)
  double value = 0;    // the metric after its last epoch (NaN when none)
};

// A sweep whose recorded grid has the fingerprint asked for, and how far it got.
struct SweepProgress {
  std::string name;
  int64_t runs = 0;  // runs of its grid, as recorded when it was last planned
  int64_t done = 0;  // of those, done (and in the grid)
};

// One expanded run as planned (before it trains).
struct PlannedRun {
  std::string hash;
  std::string config;     // canonical JSON text (RunConfig::canonical)
  json varied;            // {"train.learning_rate": 0.001, ...}: this run's values of the varied fields
  std::string variant;
  int repeat = 0;
  uint64_t seed = 0;
  int64_t params_trainable = 0, params_non_trainable = 0;
  int64_t flops_per_image = 0;  // forward
  double cost_estimate = 0;     // seconds (scheduler's model)
  ModelInfo model;              // for the layers table
  ModelSpec model_spec;         // for the models table (its hash and spec); no layers = no model row
};

struct RunRow {
  int64_t id = 0;
  int64_t sweep_id = 0;
  std::string hash;
  RunStatus status = RunStatus::pending;
  int attempts = 0;  // how many times it was started
  std::string owner;  // the process that started its last attempt (store/owner.h); '' when NULL
  bool in_grid = true;  // false: its config left the sweep's grid (kept, but not part of the sweep now)
  bool continued = false;  // a pruned run the user continued (`sweep run --continue-pruned`): never pruned again
};

// What upsert_sweep changed in a sweep's membership. A sweep is its current
// grid: runs whose config is no longer in it stay in the database with
// in_grid = 0 (their status and metrics untouched) and are left out of the
// results view, `sweep status` and the report; a run whose config comes back
// is in the grid again, with what it had.
struct GridChange {
  int left = 0;      // runs that were in the grid before this upsert and are not now
  int returned = 0;  // runs that were out of the grid and are back
  int out = 0;       // runs of the sweep out of its grid after this upsert
};

// What start_run did: claimed the run for this process, or found it taken.
struct Claim {
  bool claimed = false;
  RunStatus status = RunStatus::pending;  // the row's status when not claimed
  std::string owner;                      // the row's owner when not claimed ('' when NULL)
};

// Which runs left 'running' mark_stale_running_interrupted takes as dead.
enum class StaleRuns {
  dead_owners,  // owned by a process of this host that is gone, or by no known process (NULL)
  all_running,  // every one: a database only this process writes (a Slurm task's shard, requeued)
};

class Store {
 public:
  enum class Mode { read_write, read_only };
  // Opens (creating when read_write and missing) and migrates/validates the
  // schema. A database with a newer schema version is refused with InputError.
  static std::unique_ptr<Store> open(const std::string& path, Mode mode = Mode::read_write);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Create or update the sweep called `name` (same name = same sweep; the grid
  // text and varied fields become this grid's) and make sure every planned run
  // exists under it (by hash; existing rows keep their status and metrics).
  // `runs` is the whole grid: the sweep's other runs get in_grid = 0 (see
  // GridChange, written to *change when given). Returns the sweep id.
  int64_t upsert_sweep(const SweepRecord& sweep, const std::vector<PlannedRun>& runs, GridChange* change = nullptr);
  // The same with the runs made one at a time, run_at(0) .. run_at(count - 1):
  // a 100,000-run grid is recorded without holding every PlannedRun at once.
  int64_t upsert_sweep(const SweepRecord& sweep, size_t count, const std::function<PlannedRun(size_t)>& run_at,
                       GridChange* change = nullptr);

  // The sweep last recorded from a grid with this fingerprint (nullopt when
  // none, or in a database older than schema version 5).
  std::optional<SweepProgress> sweep_by_fingerprint(const std::string& fingerprint);

  // A sweep by name (nullopt when the database has none of that name).
  std::optional<SweepRecord> sweep_by_name(const std::string& name);

  // All runs of a sweep, in insertion order.
  std::vector<RunRow> runs_of(int64_t sweep_id);
  // The most recently added run with this hash, in any sweep (runs_of gives
  // one sweep's).
  std::optional<RunRow> run_by_hash(const std::string& hash);

  // A run as `sweep export / predict / evaluate` name it: its id ("12") or a
  // prefix of its hash (6 characters or more). InputError naming the database
  // when there is no such run or a prefix fits several.
  struct RunModel {
    int64_t run_id = 0;
    std::string hash, sweep, status;
    std::string config;      // canonical JSON text
    std::string checkpoint;  // runs.checkpoint ("" = no model kept)
  };
  RunModel run_model(const std::string& run);
  // A stored model scored on another dataset (`sweep evaluate`): a row of
  // the evaluations table.
  void record_evaluation(int64_t run_id, const std::string& dataset, const std::string& data_dir,
                         const std::string& checkpoint, int64_t images, const Evaluation& result);

  // The cost model's cache of measured step costs: the rows of `keys` there
  // are (none from a database older than schema 8 opened read-only), and
  // inserting or replacing rows.
  std::vector<StoredStepCost> step_costs(const std::vector<std::string>& keys);
  void save_step_costs(const std::vector<StoredStepCost>& rows);
  // The scheduler's estimate of each run (id, seconds) on the lane it will
  // likely take: runs.cost_estimate, replacing the planning estimate.
  void set_cost_estimates(const std::vector<std::pair<int64_t, double>>& estimates);

  // Run lifecycle. start_run claims the run for this process, atomically
  // across processes: it succeeds unless the run is 'running' under a live
  // owner (owner_is_stale) or, when expected_attempts >= 0, the run was
  // started again since the caller read it (another process took it, maybe
  // finished it). A claimed run is 'running' with this process as owner and
  // one more attempt; what an earlier attempt left (epochs, confusion matrix,
  // metrics, error) is cleared. A run not claimed is left as it was.
  Claim start_run(int64_t run_id, const std::string& backend, const std::string& device, int threads,
                  int expected_attempts = -1);
  void record_epoch(int64_t run_id, const EpochMetrics& epoch);
  void finish_run(int64_t run_id, const RunResult& result);
  // Pruning (docs/search.md). A decision of the sweep's rule, recorded as
  // made (one per run and epoch: a decision made again replaces it); the
  // decisions of a sweep's runs, for a resumed sweep to restore; the epochs of
  // its done runs (median compares with them); and `--continue-pruned`: the
  // sweep's pruned runs in its grid become pending with continued = 1 (how
  // many).
  void record_prune_decision(const PruneDecision& decision, const PruningSpec& rule);
  std::vector<PruneDecision> prune_decisions(int64_t sweep_id);
  std::vector<std::pair<int64_t, std::vector<EpochMetrics>>> done_run_epochs(int64_t sweep_id);
  int continue_pruned(int64_t sweep_id);

  // A TPE search's trials (docs/search.md): recorded as proposed (a trial
  // number already there keeps its row), read back in order, and each with
  // its run's outcome on `metric` (val_accuracy | val_loss | accuracy | loss).
  void record_trials(int64_t sweep_id, const std::vector<SearchTrial>& trials);
  std::vector<SearchTrial> search_trials(int64_t sweep_id);
  std::vector<TrialOutcome> trial_outcomes(int64_t sweep_id, const std::string& metric);

  // Runs of the sweep left 'running' by a dead process become 'interrupted'
  // (which ones count as dead: StaleRuns). Returns how many.
  int mark_stale_running_interrupted(int64_t sweep_id, StaleRuns which = StaleRuns::dead_owners);

  // Read-only SQL for `sweep query`: rows as strings (NULL -> nullopt; REAL
  // values in their shortest exact form). Exactly one statement; anything
  // that could write (INSERT, DROP, ATTACH, PRAGMA x=y, BEGIN...) is an
  // InputError, whatever the mode the store was opened in.
  struct QueryResult {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::vector<std::vector<int>> types;  // SQLITE_INTEGER / FLOAT / TEXT / NULL per cell
  };
  QueryResult query(const std::string& sql);
  // The same statement, streamed: `on_columns` gets the column names once,
  // before any row (also when there is none); `on_row` gets each row as SQLite
  // steps it, as query() would hold it (the vectors are reused from row to row,
  // so memory stays bounded whatever the row count). on_row returns false to
  // stop early (the reader went away). Same checks and errors as query().
  using ColumnsCallback = std::function<void(const std::vector<std::string>& columns)>;
  using RowCallback =
      std::function<bool(const std::vector<std::optional<std::string>>& values, const std::vector<int>& types)>;
  void query_each(const std::string& sql, const ColumnsCallback& on_columns, const RowCallback& on_row);

  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

 private:
  Store(sqlite3* db, std::string path, Mode mode);
  sqlite3* db_ = nullptr;
  std::string path_;
  Mode mode_;
  bool has_owner_ = true;    // false for a read-only database older than schema version 3
  bool has_in_grid_ = true;  // false for a read-only database older than schema version 4
  bool has_fingerprint_ = true;  // false for a read-only database older than schema version 5
  bool has_step_costs_ = true;   // schema 8: step_costs (a read-only older database lacks it)
  bool has_measure_seconds_ = true;  // schema 9: step_costs.measure_seconds
  bool has_pruning_ = true;          // schema 10: 'pruned', runs.continued, prune_decisions
  std::recursive_mutex mu_;
};

// <db>.d/ (absolute): the folder beside a results database for what is not
// rows: Slurm scripts and shards (docs/slurm.md), checkpoints.
std::filesystem::path results_dir(const std::string& db_path);
// <db>.d/checkpoints/: run <hash>'s checkpoints are in <hash>/ below it
// (docs/checkpoints.md); runs.checkpoint is relative to it.
std::filesystem::path checkpoint_dir(const std::string& db_path);

}  // namespace sweep
