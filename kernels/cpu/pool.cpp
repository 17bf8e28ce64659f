// Max and average pooling in NHWC with 'valid' windows. Max pooling records
// the window position of the first maximum so the backward pass is a scatter
// (oneDNN 2.6's pooling training path costs a fifth of a step here).
#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {

void maxpool_forward(const PoolGeom& g, const float* x, float* y, uint8_t* argmax) {
  const int64_t rows = g.n * g.oh;
  constexpr int kChunk = 64;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / g.oh;
    const int oy = int(r % g.oh);
    // Running maxima over a chunk of one output pixel's channels, in
    // register-sized arrays so the channel loops vectorise; the position is
    // kept as float (exact up to 256) to stay in the same vector width.
    alignas(64) float best[kChunk];
    alignas(64) float where[kChunk];
    for (int ox = 0; ox < g.ow; ++ox) {
      const int64_t out = ((i * g.oh + oy) * g.ow + ox) * g.c;
      for (int c0 = 0; c0 < g.c; c0 += kChunk) {
        const int cn = std::min(kChunk, g.c - c0);
        const float* first = x + ((i * g.ih + oy * g.sh) * g.iw + ox * g.sw) * g.c + c0;
        for (int ch = 0; ch < cn; ++ch) best[ch] = first[ch], where[ch] = 0.0f;
        for (int ky = 0; ky < g.ph; ++ky)
          for (int kx = ky == 0 ? 1 : 0; kx < g.pw; ++kx) {
            const float* src = first + (int64_t(ky) * g.iw + kx) * g.c;
            const float pos = float(ky * g.pw + kx);
            for (int ch = 0; ch < cn; ++ch) {
              const bool more = src[ch] > best[ch];  // strict: the first maximum wins
              best[ch] = more ? src[ch] : best[ch];
              where[ch] = more ? pos : where[ch];
            }
          }
        float* dst = y + out + c0;
        for (int ch = 0; ch < cn; ++ch) dst[ch] = best[ch];
        if (argmax)
          for (int ch = 0; ch < cn; ++ch) argmax[out + c0 + ch] = uint8_t(where[ch]);
      }
    }
  }
}

void maxpool_backward(const PoolGeom& g, const float* dy, const uint8_t* argmax, float* dx, Activation f,
                      float alpha, const float* x, const float* y) {
  const int64_t sample_in = int64_t(g.ih) * g.iw * g.c;
  const bool disjoint = g.sh >= g.ph && g.sw >= g.pw;
  if (!disjoint) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < g.n; ++i) {
      float* dxi = dx + i * sample_in;
      std::memset(dxi, 0, size_t(sample_in) * sizeof(float));
      for (int oy = 0; oy < g.oh; ++oy)
        for (int ox = 0; ox < g.ow; ++ox) {
          const int64_t out = ((i * g.oh + oy) * g.ow + ox) * g.c;
          for (int ch = 0; ch < g.c; ++ch) {
            const int pos = argmax[out + ch];
            const int64_t at = (int64_t(oy * g.sh + pos / g.pw) * g.iw + ox * g.sw + pos % g.pw) * g.c + ch;
            dxi[at] += dy[out + ch];
          }
        }
      if (f != Activation::linear) {
        const float* xi = x + i * sample_in;
        for (int64_t k = 0; k < sample_in; ++k) dxi[k] *= activation_derivative(f, alpha, xi[k]);
      }
    }
    return;
  }
  // Disjoint windows: each window's gradient (times f'(x) of the winner when
  // the producer's activation is folded in; the winner's x IS the pooled
  // output y, so the big input need not be read) is computed once per output
  // and written to every window position: the winner gets it, the rest zero.
  // Positions outside every window (stride > window, or a cropped border)
  // are zeroed up front.
  const bool gaps = g.sh != g.ph || g.sw != g.pw || g.oh * g.sh != g.ih || g.ow * g.sw != g.iw;
  constexpr int kChunk = 64;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.n; ++i) {
    float* dxi = dx + i * sample_in;
    if (gaps) std::memset(dxi, 0, size_t(sample_in) * sizeof(float));
    alignas(64) float grad[kChunk];
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        const int64_t out = ((i * g.oh + oy) * g.ow + ox) * g.c;
        for (int c0 = 0; c0 < g.c; c0 += kChunk) {
          const int cn = std::min(kChunk, g.c - c0);
          const float* dyc = dy + out + c0;
          const uint8_t* am = argmax + out + c0;
          switch (f) {
            case Activation::linear:
              for (int ch = 0; ch < cn; ++ch) grad[ch] = dyc[ch];
              break;
            case Activation::relu:
              for (int ch = 0; ch < cn; ++ch) grad[ch] = y[out + c0 + ch] > 0.0f ? dyc[ch] : 0.0f;
              break;
            default:
              for (int ch = 0; ch < cn; ++ch) grad[ch] = dyc[ch] * activation_derivative(f, alpha, y[out + c0 + ch]);
              break;
          }
          for (int ky = 0; ky < g.ph; ++ky)
            for (int kx = 0; kx < g.pw; ++kx) {
              float* d = dxi + (int64_t(oy * g.sh + ky) * g.iw + ox * g.sw + kx) * g.c + c0;
              const uint8_t pos = uint8_t(ky * g.pw + kx);
              for (int ch = 0; ch < cn; ++ch) d[ch] = am[ch] == pos ? grad[ch] : 0.0f;
            }
        }
      }
  }
}

void avgpool_forward(const PoolGeom& g, const float* x, float* y) {
  const float inv = 1.0f / float(g.ph * g.pw);
  const int64_t rows = g.n * g.oh;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / g.oh;
    const int oy = int(r % g.oh);
    for (int ox = 0; ox < g.ow; ++ox) {
      float* dst = y + ((i * g.oh + oy) * g.ow + ox) * g.c;
      for (int ch = 0; ch < g.c; ++ch) dst[ch] = 0.0f;
      for (int ky = 0; ky < g.ph; ++ky)
        for (int kx = 0; kx < g.pw; ++kx) {
          const float* src = x + ((i * g.ih + oy * g.sh + ky) * g.iw + ox * g.sw + kx) * g.c;
          for (int ch = 0; ch < g.c; ++ch) dst[ch] += src[ch];
        }
      for (int ch = 0; ch < g.c; ++ch) dst[ch] *= inv;
    }
  }
}

void avgpool_backward(const PoolGeom& g, const float* dy, float* dx) {
  const float inv = 1.0f / float(g.ph * g.pw);
  const int64_t sample_in = int64_t(g.ih) * g.iw * g.c;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.n; ++i) {
    float* dxi = dx + i * sample_in;
    std::memset(dxi, 0, size_t(sample_in) * sizeof(float));
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        const float* src = dy + ((i * g.oh + oy) * g.ow + ox) * g.c;
        for (int ky = 0; ky < g.ph; ++ky)
          for (int kx = 0; kx < g.pw; ++kx) {
            float* dst = dxi + (int64_t(oy * g.sh + ky) * g.iw + ox * g.sw + kx) * g.c;
            for (int ch = 0; ch < g.c; ++ch) dst[ch] += src[ch] * inv;
          }
      }
  }
}

}  // namespace sweep::cpu_kernels
