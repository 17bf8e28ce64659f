// The reference Session: train_step is the double-precision network's step in
// float, predict is evaluation mode, and training on MNIST actually learns.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "backends/ref/network.h"
#include "common/error.h"
#include "train/backend.h"

using namespace sweep;

namespace {

ModelSpec small_model() {
  ModelSpec m;
  m.input = Shape{1, 8, 8};
  m.classes = 4;
  LayerSpec conv;
  conv.kind = LayerKind::conv2d;
  conv.filters = 3;
  conv.activation = Activation::relu;
  LayerSpec bn, pool, flat, drop, hidden, out;
  bn.kind = LayerKind::batchnorm;
  pool.kind = LayerKind::maxpool2d;
  flat.kind = LayerKind::flatten;
  drop.kind = LayerKind::dropout;
  drop.rate = 0.25;
  hidden.kind = LayerKind::dense;
  hidden.units = 6;
  hidden.activation = Activation::tanh;
  out.kind = LayerKind::dense;
  out.units = 4;
  out.activation = Activation::softmax;
  m.layers = {conv, bn, pool, flat, drop, hidden, out};
  return m;
}

Samples random_samples(int count, Shape shape, int classes, uint64_t seed) {
  Samples s;
  s.shape = shape;
  s.count = count;
  s.classes = classes;
  std::mt19937_64 gen(seed);
  for (int64_t i = 0; i < count * shape.size(); ++i) s.u8.push_back(uint8_t(gen() % 256));
  for (int i = 0; i < count; ++i) s.labels.push_back(uint8_t(gen() % uint64_t(classes)));
  return s;
}

}  // namespace

TEST_CASE("a session starts from initial_params(model, seed)") {
  const ModelSpec model = small_model();
  SessionOptions options;
  options.seed = 5;
  auto session = get_backend("ref").create_session(model, OptimizerSpec{}, options);
  const Params got = session->get_params(), expected = initial_params(model, 5);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].name == expected[i].name);
    CHECK(got[i].values == expected[i].values);
  }
  CHECK(get_backend("ref").device_count() == 1);
}

TEST_CASE("train_step equals one SGD step of the double-precision network") {
  const ModelSpec model = small_model();
  const Samples data = random_samples(10, model.input, 4, 3);
  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd;
  sgd.learning_rate = 0.1;
  SessionOptions options;
  options.seed = 9;
  auto session = get_backend("ref").create_session(model, sgd, options);
  const Params before = session->get_params();
  const std::vector<int32_t> indices{7, 2, 5, 0, 9, 4};
  const StepStats stats = session->train_step(data, indices);
  const Params after = session->get_params();

  ref::Network<double> net(model);
  for (size_t p = 0; p < before.size(); ++p) net.params[p].assign(before[p].values.begin(), before[p].values.end());
  ref::Tensor<double> x(6, 1, 8, 8);
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < indices.size(); ++i) {
    for (int k = 0; k < 64; ++k) x.data[i * 64 + size_t(k)] = data.u8[size_t(indices[i]) * 64 + size_t(k)] / 255.0;
    labels.push_back(data.labels[size_t(indices[i])]);
  }
  const ref::Tensor<double>& z = net.forward(x, true, 9, 0);
  ref::Tensor<double> dz(6, 4, 1, 1);
  const ref::LossResult loss = ref::output_loss<double>(Activation::softmax, z.data.data(), 6, 4, labels.data(),
                                                        dz.data.data());
  net.backward(dz);
  CHECK(stats.loss_sum == doctest::Approx(loss.loss_sum).epsilon(1e-5));
  CHECK(stats.correct == loss.correct);
  for (size_t p = 0; p < before.size(); ++p) {
    CAPTURE(before[p].name);
    for (size_t i = 0; i < before[p].values.size(); ++i) {
      // Trainable: w - lr*g; BatchNorm moving statistics: updated by the forward.
      const double expected = net.trainable[p] ? net.params[p][i] - 0.1 * net.grads[p][i] : net.params[p][i];
      CHECK(after[p].values[i] == doctest::Approx(expected).epsilon(1e-5).scale(1.0));
    }
  }
}

TEST_CASE("predict: evaluation mode, probabilities, no side effects") {
  ModelSpec model = small_model();
  const Samples data = random_samples(5, model.input, 4, 4);
  auto session = get_backend("ref").create_session(model, OptimizerSpec{}, SessionOptions{});
  const std::vector<int32_t> all{0, 1, 2, 3, 4};
  session->train_step(data, all);  // moves the BatchNorm statistics away from 0/1
  const Params params = session->get_params();
  std::vector<float> a(20), b(20);
  session->predict(data, all, a.data());
  session->predict(data, all, b.data());
  CHECK(a == b);  // no dropout, no statistics update
  CHECK(session->get_params()[2].values == params[2].values);
  for (int n = 0; n < 5; ++n) CHECK(std::accumulate(&a[size_t(n) * 4], &a[size_t(n) * 4 + 4], 0.0) == doctest::Approx(1.0));
  // A single sample predicts the same as within a batch (eval BatchNorm is per sample).
  std::vector<float> one(4);
  const std::vector<int32_t> third{2};
  session->predict(data, third, one.data());
  for (int k = 0; k < 4; ++k) CHECK(one[size_t(k)] == doctest::Approx(a[8 + size_t(k)]).epsilon(1e-6));

  model.layers.back().activation = Activation::sigmoid;
  auto sig = get_backend("ref").create_session(model, OptimizerSpec{}, SessionOptions{});
  sig->predict(data, all, a.data());
  for (float p : a) CHECK((p > 0 && p < 1));
}

TEST_CASE("same seed, same training; dropout masks change with the step") {
  const ModelSpec model = small_model();
  const Samples data = random_samples(8, model.input, 4, 5);
  const std::vector<int32_t> batch{0, 1, 2, 3, 4, 5, 6, 7};
  SessionOptions options;
  options.seed = 1;
  auto a = get_backend("ref").create_session(model, OptimizerSpec{}, options);
  auto b = get_backend("ref").create_session(model, OptimizerSpec{}, options);
  for (int i = 0; i < 3; ++i) CHECK(a->train_step(data, batch).loss_sum == b->train_step(data, batch).loss_sum);
  CHECK(a->get_params()[0].values == b->get_params()[0].values);
}

TEST_CASE("bad requests") {
  const ModelSpec model = small_model();
  SessionOptions bf16;
  bf16.precision = Precision::bf16;
  CHECK_THROWS_AS(get_backend("ref").create_session(model, OptimizerSpec{}, bf16), InputError);
  auto session = get_backend("ref").create_session(model, OptimizerSpec{}, SessionOptions{});
  Params params = session->get_params();
  params[0].shape[0] += 1;
  CHECK_THROWS_AS(session->set_params(params), RuntimeError);
  const Samples data = random_samples(3, model.input, 4, 6);
  const std::vector<int32_t> outside{3};
  CHECK_THROWS_AS(session->train_step(data, outside), RuntimeError);
}

TEST_CASE("ref learns MNIST: 30 Adam steps on 256 images lower the loss") {
  DatasetSpec spec;
  spec.train_limit = 256;
  spec.test_limit = 1;
  const auto dataset = load_dataset(spec);
  ModelSpec model;
  model.input = dataset->train.shape;
  LayerSpec conv, pool, flat, out;
  conv.kind = LayerKind::conv2d;
  conv.filters = 8;
  conv.activation = Activation::relu;
  pool.kind = LayerKind::maxpool2d;
  flat.kind = LayerKind::flatten;
  out.kind = LayerKind::dense;
  out.units = 10;
  out.activation = Activation::softmax;
  model.layers = {conv, pool, flat, out};
  auto session = get_backend("ref").create_session(model, OptimizerSpec{}, SessionOptions{});
  std::vector<int32_t> all(256);
  std::iota(all.begin(), all.end(), 0);
  std::vector<float> probs(256 * 10);
  auto mean_loss = [&] {
    session->predict(dataset->train, all, probs.data());
    double loss = 0;
    for (int i = 0; i < 256; ++i) loss -= std::log(probs[size_t(i) * 10 + dataset->train.labels[size_t(i)]]);
    return loss / 256;
  };
  const double initial = mean_loss();
  for (int step = 0; step < 30; ++step) {
    const std::span<const int32_t> batch(all.data() + (step % 8) * 32, 32);
    session->train_step(dataset->train, batch);
  }
  const double trained = mean_loss();
  MESSAGE("mean loss on 256 MNIST images: " << initial << " -> " << trained);
  CHECK(initial > 2.0);
  CHECK(trained < 0.8 * initial);
}
