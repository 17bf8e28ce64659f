// The fused first convolution + activation + max pool kernel against a direct
// transcription of the three layers: convolve (zero padding, bias, then the
// taps in (ky, kx, ci) order with fused multiply-adds, as the kernel sums),
// activate, keep the first maximum of each window; backward, send each
// window's gradient times f' to its winner and correlate that full-size
// gradient with the input. Geometries cover MNIST's first layer, a filter
// count that is not a multiple of the kernel's 16-filter vectors, several
// input channels, strides, valid padding, gaps between windows, overlapping
// windows, kernels with more taps than one register group, and no bias.
#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/common/rng.h"
#include "kernels/cpu/cpu_kernels.h"

using namespace sweep;
namespace k = sweep::cpu_kernels;

namespace {

struct Case {
  std::string name;
  k::ConvPoolGeom g;
  bool bias = true;
};

// n, input h w c, kernel h w, stride h w, padding (same or valid), filters,
// pool window and stride; output sizes follow.
Case make(std::string name, int64_t n, int ih, int iw, int ic, int kh, int kw, int s, bool same, int filters,
          int pool, int pool_stride, bool bias = true) {
  k::ConvPoolGeom g;
  g.n = n, g.ih = ih, g.iw = iw, g.ic = ic, g.kh = kh, g.kw = kw, g.sh = g.sw = s, g.filters = filters;
  if (same) {
    g.ch = (ih + s - 1) / s, g.cw = (iw + s - 1) / s;
    g.pad_top = std::max((g.ch - 1) * s + kh - ih, 0) / 2;
    g.pad_left = std::max((g.cw - 1) * s + kw - iw, 0) / 2;
  } else {
    g.ch = (ih - kh) / s + 1, g.cw = (iw - kw) / s + 1;
  }
  g.pool = {n, g.ch, g.cw, filters, (g.ch - pool) / pool_stride + 1, (g.cw - pool) / pool_stride + 1,
            pool, pool, pool_stride, pool_stride};
  return {std::move(name), g, bias};
}

void check(const Case& c, Activation f, float alpha) {
  const k::ConvPoolGeom& g = c.g;
  const k::PoolGeom& p = g.pool;
  INFO(c.name, " activation ", std::string(to_string(f)), " threads ", omp_get_max_threads());
  const size_t in = size_t(g.n * g.ih * g.iw * g.ic);
  const size_t conv_out = size_t(g.n * g.ch * g.cw * g.filters);
  const size_t out = size_t(g.n * p.oh * p.ow * g.filters);
  std::vector<float> x(in), kernel(size_t(g.filters * g.ic * g.kh * g.kw)), bias(size_t(g.filters)), dy(out);
  for (size_t j = 0; j < in; ++j) x[j] = rng::uniform01(1, j);
  for (size_t j = 0; j < kernel.size(); ++j) kernel[j] = rng::uniform01(2, j) - 0.5f;
  for (size_t j = 0; j < bias.size(); ++j) bias[j] = c.bias ? rng::uniform01(3, j) - 0.5f : 0.0f;
  for (size_t j = 0; j < out; ++j) dy[j] = rng::uniform01(4, j) - 0.5f;

  // The convolution's pre-activation output, NHWC.
  std::vector<float> z(conv_out);
  // The size of each output's terms, sum |x k| + |b|: the fp32 rounding of a
  // sum is relative to it, not to the (possibly cancelling) result, and the
  // kernel adds in its own order (which differs between -O1 and -O3 builds).
  std::vector<double> z_terms(conv_out);
  for (int64_t i = 0; i < g.n; ++i)
    for (int cy = 0; cy < g.ch; ++cy)
      for (int cx = 0; cx < g.cw; ++cx)
        for (int o = 0; o < g.filters; ++o) {
          float acc = bias[size_t(o)];
          double terms = std::abs(double(bias[size_t(o)]));
          for (int ky = 0; ky < g.kh; ++ky)
            for (int kx = 0; kx < g.kw; ++kx)
              for (int ci = 0; ci < g.ic; ++ci) {
                const int y = cy * g.sh - g.pad_top + ky, xx = cx * g.sw - g.pad_left + kx;
                const bool inside = y >= 0 && y < g.ih && xx >= 0 && xx < g.iw;
                const float xv = inside ? x[size_t(((i * g.ih + y) * g.iw + xx) * g.ic + ci)] : 0.0f;
                acc = std::fma(xv, kernel[size_t(((o * g.ic + ci) * g.kh + ky) * g.kw + kx)], acc);
                terms += std::abs(double(xv) * kernel[size_t(((o * g.ic + ci) * g.kh + ky) * g.kw + kx)]);
              }
          z[size_t(((i * g.ch + cy) * g.cw + cx) * g.filters + o)] = acc;
          z_terms[size_t(((i * g.ch + cy) * g.cw + cx) * g.filters + o)] = terms;
        }
  // Pool (first maximum), activate; backward to the full-size gradient.
  std::vector<float> want_y(out);
  std::vector<int> want_pos(out);
  std::vector<double> want_terms(out);  // z_terms of each pooled winner
  std::vector<double> dz(conv_out, 0.0);
  for (int64_t i = 0; i < g.n; ++i)
    for (int oy = 0; oy < p.oh; ++oy)
      for (int ox = 0; ox < p.ow; ++ox)
        for (int o = 0; o < g.filters; ++o) {
          int best = -1;
          float v = 0;
          size_t winner = 0;
          for (int wy = 0; wy < p.ph; ++wy)
            for (int wx = 0; wx < p.pw; ++wx) {
              const size_t at = size_t(((i * g.ch + oy * p.sh + wy) * g.cw + ox * p.sw + wx) * g.filters + o);
              if (best < 0 || z[at] > v) best = wy * p.pw + wx, v = z[at], winner = at;
            }
          const size_t q = size_t(((i * p.oh + oy) * p.ow + ox) * g.filters + o);
          float activated = v;
          k::activation_forward(f, alpha, &v, &activated, 1);
          want_y[q] = activated;
          want_pos[q] = best;
          want_terms[q] = z_terms[winner];
          dz[winner] += double(dy[q]) * k::activation_derivative(f, alpha, activated);
        }
  std::vector<double> want_dk(kernel.size(), 0.0), want_db(bias.size(), 0.0);
  for (int64_t i = 0; i < g.n; ++i)
    for (int cy = 0; cy < g.ch; ++cy)
      for (int cx = 0; cx < g.cw; ++cx)
        for (int o = 0; o < g.filters; ++o) {
          const double d = dz[size_t(((i * g.ch + cy) * g.cw + cx) * g.filters + o)];
          want_db[size_t(o)] += d;
          for (int ky = 0; ky < g.kh; ++ky)
            for (int kx = 0; kx < g.kw; ++kx)
              for (int ci = 0; ci < g.ic; ++ci) {
                const int y = cy * g.sh - g.pad_top + ky, xx = cx * g.sw - g.pad_left + kx;
                if (y < 0 || y >= g.ih || xx < 0 || xx >= g.iw) continue;
                want_dk[size_t(((o * g.ic + ci) * g.kh + ky) * g.kw + kx)] +=
                    d * x[size_t(((i * g.ih + y) * g.iw + xx) * g.ic + ci)];
              }
        }

  std::vector<double> want_dx(in, 0.0);
  for (int64_t i = 0; i < g.n; ++i)
    for (int cy = 0; cy < g.ch; ++cy)
      for (int cx = 0; cx < g.cw; ++cx)
        for (int o = 0; o < g.filters; ++o) {
          const double d = dz[size_t(((i * g.ch + cy) * g.cw + cx) * g.filters + o)];
          for (int ky = 0; ky < g.kh; ++ky)
            for (int kx = 0; kx < g.kw; ++kx)
              for (int ci = 0; ci < g.ic; ++ci) {
                const int yy = cy * g.sh - g.pad_top + ky, xx = cx * g.sw - g.pad_left + kx;
                if (yy < 0 || yy >= g.ih || xx < 0 || xx >= g.iw) continue;
                want_dx[size_t(((i * g.ih + yy) * g.iw + xx) * g.ic + ci)] +=
                    d * kernel[size_t(((o * g.ic + ci) * g.kh + ky) * g.kw + kx)];
              }
        }

  std::vector<float> y(out, -99.0f), dk(kernel.size(), -99.0f), db(bias.size(), -99.0f);
  std::vector<uint8_t> pos(out, 255);
  k::conv_maxpool_forward(g, x.data(), kernel.data(), c.bias ? bias.data() : nullptr, f, alpha, y.data(), pos.data());
  for (size_t q = 0; q < out; ++q) {
    REQUIRE(int(pos[q]) == want_pos[q]);
    // Every activation here has a slope of at most 1, so the output's error
    // is at most the sum's.
    REQUIRE(y[q] == doctest::Approx(want_y[q]).epsilon(1e-6).scale(want_terms[q]));
  }
  std::vector<float> y_eval(out, -99.0f);  // inference: no argmax, same values
  k::conv_maxpool_forward(g, x.data(), kernel.data(), c.bias ? bias.data() : nullptr, f, alpha, y_eval.data(),
                          nullptr);
  CHECK(y_eval == y);

  double scale = 0, dx_scale = 0;
  for (double v : want_dk) scale = std::max(scale, std::abs(v));
  for (double v : want_dx) dx_scale = std::max(dx_scale, std::abs(v));
  REQUIRE(scale > 0);
  REQUIRE(dx_scale > 0);
  auto check_weights = [&] {
    for (size_t j = 0; j < dk.size(); ++j) REQUIRE(std::abs(dk[j] - want_dk[j]) <= 1e-5 * scale + 1e-6);
    if (c.bias)
      for (size_t j = 0; j < db.size(); ++j) REQUIRE(std::abs(db[j] - want_db[j]) <= 1e-5 * scale + 1e-6);
    else
      CHECK(db[0] == -99.0f);  // untouched
  };
  SUBCASE("few-channel kernel (vectorised over filters)") {
    k::conv_maxpool_backward(g, x.data(), dy.data(), y.data(), pos.data(), f, alpha, dk.data(),
                             c.bias ? db.data() : nullptr);
    check_weights();
  }
  SUBCASE("many-channel kernel (winners only, vectorised over input channels), with the input gradient") {
    std::vector<float> dx(in, -99.0f);
    k::conv_maxpool_backward_sparse(g, x.data(), kernel.data(), dy.data(), y.data(), pos.data(), f, alpha, dk.data(),
                                    c.bias ? db.data() : nullptr, dx.data());
    check_weights();
    for (size_t j = 0; j < in; ++j) REQUIRE(std::abs(dx[j] - want_dx[j]) <= 1e-5 * dx_scale + 1e-6);
  }
}

}  // namespace

TEST_CASE("fused conv + max pool matches convolution, activation and pooling done one after another") {
  const Case cases[] = {
      make("MNIST first layer: 1 channel, 3x3 same, 32 filters, pool 2", 3, 28, 28, 1, 3, 3, 1, true, 32, 2, 2),
      make("20 filters (a partial vector), 3 channels, valid, stride 2", 2, 13, 11, 3, 3, 3, 2, false, 20, 2, 2),
      make("5x5 kernel on 2 channels (50 taps, several groups), pool stride 3", 2, 12, 12, 2, 5, 5, 1, true, 16, 2,
           3),
      make("overlapping pool 3 stride 2, 7 filters, no bias", 2, 9, 9, 1, 3, 3, 1, true, 7, 3, 2, false),
      make("asymmetric crop: pool 2 on an odd map, 4 channels 2x2 kernel", 2, 9, 7, 4, 2, 2, 1, false, 33, 2, 2),
      make("write-up 000's second conv: 32 channels, 3x3 same, 64 filters", 2, 14, 14, 32, 3, 3, 1, true, 64, 2, 2),
      make("40 channels (a partial vector), stride 2, valid, pool 3 stride 2", 2, 13, 13, 40, 3, 3, 2, false, 24, 3, 2),
      make("5x5 on 17 channels (25 taps), cropped pool", 2, 11, 11, 17, 5, 5, 1, true, 16, 2, 2),
  };
  const Activation fs[] = {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
                           Activation::tanh, Activation::elu};
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases)
      for (Activation f : fs) check(c, f, f == Activation::leaky_relu ? 0.2f : f == Activation::elu ? 1.0f : 0.0f);
  }
}

TEST_CASE("fused conv + max pool gives bit-identical gradients for a thread count") {
  const Case c = make("MNIST", 7, 28, 28, 1, 3, 3, 1, true, 32, 2, 2);
  const k::ConvPoolGeom& g = c.g;
  std::vector<float> x(size_t(g.n * 784)), kernel(288), bias(32), y(size_t(g.n * 196 * 32)), dy(y.size());
  std::vector<uint8_t> pos(y.size());
  for (size_t j = 0; j < x.size(); ++j) x[j] = rng::uniform01(5, j);
  for (size_t j = 0; j < kernel.size(); ++j) kernel[j] = rng::uniform01(6, j) - 0.5f;
  for (size_t j = 0; j < dy.size(); ++j) dy[j] = rng::uniform01(7, j) - 0.5f;
  omp_set_num_threads(2);
  k::conv_maxpool_forward(g, x.data(), kernel.data(), bias.data(), Activation::relu, 0, y.data(), pos.data());
  std::vector<float> first(288), again(288), db(32);
  k::conv_maxpool_backward(g, x.data(), dy.data(), y.data(), pos.data(), Activation::relu, 0, first.data(), db.data());
  for (int run = 0; run < 3; ++run) {
    k::conv_maxpool_backward(g, x.data(), dy.data(), y.data(), pos.data(), Activation::relu, 0, again.data(),
                             db.data());
    CHECK(again == first);
  }
}
