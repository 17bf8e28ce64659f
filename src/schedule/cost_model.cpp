#include "schedule/cost_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <queue>
#include <tuple>

#include <fmt/format.h>

#include "common/error.h"
#include "schedule/progress.h"
#include "data/dataset.h"
#include "model/model.h"
#include "schedule/scheduler.h"
#include "train/backend.h"

namespace sweep {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Two networks bracket the cost model's two terms: a softmax regression whose
// step is nearly all fixed overhead, and a small CNN whose step is mostly FLOPs.
ModelSpec overhead_net() {
  ModelSpec model;
  model.input = Shape{1, 28, 28, false};
  LayerSpec flatten;
  flatten.kind = LayerKind::flatten;
  LayerSpec out;
  out.kind = LayerKind::dense;
  out.units = 10;
  out.activation = Activation::softmax;
  model.layers = {flatten, out};
  infer(model);
  return model;
}

// The FLOP-bound point is a typical sweep network (Conv32-Pool-Conv64-Pool, as
// in the write-ups): a single small conv runs far below the rate that real
// conv stacks reach, and calibrating on one made estimates 5-10x too long.
ModelSpec flops_net() {
  ModelSpec model = overhead_net();
  LayerSpec conv;
  conv.kind = LayerKind::conv2d;
  conv.filters = 32;
  conv.activation = Activation::relu;
  LayerSpec pool;
  pool.kind = LayerKind::maxpool2d;
  LayerSpec conv2 = conv;
  conv2.filters = 64;
  model.layers.insert(model.layers.begin(), {conv, pool, conv2, pool});
  for (auto& layer : model.layers) layer.name.clear();
  infer(model);
  return model;
}

// Seconds per training step of `model` at batch size `batch`: one warm-up
// step (first-touch allocations, primitive creation), then steps until
// `budget` seconds have passed (at least two).
double seconds_per_step(Backend& backend, const ModelSpec& model, const SessionOptions& options,
                        const Samples& data, int batch, double budget) {
  auto session = backend.create_session(model, OptimizerSpec{}, options);
  std::vector<int32_t> indices(static_cast<size_t>(batch));
  std::iota(indices.begin(), indices.end(), 0);
  session->train_step(data, indices);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int steps = 0;
  double elapsed = 0;
  while (steps < 2 || (elapsed < budget && steps < 200)) {
    session->train_step(data, indices);
    ++steps;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  }
  return elapsed / steps;
}

Calibration measure(const std::string& backend_name, int threads, int device) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  Backend& backend = get_backend(backend_name);
  SessionOptions options;
  options.threads = threads;
  options.device = device;
  constexpr int kBatch = 64;
  const Samples data = synthetic_samples(Shape{1, 28, 28, false}, kBatch);
  const ModelSpec small = overhead_net(), conv = flops_net();
  const double small_flops = double(infer(small).flops_training) * kBatch;
  const double conv_flops = double(infer(conv).flops_training) * kBatch;
  const double small_step = seconds_per_step(backend, small, options, data, kBatch, 0.03);
  const double conv_step = seconds_per_step(backend, conv, options, data, kBatch, 0.15);

  Calibration result;
  result.backend = backend_name;
  result.threads = threads;
  result.device = device;
  // Solve t = overhead + flops / rate through both points; when noise makes
  // that meaningless (the conv step no slower than the tiny one, or a
  // negative overhead), take the tiny net's step as pure overhead.
  double rate = (conv_flops - small_flops) / (conv_step - small_step);
  double overhead = small_step - small_flops / rate;
  if (!(conv_step > small_step) || !(overhead >= 0) || !std::isfinite(rate)) {
    overhead = small_step;
    rate = conv_flops / std::max(conv_step - overhead, conv_step * 0.5);
  }
  result.seconds_per_step = overhead;
  result.flops_per_second = rate;
  result.measured_seconds = std::chrono::duration<double>(clock::now() - start).count();
  return result;
}

}  // namespace

std::string network_family(const ModelSpec& model) {
  std::string family;
  for (const LayerSpec& layer : model.layers) {
    if (!family.empty()) family += ' ';
    family += to_string(layer.kind);
    if (layer.kind == LayerKind::conv2d || layer.kind == LayerKind::dense || layer.kind == LayerKind::activation)
      family += std::string(":") + to_string(layer.activation);
  }
  return family;
}

RunWork run_work(const RunConfig& config) {
  const DatasetCounts counts = dataset_counts(config.dataset);
  const ModelInfo info = infer(config.model);
  RunWork work;
  work.fit_images = counts.fit;
  work.val_images = counts.validation;
  work.test_images = counts.test;
  const int64_t batch = std::max(1, config.train.batch_size);
  const int64_t epochs = std::max(1, config.train.epochs);
  work.train_steps = epochs * ceil_div(work.fit_images, batch);
  work.eval_steps = epochs * ceil_div(work.val_images, batch) + ceil_div(work.test_images, batch);
  const double eval_images = double(epochs * work.val_images + work.test_images);
  work.flops = double(epochs * work.fit_images) * double(info.flops_training) + eval_images * double(info.flops_forward);
  work.step_flops = double(batch) * double(info.flops_training);
  return work;
}

const Calibration& calibration(const std::string& backend, int threads, int device) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, int, int>, std::unique_ptr<Calibration>> cache;
  // Measured under the lock: two calibrations at once would measure each other.
  std::lock_guard lock(mutex);
  auto& slot = cache[{backend, threads, device}];
  if (!slot) slot = std::make_unique<Calibration>(measure(backend, threads, device));
  return *slot;
}

double estimate_seconds(const RunWork& work, const Calibration& calibration, double work_share) {
  // An evaluation batch costs about a third of a training step's overhead
  // (forward only, no optimizer update).
  const double steps = double(work.train_steps) + double(work.eval_steps) / 3.0;
  return steps * calibration.seconds_per_step + work.flops * work_share / calibration.flops_per_second;
}

RunCost run_cost(const RunWork& work, int epochs, const StepCost& step) {
  RunCost cost;
  cost.epochs = std::max(1, epochs);
  cost.setup = step.setup;
  cost.epoch = double(work.train_steps) / cost.epochs * step.train_step + double(work.val_images) * step.predict_image;
  cost.final_eval = double(work.test_images) * step.predict_image;
  cost.measured = true;
  return cost;
}

RunCost modelled_run_cost(const RunWork& work, int epochs, const Calibration& calibration, double work_share,
                          double scale) {
  RunCost cost;
  cost.epochs = std::max(1, epochs);
  cost.epoch = estimate_seconds(work, calibration, work_share) * scale / cost.epochs;
  return cost;
}

namespace {

// The median of measured/FLOPs-priced over the runs that were measured on a
// lane: what the FLOPs model gets wrong on this machine, applied to the runs
// that could not be measured. 1 when none was.
double median_ratio(std::vector<double> ratios) {
  if (ratios.empty()) return 1.0;
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

}  // namespace

CostTable estimate_costs(const std::vector<const RunConfig*>& runs, const std::vector<LaneSpec>& lanes, Store* store,
                         double budget_seconds) {
  CostTable table;
  table.costs.assign(runs.size(), std::vector<RunCost>(lanes.size()));
  if (lanes.empty()) return table;
  const int concurrency = static_cast<int>(lanes.size());
  // The work of each run; a run whose work cannot be counted (its dataset is
  // missing) costs 0 here and fails in training, where the error lands in its row.
  std::vector<std::optional<RunWork>> works(runs.size());
  std::vector<StepCostRequest> requests;
  std::vector<std::string> families(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    try {
      works[r] = run_work(*runs[r]);
    } catch (const std::exception&) {
      continue;
    }
    families[r] = network_family(runs[r]->model);
    for (const LaneSpec& lane : lanes)
      requests.push_back({step_key(*runs[r], lane.backend, lane.threads, lane.device, concurrency),
                          &runs[r]->model, works[r]->flops, families[r], works[r]->step_flops});
  }
  // Timing a network takes about half a second. A grid of a few networks has
  // all of them timed; past that, timing stops at 5% of the sweep's
  // FLOPs-priced length (at least 2 s), so that a grid of thousands of tiny
  // distinct networks is not timed for longer than it trains. The budget is
  // the grid's, whichever process spends it (ensure_step_costs).
  constexpr int kAlwaysMeasured = 8;
  auto budget_for = [&](int networks) {
    if (networks <= kAlwaysMeasured || budget_seconds <= 2.0) return budget_seconds;
    double modelled_seconds = 0;
    try {
      const Calibration& flops_model = calibration(lanes[0].backend, lanes[0].threads, lanes[0].device);
      for (const auto& work : works)
        if (work) modelled_seconds += estimate_seconds(*work, flops_model, lanes[0].work_share);
    } catch (const std::exception&) {
      return budget_seconds;
    }
    return std::clamp(0.05 * modelled_seconds / double(lanes.size()), 2.0, budget_seconds);
  };
  table.steps = ensure_step_costs(requests, store, concurrency, budget_seconds, budget_for);

  for (size_t l = 0; l < lanes.size(); ++l) {
    const LaneSpec& lane = lanes[l];
    std::vector<size_t> unmeasured;
    std::optional<Calibration> flops_model;
    auto modelled = [&](const RunWork& work, int epochs, double scale) {
      if (!flops_model) {
        try {
          flops_model = calibration(lane.backend, lane.threads, lane.device);
        } catch (const std::exception&) {
          flops_model = Calibration{lane.backend, lane.threads, lane.device, 0, 1e9, 0};
        }
      }
      return modelled_run_cost(work, epochs, *flops_model, lane.work_share, scale);
    };
    for (size_t r = 0; r < runs.size(); ++r) {
      if (!works[r]) continue;
      const int epochs = runs[r]->train.epochs;
      const auto step = step_cost(step_key(*runs[r], lane.backend, lane.threads, lane.device, concurrency));
      if (!step) {
        unmeasured.push_back(r);
        continue;
      }
      table.costs[r][l] = run_cost(*works[r], epochs, *step);
    }
    if (unmeasured.empty()) continue;
    if (l == 0) table.modelled_runs = static_cast<int>(unmeasured.size());
    // The FLOPs calibration (made only now that some run needs it), scaled by
    // measured/modelled of the timed runs of the same family, else of all.
    // What FLOPs miss is mostly a family's: batch norm, dropout or tanh cost
    // more per FLOP than a plain relu network (the tour grid's batch-norm
    // networks took 2-7x their grid-wide scaled price), and the timer times
    // one network of each family first (ensure_step_costs).
    std::vector<double> all_ratios;
    std::map<std::string, std::vector<double>> family_ratios;
    for (size_t r = 0; r < runs.size(); ++r)
      if (works[r] && table.costs[r][l].measured) {
        const double ratio =
            table.costs[r][l].total() / modelled(*works[r], runs[r]->train.epochs, 1.0).total();
        all_ratios.push_back(ratio);
        family_ratios[families[r]].push_back(ratio);
      }
    const double grid_scale = median_ratio(all_ratios);
    int by_family = 0;
    for (size_t r : unmeasured) {
      const auto family = family_ratios.find(families[r]);
      const bool sibling = family != family_ratios.end();
      by_family += sibling;
      table.costs[r][l] = modelled(*works[r], runs[r]->train.epochs, sibling ? median_ratio(family->second) : grid_scale);
    }
    if (l == 0) table.family_priced = by_family;
  }
  return table;
}

std::string cost_note(const CostTable& table) {
  const StepCostReport& steps = table.steps;
  std::string note = fmt::format("cost model: {} network(s) and batch size(s) to price: {} measured in {}, {} from "
                                 "earlier measurements",
                                 steps.wanted, steps.measured, format_duration(steps.seconds), steps.cached);
  if (table.modelled_runs > 0)
    note += fmt::format("; {} run(s) priced by FLOPs, scaled by timed networks of their family ({}) or of the grid "
                        "({} not measured in the time budget, {} failed to run)",
                        table.modelled_runs, table.family_priced, steps.skipped, steps.failed);
  return note;
}

double list_schedule_makespan(std::vector<double> costs, std::vector<double> busy) {
  if (busy.empty()) busy.push_back(0);
  std::sort(costs.begin(), costs.end(), std::greater<>());
  // Min-heap of when each lane frees.
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at(busy.begin(), busy.end());
  double end = *std::max_element(busy.begin(), busy.end());
  for (double cost : costs) {
    const double start = free_at.top();
    free_at.pop();
    free_at.push(start + cost);
    end = std::max(end, start + cost);
  }
  return end;
}

double estimate_run_seconds(const RunConfig& config, int threads) {
  return estimate_seconds(run_work(config), calibration("cpu", std::max(1, threads)));
}

}  // namespace sweep
