#include "schedule/step_costs.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/provenance.h"
#include "kernels/common/rng.h"
#include "store/plan.h"
#include "store/store.h"
#include "train/backend.h"

namespace sweep {
namespace {

using Clock = std::chrono::steady_clock;

// Timings of another machine or build mean nothing here: the key carries a
// fingerprint of both (CPU model and flags, cores, OS, compiler, commit).
const std::string& machine_fingerprint() {
  static const std::string fingerprint = hex64(fnv1a64(provenance_json({}))).substr(0, 12);
  return fingerprint;
}

std::mutex cache_mutex;
std::map<std::string, StepCost>& cache() {
  static std::map<std::string, StepCost> costs;
  return costs;
}

// Enough repetitions to average out a timer tick and a scheduler hiccup, few
// enough that a plan of a dozen networks takes seconds.
constexpr double kTrainBudget = 0.3, kPredictBudget = 0.1;
constexpr int kMinTrainSteps = 5, kMaxTrainSteps = 200;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}
constexpr int64_t kPredictImages = 500;  // per predict() call, as the trainer's chunks of up to 1,000

// What measuring a known network takes, for a row that did not record it
// (schema 8): its first step, the timed steps, the timed predictions.
double measure_seconds_of(const StepCost& cost) {
  if (cost.measure_seconds > 0) return cost.measure_seconds;
  return cost.setup + cost.train_step + std::max(kTrainBudget, kMinTrainSteps * cost.train_step) +
         std::max(kPredictBudget, 4.0 * kPredictImages * cost.predict_image);
}

}  // namespace

Samples synthetic_samples(const Shape& shape, int64_t count) {
  Samples samples;
  samples.shape = shape;
  samples.count = count;
  samples.u8.resize(static_cast<size_t>(count * shape.size()));
  const uint64_t key = rng::derive_key(12345, 99);
  for (size_t i = 0; i < samples.u8.size(); ++i) samples.u8[i] = static_cast<uint8_t>(rng::bits(key, i) & 0xff);
  samples.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) samples.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 10);
  return samples;
}

std::string StepKey::text() const {
  return fmt::format("{}|{}|t{}|d{}|c{}|{}|{}|b{}|{}", machine_fingerprint(), backend, threads, device, concurrency,
                     to_string(precision), to_string(optimizer), batch, model);
}

StepKey step_key(const RunConfig& config, const std::string& backend, int threads, int device, int concurrency) {
  StepKey key;
  key.backend = backend;
  key.threads = threads;
  key.device = device;
  key.concurrency = concurrency;
  key.precision = config.train.precision;
  key.optimizer = config.optimizer.kind;
  key.batch = std::max(1, config.train.batch_size);
  key.model = model_hash(config.model);
  return key;
}

StepCost measure_step_cost(const StepKey& key, const ModelSpec& model) {
  Backend& backend = get_backend(key.backend);
  SessionOptions options;
  options.threads = key.threads;
  options.device = key.device;
  options.precision = key.precision;
  OptimizerSpec optimizer;
  optimizer.kind = key.optimizer;
  const Samples data = synthetic_samples(model.input, std::max<int64_t>(key.batch, kPredictImages));
  std::vector<int32_t> indices(static_cast<size_t>(key.batch));
  std::iota(indices.begin(), indices.end(), 0);

  StepCost cost;
  const auto created = Clock::now();
  auto session = backend.create_session(model, optimizer, options);
  session->train_step(data, indices);
  const double first_step = seconds_since(created);

  // Medians, not means: on a shared machine a step now and then takes far
  // longer (another program, a page fault), and one such step in a dozen
  // would skew a mean by more than the differences between networks.
  std::vector<double> steps;
  const auto start = Clock::now();
  while (int(steps.size()) < kMinTrainSteps ||
         (seconds_since(start) < kTrainBudget && int(steps.size()) < kMaxTrainSteps)) {
    const auto step_start = Clock::now();
    session->train_step(data, indices);
    steps.push_back(seconds_since(step_start));
  }
  cost.train_step = median(steps);
  cost.setup = std::max(0.0, first_step - cost.train_step);

  std::vector<int32_t> predict_indices(static_cast<size_t>(kPredictImages));
  std::iota(predict_indices.begin(), predict_indices.end(), 0);
  std::vector<float> probs(static_cast<size_t>(kPredictImages * model.classes));
  session->predict(data, predict_indices, probs.data());  // warm-up: the evaluation primitives
  std::vector<double> calls;
  const auto predict_start = Clock::now();
  while (calls.size() < 3 || seconds_since(predict_start) < kPredictBudget) {
    const auto call_start = Clock::now();
    session->predict(data, predict_indices, probs.data());
    calls.push_back(seconds_since(call_start));
  }
  cost.predict_image = median(calls) / kPredictImages;
  return cost;
}

StepCostReport ensure_step_costs(const std::vector<StepCostRequest>& requests, Store* store, int workers,
                                 double budget_seconds, const std::function<double(int missing)>& budget_for) {
  const auto start = Clock::now();
  StepCostReport report;
  // The distinct keys still unknown to this process, most expensive first.
  std::vector<const StepCostRequest*> missing;
  std::map<std::string, const StepCostRequest*> wanted;
  for (const StepCostRequest& request : requests) {
    auto [it, fresh] = wanted.emplace(request.key.text(), &request);
    if (!fresh && request.priority > it->second->priority) it->second = &request;
  }
  report.wanted = static_cast<int>(wanted.size());
  {
    std::lock_guard lock(cache_mutex);
    for (const auto& [text, request] : wanted)
      if (!cache().count(text)) missing.push_back(request);
  }
  if (store && !missing.empty()) {
    std::vector<std::string> keys;
    for (const StepCostRequest* request : missing) keys.push_back(request->key.text());
    const auto stored = store->step_costs(keys);
    std::lock_guard lock(cache_mutex);
    for (const StoredStepCost& row : stored) {
      cache()[row.key] = StepCost{row.setup, row.train_step, row.predict_image, row.measure_seconds};
      ++report.cached;
    }
    std::erase_if(missing, [](const StepCostRequest* request) { return cache().count(request->key.text()) > 0; });
  }
  if (budget_for && !missing.empty()) budget_seconds = budget_for(report.wanted);
  // What earlier measurements of these networks took counts against the
  // budget, and their families need no other network timed first.
  double charged = 0;
  std::set<std::string> covered;
  {
    std::lock_guard lock(cache_mutex);
    for (const auto& [text, request] : wanted)
      if (const auto it = cache().find(text); it != cache().end()) {
        charged += measure_seconds_of(it->second);
        covered.insert(request->family);
      }
  }
  std::stable_sort(missing.begin(), missing.end(),
                   [](const StepCostRequest* a, const StepCostRequest* b) { return a->priority > b->priority; });
  // One of each family before the rest: a family with none timed is priced
  // by the grid's FLOPs scale, which cannot see what sets it apart (write-up
  // 004's MLPs, priced from its CNNs, came out 2-4x too dear). Of a family, the
  // network quickest to time stands for it (the smallest training step:
  // timing one of 004's batch-16,382 CNNs took 5.5-6.9 s), and families go
  // in the order of their most expensive network.
  {
    std::map<std::string, const StepCostRequest*> quickest;  // family -> its representative
    for (const StepCostRequest* request : missing) {
      if (covered.count(request->family)) continue;
      auto [it, fresh] = quickest.emplace(request->family, request);
      if (!fresh && request->step_flops < it->second->step_flops) it->second = request;
    }
    // Representatives in the order of their family's most expensive network, then the rest.
    std::vector<const StepCostRequest*> order;
    std::set<const StepCostRequest*> first;
    for (const StepCostRequest* request : missing)
      if (const auto it = quickest.find(request->family); it != quickest.end() && first.insert(it->second).second)
        order.push_back(it->second);
    for (const StepCostRequest* request : missing)
      if (!first.count(request)) order.push_back(request);
    missing = std::move(order);
  }

  // One network at a time, timed on every worker at once, so that each copy
  // runs beside copies of itself. Timing different networks side by side made
  // a light network's time depend on whether its neighbour happened to be a
  // heavy one (30% apart in bench/eta); in a sweep, runs of one network
  // (grids vary learning rates, epochs, seeds) mostly do run side by side.
  std::map<std::string, std::vector<StepCost>> timings;
  std::set<std::string> failed_keys;
  const size_t count = static_cast<size_t>(std::max(1, workers));
  for (const StepCostRequest* request : missing) {
    if (budget_seconds < 0 || charged > budget_seconds) break;  // negative: time nothing (a TPE round)
    const auto measure_start = Clock::now();
    std::vector<std::optional<StepCost>> results(count);
    auto time_copy = [&](size_t copy) {
      try {
        results[copy] = measure_step_cost(request->key, *request->model);
      } catch (const std::exception&) {
        // Left unmeasured: the FLOPs model prices it, and training reports the error in its row.
      }
    };
    std::vector<std::thread> threads;
    for (size_t copy = 1; copy < count; ++copy) threads.emplace_back(time_copy, copy);
    time_copy(0);
    for (auto& thread : threads) thread.join();
    const double seconds = seconds_since(measure_start);
    charged += seconds;
    for (auto& result : results)
      if (result) {
        result->measure_seconds = seconds;
        timings[request->key.text()].push_back(*result);
      }
    if (!timings.count(request->key.text())) failed_keys.insert(request->key.text());
  }

  std::vector<StoredStepCost> rows;
  {
    std::lock_guard lock(cache_mutex);
    for (const auto& [text, costs] : timings) {
      StepCost mean;
      for (const StepCost& cost : costs) {
        mean.setup += cost.setup / double(costs.size());
        mean.train_step += cost.train_step / double(costs.size());
        mean.predict_image += cost.predict_image / double(costs.size());
      }
      mean.measure_seconds = costs.front().measure_seconds;  // the copies were timed together
      cache()[text] = mean;
      rows.push_back(StoredStepCost{text, mean.setup, mean.train_step, mean.predict_image, mean.measure_seconds});
    }
  }
  report.measured = static_cast<int>(rows.size());
  report.failed = static_cast<int>(failed_keys.size());
  report.skipped = static_cast<int>(missing.size()) - report.measured - report.failed;
  if (store && !rows.empty()) {
    try {
      store->save_step_costs(rows);
    } catch (const std::exception&) {
      // A read-only or busy database costs only the cache: the next plan measures again.
    }
  }
  report.seconds = seconds_since(start);
  return report;
}

std::optional<StepCost> step_cost(const StepKey& key) {
  std::lock_guard lock(cache_mutex);
  const auto it = cache().find(key.text());
  if (it == cache().end()) return std::nullopt;
  return it->second;
}

}  // namespace sweep
