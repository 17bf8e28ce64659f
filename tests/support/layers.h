// Building LayerSpecs and ModelSpecs in tests and benchmarks: one builder per
// layer kind, each setting only the fields it names and leaving every other
// field at its LayerSpec default (kernel 3x3, stride 1, 'valid' padding,
// 2x2 pools, alpha 0.3, use_bias true). Builders never call infer(): layer
// names stay empty until infer() or a backend's session fills them in.
#pragma once
#include <utility>
#include <vector>

#include "model/model.h"

namespace sweep::test {

// A layer of `kind` with every field at its default.
inline LayerSpec layer(LayerKind kind) {
  LayerSpec l;
  l.kind = kind;
  return l;
}

// A convolution kernel of h x w; conv(filters, {3, 2}, ...) for a non-square one.
struct Kernel {
  int h = 3, w = 3;
};

// Conv2D of `filters` with a fused activation (alpha: leaky_relu slope / elu alpha).
inline LayerSpec conv(int filters, Kernel kernel, Activation a, Padding padding = Padding::valid, int stride = 1,
                      double alpha = 0.3) {
  LayerSpec l = layer(LayerKind::conv2d);
  l.filters = filters;
  l.kernel_h = kernel.h, l.kernel_w = kernel.w;
  l.stride_h = l.stride_w = stride;
  l.padding = padding;
  l.activation = a;
  l.alpha = alpha;
  return l;
}
// Conv2D with a square k x k kernel.
inline LayerSpec conv(int filters, int k, Activation a, Padding padding = Padding::valid, int stride = 1,
                      double alpha = 0.3) {
  return conv(filters, Kernel{k, k}, a, padding, stride, alpha);
}

// MaxPooling2D or AveragePooling2D (`kind`) of size x size; stride 0 = the pool size.
inline LayerSpec pool(LayerKind kind, int size, int stride = 0) {
  LayerSpec l = layer(kind);
  l.pool_h = l.pool_w = size;
  l.pool_stride_h = l.pool_stride_w = stride;
  return l;
}
// MaxPooling2D of size x size, stride the pool size.
inline LayerSpec maxpool(int size = 2) { return pool(LayerKind::maxpool2d, size); }

// Dense of `units` with a fused activation (alpha: leaky_relu slope / elu alpha).
inline LayerSpec dense(int units, Activation a, double alpha = 0.3) {
  LayerSpec l = layer(LayerKind::dense);
  l.units = units;
  l.activation = a;
  l.alpha = alpha;
  return l;
}

// An Activation layer applying `a`.
inline LayerSpec activation(Activation a, double alpha = 0.3) {
  LayerSpec l = layer(LayerKind::activation);
  l.activation = a;
  l.alpha = alpha;
  return l;
}

// Dropout of `rate`.
inline LayerSpec dropout(double rate) {
  LayerSpec l = layer(LayerKind::dropout);
  l.rate = rate;
  return l;
}

// BatchNormalization with the Keras defaults (momentum 0.99, epsilon 1e-3).
inline LayerSpec batchnorm() { return layer(LayerKind::batchnorm); }

// Flatten.
inline LayerSpec flatten() { return layer(LayerKind::flatten); }

// A model of `layers` on `input` with `classes` outputs (Glorot uniform init).
inline ModelSpec model_of(Shape input, int classes, std::vector<LayerSpec> layers) {
  ModelSpec m;
  m.input = input;
  m.classes = classes;
  m.layers = std::move(layers);
  return m;
}

// A model of `layers` on MNIST: 1x28x28 images, 10 classes.
inline ModelSpec mnist_model(std::vector<LayerSpec> layers) {
  return model_of(Shape{1, 28, 28, false}, 10, std::move(layers));
}

// Write-up 000's network: Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10,
// 3x3 kernels, relu, softmax output. 257,162 parameters with 'same' padding,
// 93,322 with 'valid'.
inline ModelSpec writeup000(Padding padding = Padding::same) {
  return mnist_model({conv(32, 3, Activation::relu, padding), maxpool(), conv(64, 3, Activation::relu, padding),
                      maxpool(), conv(64, 3, Activation::relu, padding), flatten(), dense(64, Activation::relu),
                      dense(10, Activation::softmax)});
}

}  // namespace sweep::test
