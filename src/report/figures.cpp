// The Learning curves section (with its SVG figures); the confusion matrices
// are in confusion.cpp.
#include <algorithm>
#include <cmath>
#include <unordered_map>

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
  std::unordered_map<int64_t, const RunData*> by_id;
  for (const auto& run : r.sweep.runs) by_id.emplace(run.id, &run);
  for (const auto& f : r.factors) {
    if (f == "variant") continue;
    const Effect& e = r.effect(f);
    if (e.groups.empty()) continue;  // no like-for-like comparison to draw
    // The matched group with the most values: its best run at each value.
    const MatchedGroup* widest = &e.groups.front();
    for (const auto& g : e.groups)
      if (g.rows.size() > widest->rows.size()) widest = &g;
    // More curves than a summary's limit would be a tangle: the best and the worst values.
    std::vector<size_t> rows(widest->rows.size());
    for (size_t k = 0; k < rows.size(); ++k) rows[k] = k;
    if (r.summary && rows.size() > r.limits.series) {
      std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
        return widest->rows[a].accuracy.mean > widest->rows[b].accuracy.mean;
      });
      std::vector<size_t> shown;
      for (size_t k : head_and_tail(rows.size(), r.limits.series)) shown.push_back(rows[k]);
      std::sort(shown.begin(), shown.end());
      rows = shown;
    }
    std::vector<std::pair<const RunData*, std::string>> runs;
    for (size_t k : rows) {
      const EffectRow& row = widest->rows[k];
      if (row.best_run < 0) continue;
      const auto it = by_id.find(row.best_run);
      if (it != by_id.end() && !it->second->epochs.empty())
        runs.emplace_back(it->second, field_name(f, r.factors) + " " + value_text(row.value));
    }
    if (runs.size() < 2) continue;
    const std::string name = field_name(f, r.factors);
    r.md += "### " + name + "\n\nThe best run at each value of " + name + ", everything else equal (runs of its widest "
            "comparison in Effect of each hyperparameter).\n\n";
    accuracy_and_loss(r, runs, "factor_" + slug(f), name);
  }
}

}  // namespace sweep::report
