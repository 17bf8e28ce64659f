#include "report/data.h"

#include <sqlite3.h>

#include <algorithm>
#include <tuple>

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
    return parsed.is_discarded() ? fallback : parsed;
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

void load_runs(sqlite3* db, SweepData& sweep) {
  // A sweep is its current grid: runs that left it are counted, not shown.
  const std::string in_grid = has_in_grid(db) ? "in_grid = 1" : "1";
  {
    Query out(db, "SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND NOT (" + in_grid + ")");
    out.bind(1, sweep.id);
    if (out.step()) sweep.out_of_grid = static_cast<int>(out.integer(0));
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

void load_epochs_and_confusion(sqlite3* db, RunData& run) {
  Query e(db,
          "SELECT epoch, loss, accuracy, val_loss, val_accuracy, seconds, images_per_sec FROM epochs "
          "WHERE run_id = ? ORDER BY epoch");
  e.bind(1, run.id);
  while (e.step()) {
    EpochRow row;
    row.epoch = static_cast<int>(e.integer(0));
    row.loss = e.real(1);
    row.accuracy = e.real(2);
    row.val_loss = e.opt_real(3);
    row.val_accuracy = e.opt_real(4);
    row.seconds = e.real(5);
    row.images_per_sec = e.real(6);
    run.epochs.push_back(row);
  }
  Query c(db, "SELECT true_label, predicted, count FROM confusion WHERE run_id = ? ORDER BY true_label, predicted");
  c.bind(1, run.id);
  std::vector<std::tuple<int64_t, int64_t, int64_t>> cells;
  int64_t classes = 0;
  while (c.step()) {
    cells.emplace_back(c.integer(0), c.integer(1), c.integer(2));
    classes = std::max({classes, c.integer(0) + 1, c.integer(1) + 1});
  }
  if (classes <= 0 || classes > 1000) return;
  run.classes = static_cast<int>(classes);
  run.confusion.assign(static_cast<size_t>(classes * classes), 0);
  for (auto [t, p, n] : cells)
    if (t >= 0 && p >= 0) run.confusion[static_cast<size_t>(t * classes + p)] = n;
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
  load_runs(db, sweep);
  for (auto& run : sweep.runs) {
    load_epochs_and_confusion(db, run);
    load_model(db, run.model_hash, sweep);
  }
  return sweep;
}

}  // namespace sweep::report
