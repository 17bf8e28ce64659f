// The CPU max-pool kernels against a direct transcription of the definition:
// forward keeps the first maximum of each window, backward sends each
// window's gradient (times the folded activation's derivative at the winner)
// to that position and zero elsewhere. Exact equality: both sides do the same
// fp32 operations (up to FMA contraction for tanh). Geometries cover disjoint windows, cropped borders,
// strides larger than the window (uncovered gaps), overlapping windows, and a
// channel count that is not a multiple of the kernels' channel chunk.
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

int64_t at(const k::PoolGeom& g, int64_t i, int y, int x, int ch, int h, int w) {
  return ((i * h + y) * w + x) * g.c + ch;
}

void check_geometry(const k::PoolGeom& g, Activation f, float alpha) {
  INFO("input ", g.ih, "x", g.iw, "x", g.c, " window ", g.ph, "x", g.pw, " stride ", g.sh, "x", g.sw,
       " activation ", std::string(to_string(f)));
  const size_t in = size_t(g.n * g.ih * g.iw * g.c), out = size_t(g.n * g.oh * g.ow * g.c);
  // Activations as the producing layer would emit them; quantised so windows
  // contain ties (the first maximum must win) and exact zeros.
  std::vector<float> x(in), dy(out);
  for (size_t j = 0; j < in; ++j) {
    const float u = float(std::floor(rng::uniform01(7, j) * 8.0) - 3.0);
    x[j] = f == Activation::relu ? std::max(u, 0.0f) : f == Activation::tanh ? std::tanh(u / 4) : u;
  }
  for (size_t j = 0; j < out; ++j) dy[j] = float(rng::uniform01(8, j) - 0.5);

  std::vector<float> want_y(out), want_dx(in, 0.0f);
  std::vector<int> want_pos(out);
  for (int64_t i = 0; i < g.n; ++i)
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox)
        for (int ch = 0; ch < g.c; ++ch) {
          int best = -1;
          float v = 0;
          for (int ky = 0; ky < g.ph; ++ky)
            for (int kx = 0; kx < g.pw; ++kx) {
              const float xv = x[size_t(at(g, i, oy * g.sh + ky, ox * g.sw + kx, ch, g.ih, g.iw))];
              if (best < 0 || xv > v) best = ky * g.pw + kx, v = xv;
            }
          const size_t o = size_t(at(g, i, oy, ox, ch, g.oh, g.ow));
          want_y[o] = v;
          want_pos[o] = best;
          const size_t w = size_t(at(g, i, oy * g.sh + best / g.pw, ox * g.sw + best % g.pw, ch, g.ih, g.iw));
          want_dx[w] += dy[o];
        }
  if (f != Activation::linear)
    for (size_t j = 0; j < in; ++j) want_dx[j] *= k::activation_derivative(f, alpha, x[j]);

  std::vector<float> y(out, -99.0f), dx(in, -99.0f);
  std::vector<uint8_t> pos(out, 255);
  k::maxpool_forward(g, x.data(), y.data(), pos.data());
  k::maxpool_backward(g, dy.data(), pos.data(), dx.data(), f, alpha, x.data(), y.data());
  for (size_t o = 0; o < out; ++o) {
    REQUIRE(y[o] == want_y[o]);
    REQUIRE(int(pos[o]) == want_pos[o]);
  }
  // 0/1/alpha derivatives are exact; tanh's 1 - y*y may be contracted into
  // an FMA in one build context and not the other.
  const bool exact = f != Activation::tanh;
  for (size_t j = 0; j < in; ++j) {
    if (exact)
      REQUIRE(dx[j] == want_dx[j]);
    else
      REQUIRE(dx[j] == doctest::Approx(want_dx[j]).epsilon(1e-6));
  }

  // Inference: no argmax wanted, same outputs.
  std::vector<float> y_eval(out, -99.0f);
  k::maxpool_forward(g, x.data(), y_eval.data(), nullptr);
  CHECK(y_eval == want_y);
}

}  // namespace

TEST_CASE("max pooling forward/backward match the definition, activation folded or not") {
  const Activation folds[] = {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::tanh};
  // n, ih, iw, c, oh, ow, ph, pw, sh, sw
  const k::PoolGeom geometries[] = {
      {3, 8, 8, 5, 4, 4, 2, 2, 2, 2},     // disjoint, exact cover
      {2, 7, 9, 70, 3, 4, 2, 2, 2, 2},    // cropped border, channels past one chunk
      {2, 9, 10, 3, 3, 3, 2, 3, 3, 3},    // stride beyond the window: gaps
      {2, 7, 7, 4, 3, 3, 3, 3, 2, 2},     // overlapping windows
  };
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const k::PoolGeom& g : geometries)
      for (Activation f : folds) check_geometry(g, f, f == Activation::leaky_relu ? 0.2f : 0.0f);
  }
}
