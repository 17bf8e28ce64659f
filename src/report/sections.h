// Internal to src/report: the pieces of one sweep's report. Each section
// appends Markdown to `md` and figures to `files`.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/analysis.h"
#include "report/report.h"

namespace sweep::report {

// A sweep of up to kFullRuns runs is reported whole: every run, configuration,
// comparison and model (the five write-ups' reports). A larger one is
// summarised, so that its report stays readable (well under 2,000 lines) at
// any size: each list shows its first or best entries up to the limit below,
// says how many more there are and gives the SQL that lists them all.
inline constexpr size_t kFullRuns = 50;
struct Limits {
  size_t best_runs = 20, worst_runs = 5;  // Results: rows of the best and the worst
  size_t configurations = 10;             // Configurations: blocks (of the best results)
  size_t runs_listed = 20;                // runs without a result, runs that did not learn, training progress
  size_t groups = 3;                      // matched groups shown per factor (the tally counts them all)
  size_t values = 20;                     // values in one matched group's table and sentence
  size_t models = 10;                     // Model summaries
  size_t confusions = 10;                 // matrices with --confusion all
  size_t ids = 12;                        // run ids listed in one cell or sentence
  size_t series = 10;                     // runs in one learning-curve figure
};

struct SweepReport {
  SweepReport(const SweepData& data, const Settings& chosen) : sweep(data), settings(chosen) {}

  const SweepData& sweep;
  const Settings& settings;
  std::vector<std::string> factors;
  std::vector<Cell> cells;
  std::optional<double> noise_sd;  // pooled seed-to-seed sd, when there are repeats
  std::vector<size_t> ranked;      // done runs, best first
  std::string files_dir;           // relative folder of the figures
  std::string figure_prefix;       // distinguishes sweeps sharing one report
  std::string md;
  std::vector<ReportFile> files;
  sqlite3* db = nullptr;           // for what is read only when shown (confusion matrices)
  bool summary = false;            // more than kFullRuns runs: lists are cut to `limits`
  Limits limits;

  // Helpers shared by the sections.
  std::string run_name(const RunData& run) const;  // "Run 3 (learning rate 0.01)"
  std::string add_figure(const std::string& name, std::string svg);  // returns the relative link
  // The effect of a factor (computed once: Effects and Learning curves both use it).
  const Effect& effect(const std::string& factor);
  // "1, 2, 3": every id in a full report, the first limits.ids and the count in a summary.
  std::string ids_text(const std::vector<int64_t>& ids) const;
  // SQL over this sweep's runs (those of its current grid), for the lines that
  // say where the rows a summary leaves out are: "SELECT <columns> FROM runs
  // WHERE sweep_id = 3 AND in_grid = 1[ AND <condition>] ORDER BY <order>".
  std::string runs_sql(const std::string& columns, const std::string& condition, const std::string& order) const;
  // "*N more <what> are in the database; list them all with* `SQL`\n\n" (nothing when n is 0).
  std::string more_line(size_t n, const std::string& what, const std::string& sql) const;

 private:
  std::map<std::string, Effect> effects_;
};

// One layer's settings, read from a model spec's layer JSON.
struct LayerSettings {
  std::string type, filters, kernel, activation, pool, units, dropout;
};
LayerSettings layer_settings(const json& layer);
// The layers of a run's model (from models.spec, else the config).
std::vector<json> model_layers(const SweepData& sweep, const RunData& run);
// "Conv2D(32, 3x3, relu) - MaxPooling2D(2x2) - ... - Dense(10, softmax)"
std::string architecture_text(const std::vector<json>& layers);
// Names for the classes of a dataset (Fashion-MNIST's clothes, else digits).
std::vector<std::string> class_names(const SweepData& sweep, int classes);

void section_setup(SweepReport& r);
void section_configurations(SweepReport& r);
void section_results(SweepReport& r);
void section_effects(SweepReport& r);
void section_models(SweepReport& r);
void section_curves(SweepReport& r);
void section_confusion(SweepReport& r);
void section_progress(SweepReport& r);
void section_reference(SweepReport& r);
void section_search(SweepReport& r);

}  // namespace sweep::report
