// Fused optimizer updates over the session's one contiguous buffer of
// trainable weights (Keras semantics; the formulas are in kernels.h).
#include <cmath>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace sweep::cuda {
namespace {

#define SWEEP_GRID_STRIDE(k, total) \
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < (total); k += int64_t(gridDim.x) * blockDim.x)

__global__ void sgd_kernel(float* w, const float* g, float* velocity, int64_t count, float lr, float momentum,
                           bool nesterov) {
  SWEEP_GRID_STRIDE(k, count) {
    if (velocity == nullptr) {
      w[k] -= lr * g[k];
      continue;
    }
    const float v = momentum * velocity[k] - lr * g[k];
    velocity[k] = v;
    w[k] += nesterov ? momentum * v - lr * g[k] : v;
  }
}

__global__ void adam_kernel(float* w, const float* g, float* m, float* v, int64_t count, float lr_t, float beta1,
                            float beta2, float epsilon) {
  SWEEP_GRID_STRIDE(k, count) {
    const float grad = g[k];
    const float m_k = beta1 * m[k] + (1.0f - beta1) * grad;
    const float v_k = beta2 * v[k] + (1.0f - beta2) * grad * grad;
    m[k] = m_k;
    v[k] = v_k;
    w[k] -= lr_t * m_k / (sqrtf(v_k) + epsilon);
  }
}

__global__ void rmsprop_kernel(float* w, const float* g, float* avg, float* mom, int64_t count, float lr, float rho,
                               float momentum, float epsilon) {
  SWEEP_GRID_STRIDE(k, count) {
    const float grad = g[k];
    const float a = rho * avg[k] + (1.0f - rho) * grad * grad;
    avg[k] = a;
    // Keras 2.11+ and 3: epsilon inside the square root (PyTorch adds it outside).
    const float step = lr * grad / sqrtf(a + epsilon);
    if (mom == nullptr) {
      w[k] -= step;
    } else {
      const float m = momentum * mom[k] + step;
      mom[k] = m;
      w[k] -= m;
    }
  }
}

}  // namespace

cudaError_t sgd_update(float* w, const float* g, float* velocity, int64_t count, float lr, float momentum,
                       bool nesterov, cudaStream_t stream) {
  sgd_kernel<<<grid_for(count), kThreads, 0, stream>>>(w, g, momentum == 0.0f ? nullptr : velocity, count, lr,
                                                       momentum, nesterov);
  return cudaGetLastError();
}

cudaError_t adam_update(float* w, const float* g, float* m, float* v, int64_t count, float lr_t, float beta1,
                        float beta2, float epsilon, cudaStream_t stream) {
  adam_kernel<<<grid_for(count), kThreads, 0, stream>>>(w, g, m, v, count, lr_t, beta1, beta2, epsilon);
  return cudaGetLastError();
}

cudaError_t rmsprop_update(float* w, const float* g, float* avg, float* mom, int64_t count, float lr, float rho,
                           float momentum, float epsilon, cudaStream_t stream) {
  rmsprop_kernel<<<grid_for(count), kThreads, 0, stream>>>(w, g, avg, momentum == 0.0f ? nullptr : mom, count, lr,
                                                           rho, momentum, epsilon);
  return cudaGetLastError();
}

}  // namespace sweep::cuda
