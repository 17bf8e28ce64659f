// Searches end to end through the real `sweep run` binary: an asha grid
// prunes runs at its rungs and records why; `--continue-pruned` trains them
// on from their checkpoints; SIGKILL mid-search, then the same command,
// gives the very decisions of an uninterrupted search. A TPE search with an
// asha pruner is the same search for the same seed and batch size, killed
// and resumed or not.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

using namespace sweep;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using sweep::test::TempDir;

namespace {

// Eight small MLPs, 9 epochs of 512 images: rungs after epochs 1 and 3.
void write_grid(const fs::path& path) {
  std::ofstream(path) << "name: pruned\n"
                         "dataset:\n  train_limit: 512\n  test_limit: 128\n"
                         "model:\n  layers:\n"
                         "    - {type: flatten}\n"
                         "    - {type: dense, units: 16, activation: relu}\n"
                         "    - {type: dense, units: 10, activation: softmax}\n"
                         "train:\n  batch_size: 32\n"
                         "  learning_rate: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.3, 1.0]\n"
                         "search: {strategy: asha, metric: val_accuracy, min_epochs: 1, max_epochs: 9, "
                         "reduction_factor: 3}\n";
}

// A TPE search with an asha pruner over learning rate and width: 12 trials,
// 4 random, then batches of 2, 6 epochs of 512 images each.
void write_tpe_grid(const fs::path& path) {
  std::ofstream(path) << "name: tpe\n"
                         "dataset:\n  train_limit: 512\n  test_limit: 128\n"
                         "model:\n  builder: {conv_depth: 0, dense: [16]}\n"
                         "train:\n  batch_size: 32\n"
                         "search:\n  strategy: tpe\n  pruner: asha\n  max_epochs: 6\n  min_epochs: 2\n"
                         "  reduction_factor: 2\n  trials: 12\n  startup_trials: 4\n  batch: 2\n  seed: 5\n"
                         "  space:\n    train.learning_rate: {log_uniform: [0.0001, 1.0]}\n"
                         "    model.builder.dense: {choice: [[8], [16], [32]]}\n";
}

// `sweep run` with its output appended to sweep.log; one run at a time, so
// the order in which runs reach their rungs (and so every decision) is fixed.
pid_t start_sweep(const TempDir& temp, const std::string& db_name, const std::vector<std::string>& extra = {}) {
  const std::string grid = (temp.path / "grid.yaml").string(), db = (temp.path / db_name).string();
  const std::string log = (temp.path / "sweep.log").string();
  std::vector<std::string> args = {SWEEP_BINARY, "run", grid, "--db", db, "--backend", "ref", "--jobs", "1",
                                   "--threads-per-run", "1", "--plain"};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(SWEEP_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string log_text(const TempDir& temp) {
  std::ifstream in(temp.path / "sweep.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sweep_run(const TempDir& temp, const std::string& db, const std::vector<std::string>& extra = {}) {
  return wait_exit(start_sweep(temp, db, extra));
}

// `sweep report` of `db` into report.md; its text.
std::string report_of(const TempDir& temp, const std::string& db) {
  const sweep::test::CliResult report =
      sweep::test::run_sweep_cli(temp.path, {"report", "--db", db, "-o", "report.md"});
  REQUIRE_MESSAGE(report.exit_code == 0, report.err);
  return sweep::test::read_file(temp.path / "report.md");
}

std::vector<std::vector<std::string>> rows(const TempDir& temp, const std::string& db, const std::string& sql) {
  auto store = Store::open((temp.path / db).string(), Store::Mode::read_only);
  std::vector<std::vector<std::string>> out;
  for (const auto& row : store->query(sql).rows) {
    out.emplace_back();
    for (const auto& cell : row) out.back().push_back(cell.value_or("NULL"));
  }
  return out;
}

long number(const TempDir& temp, const std::string& db, const std::string& sql) {
  return std::stol(rows(temp, db, sql).at(0).at(0));
}

// What must hold of any finished asha search of this grid.
// `continued`: after --continue-pruned, when every run is done.
void check_search(const TempDir& temp, const std::string& db, bool continued = false) {
  CAPTURE(db);
  CHECK(number(temp, db, "SELECT COUNT(*) FROM runs WHERE status NOT IN ('done', 'pruned')") == 0);
  CHECK(number(temp, db, "SELECT COUNT(*) FROM runs WHERE status = 'pruned'") >= (continued ? 0 : 1));
  CHECK(number(temp, db, "SELECT COUNT(*) FROM runs WHERE status = 'done'") >= 1);
  // Decisions only at the rungs, one per run and rung reached.
  CHECK(number(temp, db, "SELECT COUNT(*) FROM prune_decisions WHERE epoch NOT IN (1, 3)") == 0);
  // A pruned run keeps exactly its epochs up to the one it was pruned after,
  // where its last decision is 'prune' with a reason; before, only 'continue'.
  for (const auto& r : rows(temp, db,
                            "SELECT r.id, r.pruned_epoch, r.epochs_run, (SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id), "
                            "(SELECT decision || '|' || reason FROM prune_decisions d WHERE d.run_id = r.id "
                            "ORDER BY epoch DESC LIMIT 1), (SELECT COUNT(*) FROM prune_decisions d WHERE d.run_id = r.id "
                            "AND d.decision = 'prune') FROM runs r WHERE r.status = 'pruned'")) {
    CAPTURE(r[0]);
    CHECK(r[1] == r[2]);
    CHECK(r[1] == r[3]);
    CHECK(r[4].rfind("prune|rung ", 0) == 0);
    CHECK(r[5] == "1");
  }
  // A done run went on at every rung and trained all 9 epochs.
  CHECK(number(temp, db,
               "SELECT COUNT(*) FROM runs r WHERE r.status = 'done' AND ((SELECT COUNT(*) FROM epochs e WHERE "
               "e.run_id = r.id) <> 9 OR EXISTS (SELECT 1 FROM prune_decisions d WHERE d.run_id = r.id AND "
               "d.decision = 'prune' AND r.continued = 0))") == 0);
}

// SIGKILL the sweep `pid` once `ready()` holds (polled; a database that is
// not there or not readable yet counts as not ready); false when the sweep
// ended first. Either way the process is reaped.
template <class Ready>
bool kill_when(pid_t pid, Ready ready) {
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // ended first
    bool now = false;
    try {
      now = ready();
    } catch (const std::exception&) {
    }
    if (now) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

const std::string kDecisions =
    "SELECT r.hash, d.epoch, d.rung, d.rank, d.competitors, d.decision, printf('%.17g', d.value) FROM prune_decisions d "
    "JOIN runs r ON r.id = d.run_id ORDER BY r.hash, d.epoch";

}  // namespace

TEST_CASE("asha prunes at its rungs, records why, and --continue-pruned trains the pruned runs on") {
  TempDir temp("pruning_bin");
  write_grid(temp.path / "grid.yaml");
  REQUIRE_MESSAGE(sweep_run(temp, "results.db") == 0, log_text(temp));
  check_search(temp, "results.db");
  const std::string log = log_text(temp);
  CHECK(log.find("pruned after epoch 1") != std::string::npos);
  CHECK(log.find(" pruned, 0 failed") != std::string::npos);
  const long pruned = number(temp, "results.db", "SELECT COUNT(*) FROM runs WHERE status = 'pruned'");
  // The report's Search section: the rule, best so far, per rung, importance.
  const std::string report = report_of(temp, "results.db");
  CHECK(report.find("## Search") != std::string::npos);
  CHECK(report.find("The asha rule judged runs on `val_accuracy` and pruned " + std::to_string(pruned) + " of 8") !=
        std::string::npos);
  CHECK(report.find("### Best so far") != std::string::npos);
  CHECK(report.find("search_best_so_far.svg") != std::string::npos);
  const long judged_1 = number(temp, "results.db", "SELECT COUNT(*) FROM prune_decisions WHERE epoch = 1");
  const long pruned_1 =
      number(temp, "results.db", "SELECT COUNT(*) FROM prune_decisions WHERE epoch = 1 AND decision = 'prune'");
  CHECK(report.find("| 0 | 1 | " + std::to_string(judged_1) + " | " + std::to_string(judged_1 - pruned_1) + " | " +
                    std::to_string(pruned_1) + " |") != std::string::npos);
  CHECK(report.find("### Hyperparameter importance") != std::string::npos);
  CHECK(report.find("| `train.learning_rate` |") != std::string::npos);

  // Again: nothing to train, the pruned runs stay pruned.
  REQUIRE(sweep_run(temp, "results.db") == 0);
  CHECK(log_text(temp).find(std::to_string(pruned) + " pruned before") != std::string::npos);
  CHECK(number(temp, "results.db", "SELECT COUNT(*) FROM runs WHERE status = 'pruned'") == pruned);

  // Continued: from the epoch each was pruned after, to the last, never pruned again.
  std::vector<std::vector<std::string>> before =
      rows(temp, "results.db", "SELECT id, pruned_epoch FROM runs WHERE status = 'pruned' ORDER BY id");
  REQUIRE_MESSAGE(sweep_run(temp, "results.db", {"--continue-pruned"}) == 0, log_text(temp));
  CHECK(log_text(temp).find(std::to_string(pruned) + " pruned runs continue from the epoch it was pruned after") !=
        std::string::npos);
  for (const auto& r : before) {
    CAPTURE(r[0]);
    const auto after = rows(temp, "results.db",
                            "SELECT status, continued, resumed_from_epoch, (SELECT COUNT(*) FROM epochs WHERE run_id = "
                            "runs.id) FROM runs WHERE id = " + r[0]);
    CHECK(after[0][0] == "done");
    CHECK(after[0][1] == "1");
    CHECK(after[0][2] == r[1]);
    CHECK(after[0][3] == "9");
  }
  check_search(temp, "results.db", true);
}

TEST_CASE("SIGKILL mid-search, then the same command: the decisions of an uninterrupted search") {
  TempDir temp("pruning_bin");
  write_grid(temp.path / "grid.yaml");
  REQUIRE(sweep_run(temp, "straight.db") == 0);

  // Kill it once some decisions are made and a run is between epochs.
  const bool caught = kill_when(start_sweep(temp, "killed.db"), [&] {
    return fs::exists(temp.path / "killed.db") &&
           number(temp, "killed.db", "SELECT COUNT(*) FROM prune_decisions") >= 3 &&
           number(temp, "killed.db", "SELECT COUNT(*) FROM runs WHERE status = 'running'") == 1;
  });
  if (caught)
    MESSAGE("killed after ", number(temp, "killed.db", "SELECT COUNT(*) FROM prune_decisions"), " decisions");
  else
    MESSAGE("the search ended before the kill could land; checking the rerun anyway");
  REQUIRE_MESSAGE(sweep_run(temp, "killed.db") == 0, log_text(temp));
  check_search(temp, "killed.db");
  // Bit-identical epochs after a checkpoint resume, and the decisions
  // restored from the database: the same search, decision for decision.
  CHECK(rows(temp, "killed.db", kDecisions) == rows(temp, "straight.db", kDecisions));
  const std::string statuses = "SELECT hash, status, pruned_epoch FROM runs ORDER BY hash";
  CHECK(rows(temp, "killed.db", statuses) == rows(temp, "straight.db", statuses));
}

namespace {

const std::string kTrials =
    "SELECT t.trial, t.sampler, t.batch, t.params, r.status, r.pruned_epoch FROM search_trials t JOIN runs r ON "
    "r.hash = t.run_hash ORDER BY t.trial";

}  // namespace

TEST_CASE("tpe with an asha pruner: the same trials for the same seed and batch, killed and resumed or not") {
  TempDir temp("search_bin");
  write_tpe_grid(temp.path / "grid.yaml");
  REQUIRE_MESSAGE(sweep_run(temp, "straight.db") == 0, log_text(temp));
  const auto trials = rows(temp, "straight.db", kTrials);
  REQUIRE(trials.size() == 12);
  for (size_t i = 0; i < trials.size(); ++i) {
    CAPTURE(i);
    CHECK(trials[i][1] == (i < 4 ? "random" : "tpe"));
    CHECK(trials[i][2] == std::to_string(i < 4 ? 0 : 1 + (i - 4) / 2));  // batches of 2 after the startup
    CHECK((trials[i][4] == "done" || trials[i][4] == "pruned"));
  }
  CHECK(log_text(temp).find("TPE batch 4: 2 new trials (12 of 12)") != std::string::npos);
  // Again, into another database: the same search.
  REQUIRE(sweep_run(temp, "again.db") == 0);
  CHECK(rows(temp, "again.db", kTrials) == trials);
  CHECK(rows(temp, "again.db", kDecisions) == rows(temp, "straight.db", kDecisions));
  // Again with the search done: nothing trains, nothing is proposed.
  REQUIRE(sweep_run(temp, "again.db") == 0);
  CHECK(rows(temp, "again.db", kTrials) == trials);

  // Killed once TPE has proposed a batch, then the same command.
  const bool caught = kill_when(start_sweep(temp, "killed.db"), [&] {
    return fs::exists(temp.path / "killed.db") &&
           number(temp, "killed.db", "SELECT COUNT(*) FROM search_trials WHERE sampler = 'tpe'") >= 2 &&
           number(temp, "killed.db", "SELECT COUNT(*) FROM runs WHERE status = 'running'") >= 1;
  });
  if (caught)
    MESSAGE("killed with ", number(temp, "killed.db", "SELECT COUNT(*) FROM search_trials"), " trials proposed");
  else
    MESSAGE("the search ended before the kill could land; checking the rerun anyway");
  REQUIRE_MESSAGE(sweep_run(temp, "killed.db") == 0, log_text(temp));
  CHECK(rows(temp, "killed.db", kTrials) == trials);
  CHECK(rows(temp, "killed.db", kDecisions) == rows(temp, "straight.db", kDecisions));
}
