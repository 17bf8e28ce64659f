// The Learning curves and Confusion matrix sections (with their SVG figures).
#include <algorithm>
#include <cmath>

#include "report/sections.h"
#include "report/svg.h"

namespace sweep::report {
namespace {

// Train (solid) and validation (dashed) curves of the given runs, one colour per run.
LineChart curves(const SweepReport& r, const std::vector<std::pair<const RunData*, std::string>>& runs, bool accuracy,
                 const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "epoch";
  chart.y_label = accuracy ? "accuracy" : "loss";
  int color = 0;
  for (const auto& [run, label] : runs) {
    Series train{label + " train", {}, {}, color, false};
    Series val{label + " validation", {}, {}, color, true};
    for (const auto& e : run->epochs) {
      train.x.push_back(e.epoch);
      train.y.push_back(accuracy ? e.accuracy : e.loss);
      const auto& v = accuracy ? e.val_accuracy : e.val_loss;
      val.x.push_back(e.epoch);
      val.y.push_back(v ? *v : std::nan(""));
    }
    chart.series.push_back(std::move(train));
    if (std::any_of(val.y.begin(), val.y.end(), [](double y) { return std::isfinite(y); }))
      chart.series.push_back(std::move(val));
    ++color;
  }
  (void)r;
  return chart;
}

void accuracy_and_loss(SweepReport& r, const std::vector<std::pair<const RunData*, std::string>>& runs,
                       const std::string& name, const std::string& what) {
  const std::string acc = r.add_figure(name + "_accuracy.svg", render_line_chart(curves(r, runs, true, "Accuracy: " + what)));
  const std::string loss = r.add_figure(name + "_loss.svg", render_line_chart(curves(r, runs, false, "Loss: " + what)));
  r.md += "![Accuracy per epoch: " + what + "](" + acc + ")\n![Loss per epoch: " + what + "](" + loss + ")\n\n";
}

}  // namespace

void section_curves(SweepReport& r) {
  if (r.ranked.empty()) return;
  r.md += "## Learning curves\n\n";
  r.md += "Training (solid) and validation (dashed) accuracy and loss per epoch. Training values are running means "
          "over each epoch's batches, as Keras prints them.\n\n";
  std::vector<std::pair<const RunData*, std::string>> best;
  for (size_t k = 0; k < r.ranked.size() && k < 3; ++k) {
    const RunData& run = r.sweep.runs[r.ranked[k]];
    if (!run.epochs.empty()) best.emplace_back(&run, "run " + std::to_string(run.id));
  }
  if (!best.empty()) {
    r.md += "### The best runs\n\n";
    for (const auto& [run, label] : best) r.md += "- " + r.run_name(*run) + ": test accuracy " + fixed(*run->test_accuracy, 4) + "\n";
    r.md += "\n";
    accuracy_and_loss(r, best, "best", "the best " + std::to_string(best.size()) + " run" + (best.size() > 1 ? "s" : ""));
  }
  for (const auto& f : r.factors) {
    if (f == "variant") continue;
    const Effect e = effect_of(r.sweep, f, r.factors, r.noise_sd);
    if (e.groups.empty()) continue;  // no like-for-like comparison to draw
    // The matched group with the most values: its best run at each value.
    const MatchedGroup* widest = &e.groups.front();
    for (const auto& g : e.groups)
      if (g.rows.size() > widest->rows.size()) widest = &g;
    std::vector<std::pair<const RunData*, std::string>> runs;
    for (const auto& row : widest->rows) {
      if (row.best_run < 0) continue;
      for (const auto& run : r.sweep.runs)
        if (run.id == row.best_run && !run.epochs.empty())
          runs.emplace_back(&run, field_name(f, r.factors) + " " + value_text(row.value));
    }
    if (runs.size() < 2) continue;
    const std::string name = field_name(f, r.factors);
    r.md += "### " + name + "\n\nThe best run at each value of " + name + ", everything else equal (runs of its widest "
            "comparison in Effect of each hyperparameter).\n\n";
    accuracy_and_loss(r, runs, "factor_" + slug(f), name);
  }
}

void section_confusion(SweepReport& r) {
  const RunData* best = nullptr;
  for (size_t i : r.ranked)
    if (r.sweep.runs[i].classes > 0) {
      best = &r.sweep.runs[i];
      break;
    }
  if (!best) return;
  const int n = best->classes;
  const auto names = class_names(r.sweep, n);
  r.md += "## Confusion matrix of the best run\n\n";
  r.md += r.run_name(*best) + ", test set: rows are the true class, columns the predicted class.\n\n";
  r.md += "| true \\ predicted |";
  for (int c = 0; c < n; ++c) r.md += " " + md_cell(names[static_cast<size_t>(c)]) + " |";
  r.md += "\n|---|";
  for (int c = 0; c < n; ++c) r.md += "---:|";
  r.md += "\n";
  for (int t = 0; t < n; ++t) {
    r.md += "| **" + md_cell(names[static_cast<size_t>(t)]) + "** |";
    for (int p = 0; p < n; ++p) r.md += cat(" ", std::to_string(best->confusion[static_cast<size_t>(t * n + p)]), " |");
    r.md += "\n";
  }
  r.md += "\n";
  Heatmap map{"Confusion matrix, run " + std::to_string(best->id), "predicted", "true", names, best->confusion};
  r.md += "![Confusion matrix heatmap](" + r.add_figure("confusion.svg", render_heatmap(map)) + ")\n\n";

  const auto pairs = confused_pairs(*best);
  if (pairs.empty()) {
    r.md += "No test image is misclassified.\n\n";
    return;
  }
  const auto& top = pairs.front();
  const std::string a = names[static_cast<size_t>(top.a)], b = names[static_cast<size_t>(top.b)];
  r.md += a + " and " + b + " are confused most: " + std::to_string(top.total()) + " time" + (top.total() > 1 ? "s" : "") +
          " (" + a + " as " + b + ": " + std::to_string(top.a_as_b) + ", " + b + " as " + a + ": " +
          std::to_string(top.b_as_a) + ").";
  if (pairs.size() > 1) {
    r.md += " Next:";
    for (size_t k = 1; k < pairs.size() && k < 4; ++k)
      r.md += std::string(k > 1 ? "," : "") + " " + names[static_cast<size_t>(pairs[k].a)] + " and " +
              names[static_cast<size_t>(pairs[k].b)] + " (" + std::to_string(pairs[k].total()) + ")";
    r.md += ".";
  }
  // The class the model gets wrong most often, as a share of its test images.
  int worst = -1;
  double worst_recall = 2;
  for (int t = 0; t < n; ++t) {
    int64_t row = 0;
    for (int p = 0; p < n; ++p) row += best->confusion[static_cast<size_t>(t * n + p)];
    if (row == 0) continue;
    const double recall = static_cast<double>(best->confusion[static_cast<size_t>(t * n + t)]) / static_cast<double>(row);
    if (recall < worst_recall) worst_recall = recall, worst = t;
  }
  if (worst >= 0)
    r.md += " Class " + names[static_cast<size_t>(worst)] + " is recognised least often (recall " + fixed(worst_recall, 4) + ").";
  r.md += "\n\n";
}

}  // namespace sweep::report
