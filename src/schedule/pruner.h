// The pruning rules of search.strategy (grid/search_spec.h, docs/search.md):
// which runs stop early, decided from the metric each run reports after its
// epochs. Pure logic behind one mutex: the scheduler's lanes report from
// their own threads, and the decisions (with the values, ranks and reasons
// that made them) go to the database, from which a resumed sweep restores
// them (restore_decision, restore_finished) so that it decides as if never
// stopped.
//
// asha (= successive_halving): the rungs of a run are the epochs min_epochs x
// reduction_factor^k below its last epoch. Reaching a rung, a run is compared
// with every value recorded at that rung so far, its own included: it goes on
// when it ranks in the best n / reduction_factor of those n (at least the
// best one), else it is pruned. No run waits for a rung to fill, so no core
// idles; the price is that early runs face fewer competitors (Li et al.,
// "A System for Massively Parallel Hyperparameter Tuning", 2020; Optuna's
// SuccessiveHalvingPruner applies the same rule).
// hyperband: runs are dealt round-robin (by their place in the grid) into
// brackets b = 0..B, each asha with a first rung at min_epochs x
// reduction_factor^b, compared only within their bracket; the last bracket
// trains to the end (Li et al., "Hyperband", 2018, with asha's brackets).
// median: after epoch e >= min_epochs, a run whose best value so far is worse
// than the median of the finished (done) runs' values at epoch e is pruned,
// once startup_runs runs have finished (Optuna's MedianPruner).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "grid/search_spec.h"
#include "train/trainer.h"

namespace sweep {

class Pruner {
 public:
  // `max_epochs`: the most epochs any run of the grid trains (hyperband's
  // brackets span min_epochs .. max_epochs).
  Pruner(PruningSpec spec, int max_epochs);

  const PruningSpec& spec() const { return spec_; }
  int brackets() const { return brackets_; }
  // The bracket of the run at `grid_index` in the expanded grid (0 unless hyperband).
  int bracket_of(size_t grid_index) const;
  // The epochs after which a run of `epochs` in `bracket` is judged (asha,
  // hyperband); median: every epoch from min_epochs below the last.
  std::vector<int> decision_epochs(int bracket, int epochs) const;

  // Called after every epoch of a run (all its epochs so far, the latest
  // last): a decision when this epoch is one to judge, else nullopt. A
  // decision already made for this run and epoch (restored, or made before a
  // kill) is returned as it was. Runs marked exempt are never judged.
  std::optional<PruneDecision> judge(int64_t run_id, int bracket, int epochs_total,
                                     const std::vector<EpochMetrics>& epochs);

  // A resumed sweep: the decisions already recorded, and the finished runs'
  // curves (median compares with those).
  void restore_decision(const PruneDecision& decision);
  void restore_finished(int64_t run_id, const std::vector<EpochMetrics>& epochs);
  // A run that finished its epochs (done): median compares later runs with it.
  void finished(int64_t run_id, const std::vector<EpochMetrics>& epochs);
  // A pruned run the user continued: trained to its end, never judged again.
  void exempt(int64_t run_id);

  // The metric's value in an epoch; NaN counts as the worst value.
  double value_of(const EpochMetrics& m) const;

 private:
  std::optional<PruneDecision> judge_rung(int64_t run_id, int bracket, int rung, int epoch, double value);
  std::optional<PruneDecision> judge_median(int64_t run_id, const std::vector<EpochMetrics>& epochs);
  bool better(double a, double b) const;  // a strictly better than b

  PruningSpec spec_;
  int max_epochs_;
  int brackets_ = 1;
  std::mutex mutex_;
  // asha, hyperband: (bracket, rung) -> run -> value recorded there.
  std::map<std::pair<int, int>, std::map<int64_t, double>> rungs_;
  // median: run -> its values by epoch (index 0 = epoch 1), finished runs only.
  std::map<int64_t, std::vector<double>> finished_;
  std::map<std::pair<int64_t, int>, PruneDecision> made_;  // (run, epoch) -> decision
  std::set<int64_t> exempt_;
};

}  // namespace sweep
