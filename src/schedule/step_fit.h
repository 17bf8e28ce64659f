// Prices the networks of a grid that were not timed (schedule/step_costs.h:
// the time budget ran out) from the ones that were, on the same lane.
//
// A step's time is not proportional to its FLOPs: the small networks of a
// sweep spend much of it in memory-bound layers (pooling, activations, batch
// norm, dropout) and in a fixed per-step cost. So a step is modelled as
//   train step    = a + b x training FLOPs x batch + c x activations x batch
//   predict image = d + e x forward FLOPs + f x activations
// (activations: the elements of every layer's output for one image), with
// a..f >= 0 fitted to the timed networks of the same grid, on the same lane,
// by least squares on relative error. Three timed networks are needed.
//
// What the fit cannot see (batch norm or tanh costing more per element than
// max pooling or relu) is taken from a timed network of the same family (the
// same layer kinds and activations in the same order, other sizes): the
// untimed one is priced at the fit's prediction times that sibling's
// measured/predicted ratio. The timer measures one network of each family
// before the rest (schedule/step_costs.h), so there is one wherever it can.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "schedule/step_costs.h"

namespace sweep {

// What a network's step time is fitted on.
struct NetworkWork {
  double flops_training = 0;  // per image
  double flops_forward = 0;   // per image
  double activations = 0;     // elements of the input and every layer's output, per image
  double batch = 1;
};
NetworkWork network_work(const RunConfig& config);

// The family of a network: its layer kinds and activations in order, e.g.
// "conv2d:relu maxpool2d batchnorm flatten dense:softmax".
std::string network_family(const ModelSpec& model);

// Non-negative least squares on relative error: coefficients c >= 0 that
// minimise sum(((x_i . c) - y_i) / y_i)^2. Exhaustive over the subsets of
// the columns (there are three), so the result is the exact optimum. Empty
// when no subset gives a usable fit (fewer rows than columns, y <= 0).
std::optional<std::vector<double>> fit_nonnegative(const std::vector<std::vector<double>>& x,
                                                   const std::vector<double>& y);

class StepFit {
 public:
  // From the timed networks of one lane; empty with fewer than 3 distinct ones.
  static std::optional<StepFit> fit(const std::vector<std::pair<NetworkWork, StepCost>>& timed);
  StepCost predict(const NetworkWork& work) const;
  // predict(work), times the measured/predicted ratio of a timed sibling.
  StepCost predict_like(const NetworkWork& work, const NetworkWork& sibling, const StepCost& sibling_cost) const;

 private:
  std::vector<double> train_, predict_;
  double setup_ = 0;  // the median of the timed networks' setups
};

}  // namespace sweep
