// Backward of a convolution on many channels followed by a max pool, from
// the pooled gradient and the pool's argmax (see cpu_kernels.h).
//
// Why: max pooling's backward gives a gradient to one position per window
// and filter, its winner, so at least 3/4 of the convolution's output
// gradient is zero under a 2x2 pool (more after a ReLU). oneDNN's backward
// kernels are dense and spend those 3/4 of their multiply-adds on zeros.
// Here each (pooled position, filter) whose gradient is not zero contributes
// once: to the kernel gradient, its gradient times the input patch under its
// winner; to the input gradient, its gradient times the filter, added onto
// that patch. Vectorised over input channels, 16 to a vector.
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

vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// A nonzero gradient at a winner: the pooled gradient through the
// activation, and where the winner's input patch starts in the padded image.
struct Entry {
  float grad;
  int at;
};
// The same for the input gradient, kept per conv output.
struct Winner {
  float grad;
  int filter;
};

// Padded images hold every input channel rounded up to whole vectors
// (`stride` floats per pixel, the rest zero), with the convolution's padding.
struct Geometry {
  int blocks, stride, taps, padded_h, padded_w;
  std::vector<int> tap_offset;  // (ky*kw + kx), into a padded image
  explicit Geometry(const ConvPoolGeom& g)
      : blocks((g.ic + kLanes - 1) / kLanes),
        stride(blocks * kLanes),
        taps(g.kh * g.kw),
        padded_h((g.ch - 1) * g.sh + g.kh),
        padded_w((g.cw - 1) * g.sw + g.kw) {
    for (int ky = 0; ky < g.kh; ++ky)
      for (int kx = 0; kx < g.kw; ++kx) tap_offset.push_back((ky * padded_w + kx) * stride);
  }
  size_t image_floats() const { return size_t(padded_h) * padded_w * stride; }
};

// G taps of one filter's kernel gradient over its winners, for one channel
// vector: G sums in registers, G independent chains of multiply-adds.
template <int G>
void weight_taps_of(const float* img, const int* tap_offset, const Entry* e, int count, vf* acc, int acc_stride) {
  vf a[G];
  for (int k = 0; k < G; ++k) a[k] = acc[k * acc_stride];
  for (int j = 0; j < count; ++j) {
    const float gv = e[j].grad;
    const float* base = img + e[j].at;
    for (int k = 0; k < G; ++k) a[k] += gv * load(base + tap_offset[k]);
  }
  for (int k = 0; k < G; ++k) acc[k * acc_stride] = a[k];
}

// G taps of one conv output's input gradient, for one channel vector: the
// winning filters' weights times their gradients, summed in registers, then
// added onto the patch (dst) once.
template <int G>
void input_taps_of(const vf* wt, int filter_stride, int tap_stride, const Winner* e, int count, float* dst,
                   const int* tap_offset) {
  vf a[G] = {};
  for (int j = 0; j < count; ++j) {
    const float gv = e[j].grad;
    const vf* w = wt + size_t(e[j].filter) * filter_stride;
    for (int k = 0; k < G; ++k) a[k] += gv * w[k * tap_stride];
  }
  for (int k = 0; k < G; ++k) {
    float* d = dst + tap_offset[k];
    store(d, load(d) + a[k]);
  }
}

using WeightTapsFn = void (*)(const float*, const int*, const Entry*, int, vf*, int);
using InputTapsFn = void (*)(const vf*, int, int, const Winner*, int, float*, const int*);
template <int G>
void select(int size, WeightTapsFn& fn) {
  if (size == G) fn = &weight_taps_of<G>;
}
template <int G>
void select(int size, InputTapsFn& fn) {
  if (size == G) fn = &input_taps_of<G>;
}
// The instance for `size` taps (1..sizeof...(G)).
template <class Fn, int... G>
Fn pick(int size, std::integer_sequence<int, G...>) {
  Fn fn = nullptr;
  (select<G + 1>(size, fn), ...);
  return fn;
}

}  // namespace

void conv_maxpool_backward_sparse(const ConvPoolGeom& g, const float* x, const float* kernel, const float* dy,
                                  const float* y, const uint8_t* argmax, Activation f, float alpha, float* dkernel,
                                  float* dbias, float* dx) {
  const Geometry geo(g);
  const PoolGeom& p = g.pool;
  const int pooled = p.oh * p.ow;
  // Taps in groups of at most 12 sums (all nine of a 3x3 kernel at once);
  // the last group repeats its last tap, whose extra sums are dropped.
  constexpr int kMaxGroup = 12;
  const int groups = (geo.taps + kMaxGroup - 1) / kMaxGroup;
  const int group = (geo.taps + groups - 1) / groups;
  const WeightTapsFn weight_taps = pick<WeightTapsFn>(group, std::make_integer_sequence<int, kMaxGroup>{});
  const InputTapsFn input_taps = pick<InputTapsFn>(group, std::make_integer_sequence<int, kMaxGroup>{});
  const int padded_taps = groups * group;
  std::vector<int> offsets(static_cast<size_t>(padded_taps));
  for (int t = 0; t < padded_taps; ++t) offsets[size_t(t)] = geo.tap_offset[size_t(std::min(t, geo.taps - 1))];
  // Where each (pooled position, window position)'s input patch starts.
  std::vector<int> patch(size_t(pooled) * p.ph * p.pw);
  for (int q = 0; q < pooled; ++q)
    for (int w = 0; w < p.ph * p.pw; ++w) {
      const int cy = (q / p.ow) * p.sh + w / p.pw, cx = (q % p.ow) * p.sw + w % p.pw;
      patch[size_t(q * p.ph * p.pw + w)] = (cy * g.sh * geo.padded_w + cx * g.sw) * geo.stride;
    }
  // The kernel as [channel vector][filter][tap], for the input gradient: one
  // channel vector's slice (36 KB for 64 filters of 3x3) stays in L1 while
  // an image's conv outputs are visited.
  // Taps past the last (filling the last group) have zero weights.
  std::vector<vf> wt;
  if (dx) {
    wt.assign(size_t(g.filters) * padded_taps * geo.blocks, vf{});
    for (int o = 0; o < g.filters; ++o)
      for (int ci = 0; ci < g.ic; ++ci)
        for (int t = 0; t < geo.taps; ++t)
          wt[(size_t(ci / kLanes) * g.filters + o) * padded_taps + t][ci % kLanes] =
              kernel[(int64_t(o) * g.ic + ci) * geo.taps + t];
  }
  // One partial kernel gradient ([filter][tap][channel vector]) and bias
  // gradient per thread over a fixed share of the images, added in thread
  // order afterwards: bit-identical results for a thread count.
  const size_t acc_size = size_t(g.filters) * padded_taps * geo.blocks;
  std::vector<std::vector<vf>> partial;
  std::vector<std::vector<float>> partial_bias;
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), me = omp_get_thread_num();
#pragma omp single
    {
      partial.assign(size_t(threads), std::vector<vf>(acc_size, vf{}));
      partial_bias.assign(size_t(threads), std::vector<float>(size_t(g.filters), 0.0f));
    }
    std::vector<vf>& acc = partial[size_t(me)];
    std::vector<float>& bias_acc = partial_bias[size_t(me)];
    // Whole vectors, so every pixel's channels start on a cache line (a
    // vector load or store across two lines is slow).
    std::vector<vf> img_storage(geo.image_floats() / kLanes), dimg_storage(dx ? img_storage.size() : 0);
    float* img = reinterpret_cast<float*>(img_storage.data());
    float* dimg = reinterpret_cast<float*>(dimg_storage.data());
    // This image's nonzero winners: per filter in pooled-position order (for
    // the kernel gradient), and per cell, one (pooled position, window
    // position) pair, i.e. one conv output (for the input gradient).
    const int cells = pooled * p.ph * p.pw;
    std::vector<Entry> by_filter(size_t(g.filters) * pooled);
    std::vector<int> filter_count(size_t(g.filters));
    std::vector<Winner> by_cell(dx ? by_filter.size() : 0);
    std::vector<int> cell_start(size_t(cells) + 1), cell_fill(cell_start.size() - 1);
    std::vector<Winner> in_order;  // the winners in pooled-position order, and their cells,
    std::vector<int> cell_of;      // before they are grouped by cell
    in_order.reserve(by_cell.size());
    cell_of.reserve(by_cell.size());
    const int64_t first = g.n * me / threads, last = g.n * (me + 1) / threads;
    for (int64_t i = first; i < last; ++i) {
      std::fill(img_storage.begin(), img_storage.end(), vf{});
      const float* xi = x + i * g.ih * g.iw * g.ic;
      for (int iy = 0; iy < g.ih && iy + g.pad_top < geo.padded_h; ++iy)
        for (int ix = 0; ix < g.iw && ix + g.pad_left < geo.padded_w; ++ix)
          std::memcpy(img + (size_t(iy + g.pad_top) * geo.padded_w + ix + g.pad_left) * geo.stride,
                      xi + (int64_t(iy) * g.iw + ix) * g.ic, size_t(g.ic) * sizeof(float));

      std::fill(filter_count.begin(), filter_count.end(), 0);
      std::fill(cell_start.begin(), cell_start.end(), 0);
      cell_of.clear();
      in_order.clear();
      for (int q = 0; q < pooled; ++q) {
        const int64_t at = (i * pooled + q) * g.filters;
        for (int o = 0; o < g.filters; ++o) {
          float gv = dy[at + o];
          if (f != Activation::linear) gv *= activation_derivative(f, alpha, y[at + o]);
          if (gv == 0.0f) continue;
          bias_acc[size_t(o)] += gv;
          const int cell = q * p.ph * p.pw + argmax[at + o];
          by_filter[size_t(o) * pooled + filter_count[size_t(o)]++] = {gv, patch[size_t(cell)]};
          if (dx) {
            ++cell_start[size_t(cell) + 1];
            cell_of.push_back(cell);
            in_order.push_back({gv, o});
          }
        }
      }
      // The kernel gradient: per filter, its winners' input patches.
      for (int o = 0; o < g.filters; ++o) {
        const Entry* e = &by_filter[size_t(o) * pooled];
        const int count = filter_count[size_t(o)];
        for (int b = 0; b < geo.blocks; ++b)
          for (int t0 = 0; t0 < padded_taps; t0 += group)
            weight_taps(img + b * kLanes, &offsets[size_t(t0)], e, count,
                        &acc[(size_t(o) * padded_taps + t0) * geo.blocks + b], geo.blocks);
      }
      if (!dx) continue;

      // The input gradient: per conv output, the sum of its winning
      // filters (scaled) in registers, then added onto its input patch.
      for (int c = 0; c < cells; ++c) cell_start[size_t(c) + 1] += cell_start[size_t(c)];
      std::copy(cell_start.begin(), cell_start.end() - 1, cell_fill.begin());
      for (size_t j = 0; j < in_order.size(); ++j) by_cell[size_t(cell_fill[size_t(cell_of[j])]++)] = in_order[j];
      std::fill(dimg_storage.begin(), dimg_storage.end(), vf{});
      for (int b = 0; b < geo.blocks; ++b)
        for (int c = 0; c < cells; ++c) {
          const int begin = cell_start[size_t(c)], count = cell_start[size_t(c) + 1] - begin;
          if (count == 0) continue;
          for (int t0 = 0; t0 < padded_taps; t0 += group)
            input_taps(wt.data() + size_t(b) * g.filters * padded_taps + t0, padded_taps, 1, &by_cell[size_t(begin)],
                       count, dimg + patch[size_t(c)] + b * kLanes, &offsets[size_t(t0)]);
        }
      float* dxi = dx + i * g.ih * g.iw * g.ic;
      for (int iy = 0; iy < g.ih; ++iy)
        for (int ix = 0; ix < g.iw; ++ix) {
          const int py = iy + g.pad_top, px = ix + g.pad_left;
          float* d = dxi + (int64_t(iy) * g.iw + ix) * g.ic;
          if (py < geo.padded_h && px < geo.padded_w)
            std::memcpy(d, dimg + (size_t(py) * geo.padded_w + px) * geo.stride, size_t(g.ic) * sizeof(float));
          else
            std::memset(d, 0, size_t(g.ic) * sizeof(float));  // under no window: no gradient
        }
    }
  }
  std::vector<vf> total(acc_size, vf{});
  std::vector<float> bias_total(size_t(g.filters), 0.0f);
  for (size_t t = 0; t < partial.size(); ++t) {
    for (size_t k = 0; k < acc_size; ++k) total[k] += partial[t][k];
    for (int o = 0; o < g.filters; ++o) bias_total[size_t(o)] += partial_bias[t][size_t(o)];
  }
  for (int o = 0; o < g.filters; ++o) {
    for (int ci = 0; ci < g.ic; ++ci)
      for (int t = 0; t < geo.taps; ++t)
        dkernel[(int64_t(o) * g.ic + ci) * geo.taps + t] =
            total[(size_t(o) * padded_taps + t) * geo.blocks + ci / kLanes][ci % kLanes];
    if (dbias) dbias[o] = bias_total[size_t(o)];
  }
}

}  // namespace sweep::cpu_kernels
