// How `sweep` finds its subcommands: each cmd_<name>.cpp registers its
// options on the parent app and returns what to do when it is chosen.
#pragma once
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace sweep::cli {

struct Command {
  CLI::App* app = nullptr;   // the subcommand, owned by the parent app
  std::function<int()> run;  // its work; returns the exit code (errors are thrown)
};

#define SWEEP_COMMAND(name) Command name##_command(CLI::App& parent);
#include "cli/commands.def"
#undef SWEEP_COMMAND

// The database of a reading command: `sweep ls [DB]` or `sweep ls --db DB`,
// results.db in the current directory when neither is given, as `sweep run`
// writes it.
inline constexpr const char* kDefaultDb = "results.db";
inline void add_db_argument(CLI::App& app, std::string& db) {
  db = kDefaultDb;
  CLI::Option* positional =
      app.add_option("db", db, "Results database file (default: results.db, as `sweep run` writes it)");
  app.add_option("--db", db, "The same, as an option (as `sweep run --db`)")->excludes(positional);
}

// Shared help text.
inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  done: every run of the sweep finished (or the command succeeded)\n"
    "  1  some runs failed, diverged or were interrupted (Ctrl-C), or sweep itself failed\n"
    "  2  bad input (grid file, option, SQL, missing database): nothing was trained or written\n"
    "Errors are printed as `sweep: error: <message>` on stderr.";

}  // namespace sweep::cli
