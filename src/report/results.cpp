// The Results, Effect of each hyperparameter and Training progress sections.
#include <algorithm>

#include "report/sections.h"

namespace sweep::report {
namespace {

std::string mean_sd(const std::vector<double>& values, int decimals) {
  if (values.empty()) return "-";
  const Stat s = stat_of(values);
  return values.size() > 1 ? fixed(s.mean, decimals) + " +- " + fixed(s.sd, decimals) : fixed(s.mean, decimals);
}

int64_t params_of(const SweepData& sweep, const RunData& run) {
  auto it = sweep.models.find(run.model_hash);
  return it == sweep.models.end() ? -1 : it->second.trainable + it->second.non_trainable;
}

std::string factor_header(const SweepReport& r) {
  std::string h;
  for (const auto& f : r.factors) h += cat(" ", md_cell(field_name(f, r.factors)), " |");
  return h;
}

std::string factor_cells(const SweepReport& r, const RunData& run) {
  std::string cells;
  for (const auto& f : r.factors) cells += cat(" ", md_cell(value_text(value_of(run, f))), " |");
  return cells;
}

void per_run_table(SweepReport& r) {
  r.md += "| Rank | Run |" + factor_header(r) +
          " Test accuracy | Test loss | Precision | Recall | F1 | Params | Epochs | Time |\n";
  r.md += "|---:|---:|";
  for (size_t i = 0; i < r.factors.size(); ++i) r.md += "---|";
  r.md += "---:|---:|---:|---:|---:|---:|---:|---:|\n";
  int rank = 0;
  for (size_t i : r.ranked) {
    const RunData& run = r.sweep.runs[i];
    ++rank;
    const std::string acc = fixed(*run.test_accuracy, 4);
    const int64_t params = params_of(r.sweep, run);
    const std::string shown = (rank == 1 ? "**" + acc + "**" : acc) + (not_learning(run).empty() ? "" : " (did not learn)");
    r.md += "| " + std::to_string(rank) + " | " + std::to_string(run.id) + " |" + factor_cells(r, run) + " " + shown +
            " | " + fixed_or_dash(run.test_loss, 4) + " | " +
            fixed_or_dash(run.test_precision, 4) + " | " + fixed_or_dash(run.test_recall, 4) + " | " +
            fixed_or_dash(run.test_f1, 4) + " | " + (params >= 0 ? thousands(params) : "-") + " | " +
            std::to_string(run.epochs_run) + (run.early_stopped ? " (early stop)" : "") + " | " +
            (run.wall_seconds ? duration(*run.wall_seconds) : "-") + " |\n";
  }
  r.md += "\n";
}

void per_cell_table(SweepReport& r) {
  r.md += "Each row is one configuration; metrics are mean +- standard deviation over its seeds.\n\n";
  r.md += "| Rank | Runs |" + factor_header(r) + " Seeds | Test accuracy | Test loss | Precision | Recall | F1 | Time |\n";
  r.md += "|---:|---|";
  for (size_t i = 0; i < r.factors.size(); ++i) r.md += "---|";
  r.md += "---:|---:|---:|---:|---:|---:|---:|\n";
  std::vector<const Cell*> order;
  for (const auto& c : r.cells)
    if (!c.done.empty()) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(),
                   [](const Cell* a, const Cell* b) { return a->accuracy.mean > b->accuracy.mean; });
  int rank = 0;
  for (const Cell* c : order) {
    ++rank;
    std::vector<double> acc, loss, prec, rec, f1, time;
    std::string ids;
    for (size_t i : c->done) {
      const RunData& run = r.sweep.runs[i];
      ids += (ids.empty() ? "" : ", ") + std::to_string(run.id);
      acc.push_back(*run.test_accuracy);
      if (run.test_loss) loss.push_back(*run.test_loss);
      if (run.test_precision) prec.push_back(*run.test_precision);
      if (run.test_recall) rec.push_back(*run.test_recall);
      if (run.test_f1) f1.push_back(*run.test_f1);
      if (run.wall_seconds) time.push_back(*run.wall_seconds);
    }
    const std::string a = mean_sd(acc, 4);
    r.md += "| " + std::to_string(rank) + " | " + ids + " |" + factor_cells(r, r.sweep.runs[c->done.front()]) + " " +
            std::to_string(c->done.size()) + " | " + (rank == 1 ? "**" + a + "**" : a) + " | " + mean_sd(loss, 4) +
            " | " + mean_sd(prec, 4) + " | " + mean_sd(rec, 4) + " | " + mean_sd(f1, 4) + " | " +
            (time.empty() ? "-" : duration(stat_of(time).mean)) + " |\n";
  }
  r.md += "\n";
}

}  // namespace

void section_results(SweepReport& r) {
  r.md += "## Results\n\n";
  if (r.ranked.empty()) {
    r.md += "No run has finished yet.\n\n";
  } else {
    r.md += "Test-set metrics, best test accuracy first (precision, recall and F1 are macro averages over the classes).\n\n";
    if (has_repeats(r.cells)) per_cell_table(r);
    else per_run_table(r);
  }
  std::string unfinished;
  for (const auto& run : r.sweep.runs) {
    if (run.status == "done") continue;
    unfinished += "- " + r.run_name(run) + ": **" + run.status + "**";
    if (!run.error.empty()) unfinished += ": " + md_cell(run.error);
    else if (run.status == "pending") unfinished += " (not run yet)";
    if (run.epochs_run > 0) unfinished += " (after " + std::to_string(run.epochs_run) + " epochs)";
    unfinished += "\n";
  }
  if (!unfinished.empty()) r.md += "Runs without a result:\n\n" + unfinished + "\n";
  std::string stuck;
  for (const auto& run : r.sweep.runs)
    if (const std::string why = not_learning(run); !why.empty()) stuck += "- " + r.run_name(run) + ": " + why + "\n";
  if (!stuck.empty())
    r.md += "Runs that finished but did not learn (their numbers say nothing about the setting but that it fails):\n\n" +
            stuck + "\n";
}

void section_effects(SweepReport& r) {
  std::vector<std::string> factors;
  for (const auto& f : r.factors)
    if (f != "variant") factors.push_back(f);  // variants differ in whole configurations: see Results
  if (factors.empty()) return;
  r.md += "## Effect of each hyperparameter\n\n";
  r.md += "Each setting is compared only between runs that differ in it alone, everything else equal "
          "(seeds aside). ";
  r.md += r.noise_sd ? "Differences are set against seed-to-seed noise (the pooled standard deviation of runs "
                       "that differ only in their seed, " + fixed(*r.noise_sd, 4) + ").\n\n"
                     : "Each configuration ran once, so differences are set against test-set noise: a test accuracy "
                       "p on n images has the binomial standard error sqrt(p(1-p)/n), about 0.0010 at 0.99 on "
                       "10,000 images; a difference within twice the standard error of a difference is a tie.\n\n";
  std::string inseparable;
  for (const auto& f : factors) {
    const Effect e = effect_of(r.sweep, f, r.factors, r.noise_sd);
    const std::string name = field_name(f, r.factors);
    if (e.groups.empty()) {
      std::string with;
      for (const auto& c : e.confounded) with += (with.empty() ? "" : ", ") + field_name(c, r.factors);
      inseparable += "- " + name + " (`" + f + "`)" + (with.empty() ? "" : ": changes together with " + with) + "\n";
      continue;
    }
    r.md += "### " + name + " (`" + f + "`)\n\n";
    for (const auto& g : e.groups) {
      r.md += "| " + md_cell(name) + " | Runs | Test accuracy | Test loss | Time per epoch | Time per run |\n"
              "|---|---|---:|---:|---:|---:|\n";
      for (const auto& row : g.rows) {
        auto cell = [&](const Stat& st) {
          if (st.n == 0) return std::string("-");
          return st.n > 1 ? fixed(st.mean, 4) + " +- " + fixed(st.sd, 4) : fixed(st.mean, 4);
        };
        std::string ids;
        for (int64_t id : row.run_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
        r.md += "| " + md_cell(value_text(row.value)) + " | " + ids + " | " + cell(row.accuracy) + " | " +
                cell(row.loss) + " | " + (row.epoch_seconds.n ? duration(row.epoch_seconds.mean) : "-") + " | " +
                (row.seconds.n ? duration(row.seconds.mean) : "-") + " |\n";
      }
      r.md += "\n" + g.sentence + (g.speed.empty() ? "" : " " + g.speed) + "\n\n";
    }
    if (!e.summary.empty()) r.md += e.summary + "\n\n";
  }
  if (!inseparable.empty())
    r.md += "### Not compared on their own\n\nNo two runs differ in these alone, so their effect cannot be "
            "separated from the settings that change with them; the Results table compares those runs as whole "
            "configurations.\n\n" + inseparable + "\n";
}

void section_progress(SweepReport& r) {
  std::vector<const RunData*> runs;
  for (const auto& run : r.sweep.runs)
    if (!run.epochs.empty()) runs.push_back(&run);
  if (runs.empty()) return;
  r.md += "## Training progress\n\n";
  auto arrow = [](double a, double b) { return fixed(a, 4) + " -> " + fixed(b, 4); };
  // Past a handful of runs, sentences become a wall of text: a table reads faster.
  if (runs.size() > 4) {
    bool validation = false;
    for (const RunData* run : runs) validation = validation || run->epochs.front().val_accuracy.has_value();
    r.md += "First to last epoch of every run that trained.\n\n";
    r.md += std::string("| Run | Epochs | Training accuracy |") + (validation ? " Validation accuracy |" : "") +
            " Training loss | Early stopped |\n|---|---:|---:|" + (validation ? "---:|" : "") + "---:|---|\n";
    for (const RunData* run : runs) {
      const EpochRow& a = run->epochs.front();
      const EpochRow& b = run->epochs.back();
      r.md += "| " + md_cell(r.run_name(*run)) + " | " + std::to_string(run->epochs.size()) + " | " +
              arrow(a.accuracy, b.accuracy) + " | ";
      if (validation)
        r.md += (a.val_accuracy && b.val_accuracy ? arrow(*a.val_accuracy, *b.val_accuracy) : std::string("-")) + " | ";
      r.md += arrow(a.loss, b.loss) + " | " + (run->early_stopped ? "yes" : "no") + " |\n";
    }
    r.md += "\n";
    return;
  }
  for (const RunData* run : runs) {
    const EpochRow& a = run->epochs.front();
    const EpochRow& b = run->epochs.back();
    r.md += "- " + r.run_name(*run) + " goes from " + fixed(a.accuracy, 4) + " to " + fixed(b.accuracy, 4) +
            " training accuracy over " + std::to_string(run->epochs.size()) + " epoch" +
            (run->epochs.size() > 1 ? "s" : "");
    if (a.val_accuracy && b.val_accuracy)
      r.md += " (validation " + arrow(*a.val_accuracy, *b.val_accuracy) + ")";
    r.md += "; training loss " + arrow(a.loss, b.loss);
    if (run->early_stopped) r.md += "; early stopping ended it";
    r.md += ".\n";
  }
  r.md += "\n";
}

}  // namespace sweep::report
