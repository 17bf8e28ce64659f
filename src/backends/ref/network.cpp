// The reference network: layer dispatch for forward and backward.
#include "backends/ref/network.h"

#include <algorithm>

#include "common/error.h"

namespace sweep::ref {

template <typename T>
Network<T>::Network(const ModelSpec& model) : model_(model) {
  info_ = infer(model_);
  const Params layout = param_layout(model_);
  for (const ParamTensor& p : layout) {
    params.emplace_back(size_t(p.size()), T(0));
    grads.emplace_back(size_t(p.size()), T(0));
    trainable.push_back(p.trainable);
  }
  state_.resize(model_.layers.size());
  int next = 0;
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const LayerSpec& layer = model_.layers[i];
    LayerState& s = state_[i];
    if (layer.kind == LayerKind::conv2d || layer.kind == LayerKind::dense) {
      s.first_param = next;
      s.has_bias = layer.use_bias;
      next += layer.use_bias ? 2 : 1;
    } else if (layer.kind == LayerKind::batchnorm) {
      s.first_param = next;
      next += 4;
    }
  }
}

template <typename T>
const Tensor<T>& Network<T>::forward(const Tensor<T>& x, bool training, uint64_t seed, int64_t step) {
  input_ = x;
  last_forward_training_ = training;
  const size_t last = model_.layers.size() - 1;
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const LayerSpec& layer = model_.layers[i];
    LayerState& s = state_[i];
    const Tensor<T>& in = input_of(i);
    // The output layer's softmax/sigmoid belongs to the loss: its output is the logits.
    const Activation fused = i == last ? Activation::linear : layer.activation;
    const T* weights = s.first_param >= 0 ? params[size_t(s.first_param)].data() : nullptr;
    const T* bias = s.has_bias ? params[size_t(s.first_param) + 1].data() : nullptr;
    switch (layer.kind) {
      case LayerKind::conv2d:
      case LayerKind::dense:
        if (layer.kind == LayerKind::conv2d)
          conv2d_forward(layer, in, weights, bias, s.pre);
        else
          dense_forward(in, layer.units, weights, bias, s.pre);
        s.out.resize(s.pre.n, s.pre.c, s.pre.h, s.pre.w);
        activation_forward(fused, layer.alpha, s.pre.data.data(), s.out.data.data(), s.pre.size());
        break;
      case LayerKind::activation:
        s.pre = in;
        s.out.resize(in.n, in.c, in.h, in.w);
        activation_forward(layer.activation, layer.alpha, in.data.data(), s.out.data.data(), in.size());
        break;
      case LayerKind::maxpool2d:
      case LayerKind::avgpool2d:
        pool_forward(layer, in, s.out);
        break;
      case LayerKind::batchnorm: {
        const size_t p = size_t(s.first_param);
        if (training)
          batchnorm_forward_train(layer, in, params[p].data(), params[p + 1].data(), params[p + 2].data(),
                                  params[p + 3].data(), s.out, s.bn);
        else
          batchnorm_forward_eval(layer, in, params[p].data(), params[p + 1].data(), params[p + 2].data(),
                                 params[p + 3].data(), s.out);
        break;
      }
      case LayerKind::dropout:
        if (training)
          dropout_forward(layer.rate, seed, step, int(i), in, s.out, s.mask);
        else
          s.out = in;
        break;
      case LayerKind::flatten:
        s.out = in;
        s.out.c = int(in.sample_size()), s.out.h = 1, s.out.w = 1;
        break;
    }
  }
  return state_.back().out;
}

template <typename T>
void Network<T>::backward(const Tensor<T>& dlogits, Tensor<T>* dinput) {
  if (!last_forward_training_) throw RuntimeError("ref backend: backward() needs a training-mode forward()");
  for (auto& g : grads) std::fill(g.begin(), g.end(), T(0));
  const size_t last = model_.layers.size() - 1;
  Tensor<T> grad = dlogits, next;
  for (size_t i = model_.layers.size(); i-- > 0;) {
    const LayerSpec& layer = model_.layers[i];
    LayerState& s = state_[i];
    const Tensor<T>& in = input_of(i);
    const bool need_dx = i > 0 || dinput != nullptr;
    const Activation fused = i == last ? Activation::linear : layer.activation;
    switch (layer.kind) {
      case LayerKind::conv2d:
      case LayerKind::dense: {
        activation_backward(fused, layer.alpha, s.pre.data.data(), s.out.data.data(), grad.data.data(),
                            grad.data.data(), grad.size());
        const size_t p = size_t(s.first_param);
        const T* weights = params[p].data();
        T* dbias = s.has_bias ? grads[p + 1].data() : nullptr;
        if (layer.kind == LayerKind::conv2d)
          conv2d_backward(layer, in, weights, grad, need_dx ? &next : nullptr, grads[p].data(), dbias);
        else
          dense_backward(in, layer.units, weights, grad, need_dx ? &next : nullptr, grads[p].data(), dbias);
        break;
      }
      case LayerKind::activation:
        next.resize(in.n, in.c, in.h, in.w);
        activation_backward(layer.activation, layer.alpha, s.pre.data.data(), s.out.data.data(), grad.data.data(),
                            next.data.data(), grad.size());
        break;
      case LayerKind::maxpool2d:
      case LayerKind::avgpool2d:
        pool_backward(layer, in, grad, next);
        break;
      case LayerKind::batchnorm: {
        const size_t p = size_t(s.first_param);
        batchnorm_backward(grad, params[p].data(), s.bn, next, grads[p].data(), grads[p + 1].data());
        break;
      }
      case LayerKind::dropout:
        dropout_backward(s.mask, grad, next);
        break;
      case LayerKind::flatten:
        next = grad;
        next.c = in.c, next.h = in.h, next.w = in.w;
        break;
    }
    if (!need_dx) break;
    std::swap(grad, next);
  }
  if (dinput) *dinput = std::move(grad);
}

template class Network<float>;
template class Network<double>;

}  // namespace sweep::ref
