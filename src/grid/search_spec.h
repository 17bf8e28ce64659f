// What a grid's `search:` asks beyond random draws (docs/search.md): a
// pruning rule that stops unpromising runs early (PruningSpec; the rule
// itself is schedule/pruner.h) and the TPE sampler that proposes the next
// trials from the results so far (TpeSpec; expand/tpe.h). This is what the
// grid file said.
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
  // search.metric: what the pruning rule and TPE both watch.
  std::string metric = "val_accuracy";  // val_accuracy | val_loss | accuracy | loss
  int min_epochs = 1;                   // the first rung (asha, hyperband); the warm-up (median)
  int reduction_factor = 3;             // keep the best 1/reduction_factor at each rung
  int startup_runs = 5;                 // median: finished runs needed before it prunes
  SourceLocation at;                    // search.strategy in the grid file, for messages

  bool active() const { return strategy != Strategy::none; }
  // accuracy: higher is better; loss: lower is better.
  bool maximize() const { return metric.find("accuracy") != std::string::npos; }
};

// strategy: tpe. The first startup_trials trials are random draws (as
// search.samples); each later batch of `batch` trials is proposed from the
// results so far. batch 0: four trials per concurrent run (--jobs, else the
// cores), so the search is the same for a seed and a worker count, and a
// batch's runs, longest first, keep the lanes busy until the next is proposed.
struct TpeSpec {
  bool active = false;
  int trials = 0;
  int startup_trials = 10;
  int batch = 0;
  SourceLocation at;  // search.strategy in the grid file, for messages
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
