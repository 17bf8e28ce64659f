// Entry point of the `sweep` command: builds the app (cli/app.cpp: the
// subcommands of commands.def), parses the command line, runs the chosen
// subcommand and turns errors into the documented exit codes.
#include <csignal>
#include <exception>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "common/error.h"

namespace {

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
  sweep::cli::SweepApp sweep_app = sweep::cli::make_app();
  CLI::App& app = *sweep_app.app;
  if (argc <= 1) {
    std::cerr << app.help() << "\n";
    // The list comes from the registered subcommands, so a new one is named here too.
    return fail("a subcommand is required: " + sweep::cli::subcommand_list(app), sweep::kExitBadInput);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(std::string(e.what()) + " (see sweep --help)", sweep::kExitBadInput);
  }
  try {
    for (const auto& command : sweep_app.commands)
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
