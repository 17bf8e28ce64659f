// Every compiled backend against the reference (ggml's test-backend-ops idea):
// identical networks, identical parameters, identical batches; predictions,
// loss sums and updated parameters must agree within fp32 tolerances. A
// backend without a device on this machine shows as skipped.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "tests/support/layers.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

// Small networks that together use every layer kind and activation.
std::vector<std::pair<std::string, ModelSpec>> networks() {
  ModelSpec image;
  image.input = Shape{1, 14, 14};
  image.layers = {conv(6, 3, Activation::relu), batchnorm(), maxpool(),
                  conv(5, {3, 2}, Activation::leaky_relu, Padding::same, 2), layer(LayerKind::avgpool2d), flatten(),
                  dropout(0.3), dense(12, Activation::elu, 1.0), activation(Activation::tanh),
                  dense(10, Activation::softmax)};
  ModelSpec same;
  same.input = Shape{2, 9, 9};
  same.layers = {conv(4, 4, Activation::sigmoid, Padding::same), conv(4, 3, Activation::tanh, Padding::same),
                 activation(Activation::elu, 0.8), flatten(), dense(10, Activation::sigmoid)};
  ModelSpec flat;
  flat.input = Shape{20, 1, 1, true};
  flat.layers = {dense(16, Activation::sigmoid), batchnorm(), dropout(0.5), dense(8, Activation::linear),
                 activation(Activation::leaky_relu, 0.1), dense(10, Activation::softmax)};
  return {{"image", image}, {"same", same}, {"flat", flat}};
}

Samples random_samples(const Shape& shape, int count, uint64_t seed) {
  Samples s;
  s.shape = shape;
  s.count = count;
  std::mt19937_64 gen(seed);
  if (shape.flat) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t i = 0; i < count * shape.size(); ++i) s.f32.push_back(normal(gen));
  } else {
    for (int64_t i = 0; i < count * shape.size(); ++i) s.u8.push_back(uint8_t(gen() % 256));
  }
  for (int i = 0; i < count; ++i) s.labels.push_back(uint8_t(gen() % 10));
  return s;
}

std::vector<OptimizerSpec> optimizers() {
  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd;
  sgd.learning_rate = 0.05;
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  OptimizerSpec adam;  // Keras defaults
  OptimizerSpec rms;
  rms.kind = Optimizer::rmsprop;
  rms.momentum = 0.5;
  return {sgd, adam, rms};
}

// Largest |a-b| / (abs + rel*|b|) over two parameter sets; <= 1 passes.
double param_mismatch(const Params& got, const Params& want, double abs_tol, double rel_tol, std::string& where) {
  double worst = 0;
  for (size_t t = 0; t < want.size(); ++t)
    for (size_t i = 0; i < want[t].values.size(); ++i) {
      const double a = got[t].values[i], b = want[t].values[i];
      const double m = std::abs(a - b) / (abs_tol + rel_tol * std::abs(b));
      if (m > worst) worst = m, where = want[t].name + "[" + std::to_string(i) + "] " + std::to_string(a) + " vs " +
                                          std::to_string(b);
    }
  return worst;
}

// The backends to compare with the reference; MESSAGEs the skipped ones.
std::vector<Backend*> backends_under_test() {
  std::vector<Backend*> out;
  for (const std::string& name : backend_names()) {
    if (name == "ref") continue;
    Backend& backend = get_backend(name);
    if (backend.device_count() == 0) {
      MESSAGE("skipped: backend '" << name << "' has no device on this machine");
      continue;
    }
    out.push_back(&backend);
  }
  return out;
}

}  // namespace

TEST_CASE("every backend matches ref: predict, loss sums and parameters after SGD, Adam and RMSprop steps") {
  Backend& reference = get_backend("ref");
  for (Backend* backend : backends_under_test())
    for (const auto& [net_name, model] : networks())
      for (const OptimizerSpec& opt : optimizers()) {
        CAPTURE(backend->name());
        CAPTURE(net_name);
        CAPTURE(to_string(opt.kind));
        const Samples data = random_samples(model.input, 24, 17);
        SessionOptions options;
        options.seed = 123;
        auto want = reference.create_session(model, opt, options);
        auto got = backend->create_session(model, opt, options);
        got->set_params(want->get_params());

        std::vector<int32_t> all(24);
        std::iota(all.begin(), all.end(), 0);
        std::vector<float> p_want(24 * 10), p_got(24 * 10);
        want->predict(data, all, p_want.data());
        got->predict(data, all, p_got.data());
        for (size_t i = 0; i < p_want.size(); ++i) REQUIRE(p_got[i] == doctest::Approx(p_want[i]).epsilon(1e-4).scale(1e-2));

        for (int step = 0; step < 3; ++step) {
          const std::vector<int32_t> batch(all.begin() + step * 8, all.begin() + step * 8 + 8);
          const StepStats a = want->train_step(data, batch), b = got->train_step(data, batch);
          CHECK(b.loss_sum == doctest::Approx(a.loss_sum).epsilon(1e-4));
          CHECK(std::abs(b.correct - a.correct) <= 1);  // a near-tie may flip one argmax
        }
        std::string where;
        const double mismatch = param_mismatch(got->get_params(), want->get_params(), 1e-4, 1e-3, where);
        CAPTURE(where);
        CHECK(mismatch <= 1.0);
        want->predict(data, all, p_want.data());
        got->predict(data, all, p_got.data());
        for (size_t i = 0; i < p_want.size(); ++i) CHECK(p_got[i] == doctest::Approx(p_want[i]).epsilon(1e-3).scale(1e-2));
      }
}

TEST_CASE("every backend matches ref over 20 Adam steps of write-up 000's network on 256 MNIST images") {
  const std::vector<Backend*> backends = backends_under_test();
  if (backends.empty()) return;
  DatasetSpec spec;
  spec.train_limit = 256;
  spec.test_limit = 1;
  const auto dataset = load_dataset(spec);
  const ModelSpec model = writeup000(Padding::valid);
  std::vector<int32_t> order(256);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  SessionOptions options;
  options.seed = 3;

  // The reference's losses and predictions, computed once.
  auto want = get_backend("ref").create_session(model, OptimizerSpec{}, options);
  const Params start = want->get_params();
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    const std::span<const int32_t> batch(order.data() + (step % 16) * 16, 16);
    losses.push_back(want->train_step(dataset->train, batch).loss_sum);
  }
  std::vector<float> p_want(256 * 10), p_got(256 * 10);
  want->predict(dataset->train, order, p_want.data());
  MESSAGE("ref: loss of the first batch " << losses.front() / 16 << ", of the 20th " << losses.back() / 16);
  CHECK(losses.back() < losses.front());

  for (Backend* backend : backends) {
    CAPTURE(backend->name());
    auto got = backend->create_session(model, OptimizerSpec{}, options);
    got->set_params(start);
    for (int step = 0; step < 20; ++step) {
      const std::span<const int32_t> batch(order.data() + (step % 16) * 16, 16);
      CHECK(got->train_step(dataset->train, batch).loss_sum == doctest::Approx(losses[size_t(step)]).epsilon(2e-3));
    }
    got->predict(dataset->train, order, p_got.data());
    int same_argmax = 0;
    double worst = 0;
    for (int n = 0; n < 256; ++n) {
      const float* a = &p_want[size_t(n) * 10];
      const float* b = &p_got[size_t(n) * 10];
      same_argmax += std::max_element(a, a + 10) - a == std::max_element(b, b + 10) - b;
      for (int k = 0; k < 10; ++k) worst = std::max(worst, double(std::abs(a[k] - b[k])));
    }
    MESSAGE(backend->name() << ": largest probability difference " << worst << ", same prediction on "
                            << same_argmax << "/256");
    CHECK(worst < 5e-3);
    CHECK(same_argmax >= 254);
  }
}
