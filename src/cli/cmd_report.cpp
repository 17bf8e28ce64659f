// sweep report [DB] [--sweep NAME] [-o FILE.md] [--confusion best|all]
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "report/report.h"
#include "store/store.h"

namespace sweep::cli {
namespace {

struct ReportOptions {
  std::string db;
  std::string sweep;
  std::string output = "report.md";
  std::string confusion = "best";
};

int run_report(const ReportOptions& options) {
  auto store = Store::open(options.db, Store::Mode::read_only);
  report::Settings settings;
  settings.confusion = options.confusion == "all" ? report::Settings::Confusion::all : report::Settings::Confusion::best;
  const auto written = report::write_report(store->handle(), options.sweep, options.output, settings);
  std::cout << "wrote " << options.output << " and " << (written.size() - 1) << " figure"
            << (written.size() == 2 ? "" : "s") << " in " << report::files_dir_for(options.output) << "/\n";
  return 0;
}

}  // namespace

Command report_command(CLI::App& parent) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* app = parent.add_subcommand("report", "Write a Markdown report (with SVG figures) of a results database");
  app->footer(
      "Turn a results database into a Markdown report: setup (dataset, model, what varied and what was fixed,\n"
      "hardware, time), a configurations table, results sorted by test accuracy, the effect of each varied\n"
      "hyperparameter (with the time per epoch), Keras-style model summaries, learning curves, confusion\n"
      "matrices (the best run's, or every run's with --confusion all), training progress, and a comparison\n"
      "with the write-up when the grid has a `reference:` block.\n"
      "Figures are SVG files written beside the report in <stem>_files/. The same database always gives the\n"
      "same bytes. Example: sweep report results.db -o reports/lr.md --confusion all");
  add_db_argument(*app, options->db);
  app->add_option("--sweep,-s", options->sweep, "Report only this sweep (default: every sweep in the database)");
  app->add_option("--output,-o", options->output, "Markdown file to write; figures go to <stem>_files/ beside it")
      ->capture_default_str();
  app->add_option("--confusion", options->confusion,
                  "Confusion matrices: `best` (the best run's) or `all` (one per finished run, in run order)")
      ->check(CLI::IsMember({"best", "all"}))
      ->capture_default_str();
  add_exit_codes(*app, "the report and its figures were written",
                 "",
                 "no database at the path (results.db by default), no sweep of that name, no sweeps at all, a figures folder that cannot be created, or a bad option");
  return {app, [options] { return run_report(*options); }};
}

}  // namespace sweep::cli
