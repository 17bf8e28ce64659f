#include "report/data.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/error.h"

namespace sweep::report {
namespace {

// A prepared statement that finalizes itself; columns read by index.
class Query {
 public:
  Query(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw RuntimeError("report: cannot read the database (" + std::string(sqlite3_errmsg(db)) + ") in: " + sql);
  }
  ~Query() { sqlite3_finalize(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw RuntimeError("report: database read failed: " + std::string(sqlite3_errmsg(db_)));
  }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::optional<double> opt_real(int col) const { return null(col) ? std::nullopt : std::optional<double>(real(col)); }
  json json_of(int col, json fallback) const {
    if (null(col)) return fallback;
    json parsed = json::parse(text(col), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return fallback;
    return parsed;  // moved out, not copied (a ?: would copy every run's config)
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A database older than schema version 4 has no runs.in_grid: all its runs
// were in their grid.
bool has_in_grid(sqlite3* db) {
  Query q(db, "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'in_grid'");
  return q.step() && q.integer(0) > 0;
}

// A sweep is its current grid: runs that left it are counted, not shown.
std::string in_grid_condition(const SweepData& sweep, const std::string& table = "") {
  return sweep.has_in_grid ? table + "in_grid = 1" : "1";
}

void load_runs(sqlite3* db, SweepData& sweep) {
  const std::string in_grid = in_grid_condition(sweep);
  {
    Query out(db, "SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND NOT (" + in_grid + ")");
    out.bind(1, sweep.id);
    if (out.step()) sweep.out_of_grid = static_cast<int>(out.integer(0));
    // Sized once: growing a vector of 100,000 runs doubles its memory while it moves.
    Query in(db, "SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND " + in_grid);
    in.bind(1, sweep.id);
    if (in.step()) sweep.runs.reserve(static_cast<size_t>(in.integer(0)));
  }
  Query q(db,
          "SELECT id, hash, config, varied, variant, repeat, seed, model_hash, status, backend, device, threads, "
          "started, finished, wall_seconds, epochs_run, early_stopped, train_loss, train_accuracy, val_loss, "
          "val_accuracy, test_loss, test_accuracy, test_precision, test_recall, test_f1, error "
          "FROM runs WHERE sweep_id = ? AND " + in_grid + " ORDER BY id");
  q.bind(1, sweep.id);
  while (q.step()) {
    RunData r;
    r.id = q.integer(0);
    r.hash = q.text(1);
    r.config = q.json_of(2, json::object());
    r.varied = q.json_of(3, json::object());
    if (!r.varied.is_object()) r.varied = json::object();
    r.variant = q.text(4);
    r.repeat = static_cast<int>(q.integer(5));
    r.seed = q.integer(6);
    r.model_hash = q.text(7);
    r.status = q.text(8);
    r.backend = q.text(9);
    r.device = q.text(10);
    r.threads = static_cast<int>(q.integer(11));
    r.started = q.text(12);
    r.finished = q.text(13);
    r.wall_seconds = q.opt_real(14);
    r.epochs_run = static_cast<int>(q.integer(15));
    r.early_stopped = q.integer(16) != 0;
    r.train_loss = q.opt_real(17);
    r.train_accuracy = q.opt_real(18);
    r.val_loss = q.opt_real(19);
    r.val_accuracy = q.opt_real(20);
    r.test_loss = q.opt_real(21);
    r.test_accuracy = q.opt_real(22);
    r.test_precision = q.opt_real(23);
    r.test_recall = q.opt_real(24);
    r.test_f1 = q.opt_real(25);
    r.error = q.text(26);
    sweep.runs.push_back(std::move(r));
  }
}

// The runs are in id order: an id's index by binary search.
RunData* run_with_id(SweepData& sweep, int64_t id) {
  auto it = std::lower_bound(sweep.runs.begin(), sweep.runs.end(), id,
                             [](const RunData& r, int64_t value) { return r.id < value; });
  return it != sweep.runs.end() && it->id == id ? &*it : nullptr;
}

// Every run's epochs in one statement (one per run made a 100,000-run report
// spend its time preparing statements).
void load_epochs(sqlite3* db, SweepData& sweep, const std::string& in_grid) {
  Query e(db,
          "SELECT e.run_id, e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy, e.seconds, e.images_per_sec "
          "FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.sweep_id = ? AND " + in_grid +
          " ORDER BY e.run_id, e.epoch");
  e.bind(1, sweep.id);
  RunData* run = nullptr;
  while (e.step()) {
    if (!run || run->id != e.integer(0)) run = run_with_id(sweep, e.integer(0));
    if (!run) continue;
    EpochRow row;
    row.epoch = static_cast<int>(e.integer(1));
    row.loss = e.real(2);
    row.accuracy = e.real(3);
    row.val_loss = e.opt_real(4);
    row.val_accuracy = e.opt_real(5);
    row.seconds = e.real(6);
    row.images_per_sec = e.real(7);
    run->epochs.push_back(row);
  }
}

// Each run's matrix size and total (the test-set size), not the matrix itself.
void load_confusion_sizes(sqlite3* db, SweepData& sweep, const std::string& in_grid) {
  // IN, not a join: SQLite then walks the confusion index in run order and
  // groups without a temporary b-tree (2.5 s instead of 0.9 s at 20,000 runs).
  Query c(db,
          "SELECT run_id, MAX(MAX(true_label), MAX(predicted)) + 1, "
          "SUM(CASE WHEN true_label >= 0 AND predicted >= 0 THEN count ELSE 0 END) "
          "FROM confusion WHERE run_id IN (SELECT id FROM runs WHERE sweep_id = ? AND " + in_grid +
          ") GROUP BY run_id ORDER BY run_id");
  c.bind(1, sweep.id);
  while (c.step()) {
    RunData* run = run_with_id(sweep, c.integer(0));
    const int64_t classes = c.integer(1);
    if (!run || classes <= 0 || classes > 1000) continue;
    run->classes = static_cast<int>(classes);
    run->test_images = c.integer(2);
  }
}

bool has_table(sqlite3* db, const char* name) {
  Query q(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, std::string(name));
  return q.step() && q.integer(0) > 0;
}

// The pruning decisions per rung and the TPE trials (none before schema 10).
void load_search(sqlite3* db, SweepData& sweep, const std::string& in_grid) {
  if (!has_table(db, "prune_decisions")) return;
  SearchRecord& s = sweep.search;
  Query d(db,
          "SELECT d.strategy, d.metric, d.bracket, COALESCE(d.rung, -1), d.epoch, COUNT(*), SUM(d.decision = 'continue'), "
          "SUM(d.decision = 'prune') FROM prune_decisions d WHERE d.run_id IN (SELECT id FROM runs WHERE sweep_id = ? AND " +
              in_grid + ") GROUP BY d.strategy, d.metric, d.bracket, COALESCE(d.rung, -1), d.epoch ORDER BY 3, 4, 5");
  d.bind(1, sweep.id);
  while (d.step()) {
    s.strategy = d.text(0);
    s.metric = d.text(1);
    s.rungs.push_back(RungCount{static_cast<int>(d.integer(2)), static_cast<int>(d.integer(3)),
                                static_cast<int>(d.integer(4)), static_cast<int>(d.integer(5)),
                                static_cast<int>(d.integer(6)), static_cast<int>(d.integer(7))});
  }
  Query p(db, "SELECT id, pruned_epoch FROM runs WHERE sweep_id = ? AND status = 'pruned' AND " + in_grid);
  p.bind(1, sweep.id);
  while (p.step()) s.pruned_epoch[p.integer(0)] = static_cast<int>(p.integer(1));
  Query t(db, "SELECT COUNT(*), COALESCE(SUM(sampler = 'tpe'), 0) FROM search_trials WHERE sweep_id = ?");
  t.bind(1, sweep.id);
  if (t.step()) s.trials = static_cast<int>(t.integer(0)), s.tpe_trials = static_cast<int>(t.integer(1));
}

void load_model(sqlite3* db, const std::string& hash, SweepData& sweep) {
  if (hash.empty() || sweep.models.count(hash)) return;
  Query m(db, "SELECT spec, params_trainable, params_non_trainable, flops_per_image FROM models WHERE hash = ?");
  m.bind(1, hash);
  if (!m.step()) return;
  ModelData model;
  model.hash = hash;
  model.spec = m.json_of(0, json());
  model.trainable = m.integer(1);
  model.non_trainable = m.integer(2);
  model.flops_per_image = m.integer(3);
  Query l(db,
          "SELECT idx, name, type, output_shape, params_trainable, params_non_trainable FROM layers "
          "WHERE model_hash = ? ORDER BY idx");
  l.bind(1, hash);
  while (l.step())
    model.layers.push_back({static_cast<int>(l.integer(0)), l.text(1), l.text(2), l.text(3), l.integer(4), l.integer(5)});
  sweep.models.emplace(hash, std::move(model));
}

}  // namespace

std::vector<std::string> sweep_names(sqlite3* db) {
  std::vector<std::string> names;
  Query q(db, "SELECT name FROM sweeps ORDER BY id");
  while (q.step()) names.push_back(q.text(0));
  return names;
}

SweepData load_sweep(sqlite3* db, const std::string& name) {
  SweepData sweep;
  {
    Query q(db,
            "SELECT id, name, description, grid_path, grid_text, varied, created, updated, host, sweep_version "
            "FROM sweeps WHERE name = ?");
    q.bind(1, name);
    if (!q.step()) {
      std::string known;
      for (const auto& n : sweep_names(db)) known += (known.empty() ? "" : ", ") + n;
      throw InputError("no sweep named '" + name + "' in the database" +
                           (known.empty() ? std::string(" (it has no sweeps)") : " (it has: " + known + ")"),
                       {}, "--sweep");
    }
    sweep.id = q.integer(0);
    sweep.name = q.text(1);
    sweep.description = q.text(2);
    sweep.grid_path = q.text(3);
    sweep.grid_text = q.text(4);
    for (const auto& v : q.json_of(5, json::array()))
      if (v.is_string()) sweep.varied.push_back(v.get<std::string>());
    sweep.created = q.text(6);
    sweep.updated = q.text(7);
    sweep.host = q.text(8);
    sweep.version = q.text(9);
  }
  {
    // sweeps.provenance came with schema version 7; a read-only open of an
    // older database has no such column.
    Query has(db, "SELECT COUNT(*) FROM pragma_table_info('sweeps') WHERE name = 'provenance'");
    if (has.step() && has.integer(0) > 0) {
      Query q(db, "SELECT provenance FROM sweeps WHERE id = ?");
      q.bind(1, sweep.id);
      if (q.step()) sweep.provenance = q.json_of(0, json::object());
    }
  }
  sweep.has_in_grid = has_in_grid(db);
  load_runs(db, sweep);
  load_epochs(db, sweep, in_grid_condition(sweep, "r."));
  load_confusion_sizes(db, sweep, in_grid_condition(sweep));
  for (const auto& run : sweep.runs) load_model(db, run.model_hash, sweep);
  load_search(db, sweep, in_grid_condition(sweep));
  return sweep;
}

std::vector<int64_t> load_confusion(sqlite3* db, const RunData& run) {
  std::vector<int64_t> matrix;
  if (run.classes <= 0) return matrix;
  const int64_t classes = run.classes;
  matrix.assign(static_cast<size_t>(classes * classes), 0);
  Query c(db, "SELECT true_label, predicted, count FROM confusion WHERE run_id = ?");
  c.bind(1, run.id);
  while (c.step()) {
    const int64_t t = c.integer(0), p = c.integer(1);
    if (t >= 0 && p >= 0 && t < classes && p < classes) matrix[static_cast<size_t>(t * classes + p)] = c.integer(2);
  }
  return matrix;
}

}  // namespace sweep::report
