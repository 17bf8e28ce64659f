// The output layer: fused loss + gradient + accuracy count for training, and
// the probabilities for prediction. Classes per sample are few (10 for the
// digit sets), so each thread takes whole samples and one block does the
// batch: the loss and correct sums then need no atomics and come out the
// same every time. Per-sample arithmetic is in double, as in the reference
// backend, so the two agree to float rounding of the results.
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace sweep::cuda {
namespace {

constexpr double kKerasEpsilon = 1e-7;  // keras.backend.epsilon(), the clip of categorical_crossentropy

// Never exponentiates a large positive number.
__device__ double stable_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

__device__ int argmax_first(const float* z, int classes) {
  int best = 0;
  for (int j = 1; j < classes; ++j)
    if (z[j] > z[best]) best = j;
  return best;
}

// One sample's loss; writes d(loss)/dz divided by n into dz.
__device__ double softmax_sample(const float* z, int classes, int label, int n, float* dz) {
  double max_z = z[0];
  for (int j = 1; j < classes; ++j) max_z = fmax(max_z, static_cast<double>(z[j]));
  double sum = 0.0;
  for (int j = 0; j < classes; ++j) sum += exp(z[j] - max_z);
  for (int j = 0; j < classes; ++j)
    dz[j] = static_cast<float>((exp(z[j] - max_z) / sum - (j == label ? 1.0 : 0.0)) / n);
  return max_z + log(sum) - z[label];  // logsumexp(z) - z_y
}

__device__ double sigmoid_sample(const float* z, int classes, int label, int n, float* dz) {
  double sum = 0.0;
  for (int j = 0; j < classes; ++j) sum += stable_sigmoid(z[j]);
  const double p_y = stable_sigmoid(z[label]);
  const double q = p_y / sum;
  // The clip passes no gradient where it is active (as tf.clip_by_value).
  const bool clipped = q < kKerasEpsilon || q > 1.0 - kKerasEpsilon;
  for (int j = 0; j < classes; ++j) {
    // d(-log q_y)/dp_j = 1/sum - [j == y]/p_y; dp_j/dz_j = p_j (1 - p_j)
    const double p = stable_sigmoid(z[j]);
    const double dp = clipped ? 0.0 : 1.0 / sum - (j == label ? 1.0 / p : 0.0);
    dz[j] = static_cast<float>(dp * p * (1.0 - p) / n);
  }
  return -log(fmin(fmax(q, kKerasEpsilon), 1.0 - kKerasEpsilon));
}

__global__ void loss_kernel(const float* logits, const int32_t* labels, int n, int classes, bool use_sigmoid,
                            float* dlogits, double* loss_sum, long long* correct) {
  double loss = 0.0;
  long long hits = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float* z = logits + int64_t(i) * classes;
    float* dz = dlogits + int64_t(i) * classes;
    const int label = labels[i];
    hits += argmax_first(z, classes) == label ? 1 : 0;
    loss += use_sigmoid ? sigmoid_sample(z, classes, label, n, dz) : softmax_sample(z, classes, label, n, dz);
  }
  loss = block_sum(loss);
  hits = block_sum(hits);
  if (threadIdx.x == 0) {
    *loss_sum = loss;
    *correct = hits;
  }
}

__global__ void probabilities_kernel(const float* logits, int n, int classes, bool use_sigmoid, float* probs) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float* z = logits + i * classes;
    float* p = probs + i * classes;
    if (use_sigmoid) {
      for (int j = 0; j < classes; ++j) p[j] = static_cast<float>(stable_sigmoid(z[j]));
      continue;
    }
    double max_z = z[0];
    for (int j = 1; j < classes; ++j) max_z = fmax(max_z, static_cast<double>(z[j]));
    double sum = 0.0;
    for (int j = 0; j < classes; ++j) sum += exp(z[j] - max_z);
    for (int j = 0; j < classes; ++j) p[j] = static_cast<float>(exp(z[j] - max_z) / sum);
  }
}

}  // namespace

cudaError_t loss_and_gradient(const float* logits, const int32_t* labels, int n, int classes, bool sigmoid,
                              float* dlogits, double* loss_sum, long long* correct, cudaStream_t stream) {
  loss_kernel<<<1, kThreads, 0, stream>>>(logits, labels, n, classes, sigmoid, dlogits, loss_sum, correct);
  return cudaGetLastError();
}

cudaError_t output_probabilities(const float* logits, int n, int classes, bool sigmoid, float* probs,
                                 cudaStream_t stream) {
  probabilities_kernel<<<grid_for(n), kThreads, 0, stream>>>(logits, n, classes, sigmoid, probs);
  return cudaGetLastError();
}

}  // namespace sweep::cuda
