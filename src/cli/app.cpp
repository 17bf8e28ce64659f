#include "cli/app.h"

#include <iostream>

namespace sweep::cli {
namespace {

constexpr Command (*kCommands[])(CLI::App&) = {
#define SWEEP_COMMAND(name) &name##_command,
#include "cli/commands.def"
#undef SWEEP_COMMAND
};

// `sweep help [--markdown]`: hidden. With --markdown it prints the reference
// part of docs/cli.md, generated from this very app so the page cannot drift
// from the options (a test compares them).
Command help_command(CLI::App& parent) {
  auto markdown = std::make_shared<bool>(false);
  CLI::App* app = parent.add_subcommand("help", "Print the help, or with --markdown docs/cli.md's reference");
  app->group("");
  app->add_flag("--markdown", *markdown, "Print the reference of every command and option as Markdown");
  return {app, [markdown, &parent] {
            std::cout << (*markdown ? cli_markdown(parent) : parent.help());
            return 0;
          }};
}

}  // namespace

SweepApp make_app() {
  SweepApp out;
  out.app = std::make_unique<CLI::App>(
      "sweep " SWEEP_VERSION
      ": run hyperparameter sweeps of CNNs (MNIST-like data) from a YAML grid into a SQLite results "
      "database.\nTypical use: sweep plan grid.yaml; sweep run grid.yaml; sweep query \"SQL\" (on results.db).",
      "sweep");
  CLI::App& app = *out.app;
  app.set_version_flag("--version", "sweep " SWEEP_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success; 1 runs failed or were interrupted, or sweep itself failed; 2 bad input (nothing was\n"
      "trained or written). `sweep CMD --help` gives each command's own.\n"
      "Errors are printed as `sweep: error: <message>` on stderr.");
  for (auto make : kCommands) out.commands.push_back(make(app));
  out.commands.push_back(help_command(app));
  return out;
}

std::string subcommand_list(const CLI::App& app) {
  const auto visible = app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
  std::string list;
  for (size_t i = 0; i < visible.size(); ++i)
    list += (i == 0 ? "" : i + 1 == visible.size() ? (visible.size() > 2 ? ", or " : " or ") : ", ") +
            visible[i]->get_name();
  return list;
}

}  // namespace sweep::cli
