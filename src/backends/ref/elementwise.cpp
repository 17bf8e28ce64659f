// Reference Dense, activations, dropout and batch normalisation.
#include <cmath>

#include "backends/ref/layers.h"
#include "kernels/common/rng.h"

namespace sweep::ref {

template <typename T>
void dense_forward(const Tensor<T>& x, int units, const T* kernel, const T* bias, Tensor<T>& y) {
  const int64_t features = x.sample_size();
  y.resize(x.n, units, 1, 1);
  for (int n = 0; n < x.n; ++n) {
    const T* in = &x.data[size_t(n * features)];
    for (int u = 0; u < units; ++u) {
      const T* row = kernel + size_t(u) * features;
      T acc = bias ? bias[u] : T(0);
      for (int64_t f = 0; f < features; ++f) acc += row[f] * in[f];
      y.data[size_t(n) * units + u] = acc;
    }
  }
}

template <typename T>
void dense_backward(const Tensor<T>& x, int units, const T* kernel, const Tensor<T>& dy, Tensor<T>* dx, T* dkernel,
                    T* dbias) {
  const int64_t features = x.sample_size();
  if (dx) dx->resize(x.n, x.c, x.h, x.w);
  for (int n = 0; n < x.n; ++n) {
    const T* in = &x.data[size_t(n * features)];
    T* din = dx ? &dx->data[size_t(n * features)] : nullptr;
    for (int u = 0; u < units; ++u) {
      const T g = dy.data[size_t(n) * units + u];
      if (dbias) dbias[u] += g;
      T* drow = dkernel + size_t(u) * features;
      const T* row = kernel + size_t(u) * features;
      for (int64_t f = 0; f < features; ++f) drow[f] += g * in[f];
      if (din)
        for (int64_t f = 0; f < features; ++f) din[f] += g * row[f];
    }
  }
}

namespace {
template <typename T>
T sigmoid(T z) {
  // Never exponentiates a large positive number.
  if (z >= 0) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}
}  // namespace

template <typename T>
void activation_forward(Activation act, double alpha_d, const T* z, T* a, int64_t n) {
  const T alpha = T(alpha_d);
  for (int64_t i = 0; i < n; ++i) {
    const T v = z[i];
    switch (act) {
      case Activation::relu: a[i] = v > 0 ? v : T(0); break;
      case Activation::leaky_relu: a[i] = v > 0 ? v : alpha * v; break;
      case Activation::sigmoid: a[i] = sigmoid(v); break;
      case Activation::tanh: a[i] = std::tanh(v); break;
      case Activation::elu: a[i] = v > 0 ? v : alpha * (std::exp(v) - T(1)); break;
      case Activation::linear:
      case Activation::softmax:  // handled by the loss; never an element-wise layer
        a[i] = v;
        break;
    }
  }
}

template <typename T>
void activation_backward(Activation act, double alpha_d, const T* z, const T* a, const T* da, T* dz, int64_t n) {
  const T alpha = T(alpha_d);
  for (int64_t i = 0; i < n; ++i) {
    T slope = 1;
    switch (act) {
      case Activation::relu: slope = z[i] > 0 ? T(1) : T(0); break;
      case Activation::leaky_relu: slope = z[i] > 0 ? T(1) : alpha; break;
      case Activation::sigmoid: slope = a[i] * (T(1) - a[i]); break;
      case Activation::tanh: slope = T(1) - a[i] * a[i]; break;
      case Activation::elu: slope = z[i] > 0 ? T(1) : a[i] + alpha; break;
      case Activation::linear:
      case Activation::softmax: break;
    }
    dz[i] = da[i] * slope;
  }
}

template <typename T>
void dropout_forward(double rate, uint64_t seed, int64_t step, int layer_index, const Tensor<T>& x, Tensor<T>& y,
                     std::vector<T>& mask) {
  y.resize(x.n, x.c, x.h, x.w);
  mask.assign(size_t(x.size()), T(0));
  const uint64_t key = rng::derive_key(seed, rng::kDropout);
  const uint64_t base = (uint64_t(step) * 64 + uint64_t(layer_index)) << 32;
  const T scale = T(1.0 / (1.0 - rate));
  for (int64_t j = 0; j < x.size(); ++j) {
    // Compared in double against the double rate (uniform01's floats are exact there).
    const bool keep = double(rng::uniform01(key, base + uint64_t(j))) >= rate;
    mask[size_t(j)] = keep ? scale : T(0);
    y.data[size_t(j)] = x.data[size_t(j)] * mask[size_t(j)];
  }
}

template <typename T>
void dropout_backward(const std::vector<T>& mask, const Tensor<T>& dy, Tensor<T>& dx) {
  dx.resize(dy.n, dy.c, dy.h, dy.w);
  for (size_t j = 0; j < dy.data.size(); ++j) dx.data[j] = dy.data[j] * mask[j];
}

template <typename T>
void batchnorm_forward_train(const LayerSpec& spec, const Tensor<T>& x, const T* gamma, const T* beta,
                             T* moving_mean, T* moving_var, Tensor<T>& y, BatchNormCache<T>& cache) {
  const int64_t plane = int64_t(x.h) * x.w, count = x.n * plane;
  y.resize(x.n, x.c, x.h, x.w);
  cache.mean.assign(size_t(x.c), T(0));
  cache.inv_std.assign(size_t(x.c), T(0));
  cache.xhat.assign(size_t(x.size()), T(0));
  for (int c = 0; c < x.c; ++c) {
    // Sums in double: a float running sum over a large batch would lose digits.
    double sum = 0;
    for (int n = 0; n < x.n; ++n)
      for (int64_t i = 0; i < plane; ++i) sum += double(x.data[x.index(n, c, 0, 0) + size_t(i)]);
    const double mean = sum / double(count);
    double squares = 0;
    for (int n = 0; n < x.n; ++n)
      for (int64_t i = 0; i < plane; ++i) {
        const double d = double(x.data[x.index(n, c, 0, 0) + size_t(i)]) - mean;
        squares += d * d;
      }
    const double var = squares / double(count);  // biased, as Keras uses for both
    const T inv_std = T(1.0 / std::sqrt(var + spec.epsilon));
    cache.mean[size_t(c)] = T(mean);
    cache.inv_std[size_t(c)] = inv_std;
    for (int n = 0; n < x.n; ++n)
      for (int64_t i = 0; i < plane; ++i) {
        const size_t k = x.index(n, c, 0, 0) + size_t(i);
        const T xhat = (x.data[k] - T(mean)) * inv_std;
        cache.xhat[k] = xhat;
        y.data[k] = gamma[c] * xhat + beta[c];
      }
    const T m = T(spec.momentum);
    moving_mean[c] = m * moving_mean[c] + (T(1) - m) * T(mean);
    moving_var[c] = m * moving_var[c] + (T(1) - m) * T(var);
  }
}

template <typename T>
void batchnorm_forward_eval(const LayerSpec& spec, const Tensor<T>& x, const T* gamma, const T* beta,
                            const T* moving_mean, const T* moving_var, Tensor<T>& y) {
  const int64_t plane = int64_t(x.h) * x.w;
  y.resize(x.n, x.c, x.h, x.w);
  for (int c = 0; c < x.c; ++c) {
    const T inv_std = T(1) / std::sqrt(moving_var[c] + T(spec.epsilon));
    for (int n = 0; n < x.n; ++n)
      for (int64_t i = 0; i < plane; ++i) {
        const size_t k = x.index(n, c, 0, 0) + size_t(i);
        y.data[k] = gamma[c] * (x.data[k] - moving_mean[c]) * inv_std + beta[c];
      }
  }
}

template <typename T>
void batchnorm_backward(const Tensor<T>& dy, const T* gamma, const BatchNormCache<T>& cache, Tensor<T>& dx,
                        T* dgamma, T* dbeta) {
  const int64_t plane = int64_t(dy.h) * dy.w, count = dy.n * plane;
  dx.resize(dy.n, dy.c, dy.h, dy.w);
  for (int c = 0; c < dy.c; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int n = 0; n < dy.n; ++n)
      for (int64_t i = 0; i < plane; ++i) {
        const size_t k = dy.index(n, c, 0, 0) + size_t(i);
        sum_dy += double(dy.data[k]);
        sum_dy_xhat += double(dy.data[k]) * double(cache.xhat[k]);
      }
    dgamma[c] += T(sum_dy_xhat);
    dbeta[c] += T(sum_dy);
    // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))
    const T scale = gamma[c] * cache.inv_std[size_t(c)];
    const T mean_dy = T(sum_dy / double(count)), mean_dy_xhat = T(sum_dy_xhat / double(count));
    for (int n = 0; n < dy.n; ++n)
      for (int64_t i = 0; i < plane; ++i) {
        const size_t k = dy.index(n, c, 0, 0) + size_t(i);
        dx.data[k] = scale * (dy.data[k] - mean_dy - cache.xhat[k] * mean_dy_xhat);
      }
  }
}

#define SWEEP_REF_INSTANTIATE(T)                                                                                     \
  template void dense_forward<T>(const Tensor<T>&, int, const T*, const T*, Tensor<T>&);                            \
  template void dense_backward<T>(const Tensor<T>&, int, const T*, const Tensor<T>&, Tensor<T>*, T*, T*);           \
  template void activation_forward<T>(Activation, double, const T*, T*, int64_t);                                    \
  template void activation_backward<T>(Activation, double, const T*, const T*, const T*, T*, int64_t);               \
  template void dropout_forward<T>(double, uint64_t, int64_t, int, const Tensor<T>&, Tensor<T>&, std::vector<T>&);  \
  template void dropout_backward<T>(const std::vector<T>&, const Tensor<T>&, Tensor<T>&);                           \
  template void batchnorm_forward_train<T>(const LayerSpec&, const Tensor<T>&, const T*, const T*, T*, T*,          \
                                           Tensor<T>&, BatchNormCache<T>&);                                         \
  template void batchnorm_forward_eval<T>(const LayerSpec&, const Tensor<T>&, const T*, const T*, const T*,         \
                                          const T*, Tensor<T>&);                                                    \
  template void batchnorm_backward<T>(const Tensor<T>&, const T*, const BatchNormCache<T>&, Tensor<T>&, T*, T*);
SWEEP_REF_INSTANTIATE(float)
SWEEP_REF_INSTANTIATE(double)
#undef SWEEP_REF_INSTANTIATE

}  // namespace sweep::ref
