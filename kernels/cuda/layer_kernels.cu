// Elementwise and per-channel kernels of the layers: leaky ReLU, dropout with
// the shared counter-based masks, bias add and bias gradient, and the
// BatchNorm moving statistics.
#include "kernels/common/rng.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace sweep::cuda {
namespace {

#define SWEEP_GRID_STRIDE(k, total) \
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < (total); k += int64_t(gridDim.x) * blockDim.x)

__global__ void leaky_relu_forward_kernel(const float* x, int64_t count, float alpha, float* y) {
  SWEEP_GRID_STRIDE(k, count) { y[k] = x[k] > 0.0f ? x[k] : alpha * x[k]; }
}

__global__ void leaky_relu_backward_kernel(const float* x, const float* dy, int64_t count, float alpha, float* dx) {
  SWEEP_GRID_STRIDE(k, count) { dx[k] = x[k] > 0.0f ? dy[k] : alpha * dy[k]; }
}

// The mask is recomputed in backward rather than stored: it is a pure
// function of (key, counter), and recomputing costs less than the memory.
// The comparison is in double against the double rate, as on the host: a
// float rate could move the threshold across one of uniform01's values.
__global__ void dropout_kernel(const float* in, int64_t count, uint64_t key, uint64_t counter_base, double rate,
                               float scale, float* out) {
  SWEEP_GRID_STRIDE(k, count) {
    const bool keep = static_cast<double>(rng::uniform01(key, counter_base + static_cast<uint64_t>(k))) >= rate;
    out[k] = keep ? in[k] * scale : 0.0f;
  }
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t total, int channels, int64_t spatial) {
  SWEEP_GRID_STRIDE(k, total) { y[k] += bias[(k / spatial) % channels]; }
}

// One block per channel; each thread sums a fixed strided subset in double,
// then the block tree adds the partial sums.
__global__ void bias_gradient_kernel(const float* dy, int n, int channels, int64_t spatial, float* db) {
  const int c = blockIdx.x;
  const int64_t per_channel = int64_t(n) * spatial;
  double sum = 0.0;
  for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
    const int64_t i = k / spatial;
    const int64_t s = k - i * spatial;
    sum += dy[(i * channels + c) * spatial + s];
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) db[c] = static_cast<float>(sum);
}

__global__ void batchnorm_stats_kernel(const float* x, int n, int channels, int64_t spatial, double momentum,
                                       float* moving_mean, float* moving_var) {
  const int c = blockIdx.x;
  const int64_t per_channel = int64_t(n) * spatial;
  double sum = 0.0;
  for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
    const int64_t i = k / spatial;
    sum += x[(i * channels + c) * spatial + (k - i * spatial)];
  }
  const double mean = block_sum(sum) / static_cast<double>(per_channel);
  double squares = 0.0;  // second pass around the mean: no cancellation
  for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
    const int64_t i = k / spatial;
    const double d = x[(i * channels + c) * spatial + (k - i * spatial)] - mean;
    squares += d * d;
  }
  const double variance = block_sum(squares) / static_cast<double>(per_channel);
  if (threadIdx.x == 0) {
    const double m = momentum;  // double, as the Keras spec value
    moving_mean[c] = static_cast<float>(m * moving_mean[c] + (1.0 - m) * mean);
    moving_var[c] = static_cast<float>(m * moving_var[c] + (1.0 - m) * variance);
  }
}

}  // namespace

cudaError_t leaky_relu_forward(const float* x, int64_t count, float alpha, float* y, cudaStream_t stream) {
  leaky_relu_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, count, alpha, y);
  return cudaGetLastError();
}

cudaError_t leaky_relu_backward(const float* x, const float* dy, int64_t count, float alpha, float* dx,
                                cudaStream_t stream) {
  leaky_relu_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, dy, count, alpha, dx);
  return cudaGetLastError();
}

cudaError_t dropout_forward(const float* x, int64_t count, uint64_t key, uint64_t counter_base, double rate,
                            float scale, float* y, cudaStream_t stream) {
  dropout_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, count, key, counter_base, rate, scale, y);
  return cudaGetLastError();
}

cudaError_t dropout_backward(const float* dy, int64_t count, uint64_t key, uint64_t counter_base, double rate,
                             float scale, float* dx, cudaStream_t stream) {
  dropout_kernel<<<grid_for(count), kThreads, 0, stream>>>(dy, count, key, counter_base, rate, scale, dx);
  return cudaGetLastError();
}

cudaError_t add_bias(float* y, const float* bias, int n, int channels, int64_t spatial, cudaStream_t stream) {
  const int64_t total = int64_t(n) * channels * spatial;
  add_bias_kernel<<<grid_for(total), kThreads, 0, stream>>>(y, bias, total, channels, spatial);
  return cudaGetLastError();
}

cudaError_t bias_gradient(const float* dy, int n, int channels, int64_t spatial, float* db, cudaStream_t stream) {
  bias_gradient_kernel<<<static_cast<unsigned>(channels), kThreads, 0, stream>>>(dy, n, channels, spatial, db);
  return cudaGetLastError();
}

cudaError_t batchnorm_moving_stats(const float* x, int n, int channels, int64_t spatial, double momentum,
                                   float* moving_mean, float* moving_var, cudaStream_t stream) {
  batchnorm_stats_kernel<<<static_cast<unsigned>(channels), kThreads, 0, stream>>>(x, n, channels, spatial, momentum,
                                                                                   moving_mean, moving_var);
  return cudaGetLastError();
}

}  // namespace sweep::cuda
