#include "schedule/pruner.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace sweep {

Pruner::Pruner(PruningSpec spec, int max_epochs) : spec_(std::move(spec)), max_epochs_(max_epochs) {
  if (spec_.strategy == PruningSpec::Strategy::hyperband) {
    // One bracket per first rung below the last epoch, and a last one that
    // trains every run to the end.
    brackets_ = 1;
    for (int64_t first = spec_.min_epochs; first < max_epochs_; first *= spec_.reduction_factor) ++brackets_;
  }
}

int Pruner::bracket_of(size_t grid_index) const {
  return static_cast<int>(grid_index % static_cast<size_t>(brackets_));
}

std::vector<int> Pruner::decision_epochs(int bracket, int epochs) const {
  std::vector<int> out;
  if (spec_.strategy == PruningSpec::Strategy::median) {
    for (int e = spec_.min_epochs; e < epochs; ++e) out.push_back(e);
    return out;
  }
  int64_t e = spec_.min_epochs;
  for (int b = 0; b < bracket && e < epochs; ++b) e *= spec_.reduction_factor;
  for (; e < epochs; e *= spec_.reduction_factor) out.push_back(static_cast<int>(e));
  return out;
}

double Pruner::value_of(const EpochMetrics& m) const {
  if (spec_.metric == "val_accuracy") return m.val_accuracy;
  if (spec_.metric == "val_loss") return m.val_loss;
  if (spec_.metric == "accuracy") return m.accuracy;
  return m.loss;
}

bool Pruner::better(double a, double b) const {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return spec_.maximize() ? a > b : a < b;
}

std::optional<PruneDecision> Pruner::judge(int64_t run_id, int bracket, int epochs_total,
                                           const std::vector<EpochMetrics>& epochs) {
  if (epochs.empty()) return std::nullopt;
  const int epoch = epochs.back().epoch;
  std::lock_guard lock(mutex_);
  if (exempt_.count(run_id)) return std::nullopt;
  if (const auto it = made_.find({run_id, epoch}); it != made_.end()) return it->second;
  const std::vector<int> points = decision_epochs(bracket, epochs_total);
  const auto point = std::find(points.begin(), points.end(), epoch);
  if (point == points.end()) return std::nullopt;
  std::optional<PruneDecision> d = spec_.strategy == PruningSpec::Strategy::median
                                       ? judge_median(run_id, epochs)
                                       : judge_rung(run_id, bracket, static_cast<int>(point - points.begin()), epoch,
                                                    value_of(epochs.back()));
  if (!d) return d;
  d->run_id = run_id;
  d->epoch = epoch;
  d->bracket = bracket;
  made_[{run_id, epoch}] = *d;
  return d;
}

std::optional<PruneDecision> Pruner::judge_rung(int64_t run_id, int bracket, int rung, int epoch, double value) {
  std::map<int64_t, double>& here = rungs_[{bracket, rung}];
  here[run_id] = value;  // a run judged again (retrained after a kill) counts once
  std::vector<double> values;
  for (const auto& [run, v] : here) values.push_back(v);
  std::sort(values.begin(), values.end(), [&](double a, double b) { return better(a, b); });
  const int n = static_cast<int>(values.size());
  const int keep = std::max(1, n / spec_.reduction_factor);
  PruneDecision d;
  d.rung = rung;
  d.value = value;
  d.competitors = n;
  d.rank = 1 + static_cast<int>(std::count_if(values.begin(), values.end(), [&](double v) { return better(v, value); }));
  d.prune = better(values[static_cast<size_t>(keep - 1)], value);
  d.reason = fmt::format("rung {} (epoch {}): {} {:.4f} ranks {} of {}; the best {} go on", rung, epoch, spec_.metric,
                         value, d.rank, n, keep);
  return d;
}

std::optional<PruneDecision> Pruner::judge_median(int64_t run_id, const std::vector<EpochMetrics>& epochs) {
  const int epoch = epochs.back().epoch;
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const EpochMetrics& m : epochs)
    if (better(value_of(m), best)) best = value_of(m);
  std::vector<double> others;
  for (const auto& [run, curve] : finished_)
    if (run != run_id && static_cast<int>(curve.size()) >= epoch && !std::isnan(curve[static_cast<size_t>(epoch - 1)]))
      others.push_back(curve[static_cast<size_t>(epoch - 1)]);
  if (others.empty() || static_cast<int>(others.size()) < spec_.startup_runs) return std::nullopt;
  std::sort(others.begin(), others.end());
  const size_t n = others.size();
  const double median = n % 2 ? others[n / 2] : (others[n / 2 - 1] + others[n / 2]) / 2;
  PruneDecision d;
  d.value = best;
  d.competitors = static_cast<int>(n) + 1;
  d.rank = 1 + static_cast<int>(std::count_if(others.begin(), others.end(), [&](double v) { return better(v, best); }));
  d.prune = better(median, best);
  const char* worse = spec_.maximize() ? "below" : "above";
  d.reason = fmt::format("epoch {}: best {} so far {:.4f} is {}{} the median {:.4f} of {} finished runs", epoch,
                         spec_.metric, best, d.prune ? "" : "not ", worse, median, n);
  return d;
}

void Pruner::restore_decision(const PruneDecision& decision) {
  std::lock_guard lock(mutex_);
  made_[{decision.run_id, decision.epoch}] = decision;
  if (decision.rung >= 0) rungs_[{decision.bracket, decision.rung}][decision.run_id] = decision.value;
}

void Pruner::restore_finished(int64_t run_id, const std::vector<EpochMetrics>& epochs) { finished(run_id, epochs); }

void Pruner::finished(int64_t run_id, const std::vector<EpochMetrics>& epochs) {
  std::vector<double> curve;
  for (const EpochMetrics& m : epochs) curve.push_back(value_of(m));
  std::lock_guard lock(mutex_);
  finished_[run_id] = std::move(curve);
}

void Pruner::exempt(int64_t run_id) {
  std::lock_guard lock(mutex_);
  exempt_.insert(run_id);
}

}  // namespace sweep
