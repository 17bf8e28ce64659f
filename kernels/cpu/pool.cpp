// Max and average pooling in NHWC with 'valid' windows. Max pooling records
// the window position of the first maximum so the backward pass is a scatter
// (oneDNN 2.6's pooling training path costs a fifth of a step here).
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {

void maxpool_forward(const PoolGeom& g, const float* x, float* y, uint8_t* argmax) {
  const int64_t rows = g.n * g.oh;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / g.oh;
    const int oy = int(r % g.oh);
    std::vector<float> best(static_cast<size_t>(g.c));
    std::vector<uint8_t> where(static_cast<size_t>(g.c));
    for (int ox = 0; ox < g.ow; ++ox) {
      for (int ky = 0; ky < g.ph; ++ky) {
        for (int kx = 0; kx < g.pw; ++kx) {
          const float* src = x + ((i * g.ih + oy * g.sh + ky) * g.iw + ox * g.sw + kx) * g.c;
          const uint8_t pos = uint8_t(ky * g.pw + kx);
          if (ky == 0 && kx == 0) {
            for (int ch = 0; ch < g.c; ++ch) best[size_t(ch)] = src[ch], where[size_t(ch)] = 0;
          } else {
            for (int ch = 0; ch < g.c; ++ch) {
              const bool more = src[ch] > best[size_t(ch)];  // strict: the first maximum wins
              best[size_t(ch)] = more ? src[ch] : best[size_t(ch)];
              where[size_t(ch)] = more ? pos : where[size_t(ch)];
            }
          }
        }
      }
      const int64_t out = ((i * g.oh + oy) * g.ow + ox) * g.c;
      std::memcpy(y + out, best.data(), size_t(g.c) * sizeof(float));
      if (argmax) std::memcpy(argmax + out, where.data(), size_t(g.c));
    }
  }
}

void maxpool_backward(const PoolGeom& g, const float* dy, const uint8_t* argmax, float* dx) {
  const int64_t sample_in = int64_t(g.ih) * g.iw * g.c;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.n; ++i) {
    float* dxi = dx + i * sample_in;
    std::memset(dxi, 0, size_t(sample_in) * sizeof(float));
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        const int64_t out = ((i * g.oh + oy) * g.ow + ox) * g.c;
        for (int ch = 0; ch < g.c; ++ch) {
          const int pos = argmax[out + ch];
          const int iy = oy * g.sh + pos / g.pw, ix = ox * g.sw + pos % g.pw;
          dxi[(int64_t(iy) * g.iw + ix) * g.c + ch] += dy[out + ch];
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
