// The network's first convolution fused with its activation and the max pool
// that follows (see cpu_kernels.h for when the backend uses it).
//
// Why: on MNIST-sized inputs this layer has one input channel, so it does
// almost no arithmetic (9 multiply-adds per output), and its cost is memory:
// oneDNN writes a 32-channel 28x28 map per image, our pool reads it back, and
// training then writes and reads its full-size gradient twice more. Fused, the
// full-size map never leaves the registers: the forward writes only the pooled
// map and the argmax, and the backward computes the kernel gradient straight
// from the pooled gradient (the unused input gradient is never formed).
//
// Filters are processed 16 at a time as one vector (a zmm register with
// AVX-512); the compiler lowers the vector type to narrower registers on
// other CPUs.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include <omp.h>

#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu_kernels {
namespace {

constexpr int kLanes = 16;
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));
typedef int vi __attribute__((vector_size(kLanes * sizeof(int))));
typedef uint8_t vb __attribute__((vector_size(kLanes)));

vf splat(float v) { return vf{} + v; }

vf load_lanes(const float* p, int n) {
  vf v{};
  if (n == kLanes)
    std::memcpy(&v, p, sizeof v);
  else
    for (int l = 0; l < n; ++l) v[l] = p[l];
  return v;
}

void store_lanes(float* p, vf v, int n) {
  if (n == kLanes)
    std::memcpy(p, &v, sizeof v);
  else
    for (int l = 0; l < n; ++l) p[l] = v[l];
}

// What both passes share: the kernel regrouped as [tap][filter block] vectors
// (tap = (ky*kw + kx)*ic + ci, filters past `filters` zero), where each tap
// reads in a zero-padded image, and where each pool window position's
// convolution output starts.
struct Layout {
  int blocks = 0, taps = 0;
  int padded_h = 0, padded_w = 0;     // the zero-padded input image
  std::vector<int> tap_offset;        // per tap, into the padded image
  std::vector<int> window_offset;     // per window position (ky*pw + kx), relative to the window's first output

  explicit Layout(const ConvPoolGeom& g) {
    blocks = (g.filters + kLanes - 1) / kLanes;
    taps = g.kh * g.kw * g.ic;
    padded_h = (g.ch - 1) * g.sh + g.kh;
    padded_w = (g.cw - 1) * g.sw + g.kw;
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx)
        for (int ci = 0; ci < g.ic; ++ci) tap_offset.push_back((ky * padded_w + kx) * g.ic + ci);
    for (int wy = 0; wy < g.pool.ph; ++wy)
      for (int wx = 0; wx < g.pool.pw; ++wx) window_offset.push_back((wy * g.sh * padded_w + wx * g.sw) * g.ic);
  }
  // Where the convolution output at the top-left of pool window (oy, ox) reads.
  int window_base(const ConvPoolGeom& g, int oy, int ox) const {
    return (oy * g.pool.sh * g.sh * padded_w + ox * g.pool.sw * g.sw) * g.ic;
  }
  int filters_in(const ConvPoolGeom& g, int block) const { return std::min(kLanes, g.filters - block * kLanes); }

  // Image i of x (NHWC) into `out`, with the convolution's zero padding.
  void pad_image(const ConvPoolGeom& g, const float* x, int64_t i, std::vector<float>& out) const {
    out.assign(size_t(padded_h) * padded_w * g.ic, 0.0f);
    const float* src = x + i * g.ih * g.iw * g.ic;
    for (int y = 0; y < g.ih; ++y) {
      const int py = y + g.pad_top;
      if (py >= padded_h) break;
      const int cols = std::min(g.iw, padded_w - g.pad_left);
      std::memcpy(&out[(size_t(py) * padded_w + g.pad_left) * g.ic], src + int64_t(y) * g.iw * g.ic,
                  size_t(cols) * g.ic * sizeof(float));
    }
  }
};

}  // namespace

void conv_maxpool_forward(const ConvPoolGeom& g, const float* x, const float* kernel, const float* bias,
                          Activation f, float alpha, float* y, uint8_t* argmax) {
  const Layout lay(g);
  const PoolGeom& p = g.pool;
  const int window = p.ph * p.pw;
  std::vector<vf> w(size_t(lay.taps) * lay.blocks, vf{});
  std::vector<vf> b(size_t(lay.blocks), vf{});
  for (int o = 0; o < g.filters; ++o) {
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx)
        for (int ci = 0; ci < g.ic; ++ci)
          w[size_t((ky * g.kw + kx) * g.ic + ci) * lay.blocks + o / kLanes][o % kLanes] =
              kernel[((int64_t(o) * g.ic + ci) * g.kh + ky) * g.kw + kx];
    if (bias) b[size_t(o / kLanes)][o % kLanes] = bias[o];
  }
#pragma omp parallel
  {
    std::vector<float> image;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < g.n; ++i) {
      lay.pad_image(g, x, i, image);
      const float* img = image.data();
      for (int oy = 0; oy < p.oh; ++oy)
        for (int ox = 0; ox < p.ow; ++ox) {
          const int base = lay.window_base(g, oy, ox);
          const int64_t out = ((i * p.oh + oy) * p.ow + ox) * g.filters;
          for (int blk = 0; blk < lay.blocks; ++blk) {
            vf best{}, where{};
            // Four window positions at a time: four independent chains of
            // multiply-adds keep the FMA units busy. Positions past the
            // window repeat its last one and are ignored.
            for (int w0 = 0; w0 < window; w0 += 4) {
              int at[4];
              for (int q = 0; q < 4; ++q) at[q] = base + lay.window_offset[size_t(std::min(w0 + q, window - 1))];
              vf acc[4] = {b[size_t(blk)], b[size_t(blk)], b[size_t(blk)], b[size_t(blk)]};
              for (int t = 0; t < lay.taps; ++t) {
                const vf wt = w[size_t(t) * lay.blocks + blk];
                const int off = lay.tap_offset[size_t(t)];
                for (int q = 0; q < 4; ++q) acc[q] += img[at[q] + off] * wt;
              }
              for (int q = 0; q < 4 && w0 + q < window; ++q) {
                if (w0 + q == 0) {
                  best = acc[0];
                  continue;
                }
                const vi more = acc[q] > best;  // strict: the first maximum wins, as maxpool_forward
                best = more ? acc[q] : best;
                where = more ? splat(float(w0 + q)) : where;
              }
            }
            // Every supported activation is non-decreasing, so the maximum
            // of the activated outputs is the activation of the maximum:
            // ReLU here, the others in one pass over the pooled map below.
            const int nf = lay.filters_in(g, blk);
            float* dst = y + out + blk * kLanes;
            if (f == Activation::relu) best = best > vf{} ? best : vf{};
            store_lanes(dst, best, nf);
            if (argmax && nf == kLanes) {
              const vb bytes = __builtin_convertvector(__builtin_convertvector(where, vi), vb);
              std::memcpy(argmax + out + blk * kLanes, &bytes, sizeof bytes);
            } else if (argmax) {
              for (int l = 0; l < nf; ++l) argmax[out + blk * kLanes + l] = uint8_t(where[l]);
            }
          }
        }
    }
  }
  // Outside the parallel region: activation_forward opens its own (called
  // per window inside one, its team start-up cost made sigmoid nets 3x slower).
  if (f != Activation::relu && f != Activation::linear)
    activation_forward(f, alpha, y, y, g.n * p.oh * p.ow * g.filters);
}

namespace {

// One group of G taps of the kernel gradient over one image and one filter
// block: dK[tap] += x[position + tap] * dZ[position], where dZ is the pooled
// gradient at each window's winner and zero elsewhere. G is a compile-time
// constant so the G sums stay in registers as G independent chains.
template <int G>
void kernel_grad_group(const Layout& lay, int window, int pooled, const int* bases, const float* img,
                       const int* tap_offset, const vf* grad, const vf* winner, int blk, vf* acc) {
  vf a[G] = {};
  for (int q = 0; q < pooled; ++q) {
    const vf gv = grad[size_t(q) * lay.blocks + blk];
    const vf wv = winner[size_t(q) * lay.blocks + blk];
    for (int pos = 0; pos < window; ++pos) {
      const vf gp = wv == splat(float(pos)) ? gv : vf{};
      const float* at = img + bases[q] + lay.window_offset[size_t(pos)];
      for (int k = 0; k < G; ++k) a[k] += at[tap_offset[k]] * gp;
    }
  }
  for (int k = 0; k < G; ++k) acc[size_t(k) * lay.blocks + blk] += a[k];
}

using GroupFn = void (*)(const Layout&, int, int, const int*, const float*, const int*, const vf*, const vf*, int,
                         vf*);
template <int... G>
constexpr GroupFn group_fn(int size, std::integer_sequence<int, G...>) {
  GroupFn fn = nullptr;
  ((fn = size == G + 1 ? &kernel_grad_group<G + 1> : fn), ...);
  return fn;
}

}  // namespace

void conv_maxpool_backward(const ConvPoolGeom& g, const float* x, const float* dy, const float* y,
                           const uint8_t* argmax, Activation f, float alpha, float* dkernel, float* dbias) {
  const Layout lay(g);
  const PoolGeom& p = g.pool;
  const int window = p.ph * p.pw;
  const int pooled = p.oh * p.ow;
  // Taps in groups of at most kMaxGroup (all at once for a 3x3 kernel on one
  // channel); the last group repeats its last tap, whose extra sums are
  // dropped.
  constexpr int kMaxGroup = 12;
  const int tap_groups = (lay.taps + kMaxGroup - 1) / kMaxGroup;
  const int group = (lay.taps + tap_groups - 1) / tap_groups;
  const GroupFn run_group = group_fn(group, std::make_integer_sequence<int, kMaxGroup>{});
  std::vector<int> offsets(size_t(tap_groups * group));
  for (size_t t = 0; t < offsets.size(); ++t) offsets[t] = lay.tap_offset[std::min(t, size_t(lay.taps - 1))];
  std::vector<int> bases(static_cast<size_t>(pooled));
  for (int q = 0; q < pooled; ++q) bases[size_t(q)] = lay.window_base(g, q / p.ow, q % p.ow);
  // One partial sum per thread over a fixed share of the images, added in
  // thread order afterwards: bit-identical results for a thread count.
  const size_t bias_at = size_t(tap_groups * group) * lay.blocks;
  const size_t partial_size = bias_at + lay.blocks;
  std::vector<std::vector<vf>> partial;
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), me = omp_get_thread_num();
#pragma omp single
    partial.assign(size_t(threads), std::vector<vf>(partial_size, vf{}));
    std::vector<vf>& acc = partial[size_t(me)];  // [tap][block], then [bias][block]
    std::vector<float> image;
    std::vector<vf> grad(size_t(pooled) * lay.blocks), winner(grad.size());
    const int64_t first = g.n * me / threads, last = g.n * (me + 1) / threads;
    for (int64_t i = first; i < last; ++i) {
      lay.pad_image(g, x, i, image);
      // The pooled gradient through the activation (f' from the pooled
      // output, the winner's activated value), and the winners' positions.
      for (int q = 0; q < pooled; ++q)
        for (int blk = 0; blk < lay.blocks; ++blk) {
          const int nf = lay.filters_in(g, blk);
          const int64_t at = (i * pooled + q) * g.filters + blk * kLanes;
          vf gv = load_lanes(dy + at, nf), wv{};
          if (f == Activation::relu) {
            gv = load_lanes(y + at, nf) > vf{} ? gv : vf{};
          } else if (f != Activation::linear) {
            for (int l = 0; l < nf; ++l) gv[l] *= activation_derivative(f, alpha, y[at + l]);
          }
          if (nf == kLanes) {
            vb bytes;
            std::memcpy(&bytes, argmax + at, sizeof bytes);
            wv = __builtin_convertvector(__builtin_convertvector(bytes, vi), vf);
          } else {
            for (int l = 0; l < nf; ++l) wv[l] = float(argmax[at + l]);
          }
          grad[size_t(q) * lay.blocks + blk] = gv;
          winner[size_t(q) * lay.blocks + blk] = wv;
          acc[bias_at + blk] += gv;
        }
      for (int tg = 0; tg < tap_groups; ++tg)
        for (int blk = 0; blk < lay.blocks; ++blk)
          run_group(lay, window, pooled, bases.data(), image.data(), &offsets[size_t(tg * group)], grad.data(),
                    winner.data(), blk, &acc[size_t(tg * group) * lay.blocks]);
    }
  }
  std::vector<vf> total(partial_size, vf{});
  for (const auto& part : partial)
    for (size_t k = 0; k < partial_size; ++k) total[k] += part[k];
  for (int o = 0; o < g.filters; ++o) {
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx)
        for (int ci = 0; ci < g.ic; ++ci)
          dkernel[((int64_t(o) * g.ic + ci) * g.kh + ky) * g.kw + kx] =
              total[size_t((ky * g.kw + kx) * g.ic + ci) * lay.blocks + o / kLanes][o % kLanes];
    if (dbias) dbias[o] = total[bias_at + o / kLanes][o % kLanes];
  }
}

}  // namespace sweep::cpu_kernels
