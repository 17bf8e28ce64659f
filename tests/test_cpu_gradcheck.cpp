// Finite-difference check of the CPU backend's gradients. The analytic
// gradient comes from one plain SGD step with lr 1 (grad = before - after);
// the numeric one from central differences of the mean loss computed from
// predict() (only layers that behave the same in training and evaluation).
#include <doctest/doctest.h>

#include <cmath>

#include "kernels/common/rng.h"
#include "tests/support/layers.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

double mean_loss(Session& s, const Samples& data, const std::vector<int32_t>& rows, bool sigmoid_output) {
  std::vector<float> p(rows.size() * size_t(data.classes));
  s.predict(data, rows, p.data());
  double loss = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* pi = p.data() + i * size_t(data.classes);
    const int y = data.labels[size_t(rows[i])];
    double q = pi[y];
    if (sigmoid_output) {
      double sum = 0;
      for (int j = 0; j < data.classes; ++j) sum += pi[j];
      q /= sum;
    }
    loss -= std::log(q);
  }
  return loss / double(rows.size());
}

void gradcheck(const ModelSpec& model, bool sigmoid_output) {
  Samples data;
  data.shape = model.input, data.count = 4, data.classes = model.classes;
  const uint64_t key = rng::derive_key(9, 1);
  for (int64_t i = 0; i < data.count * model.input.size(); ++i) data.f32.push_back(rng::uniform01(key, uint64_t(i)));
  data.labels = {1, 0, 2, 1};
  const std::vector<int32_t> rows = {0, 1, 2, 3};

  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd, sgd.learning_rate = 1.0;
  SessionOptions options;
  options.threads = 2, options.seed = 3;
  auto session = get_backend("cpu").create_session(model, sgd, options);
  const Params start = session->get_params();
  session->train_step(data, rows);
  const Params after = session->get_params();

  const float h = 5e-4f;  // small enough to rarely move a max-pool winner, large for fp32 noise
  for (size_t t = 0; t < start.size(); ++t) {
    CAPTURE(start[t].name);
    double diff2 = 0, norm2 = 0;
    const size_t n = start[t].values.size();
    for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 12)) {
      Params probe = start;
      probe[t].values[i] = start[t].values[i] + h;
      session->set_params(probe);
      const double up = mean_loss(*session, data, rows, sigmoid_output);
      probe[t].values[i] = start[t].values[i] - h;
      session->set_params(probe);
      const double down = mean_loss(*session, data, rows, sigmoid_output);
      const double numeric = (up - down) / (2.0 * double(h));
      const double analytic = double(start[t].values[i]) - double(after[t].values[i]);
      diff2 += (numeric - analytic) * (numeric - analytic);
      norm2 += analytic * analytic;
    }
    CHECK(norm2 > 1e-12);
    CHECK(std::sqrt(diff2) <= 0.03 * std::sqrt(norm2) + 1e-5);
  }
}

}  // namespace

TEST_CASE("gradients match finite differences: conv, pools, activations, dense") {
  gradcheck(model_of({2, 7, 7, false}, 3,
                     {conv(3, 3, Activation::tanh, Padding::same), conv(4, 2, Activation::elu, Padding::valid, 1, 1.0),
                      layer(LayerKind::avgpool2d), activation(Activation::sigmoid), flatten(),
                      dense(5, Activation::leaky_relu, 0.2), dense(3, Activation::softmax)}),
            false);
}

TEST_CASE("gradients match finite differences: max pooling and a sigmoid output") {
  gradcheck(model_of({1, 8, 8, false}, 3,
                     {conv(3, 3, Activation::sigmoid), maxpool(), flatten(), dense(3, Activation::sigmoid)}),
            true);
}

TEST_CASE("gradients match finite differences: the fused first conv + max pool") {
  // Two input channels, a 5x5 kernel (more taps than one register group),
  // 18 filters (a partial vector), tanh, overlapping pool windows.
  gradcheck(model_of({2, 9, 9, false}, 3,
                     {conv(18, 5, Activation::tanh, Padding::same), pool(LayerKind::maxpool2d, 3, 2), flatten(),
                      dense(3, Activation::softmax)}),
            false);
}

TEST_CASE("gradients match finite differences: a conv on 16 channels whose backward runs from its max pool") {
  // The second conv's gradients come from the pool's winners
  // (conv_maxpool_backward_sparse), including the input gradient that flows
  // on into the fused first layer. Stride-2 pool windows of 3 overlap.
  gradcheck(model_of({1, 10, 10, false}, 3,
                     {conv(16, 3, Activation::relu, Padding::same), maxpool(),
                      conv(6, 3, Activation::elu, Padding::same, 1, 1.0), pool(LayerKind::maxpool2d, 3, 2), flatten(),
                      dense(3, Activation::softmax)}),
            false);
}
