// `sweep run` on a pseudo-terminal, as a user sees it: a tiny grid with
// variants, an axis and repeats, at several terminal widths (TIOCSWINSZ),
// with NO_COLOR and with TERM=dumb. The live view's lines must fit the
// width with their metrics whole, name each variant once and no null value,
// colour the statuses unless NO_COLOR; TERM=dumb gets plain log lines. The
// standard output (a file here) has one header line and the table of the
// best runs.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sweep::test::TempDir;

namespace {

// 2 variants x 2 learning rates x 2 repeats = 8 runs of 2 epochs on the plain
// C++ backend: a few seconds, long enough for the live view to draw them.
void write_grid(const fs::path& path) {
  std::ofstream(path) << "name: ui\n"
                         "dataset:\n  train_limit: 2048\n  test_limit: 128\n"
                         "model:\n  layers:\n"
                         "    - {type: flatten}\n"
                         "    - {type: dense, units: 16, activation: relu}\n"
                         "    - {type: dense, units: 10, activation: softmax}\n"
                         "train:\n  epochs: 2\n  batch_size: 32\n  learning_rate: [0.001, 0.01]\n"
                         "repeats: 2\n"
                         "variants:\n"
                         "  - {name: small}\n"
                         "  - name: wide\n"
                         "    model:\n      layers:\n"
                         "        - {type: flatten}\n"
                         "        - {type: dense, units: 32, activation: relu}\n"
                         "        - {type: dense, units: 10, activation: softmax}\n";
}

struct Session {
  int exit_code = -1;
  std::string terminal;  // what the pty showed: the live view (stderr)
  std::string out;       // standard output, to a file
};

// Runs `sweep run grid.yaml` in `dir` on a pty of `columns` columns, with
// TERM=`term` and NO_COLOR=`no_color` ("" = unset).
Session run_on_pty(const TempDir& dir, int columns, const char* term, const char* no_color) {
  winsize size{};
  size.ws_row = 40;
  size.ws_col = static_cast<unsigned short>(columns);
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(dir.path.c_str()) != 0) ::_exit(126);
    ::setenv("TERM", term, 1);
    if (*no_color) ::setenv("NO_COLOR", no_color, 1); else ::unsetenv("NO_COLOR");
    const int out = ::open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    const char* argv[] = {SWEEP_BINARY, "run", "grid.yaml", "--backend", "ref", "--jobs", "2",
                          "--threads-per-run", "1", nullptr};
    ::execv(SWEEP_BINARY, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  Session session;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{master, POLLIN, 0};
    if (::poll(&fd, 1, 1000) <= 0) continue;
    const ssize_t got = ::read(master, buffer, sizeof buffer);
    if (got <= 0) break;  // EIO: the child and its pty are gone
    session.terminal.append(buffer, static_cast<size_t>(got));
  }
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(master);
  session.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  session.out = sweep::test::read_file(dir.path / "out.txt");
  return session;
}

std::string strip_ansi(const std::string& text) {
  return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*[A-Za-z]"), "");
}

// The terminal's lines as shown: escape sequences and carriage returns gone.
std::vector<std::string> shown_lines(const std::string& terminal) {
  std::vector<std::string> lines;
  std::stringstream in(terminal);
  for (std::string line; std::getline(in, line);) {
    line = strip_ansi(line);
    line.erase(std::remove(line.begin(), line.end(), '\r'), line.end());
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

const std::regex kProgress("epoch [12]/2 (\\[[#.]+\\] )?([0-9]+/[0-9]+ )?loss [0-9]+\\.[0-9]{4} acc [01]\\.[0-9]{4}$");

// What holds at every width and with or without colour.
void check_live(const Session& session, int columns) {
  INFO(session.terminal);
  INFO(session.out);
  REQUIRE(session.exit_code == 0);
  int progress = 0, finished = 0;
  for (const std::string& line : shown_lines(session.terminal)) {
    CAPTURE(line);
    CHECK(static_cast<int>(line.size()) < columns);  // the last column stays free: no wrap
    CHECK(line.find("variant=") == std::string::npos);
    CHECK(line.find("null") == std::string::npos);
    if (std::regex_search(line, kProgress)) ++progress;
    if (line.find(" done in ") != std::string::npos) {
      ++finished;
      CHECK(line.find("test_accuracy") != std::string::npos);
      CHECK((line.find("[small]") == std::string::npos || line.find("[small]") == line.rfind("[small]")));
    }
  }
  CHECK(progress > 0);
  CHECK(finished == 8);
  // One header line, on standard output.
  CHECK(std::count(session.out.begin(), session.out.end(), '\n') >= 3);
  CHECK(session.out.find("8 runs, 0 already done, 8 to train") != std::string::npos);
  CHECK(session.out.find("to train") == session.out.rfind("to train"));
  CHECK(session.terminal.find("to train") == std::string::npos);
}

}  // namespace

TEST_CASE("the live view at several terminal widths, coloured") {
  for (int columns : {60, 100, 140}) {
    CAPTURE(columns);
    TempDir dir("pty_width");
    write_grid(dir.path / "grid.yaml");
    const Session session = run_on_pty(dir, columns, "xterm-256color", "");
    check_live(session, columns);
    CHECK(session.terminal.find("\x1b[32mdone\x1b[0m") != std::string::npos);  // green
    if (columns >= 140) {
      // Room for every label whole: the variant named once, repeat and seed shown.
      CHECK(strip_ansi(session.terminal).find("[wide] learning_rate=0.01 rep=2/2 seed=1 done in ") !=
            std::string::npos);
    }
  }
}

TEST_CASE("NO_COLOR drops the colours, not the live view") {
  TempDir dir("pty_no_color");
  write_grid(dir.path / "grid.yaml");
  const Session session = run_on_pty(dir, 80, "xterm-256color", "1");
  check_live(session, 80);
  CHECK(session.terminal.find("\x1b[2K") != std::string::npos);  // lines still redrawn in place
  CHECK_FALSE(std::regex_search(session.terminal, std::regex("\x1b\\[3[0-9]m")));
}

TEST_CASE("TERM=dumb gets plain log lines; the run ends with the table of the best runs") {
  TempDir dir("pty_dumb");
  write_grid(dir.path / "grid.yaml");
  const Session session = run_on_pty(dir, 80, "dumb", "");
  INFO(session.terminal);
  INFO(session.out);
  REQUIRE(session.exit_code == 0);
  CHECK(session.terminal.find('\x1b') == std::string::npos);
  // Run lines, and the cost model's line saying what it timed.
  const std::regex stamped("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} (#[0-9]+ |cost model: )");
  int epochs = 0;
  for (const std::string& line : shown_lines(session.terminal)) {
    CAPTURE(line);
    CHECK(std::regex_search(line, stamped));
    if (line.find(" epoch ") != std::string::npos) ++epochs;
  }
  CHECK(epochs == 16);  // 8 runs x 2 epochs, one line each

  // The table: the 5 best of the 8 runs, best first, with their varied values.
  const size_t title = session.out.find("best 5 of 8 done runs by test accuracy:\n");
  REQUIRE(title != std::string::npos);
  std::stringstream table(session.out.substr(title));
  std::vector<std::string> lines;
  for (std::string line; std::getline(table, line);) lines.push_back(line);
  REQUIRE(lines.size() >= 8);  // title, header, rule, 5 rows
  CHECK(std::regex_search(lines[1], std::regex("run +variant +learning_rate +rep +seed +test_acc +test_loss +time")));
  double previous = 2;
  for (size_t row = 3; row < 8; ++row) {
    CAPTURE(lines[row]);
    std::smatch match;
    const std::regex row_pattern(
        "^ *#[1-8] +(small|wide) +0\\.0?01 +[12]/2 +[01] +([01]\\.[0-9]{4}) +[0-9.]+ +[0-9.]+s$");
    REQUIRE(std::regex_search(lines[row], match, row_pattern));
    const double accuracy = std::stod(match[2]);
    CHECK(accuracy <= previous);
    previous = accuracy;
  }
}

TEST_CASE("--quiet prints no table") {
  TempDir dir("quiet");
  write_grid(dir.path / "grid.yaml");
  const auto run = sweep::test::run_sweep_cli(dir.path, {"run", "grid.yaml", "--backend", "ref", "--jobs", "2",
                                                          "--threads-per-run", "1", "--quiet"});
  INFO(run.out, run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("best ") == std::string::npos);
  CHECK(run.out.find("to train") == std::string::npos);
  CHECK(run.err.empty());
}
