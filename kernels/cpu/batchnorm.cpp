// Batch normalisation over the rows of an NHWC tensor (rows = N*H*W, one
// statistic per channel). Reductions run in double, each thread over a fixed
// block of rows, and the per-thread partials are combined in thread order, so
// the result depends only on the thread count.
#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {
namespace {

// sums[k*c + ch] += f(row, ch) for each of K accumulators, reduced over rows.
template <int K, class RowFn>
void reduce_rows(int64_t rows, int c, std::vector<double>& out, RowFn&& fn) {
  const int max_threads = omp_get_max_threads();
  std::vector<double> partial(size_t(max_threads) * K * size_t(c), 0.0);
  int used = 1;
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
    used = nt;
    const int64_t begin = rows * t / nt, end = rows * (t + 1) / nt;
    double* acc = partial.data() + size_t(t) * K * size_t(c);
    for (int64_t r = begin; r < end; ++r) fn(r, acc);
  }
  out.assign(size_t(K) * size_t(c), 0.0);
  for (int t = 0; t < used; ++t)
    for (size_t k = 0; k < out.size(); ++k) out[k] += partial[size_t(t) * K * size_t(c) + k];
}

}  // namespace

void batchnorm_forward_training(const float* x, int64_t rows, int c, const float* gamma, const float* beta,
                                float epsilon, float momentum, float* moving_mean, float* moving_var, float* y,
                                float* saved_mean, float* saved_invstd) {
  std::vector<double> sum, sq;
  reduce_rows<1>(rows, c, sum, [&](int64_t r, double* acc) {
    const float* xr = x + r * c;
    for (int ch = 0; ch < c; ++ch) acc[ch] += xr[ch];
  });
  std::vector<double> mean(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch) mean[size_t(ch)] = sum[size_t(ch)] / double(rows);
  reduce_rows<1>(rows, c, sq, [&](int64_t r, double* acc) {
    const float* xr = x + r * c;
    for (int ch = 0; ch < c; ++ch) {
      const double d = xr[ch] - mean[size_t(ch)];
      acc[ch] += d * d;
    }
  });
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch) {
    const double var = sq[size_t(ch)] / double(rows);  // biased, as Keras normalises with
    const double invstd = 1.0 / std::sqrt(var + double(epsilon));
    saved_mean[ch] = float(mean[size_t(ch)]);
    saved_invstd[ch] = float(invstd);
    scale[size_t(ch)] = float(double(gamma[ch]) * invstd);
    shift[size_t(ch)] = float(double(beta[ch]) - mean[size_t(ch)] * double(gamma[ch]) * invstd);
    moving_mean[ch] = momentum * moving_mean[ch] + (1.0f - momentum) * float(mean[size_t(ch)]);
    moving_var[ch] = momentum * moving_var[ch] + (1.0f - momentum) * float(var);
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int ch = 0; ch < c; ++ch) y[r * c + ch] = x[r * c + ch] * scale[size_t(ch)] + shift[size_t(ch)];
}

void batchnorm_forward_inference(const float* x, int64_t rows, int c, const float* gamma, const float* beta,
                                 const float* moving_mean, const float* moving_var, float epsilon, float* y) {
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch) {
    const double invstd = 1.0 / std::sqrt(double(moving_var[ch]) + double(epsilon));
    scale[size_t(ch)] = float(double(gamma[ch]) * invstd);
    shift[size_t(ch)] = float(double(beta[ch]) - double(moving_mean[ch]) * double(gamma[ch]) * invstd);
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int ch = 0; ch < c; ++ch) y[r * c + ch] = x[r * c + ch] * scale[size_t(ch)] + shift[size_t(ch)];
}

void batchnorm_backward(const float* x, const float* dy, int64_t rows, int c, const float* gamma,
                        const float* saved_mean, const float* saved_invstd, float* dx, float* dgamma, float* dbeta) {
  // dbeta = sum dy, dgamma = sum dy*xhat,
  // dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
  std::vector<double> sums;
  reduce_rows<2>(rows, c, sums, [&](int64_t r, double* acc) {
    const float* xr = x + r * c;
    const float* dyr = dy + r * c;
    for (int ch = 0; ch < c; ++ch) {
      const float xhat = (xr[ch] - saved_mean[ch]) * saved_invstd[ch];
      acc[ch] += dyr[ch];
      acc[c + ch] += double(dyr[ch]) * xhat;
    }
  });
  std::vector<float> sum_dy(static_cast<size_t>(c)), sum_dy_xhat(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch) {
    dbeta[ch] = float(sums[size_t(ch)]);
    dgamma[ch] = float(sums[size_t(c + ch)]);
    sum_dy[size_t(ch)] = float(sums[size_t(ch)] / double(rows));
    sum_dy_xhat[size_t(ch)] = float(sums[size_t(c + ch)] / double(rows));
  }
  if (!dx) return;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int ch = 0; ch < c; ++ch) {
      const float xhat = (x[r * c + ch] - saved_mean[ch]) * saved_invstd[ch];
      dx[r * c + ch] = gamma[ch] * saved_invstd[ch] *
                       (dy[r * c + ch] - sum_dy[size_t(ch)] - xhat * sum_dy_xhat[size_t(ch)]);
    }
}

}  // namespace sweep::cpu_kernels
