// Parameter tensors in the canonical layout (see model.h) and their Keras
// initial values, drawn from the counter-based generator of kernels/common/rng.h
// so every backend starts from bit-identical weights for a given seed.
#include <cmath>
#include <numeric>

#include "kernels/common/rng.h"
#include "model/model.h"

namespace sweep {

int64_t ParamTensor::size() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

namespace {

ParamTensor make_tensor(const std::string& layer, const char* what, std::vector<int64_t> shape, bool trainable) {
  ParamTensor t;
  t.name = layer + "/" + what;
  t.shape = std::move(shape);
  t.trainable = trainable;
  t.values.assign(size_t(t.size()), 0.0f);
  return t;
}

// The inverse of the standard normal CDF on [Phi(-2), Phi(2)], by Newton's
// method on the upper half (Phi is concave there, so the iteration from 0
// climbs monotonically to the root without overshooting).
double truncated_normal_quantile(double p) {
  const bool lower = p < 0.5;
  const double target = lower ? 1.0 - p : p;
  double z = 0.0;
  for (int iteration = 0; iteration < 60; ++iteration) {
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    const double step = (target - cdf) / pdf;
    z += step;
    if (std::abs(step) < 1e-13) break;
  }
  return lower ? -z : z;
}

// Keras VarianceScaling: uniform within +-sqrt(3 * scale / n), or a normal
// truncated at two standard deviations whose stddev is sqrt(scale / n) divided
// by 0.8796... (the stddev of a unit normal truncated to [-2, 2]).
void fill_kernel(ParamTensor& kernel, Init init, int64_t fan_in, int64_t fan_out, uint64_t key) {
  const double fan_avg = 0.5 * double(fan_in + fan_out);
  const bool glorot = init == Init::glorot_uniform || init == Init::glorot_normal;
  const double n = glorot ? fan_avg : double(fan_in);
  const double scale = glorot ? 1.0 : 2.0;
  const bool uniform = init == Init::glorot_uniform || init == Init::he_uniform;
  const double limit = std::sqrt(3.0 * scale / n);
  const double stddev = std::sqrt(scale / n) / 0.87962566103423978;
  const double cdf_lo = 0.5 * std::erfc(2.0 / std::sqrt(2.0));  // Phi(-2)
  const double cdf_hi = 1.0 - cdf_lo;
  for (size_t i = 0; i < kernel.values.size(); ++i) {
    const double u = rng::uniform01(key, i);
    const double v = uniform ? -limit + 2.0 * limit * u
                             : stddev * truncated_normal_quantile(cdf_lo + u * (cdf_hi - cdf_lo));
    kernel.values[i] = float(v);
  }
}

}  // namespace

Params param_layout(const ModelSpec& spec) {
  ModelSpec model = spec;
  const ModelInfo info = infer(model);
  Params params;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSpec& layer = model.layers[i];
    const Shape& in = info.layers[i].input;
    switch (layer.kind) {
      case LayerKind::conv2d:
        params.push_back(make_tensor(layer.name, "kernel", {layer.filters, in.c, layer.kernel_h, layer.kernel_w}, true));
        if (layer.use_bias) params.push_back(make_tensor(layer.name, "bias", {layer.filters}, true));
        break;
      case LayerKind::dense:
        params.push_back(make_tensor(layer.name, "kernel", {layer.units, in.size()}, true));
        if (layer.use_bias) params.push_back(make_tensor(layer.name, "bias", {layer.units}, true));
        break;
      case LayerKind::batchnorm:
        params.push_back(make_tensor(layer.name, "gamma", {in.c}, true));
        params.push_back(make_tensor(layer.name, "beta", {in.c}, true));
        params.push_back(make_tensor(layer.name, "moving_mean", {in.c}, false));
        params.push_back(make_tensor(layer.name, "moving_variance", {in.c}, false));
        break;
      default:
        break;
    }
  }
  return params;
}

Params initial_params(const ModelSpec& spec, uint64_t seed) {
  ModelSpec model = spec;
  const ModelInfo info = infer(model);
  Params params = param_layout(model);
  size_t next = 0;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSpec& layer = model.layers[i];
    const Shape& in = info.layers[i].input;
    const uint64_t key = rng::derive_key(seed, rng::kInit ^ (uint64_t(i) << 8));
    switch (layer.kind) {
      case LayerKind::conv2d: {
        const int64_t receptive = int64_t(layer.kernel_h) * layer.kernel_w;
        fill_kernel(params[next++], model.init, in.c * receptive, layer.filters * receptive, key);
        if (layer.use_bias) ++next;  // zero
        break;
      }
      case LayerKind::dense:
        fill_kernel(params[next++], model.init, in.size(), layer.units, key);
        if (layer.use_bias) ++next;  // zero
        break;
      case LayerKind::batchnorm:
        std::fill(params[next].values.begin(), params[next].values.end(), 1.0f);      // gamma
        std::fill(params[next + 3].values.begin(), params[next + 3].values.end(), 1.0f);  // moving variance
        next += 4;
        break;
      default:
        break;
    }
  }
  return params;
}

}  // namespace sweep
