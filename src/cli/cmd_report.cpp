// sweep report DB [--sweep NAME] [-o FILE.md]
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
};

int run_report(const ReportOptions& options) {
  auto store = Store::open(options.db, Store::Mode::read_only);
  const auto written = report::write_report(store->handle(), options.sweep, options.output);
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
      "hyperparameter, Keras-style model summaries, learning curves, the best run's confusion matrix, training\n"
      "progress, and a comparison with the write-up when the grid has a `reference:` block.\n"
      "Figures are SVG files written beside the report in <stem>_files/. The same database always gives the\n"
      "same bytes. Example: sweep report results.db -o reports/lr.md");
  app->add_option("db", options->db, "Results database file (as written by `sweep run --db`)")->required();
  app->add_option("--sweep,-s", options->sweep, "Report only this sweep (default: every sweep in the database)");
  app->add_option("--output,-o", options->output, "Markdown file to write; figures go to <stem>_files/ beside it")
      ->capture_default_str();
  return {app, [options] { return run_report(*options); }};
}

}  // namespace sweep::cli
