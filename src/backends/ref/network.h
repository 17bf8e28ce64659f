// A whole network on the reference layers: forward over a batch (training or
// evaluation mode), backward from the gradient of the logits, parameters and
// gradients in the canonical layout of model/model.h. Templated so gradient
// checks can run the exact training code in double.
#pragma once
#include <cstdint>
#include <vector>

#include "backends/ref/layers.h"
#include "model/model.h"

namespace sweep::ref {

template <typename T>
class Network {
 public:
  explicit Network(const ModelSpec& model);

  const ModelSpec& model() const { return model_; }
  const ModelInfo& info() const { return info_; }
  // softmax or sigmoid: what the output layer's logits go through.
  Activation output_activation() const { return model_.layers.back().activation; }

  // Parameter tensors in canonical order (see param_layout) and, after
  // backward(), the gradients of the same shapes (zero for non-trainable ones).
  std::vector<std::vector<T>> params;
  std::vector<std::vector<T>> grads;
  std::vector<bool> trainable;

  // The logits [N, classes, 1, 1] of batch x [N, C, H, W]. Training mode uses
  // dropout masks of (seed, step) and batch statistics, and updates the
  // BatchNorm moving statistics in `params`.
  const Tensor<T>& forward(const Tensor<T>& x, bool training, uint64_t seed = 0, int64_t step = 0);
  // Back-propagates dlogits through the last training-mode forward(): fills
  // `grads` (zeroed first) and, when dinput is non-null, the input gradient.
  void backward(const Tensor<T>& dlogits, Tensor<T>* dinput = nullptr);

 private:
  struct LayerState {
    int first_param = -1;   // index of the layer's first tensor in params
    bool has_bias = false;
    Tensor<T> pre;          // conv/dense/activation: the pre-activation values
    Tensor<T> out;          // the layer's output
    std::vector<T> mask;    // dropout
    BatchNormCache<T> bn;   // batchnorm (training mode)
  };
  const Tensor<T>& input_of(size_t layer) const { return layer == 0 ? input_ : state_[layer - 1].out; }

  ModelSpec model_;
  ModelInfo info_;
  std::vector<LayerState> state_;
  Tensor<T> input_;
  bool last_forward_training_ = false;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace sweep::ref
