// Entry point of the `sweep` command: builds the subcommands listed in
// commands.def, parses the command line, runs the chosen one and turns errors
// into the documented exit codes.
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"

namespace {

constexpr sweep::cli::Command (*kCommands[])(CLI::App&) = {
#define SWEEP_COMMAND(name) &sweep::cli::name##_command,
#include "cli/commands.def"
#undef SWEEP_COMMAND
};

int fail(const std::string& message, int code) {
  std::cerr << "sweep: error: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // `sweep run grid.yaml | head -2`: a reader that goes away must not kill
  // training. With SIGPIPE ignored, a write to the closed pipe fails instead,
  // std::cout goes bad and drops further output, and every run still lands in
  // the database.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("sweep " SWEEP_VERSION
               ": run hyperparameter sweeps of CNNs (MNIST-like data) from a YAML grid into a SQLite results "
               "database.\nTypical use: sweep plan grid.yaml; sweep run grid.yaml; sweep query results.db \"SQL\".",
               "sweep");
  app.set_version_flag("--version", "sweep " SWEEP_VERSION);
  app.require_subcommand(1);
  app.footer(sweep::cli::kExitCodesHelp);
  std::vector<sweep::cli::Command> commands;
  for (auto make : kCommands) {
    commands.push_back(make(app));
    // A subcommand's footer holds its long description; the exit codes follow.
    CLI::App* sub = commands.back().app;
    const std::string details = sub->get_footer();
    sub->footer(details.empty() ? std::string(sweep::cli::kExitCodesHelp)
                                : details + "\n\n" + sweep::cli::kExitCodesHelp);
  }
  if (argc <= 1) {
    std::cerr << app.help() << "\n";
    return fail("a subcommand is required: plan, run, query, ls, report, status or collect", sweep::kExitBadInput);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(std::string(e.what()) + " (see sweep --help)", sweep::kExitBadInput);
  }
  try {
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const sweep::InputError& e) {
    return fail(e.what(), sweep::kExitBadInput);
  } catch (const nlohmann::json::exception&) {
    // Our input checks should have caught what leads here; never show the
    // library's own text ("[json.exception.type_error.316] ...").
    return fail("internal error: a value could not be converted to or from JSON (is some text not valid UTF-8?); "
                "please report this with the command that caused it",
                sweep::kExitRunsFailed);
  } catch (const std::exception& e) {
    return fail(e.what(), sweep::kExitRunsFailed);
  }
  return sweep::kExitBadInput;
}
