// Reference output losses and Keras optimizer updates.
#include <algorithm>
#include <cmath>

#include "backends/ref/layers.h"

namespace sweep::ref {
namespace {

constexpr double kKerasEpsilon = 1e-7;  // keras.backend.epsilon(), the clip of categorical_crossentropy

template <typename T>
int argmax_first(const T* row, int classes) {
  int best = 0;
  for (int k = 1; k < classes; ++k)
    if (row[k] > row[best]) best = k;
  return best;
}

double stable_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

}  // namespace

template <typename T>
LossResult output_loss(Activation output, const T* z, int batch, int classes, const uint8_t* labels, T* dz) {
  LossResult result;
  std::vector<double> p(size_t(classes), 0.0);
  for (int n = 0; n < batch; ++n) {
    const T* row = z + size_t(n) * classes;
    T* grad = dz ? dz + size_t(n) * classes : nullptr;
    const int y = labels[n];
    if (argmax_first(row, classes) == y) ++result.correct;
    if (output == Activation::softmax) {
      double max = double(row[0]);
      for (int k = 1; k < classes; ++k) max = std::max(max, double(row[k]));
      double sum = 0;
      for (int k = 0; k < classes; ++k) sum += (p[size_t(k)] = std::exp(double(row[k]) - max));
      result.loss_sum += max + std::log(sum) - double(row[y]);
      if (grad)
        for (int k = 0; k < classes; ++k) grad[k] = T((p[size_t(k)] / sum - (k == y ? 1.0 : 0.0)) / batch);
      continue;
    }
    // Sigmoid outputs, normalised to sum one, then Keras' clipped cross-entropy.
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += (p[size_t(k)] = stable_sigmoid(double(row[k])));
    const double q = p[size_t(y)] / sum;
    const bool clipped = q < kKerasEpsilon || q > 1.0 - kKerasEpsilon;
    result.loss_sum += -std::log(std::clamp(q, kKerasEpsilon, 1.0 - kKerasEpsilon));
    if (!grad) continue;
    for (int k = 0; k < classes; ++k) {
      // d(-log q_y)/dp_k = 1/sum - [k == y]/p_y; dp_k/dz_k = p_k (1 - p_k)
      const double pk = p[size_t(k)];
      const double dp = clipped ? 0.0 : 1.0 / sum - (k == y ? 1.0 / pk : 0.0);
      grad[k] = T(dp * pk * (1.0 - pk) / batch);
    }
  }
  return result;
}

template <typename T>
void output_probabilities(Activation output, const T* z, int batch, int classes, T* probs) {
  for (int n = 0; n < batch; ++n) {
    const T* row = z + size_t(n) * classes;
    T* out = probs + size_t(n) * classes;
    if (output == Activation::softmax) {
      double max = double(row[0]);
      for (int k = 1; k < classes; ++k) max = std::max(max, double(row[k]));
      double sum = 0;
      for (int k = 0; k < classes; ++k) sum += std::exp(double(row[k]) - max);
      for (int k = 0; k < classes; ++k) out[k] = T(std::exp(double(row[k]) - max) / sum);
    } else {
      for (int k = 0; k < classes; ++k) out[k] = T(stable_sigmoid(double(row[k])));
    }
  }
}

template <typename T>
void optimizer_update(const OptimizerSpec& opt, int64_t step, T* w, const T* g, T* slot1, T* slot2, int64_t n) {
  const T lr = T(opt.learning_rate), eps = T(opt.epsilon), momentum = T(opt.momentum);
  switch (opt.kind) {
    case Optimizer::sgd:
      // v = momentum*v - lr*g; w += v (nesterov: w += momentum*v - lr*g)
      for (int64_t i = 0; i < n; ++i) {
        slot1[i] = momentum * slot1[i] - lr * g[i];
        w[i] += opt.nesterov ? momentum * slot1[i] - lr * g[i] : slot1[i];
      }
      break;
    case Optimizer::adam: {
      const double t = double(step);
      const T lr_t = T(opt.learning_rate * std::sqrt(1.0 - std::pow(opt.beta_2, t)) / (1.0 - std::pow(opt.beta_1, t)));
      const T b1 = T(opt.beta_1), b2 = T(opt.beta_2);
      for (int64_t i = 0; i < n; ++i) {
        slot1[i] = b1 * slot1[i] + (T(1) - b1) * g[i];
        slot2[i] = b2 * slot2[i] + (T(1) - b2) * g[i] * g[i];
        w[i] -= lr_t * slot1[i] / (std::sqrt(slot2[i]) + eps);
      }
      break;
    }
    case Optimizer::rmsprop: {
      const T rho = T(opt.rho);
      for (int64_t i = 0; i < n; ++i) {
        slot1[i] = rho * slot1[i] + (T(1) - rho) * g[i] * g[i];
        // Keras 2.11+ and 3: epsilon inside the square root (PyTorch adds it outside).
        const T increment = lr * g[i] / std::sqrt(slot1[i] + eps);
        if (opt.momentum > 0) {
          slot2[i] = momentum * slot2[i] + increment;
          w[i] -= slot2[i];
        } else {
          w[i] -= increment;
        }
      }
      break;
    }
  }
}

#define SWEEP_REF_INSTANTIATE(T)                                                                    \
  template LossResult output_loss<T>(Activation, const T*, int, int, const uint8_t*, T*);          \
  template void output_probabilities<T>(Activation, const T*, int, int, T*);                       \
  template void optimizer_update<T>(const OptimizerSpec&, int64_t, T*, const T*, T*, T*, int64_t);
SWEEP_REF_INSTANTIATE(float)
SWEEP_REF_INSTANTIATE(double)
#undef SWEEP_REF_INSTANTIATE

}  // namespace sweep::ref
