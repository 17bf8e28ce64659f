// The Search section, for a grid that pruned runs or ran TPE (docs/search.md):
// how the best result grew with the training time spent, how many runs each
// rung pruned, and how much of the metric each hyperparameter explains.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "grid/search_spec.h"
#include "report/sections.h"
#include "report/svg.h"

namespace sweep::report {
namespace {

std::optional<double> metric_of(const EpochRow& e, const std::string& metric) {
  if (metric == "val_accuracy") return e.val_accuracy;
  if (metric == "val_loss") return e.val_loss;
  if (metric == "accuracy") return e.accuracy;
  return e.loss;
}

// The metric's direction, as the pruning rule that recorded it has it.
bool better(double a, double b, const std::string& metric) {
  PruningSpec rule;
  rule.metric = metric;
  return rule.maximize() ? a > b : a < b;
}

void intro(SweepReport& r, const std::string& metric) {
  const SearchRecord& s = r.sweep.search;
  int done = 0;
  for (const RunData& run : r.sweep.runs) done += run.status == "done" ? 1 : 0;
  const int pruned = static_cast<int>(s.pruned_epoch.size());
  if (s.trials > 0)
    r.md += "TPE proposed " + std::to_string(s.tpe_trials) + " of the " + std::to_string(s.trials) +
            " trials from the results of those before them; the first " + std::to_string(s.trials - s.tpe_trials) +
            " were drawn at random. ";
  if (!s.strategy.empty())
    r.md += "The " + s.strategy + " rule judged runs on `" + metric + "` and pruned " + std::to_string(pruned) + " of " +
            std::to_string(r.sweep.runs.size()) + "; " + std::to_string(done) + " trained to their last epoch. ";
  r.md += "Every decision is in the database: `SELECT * FROM prune_decisions` and `SELECT * FROM search_trials`.\n\n";
}

// The best value so far against the training time spent, in the order runs finished.
void best_so_far(SweepReport& r, const std::string& metric) {
  std::vector<const RunData*> finished;
  for (const RunData& run : r.sweep.runs)
    if ((run.status == "done" || run.status == "pruned") && !run.epochs.empty() && run.wall_seconds)
      finished.push_back(&run);
  if (finished.empty()) return;
  std::stable_sort(finished.begin(), finished.end(),
                   [](const RunData* a, const RunData* b) { return a->finished < b->finished; });
  r.md += "### Best so far\n\nIn the order the runs finished, against the training time summed over the runs "
          "(each run's own wall time; runs trained side by side overlap in the sweep's wall clock). A row for each "
          "run that improved on the best `" + metric + "`:\n\n";
  r.md += "| Runs finished | Training time | Best `" + metric + "` | Run | Its status | Its test accuracy |\n";
  r.md += "|---:|---:|---:|---|---|---:|\n";
  double spent = 0;
  std::optional<double> best;
  Series curve{"best " + metric + " so far", {}, {}, 0, false};
  for (size_t k = 0; k < finished.size(); ++k) {
    const RunData& run = *finished[k];
    spent += *run.wall_seconds;
    const std::optional<double> value = metric_of(run.epochs.back(), metric);
    if (value && std::isfinite(*value) && (!best || better(*value, *best, metric))) {
      best = value;
      r.md += "| " + std::to_string(k + 1) + " | " + duration(spent) + " | " + fixed(*value, 4) + " | " +
              md_cell(r.run_name(run)) + " | " + run.status +
              (run.status == "pruned" ? " after epoch " + std::to_string(run.epochs.size()) : "") + " | " +
              fixed_or_dash(run.test_accuracy, 4) + " |\n";
    }
    if (best) curve.x.push_back(spent), curve.y.push_back(*best);
  }
  r.md += "\n" + std::to_string(finished.size()) + " runs in " + duration(spent) + " of training.\n\n";
  LineChart chart{"Best " + metric + " so far", "training time summed over runs (s)", metric, {curve}, false};
  r.md += "![Best so far](" + r.add_figure("search_best_so_far.svg", render_line_chart(chart)) + ")\n\n";
}

void per_rung(SweepReport& r) {
  const SearchRecord& s = r.sweep.search;
  if (s.rungs.empty()) return;
  const bool brackets = std::any_of(s.rungs.begin(), s.rungs.end(), [](const RungCount& c) { return c.bracket > 0; });
  const bool median = s.rungs.front().rung < 0;
  r.md += std::string("### Pruned per ") + (median ? "epoch" : "rung") + "\n\n";
  r.md += std::string("| ") + (brackets ? "Bracket | " : "") + (median ? "" : "Rung | ") +
          "After epoch | Judged | Went on | Pruned |\n|" + (brackets ? "---:|" : "") + (median ? "" : "---:|") +
          "---:|---:|---:|---:|\n";
  for (const RungCount& c : s.rungs)
    r.md += "| " + (brackets ? std::to_string(c.bracket) + " | " : std::string()) +
            (median ? std::string() : std::to_string(c.rung) + " | ") + std::to_string(c.epoch) + " | " +
            std::to_string(c.judged) + " | " + std::to_string(c.went_on) + " | " + std::to_string(c.pruned) + " |\n";
  r.md += "\n";
}

// One-way ANOVA's eta squared of `values` grouped by `groups`: the share of
// their variance the grouping explains alone.
double eta_squared(const std::vector<double>& values, const std::vector<std::string>& groups) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  std::map<std::string, std::pair<double, int>> sums;
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    total += (values[i] - mean) * (values[i] - mean);
    sums[groups[i]].first += values[i];
    sums[groups[i]].second += 1;
  }
  if (total <= 0) return 0;
  double between = 0;
  for (const auto& [group, sum] : sums) {
    const double m = sum.first / sum.second;
    between += sum.second * (m - mean) * (m - mean);
  }
  return between / total;
}

// A run's value of `factor` as a group: the value itself, or for numbers
// with more than four values, the quarter of the runs it falls in.
std::vector<std::string> groups_of(const std::vector<const RunData*>& runs, const std::string& factor) {
  std::vector<json> values;
  std::set<std::string> distinct;
  for (const RunData* run : runs) {
    values.push_back(run->varied.value(factor, json()));
    distinct.insert(values.back().dump());
  }
  const bool numeric = std::all_of(values.begin(), values.end(), [](const json& v) { return v.is_number(); });
  std::vector<std::string> groups;
  if (!numeric || distinct.size() <= 4) {
    for (const json& v : values) groups.push_back(value_text(v));
    return groups;
  }
  std::vector<double> sorted;
  for (const json& v : values) sorted.push_back(v.get<double>());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  for (const json& v : values) {
    const double x = v.get<double>();
    int q = 0;
    while (q < 3 && x > sorted[(q + 1) * n / 4 - 1]) ++q;
    groups.push_back(shortest(sorted[q * n / 4]) + " to " + shortest(sorted[(q + 1) * n / 4 - 1]));
  }
  return groups;
}

void importance(SweepReport& r, const std::string& metric) {
  std::vector<std::string> factors;
  for (const std::string& f : r.sweep.varied)
    if (f != "variant") factors.push_back(f);
  if (factors.empty()) return;
  // The runs that trained to their last epoch, by their last value; when
  // pruning left fewer than five of those, every finished run by its value
  // after the last epoch they all reached (lower fidelity, but like for like).
  auto collect = [&](bool done_only, size_t epoch, std::vector<const RunData*>& runs, std::vector<double>& values) {
    runs.clear(), values.clear();
    for (const RunData& run : r.sweep.runs) {
      if (run.epochs.empty() || (done_only ? run.status != "done" : run.status != "done" && run.status != "pruned"))
        continue;
      const EpochRow& e = done_only ? run.epochs.back() : run.epochs[std::min(epoch, run.epochs.size()) - 1];
      if (const auto v = metric_of(e, metric); v && std::isfinite(*v)) runs.push_back(&run), values.push_back(*v);
    }
  };
  std::vector<const RunData*> runs;
  std::vector<double> values;
  collect(true, 0, runs, values);
  std::string which = "the " + std::to_string(runs.size()) +
                      " runs that trained to their last epoch (pruned runs stopped at other epochs and are left out)";
  if (runs.size() < 5) {
    size_t common = std::numeric_limits<size_t>::max();
    for (const RunData& run : r.sweep.runs)
      if ((run.status == "done" || run.status == "pruned") && !run.epochs.empty()) common = std::min(common, run.epochs.size());
    if (common != std::numeric_limits<size_t>::max()) collect(false, common, runs, values);
    which = "the " + std::to_string(runs.size()) + " finished runs after epoch " + std::to_string(common) +
            ", which all of them reached (too few trained to the end to judge by their last epoch)";
  }
  r.md += "### Hyperparameter importance\n\n";
  if (runs.size() < 5) {
    r.md += "Only " + std::to_string(runs.size()) + " runs finished: too few to apportion `" + metric +
            "` among the hyperparameters.\n\n";
    return;
  }
  r.md += "The share of the variance of `" + metric + "` over " + which +
          " that each hyperparameter explains alone: one-way ANOVA's eta squared, numbers with more than four values "
          "grouped into quarters of the runs. It is marginal, not fANOVA: hyperparameters that the search moved "
          "together share credit, and the shares need not add up to 1.\n\n";
  struct Row {
    std::string factor;
    double share;
    std::string best_group;
  };
  std::vector<Row> rows;
  for (const std::string& f : factors) {
    const std::vector<std::string> groups = groups_of(runs, f);
    std::map<std::string, std::pair<double, int>> sums;
    for (size_t i = 0; i < groups.size(); ++i) sums[groups[i]].first += values[i], sums[groups[i]].second += 1;
    std::string best;
    double best_mean = 0;
    for (const auto& [g, sum] : sums) {
      const double m = sum.first / sum.second;
      if (best.empty() || better(m, best_mean, metric)) best = g, best_mean = m;
    }
    rows.push_back({f, eta_squared(values, groups), best + " (mean " + fixed(best_mean, 4) + ")"});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.share > b.share; });
  r.md += "| Hyperparameter | Share of variance | Best value or range (mean `" + metric + "`) |\n|---|---:|---|\n";
  for (const Row& row : rows)
    r.md += "| `" + md_cell(row.factor) + "` | " + fixed(row.share, 2) + " | " + md_cell(row.best_group) + " |\n";
  r.md += "\n";
}

}  // namespace

void section_search(SweepReport& r) {
  const SearchRecord& s = r.sweep.search;
  if (s.rungs.empty() && s.trials == 0 && s.pruned_epoch.empty()) return;
  const std::string metric = s.metric.empty() ? "val_accuracy" : s.metric;
  r.md += "## Search\n\n";
  intro(r, metric);
  best_so_far(r, metric);
  per_rung(r);
  importance(r, metric);
}

}  // namespace sweep::report
