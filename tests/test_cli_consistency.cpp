// The command line as a whole (issue #13): reading commands default to
// results.db, a short flag means one thing everywhere, `sweep` alone lists the
// registered subcommands, each command documents its own exit codes, and
// docs/cli.md's reference is what `sweep help --markdown` prints.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/app.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sweep::test::CliResult;
using sweep::test::run_sweep_cli;
using sweep::test::TempDir;

namespace {

std::vector<const CLI::App*> visible_commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

}  // namespace

TEST_CASE("every command that reads a database defaults to results.db and names it when it is missing") {
  TempDir dir("cli_consistency");
  std::ofstream(dir.path / "digit.png") << "not read: the database is opened first";
  const std::vector<std::vector<std::string>> commands = {
      {"ls"},     {"status"},         {"report"},
      {"collect"}, {"query", "SELECT 1"}, {"export", "1"},
      {"predict", "1", "digit.png"},  {"evaluate", "1", "--dataset", "mnist"}};
  for (const auto& args : commands) {
    const CliResult r = run_sweep_cli(dir.path, args);
    INFO(args[0], ": ", r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("results.db") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "results.db"));  // reading never creates it
  }
}

TEST_CASE("a short flag means one thing, and a long option has the same short flag in every command") {
  const sweep::cli::SweepApp sweep_app = sweep::cli::make_app();
  std::map<std::string, std::set<std::string>> long_of_short;  // -o -> {output}
  std::map<std::string, std::set<std::string>> short_of_long;  // output -> {o} ("" where it has none)
  for (const CLI::App* sub : sweep_app.app->get_subcommands([](const CLI::App*) { return true; }))
    for (const CLI::Option* option : sub->get_options()) {
      if (option->get_positional() || option->get_lnames().empty()) continue;
      const std::string long_name = option->get_lnames().front();
      for (const std::string& s : option->get_snames()) long_of_short[s].insert(long_name);
      short_of_long[long_name].insert(option->get_snames().empty() ? "" : option->get_snames().front());
    }
  for (const auto& [s, longs] : long_of_short) {
    INFO("-", s, " is --", *longs.begin(), " and --", *longs.rbegin());
    CHECK(longs.size() == 1);
  }
  for (const auto& [l, shorts] : short_of_long) {
    INFO("--", l, " has short flags '", *shorts.begin(), "' and '", *shorts.rbegin(), "' in different commands");
    CHECK(shorts.size() == 1);
  }
  const std::map<std::string, std::string> expected = {
      {"o", "output"}, {"s", "sweep"}, {"j", "jobs"}, {"q", "quiet"}, {"f", "format"}, {"h", "help"}};
  for (const auto& [s, l] : expected) CHECK(long_of_short[s] == std::set<std::string>{l});
}

TEST_CASE("sweep alone names the registered subcommands, hidden ones left out") {
  const sweep::cli::SweepApp sweep_app = sweep::cli::make_app();
  const std::string list = sweep::cli::subcommand_list(*sweep_app.app);
  CHECK(list == "plan, run, query, ls, report, status, export, predict, evaluate, or collect");
  TempDir dir("cli_consistency");
  const CliResult bare = run_sweep_cli(dir.path, {});
  CHECK(bare.exit_code == 2);
  CHECK(bare.err.find("sweep: error: a subcommand is required: " + list + "\n") != std::string::npos);
  CHECK(bare.err.find("worker") == std::string::npos);
}

TEST_CASE("each command's help gives the exit codes it can return, in its own words") {
  const sweep::cli::SweepApp sweep_app = sweep::cli::make_app();
  for (const CLI::App* sub : visible_commands(*sweep_app.app)) {
    const std::string footer = sub->get_footer();
    INFO(sub->get_name(), ":\n", footer);
    CHECK(footer.find("Exit codes:\n  0  ") != std::string::npos);
    CHECK(footer.find("\n  1  ") != std::string::npos);
    CHECK(footer.find("\n  2  ") != std::string::npos);
    CHECK(footer.find("Exit codes:") == footer.rfind("Exit codes:"));  // once
    // Only run trains: no other command has runs that fail.
    CHECK((footer.find("some runs failed") != std::string::npos) == (sub->get_name() == "run"));
  }
  TempDir dir("cli_consistency");
  const CliResult query = run_sweep_cli(dir.path, {"query", "--help"});
  CHECK(query.exit_code == 0);
  CHECK(query.out.find("the statement ran and its rows were printed") != std::string::npos);
  CHECK(query.out.find("runs failed") == std::string::npos);
}

TEST_CASE("docs/cli.md's reference is what `sweep help --markdown` prints") {
  TempDir dir("cli_consistency");
  const CliResult generated = run_sweep_cli(dir.path, {"help", "--markdown"});
  REQUIRE(generated.exit_code == 0);
  const std::string doc = sweep::test::read_file(fs::path(SWEEP_SOURCE_DIR) / "docs" / "cli.md");
  const size_t begin = doc.find(sweep::cli::kGeneratedBegin);
  const std::string end_marker = std::string(sweep::cli::kGeneratedEnd) + "\n";
  const size_t end = doc.find(end_marker);
  REQUIRE_MESSAGE(begin != std::string::npos, "docs/cli.md has no generated reference: run scripts/update_cli_doc.sh");
  REQUIRE(end != std::string::npos);
  const bool same = doc.substr(begin, end + end_marker.size() - begin) == generated.out;
  CHECK_MESSAGE(same, "docs/cli.md's reference differs from the CLI definition: regenerate it with "
                      "`scripts/update_cli_doc.sh build/sweep` (run from the source folder) and commit the result");
  // Every visible command and every option is in it.
  const sweep::cli::SweepApp sweep_app = sweep::cli::make_app();
  for (const CLI::App* sub : visible_commands(*sweep_app.app)) {
    CHECK(generated.out.find("### `sweep " + sub->get_name() + "`") != std::string::npos);
    for (const CLI::Option* option : sub->get_options())
      for (const std::string& l : option->get_lnames()) CHECK(generated.out.find("--" + l) != std::string::npos);
  }
  CHECK(generated.out.find("sweep worker") == std::string::npos);
}
