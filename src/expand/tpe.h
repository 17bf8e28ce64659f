// The Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for
// Hyper-Parameter Optimization", NeurIPS 2011) over search.space: the next
// trials' values from the trials so far. Univariate, as Optuna's default
// TPESampler: for each dimension, the trials are split into the best
// gamma(n) = min(ceil(n / 10), 25) and the rest; a Parzen estimator of each
// (a truncated Gaussian per trial plus a wide prior for numbers, counts plus
// one for choices) gives l(x) and g(x), and of 24 candidates drawn from l the
// one with the largest l(x) / g(x) is taken.
//
// Parallel batches by a constant liar: a batch's trials are proposed one
// after another, each earlier one of the batch counted as a trial with the
// worst result, so the batch spreads out instead of proposing one point k
// times. Everything is a pure function of the space, the history, the seed
// and the trial numbers: the same search for the same seed and batch size.
#pragma once
#include <cstdint>
#include <vector>

#include "grid/grid_spec.h"

namespace sweep {

struct TpeTrial {
  std::vector<json> values;  // one per search.space dimension, in its order
  // How good it was, compared as (stage, value): a later stage is better
  // whatever the value (a run that trained to its end beats one pruned
  // early, as Optuna ranks pruned trials by the step they reached); within a
  // stage, `value` by the metric's direction. Unfinished or failed trials
  // take stage -1 (the worst).
  int stage = -1;
  double value = 0;
};

struct TpeSettings {
  uint64_t seed = 0;
  bool maximize = true;
  int candidates = 24;  // Optuna's n_ei_candidates
};

// `count` new trials, numbered first_trial .. first_trial + count - 1 (their
// numbers key the random draws), from the trials of `history`.
std::vector<std::vector<json>> propose_tpe(const std::vector<SearchDimension>& space,
                                           const std::vector<TpeTrial>& history, int count, int first_trial,
                                           const TpeSettings& settings);

}  // namespace sweep
