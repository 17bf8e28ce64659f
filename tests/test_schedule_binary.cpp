// End to end through the real `sweep run` binary: SIGINT stops a sweep
// cleanly (exit 1, running runs `interrupted`, finished epochs kept) and the
// same command finishes it; SIGKILL at a random moment loses and repeats no
// finished run: the rerun completes every cell exactly once, continuing the
// runs it caught mid-training from their last epoch's checkpoint, to results
// bit-identical to an uninterrupted sweep's.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "store/store.h"
#include "tests/support/temp_dir.h"

using namespace sweep;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using sweep::test::TempDir;

namespace {

// Six small runs on the plain C++ backend: 20 epochs of 512 images each,
// long enough to be caught mid-run, short enough for CI.
void write_grid(const fs::path& path) {
  std::ofstream(path) << "name: signals\n"
                         "dataset:\n  train_limit: 512\n  test_limit: 128\n"
                         "model:\n  layers:\n"
                         "    - {type: flatten}\n"
                         "    - {type: dense, units: 16, activation: relu}\n"
                         "    - {type: dense, units: 10, activation: softmax}\n"
                         "train:\n  epochs: 20\n  batch_size: 32\n"
                         "  learning_rate: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]\n";
}

// Starts `sweep run` with its output appended to `log`.
pid_t start_sweep(const TempDir& temp, const std::string& db_name = "results.db") {
  const std::string grid = (temp.path / "grid.yaml").string(), db = (temp.path / db_name).string();
  const std::string log = (temp.path / "sweep.log").string();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const char* argv[] = {SWEEP_BINARY, "run", grid.c_str(), "--db", db.c_str(), "--backend", "ref",
                          "--jobs", "2", "--threads-per-run", "1", "--plain", nullptr};
    ::execv(SWEEP_BINARY, const_cast<char* const*>(argv));
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

// The exit code, or nullopt when it ran past `seconds` (then it is killed).
std::optional<int> wait_exit(pid_t pid, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return std::nullopt;
}

// A scalar from the database through a read-only connection; nullopt while
// the database is not there yet or not yet set up.
std::optional<long> scalar(const TempDir& temp, const std::string& sql) {
  const fs::path db = temp.path / "results.db";
  if (!fs::exists(db)) return std::nullopt;
  try {
    auto store = Store::open(db.string(), Store::Mode::read_only);
    const auto rows = store->query(sql).rows;
    if (rows.empty() || !rows[0][0]) return std::nullopt;
    return std::stol(*rows[0][0]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Polls until `ready` holds or the process ends; true when it held.
template <class Ready>
bool wait_until(pid_t pid, Ready ready, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (ready()) return true;
    siginfo_t info{};
    // WNOWAIT: look without reaping, so wait_exit can still collect the code.
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0)
      return false;  // it ended
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

long count(const TempDir& temp, const std::string& where) {
  return scalar(temp, "SELECT COUNT(*) FROM runs WHERE " + where).value_or(-1);
}

}  // namespace

TEST_CASE("SIGINT: exit code 1, running runs interrupted with their epochs, the same command finishes") {
  TempDir temp("schedule_bin");
  write_grid(temp.path / "grid.yaml");
  const pid_t pid = start_sweep(temp);
  const bool caught = wait_until(pid, [&] { return scalar(temp, "SELECT COUNT(*) FROM epochs").value_or(0) > 0; }, 120);
  REQUIRE_MESSAGE(caught, log_text(temp));
  ::kill(pid, SIGINT);
  const auto signalled = Clock::now();
  const auto code = wait_exit(pid, 30);
  const double stop_seconds = std::chrono::duration<double>(Clock::now() - signalled).count();
  REQUIRE_MESSAGE(code.has_value(), log_text(temp));
  CHECK_MESSAGE(*code == 1, log_text(temp));
  CHECK(stop_seconds < 10);
  CHECK(count(temp, "status = 'running'") == 0);
  CHECK(count(temp, "status = 'interrupted'") >= 1);
  CHECK(scalar(temp, "SELECT COUNT(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.status = 'interrupted'")
            .value_or(0) >= 1);
  MESSAGE("stopped ", stop_seconds, " s after SIGINT");

  const pid_t again = start_sweep(temp);
  const auto code_again = wait_exit(again, 300);
  REQUIRE_MESSAGE(code_again.has_value(), log_text(temp));
  CHECK_MESSAGE(*code_again == 0, log_text(temp));
  CHECK(count(temp, "status = 'done'") == 6);
  CHECK(scalar(temp, "SELECT COUNT(*) FROM epochs").value_or(0) == 6 * 20);
}

TEST_CASE("SIGKILL mid-sweep, then the same command: every cell done exactly once") {
  TempDir temp("schedule_bin");
  write_grid(temp.path / "grid.yaml");
  const pid_t pid = start_sweep(temp);
  // Kill it while a run is in the middle of its training: two epochs
  // recorded, so its first epoch's checkpoint is on disk.
  const bool caught = wait_until(
      pid,
      [&] {
        return scalar(temp, "SELECT COUNT(*) FROM epochs e JOIN runs r ON r.id = e.run_id "
                            "WHERE r.status = 'running' GROUP BY r.id ORDER BY 1 DESC LIMIT 1")
                   .value_or(0) >= 2;
      },
      120);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (!caught) MESSAGE("the sweep ended before the kill could land mid-run; checking the resume anyway");

  // What was finished before the kill must survive untouched.
  std::map<long, std::string> finished_before;
  {
    auto store = Store::open((temp.path / "results.db").string(), Store::Mode::read_only);
    for (const auto& row : store->query("SELECT id, finished FROM runs WHERE status = 'done'").rows)
      finished_before[std::stol(*row[0])] = row[1].value_or("");
  }
  const pid_t again = start_sweep(temp);
  const auto code = wait_exit(again, 300);
  REQUIRE_MESSAGE(code.has_value(), log_text(temp));
  CHECK_MESSAGE(*code == 0, log_text(temp));

  auto store = Store::open((temp.path / "results.db").string(), Store::Mode::read_only);
  const auto runs = store->query(
      "SELECT r.id, r.status, r.attempts, r.finished, "
      "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id), "
      "(SELECT COUNT(DISTINCT epoch) FROM epochs e WHERE e.run_id = r.id), "
      "(SELECT MAX(epoch) FROM epochs e WHERE e.run_id = r.id) FROM runs r");
  REQUIRE(runs.rows.size() == 6);
  for (const auto& row : runs.rows) {
    const long id = std::stol(*row[0]);
    CAPTURE(id);
    CHECK(*row[1] == "done");
    CHECK(std::stol(*row[4]) == 20);  // one row per epoch, none repeated
    CHECK(std::stol(*row[5]) == 20);
    CHECK(std::stol(*row[6]) == 20);
    if (finished_before.count(id)) {
      CHECK(std::stol(*row[2]) == 1);  // not run again
      CHECK(row[3].value_or("") == finished_before[id]);
    }
  }
  MESSAGE(finished_before.size(), " runs were done before the kill");
  if (caught) {
    CHECK(log_text(temp).find("resumed from its checkpoint after epoch") != std::string::npos);
    CHECK(count(temp, "resumed_from_epoch > 0") >= 1);
  }

  // The same sweep without a kill: every run's results, to the last bit.
  const pid_t straight = start_sweep(temp, "straight.db");
  const auto straight_code = wait_exit(straight, 300);
  REQUIRE_MESSAGE(straight_code.has_value(), log_text(temp));
  REQUIRE(*straight_code == 0);
  auto reference = Store::open((temp.path / "straight.db").string(), Store::Mode::read_only);
  const std::string exact =
      "SELECT hash, printf('%.17g|%.17g|%.17g|%.17g', test_loss, test_accuracy, train_loss, val_loss), "
      "(SELECT group_concat(v, ',') FROM (SELECT printf('%.17g', loss) AS v FROM epochs e "
      "WHERE e.run_id = r.id ORDER BY epoch)) "
      "FROM runs r ORDER BY hash";
  const auto want = reference->query(exact).rows;
  const auto got = store->query(exact).rows;
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(*want[i][0]);
    CHECK(got[i][1] == want[i][1]);
    CHECK(got[i][2] == want[i][2]);
  }
}
