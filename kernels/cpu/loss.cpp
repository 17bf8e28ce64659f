// The output heads: softmax / sigmoid probabilities, the per-sample losses,
// correct counts and the gradient of the mean loss with respect to the logits.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {
namespace {

int argmax(const float* p, int k) {
  int best = 0;
  for (int j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;  // the first maximum wins
  return best;
}

}  // namespace

void softmax(const float* z, int64_t n, int k, float* probs) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z + i * k;
    float* pi = probs + i * k;
    const float zmax = *std::max_element(zi, zi + k);
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(double(zi[j] - zmax));
    for (int j = 0; j < k; ++j) pi[j] = float(std::exp(double(zi[j] - zmax)) / sum);
  }
}

void sigmoid(const float* z, int64_t count, float* probs) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) probs[i] = float(1.0 / (1.0 + std::exp(-double(z[i]))));
}

LossSums softmax_cross_entropy(const float* z, const uint8_t* labels, int64_t n, int k, float* probs,
                               float* dlogits) {
  // Serial over the batch: n*k is tiny and a fixed order keeps sums exact.
  LossSums sums;
  const double inv_n = 1.0 / double(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z + i * k;
    const int y = labels[i];
    const double zmax = *std::max_element(zi, zi + k);
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(double(zi[j]) - zmax);
    const double lse = zmax + std::log(sum);
    sums.loss_sum += lse - double(zi[y]);
    float p[256];
    float* pi = probs ? probs + i * k : p;
    for (int j = 0; j < k; ++j) pi[j] = float(std::exp(double(zi[j]) - lse));
    if (argmax(pi, k) == y) ++sums.correct;
    if (dlogits)
      for (int j = 0; j < k; ++j) dlogits[i * k + j] = float((double(pi[j]) - (j == y ? 1.0 : 0.0)) * inv_n);
  }
  return sums;
}

LossSums sigmoid_cross_entropy(const float* z, const uint8_t* labels, int64_t n, int k, float* probs,
                               float* dlogits) {
  constexpr double kClip = 1e-7;
  LossSums sums;
  const double inv_n = 1.0 / double(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z + i * k;
    const int y = labels[i];
    double p[256];
    double s = 0;
    for (int j = 0; j < k; ++j) s += p[j] = 1.0 / (1.0 + std::exp(-double(zi[j])));
    const double q = p[y] / s;
    const double clipped = std::clamp(q, kClip, 1.0 - kClip);
    sums.loss_sum += -std::log(clipped);
    float out[256];
    float* pi = probs ? probs + i * k : out;
    for (int j = 0; j < k; ++j) pi[j] = float(p[j]);
    if (argmax(pi, k) == y) ++sums.correct;
    if (dlogits) {
      // L = -log p_y + log s  =>  dL/dz_j = p_j(1-p_j) * (1/s - [j==y]/p_y).
      const bool clip_active = q < kClip || q > 1.0 - kClip;
      for (int j = 0; j < k; ++j) {
        const double g = clip_active ? 0.0 : p[j] * (1.0 - p[j]) * (1.0 / s - (j == y ? 1.0 / p[y] : 0.0));
        dlogits[i * k + j] = float(g * inv_n);
      }
    }
  }
  return sums;
}

}  // namespace sweep::cpu_kernels
