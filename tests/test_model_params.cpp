// Canonical parameter layout and Keras initial values.
#include <doctest/doctest.h>

#include <cmath>

#include "model/model.h"
#include "tests/support/layers.h"

using namespace sweep;

namespace {

ModelSpec small_model(Init init) {
  LayerSpec out = test::dense(10, Activation::softmax);
  out.use_bias = false;
  ModelSpec m = test::model_of(Shape{3, 10, 10}, 10,
                               {test::conv(40, 5, Activation::linear), test::batchnorm(), test::flatten(), out});
  m.init = init;
  return m;
}

struct Moments {
  double mean = 0, stddev = 0, max_abs = 0;
};
Moments moments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) m.mean += x;
  m.mean /= double(v.size());
  for (float x : v) {
    m.stddev += (x - m.mean) * (x - m.mean);
    m.max_abs = std::max(m.max_abs, double(std::abs(x)));
  }
  m.stddev = std::sqrt(m.stddev / double(v.size()));
  return m;
}

}  // namespace

TEST_CASE("param_layout: names, shapes, trainability in canonical order") {
  const Params p = param_layout(small_model(Init::glorot_uniform));
  REQUIRE(p.size() == 7);
  CHECK(p[0].name == "conv2d/kernel");
  CHECK(p[0].shape == std::vector<int64_t>{40, 3, 5, 5});
  CHECK(p[1].name == "conv2d/bias");
  CHECK(p[2].name == "batch_normalization/gamma");
  CHECK(p[3].name == "batch_normalization/beta");
  CHECK(p[4].name == "batch_normalization/moving_mean");
  CHECK(!p[4].trainable);
  CHECK(p[5].name == "batch_normalization/moving_variance");
  CHECK(!p[5].trainable);
  CHECK(p[6].name == "dense/kernel");  // use_bias=false: no bias tensor
  CHECK(p[6].shape == std::vector<int64_t>{10, 40 * 6 * 6});
  CHECK(p[6].size() == 14400);
  CHECK(p[6].values.size() == 14400);
}

TEST_CASE("glorot_uniform: within +-sqrt(6/(fan_in+fan_out)), deterministic per seed") {
  const ModelSpec m = small_model(Init::glorot_uniform);
  const Params a = initial_params(m, 7), b = initial_params(m, 7), c = initial_params(m, 8);
  CHECK(a[0].values == b[0].values);
  CHECK(a[0].values != c[0].values);
  CHECK(a[0].values != std::vector<float>(a[0].values.size(), a[0].values[0]));
  const double limit = std::sqrt(6.0 / (3 * 25 + 40 * 25));
  const Moments k = moments(a[0].values);
  CHECK(k.max_abs <= limit);
  CHECK(k.max_abs > 0.98 * limit);
  CHECK(std::abs(k.mean) < 0.05 * limit);
  CHECK(k.stddev == doctest::Approx(limit / std::sqrt(3.0)).epsilon(0.03));
  // Dense: fan_in 1440, fan_out 10.
  const double dense_limit = std::sqrt(6.0 / (1440 + 10));
  CHECK(moments(a[6].values).max_abs <= dense_limit);
  // Biases and beta zero, gamma and moving variance one, moving mean zero.
  CHECK(a[1].values == std::vector<float>(40, 0.0f));
  CHECK(a[2].values == std::vector<float>(40, 1.0f));
  CHECK(a[3].values == std::vector<float>(40, 0.0f));
  CHECK(a[4].values == std::vector<float>(40, 0.0f));
  CHECK(a[5].values == std::vector<float>(40, 1.0f));
}

TEST_CASE("he_uniform, he_normal, glorot_normal follow Keras VarianceScaling") {
  const double fan_in = 75, fan_out = 1000;
  const Moments hu = moments(initial_params(small_model(Init::he_uniform), 1)[0].values);
  CHECK(hu.max_abs <= std::sqrt(6.0 / fan_in));
  CHECK(hu.stddev == doctest::Approx(std::sqrt(2.0 / fan_in)).epsilon(0.03));
  // Truncated normals: the corrected stddev makes the sample stddev sqrt(scale/n);
  // values lie within two (uncorrected) standard deviations.
  const Moments hn = moments(initial_params(small_model(Init::he_normal), 1)[0].values);
  CHECK(hn.stddev == doctest::Approx(std::sqrt(2.0 / fan_in)).epsilon(0.03));
  CHECK(hn.max_abs <= 2 * std::sqrt(2.0 / fan_in) / 0.87962566103423978 + 1e-6);
  CHECK(hn.max_abs > 1.9 * std::sqrt(2.0 / fan_in) / 0.87962566103423978);
  const Moments gn = moments(initial_params(small_model(Init::glorot_normal), 1)[0].values);
  CHECK(gn.stddev == doctest::Approx(std::sqrt(2.0 / (fan_in + fan_out))).epsilon(0.03));
  CHECK(std::abs(gn.mean) < 0.05 * gn.stddev);
}
