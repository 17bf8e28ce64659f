// A dense NCHW tensor for the reference backend: plain storage, no views, no
// strides, so every loop that touches it can be read off the index formula.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sweep::ref {

template <typename T>
struct Tensor {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<T> data;

  Tensor() = default;
  Tensor(int n_, int c_, int h_, int w_) { resize(n_, c_, h_, w_); }
  void resize(int n_, int c_, int h_, int w_) {
    n = n_, c = c_, h = h_, w = w_;
    data.assign(size_t(size()), T(0));
  }
  int64_t size() const { return int64_t(n) * c * h * w; }
  int64_t sample_size() const { return int64_t(c) * h * w; }
  size_t index(int in, int ic, int ih, int iw) const { return ((size_t(in) * c + ic) * h + ih) * w + iw; }
  T& at(int in, int ic, int ih, int iw) { return data[index(in, ic, ih, iw)]; }
  const T& at(int in, int ic, int ih, int iw) const { return data[index(in, ic, ih, iw)]; }
};

}  // namespace sweep::ref
