// The reference backend's layers: one forward and one backward function per
// layer kind, on NCHW tensors, templated on the scalar so that the same code
// runs in double for gradient checks and in float for training. Definitions
// live in the .cpp files, explicitly instantiated for float and double.
//
// These loops define the numerics every backend must reproduce (see the
// semantics in model/model.h and the notes on each function below).
#pragma once
#include <cstdint>
#include <vector>

#include "backends/ref/tensor.h"
#include "config/run_config.h"
#include "model/model.h"

namespace sweep::ref {

// ---- Conv2D: x [N,Cin,H,W], kernel [F][Cin][KH][KW], bias [F] or null.
// y = pre-activation output [N,F,OH,OW]; 'same' padding per TF (pad_before =
// floor(total/2)); the activation is applied separately.
template <typename T>
void conv2d_forward(const LayerSpec& spec, const Tensor<T>& x, const T* kernel, const T* bias, Tensor<T>& y);
// Accumulates into dkernel / dbias (callers zero them); dx (if non-null) is overwritten.
template <typename T>
void conv2d_backward(const LayerSpec& spec, const Tensor<T>& x, const T* kernel, const Tensor<T>& dy, Tensor<T>* dx,
                     T* dkernel, T* dbias);

// ---- Max / average pooling, 'valid' with floor, stride defaulting to the pool size.
// Max-pool backward routes each window's gradient to the FIRST maximum (row-major).
template <typename T>
void pool_forward(const LayerSpec& spec, const Tensor<T>& x, Tensor<T>& y);
template <typename T>
void pool_backward(const LayerSpec& spec, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dx);

// ---- Dense: x [N,F,1,1] (any shape with sample_size F), kernel [U][F], bias [U] or null.
template <typename T>
void dense_forward(const Tensor<T>& x, int units, const T* kernel, const T* bias, Tensor<T>& y);
template <typename T>
void dense_backward(const Tensor<T>& x, int units, const T* kernel, const Tensor<T>& dy, Tensor<T>* dx, T* dkernel,
                    T* dbias);

// ---- Element-wise activations (not softmax: that is part of the loss).
// Backward takes both the input z and output a of the forward (sigmoid/tanh/elu
// use a). dz may alias da.
template <typename T>
void activation_forward(Activation act, double alpha, const T* z, T* a, int64_t n);
template <typename T>
void activation_backward(Activation act, double alpha, const T* z, const T* a, const T* da, T* dz, int64_t n);

// ---- Dropout (inverted). Element j of the batch tensor (flat NCHW index) of
// layer `layer_index` at training step `step` is kept iff
//   rng::uniform01(rng::derive_key(seed, kDropout), ((step*64 + layer_index) << 32) + j) >= rate
// and kept values are scaled by 1/(1-rate). mask receives the per-element
// factor (0 or 1/(1-rate)) for the backward pass.
template <typename T>
void dropout_forward(double rate, uint64_t seed, int64_t step, int layer_index, const Tensor<T>& x, Tensor<T>& y,
                     std::vector<T>& mask);
template <typename T>
void dropout_backward(const std::vector<T>& mask, const Tensor<T>& dy, Tensor<T>& dx);

// ---- BatchNormalization over channels (N, H, W reduced; a flat input's
// features are its channels). Training: batch mean and biased batch variance;
// moving_x = momentum*moving_x + (1-momentum)*batch_x. Eval: moving statistics.
template <typename T>
struct BatchNormCache {
  std::vector<T> mean, inv_std;  // per channel
  std::vector<T> xhat;           // normalised input, same size as x
};
template <typename T>
void batchnorm_forward_train(const LayerSpec& spec, const Tensor<T>& x, const T* gamma, const T* beta,
                             T* moving_mean, T* moving_var, Tensor<T>& y, BatchNormCache<T>& cache);
template <typename T>
void batchnorm_forward_eval(const LayerSpec& spec, const Tensor<T>& x, const T* gamma, const T* beta,
                            const T* moving_mean, const T* moving_var, Tensor<T>& y);
// Accumulates into dgamma / dbeta; dx overwritten.
template <typename T>
void batchnorm_backward(const Tensor<T>& dy, const T* gamma, const BatchNormCache<T>& cache, Tensor<T>& dx,
                        T* dgamma, T* dbeta);

// ---- Losses on the output layer's logits z [N][K] (pre-activation).
// Softmax output: categorical cross-entropy, per-sample logsumexp(z) - z_y.
// Sigmoid output: Keras categorical_crossentropy on the sigmoid outputs:
//   p = sigmoid(z), q = p / sum(p), loss = -log(clip(q_y, 1e-7, 1 - 1e-7))
//   (zero gradient where the clip is active, as in TensorFlow).
// Returns the loss summed over the batch; dz (if non-null) receives the gradient
// of the MEAN loss; correct counts argmax(z) == label (first max wins).
struct LossResult {
  double loss_sum = 0;
  int64_t correct = 0;
};
template <typename T>
LossResult output_loss(Activation output, const T* z, int batch, int classes, const uint8_t* labels, T* dz);
// Probabilities as predict() returns them: softmax(z) or sigmoid(z), per row.
template <typename T>
void output_probabilities(Activation output, const T* z, int batch, int classes, T* probs);

// ---- Keras optimizers, one update of one tensor. `step` is the 1-based
// update count (Adam's bias correction). slot1/slot2: SGD velocity; Adam m, v;
// RMSprop mean square and momentum. Zero-initialised by the caller.
template <typename T>
void optimizer_update(const OptimizerSpec& opt, int64_t step, T* w, const T* g, T* slot1, T* slot2, int64_t n);

}  // namespace sweep::ref
