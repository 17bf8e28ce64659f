// Gradient checks of every GPU layer (skipped without a CUDA device):
//  * against the reference backend's network run in DOUBLE on the same
//    parameters, batch and dropout masks: loss, accuracy count, the gradient
//    of every trainable tensor, BatchNorm moving statistics and predictions,
//    on networks that together cover every layer kind, every activation,
//    asymmetric 'same' padding and both output losses;
//  * by central differences in float on the GPU itself (a smooth network);
//  * one optimizer step of SGD (momentum, nesterov), Adam and RMSprop
//    (momentum) against the reference session.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backends/gpu/gpu_probe.h"
#include "backends/ref/network.h"
#include "tests/support/gpu.h"
#include "tests/support/layers.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

Samples random_samples(Shape shape, int count, bool bytes, uint32_t seed) {
  std::mt19937 gen(seed);
  Samples s;
  s.shape = shape;
  s.count = count;
  s.classes = 10;
  const size_t total = size_t(count) * size_t(shape.size());
  if (bytes) {
    std::uniform_int_distribution<int> pixel(0, 255);
    for (size_t i = 0; i < total; ++i) s.u8.push_back(uint8_t(pixel(gen)));
  } else {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (size_t i = 0; i < total; ++i) s.f32.push_back(value(gen));
  }
  std::uniform_int_distribution<int> label(0, 9);
  for (int i = 0; i < count; ++i) s.labels.push_back(uint8_t(label(gen)));
  return s;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

constexpr uint64_t kSeed = 5;
constexpr int64_t kStep = 3;  // a non-zero dropout step

// GPU (float) vs reference network (double) on one batch.
void check_against_reference(const ModelSpec& model, const Samples& data) {
  SessionOptions options;
  options.seed = kSeed;
  auto session = get_backend("gpu").create_session(model, OptimizerSpec{}, options);
  auto* probe = dynamic_cast<gpu::GradientProbe*>(session.get());
  REQUIRE(probe != nullptr);
  const Params params = session->get_params();
  std::vector<int32_t> indices(size_t(data.count));
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = int32_t(indices.size() - 1 - i);  // not the identity

  Params grads;
  const StepStats gpu_stats = probe->loss_and_gradients(data, indices, kStep, grads);
  const Params after = session->get_params();  // moving statistics updated by the training forward

  ref::Network<double> net(model);
  for (size_t i = 0; i < params.size(); ++i) net.params[i].assign(params[i].values.begin(), params[i].values.end());
  const int n = int(indices.size());
  ref::Tensor<double> x(n, model.input.c, model.input.h, model.input.w);
  std::vector<float> sample(size_t(model.input.size()));
  std::vector<uint8_t> labels;
  for (int i = 0; i < n; ++i) {
    data.copy_sample(indices[size_t(i)], sample.data());
    std::copy(sample.begin(), sample.end(), x.data.begin() + ptrdiff_t(size_t(i) * sample.size()));
    labels.push_back(data.labels[size_t(indices[size_t(i)])]);
  }
  const ref::Tensor<double>& z = net.forward(x, true, kSeed, kStep);
  ref::Tensor<double> dz(n, model.classes, 1, 1);
  const ref::LossResult expected = ref::output_loss<double>(net.output_activation(), z.data.data(), n,
                                                            model.classes, labels.data(), dz.data.data());
  net.backward(dz);

  CHECK(gpu_stats.loss_sum == doctest::Approx(expected.loss_sum).epsilon(1e-4));
  CHECK(gpu_stats.correct == expected.correct);
  for (size_t t = 0; t < params.size(); ++t) {
    INFO("tensor " << params[t].name);
    if (!params[t].trainable) {
      // Moving mean / variance after one training forward.
      const std::vector<float>& got = after[t].values;
      for (size_t k = 0; k < got.size(); ++k) CHECK(got[k] == doctest::Approx(net.params[t][k]).epsilon(1e-4));
      continue;
    }
    const std::vector<double>& want = net.grads[t];
    const double scale = max_abs(want);
    CHECK(scale > 0);  // the check means something: this tensor gets a gradient
    double worst = 0;
    for (size_t k = 0; k < want.size(); ++k)
      worst = std::max(worst, std::abs(double(grads[t].values[k]) - want[k]));
    // fp32 vs double: a wrong sign or a missing term is off by O(scale).
    CHECK(worst <= 1e-6 + 2e-3 * scale);
  }

  // Evaluation mode (moving statistics, no dropout) through predict().
  std::vector<float> probs(size_t(n) * size_t(model.classes));
  session->predict(data, indices, probs.data());
  for (size_t i = 0; i < net.params.size(); ++i)
    net.params[i].assign(after[i].values.begin(), after[i].values.end());  // same moving stats as the GPU
  const ref::Tensor<double>& z_eval = net.forward(x, false);
  std::vector<double> want_probs(probs.size());
  ref::output_probabilities<double>(net.output_activation(), z_eval.data.data(), n, model.classes,
                                    want_probs.data());
  for (size_t k = 0; k < probs.size(); ++k) CHECK(probs[k] == doctest::Approx(want_probs[k]).epsilon(1e-3));
}

const Shape kImage{1, 8, 8, false};

}  // namespace

TEST_CASE("gpu layers match the double reference: conv valid relu, max-pool, dense softmax") {
  SKIP_WITHOUT_GPU();
  check_against_reference(
      model_of(kImage, 10, {conv(4, 3, Activation::relu), maxpool(), flatten(), dense(10, Activation::softmax)}),
      random_samples(kImage, 6, true, 1));
}

TEST_CASE("gpu layers match the double reference: asymmetric same padding, leaky relu, avg-pool, dropout") {
  SKIP_WITHOUT_GPU();
  // Even kernel: the odd pixel of 'same' padding goes after.
  const LayerSpec c = conv(3, 2, Activation::leaky_relu, Padding::same, 1, 0.1);
  check_against_reference(model_of(kImage, 10, {c, layer(LayerKind::avgpool2d), flatten(), dropout(0.3),
                                                dense(10, Activation::softmax)}),
                          random_samples(kImage, 6, true, 2));
}

TEST_CASE("gpu layers match the double reference: strided same conv, elu, batchnorm, tanh, sigmoid loss") {
  SKIP_WITHOUT_GPU();
  const LayerSpec c = conv(4, 3, Activation::elu, Padding::same, 2, 1.0);  // 8 -> 4, total padding 1: asymmetric
  check_against_reference(model_of(kImage, 10, {c, batchnorm(), flatten(), dense(12, Activation::tanh), batchnorm(),
                                                dense(10, Activation::sigmoid)}),
                          random_samples(kImage, 8, true, 3));
}

TEST_CASE("gpu layers match the double reference: float features, sigmoid dense, activation layers, no bias") {
  SKIP_WITHOUT_GPU();
  const Shape features{20, 1, 1, true};
  LayerSpec hidden = dense(16, Activation::sigmoid);
  hidden.use_bias = false;
  check_against_reference(model_of(features, 10, {hidden, activation(Activation::relu), dropout(0.5),
                                                  dense(10, Activation::softmax)}),
                          random_samples(features, 6, false, 4));

  LayerSpec linear_conv = conv(3, 3, Activation::linear);
  linear_conv.use_bias = false;
  check_against_reference(
      model_of(kImage, 10, {linear_conv, activation(Activation::tanh), flatten(), dense(10, Activation::softmax)}),
      random_samples(kImage, 5, true, 5));
}

TEST_CASE("gpu gradients agree with central differences in float") {
  SKIP_WITHOUT_GPU();
  const ModelSpec model = model_of(kImage, 10, {conv(3, 3, Activation::tanh, Padding::same),
                                                layer(LayerKind::avgpool2d), flatten(),
                                                dense(10, Activation::softmax)});
  const Samples data = random_samples(kImage, 4, true, 6);
  const std::vector<int32_t> indices{0, 1, 2, 3};
  auto session = get_backend("gpu").create_session(model, OptimizerSpec{}, SessionOptions{});
  auto* probe = dynamic_cast<gpu::GradientProbe*>(session.get());
  REQUIRE(probe != nullptr);
  const Params base = session->get_params();
  Params grads, scratch;
  probe->loss_and_gradients(data, indices, 0, grads);
  auto mean_loss = [&](const Params& p) {
    session->set_params(p);
    return probe->loss_and_gradients(data, indices, 0, scratch).loss_sum / double(indices.size());
  };
  const float h = 1e-2f;
  std::mt19937 gen(9);
  for (size_t t = 0; t < base.size(); ++t) {
    INFO("tensor " << base[t].name);
    std::uniform_int_distribution<size_t> pick(0, base[t].values.size() - 1);
    for (int trial = 0; trial < 8; ++trial) {
      const size_t k = pick(gen);
      Params plus = base, minus = base;
      plus[t].values[k] += h;
      minus[t].values[k] -= h;
      const double numeric = (mean_loss(plus) - mean_loss(minus)) / (2.0 * double(h));
      const double analytic = grads[t].values[k];
      CHECK(std::abs(numeric - analytic) <= 2e-3 + 5e-2 * std::abs(analytic));
    }
  }
}

TEST_CASE("gpu optimizer steps match the reference session") {
  SKIP_WITHOUT_GPU();
  const ModelSpec model =
      model_of(kImage, 10, {conv(4, 3, Activation::relu), flatten(), dense(10, Activation::softmax)});
  const Samples data = random_samples(kImage, 12, true, 7);
  std::vector<OptimizerSpec> optimizers(4);
  optimizers[0].kind = Optimizer::sgd, optimizers[0].learning_rate = 0.05, optimizers[0].momentum = 0.9;
  optimizers[1] = optimizers[0], optimizers[1].nesterov = true;
  optimizers[2].kind = Optimizer::adam, optimizers[2].learning_rate = 0.01;
  optimizers[3].kind = Optimizer::rmsprop, optimizers[3].learning_rate = 0.01, optimizers[3].momentum = 0.5;
  for (const OptimizerSpec& optimizer : optimizers) {
    INFO("optimizer " << to_string(optimizer.kind) << (optimizer.nesterov ? " nesterov" : ""));
    auto gpu = get_backend("gpu").create_session(model, optimizer, SessionOptions{});
    auto ref = get_backend("ref").create_session(model, optimizer, SessionOptions{});
    for (int step = 0; step < 3; ++step) {
      const std::vector<int32_t> batch{step * 4, step * 4 + 1, step * 4 + 2, step * 4 + 3};
      const StepStats g = gpu->train_step(data, batch);
      const StepStats r = ref->train_step(data, batch);
      CHECK(g.loss_sum == doctest::Approx(r.loss_sum).epsilon(1e-3));
    }
    const Params pg = gpu->get_params(), pr = ref->get_params();
    for (size_t t = 0; t < pg.size(); ++t)
      for (size_t k = 0; k < pg[t].values.size(); ++k)
        CHECK(pg[t].values[k] == doctest::Approx(pr[t].values[k]).epsilon(1e-3));
  }
}
