#include "schedule/cost_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <tuple>

#include "common/error.h"
#include "data/dataset.h"
#include "kernels/common/rng.h"
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

Samples synthetic_images(int64_t count) {
  Samples samples;
  samples.shape = Shape{1, 28, 28, false};
  samples.count = count;
  samples.u8.resize(static_cast<size_t>(count * samples.shape.size()));
  const uint64_t key = rng::derive_key(12345, 99);
  for (size_t i = 0; i < samples.u8.size(); ++i) samples.u8[i] = static_cast<uint8_t>(rng::bits(key, i) & 0xff);
  samples.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) samples.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 10);
  return samples;
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
  const Samples data = synthetic_images(kBatch);
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

double estimate_run_seconds(const RunConfig& config, int threads) {
  return estimate_seconds(run_work(config), calibration("cpu", std::max(1, threads)));
}

}  // namespace sweep
