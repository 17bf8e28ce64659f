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

// A summary's ranked table keeps the best and the worst rows and drops the
// middle: rows [cut, resume) are left out, marked by one row of dots.
struct BestAndWorst {
  size_t cut, resume;
};

BestAndWorst best_and_worst(const SweepReport& r, size_t n) {
  const size_t cut = r.summary && n > r.limits.best_runs + r.limits.worst_runs ? r.limits.best_runs : n;
  return {cut, cut < n ? n - r.limits.worst_runs : n};
}

// The row of dots where the dropped rows would be; `metric_cells` fills the
// columns after the factors.
void dots_row(SweepReport& r, const char* metric_cells) {
  r.md += "| ... | ... |";
  for (size_t f = 0; f < r.factors.size(); ++f) r.md += " ... |";
  r.md += metric_cells;
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
  // A summary shows the best and the worst, and a row of dots where the rest would be.
  const size_t n = r.ranked.size();
  const auto [cut, resume] = best_and_worst(r, n);
  for (size_t k = 0; k < n; ++k) {
    if (k == cut && cut < n) dots_row(r, " ... | | | | | | | |\n");
    if (k >= cut && k < resume) continue;
    const RunData& run = r.sweep.runs[r.ranked[k]];
    const int rank = static_cast<int>(k) + 1;
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
  if (cut < n)
    r.md += r.more_line(resume - cut,
                        "finished runs, ranks " + thousands(static_cast<int64_t>(cut) + 1) + " to " +
                            thousands(static_cast<int64_t>(resume)) + ", are",
                        r.runs_sql("id, varied, test_accuracy, test_loss, test_f1, wall_seconds",
                                   "status = 'done' AND test_accuracy IS NOT NULL", "test_accuracy DESC, id") +
                            " LIMIT " + std::to_string(resume - cut) + " OFFSET " + std::to_string(cut));
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
  const size_t n = order.size();
  const auto [cut, resume] = best_and_worst(r, n);
  for (size_t k = 0; k < n; ++k) {
    if (k == cut && cut < n) dots_row(r, " | ... | | | | | |\n");
    if (k >= cut && k < resume) continue;
    const Cell* c = order[k];
    const int rank = static_cast<int>(k) + 1;
    std::vector<double> acc, loss, prec, rec, f1, time;
    std::vector<int64_t> run_ids;
    for (size_t i : c->done) {
      const RunData& run = r.sweep.runs[i];
      run_ids.push_back(run.id);
      acc.push_back(*run.test_accuracy);
      if (run.test_loss) loss.push_back(*run.test_loss);
      if (run.test_precision) prec.push_back(*run.test_precision);
      if (run.test_recall) rec.push_back(*run.test_recall);
      if (run.test_f1) f1.push_back(*run.test_f1);
      if (run.wall_seconds) time.push_back(*run.wall_seconds);
    }
    const std::string a = mean_sd(acc, 4);
    r.md += "| " + std::to_string(rank) + " | " + r.ids_text(run_ids) + " |" + factor_cells(r, r.sweep.runs[c->done.front()]) + " " +
            std::to_string(c->done.size()) + " | " + (rank == 1 ? "**" + a + "**" : a) + " | " + mean_sd(loss, 4) +
            " | " + mean_sd(prec, 4) + " | " + mean_sd(rec, 4) + " | " + mean_sd(f1, 4) + " | " +
            (time.empty() ? "-" : duration(stat_of(time).mean)) + " |\n";
  }
  r.md += "\n";
  // Seeds aside, a run's varied values are its configuration.
  std::string config = "varied";
  for (const auto& path : r.sweep.varied)
    if (is_seed_field(path)) config = "json_remove(" + config + ", '$.\"" + path + "\"')";
  if (cut < n)
    r.md += r.more_line(resume - cut,
                        "configurations, ranks " + thousands(static_cast<int64_t>(cut) + 1) + " to " +
                            thousands(static_cast<int64_t>(resume)) + ", are",
                        "SELECT " + config + " AS configuration, COUNT(*) AS seeds, AVG(test_accuracy) AS accuracy " +
                            "FROM runs WHERE sweep_id = " + std::to_string(r.sweep.id) +
                            (r.sweep.has_in_grid ? " AND in_grid = 1" : "") +
                            " AND status = 'done' AND test_accuracy IS NOT NULL GROUP BY 1 ORDER BY 3 DESC");
}

// The SQL condition not_learning() states: test accuracy at most twice chance
// (chance from the run's confusion matrix size, 10 classes without one), or a
// training loss that did not fall from the first epoch to the last.
const char* kNotLearningSql =
    "status = 'done' AND test_accuracy IS NOT NULL AND (test_accuracy <= 2.0 / COALESCE((SELECT "
    "MAX(MAX(true_label), MAX(predicted)) + 1 FROM confusion WHERE run_id = runs.id), 10) OR ((SELECT COUNT(*) "
    "FROM epochs WHERE run_id = runs.id) >= 2 AND (SELECT loss FROM epochs WHERE run_id = runs.id ORDER BY epoch "
    "DESC LIMIT 1) >= (SELECT loss FROM epochs WHERE run_id = runs.id ORDER BY epoch LIMIT 1)))";

// The matched groups a factor's section shows: all of them in a full report;
// in a summary, those whose best value did best (best first), up to the limit.
std::vector<const MatchedGroup*> shown_groups(const SweepReport& r, const Effect& e) {
  std::vector<const MatchedGroup*> groups;
  for (const auto& g : e.groups) groups.push_back(&g);
  if (!r.summary || groups.size() <= r.limits.groups) return groups;
  auto top = [](const MatchedGroup* g) {
    double best = 0;
    for (const auto& row : g->rows) best = std::max(best, row.accuracy.mean);
    return best;
  };
  std::stable_sort(groups.begin(), groups.end(), [&](const MatchedGroup* a, const MatchedGroup* b) { return top(a) > top(b); });
  groups.resize(r.limits.groups);
  return groups;
}

// A group's rows to show, in value order: all, or in a summary with more
// values than the limit, the best and the worst of them (head_and_tail).
std::vector<size_t> shown_rows(const SweepReport& r, const MatchedGroup& g) {
  std::vector<size_t> rows(g.rows.size());
  for (size_t k = 0; k < rows.size(); ++k) rows[k] = k;
  if (!r.summary || rows.size() <= r.limits.values) return rows;
  std::vector<size_t> ranked = rows;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](size_t a, size_t b) { return g.rows[a].accuracy.mean > g.rows[b].accuracy.mean; });
  std::vector<size_t> shown;
  for (size_t k : head_and_tail(ranked.size(), r.limits.values)) shown.push_back(ranked[k]);
  std::sort(shown.begin(), shown.end());
  return shown;
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
  const size_t listed = r.summary ? r.limits.runs_listed : r.sweep.runs.size();
  std::string unfinished;
  size_t without = 0;
  for (const auto& run : r.sweep.runs) {
    if (run.status == "done" || ++without > listed) continue;
    unfinished += "- " + r.run_name(run) + ": **" + run.status + "**";
    if (!run.error.empty()) unfinished += ": " + md_cell(run.error);
    else if (run.status == "pending") unfinished += " (not run yet)";
    if (run.epochs_run > 0) unfinished += " (after " + std::to_string(run.epochs_run) + " epochs)";
    unfinished += "\n";
  }
  if (!unfinished.empty()) {
    r.md += without > listed ? "Runs without a result: " + thousands(static_cast<int64_t>(without)) +
                                   " (by status in Setup); the first " + std::to_string(listed) + ":\n\n"
                             : std::string("Runs without a result:\n\n");
    r.md += unfinished + "\n";
    if (without > listed)
      r.md += r.more_line(without - listed, "runs without a result are",
                          r.runs_sql("id, status, error, epochs_run", "status <> 'done'", "id"));
  }
  std::string stuck;
  size_t stuck_count = 0;
  for (const auto& run : r.sweep.runs)
    if (const std::string why = not_learning(run); !why.empty() && ++stuck_count <= listed)
      stuck += "- " + r.run_name(run) + ": " + why + "\n";
  if (!stuck.empty()) {
    r.md += "Runs that finished but did not learn (their numbers say nothing about the setting but that it fails)" +
            (stuck_count > listed ? ": " + thousands(static_cast<int64_t>(stuck_count)) + "; the first " +
                                        std::to_string(listed) + ":\n\n"
                                  : std::string(":\n\n")) +
            stuck + "\n";
    if (stuck_count > listed)
      r.md += r.more_line(stuck_count - listed, "runs that did not learn are",
                          r.runs_sql("id, test_accuracy, train_loss", kNotLearningSql, "id"));
  }
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
    const Effect& e = r.effect(f);
    const std::string name = field_name(f, r.factors);
    if (e.groups.empty()) {
      std::string with;
      for (const auto& c : e.confounded) with += (with.empty() ? "" : ", ") + field_name(c, r.factors);
      inseparable += "- " + name + " (`" + f + "`)" + (with.empty() ? "" : ": changes together with " + with) + "\n";
      continue;
    }
    r.md += "### " + name + " (`" + f + "`)\n\n";
    const std::vector<const MatchedGroup*> groups = shown_groups(r, e);
    if (groups.size() < e.groups.size())
      r.md += "The " + std::to_string(groups.size()) + " comparisons with the best results, of " +
              thousands(static_cast<int64_t>(e.groups.size())) + "; the tally after them counts all.\n\n";
    for (const MatchedGroup* g : groups) {
      r.md += "| " + md_cell(name) + " | Runs | Test accuracy | Test loss | Time per epoch | Time per run |\n"
              "|---|---|---:|---:|---:|---:|\n";
      const std::vector<size_t> rows = shown_rows(r, *g);
      for (const size_t k : rows) {
        const EffectRow& row = g->rows[k];
        auto cell = [&](const Stat& st) {
          if (st.n == 0) return std::string("-");
          return st.n > 1 ? fixed(st.mean, 4) + " +- " + fixed(st.sd, 4) : fixed(st.mean, 4);
        };
        r.md += "| " + md_cell(value_text(row.value)) + " | " + r.ids_text(row.run_ids) + " | " + cell(row.accuracy) +
                " | " + cell(row.loss) + " | " + (row.epoch_seconds.n ? duration(row.epoch_seconds.mean) : "-") +
                " | " + (row.seconds.n ? duration(row.seconds.mean) : "-") + " |\n";
      }
      if (rows.size() < g->rows.size())
        r.md += "| ... | " + std::to_string(g->rows.size() - rows.size()) +
                " more values, between the best and the worst shown | | | | |\n";
      r.md += "\n" + g->sentence + (g->speed.empty() ? "" : " " + g->speed) + "\n\n";
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
    const size_t listed = r.summary ? std::min(runs.size(), r.limits.runs_listed) : runs.size();
    r.md += listed < runs.size() ? "First to last epoch of the first " + std::to_string(listed) + " of the " +
                                       thousands(static_cast<int64_t>(runs.size())) + " runs that trained.\n\n"
                                 : std::string("First to last epoch of every run that trained.\n\n");
    r.md += std::string("| Run | Epochs | Training accuracy |") + (validation ? " Validation accuracy |" : "") +
            " Training loss | Early stopped |\n|---|---:|---:|" + (validation ? "---:|" : "") + "---:|---|\n";
    for (size_t k = 0; k < listed; ++k) {
      const RunData* run = runs[k];
      const EpochRow& a = run->epochs.front();
      const EpochRow& b = run->epochs.back();
      r.md += "| " + md_cell(r.run_name(*run)) + " | " + std::to_string(run->epochs.size()) + " | " +
              arrow(a.accuracy, b.accuracy) + " | ";
      if (validation)
        r.md += (a.val_accuracy && b.val_accuracy ? arrow(*a.val_accuracy, *b.val_accuracy) : std::string("-")) + " | ";
      r.md += arrow(a.loss, b.loss) + " | " + (run->early_stopped ? "yes" : "no") + " |\n";
    }
    r.md += "\n";
    if (listed < runs.size())
      r.md += r.more_line(runs.size() - listed, "runs' epochs are",
                          "SELECT run_id, epoch, loss, accuracy, val_loss, val_accuracy FROM epochs WHERE run_id IN (" +
                              r.runs_sql("id", "", "id") + ") ORDER BY run_id, epoch");
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
