// `sweep report`: a results database -> a Markdown report a student would hand
// in (setup, configurations, results, effect of each hyperparameter, model
// summaries, learning curves, confusion matrices, training progress, and a
// comparison with the write-up when the grid has a `reference:` block), with
// SVG figures beside it. The same database always gives the same bytes.
#pragma once
#include <string>
#include <vector>

struct sqlite3;

namespace sweep::report {

struct ReportFile {
  std::string path;     // relative to the Markdown file's folder, e.g. "report_files/best_accuracy.svg"
  std::string content;
};

struct Report {
  std::string markdown;
  std::vector<ReportFile> files;  // the figures the Markdown links to
};

// The choices `sweep report` leaves to the reader (its options).
struct Settings {
  // Which runs get a confusion matrix: the best run, or every finished run
  // (to see how the errors move with a setting, not just where they end up).
  enum class Confusion { best, all };
  Confusion confusion = Confusion::best;
};

// Build the report of one sweep (by name), or of every sweep in the database
// when `sweep` is empty. Figures are named under `files_dir` (relative).
// InputError when the database has no sweeps or no sweep of that name.
Report build_report(sqlite3* db, const std::string& sweep, const std::string& files_dir, const Settings& settings = {});

// The figures folder for a report path: "out/report.md" -> "report_files".
std::string files_dir_for(const std::string& output_path);

// Build and write: the Markdown to `output_path`, the figures into
// <dir of output>/<stem>_files/ (created; stale .svg files there removed).
// Returns every path written.
std::vector<std::string> write_report(sqlite3* db, const std::string& sweep, const std::string& output_path,
                                      const Settings& settings = {});

}  // namespace sweep::report
