// The GPU against the CPU backend on real data, and the GPU against itself
// (skipped without a CUDA device):
//  * write-up 000's network, identical initial weights (same seed) and
//    identical batches of MNIST, 100 Adam steps on "cpu" and "gpu": each
//    step's mean loss within 0.05 + 5% of the CPU's, the summed correct count
//    within 1% of the 6,400 samples, and the final test accuracy on 512
//    images within 2 points (fp32 rounding differs; the paths stay close);
//  * a seed gives bit-identical losses and weights on the GPU, run after run
//    and with four sessions training concurrently on one device.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "data/dataset.h"
#include "tests/support/gpu.h"
#include "tests/support/layers.h"
#include "train/backend.h"
#include "train/trainer.h"

using namespace sweep;
using namespace sweep::test;

namespace {

std::shared_ptr<const Dataset> mnist() {
  DatasetSpec spec;
  spec.train_limit = 6400;
  spec.test_limit = 512;
  return load_dataset(spec);
}

constexpr int kBatch = 64;

std::vector<int32_t> batch_of(const std::vector<int32_t>& order, int step) {
  return {order.begin() + step * kBatch, order.begin() + (step + 1) * kBatch};
}

// Losses of `steps` Adam steps of a fresh session; its final weights in `params`.
std::vector<double> train(Backend& backend, const Dataset& data, int steps, Params* params = nullptr) {
  SessionOptions options;
  options.seed = 3;
  auto session = backend.create_session(writeup000(), OptimizerSpec{}, options);
  const std::vector<int32_t> order = epoch_permutation(data.train.count, 3, 1);
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) losses.push_back(session->train_step(data.train, batch_of(order, step)).loss_sum);
  if (params != nullptr) *params = session->get_params();
  return losses;
}

}  // namespace

TEST_CASE("gpu and cpu agree over 100 training steps of write-up 000's network") {
  SKIP_WITHOUT_GPU();
  Backend& cpu = get_backend("cpu");
  if (cpu.device_count() == 0) {
    MESSAGE("skipped: the cpu backend has no device");
    return;
  }
  const auto data = mnist();
  REQUIRE(data->train.count >= 100 * kBatch);
  SessionOptions options;
  options.seed = 3;
  auto on_gpu = get_backend("gpu").create_session(writeup000(), OptimizerSpec{}, options);
  auto on_cpu = cpu.create_session(writeup000(), OptimizerSpec{}, options);
  const std::vector<int32_t> order = epoch_permutation(data->train.count, 3, 1);
  int64_t correct_gpu = 0, correct_cpu = 0;
  for (int step = 0; step < 100; ++step) {
    const std::vector<int32_t> batch = batch_of(order, step);
    const StepStats g = on_gpu->train_step(data->train, batch);
    const StepStats c = on_cpu->train_step(data->train, batch);
    INFO("step " << step);
    const double loss_gpu = g.loss_sum / kBatch, loss_cpu = c.loss_sum / kBatch;
    CHECK(std::abs(loss_gpu - loss_cpu) <= 0.05 + 0.05 * loss_cpu);
    correct_gpu += g.correct;
    correct_cpu += c.correct;
  }
  CHECK(std::abs(correct_gpu - correct_cpu) <= 64);  // 1% of 6,400

  std::vector<int32_t> test(size_t(data->test.count));
  for (size_t i = 0; i < test.size(); ++i) test[i] = int32_t(i);
  const size_t classes = 10;
  std::vector<float> probs_gpu(test.size() * classes), probs_cpu(test.size() * classes);
  on_gpu->predict(data->test, test, probs_gpu.data());
  on_cpu->predict(data->test, test, probs_cpu.data());
  const Evaluation eval_gpu = evaluate_probs(probs_gpu, data->test.labels, 10, false);
  const Evaluation eval_cpu = evaluate_probs(probs_cpu, data->test.labels, 10, false);
  MESSAGE("test accuracy after 100 steps: gpu " << eval_gpu.accuracy << ", cpu " << eval_cpu.accuracy);
  CHECK(eval_gpu.accuracy > 0.7);  // it learned (about 0.9 is typical after 100 steps)
  CHECK(std::abs(eval_gpu.accuracy - eval_cpu.accuracy) <= 0.02);
}

TEST_CASE("a seed gives bit-identical gpu training, also with concurrent sessions") {
  SKIP_WITHOUT_GPU();
  const auto data = mnist();
  Backend& gpu = get_backend("gpu");
  Params first_params, second_params;
  const std::vector<double> first = train(gpu, *data, 20, &first_params);
  const std::vector<double> second = train(gpu, *data, 20, &second_params);
  CHECK(first == second);
  REQUIRE(first_params.size() == second_params.size());
  for (size_t t = 0; t < first_params.size(); ++t) CHECK(first_params[t].values == second_params[t].values);

  constexpr int kSessions = 4;
  std::vector<std::vector<double>> concurrent(kSessions);
  std::vector<std::string> errors(kSessions);
  std::vector<std::thread> threads;
  for (int s = 0; s < kSessions; ++s)
    threads.emplace_back([&, s] {
      try {
        concurrent[size_t(s)] = train(gpu, *data, 20);
      } catch (const std::exception& e) {
        errors[size_t(s)] = e.what();
      }
    });
  for (auto& thread : threads) thread.join();
  for (int s = 0; s < kSessions; ++s) {
    INFO("session " << s << ": " << errors[size_t(s)]);
    CHECK(errors[size_t(s)].empty());
    CHECK(concurrent[size_t(s)] == first);
  }
}
