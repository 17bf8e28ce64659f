// search.strategy of a grid that prunes: which rule stops unpromising runs
// early, on which metric, and at which epochs (docs/pruning.md). The rule
// itself is schedule/pruner.h; this is what the grid file said.
#pragma once
#include <cstdint>
#include <string>

#include "common/error.h"

namespace sweep {

struct PruningSpec {
  // asha: asynchronous successive halving (Li et al. 2020; Optuna's
  // SuccessiveHalvingPruner). `successive_halving` in a grid names the same
  // rule: runs are never paused to wait for a full rung, so every core stays
  // busy. hyperband: asha in brackets with different minimum epochs. median:
  // stop a run whose best value so far is worse than the median of finished
  // runs at the same epoch (Optuna's MedianPruner).
  enum class Strategy { none, asha, hyperband, median };
  Strategy strategy = Strategy::none;
  std::string strategy_name;            // as written in the grid ("successive_halving", ...)
  std::string metric = "val_accuracy";  // val_accuracy | val_loss | accuracy | loss
  int min_epochs = 1;                   // the first rung (asha, hyperband); the warm-up (median)
  int reduction_factor = 3;             // keep the best 1/reduction_factor at each rung
  int startup_runs = 5;                 // median: finished runs needed before it prunes
  SourceLocation at;                    // search.strategy in the grid file, for messages

  bool active() const { return strategy != Strategy::none; }
  // accuracy: higher is better; loss: lower is better.
  bool maximize() const { return metric.find("accuracy") != std::string::npos; }
};

// One decision of a pruning rule (schedule/pruner.h), as the prune_decisions
// table records it.
struct PruneDecision {
  int64_t run_id = 0;
  int epoch = 0;
  int bracket = 0;
  int rung = -1;  // asha, hyperband: 0-based rung; median: -1
  double value = 0;
  int rank = 0;         // 1 = best of the compared values
  int competitors = 0;  // values compared, the run's own included
  bool prune = false;
  std::string reason;
};

}  // namespace sweep
