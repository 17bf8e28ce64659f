// Our own CUDA kernels for the GPU backend: what cuDNN and cuBLAS lack
// (fused loss + gradient, fused optimizer updates, counter-based dropout,
// batch gather, bias gradients, asymmetric 'same' padding, leaky ReLU,
// BatchNorm moving statistics with the biased variance).
//
// Plain C++ declarations, so the backend's .cpp files (compiled by the host
// compiler) can call them. Every launcher queues its work on `stream` and
// returns the launch error (cudaSuccess when queued). Every reduction runs in
// one fixed order (per-thread partial sums, then a shared-memory tree), never
// with atomics, so the same inputs always give the same bits.
#pragma once
#include <cstdint>

#include <cuda_runtime_api.h>

namespace sweep::cuda {

// ---- data -----------------------------------------------------------------
// x[i, :] = data[indices[i], :] for i < n (bytes scaled by 1/255, or floats as
// they are); labels_out[i] = labels[indices[i]].
cudaError_t gather_u8(const uint8_t* data, const uint8_t* labels, const int32_t* indices, int n,
                      int64_t sample_size, float* x, int32_t* labels_out, cudaStream_t stream);
cudaError_t gather_f32(const float* data, const uint8_t* labels, const int32_t* indices, int n,
                       int64_t sample_size, float* x, int32_t* labels_out, cudaStream_t stream);

// Zero padding for Keras 'same' convolutions whose padding is asymmetric
// (cuDNN's legacy API pads both sides equally). planes = N*C images of h x w
// are copied into padded planes of ph x pw at offset (top, left); crop is the
// reverse (the input gradient is the crop of the padded input's gradient).
cudaError_t pad_planes(const float* x, int64_t planes, int h, int w, int top, int left, int ph, int pw,
                       float* padded, cudaStream_t stream);
cudaError_t crop_planes(const float* padded, int64_t planes, int ph, int pw, int top, int left, int h, int w,
                        float* x, cudaStream_t stream);

// ---- layers ---------------------------------------------------------------
// Leaky ReLU (cuDNN has none): y = x > 0 ? x : alpha*x; dx = dy * (x > 0 ? 1 : alpha).
cudaError_t leaky_relu_forward(const float* x, int64_t count, float alpha, float* y, cudaStream_t stream);
cudaError_t leaky_relu_backward(const float* x, const float* dy, int64_t count, float alpha, float* dx,
                                cudaStream_t stream);

// Inverted dropout with the masks every backend shares (kernels/common/rng.h):
// element j is kept iff double(uniform01(key, counter_base + j)) >= rate; kept values
// are multiplied by scale = 1/(1-rate). Backward applies the same mask.
cudaError_t dropout_forward(const float* x, int64_t count, uint64_t key, uint64_t counter_base, double rate,
                            float scale, float* y, cudaStream_t stream);
cudaError_t dropout_backward(const float* dy, int64_t count, uint64_t key, uint64_t counter_base, double rate,
                             float scale, float* dx, cudaStream_t stream);

// y[i, c, s] += bias[c] over an (n, channels, spatial) tensor.
cudaError_t add_bias(float* y, const float* bias, int n, int channels, int64_t spatial, cudaStream_t stream);
// db[c] = sum over i, s of dy[i, c, s] (the bias gradient of conv and dense).
cudaError_t bias_gradient(const float* dy, int n, int channels, int64_t spatial, float* db, cudaStream_t stream);

// Keras BatchNorm moving statistics from the batch: per channel the mean and
// the BIASED variance over (n, spatial), then moving = momentum*moving +
// (1-momentum)*batch. (cuDNN's own running variance is the unbiased one.)
cudaError_t batchnorm_moving_stats(const float* x, int n, int channels, int64_t spatial, double momentum,
                                   float* moving_mean, float* moving_var, cudaStream_t stream);

// ---- loss -----------------------------------------------------------------
// From logits z[n, classes] and labels: dz = gradient of the MEAN loss over
// the batch, and into stats (device memory) the batch sums: loss_sum[0] and
// correct[0] (argmax of the logits == label, first max wins). Per-sample
// arithmetic in double, as the reference backend.
//  softmax: loss = logsumexp(z) - z_y.
//  sigmoid: Keras categorical_crossentropy on sigmoid outputs: p = sigmoid(z),
//           q = p / sum(p), loss = -log(clip(q_y, 1e-7, 1 - 1e-7)).
cudaError_t loss_and_gradient(const float* logits, const int32_t* labels, int n, int classes, bool sigmoid,
                              float* dlogits, double* loss_sum, long long* correct, cudaStream_t stream);
// The output layer's probabilities: softmax(z) or sigmoid(z), row by row.
cudaError_t output_probabilities(const float* logits, int n, int classes, bool sigmoid, float* probs,
                                 cudaStream_t stream);

// ---- optimizers (Keras semantics), one fused pass over all trainable weights
// SGD: v = momentum*v - lr*g; w += v (nesterov: w += momentum*v - lr*g).
// With momentum 0, velocity may be null: w -= lr*g.
cudaError_t sgd_update(float* w, const float* g, float* velocity, int64_t count, float lr, float momentum,
                       bool nesterov, cudaStream_t stream);
// Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr_t m / (sqrt(v) + eps),
// lr_t = lr sqrt(1-b2^t) / (1-b1^t) computed by the caller.
cudaError_t adam_update(float* w, const float* g, float* m, float* v, int64_t count, float lr_t, float beta1,
                        float beta2, float epsilon, cudaStream_t stream);
// RMSprop (Keras 2.11+/3): a = rho a + (1-rho) g^2; step = lr g / sqrt(a + eps);
// momentum 0: w -= step; else mom = momentum mom + step, w -= mom (mom may be
// null when momentum is 0).
cudaError_t rmsprop_update(float* w, const float* g, float* avg, float* mom, int64_t count, float lr, float rho,
                           float momentum, float epsilon, cudaStream_t stream);

}  // namespace sweep::cuda
