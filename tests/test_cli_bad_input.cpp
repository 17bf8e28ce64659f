// Hostile input through the real binary: every case must exit 2 with a
// located message (file:line:col and the field) and leave no database behind,
// and nothing a library throws may reach the user in its own words. Also: a
// closed stdout (`sweep run ... | head -1`) must not stop training.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sweep::test::CliResult;
using sweep::test::run_sweep_cli;
using sweep::test::shell_quote;
using sweep::test::TempDir;

namespace {

const std::string kData = "dataset: {name: mnist, train_limit: 100, test_limit: 50, validation_split: 0.1}\n";
const std::string kNet = "model:\n  builder: {conv_depth: 1, filters: 4, dense: []}\n";

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// `sweep plan g.yaml` and `sweep run g.yaml` on `yaml`: both exit 2, with
// `located` (e.g. "g.yaml:5:21: 'train.batch_size'") and `message` in stderr,
// no database written and no library text ("json.exception", "yaml-cpp").
void expect_refused(const std::string& yaml, const std::string& located, const std::string& message) {
  TempDir dir("bad_input");
  write(dir.path / "g.yaml", yaml);
  // plan never writes a database; run must not either.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"plan", "g.yaml"}, std::vector<std::string>{"run", "g.yaml", "--db", "r.db"}}) {
    const CliResult r = run_sweep_cli(dir.path, args);
    INFO(args[0] << " of:\n" << yaml << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(located) != std::string::npos);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.err.find("exception") == std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "r.db"));
  }
}

}  // namespace

TEST_CASE("integers are range-checked against the type they end up in, never truncated") {
  // 2^32 + 1 once trained as batch size 1.
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, batch_size: 4294967297}\n",
                 "g.yaml:5:32: 'train.batch_size'", "must be at most 2147483647, got 4294967297");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 9223372036854775808}\n",
                 "g.yaml:5:17: 'train.epochs'", "must be at most 2147483647");
  expect_refused("name: t\n" + kData + "model:\n  builder: {conv_depth: 1, filters: 2147483648, dense: []}\n",
                 "'model.builder.filters'", "must be at most 2147483647, got 2147483648");
  expect_refused("name: t\n" + kData + "model:\n  builder: {conv_depth: 1, filters: 4, dense: [4294967296]}\n",
                 "'model.builder.dense.0'", "must be at most 2147483647");
  // Seeds and limits are wider (up to 2^53 - 1, exact in a double), but not unbounded.
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, seed: 18446744073709551617}\n",
                 "g.yaml:5:26: 'train.seed'", "must be at most 9007199254740991");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1}\nrepeats: 4294967296\n",
                 "g.yaml:6:10: 'repeats'", "must be at most");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1}\nsearch: {samples: 99999999999, space: {train.learning_rate: {log_uniform: [0.001, 0.1]}}}\n",
                 "'search.samples'", "must be at most");
}

TEST_CASE("bytes that are not UTF-8 are a located error, in names and anywhere else") {
  expect_refused("name: t\xff\n" + kData + kNet + "train: {epochs: 1}\n", "g.yaml:1:8:",
                 "the grid file is not valid UTF-8: byte 0xFF");
  // Once "[json.exception.type_error.316] invalid UTF-8 byte at index 1", exit 1.
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1}\nvariants:\n  - name: v\xc3\n    train: {epochs: 2}\n",
                 "g.yaml:7:12:", "byte 0xC3 is not part of a valid UTF-8 character");
  expect_refused("name: t\n# a comment \xe2\x82 cut short\n" + kData + kNet + "train: {epochs: 1}\n", "g.yaml:2:13:",
                 "not valid UTF-8");
}

TEST_CASE("control characters YAML forbids are a located error; NUL bytes never reach yaml-cpp's UTF-16 guess") {
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, optimizer: a\x01}\n", "g.yaml:5:32:",
                 "control character U+0001, which YAML does not allow");
  expect_refused("name: t\x7f\n" + kData + kNet + "train: {epochs: 1}\n", "g.yaml:1:8:", "control character U+007F");
  // U+0085 (NEL) is allowed in YAML; U+0080..U+009F otherwise are not.
  expect_refused("name: t\n# \xc2\x9b\n" + kData + kNet + "train: {epochs: 1}\n", "g.yaml:2:3:", "control character U+009B");
  // The fuzzer's find: valid UTF-8 with NUL bytes, which yaml-cpp decoded as
  // UTF-16LE into an unpaired surrogate, then "internal error" (exit 1).
  auto utf16 = [](const std::string& ascii) {
    std::string out;
    for (char c : ascii) out += c, out += '\0';
    return out;
  };
  expect_refused(utf16("name: t\n" + kData + kNet + "train: {epochs: {range: [1, [") + "a\xd8\x80" + std::string(1, '\0') +
                     utf16("]]}\n"),
                 "g.yaml:1:2:", "control character U+0000, which YAML does not allow (only tab, line breaks and printable text); NUL bytes mean UTF-16 or UTF-32: save the file as UTF-8");
}

TEST_CASE("YAML escapes that yaml-cpp decodes to single Latin-1 bytes become the characters they mean") {
  // yaml-cpp writes "\_" (U+00A0) and "\N" (U+0085) as the bytes 0xA0 and 0x85;
  // once that reached JSON as "internal error" (exit 1). The fuzzer's find.
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, optimizer: [\"x\\_\\N\", sgd]}\n", "g.yaml:5:32:",
                 "unknown value 'x\xc2\xa0\xc2\x85'");
}

TEST_CASE("a field written with no value is an error at its key, not a silent default") {
  expect_refused("name: t\n" + kData + kNet + "train:\n  epochs:\n", "g.yaml:6:3: 'train.epochs'",
                 "'epochs' has no value: write one, or leave the key out to get the default (5)");
  expect_refused("name: t\n" + kData + kNet + "train:\n  epochs: ~\n  batch_size: 8\n", "g.yaml:6:3: 'train.epochs'",
                 "'epochs' has no value");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1}\nvariants:\n  - name: v\n    train: {learning_rate: null}\n",
                 "'variants.0.train.learning_rate'", "'learning_rate' has no value");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: [1, ~]}\n", "'train.epochs.1'", "an empty value");
}

TEST_CASE("a grid that expands to no runs names what emptied it") {
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: [1, 2]}\nexclude:\n  - {train.epochs: 1}\n  - {train.epochs: 2}\n",
                 "g.yaml:7:3: 'exclude'", "exclude removes every cell of the grid (all 2): nothing is left to run");
}

TEST_CASE("what the dataset headers tell is checked by plan, before anything is written") {
  expect_refused("name: t\ndataset: {name: mnist, train_limit: 1, validation_split: 0.5}\n" + kNet + "train: {epochs: 1}\n",
                 "'dataset.validation_split'", "no training images left: validation_split 0.5 of 1 image");
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, batch_size: 1000}\n", "g.yaml:5:32: 'train.batch_size'",
                 "batch size 1000 is larger than the 90 images fitted per epoch");
  // One bad cell of an axis is enough, and it is the one named.
  expect_refused("name: t\n" + kData + kNet + "train: {epochs: 1, batch_size: [16, 128]}\n", "'train.batch_size'",
                 "batch size 128 is larger than the 90 images");
}

TEST_CASE("--backend gpu without a GPU and --executor slurm without sbatch leave no database") {
  TempDir dir("bad_input_flags");
  write(dir.path / "g.yaml", "name: t\n" + kData + kNet + "train: {epochs: 1}\n");
  const CliResult probe = run_sweep_cli(dir.path, {"run", "g.yaml", "--db", "gpu.db", "--backend", "gpu"});
  if (probe.exit_code == 0) {
    MESSAGE("this machine has a usable GPU: the no-GPU case cannot be shown here");
  } else {
    INFO(probe.err);
    CHECK(probe.exit_code == 2);
    CHECK(probe.err.find("--backend gpu") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "gpu.db"));
  }
  // sweep looks on PATH, /usr/bin and /usr/sbin.
  if (fs::exists("/usr/bin/sbatch") || fs::exists("/usr/sbin/sbatch")) {
    MESSAGE("sbatch is installed in /usr/bin or /usr/sbin: the no-Slurm case cannot be shown here");
    return;
  }
  const CliResult slurm = run_sweep_cli(dir.path, {"run", "g.yaml", "--db", "slurm.db", "--executor", "slurm"},
                                        "env PATH=/nonexistent");
  INFO(slurm.err);
  CHECK(slurm.exit_code == 2);
  CHECK(slurm.err.find("sbatch is not installed here") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "slurm.db"));
}

TEST_CASE("a closed stdout does not stop training: every run is finished and recorded") {
  TempDir dir("bad_input_pipe");
  write(dir.path / "g.yaml", "name: t\n" + kData + kNet + "train: {epochs: 1, batch_size: 10, seed: [1, 2, 3]}\n");
  // head exits after the first line; sweep then writes to a closed pipe.
  const std::string command = "cd " + shell_quote(dir.path.string()) + " && { " + shell_quote(SWEEP_BINARY) +
                              " run g.yaml --db r.db --plain 2>&1; echo \"exit $?\" > rc.txt; } | head -1 > head.txt";
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK(sweep::test::read_file(dir.path / "rc.txt") == "exit 0\n");
  const CliResult done = run_sweep_cli(dir.path, {"query", "r.db", "SELECT status, COUNT(*) FROM runs GROUP BY status", "-f", "csv"});
  CHECK(done.exit_code == 0);
  CHECK(done.out.find("done,3") != std::string::npos);
}

TEST_CASE("text that another SQLite client stored as non-UTF-8 is shown, not a JSON library error") {
  TempDir dir("bad_input_utf8_db");
  write(dir.path / "g.yaml", "name: t\n" + kData + kNet + "train: {epochs: 1, batch_size: 10}\n");
  REQUIRE(run_sweep_cli(dir.path, {"run", "g.yaml", "--db", "r.db", "--quiet"}).exit_code == 0);
  const std::string poke = "cd " + shell_quote(dir.path.string()) +
                           " && sqlite3 r.db \"UPDATE runs SET variant = CAST(x'ff41' AS TEXT)\" 2>/dev/null";
  if (std::system(poke.c_str()) != 0) {
    MESSAGE("no sqlite3 command: the case cannot be set up here");
    return;
  }
  const CliResult json = run_sweep_cli(dir.path, {"query", "r.db", "SELECT variant FROM runs", "-f", "json"});
  CHECK(json.exit_code == 0);
  CHECK(json.out.find("\"variant\": \"\xef\xbf\xbd" "A\"") != std::string::npos);  // U+FFFD, then A
  CHECK(json.err.find("exception") == std::string::npos);
}
