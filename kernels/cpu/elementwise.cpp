// Input gathering, layout changes, bf16 conversion, activations and dropout.
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/common/rng.h"
#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {

void gather_u8(const uint8_t* data, const int32_t* rows, int64_t n, int c, int hw, float* out) {
  const int64_t sample = int64_t(c) * hw;
  const float scale = 1.0f / 255.0f;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = data + int64_t(rows[i]) * sample;
    float* dst = out + i * sample;
    if (c == 1 || hw == 1) {
      for (int64_t k = 0; k < sample; ++k) dst[k] = float(src[k]) * scale;
    } else {
      for (int p = 0; p < hw; ++p)
        for (int ch = 0; ch < c; ++ch) dst[int64_t(p) * c + ch] = float(src[int64_t(ch) * hw + p]) * scale;
    }
  }
}

void gather_f32(const float* data, const int32_t* rows, int64_t n, int c, int hw, float* out) {
  const int64_t sample = int64_t(c) * hw;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* src = data + int64_t(rows[i]) * sample;
    float* dst = out + i * sample;
    if (c == 1 || hw == 1) {
      std::memcpy(dst, src, size_t(sample) * sizeof(float));
    } else {
      for (int p = 0; p < hw; ++p)
        for (int ch = 0; ch < c; ++ch) dst[int64_t(p) * c + ch] = src[int64_t(ch) * hw + p];
    }
  }
}

void nhwc_to_nchw(const float* x, int64_t n, int hw, int c, float* y) {
  const int64_t sample = int64_t(c) * hw;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0; p < hw; ++p)
      for (int ch = 0; ch < c; ++ch) y[i * sample + int64_t(ch) * hw + p] = x[i * sample + int64_t(p) * c + ch];
}

void nchw_to_nhwc(const float* x, int64_t n, int hw, int c, float* y) {
  const int64_t sample = int64_t(c) * hw;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0; p < hw; ++p)
      for (int ch = 0; ch < c; ++ch) y[i * sample + int64_t(p) * c + ch] = x[i * sample + int64_t(ch) * hw + p];
}

void f32_to_bf16(const float* x, uint16_t* y, int64_t count) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    // Round to nearest even (inputs are finite activations and gradients).
    bits += 0x7fffu + ((bits >> 16) & 1u);
    y[i] = uint16_t(bits >> 16);
  }
}

void activation_forward(Activation f, float alpha, const float* x, float* y, int64_t count) {
  switch (f) {
    case Activation::linear:
      if (x != y) std::memcpy(y, x, size_t(count) * sizeof(float));
      return;
    case Activation::relu:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::leaky_relu:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
      return;
    case Activation::sigmoid:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < count; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::tanh:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < count; ++i) y[i] = std::tanh(x[i]);
      return;
    case Activation::elu:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * std::expm1(x[i]);
      return;
    case Activation::softmax:
      break;
  }
  throw std::logic_error("activation_forward: softmax is only supported as the output activation");
}

void activation_backward(Activation f, float alpha, const float* y, const float* dy, float* dx, int64_t count) {
  switch (f) {
    case Activation::linear:
      if (dx != dy) std::memcpy(dx, dy, size_t(count) * sizeof(float));
      return;
    case Activation::relu:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::leaky_relu:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) dx[i] = y[i] > 0.0f ? dy[i] : alpha * dy[i];
      return;
    case Activation::sigmoid:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::tanh:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::elu:
      // For x <= 0, y = alpha*(e^x - 1) so dy/dx = alpha*e^x = y + alpha.
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < count; ++i) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha);
      return;
    case Activation::softmax:
      break;
  }
  throw std::logic_error("activation_backward: softmax is only supported as the output activation");
}

void dropout_forward(const float* x, int64_t n, int h, int w, int c, float rate, uint64_t key,
                     uint64_t counter_base, float* y, uint8_t* mask) {
  const float scale = 1.0f / (1.0f - rate);
  const int64_t hw = int64_t(h) * w;
  const int64_t sample = hw * c;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t at = i * sample + p * c;
      for (int ch = 0; ch < c; ++ch) {
        const uint64_t j = uint64_t(i * sample + int64_t(ch) * hw + p);  // NCHW flat index
        const bool keep = rng::uniform01(key, counter_base + j) >= rate;
        mask[at + ch] = keep ? 1 : 0;
        y[at + ch] = keep ? x[at + ch] * scale : 0.0f;
      }
    }
  }
}

void dropout_backward(const float* dy, const uint8_t* mask, float scale, float* dx, int64_t count) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

}  // namespace sweep::cpu_kernels
