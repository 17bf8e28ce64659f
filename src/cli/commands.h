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

// --checkpoints and --checkpoint-monitor of `sweep run` (and of the Slurm
// worker it submits): what each run keeps in <db>.d/checkpoints/<hash>/.
inline void add_checkpoint_options(CLI::App& app, std::string& keep, std::string& monitor) {
  app.add_option("--checkpoints", keep,
                 "What each run keeps in <db>.d/checkpoints/<run hash>/ (docs/checkpoints.md): last (the newest "
                 "epoch: an interrupted run continues from it, and the trained model stays for export), best (the "
                 "epoch best by --checkpoint-monitor; the newest is kept only while the run trains), all (every "
                 "epoch), none (nothing: an interrupted run starts over)")
      ->check(CLI::IsMember({"last", "best", "all", "none"}))
      ->capture_default_str();
  app.add_option("--checkpoint-monitor", monitor,
                 "The metric that picks the best epoch for --checkpoints best (as Keras' ModelCheckpoint; "
                 "without a validation split val_loss/val_accuracy fall back to loss/accuracy)")
      ->check(CLI::IsMember({"val_loss", "val_accuracy", "loss", "accuracy"}))
      ->capture_default_str();
}

// The exit codes of one command, appended to its footer: each command says
// what 0, 1 and 2 mean for it (`query` has no runs to fail). `failed` may be
// empty for a command whose only code-1 cause is sweep itself failing.
// `text` broken at spaces into lines of at most 100 columns after the
// 5-column code indent, for a terminal's --help.
inline std::string exit_code_text(const std::string& text) {
  constexpr size_t kWidth = 100;
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n     ";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

inline void add_exit_codes(CLI::App& app, const std::string& ok, const std::string& failed, const std::string& bad) {
  const std::string footer = app.get_footer();
  const std::string itself = "sweep itself failed (a file or the database could not be read or written, a library error)";
  app.footer((footer.empty() ? "" : footer + "\n\n") + "Exit codes:\n  0  " + exit_code_text(ok) + "\n  1  " +
             exit_code_text(failed.empty() ? itself : failed + ", or " + itself) + "\n  2  " + exit_code_text(bad) +
             "\nErrors are printed as `sweep: error: <message>` on stderr.");
}

}  // namespace sweep::cli
