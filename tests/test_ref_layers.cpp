// The reference layers' exact semantics, on hand-checkable numbers: the
// definitions every other backend is compared against.
#include <doctest/doctest.h>

#include <cmath>

#include "backends/ref/layers.h"
#include "kernels/common/rng.h"

using namespace sweep;
using ref::Tensor;

namespace {

Tensor<double> iota(int n, int c, int h, int w) {
  Tensor<double> t(n, c, h, w);
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = double(i + 1);
  return t;
}

}  // namespace

TEST_CASE("conv2d 'same' pads like TensorFlow: more padding after than before") {
  // 4x4 input, 2x2 kernel of ones, stride 1: total pad 1, all of it after.
  LayerSpec conv;
  conv.kind = LayerKind::conv2d;
  conv.filters = 1;
  conv.kernel_h = conv.kernel_w = 2;
  conv.padding = Padding::same;
  const Tensor<double> x = iota(1, 1, 4, 4);
  const std::vector<double> kernel(4, 1.0), bias{0.5};
  Tensor<double> y;
  ref::conv2d_forward(conv, x, kernel.data(), bias.data(), y);
  REQUIRE(y.h == 4);
  CHECK(y.at(0, 0, 0, 0) == 1 + 2 + 5 + 6 + 0.5);
  CHECK(y.at(0, 0, 0, 3) == 4 + 8 + 0.5);   // right edge: zero padding after
  CHECK(y.at(0, 0, 3, 3) == 16 + 0.5);      // bottom-right corner
  // 3x3 kernel, stride 2 on 5x5: out 3, total pad max(2*2+3-5, 0) = 2 -> 1 before.
  conv.kernel_h = conv.kernel_w = 3;
  conv.stride_h = conv.stride_w = 2;
  const std::vector<double> k9(9, 1.0);
  ref::conv2d_forward<double>(conv, iota(1, 1, 5, 5), k9.data(), nullptr, y);
  REQUIRE(y.h == 3);
  CHECK(y.at(0, 0, 0, 0) == 1 + 2 + 6 + 7);
  CHECK(y.at(0, 0, 1, 1) == 7 + 8 + 9 + 12 + 13 + 14 + 17 + 18 + 19);
}

TEST_CASE("max pool: floor, stride = size, gradient to the first maximum") {
  LayerSpec pool;
  pool.kind = LayerKind::maxpool2d;
  Tensor<double> x(1, 1, 3, 5);  // floor: 1x2 output, last row and column unused
  x.data = {1, 7, 7, 0, 9, 7, 2, 1, 3, 9, 9, 9, 9, 9, 9};
  Tensor<double> y, dx;
  ref::pool_forward(pool, x, y);
  REQUIRE((y.h == 1 && y.w == 2));
  CHECK(y.data == std::vector<double>{7, 7});
  Tensor<double> dy(1, 1, 1, 2);
  dy.data = {1.0, 2.0};
  ref::pool_backward(pool, x, dy, dx);
  // window 0 = {1,7 / 7,2}: first 7 at (0,1); window 1 = {7,0 / 1,3}: (0,2)
  std::vector<double> expected(15, 0.0);
  expected[1] = 1.0, expected[2] = 2.0;
  CHECK(dx.data == expected);
  pool.kind = LayerKind::avgpool2d;
  ref::pool_forward(pool, x, y);
  CHECK(y.data == std::vector<double>{(1 + 7 + 7 + 2) / 4.0, (7 + 0 + 1 + 3) / 4.0});
}

TEST_CASE("dropout follows the shared counter-based formula") {
  const double rate = 0.4;
  const uint64_t seed = 42;
  Tensor<float> x(2, 3, 4, 5), y;
  for (auto& v : x.data) v = 1.0f;
  std::vector<float> mask;
  ref::dropout_forward(rate, seed, /*step=*/7, /*layer_index=*/3, x, y, mask);
  const uint64_t key = rng::derive_key(seed, rng::kDropout);
  int kept = 0;
  for (size_t j = 0; j < x.data.size(); ++j) {
    const bool keep = rng::uniform01(key, ((7ull * 64 + 3) << 32) + j) >= rate;
    CHECK(y.data[j] == (keep ? float(1.0 / (1.0 - rate)) : 0.0f));
    kept += keep;
  }
  CHECK(kept > 50);
  CHECK(kept < 90);
  std::vector<float> other;
  ref::dropout_forward(rate, seed, 8, 3, x, y, other);
  CHECK(other != mask);  // a new mask every step
}

TEST_CASE("batchnorm: batch mean, biased variance, moving averages, eval with moving stats") {
  LayerSpec bn;
  bn.kind = LayerKind::batchnorm;
  bn.momentum = 0.9;
  Tensor<double> x(2, 1, 1, 2);  // one channel, four values: mean 2.5, biased var 1.25
  x.data = {1, 2, 3, 4};
  const std::vector<double> gamma{2.0}, beta{0.5};
  std::vector<double> moving_mean{0.0}, moving_var{1.0};
  Tensor<double> y;
  ref::BatchNormCache<double> cache;
  ref::batchnorm_forward_train(bn, x, gamma.data(), beta.data(), moving_mean.data(), moving_var.data(), y, cache);
  const double inv_std = 1.0 / std::sqrt(1.25 + 1e-3);
  CHECK(y.data[0] == doctest::Approx(2.0 * (1 - 2.5) * inv_std + 0.5).epsilon(1e-12));
  CHECK(y.data[3] == doctest::Approx(2.0 * (4 - 2.5) * inv_std + 0.5).epsilon(1e-12));
  CHECK(moving_mean[0] == doctest::Approx(0.1 * 2.5));
  CHECK(moving_var[0] == doctest::Approx(0.9 + 0.1 * 1.25));
  ref::batchnorm_forward_eval(bn, x, gamma.data(), beta.data(), moving_mean.data(), moving_var.data(), y);
  CHECK(y.data[0] == doctest::Approx(2.0 * (1 - 0.25) / std::sqrt(1.025 + 1e-3) + 0.5));
}

TEST_CASE("losses: stable softmax CE and Keras' CE on sigmoid outputs") {
  const std::vector<double> z{1000.0, 0.0, -1000.0, 1.0, 2.0, 3.0};
  const std::vector<uint8_t> labels{0, 1};
  std::vector<double> dz(6);
  const ref::LossResult soft = ref::output_loss<double>(Activation::softmax, z.data(), 2, 3, labels.data(), dz.data());
  const double lse = 3 + std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0);
  CHECK(soft.loss_sum == doctest::Approx(0.0 + lse - 2.0));
  CHECK(soft.correct == 1);  // row 0 right, row 1 wrong
  CHECK(dz[0] == doctest::Approx(0.0));
  CHECK(dz[4] == doctest::Approx((std::exp(2.0 - lse) - 1) / 2));
  // Sigmoid: q_y = p_y / sum(p).
  const std::vector<double> zs{0.0, 0.0, std::log(3.0)};  // p = 0.5, 0.5, 0.75
  const std::vector<uint8_t> label{2};
  const ref::LossResult sig = ref::output_loss<double>(Activation::sigmoid, zs.data(), 1, 3, label.data(), nullptr);
  CHECK(sig.loss_sum == doctest::Approx(-std::log(0.75 / 1.75)));
  // A hopeless prediction is clipped at 1e-7, as Keras does.
  const std::vector<double> zc{40.0, -40.0};
  const std::vector<uint8_t> label1{1};
  std::vector<double> dzc(2);
  const ref::LossResult clip = ref::output_loss<double>(Activation::sigmoid, zc.data(), 1, 2, label1.data(), dzc.data());
  CHECK(clip.loss_sum == doctest::Approx(-std::log(1e-7)));
  CHECK(dzc == std::vector<double>{0.0, 0.0});
  // Ties: the first maximum is the prediction.
  const std::vector<double> tie{0.5, 0.5};
  const std::vector<uint8_t> second{1};
  CHECK(ref::output_loss<double>(Activation::softmax, tie.data(), 1, 2, second.data(), nullptr).correct == 0);
  std::vector<double> probs(6);
  ref::output_probabilities<double>(Activation::softmax, z.data(), 2, 3, probs.data());
  CHECK(probs[3] + probs[4] + probs[5] == doctest::Approx(1.0));
  CHECK(probs[0] == doctest::Approx(1.0));
}

TEST_CASE("optimizers: two Keras steps against hand-computed values") {
  // w = 1, g = 0.5 on both steps; values computed by hand (Python floats).
  auto run = [](OptimizerSpec opt) {
    double w = 1.0, slot1 = 0, slot2 = 0;
    const double g = 0.5;
    std::vector<double> after;
    for (int64_t step = 1; step <= 2; ++step) {
      ref::optimizer_update<double>(opt, step, &w, &g, &slot1, &slot2, 1);
      after.push_back(w);
    }
    return after;
  };
  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd;
  sgd.learning_rate = 0.1;
  sgd.momentum = 0.9;
  auto w = run(sgd);  // v1 = -0.05; v2 = 0.9*v1 - 0.05 = -0.095
  CHECK(w[0] == doctest::Approx(0.95).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(0.855).epsilon(1e-14));
  sgd.nesterov = true;
  w = run(sgd);  // w1 = 1 + 0.9*(-0.05) - 0.05; w2 = w1 + 0.9*(-0.095) - 0.05
  CHECK(w[0] == doctest::Approx(0.905).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(0.7695).epsilon(1e-14));
  sgd.nesterov = false;
  sgd.momentum = 0;
  CHECK(run(sgd)[1] == doctest::Approx(0.9).epsilon(1e-14));

  OptimizerSpec adam;  // Keras defaults: lr 1e-3, b1 0.9, b2 0.999, eps 1e-7
  adam.kind = Optimizer::adam;
  w = run(adam);
  CHECK(w[0] == doctest::Approx(0.9990000063245154).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(0.9980000107977498).epsilon(1e-14));

  OptimizerSpec rms;
  rms.kind = Optimizer::rmsprop;
  rms.learning_rate = 0.01;
  // Keras 2.11+ and 3: increment = lr g / sqrt(a + eps), epsilon inside the
  // root (PyTorch's sqrt(a) + eps would give 0.9683772433983036 first).
  w = run(rms);  // a1 = 0.025, a2 = 0.0475
  CHECK(w[0] == doctest::Approx(0.9683772866436797).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(0.94543573740561).epsilon(1e-14));
  rms.momentum = 0.5;
  w = run(rms);  // m2 = 0.5 m1 + i2
  CHECK(w[0] == doctest::Approx(0.9683772866436797).epsilon(1e-14));
  CHECK(w[1] == doctest::Approx(0.9296243807274499).epsilon(1e-14));
}
