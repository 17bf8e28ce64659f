// The description of a network, independent of any backend: layer specs,
// shape inference, Keras-exact parameter counts, FLOPs and the model summary.
//
// Conventions every backend follows (so weights can move between backends and
// the CPU/GPU parity tests can share initial weights):
//  * Activations are NCHW per batch; an image sample has shape (C, H, W). A
//    flat feature vector (after Flatten, Dense, or HOG input) has shape (F,1,1).
//  * Flatten order is C, H, W (channel-major), i.e. index c*H*W + h*W + w.
//    (Keras flattens H, W, C; the difference is a fixed permutation of the next
//    Dense layer's rows and changes neither counts nor what can be learned.)
//  * Parameter tensors, in layer order, each layer's in this order:
//      conv2d:    kernel [filters][in_c][kh][kw], bias [filters]
//      dense:     kernel [units][in_features],   bias [units]
//      batchnorm: gamma [c], beta [c], moving_mean [c] (non-trainable),
//                 moving_variance [c] (non-trainable)
//    Layers with use_bias=false have no bias tensor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sweep {

enum class LayerKind { conv2d, maxpool2d, avgpool2d, batchnorm, dropout, flatten, dense, activation };
enum class Padding { valid, same };
enum class Activation { linear, relu, leaky_relu, sigmoid, tanh, elu, softmax };
enum class Init { glorot_uniform, he_uniform, he_normal, glorot_normal };

const char* to_string(LayerKind);
const char* to_string(Padding);
const char* to_string(Activation);
const char* to_string(Init);
// Parse the names above; throw InputError naming the allowed values.
LayerKind layer_kind_from(const std::string&);
Padding padding_from(const std::string&);
Activation activation_from(const std::string&);
Init init_from(const std::string&);

// Per-sample shape. Flat vectors have h = w = 1 and flat = true.
struct Shape {
  int c = 1, h = 1, w = 1;
  bool flat = false;
  int64_t size() const { return int64_t(c) * h * w; }
  bool operator==(const Shape&) const = default;
  // Keras style, e.g. "(None, 28, 28, 32)" or "(None, 576)".
  std::string keras() const;
};

struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  std::string name;  // Keras-like ("conv2d", "conv2d_1", ...); filled by infer() when empty

  // conv2d
  int filters = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  Padding padding = Padding::valid;
  // maxpool2d / avgpool2d (stride defaults to the pool size, as in Keras)
  int pool_h = 2, pool_w = 2;
  int pool_stride_h = 0, pool_stride_w = 0;  // 0 = same as pool size
  // dense
  int units = 0;
  // conv2d/dense: activation fused after the layer; activation layer: the function
  Activation activation = Activation::linear;
  double alpha = 0.3;  // leaky_relu slope (Keras default 0.3) / elu alpha (1.0 typical)
  bool use_bias = true;
  // dropout
  double rate = 0.0;
  // batchnorm (Keras defaults)
  double momentum = 0.99;
  double epsilon = 1e-3;

  bool operator==(const LayerSpec&) const = default;
};

struct ModelSpec {
  Shape input;                  // e.g. (1, 28, 28) for MNIST, (392,1,1 flat) for HOG
  int classes = 10;
  std::vector<LayerSpec> layers;
  Init init = Init::glorot_uniform;
  bool operator==(const ModelSpec&) const = default;
};

// What infer() learns about each layer.
struct LayerInfo {
  std::string name;          // e.g. "conv2d_1"
  std::string type;          // Keras class name, e.g. "Conv2D", "MaxPooling2D"
  Shape input, output;
  int64_t trainable = 0;     // trainable parameter count
  int64_t non_trainable = 0; // e.g. BatchNorm moving statistics
  int64_t flops = 0;         // forward FLOPs per sample (multiply-add = 2; conventions in model/infer.cpp)
};

struct ModelInfo {
  std::vector<LayerInfo> layers;
  int64_t trainable = 0, non_trainable = 0;
  int64_t flops_forward = 0;   // per sample
  int64_t flops_training = 0;  // per sample: forward + backward (~3x forward)
  int64_t total() const { return trainable + non_trainable; }
};

// Shape inference and validation. Throws InputError with field
// "model.layers.<i>" when a layer does not fit (kernel larger than its input,
// pooling below 1x1, Dense on an unflattened input: a Flatten must come first),
// or when the output layer is not a Dense with `classes` units and a softmax or
// sigmoid activation.
// Fills in empty layer names in `model`.
ModelInfo infer(ModelSpec& model);
ModelInfo infer(const ModelSpec& model);

// Geometry along one spatial axis, shared by every backend (Keras/TF rules).
// 'same': output ceil(in/stride), total padding max((out-1)*stride + k - in, 0),
// of which floor(total/2) goes before; 'valid': floor((in-k)/stride) + 1.
int conv_output_size(int in, int kernel, int stride, Padding padding);
int conv_pad_before(int in, int kernel, int stride, Padding padding);
// Pools are 'valid' with floor; a stride of 0 means the pool size.
int pool_stride(int pool, int stride);
int pool_output_size(int in, int pool, int stride);

// Keras-style summary table (Layer (type) | Output Shape | Param #, totals),
// as plain text lines; the report renders its own Markdown from ModelInfo.
std::string keras_summary(const ModelSpec& model);

// A parameter tensor in the canonical layout above.
struct ParamTensor {
  std::string name;            // e.g. "conv2d_1/kernel"
  std::vector<int64_t> shape;  // canonical layout
  bool trainable = true;
  std::vector<float> values;
  int64_t size() const;
};
using Params = std::vector<ParamTensor>;

// The parameter tensors of a model (shapes and names; values zero).
Params param_layout(const ModelSpec& model);
// Initial values: kernels from model.init (Glorot/He, fan-in/fan-out as in
// Keras), biases and beta zero, gamma and moving variance one, moving mean zero.
// Deterministic in `seed` via kernels/common/rng.h (stream kInit).
Params initial_params(const ModelSpec& model, uint64_t seed);

}  // namespace sweep
