// The Confusion matrix section: the best run's matrix (`--confusion best`, the
// default), or one per finished run in run order (`--confusion all`). Each is a
// Markdown table, an SVG heatmap with every count printed, the most confused
// pairs and the class recognised least often.
#include <algorithm>

#include "report/sections.h"
#include "report/svg.h"

namespace sweep::report {
namespace {

int64_t count_at(const RunData& run, int true_class, int predicted) {
  return run.confusion[static_cast<size_t>(true_class * run.classes + predicted)];
}

void matrix_table(SweepReport& r, const RunData& run, const std::vector<std::string>& names) {
  const int n = run.classes;
  r.md += "| true \\ predicted |";
  for (int c = 0; c < n; ++c) r.md += " " + md_cell(names[static_cast<size_t>(c)]) + " |";
  r.md += "\n|---|";
  for (int c = 0; c < n; ++c) r.md += "---:|";
  r.md += "\n";
  for (int t = 0; t < n; ++t) {
    r.md += "| **" + md_cell(names[static_cast<size_t>(t)]) + "** |";
    for (int p = 0; p < n; ++p) r.md += cat(" ", std::to_string(count_at(run, t, p)), " |");
    r.md += "\n";
  }
  r.md += "\n";
}

// "4 and 9 are confused most: 12 times (4 as 9: 7, 9 as 4: 5). Next: ..." and
// the class the model gets wrong most often, as a share of its test images.
std::string errors_text(const RunData& run, const std::vector<std::string>& names) {
  const auto pairs = confused_pairs(run);
  if (pairs.empty()) return "No test image is misclassified.";
  const auto& top = pairs.front();
  const std::string a = names[static_cast<size_t>(top.a)], b = names[static_cast<size_t>(top.b)];
  std::string text = a + " and " + b + " are confused most: " + std::to_string(top.total()) + " time" +
                     (top.total() > 1 ? "s" : "") + " (" + a + " as " + b + ": " + std::to_string(top.a_as_b) + ", " +
                     b + " as " + a + ": " + std::to_string(top.b_as_a) + ").";
  if (pairs.size() > 1) {
    text += " Next:";
    for (size_t k = 1; k < pairs.size() && k < 4; ++k)
      text += std::string(k > 1 ? "," : "") + " " + names[static_cast<size_t>(pairs[k].a)] + " and " +
              names[static_cast<size_t>(pairs[k].b)] + " (" + std::to_string(pairs[k].total()) + ")";
    text += ".";
  }
  int worst = -1;
  double worst_recall = 2;
  for (int t = 0; t < run.classes; ++t) {
    int64_t row = 0;
    for (int p = 0; p < run.classes; ++p) row += count_at(run, t, p);
    if (row == 0) continue;
    const double recall = static_cast<double>(count_at(run, t, t)) / static_cast<double>(row);
    if (recall < worst_recall) worst_recall = recall, worst = t;
  }
  if (worst >= 0)
    text += " Class " + names[static_cast<size_t>(worst)] + " is recognised least often (recall " + fixed(worst_recall, 4) + ").";
  return text;
}

// One run's table, heatmap (figure file `figure`, alt text `alt`) and errors.
void matrix_block(SweepReport& r, const RunData& run, const std::string& figure, const std::string& alt) {
  const auto names = class_names(r.sweep, run.classes);
  matrix_table(r, run, names);
  Heatmap map{"Confusion matrix, run " + std::to_string(run.id), "predicted", "true", names, run.confusion};
  r.md += "![" + alt + "](" + r.add_figure(figure, render_heatmap(map)) + ")\n\n";
  r.md += errors_text(run, names) + "\n\n";
}

// A copy of the run with its matrix read: load_sweep leaves matrices in the
// database until one is shown.
RunData with_matrix(const SweepReport& r, const RunData& run) {
  RunData copy = run;
  copy.confusion = load_confusion(r.db, run);
  return copy;
}

}  // namespace

void section_confusion(SweepReport& r) {
  // Finished runs with a stored matrix, best first (r.ranked's order).
  std::vector<const RunData*> runs;
  for (size_t i : r.ranked)
    if (r.sweep.runs[i].classes > 0) runs.push_back(&r.sweep.runs[i]);
  if (runs.empty()) return;
  const RunData* best = runs.front();
  if (r.settings.confusion == Settings::Confusion::best) {
    r.md += "## Confusion matrix of the best run\n\n";
    r.md += r.run_name(*best) + ", test set: rows are the true class, columns the predicted class.\n\n";
    matrix_block(r, with_matrix(r, *best), "confusion.svg", "Confusion matrix heatmap");
    return;
  }
  // Run order (by id, as everywhere else in the report), so the matrices of one
  // configuration's neighbours sit side by side as the grid laid them out.
  std::sort(runs.begin(), runs.end(), [](const RunData* a, const RunData* b) { return a->id < b->id; });
  const size_t shown = r.summary ? std::min(runs.size(), r.limits.confusions) : runs.size();
  r.md += runs.size() > 1 ? "## Confusion matrices\n\n" : "## Confusion matrix\n\n";
  r.md += shown < runs.size() ? "The first " + std::to_string(shown) + " of the " +
                                    thousands(static_cast<int64_t>(runs.size())) +
                                    " finished runs, in run order, on the test set: rows are the true class, columns "
                                    "the predicted class.\n\n"
                              : std::string("One per finished run, in run order, on the test set: rows are the true "
                                            "class, columns the predicted class.\n\n");
  for (size_t k = 0; k < shown; ++k) {
    const RunData* run = runs[k];
    const std::string id = std::to_string(run->id);
    r.md += "### " + r.run_name(*run) + "\n\n";
    r.md += "Test accuracy " + fixed(*run->test_accuracy, 4) + (run == best ? " (the best run)" : "") + ".\n\n";
    matrix_block(r, with_matrix(r, *run), "confusion_run" + id + ".svg", "Confusion matrix heatmap, run " + id);
  }
  if (shown < runs.size())
    r.md += r.more_line(runs.size() - shown, "finished runs' matrices are",
                        "SELECT run_id, true_label, predicted, count FROM confusion WHERE run_id IN (" +
                            r.runs_sql("id", "status = 'done'", "id") + ") ORDER BY run_id, true_label, predicted");
}

}  // namespace sweep::report
