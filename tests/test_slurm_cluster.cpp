// The Slurm executor on a real (single-node) Slurm cluster, started with
// start-slurm.sh: a grid through `sweep run --executor slurm --wait` gives the
// same runs and metrics as the same grid run locally; and a job array
// cancelled mid-way, collected and resubmitted ends with every run done once;
// runs a live local `sweep run` is training are not submitted too.
// Skipped, with a message saying why, where there is no Slurm to use.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cli.h"
#include "slurm/process.h"
#include "slurm/submission.h"
#include "store/owner.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace sweep;

namespace {

using Result = sweep::test::CliResult;
using sweep::test::read_file;
using sweep::test::shell_quote;
using sweep::test::TempDir;

Result sweep_cli(const fs::path& dir, const std::vector<std::string>& args) { return sweep::test::run_sweep_cli(dir, args); }

// Why this machine cannot run the cluster tests, or "" when it can (then the
// cluster is up: start-slurm.sh is idempotent and fast when it already runs).
std::string slurm_unavailable() {
  static const std::string why = [] () -> std::string {
    if (!slurm::find_program("sbatch")) return "sbatch is not installed (not on PATH, /usr/bin or /usr/sbin)";
    const char* env = std::getenv("SWEEP_START_SLURM");
    const fs::path script = env && *env ? fs::path(env) : fs::path(SWEEP_SOURCE_DIR) / ".." / "shared" / "scripts" /
                                                                "start-slurm.sh";
    if (!fs::exists(script)) return "no start-slurm.sh at " + script.string() + " (set SWEEP_START_SLURM)";
    if (::geteuid() != 0) return "start-slurm.sh must run as root";
    const std::string command = "bash " + shell_quote(script.string()) + " > /tmp/sweep_start_slurm.log 2>&1";
    if (std::system(command.c_str()) != 0)
      return "start-slurm.sh failed (see /tmp/sweep_start_slurm.log):\n" + read_file("/tmp/sweep_start_slurm.log");
    return "";
  }();
  return why;
}

// A tiny sweep: a small conv net, 2,000 MNIST training images, 1 epoch.
std::string grid(const std::string& name, const std::string& learning_rates) {
  return "name: " + name + "\n"
         "dataset: {name: mnist, train_limit: 2000, test_limit: 500, validation_split: 0.1}\n"
         "model:\n"
         "  builder: {conv_depth: 1, filters: 4, kernel: 3, activation: relu, dense: [16]}\n"
         "train: {optimizer: adam, learning_rate: " + learning_rates + ", epochs: 1, batch_size: 32}\n";
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Rows of a query as text lines (exact REAL text: equal lines = bit-identical values).
std::vector<std::string> rows(const fs::path& db, const std::string& sql) {
  auto store = Store::open(db.string(), Store::Mode::read_only);
  std::vector<std::string> lines;
  for (const auto& row : store->query(sql).rows) {
    std::string line;
    for (const auto& cell : row) line += cell.value_or("NULL") + "|";
    lines.push_back(line);
  }
  return lines;
}

const char* kRunMetrics =
    "SELECT hash, status, epochs_run, train_loss, train_accuracy, val_loss, val_accuracy, test_loss, test_accuracy, "
    "test_precision, test_recall, test_f1, threads FROM runs ORDER BY hash";
const char* kEpochMetrics =
    "SELECT r.hash, e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy FROM epochs e JOIN runs r ON r.id = "
    "e.run_id ORDER BY r.hash, e.epoch";
const char* kConfusion =
    "SELECT r.hash, c.true_label, c.predicted, c.count FROM confusion c JOIN runs r ON r.id = c.run_id "
    "ORDER BY r.hash, c.true_label, c.predicted";

}  // namespace

TEST_CASE("a grid run through Slurm gives the runs and metrics of the same grid run locally") {
  const std::string why = slurm_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped, no Slurm cluster: " << why);
    return;
  }
  TempDir dir("slurm_same");
  write(dir.path / "grid.yaml", grid("same", "[0.001, 0.003, 0.01]"));
  const std::vector<std::string> threads = {"--backend", "cpu", "--threads-per-run", "1"};
  std::vector<std::string> local = {"run", "grid.yaml", "--db", "local.db", "--plain", "--jobs", "1"};
  local.insert(local.end(), threads.begin(), threads.end());
  const Result here = sweep_cli(dir.path, local);
  INFO(here.out, here.err);
  REQUIRE(here.exit_code == 0);

  std::vector<std::string> on_slurm = {"run", "grid.yaml", "--db", "slurm.db", "--executor", "slurm", "--wait",
                                       "--time", "5"};
  on_slurm.insert(on_slurm.end(), threads.begin(), threads.end());
  const Result there = sweep_cli(dir.path, on_slurm);
  INFO(there.out, there.err);
  REQUIRE(there.exit_code == 0);
  CHECK(there.out.find("submitted Slurm job") != std::string::npos);
  CHECK(there.out.find("3 of 3 runs done") != std::string::npos);

  const auto expected = rows(dir.path / "local.db", kRunMetrics);
  REQUIRE(expected.size() == 3);
  CHECK(rows(dir.path / "slurm.db", kRunMetrics) == expected);
  CHECK(rows(dir.path / "slurm.db", kEpochMetrics) == rows(dir.path / "local.db", kEpochMetrics));
  CHECK(rows(dir.path / "slurm.db", kConfusion) == rows(dir.path / "local.db", kConfusion));
  const auto job = rows(dir.path / "slurm.db", "SELECT s.slurm_job_id = j.job_id, j.tasks, j.runs FROM sweeps s "
                                               "JOIN slurm_submissions j ON j.sweep_id = s.id");
  CHECK(job == std::vector<std::string>{"1|3|3|"});

  // Resubmitting a grid that is all done submits nothing.
  const Result again = sweep_cli(dir.path, on_slurm);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("nothing to") != std::string::npos);
  CHECK(rows(dir.path / "slurm.db", "SELECT COUNT(*) FROM slurm_submissions") == std::vector<std::string>{"1|"});

  const Result status = sweep_cli(dir.path, {"status", "slurm.db"});
  INFO(status.out, status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("3 runs: 3 done") != std::string::npos);
  CHECK(status.out.find("0 pending, 0 running") != std::string::npos);
}

TEST_CASE("a cancelled array is collected and resubmitted: every run done exactly once") {
  const std::string why = slurm_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped, no Slurm cluster: " << why);
    return;
  }
  TempDir dir("slurm_cancel");
  write(dir.path / "grid.yaml", grid("cancel", "[0.001, 0.002, 0.003, 0.004]"));
  const std::vector<std::string> submit = {"run",    "grid.yaml",   "--db", "r.db", "--executor", "slurm",
                                           "--backend", "cpu", "--threads-per-run", "1", "--array-parallelism", "1"};
  const Result first = sweep_cli(dir.path, submit);
  INFO(first.out, first.err);
  REQUIRE(first.exit_code == 0);
  const auto job = rows(dir.path / "r.db", "SELECT slurm_job_id FROM sweeps");
  REQUIRE(job.size() == 1);
  const std::string job_id = job[0].substr(0, job[0].size() - 1);

  // Cancel as soon as one task has finished a run (one task at a time: the rest are still to come).
  const fs::path shards = dir.path / "r.db.d" / "shards";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  bool one_done = false;
  while (!one_done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE(sweep_cli(dir.path, {"collect", "r.db"}).exit_code == 0);
    one_done = rows(dir.path / "r.db", "SELECT COUNT(*) FROM runs WHERE status = 'done'") != std::vector<std::string>{"0|"};
  }
  REQUIRE(one_done);
  const auto scancel = slurm::find_program("scancel");
  REQUIRE(scancel);
  CHECK(slurm::run_command({*scancel, job_id}).exit_code == 0);
  const auto squeue = slurm::find_program("squeue");
  while (std::chrono::steady_clock::now() < deadline &&
         !slurm::run_command({*squeue, "-h", "-j", job_id}).out.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const Result collected = sweep_cli(dir.path, {"collect", "r.db"});
  INFO(collected.out, collected.err);
  REQUIRE(collected.exit_code == 0);
  const auto not_done = rows(dir.path / "r.db", "SELECT COUNT(*) FROM runs WHERE status <> 'done'");
  CHECK(not_done != std::vector<std::string>{"0|"});  // the cancel came before the array's end

  std::vector<std::string> resubmit = submit;
  resubmit.push_back("--wait");
  const Result second = sweep_cli(dir.path, resubmit);
  INFO(second.out, second.err);
  REQUIRE(second.exit_code == 0);
  const std::string left = not_done[0].substr(0, not_done[0].size() - 1);
  CHECK(second.out.find("for " + left + " run") != std::string::npos);  // only what was not done
  CHECK(rows(dir.path / "r.db", "SELECT status, COUNT(*) FROM runs GROUP BY status") ==
        std::vector<std::string>{"done|4|"});
  CHECK(rows(dir.path / "r.db", "SELECT COUNT(*), COUNT(DISTINCT run_id) FROM epochs") ==
        std::vector<std::string>{"4|4|"});

  // Across every shard of both submissions, each run was trained to the end exactly once.
  std::map<std::string, int> done_in_shards;
  for (const auto& entry : fs::directory_iterator(shards))
    if (entry.path().extension() == ".db")
      for (const std::string& hash : rows(entry.path(), "SELECT hash FROM runs WHERE status = 'done'"))
        ++done_in_shards[hash];
  CHECK(done_in_shards.size() == 4);
  for (const auto& [hash, count] : done_in_shards) CHECK_MESSAGE(count == 1, hash);
}

TEST_CASE("a Slurm submission leaves out the runs a live local sweep process is training") {
  const std::string why = slurm_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped, no Slurm cluster: " << why);
    return;
  }
  TempDir dir("slurm_owner");
  write(dir.path / "grid.yaml", grid("owner", "[0.001, 0.002, 0.003]"));
  const std::vector<std::string> local = {"run", "grid.yaml", "--db", "r.db", "--plain", "--backend", "cpu",
                                          "--threads-per-run", "1"};
  REQUIRE(sweep_cli(dir.path, local).exit_code == 0);
  // As a second sweep would leave them: run 1 in training by a live process
  // (this test), runs 2 and 3 not trained yet.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path / "r.db").c_str(), &db) == SQLITE_OK);
    const std::string sql = "UPDATE runs SET status = 'running', owner = '" + sweep::this_process_owner() +
                            "' WHERE id = 1; UPDATE runs SET status = 'pending' WHERE id > 1;";
    CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const Result slurm_run = sweep_cli(dir.path, {"run", "grid.yaml", "--db", "r.db", "--executor", "slurm",
                                                "--backend", "cpu", "--threads-per-run", "1", "--wait"});
  INFO(slurm_run.out, slurm_run.err);
  CHECK(slurm_run.exit_code == 0);
  CHECK(slurm_run.out.find("for 2 runs") != std::string::npos);
  CHECK(slurm_run.out.find("1 run left out: being trained by another sweep process (pid " +
                           std::to_string(::getpid()) + ")") != std::string::npos);
  CHECK(rows(dir.path / "r.db", "SELECT id, status FROM runs ORDER BY id") ==
        std::vector<std::string>{"1|running|", "2|done|", "3|done|"});
}

TEST_CASE("--wait gives up on an array that cannot start by itself (held), naming the reason") {
  const std::string why = slurm_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped, no Slurm cluster: " << why);
    return;
  }
  TempDir dir("slurm_held");
  write(dir.path / "grid.yaml", grid("held", "[0.001, 0.002]"));
  const Result held = sweep_cli(dir.path, {"run", "grid.yaml", "--db", "r.db", "--executor", "slurm", "--backend",
                                           "cpu", "--threads-per-run", "1", "--sbatch-arg=--hold", "--wait"});
  INFO(held.out, held.err);
  const auto job = rows(dir.path / "r.db", "SELECT slurm_job_id FROM sweeps");
  REQUIRE(job.size() == 1);
  const std::string job_id = job[0].substr(0, job[0].size() - 1);
  CHECK(held.exit_code == 2);
  CHECK(held.out.find("2 pending (JobHeldUser), 0 running") != std::string::npos);
  CHECK(held.err.find("Slurm job " + job_id + " cannot start by itself") != std::string::npos);
  CHECK(held.err.find("JobHeldUser") != std::string::npos);
  CHECK(held.err.find("scontrol release " + job_id) != std::string::npos);
  // It is still queued, untouched; clean up.
  const auto scancel = slurm::find_program("scancel");
  REQUIRE(scancel);
  CHECK(slurm::run_command({*scancel, job_id}).exit_code == 0);
}
