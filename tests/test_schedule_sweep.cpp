// run_sweep in process on tiny networks (ref backend, 512-image subsets):
// concurrency does not change results, failures stay isolated, done runs are
// skipped, --fail-fast stops the rest, and a signal ends the sweep cleanly.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "grid/grid.h"
#include "schedule/scheduler.h"
#include "store/plan.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

using namespace sweep;
namespace fs = std::filesystem;
using sweep::test::TempDir;

namespace {

std::string grid_text(const std::string& train_extra, const std::string& axis, int epochs = 2) {
  return "name: sched\n"
         "dataset:\n  train_limit: 512\n  test_limit: 128\n"
         "model:\n  layers:\n"
         "    - {type: flatten}\n"
         "    - {type: dense, units: 16, activation: relu}\n"
         "    - {type: dense, units: 10, activation: softmax}\n"
         "train:\n  epochs: " + std::to_string(epochs) + "\n  batch_size: 32\n" + train_extra + "  " + axis + "\n";
}

struct Sweep {
  ExpandedGrid grid;
  std::unique_ptr<Store> store;
  int64_t id = 0;
};

Sweep prepare(const std::string& db, const std::string& yaml) {
  Sweep sweep;
  sweep.grid = parse_grid(yaml, "sched.yaml");
  std::vector<PlannedRun> planned;
  for (const auto& run : sweep.grid.runs) planned.push_back(plan_run(run, 0.0));
  SweepRecord record;
  record.name = sweep.grid.name;
  record.grid_path = sweep.grid.path;
  record.grid_text = sweep.grid.text;
  record.varied = sweep.grid.varied;
  sweep.store = Store::open(db);
  sweep.id = sweep.store->upsert_sweep(record, planned);
  return sweep;
}

ScheduleOptions ref_options(int jobs) {
  ScheduleOptions options;
  options.backend = "ref";
  options.jobs = jobs;
  options.threads_per_run = 1;
  options.quiet = true;
  return options;
}

// Every metric of every epoch and run, as text, in a fixed order.
std::vector<std::string> metrics(Store& store) {
  std::vector<std::string> rows;
  for (const auto* sql :
       {"SELECT r.hash, e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy FROM epochs e "
        "JOIN runs r ON r.id = e.run_id ORDER BY r.hash, e.epoch",
        "SELECT hash, status, test_loss, test_accuracy, test_f1 FROM runs ORDER BY hash"}) {
    for (const auto& row : store.query(sql).rows) {
      std::string text;
      for (const auto& cell : row) text += (cell ? *cell : "NULL") + "|";
      rows.push_back(text);
    }
  }
  return rows;
}

int count_status(Store& store, const std::string& status) {
  const auto result = store.query("SELECT COUNT(*) FROM runs WHERE status = '" + status + "'");
  return std::stoi(*result.rows.at(0).at(0));
}

}  // namespace

TEST_CASE("runs side by side give the same metrics as one at a time") {
  const std::string yaml = grid_text("", "learning_rate: [0.001, 0.003, 0.01, 0.03]");
  // Each database in its own folder, removed with its WAL files at the end of the test.
  TempDir sequential_db("schedule"), concurrent_db("schedule");
  Sweep sequential = prepare(sequential_db.file("results.db"), yaml);
  Sweep concurrent = prepare(concurrent_db.file("results.db"), yaml);
  const SweepOutcome one = run_sweep(*sequential.store, sequential.id, sequential.grid, ref_options(1));
  const SweepOutcome four = run_sweep(*concurrent.store, concurrent.id, concurrent.grid, ref_options(4));
  CHECK(one.done == 4);
  CHECK(four.done == 4);
  CHECK(four.exit_code() == 0);
  const auto a = metrics(*sequential.store), b = metrics(*concurrent.store);
  REQUIRE(a.size() == 4 * 2 + 4);
  CHECK(a == b);

  SUBCASE("a second invocation skips the runs that are done") {
    const SweepOutcome again = run_sweep(*concurrent.store, concurrent.id, concurrent.grid, ref_options(4));
    CHECK(again.total == 4);
    CHECK(again.skipped == 4);
    CHECK(again.done == 0);
    CHECK(again.exit_code() == 0);
    CHECK(metrics(*concurrent.store) == b);
  }
}

TEST_CASE("a diverging run is recorded as diverged while the others finish") {
  TempDir db("schedule");
  Sweep sweep = prepare(db.file("results.db"), grid_text("  optimizer: sgd\n", "learning_rate: [0.01, 1.0e12, 0.02]"));
  const SweepOutcome outcome = run_sweep(*sweep.store, sweep.id, sweep.grid, ref_options(2));
  CHECK(outcome.done == 2);
  CHECK(outcome.diverged == 1);
  CHECK(outcome.failed == 0);
  CHECK(outcome.exit_code() == 1);
  CHECK(count_status(*sweep.store, "diverged") == 1);
  CHECK(count_status(*sweep.store, "done") == 2);
  const auto error = sweep.store->query("SELECT error FROM runs WHERE status = 'diverged'");
  REQUIRE(error.rows.size() == 1);
  CHECK(error.rows[0][0].has_value());

  SUBCASE("rerunning redoes only the diverged run (which diverges again)") {
    const SweepOutcome again = run_sweep(*sweep.store, sweep.id, sweep.grid, ref_options(2));
    CHECK(again.skipped == 2);
    CHECK(again.diverged == 1);
  }
}

TEST_CASE("--fail-fast: the first failure stops the sweep, nothing new starts") {
  TempDir db("schedule");
  // One lane; equal estimates keep grid order, so the diverging run is first.
  Sweep sweep = prepare(db.file("results.db"), grid_text("  optimizer: sgd\n", "learning_rate: [1.0e12, 0.01, 0.02, 0.03]"));
  ScheduleOptions options = ref_options(1);
  options.fail_fast = true;
  const SweepOutcome outcome = run_sweep(*sweep.store, sweep.id, sweep.grid, options);
  CHECK(outcome.diverged == 1);
  CHECK(outcome.done == 0);
  CHECK(outcome.exit_code() == 1);
  CHECK(count_status(*sweep.store, "pending") == 3);
}

TEST_CASE("--backend gpu without a usable GPU is an input error before anything runs") {
  TempDir db("schedule");
  Sweep sweep = prepare(db.file("results.db"), grid_text("", "learning_rate: [0.001, 0.01]"));
  ScheduleOptions options = ref_options(1);
  options.backend = "gpu";
  bool has_gpu = false;
  try {
    has_gpu = get_backend("gpu").device_count() > 0;
  } catch (const InputError&) {
  }
  if (!has_gpu) {
    CHECK_THROWS_AS(run_sweep(*sweep.store, sweep.id, sweep.grid, options), InputError);
    CHECK(count_status(*sweep.store, "pending") == 2);
  }
  options.backend = "tpu";
  CHECK_THROWS_AS(run_sweep(*sweep.store, sweep.id, sweep.grid, options), InputError);
}

TEST_CASE("SIGTERM mid-sweep: running runs end interrupted with their epochs kept, the rest stay pending") {
  TempDir db("schedule");
  // Long enough (many epochs) that the signal lands mid-run.
  Sweep sweep = prepare(db.file("results.db"), grid_text("", "learning_rate: [0.001, 0.002, 0.003, 0.004]", 200));
  std::atomic<bool> finished{false};
  std::thread signaller([&] {
    // Send the signal once some epoch is committed (read through a second connection).
    auto reader = Store::open(db.file("results.db"), Store::Mode::read_only);
    while (!finished) {
      const auto rows = reader->query("SELECT COUNT(*) FROM epochs").rows;
      if (!rows.empty() && std::stoi(*rows[0][0]) > 0) {
        ::kill(::getpid(), SIGTERM);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const SweepOutcome outcome = run_sweep(*sweep.store, sweep.id, sweep.grid, ref_options(2));
  finished = true;
  signaller.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(outcome.interrupted_by_signal);
  CHECK(outcome.exit_code() == 1);
  CHECK(outcome.interrupted >= 1);
  CHECK(count_status(*sweep.store, "running") == 0);
  CHECK(count_status(*sweep.store, "interrupted") == outcome.interrupted);
  CHECK(count_status(*sweep.store, "pending") == 4 - outcome.interrupted - outcome.done);
  // The interrupted runs keep the epochs they finished.
  const auto kept = sweep.store->query(
      "SELECT COUNT(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.status = 'interrupted'");
  CHECK(std::stoi(*kept.rows[0][0]) >= 1);
  CHECK(seconds < 30);
  MESSAGE("interrupted after ", seconds, " s: ", outcome.interrupted, " interrupted, ", outcome.done, " done");
}
