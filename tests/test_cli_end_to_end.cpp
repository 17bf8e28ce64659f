// The `sweep` binary end to end, in a temporary directory: run a tiny grid,
// query it, resume it (nothing retrained), extend an axis (only the new cell
// trains), and the error paths (bad grid, write SQL, missing database).
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

using Result = sweep::test::CliResult;
using sweep::test::read_file;
using sweep::test::TempDir;

// Run `sweep ARGS` in `dir`, capturing stdout and stderr.
Result run_cli(const fs::path& dir, const std::vector<std::string>& args, const std::string& env = "") {
  return sweep::test::run_sweep_cli(dir, args, env);
}

// A tiny sweep: 2,000 MNIST training images, 1 epoch, a small conv net.
std::string grid(const std::string& learning_rates) {
  return "name: tiny\n"
         "dataset: {name: mnist, train_limit: 2000, test_limit: 500, validation_split: 0.1}\n"
         "model:\n"
         "  builder: {conv_depth: 1, filters: 8, kernel: 3, activation: relu, dense: [32]}\n"
         "train:\n"
         "  optimizer: adam\n"
         "  learning_rate: " + learning_rates + "\n"
         "  epochs: 1\n"
         "  batch_size: 32\n";
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// CSV rows (RFC 4180 lines end in CRLF; these fields need no quoting).
std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    std::vector<std::string> fields;
    std::stringstream line(text.substr(start, end - start));
    for (std::string field; std::getline(line, field, ',');) fields.push_back(field);
    rows.push_back(fields);
    start = end + 2;
  }
  return rows;
}

const char* kRunsState = "SELECT hash, status, attempts, started FROM runs ORDER BY id";

}  // namespace

TEST_CASE("sweep run, query, resume and extend a tiny grid") {
  TempDir dir("cli_test");
  write(dir.path / "grid.yaml", grid("[0.001, 0.01]"));
  const Result plan = run_cli(dir.path, {"plan", "grid.yaml", "--summary"});
  INFO(plan.out, plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK(plan.out.find("learning_rate") != std::string::npos);
  CHECK(plan.out.find("2 runs") != std::string::npos);
  CHECK(plan.out.find("Total params:") != std::string::npos);  // the Keras-style summary
  // Planning times each distinct network's steps and caches the timings in
  // the database, and records no sweep; a second plan measures nothing.
  CHECK(plan.out.find("cost model: 1 network(s) and batch size(s) to price: 1 measured") != std::string::npos);
  REQUIRE(fs::exists(dir.path / "results.db"));
  const Result cached = run_cli(dir.path, {"query", "results.db", "SELECT (SELECT COUNT(*) FROM step_costs), "
                                           "(SELECT COUNT(*) FROM sweeps)", "--format", "csv"});
  CHECK(cached.out.find("1,0") != std::string::npos);
  const Result replan = run_cli(dir.path, {"plan", "grid.yaml"});
  CHECK(replan.out.find("0 measured in 0.0s, 1 from earlier measurements") != std::string::npos);

  Result run = run_cli(dir.path, {"run", "grid.yaml", "--plain", "--backend", "cpu"});
  INFO(run.out, run.err);
  REQUIRE(run.exit_code == 0);
  REQUIRE(fs::exists(dir.path / "results.db"));  // the default database, in the working directory
  CHECK(run.err.find("cost model:") == std::string::npos);  // priced from the plan's measurements

  const Result query = run_cli(dir.path, {"query", "results.db",
                                        "SELECT learning_rate, status, test_accuracy FROM results ORDER BY 1",
                                        "--format", "csv"});
  REQUIRE(query.exit_code == 0);
  auto rows = csv_rows(query.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == std::vector<std::string>{"learning_rate", "status", "test_accuracy"});
  CHECK(rows[1][0] == "0.001");
  CHECK(rows[2][0] == "0.01");
  for (size_t r = 1; r < rows.size(); ++r) {
    CHECK(rows[r][1] == "done");
    CHECK(std::stod(rows[r][2]) > 0.5);
  }

  // Resume: the same grid again trains nothing.
  const Result before = run_cli(dir.path, {"query", "results.db", kRunsState, "--format", "json"});
  REQUIRE(before.exit_code == 0);
  run = run_cli(dir.path, {"run", "grid.yaml", "--plain", "--backend", "cpu"});
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("already done") != std::string::npos);
  const Result after = run_cli(dir.path, {"query", "results.db", kRunsState, "--format", "json"});
  CHECK(after.out == before.out);

  // A new value on the axis: only its cell trains.
  write(dir.path / "grid.yaml", grid("[0.001, 0.01, 0.003]"));
  run = run_cli(dir.path, {"run", "grid.yaml", "--plain", "--backend", "cpu"});
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("2 already done, 1 to train") != std::string::npos);
  const auto old_runs = nlohmann::json::parse(before.out);
  const auto new_runs = nlohmann::json::parse(run_cli(dir.path, {"query", "results.db", kRunsState, "--format", "json"}).out);
  REQUIRE(old_runs.size() == 2);
  REQUIRE(new_runs.size() == 3);
  CHECK(new_runs[0] == old_runs[0]);
  CHECK(new_runs[1] == old_runs[1]);
  CHECK(new_runs[2]["status"] == "done");
  CHECK(new_runs[2]["attempts"] == 1);  // a number, not a string

  const Result ls = run_cli(dir.path, {"ls", "results.db"});
  REQUIRE(ls.exit_code == 0);
  CHECK(ls.out.find("tiny") != std::string::npos);

  // An invalid grid exits 2 naming file:line and leaves the database alone.
  {
    const std::string db_before = read_file(dir.path / "results.db");
    write(dir.path / "bad.yaml", grid("[0.001, -1]"));
    const Result bad = run_cli(dir.path, {"run", "bad.yaml"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("sweep: error: ") == 0);
    CHECK(bad.err.find("bad.yaml:7") != std::string::npos);  // the learning_rate line
    CHECK(read_file(dir.path / "results.db") == db_before);

    const Result fresh = run_cli(dir.path, {"run", "bad.yaml", "--db", "fresh.db"});
    CHECK(fresh.exit_code == 2);
    CHECK_FALSE(fs::exists(dir.path / "fresh.db"));
  }
  // query refuses writes and missing databases with exit 2.
  {
    const Result insert = run_cli(dir.path, {"query", "results.db", "DELETE FROM runs"});
    CHECK(insert.exit_code == 2);
    CHECK(insert.err.find("read-only") != std::string::npos);
    CHECK(run_cli(dir.path, {"query", "results.db", "SELECT COUNT(*) FROM runs", "--format", "csv"}).out ==
          "COUNT(*)\r\n3\r\n");
    const Result missing = run_cli(dir.path, {"query", "nope.db", "SELECT 1"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("nope.db") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "nope.db"));
    CHECK(run_cli(dir.path, {"ls", "nope.db"}).exit_code == 2);
  }
  // The reading commands default to results.db, like `sweep run`, and take --db as run does.
  {
    const Result one = run_cli(dir.path, {"query", "SELECT COUNT(*) FROM runs", "--format", "csv"});
    INFO(one.err);
    CHECK(one.exit_code == 0);
    CHECK(one.out == "COUNT(*)\r\n3\r\n");
    fs::copy_file(dir.path / "results.db", dir.path / "other.db");
    CHECK(run_cli(dir.path, {"query", "--db", "other.db", "SELECT COUNT(*) FROM runs", "--format", "csv"}).out ==
          "COUNT(*)\r\n3\r\n");
    const Result twice = run_cli(dir.path, {"query", "results.db", "SELECT 1", "--db", "other.db"});
    CHECK(twice.exit_code == 2);
    CHECK(twice.err.find("given twice") != std::string::npos);
    for (const char* command : {"ls", "status"}) {
      const Result plain = run_cli(dir.path, {command});
      INFO(command, plain.err);
      CHECK(plain.exit_code == 0);
      CHECK(plain.out.find("tiny") != std::string::npos);
      CHECK(run_cli(dir.path, {command, "--db", "other.db"}).out.find("tiny") != std::string::npos);
    }
    TempDir empty("cli_test_empty");
    const Result none = run_cli(empty.path, {"ls"});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("results.db") != std::string::npos);
  }
}

TEST_CASE("a rerun of an unchanged grid whose runs are all done is told without expanding it") {
  // The sweep records its grid's fingerprint (text, file stem, sweep version,
  // expansion code). Pointing SWEEP_DATA_DIR at an empty folder makes any
  // expansion fail (the dataset headers are checked while expanding), so an
  // exit 0 there shows the grid was not expanded.
  TempDir dir("cli_test");
  fs::create_directories(dir.path / "no_data");
  const std::string no_data = "SWEEP_DATA_DIR=" + sweep::test::shell_quote((dir.path / "no_data").string());
  write(dir.path / "grid.yaml", grid("[0.001, 0.01]"));
  Result run = run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"});
  INFO(run.out, run.err);
  REQUIRE(run.exit_code == 0);
  const Result plan = run_cli(dir.path, {"plan", "grid.yaml"}, no_data);
  CHECK(plan.exit_code == 2);  // expanding needs the data

  run = run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"}, no_data);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "sweep 'tiny': all 2 runs are already done in results.db; nothing to train\n");
  // A backend that cannot run here is still bad input, even with nothing to train.
  CHECK(run_cli(dir.path, {"run", "grid.yaml", "--backend", "tpu"}, no_data).exit_code == 2);

  // Any change to the text (a comment too) means another fingerprint: expanded again.
  write(dir.path / "grid.yaml", grid("[0.001, 0.01]") + "# a comment\n");
  run = run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"}, no_data);
  CHECK(run.exit_code == 2);
  run = run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("already done") != std::string::npos);
  // The same text under another file name may name another sweep: expanded.
  write(dir.path / "other.yaml", grid("[0.001, 0.01]") + "# a comment\n");
  CHECK(run_cli(dir.path, {"run", "other.yaml", "--quiet", "--backend", "cpu"}, no_data).exit_code == 2);

  // A run that is not done (failed, say) is trained again: no shortcut.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open((dir.path / "results.db").string().c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "UPDATE runs SET status = 'failed' WHERE id = 2", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  CHECK(run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"}, no_data).exit_code == 2);
  run = run_cli(dir.path, {"run", "grid.yaml", "--plain", "--backend", "cpu"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("2 runs, 1 already done, 1 to train") != std::string::npos);
  run = run_cli(dir.path, {"run", "grid.yaml", "--quiet", "--backend", "cpu"}, no_data);
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("all 2 runs are already done") != std::string::npos);
}

TEST_CASE("help and version") {
  TempDir dir("cli_test");
  const Result help = run_cli(dir.path, {"--help"});
  CHECK(help.exit_code == 0);
  for (const char* text : {"plan", "run", "query", "ls", "Exit codes", "bad input"})
    CHECK(help.out.find(text) != std::string::npos);
  const Result run_help = run_cli(dir.path, {"run", "--help"});
  CHECK(run_help.exit_code == 0);
  for (const char* text : {"--db", "results.db", "--jobs", "--threads-per-run", "--backend", "--fail-fast", "--quiet",
                           "--plain"})
    CHECK(run_help.out.find(text) != std::string::npos);
  const Result bare = run_cli(dir.path, {});
  CHECK(bare.exit_code == 2);
  CHECK(bare.err.find("Subcommands:") != std::string::npos);
  CHECK(bare.err.find("sweep: error: a subcommand is required") != std::string::npos);
  const Result version = run_cli(dir.path, {"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find(SWEEP_VERSION) != std::string::npos);
  const Result bad_flag = run_cli(dir.path, {"run", "grid.yaml", "--backend", "tpu"});
  CHECK(bad_flag.exit_code == 2);
  CHECK(bad_flag.err.find("sweep: error: ") == 0);
}
