// Internal to src/report: the pieces of one sweep's report. Each section
// appends Markdown to `md` and figures to `files`.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/analysis.h"
#include "report/report.h"

namespace sweep::report {

struct SweepReport {
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

  // Helpers shared by the sections.
  std::string run_name(const RunData& run) const;  // "Run 3 (learning rate 0.01)"
  std::string add_figure(const std::string& name, std::string svg);  // returns the relative link
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

}  // namespace sweep::report
