// The whole `sweep` command line as one CLI11 app: main() parses with it,
// `sweep help --markdown` prints docs/cli.md's reference from it, and tests
// walk it (short flags, exit codes) without running the binary.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace sweep::cli {

struct SweepApp {
  std::unique_ptr<CLI::App> app;
  std::vector<Command> commands;  // every subcommand, hidden ones (worker, help) included
};

// The app with every subcommand of commands.def and the hidden `help`.
SweepApp make_app();

// The subcommands a user may type, in --help order: hidden ones (group "")
// left out. "plan, run, ..., or collect".
std::string subcommand_list(const CLI::App& app);

// docs/cli.md's generated reference: every visible command with its
// arguments, options (short and long names, value, default) and footer,
// between the markers kGeneratedBegin and kGeneratedEnd.
std::string cli_markdown(const CLI::App& app);
inline constexpr const char* kGeneratedBegin = "<!-- BEGIN GENERATED: `sweep help --markdown` (scripts/update_cli_doc.sh); do not edit by hand -->";
inline constexpr const char* kGeneratedEnd = "<!-- END GENERATED -->";

}  // namespace sweep::cli
