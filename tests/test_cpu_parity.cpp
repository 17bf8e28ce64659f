// The CPU (oneDNN) backend against the plain-C++ reference backend: for each
// layer type and activation, a small network with a Dense head gets identical
// parameters and inputs on both; predictions, step statistics and the
// gradients of one plain SGD step (lr 1, so grad = before - after) must agree.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/common/rng.h"
#include "tests/support/layers.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

// Random samples in [0,1) (bytes or floats) with labels in [0, classes).
Samples random_samples(Shape shape, int64_t count, int classes, bool bytes, uint64_t seed) {
  Samples s;
  s.shape = shape, s.count = count, s.classes = classes;
  const uint64_t key = rng::derive_key(seed, 77);
  const int64_t values = count * shape.size();
  if (bytes) {
    s.u8.resize(size_t(values));
    for (int64_t i = 0; i < values; ++i) s.u8[size_t(i)] = uint8_t(rng::bits(key, uint64_t(i)) & 0xff);
  } else {
    s.f32.resize(size_t(values));
    for (int64_t i = 0; i < values; ++i) s.f32[size_t(i)] = rng::uniform01(key, uint64_t(i));
  }
  for (int64_t i = 0; i < count; ++i) s.labels.push_back(uint8_t(rng::bits(key, uint64_t(values + i)) % classes));
  return s;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

struct Case {
  std::string name;
  Shape input;
  std::vector<LayerSpec> layers;  // the head (Flatten if needed, Dense softmax) is added
  bool bytes = false;
  Activation output = Activation::softmax;
};

void check_case(const Case& c) {
  CAPTURE(c.name);
  ModelSpec model;
  model.input = c.input;
  model.classes = 5;
  model.layers = c.layers;
  if (!c.input.flat && std::none_of(c.layers.begin(), c.layers.end(),
                                    [](const LayerSpec& l) { return l.kind == LayerKind::flatten; }))
    model.layers.push_back(flatten());
  model.layers.push_back(dense(5, c.output));

  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd;
  sgd.learning_rate = 1.0;
  SessionOptions options;
  options.threads = 2;
  options.seed = 11;
  auto ref = get_backend("ref").create_session(model, sgd, options);
  auto cpu = get_backend("cpu").create_session(model, sgd, options);
  const Params start = ref->get_params();
  cpu->set_params(start);

  const int64_t batch = 6;
  const Samples data = random_samples(c.input, 9, 5, c.bytes, 3);
  const std::vector<int32_t> rows = {4, 0, 7, 2, 2, 8};
  std::vector<float> p_ref(batch * 5), p_cpu(batch * 5);
  ref->predict(data, rows, p_ref.data());
  cpu->predict(data, rows, p_cpu.data());
  for (size_t i = 0; i < p_ref.size(); ++i) CHECK(p_cpu[i] == doctest::Approx(p_ref[i]).epsilon(1e-4));

  const StepStats s_ref = ref->train_step(data, rows);
  const StepStats s_cpu = cpu->train_step(data, rows);
  CHECK(s_cpu.loss_sum == doctest::Approx(s_ref.loss_sum).epsilon(1e-4));
  CHECK(s_cpu.correct == s_ref.correct);

  const Params a_ref = ref->get_params(), a_cpu = cpu->get_params();
  REQUIRE(a_ref.size() == a_cpu.size());
  for (size_t t = 0; t < a_ref.size(); ++t) {
    CAPTURE(a_ref[t].name);
    // Trainable: the gradient (before - after, lr = 1); frozen: the new value.
    std::vector<float> g_ref(a_ref[t].values.size()), g_cpu(g_ref.size());
    for (size_t i = 0; i < g_ref.size(); ++i) {
      g_ref[i] = a_ref[t].trainable ? start[t].values[i] - a_ref[t].values[i] : a_ref[t].values[i];
      g_cpu[i] = a_cpu[t].trainable ? start[t].values[i] - a_cpu[t].values[i] : a_cpu[t].values[i];
    }
    const double scale = max_abs(g_ref);
    CHECK(scale > 0);  // every tensor takes part
    double worst = 0;
    for (size_t i = 0; i < g_ref.size(); ++i) worst = std::max(worst, std::abs(double(g_cpu[i]) - g_ref[i]));
    CHECK(worst <= 2e-4 * scale + 1e-6);
  }

  // A second prediction after the update (BatchNorm moving statistics, new weights).
  ref->predict(data, rows, p_ref.data());
  cpu->predict(data, rows, p_cpu.data());
  for (size_t i = 0; i < p_ref.size(); ++i) CHECK(p_cpu[i] == doctest::Approx(p_ref[i]).epsilon(2e-4));
}

const Shape kImage{3, 8, 8, false};

}  // namespace

TEST_CASE("cpu matches ref: convolutions with each activation and padding") {
  check_case({"conv valid relu", kImage, {conv(4, 3, Activation::relu)}});
  check_case({"conv same sigmoid", kImage, {conv(4, 3, Activation::sigmoid, Padding::same)}});
  check_case({"conv same stride2 5x5 tanh", {2, 9, 9, false}, {conv(3, 5, Activation::tanh, Padding::same, 2)}});
  check_case({"conv valid stride2 elu", kImage, {conv(4, 3, Activation::elu, Padding::valid, 2, 1.0)}});
  check_case({"conv leaky_relu", kImage, {conv(4, 2, Activation::leaky_relu, Padding::same, 1, 0.1)}});
  LayerSpec no_bias = conv(4, 3, Activation::linear);
  no_bias.use_bias = false;
  check_case({"conv linear no bias", kImage, {no_bias}});
  check_case({"two convs bytes", {1, 10, 10, false},
              {conv(4, 3, Activation::relu, Padding::same), conv(8, 3, Activation::tanh)}, true});
}

TEST_CASE("cpu matches ref: pooling") {
  const LayerSpec c = conv(4, 3, Activation::tanh, Padding::same);
  check_case({"maxpool 2", kImage, {c, maxpool()}});
  check_case({"maxpool 3 stride 2 (overlapping)", kImage, {c, pool(LayerKind::maxpool2d, 3, 2)}});
  check_case({"relu conv + maxpool 2 on odd maps", {2, 9, 9, false},
              {conv(4, 3, Activation::relu, Padding::same), maxpool()}});
  check_case({"leaky conv + maxpool 2x2 stride 3", {2, 9, 9, false},
              {conv(4, 3, Activation::leaky_relu, Padding::same, 1, 0.2), pool(LayerKind::maxpool2d, 2, 3)}});
  check_case({"avgpool 2", kImage, {c, pool(LayerKind::avgpool2d, 2)}});
  // A first convolution on few channels followed by a max pool runs as one
  // fused kernel (all of the cases above with max pooling); these add
  // MNIST's shape, partial filter vectors and no bias, and the oneDNN
  // convolution + our max pool path for the layers after the first.
  check_case({"fused: 1 channel, 32 filters, relu", {1, 12, 12, false},
              {conv(32, 3, Activation::relu, Padding::same), maxpool()}, true});
  LayerSpec elu5 = conv(20, 5, Activation::elu, Padding::valid, 2, 1.0);
  elu5.use_bias = false;
  check_case({"fused: 20 filters 5x5 stride 2, elu, no bias", {2, 15, 15, false}, {elu5, maxpool()}});
  check_case({"not fused: 5 input channels", {5, 8, 8, false}, {c, maxpool()}});
  check_case({"oneDNN conv + max pool after the fused pair", {1, 12, 12, false},
              {conv(16, 3, Activation::relu, Padding::same), maxpool(),
               conv(8, 3, Activation::relu, Padding::same), maxpool()}});
  check_case({"avgpool 3 stride 1", kImage, {c, pool(LayerKind::avgpool2d, 3, 1)}});
}

TEST_CASE("cpu matches ref: batchnorm, dropout, standalone activations") {
  const LayerSpec c = conv(4, 3, Activation::relu);
  check_case({"batchnorm", kImage, {c, batchnorm()}});
  check_case({"dropout", kImage, {c, dropout(0.4)}});
  const LayerSpec lin = conv(4, 3, Activation::linear);
  check_case({"relu layer", kImage, {lin, activation(Activation::relu)}});
  check_case({"leaky_relu layer", kImage, {lin, activation(Activation::leaky_relu, 0.1)}});
  check_case({"sigmoid layer", kImage, {lin, activation(Activation::sigmoid)}});
  check_case({"tanh layer", kImage, {lin, activation(Activation::tanh)}});
  check_case({"elu layer", kImage, {lin, activation(Activation::elu, 1.0)}});
}

TEST_CASE("cpu matches ref: dense layers, flat inputs, sigmoid output") {
  const Shape flat{12, 1, 1, true};
  for (Activation a : {Activation::relu, Activation::sigmoid, Activation::tanh, Activation::elu})
    check_case({std::string("dense ") + to_string(a), flat, {dense(7, a, 1.0)}});
  check_case({"dense bn dropout", flat, {dense(8, Activation::leaky_relu, 0.2), batchnorm(), dropout(0.5)}});
  check_case({"flatten first, bytes (MLP on pixels)", {1, 6, 6, false}, {flatten(), dense(9, Activation::tanh)}, true});
  check_case({"flatten of multi-channel maps", kImage,
              {conv(3, 3, Activation::relu), flatten(), dense(6, Activation::relu)}});
  check_case({"sigmoid output", kImage, {conv(4, 3, Activation::relu)}, false, Activation::sigmoid});
}
