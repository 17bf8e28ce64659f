// Finite-difference gradient checks, in double, of the reference network's
// backward pass: every layer kind, every activation, both output losses, and
// BatchNorm in training mode, with respect to inputs and to parameters.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "backends/ref/network.h"
#include "tests/support/layers.h"

using namespace sweep;
using namespace sweep::test;
using ref::Network;
using ref::Tensor;

namespace {

struct Problem {
  ModelSpec model;
  int batch = 3;
};

// The mean loss of the network on (x, labels), training mode, fixed dropout step.
double mean_loss(Network<double>& net, const Tensor<double>& x, const std::vector<uint8_t>& labels) {
  const Tensor<double>& z = net.forward(x, true, 11, 5);
  return ref::output_loss<double>(net.output_activation(), z.data.data(), x.n, net.model().classes, labels.data(),
                                  nullptr)
             .loss_sum /
         x.n;
}

// Relative error of an analytic derivative against a central difference,
// floored so that derivatives that are both ~0 compare absolutely.
double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max(std::abs(analytic) + std::abs(numeric), 1e-4);
}

// Checks every input element and up to `per_tensor` elements of every
// trainable tensor; returns the worst relative error.
double gradcheck(const Problem& problem, uint64_t seed, int per_tensor = 40) {
  Network<double> net(problem.model);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  for (size_t p = 0; p < net.params.size(); ++p)
    for (double& v : net.params[p]) v = net.trainable[p] ? 0.6 * uni(gen) : 0.0;
  const Shape& s = problem.model.input;
  Tensor<double> x(problem.batch, s.c, s.h, s.w);
  for (double& v : x.data) v = uni(gen);
  std::vector<uint8_t> labels;
  for (int n = 0; n < problem.batch; ++n) labels.push_back(uint8_t(gen() % uint64_t(problem.model.classes)));

  // Analytic gradients.
  const Tensor<double>& z = net.forward(x, true, 11, 5);
  Tensor<double> dz(problem.batch, problem.model.classes, 1, 1);
  ref::output_loss<double>(net.output_activation(), z.data.data(), x.n, problem.model.classes, labels.data(),
                           dz.data.data());
  Tensor<double> dx;
  net.backward(dz, &dx);
  const auto grads = net.grads;

  const double h = 1e-5;
  double worst = 0;
  auto probe = [&](double& value, double analytic) {
    const double saved = value;
    value = saved + h;
    const double up = mean_loss(net, x, labels);
    value = saved - h;
    const double down = mean_loss(net, x, labels);
    value = saved;
    worst = std::max(worst, relative_error(analytic, (up - down) / (2 * h)));
  };
  for (size_t i = 0; i < x.data.size(); ++i) probe(x.data[i], dx.data[i]);
  for (size_t p = 0; p < net.params.size(); ++p) {
    if (!net.trainable[p]) continue;
    const size_t n = net.params[p].size(), step = std::max<size_t>(1, n / size_t(per_tensor));
    for (size_t i = 0; i < n; i += step) probe(net.params[p][i], grads[p][i]);
  }
  return worst;
}

constexpr double kTolerance = 1e-6;

}  // namespace

TEST_CASE("gradcheck: conv valid + relu, max pool, flatten, dense tanh, softmax CE") {
  Problem p{model_of({2, 7, 7}, 4,
                     {conv(3, 3, Activation::relu), maxpool(), flatten(), dense(5, Activation::tanh),
                      dense(4, Activation::softmax)})};
  CHECK(gradcheck(p, 1) < kTolerance);
}

TEST_CASE("gradcheck: conv same stride 2 with asymmetric kernel, leaky relu, avg pool, sigmoid Keras CE") {
  Problem p{model_of({2, 8, 7}, 3,
                     {conv(3, {4, 3}, Activation::leaky_relu, Padding::same, 2), pool(LayerKind::avgpool2d, 2, 1),
                      flatten(), dense(3, Activation::sigmoid)})};
  CHECK(gradcheck(p, 2) < kTolerance);
}

TEST_CASE("gradcheck: BatchNorm in training mode on conv features and on flat features, with dropout") {
  Problem conv_bn{model_of({2, 6, 6}, 3,
                           {conv(4, 3, Activation::linear, Padding::same), batchnorm(),
                            activation(Activation::elu, 1.0), maxpool(), flatten(), dropout(0.3),
                            dense(3, Activation::softmax)}),
                  4};
  CHECK(gradcheck(conv_bn, 3) < kTolerance);
  Problem flat_bn{model_of({7, 1, 1, true}, 3,
                           {dense(6, Activation::sigmoid), batchnorm(), dropout(0.5), dense(5, Activation::elu, 0.7),
                            dense(3, Activation::sigmoid)}),
                  5};
  CHECK(gradcheck(flat_bn, 4) < kTolerance);
}

TEST_CASE("gradcheck: every activation, fused and as a layer, under both losses") {
  for (Activation a : {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
                       Activation::tanh, Activation::elu})
    for (Activation out : {Activation::softmax, Activation::sigmoid}) {
      CAPTURE(to_string(a));
      CAPTURE(to_string(out));
      Problem p{model_of({1, 4, 4}, 3,
                         {conv(2, 2, a), activation(a, 0.2), flatten(), dense(6, a, 0.4), dense(3, out)})};
      CHECK(gradcheck(p, 10 + uint64_t(a)) < kTolerance);
    }
}

TEST_CASE("gradcheck catches a wrong gradient") {
  // Sanity of the checker itself: perturbing one analytic value must show.
  CHECK(relative_error(0.25, 0.25 * (1 + 1e-3)) > kTolerance);
  CHECK(relative_error(-0.25, 0.25) > 0.5);
}
