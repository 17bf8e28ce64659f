// Fused optimizer updates over one flat array holding every trainable
// parameter: one pass, vectorised, in fp32 (Keras' formulas).
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {

void sgd_update(float* w, const float* g, float* velocity, int64_t count, float lr, float momentum, bool nesterov) {
  if (momentum == 0.0f) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) w[i] -= lr * g[i];
    return;
  }
  if (nesterov) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float v = momentum * velocity[i] - lr * g[i];
      velocity[i] = v;
      w[i] += momentum * v - lr * g[i];
    }
  } else {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float v = momentum * velocity[i] - lr * g[i];
      velocity[i] = v;
      w[i] += v;
    }
  }
}

void adam_update(float* w, const float* g, float* m, float* v, int64_t count, float lr_t, float beta_1,
                 float beta_2, float epsilon) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float mi = beta_1 * m[i] + (1.0f - beta_1) * g[i];
    const float vi = beta_2 * v[i] + (1.0f - beta_2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    w[i] -= lr_t * mi / (std::sqrt(vi) + epsilon);
  }
}

void rmsprop_update(float* w, const float* g, float* accum, float* mom, int64_t count, float lr, float rho,
                    float momentum, float epsilon) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float a = rho * accum[i] + (1.0f - rho) * g[i] * g[i];
    accum[i] = a;
    // Keras 2.11+ and 3: epsilon inside the square root (PyTorch adds it outside).
    const float step = lr * g[i] / std::sqrt(a + epsilon);
    if (momentum > 0.0f) {
      mom[i] = momentum * mom[i] + step;
      w[i] -= mom[i];
    } else {
      w[i] -= step;
    }
  }
}

}  // namespace sweep::cpu_kernels
