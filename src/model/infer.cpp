// Shape inference, validation, Keras-exact parameter counts and FLOPs.
//
// FLOPs per sample, forward (what `models.flops_per_image` stores):
//   conv2d / dense: 2 per multiply-add, +1 per output element for the bias,
//                   +1 per output element for a fused non-linear activation;
//   activation layer: 1 per element (softmax too: it is one pass per element);
//   max/avg pooling: 1 per input element of each window (compare or add);
//   batchnorm: 2 per element (inference folds it into one scale and one shift);
//   dropout, flatten: 0 (identity at inference).
// Training is counted as forward + backward = 3x forward: the backward pass of
// a conv/dense layer does two products of the forward's size (gradient w.r.t.
// the input and w.r.t. the weights), and element-wise layers are cheap enough
// that the same factor keeps the estimate simple without changing rankings.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "common/error.h"
#include "model/model.h"

namespace sweep {

int conv_output_size(int in, int kernel, int stride, Padding padding) {
  if (padding == Padding::same) return (in + stride - 1) / stride;
  if (in < kernel) return 0;
  return (in - kernel) / stride + 1;
}

int conv_pad_before(int in, int kernel, int stride, Padding padding) {
  if (padding == Padding::valid) return 0;
  const int out = conv_output_size(in, kernel, stride, padding);
  const int total = std::max((out - 1) * stride + kernel - in, 0);
  return total / 2;
}

int pool_stride(int pool, int stride) { return stride > 0 ? stride : pool; }

int pool_output_size(int in, int pool, int stride) {
  if (in < pool) return 0;
  return (in - pool) / pool_stride(pool, stride) + 1;
}

std::string Shape::keras() const {
  if (flat) return "(None, " + std::to_string(size()) + ")";
  return "(None, " + std::to_string(h) + ", " + std::to_string(w) + ", " + std::to_string(c) + ")";
}

namespace {

const char* keras_base_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::maxpool2d: return "max_pooling2d";
    case LayerKind::avgpool2d: return "average_pooling2d";
    case LayerKind::batchnorm: return "batch_normalization";
    case LayerKind::dropout: return "dropout";
    case LayerKind::flatten: return "flatten";
    case LayerKind::dense: return "dense";
    case LayerKind::activation: return "activation";
  }
  return "layer";
}

const char* keras_class_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "Conv2D";
    case LayerKind::maxpool2d: return "MaxPooling2D";
    case LayerKind::avgpool2d: return "AveragePooling2D";
    case LayerKind::batchnorm: return "BatchNormalization";
    case LayerKind::dropout: return "Dropout";
    case LayerKind::flatten: return "Flatten";
    case LayerKind::dense: return "Dense";
    case LayerKind::activation: return "Activation";
  }
  return "Layer";
}

// Keras numbers each layer class separately: conv2d, conv2d_1, conv2d_2, ...
// Names a user gave are kept; generated names skip over them.
void fill_names(std::vector<LayerSpec>& layers) {
  std::set<std::string> taken;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name.empty()) continue;
    if (!taken.insert(layers[i].name).second)
      throw InputError("duplicate layer name '" + layers[i].name + "'", {}, "model.layers." + std::to_string(i));
  }
  std::map<std::string, int> next_index;
  for (auto& layer : layers) {
    if (!layer.name.empty()) continue;
    const std::string base = keras_base_name(layer.kind);
    int& n = next_index[base];
    std::string candidate;
    do {
      candidate = n == 0 ? base : base + "_" + std::to_string(n);
      ++n;
    } while (taken.count(candidate));
    taken.insert(candidate);
    layer.name = candidate;
  }
}

int64_t activation_flops(Activation a, int64_t elements) { return a == Activation::linear ? 0 : elements; }

struct LayerChecker {
  size_t index;
  std::string field() const { return "model.layers." + std::to_string(index); }
  [[noreturn]] void fail(const std::string& message) const { throw InputError(message, {}, field()); }
  void require(bool ok, const std::string& message) const {
    if (!ok) fail(message);
  }
};

// The output shape, parameter counts and FLOPs of one layer on `in`.
LayerInfo infer_layer(const LayerSpec& layer, const Shape& in, const LayerChecker& check, bool is_last) {
  LayerInfo info;
  info.name = layer.name;
  info.type = keras_class_name(layer.kind);
  info.input = in;
  const std::string kind = to_string(layer.kind);
  if (layer.activation == Activation::softmax && !is_last)
    check.fail("softmax is only supported as the activation of the output Dense layer");
  switch (layer.kind) {
    case LayerKind::conv2d: {
      check.require(!in.flat, "conv2d needs an image input (C, H, W), but its input is flat " + in.keras());
      check.require(layer.filters >= 1, "conv2d needs filters >= 1 (got " + std::to_string(layer.filters) + ")");
      check.require(layer.kernel_h >= 1 && layer.kernel_w >= 1, "conv2d kernel size must be >= 1");
      check.require(layer.stride_h >= 1 && layer.stride_w >= 1, "conv2d strides must be >= 1");
      if (layer.padding == Padding::valid)
        check.require(layer.kernel_h <= in.h && layer.kernel_w <= in.w,
                      "conv2d kernel " + std::to_string(layer.kernel_h) + "x" + std::to_string(layer.kernel_w) +
                          " is larger than its input " + std::to_string(in.h) + "x" + std::to_string(in.w) +
                          " (padding valid)");
      Shape out;
      out.c = layer.filters;
      out.h = conv_output_size(in.h, layer.kernel_h, layer.stride_h, layer.padding);
      out.w = conv_output_size(in.w, layer.kernel_w, layer.stride_w, layer.padding);
      info.output = out;
      const int64_t fan_in = int64_t(in.c) * layer.kernel_h * layer.kernel_w;
      info.trainable = fan_in * layer.filters + (layer.use_bias ? layer.filters : 0);
      info.flops = out.size() * (2 * fan_in + (layer.use_bias ? 1 : 0)) + activation_flops(layer.activation, out.size());
      break;
    }
    case LayerKind::maxpool2d:
    case LayerKind::avgpool2d: {
      check.require(!in.flat, kind + " needs an image input (C, H, W), but its input is flat " + in.keras());
      check.require(layer.pool_h >= 1 && layer.pool_w >= 1, kind + " pool size must be >= 1");
      check.require(layer.pool_stride_h >= 0 && layer.pool_stride_w >= 0, kind + " strides must be >= 0 (0 = pool size)");
      Shape out;
      out.c = in.c;
      out.h = pool_output_size(in.h, layer.pool_h, layer.pool_stride_h);
      out.w = pool_output_size(in.w, layer.pool_w, layer.pool_stride_w);
      check.require(out.h >= 1 && out.w >= 1,
                    kind + " " + std::to_string(layer.pool_h) + "x" + std::to_string(layer.pool_w) +
                        " does not fit its input " + std::to_string(in.h) + "x" + std::to_string(in.w) +
                        " (output would be below 1x1)");
      info.output = out;
      info.flops = out.size() * layer.pool_h * layer.pool_w;
      break;
    }
    case LayerKind::batchnorm: {
      check.require(layer.momentum >= 0 && layer.momentum < 1, "batchnorm momentum must be in [0, 1)");
      check.require(layer.epsilon > 0, "batchnorm epsilon must be > 0");
      info.output = in;
      // Keras: gamma and beta are trainable, moving mean and variance are not.
      info.trainable = 2 * int64_t(in.c);
      info.non_trainable = 2 * int64_t(in.c);
      info.flops = 2 * in.size();
      break;
    }
    case LayerKind::dropout:
      check.require(layer.rate >= 0 && layer.rate < 1, "dropout rate must be in [0, 1) (got " + std::to_string(layer.rate) + ")");
      info.output = in;
      break;
    case LayerKind::flatten:
      info.output = Shape{int(in.size()), 1, 1, true};
      break;
    case LayerKind::dense: {
      check.require(in.flat, "dense needs a flat input, but its input is " + in.keras() + ": add a flatten layer before it");
      check.require(layer.units >= 1, "dense needs units >= 1 (got " + std::to_string(layer.units) + ")");
      info.output = Shape{layer.units, 1, 1, true};
      info.trainable = in.size() * layer.units + (layer.use_bias ? layer.units : 0);
      info.flops = int64_t(layer.units) * (2 * in.size() + (layer.use_bias ? 1 : 0)) +
                   activation_flops(layer.activation, layer.units);
      break;
    }
    case LayerKind::activation:
      info.output = in;
      info.flops = activation_flops(layer.activation, in.size());
      break;
  }
  if (layer.activation == Activation::leaky_relu || layer.activation == Activation::elu)
    check.require(std::isfinite(layer.alpha), "activation alpha must be a finite number");
  return info;
}

}  // namespace

ModelInfo infer(ModelSpec& model) {
  fill_names(model.layers);
  return infer(static_cast<const ModelSpec&>(model));
}

ModelInfo infer(const ModelSpec& spec) {
  ModelSpec model = spec;
  fill_names(model.layers);
  const Shape& input = model.input;
  if (input.c < 1 || input.h < 1 || input.w < 1 || (input.flat && (input.h != 1 || input.w != 1)))
    throw InputError("model input shape must have positive sizes (flat inputs have h = w = 1)", {}, "model.input");
  if (model.classes < 1) throw InputError("model needs at least one class", {}, "model.classes");
  if (model.layers.empty()) throw InputError("model has no layers", {}, "model.layers");

  ModelInfo info;
  Shape shape = input;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const bool is_last = i + 1 == model.layers.size();
    LayerInfo layer = infer_layer(model.layers[i], shape, LayerChecker{i}, is_last);
    shape = layer.output;
    info.trainable += layer.trainable;
    info.non_trainable += layer.non_trainable;
    info.flops_forward += layer.flops;
    info.layers.push_back(std::move(layer));
  }
  const LayerSpec& last = model.layers.back();
  const bool output_ok = last.kind == LayerKind::dense && last.units == model.classes &&
                         (last.activation == Activation::softmax || last.activation == Activation::sigmoid);
  if (!output_ok)
    throw InputError("the output layer must be a dense layer with " + std::to_string(model.classes) +
                         " units (one per class) and a softmax or sigmoid activation",
                     {}, "model.layers." + std::to_string(model.layers.size() - 1));
  info.flops_training = 3 * info.flops_forward;
  return info;
}

}  // namespace sweep
