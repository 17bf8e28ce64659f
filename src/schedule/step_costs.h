// Measured step costs: how long one training step and one predicted image of
// a particular network take on a particular lane, timed on the real kernels.
//
// Why measure and not count FLOPs: a FLOP count does not price what decides
// the time of the small networks of a sweep: memory-bound layers (pooling,
// activations, batch norm, the softmax), tanh and sigmoid costing more than
// relu, the per-batch overhead at small batch sizes, oneDNN's choice of kernel
// per shape. Timing a few real steps of the run's own network at its own batch
// size, thread count and precision captures all of it. The number of distinct
// networks in a grid is small (grids vary learning rate, epochs, batch,
// activation, depth), and a measurement takes a fraction of a second.
//
// Each network is timed on as many threads at once as the sweep runs lanes,
// so it sees the memory-bandwidth and cache contention of a full machine, as
// the runs will (beside copies of itself). They are cached in memory for the process and, given a
// Store, in its step_costs table, keyed by the machine and build too, so a
// second `sweep plan` or a `sweep run` after a plan measures nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "data/dataset.h"

namespace sweep {

class Store;

// Seconds, for one network on one lane.
struct StepCost {
  double setup = 0;          // creating the session and its first step (primitive creation, first touch)
  double train_step = 0;     // one optimizer step at the run's batch size
  double predict_image = 0;  // one image through predict() (evaluation mode, chunks of up to 1,000)
  double measure_seconds = 0;  // wall time its measurement took (charged against later time budgets)
};

// What a step's time depends on.
struct StepKey {
  std::string backend;  // "cpu", "gpu", "ref"
  int threads = 1;
  int device = 0;
  int concurrency = 1;  // runs side by side on the machine (contention)
  Precision precision = Precision::fp32;
  Optimizer optimizer = Optimizer::adam;
  int batch = 32;
  std::string model;    // model_hash() of the network
  // Stable text of the key with this machine and build's fingerprint: the
  // step_costs table's primary key.
  std::string text() const;
};

StepKey step_key(const RunConfig& config, const std::string& backend, int threads, int device, int concurrency);

// `count` random images of `shape` with labels 0-9 in turn: timing needs no dataset on disk.
Samples synthetic_samples(const Shape& shape, int64_t count);

// Times `model` on synthetic data: a warm-up step, then steps for 0.3 s (at
// least five), then predictions of 500 images for 0.1 s (at least three
// calls); the medians. Throws on a backend error.
StepCost measure_step_cost(const StepKey& key, const ModelSpec& model);

// What ensure_step_costs did.
struct StepCostReport {
  int wanted = 0, measured = 0, cached = 0, failed = 0, skipped = 0;  // skipped: the time budget ran out
  double seconds = 0;
};

// One network to price: its key and the network (the key holds only its hash).
struct StepCostRequest {
  StepKey key;
  const ModelSpec* model = nullptr;
  double priority = 0;  // measured in decreasing order (the FLOPs model's estimate of the runs using it)
  std::string family;   // network_family() (schedule/cost_model.h): one of each family is timed first
  double step_flops = 0;  // FLOPs of one training step: the quickest of a family to time stands for it
};

// Makes step_cost() answer every request it can: from the process cache, then
// `store` (may be null), then by timing each on `workers` threads at once, while
// the budget lasts: one network of each family first, the quickest to time
// (the networks left untimed are scaled by their family's), then the rest,
// most expensive first. The budget is `budget_seconds`, or what
// `budget_for(distinct networks requested)` says when given. The budget is for
// the whole set of requests, not for one call: the networks already known are
// charged what their measurement took, so a second call (a second `sweep
// plan`, or the run after a plan) measures nothing that the first one left
// untimed. New measurements go to the cache and the store.
StepCostReport ensure_step_costs(const std::vector<StepCostRequest>& requests, Store* store, int workers,
                                 double budget_seconds,
                                 const std::function<double(int networks)>& budget_for = nullptr);

// The cached cost of a key, if ensure_step_costs got one.
std::optional<StepCost> step_cost(const StepKey& key);

}  // namespace sweep
