// The results database: schema, versions, resume semantics, the results view,
// the read-only query and WAL concurrency.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "store/schema.h"
#include "report/report.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace sweep;
using sweep::test::TempDir;

namespace {

// A planned run without going through the grid: flatten -> dense(units) -> dense(10).
PlannedRun planned(double learning_rate, int batch_size, int hidden_units = 16) {
  PlannedRun run;
  run.config = json{{"train", {{"optimizer", "adam"}, {"learning_rate", learning_rate}, {"batch_size", batch_size}, {"epochs", 1}}},
                    {"model", {{"hidden", hidden_units}}}}.dump();
  run.hash = "h" + std::to_string(learning_rate) + "_" + std::to_string(batch_size) + "_" + std::to_string(hidden_units);
  run.varied = {{"train.learning_rate", learning_rate}, {"train.batch_size", batch_size}};
  run.seed = 7;
  run.model_spec.input = Shape{1, 28, 28, false};
  LayerSpec flatten;
  flatten.kind = LayerKind::flatten;
  flatten.name = "flatten";
  LayerSpec hidden;
  hidden.kind = LayerKind::dense;
  hidden.name = "dense";
  hidden.units = hidden_units;
  hidden.activation = Activation::relu;
  LayerSpec out;
  out.kind = LayerKind::dense;
  out.name = "dense_1";
  out.units = 10;
  out.activation = Activation::softmax;
  run.model_spec.layers = {flatten, hidden, out};
  const int64_t hidden_params = 784 * hidden_units + hidden_units, out_params = int64_t(hidden_units) * 10 + 10;
  run.model.layers = {
      {"flatten", "Flatten", Shape{1, 28, 28, false}, Shape{784, 1, 1, true}, 0, 0, 0},
      {"dense", "Dense", Shape{784, 1, 1, true}, Shape{hidden_units, 1, 1, true}, hidden_params, 0, 2 * 784 * hidden_units},
      {"dense_1", "Dense", Shape{hidden_units, 1, 1, true}, Shape{10, 1, 1, true}, out_params, 0, 2 * hidden_units * 10},
  };
  run.params_trainable = hidden_params + out_params;
  run.model.trainable = run.params_trainable;
  run.flops_per_image = 2 * 784 * hidden_units + 2 * hidden_units * 10;
  run.cost_estimate = 1.5;
  return run;
}

SweepRecord sweep_named(const std::string& name, std::vector<std::string> varied) {
  SweepRecord sweep;
  sweep.name = name;
  sweep.grid_path = name + ".yaml";
  sweep.grid_text = "name: " + name + "\n";
  sweep.varied = std::move(varied);
  return sweep;
}

RunResult done_result(double accuracy, int epochs = 1) {
  RunResult result;
  result.status = RunStatus::done;
  for (int e = 1; e <= epochs; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.loss = 1.0 / e;
    m.accuracy = 0.5 + 0.1 * e;
    m.val_loss = std::nan("");
    m.val_accuracy = std::nan("");
    m.seconds = 0.25;
    m.images_per_sec = 1000;
    result.epochs.push_back(m);
  }
  result.stop_epoch = epochs;
  result.test.loss = 0.3;
  result.test.accuracy = accuracy;
  result.test.precision = result.test.recall = result.test.f1 = accuracy;
  result.test.classes = 2;
  result.test.confusion = {5, 1, 2, 4};
  result.wall_seconds = 0.5;
  result.backend = "ref";
  result.device = "test device";
  return result;
}

std::string cell(const Store::QueryResult& r, size_t row, size_t column) {
  REQUIRE(row < r.rows.size());
  REQUIRE(column < r.rows[row].size());
  return r.rows[row][column].value_or("NULL");
}

std::string scalar(Store& store, const std::string& sql) { return cell(store.query(sql), 0, 0); }

// For statements `query` rightly refuses (PRAGMA journal_mode may switch modes).
std::string raw_scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  return value;
}

}  // namespace

TEST_CASE("a new database gets the whole schema, WAL and the current version") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  CHECK(scalar(*store, "PRAGMA user_version") == std::to_string(kSchemaVersion));
  CHECK(raw_scalar(store->handle(), "PRAGMA journal_mode") == "wal");
  CHECK(raw_scalar(store->handle(), "PRAGMA synchronous") == "1");  // NORMAL
  CHECK(scalar(*store, "PRAGMA foreign_keys") == "1");
  for (const char* table : {"sweeps", "models", "layers", "runs", "epochs", "confusion"})
    CHECK(scalar(*store, std::string("SELECT COUNT(*) FROM sqlite_master WHERE name = '") + table + "'") == "1");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results") == "0");
  store.reset();
  // Opening again neither fails nor changes anything.
  auto again = Store::open(dir.file("r.db"));
  CHECK(scalar(*again, "PRAGMA user_version") == std::to_string(kSchemaVersion));
}

TEST_CASE("a database from a newer sweep is refused, naming both versions") {
  TempDir dir("store_test");
  const std::string path = dir.file("new.db");
  Store::open(path).reset();
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  for (auto mode : {Store::Mode::read_write, Store::Mode::read_only}) {
    try {
      Store::open(path, mode);
      FAIL("opened a version 99 database");
    } catch (const InputError& e) {
      const std::string message = e.what();
      CHECK(message.find("99") != std::string::npos);
      CHECK(message.find("up to " + std::to_string(kSchemaVersion)) != std::string::npos);
      CHECK(message.find(path) != std::string::npos);
    }
  }
}

TEST_CASE("an older database is migrated in place, keeping its rows; read-only opens read it as it is") {
  if (kSchemaVersion < 2) return;  // nothing older than the first version
  TempDir dir("store_test");
  const std::string path = dir.file("old.db");
  Store::open(path)->upsert_sweep(sweep_named("kept", {}), {planned(0.001, 32)});
  // Turn it back into a version 1 database: what steps 2 to 6 add is not there
  // yet (the results view goes too: it reads in_grid; opening rebuilds it).
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "DROP VIEW results; DROP TABLE slurm_submissions; ALTER TABLE runs DROP COLUMN in_grid; "
                             "DROP TABLE prune_decisions; DROP TABLE search_trials; ALTER TABLE runs DROP COLUMN continued; ALTER TABLE runs DROP COLUMN pruned_epoch; "
                             "ALTER TABLE runs DROP COLUMN owner; ALTER TABLE sweeps DROP COLUMN grid_fingerprint; "
                             "ALTER TABLE sweeps DROP COLUMN grid_runs; ALTER TABLE runs DROP COLUMN checkpoint; "
                             "ALTER TABLE runs DROP COLUMN resumed_from_epoch; DROP TABLE evaluations; "
                             "ALTER TABLE sweeps DROP COLUMN provenance; DROP TABLE step_costs; PRAGMA user_version = 1",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto reader = Store::open(path, Store::Mode::read_only);
  CHECK(scalar(*reader, "PRAGMA user_version") == "1");
  CHECK(scalar(*reader, "SELECT COUNT(*) FROM runs") == "1");
  CHECK(reader->step_costs({"any key"}).empty());  // no step_costs table before version 8
  reader.reset();

  auto store = Store::open(path);
  CHECK(scalar(*store, "PRAGMA user_version") == std::to_string(kSchemaVersion));
  CHECK(scalar(*store, "SELECT COUNT(*) FROM slurm_submissions") == "0");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE owner IS NULL") == "1");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE in_grid = 1") == "1");
  CHECK(scalar(*store, "SELECT name FROM sweeps") == "kept");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results") == "1");
  // No fingerprint yet: such a sweep is always expanded again.
  CHECK(scalar(*store, "SELECT COUNT(*) FROM sweeps WHERE grid_fingerprint IS NULL AND grid_runs IS NULL") == "1");
  CHECK_FALSE(store->sweep_by_fingerprint("anything").has_value());
  // Version 6: no model kept, not resumed, no evaluations.
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE checkpoint IS NULL AND resumed_from_epoch = 0") == "1");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM evaluations") == "0");
  // Version 7: no provenance for a sweep recorded before it.
  CHECK(scalar(*store, "SELECT COUNT(*) FROM sweeps WHERE provenance IS NULL") == "1");
  // Version 8: an empty cache of step costs.
  CHECK(scalar(*store, "SELECT COUNT(*) FROM step_costs") == "0");
  CHECK(store->step_costs({"any key"}).empty());
}

TEST_CASE("a version 8 cache of step costs: read as it is read-only, its rows keep their times when migrated") {
  TempDir dir("store_test");
  const std::string path = dir.file("v8.db");
  Store::open(path)->save_step_costs({StoredStepCost{"k", 0.01, 0.002, 0.0001, 0.5}});
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "DROP TABLE prune_decisions; DROP TABLE search_trials; ALTER TABLE runs DROP COLUMN continued; ALTER TABLE runs DROP COLUMN pruned_epoch; "
                            "ALTER TABLE step_costs DROP COLUMN measure_seconds; PRAGMA user_version = 8", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  {
    auto reader = Store::open(path, Store::Mode::read_only);
    const auto rows = reader->step_costs({"k"});
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].train_step == doctest::Approx(0.002));
    CHECK(rows[0].measure_seconds == 0);  // not recorded before version 9
  }
  auto store = Store::open(path);
  CHECK(scalar(*store, "PRAGMA user_version") == std::to_string(kSchemaVersion));
  CHECK(scalar(*store, "SELECT COUNT(*) FROM step_costs WHERE measure_seconds IS NULL") == "1");
  store->save_step_costs({StoredStepCost{"k2", 0.01, 0.002, 0.0001, 0.25}});
  const auto rows = store->step_costs({"k", "k2"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].measure_seconds == 0);
  CHECK(rows[1].measure_seconds == doctest::Approx(0.25));
}

TEST_CASE("files that are not sweep databases are refused, missing ones for reading too") {
  TempDir dir("store_test");
  const std::string text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, it is a long enough line of text to fill a header\n";
  CHECK_THROWS_AS(Store::open(text), InputError);

  const std::string other = dir.file("other.db");
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  CHECK_THROWS_WITH_AS(Store::open(other), doctest::Contains("not a sweep results database"), InputError);

  CHECK_THROWS_WITH_AS(Store::open(dir.file("missing.db"), Store::Mode::read_only),
                       doctest::Contains("no results database"), InputError);
  CHECK_FALSE(fs::exists(dir.file("missing.db")));
}

TEST_CASE("a sweep is found by its grid's fingerprint, with its count of runs and of done runs") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  auto sweep = sweep_named("lr", {"train.learning_rate"});
  sweep.fingerprint = "f1";
  std::vector<PlannedRun> runs = {planned(0.001, 32), planned(0.01, 32)};
  const int64_t id = store->upsert_sweep(sweep, runs);
  auto progress = store->sweep_by_fingerprint("f1");
  REQUIRE(progress.has_value());
  CHECK(progress->name == "lr");
  CHECK(progress->runs == 2);
  CHECK(progress->done == 0);
  for (const RunRow& row : store->runs_of(id)) {
    store->start_run(row.id, "ref", "cpu", 1);
    store->finish_run(row.id, done_result(0.9));
  }
  CHECK(store->sweep_by_fingerprint("f1")->done == 2);
  CHECK_FALSE(store->sweep_by_fingerprint("f2").has_value());
  CHECK_FALSE(store->sweep_by_fingerprint("").has_value());
  // The grid changed (a third value): the new fingerprint replaces the old,
  // and its done runs are only those still in the grid.
  sweep.fingerprint = "f2";
  runs = {planned(0.001, 32), planned(0.1, 32), planned(1.0, 32)};
  store->upsert_sweep(sweep, runs);
  CHECK_FALSE(store->sweep_by_fingerprint("f1").has_value());
  progress = store->sweep_by_fingerprint("f2");
  REQUIRE(progress.has_value());
  CHECK(progress->runs == 3);
  CHECK(progress->done == 1);
  // Read-only opens answer too (sweep run asks before it writes anything).
  store.reset();
  CHECK(Store::open(dir.file("r.db"), Store::Mode::read_only)->sweep_by_fingerprint("f2")->runs == 3);
}

TEST_CASE("upsert_sweep keeps existing runs' status and adds new cells") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  const auto sweep = sweep_named("lr", {"train.learning_rate"});
  std::vector<PlannedRun> runs = {planned(0.001, 32), planned(0.01, 32), planned(0.1, 32)};
  const int64_t id = store->upsert_sweep(sweep, runs);
  auto rows = store->runs_of(id);
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) CHECK(row.status == RunStatus::pending);

  store->start_run(rows[0].id, "ref", "cpu", 1);
  store->finish_run(rows[0].id, done_result(0.9));
  store->start_run(rows[1].id, "ref", "cpu", 1);
  RunResult failed;
  failed.status = RunStatus::failed;
  failed.error = "out of memory";
  store->finish_run(rows[1].id, failed);

  runs.push_back(planned(1.0, 32));
  CHECK(store->upsert_sweep(sweep, runs) == id);
  rows = store->runs_of(id);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].status == RunStatus::done);
  CHECK(rows[0].attempts == 1);
  CHECK(rows[1].status == RunStatus::failed);
  CHECK(rows[2].status == RunStatus::pending);
  CHECK(rows[3].status == RunStatus::pending);
  CHECK(rows[3].hash == runs[3].hash);
  CHECK(store->run_by_hash(runs[0].hash)->status == RunStatus::done);
  CHECK_FALSE(store->run_by_hash("no such hash").has_value());
  // The done run's metrics survived; the models table holds the one architecture.
  CHECK(scalar(*store, "SELECT test_accuracy FROM runs WHERE id = " + std::to_string(rows[0].id)) == "0.9");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM models") == "1");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM layers") == "3");
  CHECK(scalar(*store, "SELECT output_shape FROM layers WHERE idx = 1") == "(None, 16)");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM sweeps") == "1");
  // A retry starts clean and counts the attempt.
  store->start_run(rows[1].id, "ref", "cpu", 2);
  CHECK(store->runs_of(id)[1].attempts == 2);
  CHECK(scalar(*store, "SELECT error IS NULL FROM runs WHERE id = " + std::to_string(rows[1].id)) == "1");
}

TEST_CASE("epochs and results are stored as numbers, NaN as NULL, with the confusion matrix") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  const int64_t id = store->upsert_sweep(sweep_named("s", {}), {planned(0.001, 64)});
  const int64_t run = store->runs_of(id)[0].id;
  store->start_run(run, "cpu", "test cpu", 2);
  const RunResult result = done_result(0.75, 2);
  store->record_epoch(run, result.epochs[0]);
  CHECK(scalar(*store, "SELECT epochs_run FROM runs") == "1");
  CHECK(scalar(*store, "SELECT status FROM runs") == "running");
  store->finish_run(run, result);
  CHECK(scalar(*store, "SELECT COUNT(*) FROM epochs WHERE run_id = " + std::to_string(run)) == "2");
  CHECK(scalar(*store, "SELECT typeof(loss) || typeof(val_loss) FROM epochs WHERE epoch = 2") == "realnull");
  CHECK(scalar(*store, "SELECT typeof(epochs_run) || typeof(test_f1) FROM runs") == "integerreal");
  CHECK(scalar(*store, "SELECT count FROM confusion WHERE true_label = 1 AND predicted = 0") == "2");
  CHECK(scalar(*store, "SELECT SUM(count) FROM confusion") == "12");
  CHECK(scalar(*store, "SELECT device FROM runs") == "test device");
}

TEST_CASE("results view: one column per varied path, fixed columns, GROUP BY works") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  std::vector<PlannedRun> runs;
  for (double lr : {0.001, 0.01})
    for (int batch : {32, 64}) runs.push_back(planned(lr, batch));
  const int64_t id = store->upsert_sweep(sweep_named("grid", {"train.learning_rate", "train.batch_size"}), runs);
  const auto rows = store->runs_of(id);
  const double accuracy[] = {0.9, 0.8, 0.6, 0.4};
  for (size_t i = 0; i < rows.size(); ++i) {
    store->start_run(rows[i].id, "ref", "cpu", 1);
    store->finish_run(rows[i].id, done_result(accuracy[i]));
  }
  const auto grouped = store->query("SELECT learning_rate, AVG(test_accuracy) FROM results GROUP BY 1 ORDER BY 1");
  REQUIRE(grouped.rows.size() == 2);
  CHECK(cell(grouped, 0, 0) == "0.001");
  CHECK(std::stod(cell(grouped, 0, 1)) == doctest::Approx(0.85));
  CHECK(cell(grouped, 1, 0) == "0.01");
  CHECK(std::stod(cell(grouped, 1, 1)) == doctest::Approx(0.5));
  CHECK(grouped.types[0][0] == SQLITE_FLOAT);
  CHECK(scalar(*store, "SELECT params FROM results LIMIT 1") == std::to_string(784 * 16 + 16 + 170));

  // A second sweep varies layer settings that end alike: full paths for those.
  auto other = planned(0.001, 32, 8);
  other.hash = "other";
  other.varied = {{"model.layers.1.units", 8}, {"model.layers.2.units", 10}, {"dataset.transform", "raw"}};
  store->upsert_sweep(sweep_named("layers", {"model.layers.1.units", "model.layers.2.units", "dataset.transform"}),
                      {other});
  const auto columns = store->query("SELECT * FROM results LIMIT 0").columns;
  auto has = [&](const std::string& name) { return std::find(columns.begin(), columns.end(), name) != columns.end(); };
  CHECK(has("model_layers_1_units"));
  CHECK(has("model_layers_2_units"));
  CHECK(has("transform"));
  for (const char* fixed : {"sweep", "run_id", "status", "optimizer", "learning_rate", "batch_size", "epochs",
                            "test_accuracy", "test_f1", "params"})
    CHECK(has(fixed));
  CHECK(std::count(columns.begin(), columns.end(), "learning_rate") == 1);
  CHECK(scalar(*store, "SELECT model_layers_1_units FROM results WHERE sweep = 'layers'") == "8");
  // Runs of the first sweep do not vary it, but the view still has their value: NULL here (no such path).
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results WHERE sweep = 'grid' AND transform IS NULL") == "4");
  CHECK(scalar(*store, "SELECT batch_size FROM results WHERE sweep = 'layers'") == "32");
}

TEST_CASE("results column names: last component, full path when ambiguous, reserved or an index") {
  const auto columns = store_detail::results_varied_columns(
      {"train.learning_rate", "model.layers.0.activation", "model.layers.2.activation", "model.builder.filters.1",
       "dataset.name", "model.layers.0.activation", "train.early_stopping.patience"});
  REQUIRE(columns.size() == 5);
  CHECK(columns[0].name == "model_layers_0_activation");
  CHECK(columns[1].name == "model_layers_2_activation");
  CHECK(columns[2].name == "model_builder_filters_1");
  CHECK(columns[3].name == "name");
  CHECK(columns[4].name == "patience");
  CHECK(store_detail::results_varied_columns({"train.seed"})[0].name == "train_seed");  // `seed` is the runs' column
}

TEST_CASE("query is read-only and takes exactly one statement") {
  TempDir dir("store_test");
  const std::string path = dir.file("r.db");
  Store::open(path)->upsert_sweep(sweep_named("s", {}), {planned(0.001, 32)});
  for (auto mode : {Store::Mode::read_only, Store::Mode::read_write}) {
    auto store = Store::open(path, mode);
    CHECK_THROWS_WITH_AS(store->query("INSERT INTO sweeps (name, created, updated) VALUES ('x', '', '')"),
                         doctest::Contains("read-only"), InputError);
    CHECK_THROWS_WITH_AS(store->query("DROP TABLE runs"), doctest::Contains("read-only"), InputError);
    CHECK_THROWS_WITH_AS(store->query("ATTACH '" + dir.file("x.db") + "' AS x"), doctest::Contains("ATTACH"),
                         InputError);
    CHECK_THROWS_WITH_AS(store->query("PRAGMA foreign_keys = OFF"), doctest::Contains("PRAGMA"), InputError);
    CHECK_THROWS_WITH_AS(store->query("BEGIN"), doctest::Contains("read-only"), InputError);
    CHECK_THROWS_WITH_AS(store->query("SELECT 1; DELETE FROM runs"), doctest::Contains("one SQL statement"),
                         InputError);
    CHECK_THROWS_WITH_AS(store->query("SELEC 1"), doctest::Contains("SQL error"), InputError);
    CHECK_THROWS_AS(store->query("  -- nothing\n"), InputError);
    CHECK(scalar(*store, "SELECT COUNT(*) FROM runs; -- trailing comment\n ;") == "1");
    CHECK(scalar(*store, "SELECT name FROM pragma_table_info('runs') WHERE cid = 0") == "id");
    CHECK_FALSE(fs::exists(dir.file("x.db")));
  }
  auto reader = Store::open(path, Store::Mode::read_only);
  CHECK_THROWS(reader->upsert_sweep(sweep_named("t", {}), {}));
}

TEST_CASE("runs left running by a dead process become interrupted") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  const int64_t id = store->upsert_sweep(sweep_named("s", {}), {planned(0.001, 32), planned(0.01, 32)});
  const auto rows = store->runs_of(id);
  store->start_run(rows[0].id, "ref", "cpu", 1);
  // The process "dies" with run 0 running: its owner becomes one no live
  // process answers to (this pid with another start time: a reused pid).
  // tests/test_store_owner.cpp has the other owners.
  REQUIRE(sqlite3_exec(store->handle(), "UPDATE runs SET owner = owner || '1' WHERE status = 'running'", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  store.reset();

  auto resumed = Store::open(dir.file("r.db"));
  CHECK(resumed->mark_stale_running_interrupted(id) == 1);
  const auto after = resumed->runs_of(id);
  CHECK(after[0].status == RunStatus::interrupted);
  CHECK(after[1].status == RunStatus::pending);
  CHECK(scalar(*resumed, "SELECT error FROM runs WHERE id = " + std::to_string(rows[0].id)).find("ended") !=
        std::string::npos);
  CHECK(resumed->mark_stale_running_interrupted(id) == 0);
}

TEST_CASE("a WAL reader is not blocked by an open write transaction") {
  TempDir dir("store_test");
  const std::string path = dir.file("r.db");
  auto writer = Store::open(path);
  writer->upsert_sweep(sweep_named("s", {}), {planned(0.001, 32)});
  REQUIRE(sqlite3_exec(writer->handle(), "BEGIN IMMEDIATE; UPDATE runs SET status = 'running'", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  const auto start = std::chrono::steady_clock::now();
  auto reader = Store::open(path, Store::Mode::read_only);
  CHECK(scalar(*reader, "SELECT status FROM runs") == "pending");  // the last committed state
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  REQUIRE(sqlite3_exec(writer->handle(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(scalar(*reader, "SELECT status FROM runs") == "running");
}

TEST_CASE("runs on several threads record their epochs through one store") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  std::vector<PlannedRun> runs;
  for (int batch = 1; batch <= 4; ++batch) runs.push_back(planned(0.001, batch));
  const int64_t id = store->upsert_sweep(sweep_named("threads", {"train.batch_size"}), runs);
  const auto rows = store->runs_of(id);
  std::vector<std::thread> threads;
  for (const RunRow& row : rows)
    threads.emplace_back([&store, run = row.id] {
      store->start_run(run, "cpu", "cpu", 1);
      const RunResult result = done_result(0.5, 5);
      for (const EpochMetrics& epoch : result.epochs) store->record_epoch(run, epoch);
      store->finish_run(run, result);
    });
  for (auto& thread : threads) thread.join();
  CHECK(scalar(*store, "SELECT COUNT(*) FROM epochs") == "20");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE status = 'done' AND epochs_run = 5") == "4");
}

TEST_CASE("one sweep = one grid: runs that leave an edited grid are kept but out of it, and come back whole") {
  TempDir dir("store_test");
  auto store = Store::open(dir.file("r.db"));
  // The grid at epochs 1: two runs, both finished.
  const int64_t id = store->upsert_sweep(sweep_named("quick", {"train.learning_rate"}),
                                         {planned(0.001, 32), planned(0.01, 32)});
  for (const RunRow& row : store->runs_of(id)) {
    REQUIRE(store->start_run(row.id, "cpu", "cpu", 1).claimed);
    store->finish_run(row.id, done_result(0.9));
  }
  // Edited: the same learning rates at another batch size, i.e. other configurations.
  GridChange change;
  CHECK(store->upsert_sweep(sweep_named("quick", {"train.learning_rate"}), {planned(0.001, 64), planned(0.01, 64)},
                            &change) == id);
  CHECK(change.left == 2);
  CHECK(change.returned == 0);
  CHECK(change.out == 2);
  const auto rows = store->runs_of(id);
  REQUIRE(rows.size() == 4);
  CHECK(std::count_if(rows.begin(), rows.end(), [](const RunRow& r) { return !r.in_grid; }) == 2);
  for (const RunRow& r : rows) CHECK(r.in_grid == (r.status == RunStatus::pending));  // the old ones are the done ones
  // The results view holds the current grid only; the old rows keep their metrics.
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results WHERE sweep = 'quick'") == "2");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results WHERE sweep = 'quick' AND test_accuracy IS NOT NULL") == "0");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE in_grid = 0 AND status = 'done' AND test_accuracy > 0") == "2");
  // The report sees the current grid and says what it left out.
  const std::string md = report::build_report(store->handle(), "quick", "x").markdown;
  CHECK(md.find("2 (2 pending); not shown: 2 runs of an earlier version of the grid") != std::string::npos);
  // Back to the first grid: its runs return with their results; nothing retrains.
  CHECK(store->upsert_sweep(sweep_named("quick", {"train.learning_rate"}), {planned(0.001, 32), planned(0.01, 32)},
                            &change) == id);
  CHECK(change.left == 2);
  CHECK(change.returned == 2);
  CHECK(scalar(*store, "SELECT COUNT(*) FROM results WHERE sweep = 'quick' AND status = 'done'") == "2");
}

TEST_CASE("version 9 to 10: 'pruned' becomes a status without a table rebuild; epochs and rows are kept") {
  TempDir dir("store_test");
  const std::string path = dir.file("v9.db");
  {
    auto store = Store::open(path);
    const int64_t id = store->upsert_sweep(sweep_named("kept", {}), {planned(0.001, 32), planned(0.01, 32)});
    const int64_t run = store->runs_of(id)[0].id;
    store->start_run(run, "ref", "cpu", 1);
    EpochMetrics m;
    m.epoch = 1;
    store->record_epoch(run, m);
  }
  // The runs table exactly as version 9 made it: the narrower CHECK, no
  // pruned_epoch or continued, no prune_decisions.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw,
                       "DROP VIEW results; DROP TABLE prune_decisions; DROP TABLE search_trials; ALTER TABLE runs DROP COLUMN continued; "
                       "ALTER TABLE runs DROP COLUMN pruned_epoch; PRAGMA writable_schema = ON; "
                       "UPDATE sqlite_master SET sql = replace(sql, ',''pruned'')', ')') WHERE name = 'runs'; "
                       "PRAGMA writable_schema = OFF; PRAGMA user_version = 9",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  CHECK(sqlite3_exec(raw, "UPDATE runs SET status = 'pruned'", nullptr, nullptr, nullptr) == SQLITE_CONSTRAINT);
  sqlite3_close(raw);

  auto store = Store::open(path);
  CHECK(scalar(*store, "PRAGMA user_version") == "10");
  CHECK(scalar(*store, "SELECT COUNT(*) FROM epochs") == "1");  // not cascaded away
  CHECK(scalar(*store, "SELECT COUNT(*) FROM runs WHERE pruned_epoch IS NULL AND continued = 0") == "2");
  CHECK(scalar(*store, "PRAGMA integrity_check") == "ok");
  const int64_t id = store->sweep_by_name("kept")->id;
  const int64_t run = store->runs_of(id)[1].id;
  // The new status on the same connection that migrated, with its decision.
  RunResult pruned;
  pruned.status = RunStatus::pruned;
  pruned.stop_epoch = 1;
  pruned.error = "rung 0 (epoch 1): val_accuracy 0.1000 ranks 2 of 2; the best 1 go on";
  store->start_run(run, "ref", "cpu", 1);
  store->finish_run(run, pruned);
  PruningSpec rule;
  rule.strategy = PruningSpec::Strategy::asha;
  PruneDecision d;
  d.run_id = run;
  d.epoch = 1;
  d.rung = 0;
  d.value = 0.1;
  d.rank = 2;
  d.competitors = 2;
  d.prune = true;
  d.reason = pruned.error;
  store->record_prune_decision(d, rule);
  CHECK(scalar(*store, "SELECT status || ' ' || pruned_epoch FROM runs WHERE id = " + std::to_string(run)) == "pruned 1");
  const std::vector<PruneDecision> back = store->prune_decisions(id);
  REQUIRE(back.size() == 1);
  CHECK(back[0].prune);
  CHECK(back[0].rung == 0);
  CHECK(back[0].value == doctest::Approx(0.1));
  CHECK(back[0].reason == d.reason);
  CHECK(scalar(*store, "SELECT strategy || ' ' || metric || ' ' || decision FROM prune_decisions") ==
        "asha val_accuracy prune");
  // --continue-pruned: pending again, marked continued.
  CHECK(store->continue_pruned(id) == 1);
  CHECK(store->runs_of(id)[1].status == RunStatus::pending);
  CHECK(store->runs_of(id)[1].continued);
  CHECK(store->continue_pruned(id) == 0);
}
