// Reference Conv2D and pooling: direct loops over the index formulas.
// Loop order keeps the innermost loop on contiguous output columns; clarity
// wins over speed everywhere else.
#include <algorithm>
#include <limits>

#include "backends/ref/layers.h"

namespace sweep::ref {
namespace {

// Output columns ox whose input column ox*stride - pad + k lies inside [0, in).
struct ValidRange {
  int begin, end;
};
ValidRange valid_outputs(int out, int in, int stride, int pad, int k) {
  int begin = 0;
  while (begin < out && begin * stride - pad + k < 0) ++begin;
  int end = out;
  while (end > begin && (end - 1) * stride - pad + k >= in) --end;
  return {begin, end};
}

}  // namespace

template <typename T>
void conv2d_forward(const LayerSpec& spec, const Tensor<T>& x, const T* kernel, const T* bias, Tensor<T>& y) {
  const int kh = spec.kernel_h, kw = spec.kernel_w, sh = spec.stride_h, sw = spec.stride_w;
  const int oh = conv_output_size(x.h, kh, sh, spec.padding), ow = conv_output_size(x.w, kw, sw, spec.padding);
  const int pt = conv_pad_before(x.h, kh, sh, spec.padding), pl = conv_pad_before(x.w, kw, sw, spec.padding);
  y.resize(x.n, spec.filters, oh, ow);
  for (int n = 0; n < x.n; ++n)
    for (int f = 0; f < spec.filters; ++f) {
      T* out = &y.at(n, f, 0, 0);
      std::fill(out, out + oh * ow, bias ? bias[f] : T(0));
      for (int c = 0; c < x.c; ++c)
        for (int ky = 0; ky < kh; ++ky) {
          const ValidRange rows = valid_outputs(oh, x.h, sh, pt, ky);
          for (int kx = 0; kx < kw; ++kx) {
            const T k = kernel[((size_t(f) * x.c + c) * kh + ky) * kw + kx];
            const ValidRange cols = valid_outputs(ow, x.w, sw, pl, kx);
            for (int oy = rows.begin; oy < rows.end; ++oy) {
              const T* in_row = &x.at(n, c, oy * sh - pt + ky, 0);
              T* out_row = out + size_t(oy) * ow;
              for (int ox = cols.begin; ox < cols.end; ++ox) out_row[ox] += k * in_row[ox * sw - pl + kx];
            }
          }
        }
    }
}

template <typename T>
void conv2d_backward(const LayerSpec& spec, const Tensor<T>& x, const T* kernel, const Tensor<T>& dy, Tensor<T>* dx,
                     T* dkernel, T* dbias) {
  const int kh = spec.kernel_h, kw = spec.kernel_w, sh = spec.stride_h, sw = spec.stride_w;
  const int oh = dy.h, ow = dy.w;
  const int pt = conv_pad_before(x.h, kh, sh, spec.padding), pl = conv_pad_before(x.w, kw, sw, spec.padding);
  if (dx) dx->resize(x.n, x.c, x.h, x.w);
  for (int n = 0; n < x.n; ++n)
    for (int f = 0; f < spec.filters; ++f) {
      const T* grad = &dy.at(n, f, 0, 0);
      if (dbias)
        for (int i = 0; i < oh * ow; ++i) dbias[f] += grad[i];
      for (int c = 0; c < x.c; ++c)
        for (int ky = 0; ky < kh; ++ky) {
          const ValidRange rows = valid_outputs(oh, x.h, sh, pt, ky);
          for (int kx = 0; kx < kw; ++kx) {
            const size_t k_index = ((size_t(f) * x.c + c) * kh + ky) * kw + kx;
            const T k = kernel[k_index];
            const ValidRange cols = valid_outputs(ow, x.w, sw, pl, kx);
            T dk = 0;
            for (int oy = rows.begin; oy < rows.end; ++oy) {
              const size_t in_offset = x.index(n, c, oy * sh - pt + ky, 0);
              const T* in_row = &x.data[in_offset];
              const T* grad_row = grad + size_t(oy) * ow;
              T* dx_row = dx ? &dx->data[in_offset] : nullptr;
              for (int ox = cols.begin; ox < cols.end; ++ox) {
                dk += grad_row[ox] * in_row[ox * sw - pl + kx];
                if (dx_row) dx_row[ox * sw - pl + kx] += k * grad_row[ox];
              }
            }
            dkernel[k_index] += dk;
          }
        }
    }
}

template <typename T>
void pool_forward(const LayerSpec& spec, const Tensor<T>& x, Tensor<T>& y) {
  const bool is_max = spec.kind == LayerKind::maxpool2d;
  const int ph = spec.pool_h, pw = spec.pool_w;
  const int sh = pool_stride(ph, spec.pool_stride_h), sw = pool_stride(pw, spec.pool_stride_w);
  const int oh = pool_output_size(x.h, ph, spec.pool_stride_h), ow = pool_output_size(x.w, pw, spec.pool_stride_w);
  y.resize(x.n, x.c, oh, ow);
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          T acc = is_max ? -std::numeric_limits<T>::infinity() : T(0);
          for (int i = 0; i < ph; ++i)
            for (int j = 0; j < pw; ++j) {
              const T v = x.at(n, c, oy * sh + i, ox * sw + j);
              acc = is_max ? std::max(acc, v) : acc + v;
            }
          y.at(n, c, oy, ox) = is_max ? acc : acc / T(ph * pw);
        }
}

template <typename T>
void pool_backward(const LayerSpec& spec, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dx) {
  const bool is_max = spec.kind == LayerKind::maxpool2d;
  const int ph = spec.pool_h, pw = spec.pool_w;
  const int sh = pool_stride(ph, spec.pool_stride_h), sw = pool_stride(pw, spec.pool_stride_w);
  dx.resize(x.n, x.c, x.h, x.w);
  for (int n = 0; n < x.n; ++n)
    for (int c = 0; c < x.c; ++c)
      for (int oy = 0; oy < dy.h; ++oy)
        for (int ox = 0; ox < dy.w; ++ox) {
          const T g = dy.at(n, c, oy, ox);
          if (!is_max) {
            for (int i = 0; i < ph; ++i)
              for (int j = 0; j < pw; ++j) dx.at(n, c, oy * sh + i, ox * sw + j) += g / T(ph * pw);
            continue;
          }
          // The first maximum in row-major window order takes the whole gradient.
          int best_i = 0, best_j = 0;
          T best = x.at(n, c, oy * sh, ox * sw);
          for (int i = 0; i < ph; ++i)
            for (int j = 0; j < pw; ++j) {
              const T v = x.at(n, c, oy * sh + i, ox * sw + j);
              if (v > best) best = v, best_i = i, best_j = j;
            }
          dx.at(n, c, oy * sh + best_i, ox * sw + best_j) += g;
        }
}

#define SWEEP_REF_INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(const LayerSpec&, const Tensor<T>&, const T*, const T*, Tensor<T>&);             \
  template void conv2d_backward<T>(const LayerSpec&, const Tensor<T>&, const T*, const Tensor<T>&, Tensor<T>*, T*, \
                                   T*);                                                                            \
  template void pool_forward<T>(const LayerSpec&, const Tensor<T>&, Tensor<T>&);                                   \
  template void pool_backward<T>(const LayerSpec&, const Tensor<T>&, const Tensor<T>&, Tensor<T>&);
SWEEP_REF_INSTANTIATE(float)
SWEEP_REF_INSTANTIATE(double)
#undef SWEEP_REF_INSTANTIATE

}  // namespace sweep::ref
