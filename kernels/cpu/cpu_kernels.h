// Hand-written CPU kernels for what oneDNN 2.6 lacks or does slowly: input
// conversion, pooling with argmax, batch normalisation, dropout, standalone
// activations, the fused loss heads and the fused optimizer updates.
//
// Layout: every 4-D activation is NHWC (channels innermost), so a flat feature
// vector (F,1,1) is simply (N, F). All kernels parallelise with OpenMP over the
// calling thread's team (the backend sets omp_set_num_threads per session) and
// partition work statically, so results are bit-identical for a thread count.
#pragma once
#include <cstdint>

#include "model/model.h"

namespace sweep::cpu_kernels {

// ---- input ----------------------------------------------------------------
// Gather samples rows[i] of an (count, C, H, W) array into NHWC floats; bytes
// are scaled by 1/255.
void gather_u8(const uint8_t* data, const int32_t* rows, int64_t n, int c, int hw, float* out);
void gather_f32(const float* data, const int32_t* rows, int64_t n, int c, int hw, float* out);

// ---- layout ---------------------------------------------------------------
// (N, HW, C) <-> (N, C, HW): Flatten's channel-major order.
void nhwc_to_nchw(const float* x, int64_t n, int hw, int c, float* y);
void nchw_to_nhwc(const float* x, int64_t n, int hw, int c, float* y);
// Round-to-nearest-even fp32 -> bf16 (stored as uint16).
void f32_to_bf16(const float* x, uint16_t* y, int64_t count);

// ---- activations ----------------------------------------------------------
// y = f(x) elementwise (softmax is not elementwise and is not accepted here).
void activation_forward(Activation f, float alpha, const float* x, float* y, int64_t count);
// dx = dy * f'(x), written in terms of the OUTPUT y = f(x) (valid for every
// supported f with alpha > 0), so fused conv/dense activations need no copy of
// their pre-activation. dx may alias dy.
void activation_backward(Activation f, float alpha, const float* y, const float* dy, float* dx, int64_t count);

// f'(x) written in terms of y = f(x), for one element (linear..elu).
inline float activation_derivative(Activation f, float alpha, float y) {
  switch (f) {
    case Activation::relu: return y > 0.0f ? 1.0f : 0.0f;
    case Activation::leaky_relu: return y > 0.0f ? 1.0f : alpha;
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::tanh: return 1.0f - y * y;
    case Activation::elu: return y > 0.0f ? 1.0f : y + alpha;
    default: return 1.0f;
  }
}

// ---- dropout --------------------------------------------------------------
// Inverted dropout on an NHWC tensor. Element (n,c,h,w) is kept iff
// uniform01(key, counter_base + j) >= rate, j its flat NCHW index; kept
// values are scaled by 1/(1-rate). mask[i] (NHWC order) records keep.
void dropout_forward(const float* x, int64_t n, int h, int w, int c, float rate, uint64_t key,
                     uint64_t counter_base, float* y, uint8_t* mask);
void dropout_backward(const float* dy, const uint8_t* mask, float scale, float* dx, int64_t count);

// ---- pooling (valid padding, floor) ---------------------------------------
struct PoolGeom {
  int64_t n = 0;
  int ih = 0, iw = 0, c = 0;  // input
  int oh = 0, ow = 0;         // output
  int ph = 0, pw = 0;         // window
  int sh = 0, sw = 0;         // stride
};
// argmax (may be null in inference) records the window position ky*pw+kx of
// the first maximum, so the window must have at most 256 positions.
void maxpool_forward(const PoolGeom& g, const float* x, float* y, uint8_t* argmax);
// f != linear folds the backward of the activation that produced the pool's
// input x (f'(x) from its output, as activation_backward) into the scatter;
// it then needs x (overlapping windows) and the pool's output y (disjoint
// windows, where the winner's x equals y).
void maxpool_backward(const PoolGeom& g, const float* dy, const uint8_t* argmax, float* dx,
                      Activation f = Activation::linear, float alpha = 0, const float* x = nullptr,
                      const float* y = nullptr);
void avgpool_forward(const PoolGeom& g, const float* x, float* y);
void avgpool_backward(const PoolGeom& g, const float* dy, float* dx);

// ---- the first convolution fused with its activation and max pool -------
// A convolution on the network's input (few channels, so little arithmetic
// and much memory traffic), its activation and the max pool right after it,
// in one pass over the input (conv_maxpool.cpp). The activation must be
// non-decreasing (every supported hidden activation with alpha >= 0 is), so
// pooling before activating gives the same values as after.
struct ConvPoolGeom {
  int64_t n = 0;
  int ih = 0, iw = 0, ic = 0;                              // input (NHWC)
  int kh = 0, kw = 0, sh = 1, sw = 1, pad_top = 0, pad_left = 0;  // convolution
  int ch = 0, cw = 0, filters = 0;                         // convolution output
  PoolGeom pool;  // over the (ch, cw, filters) map; pool.c == filters
};
// kernel in the canonical [filters][ic][kh][kw] order; bias may be null. y is
// the pooled, activated map (NHWC); argmax as maxpool_forward (may be null).
void conv_maxpool_forward(const ConvPoolGeom& g, const float* x, const float* kernel, const float* bias,
                          Activation f, float alpha, float* y, uint8_t* argmax);
// The kernel and bias gradients (written, not added; dbias may be null) from
// the pooled map's gradient dy, its values y and the argmax of the forward.
void conv_maxpool_backward(const ConvPoolGeom& g, const float* x, const float* dy, const float* y,
                           const uint8_t* argmax, Activation f, float alpha, float* dkernel, float* dbias);
// The same gradients for a convolution on many input channels whose own
// forward ran elsewhere (oneDNN) and whose max pool recorded `argmax`: only
// the windows' winners carry a gradient, so this does a quarter of a dense
// backward's work under a 2x2 pool (conv_maxpool_sparse.cpp). Also writes the
// input gradient dx (NHWC) when dx is not null, from `kernel` (canonical).
void conv_maxpool_backward_sparse(const ConvPoolGeom& g, const float* x, const float* kernel, const float* dy,
                                  const float* y, const uint8_t* argmax, Activation f, float alpha, float* dkernel,
                                  float* dbias, float* dx);

// ---- batch normalisation over rows x c (rows = N*H*W) ---------------------
// Training: normalise with the batch mean and biased variance, update the
// moving statistics (m = momentum*m + (1-momentum)*batch), save mean/invstd.
void batchnorm_forward_training(const float* x, int64_t rows, int c, const float* gamma, const float* beta,
                                float epsilon, float momentum, float* moving_mean, float* moving_var, float* y,
                                float* saved_mean, float* saved_invstd);
void batchnorm_forward_inference(const float* x, int64_t rows, int c, const float* gamma, const float* beta,
                                 const float* moving_mean, const float* moving_var, float epsilon, float* y);
// dx (may be null), dgamma, dbeta from dy and the saved statistics.
void batchnorm_backward(const float* x, const float* dy, int64_t rows, int c, const float* gamma,
                        const float* saved_mean, const float* saved_invstd, float* dx, float* dgamma, float* dbeta);

// ---- output heads ---------------------------------------------------------
struct LossSums {
  double loss_sum = 0;
  int64_t correct = 0;
};
// Softmax + categorical cross-entropy from logits z[n][k], in the stable form
// -z_y + logsumexp(z). probs and dlogits (gradient of the MEAN loss) may be null.
LossSums softmax_cross_entropy(const float* z, const uint8_t* labels, int64_t n, int k, float* probs,
                               float* dlogits);
// Keras categorical_crossentropy on sigmoid outputs: p = sigmoid(z),
// q = p/sum(p), loss = -log(clip(q_y, 1e-7, 1-1e-7)); the gradient is zero
// where the clip is active.
LossSums sigmoid_cross_entropy(const float* z, const uint8_t* labels, int64_t n, int k, float* probs,
                               float* dlogits);
void softmax(const float* z, int64_t n, int k, float* probs);
void sigmoid(const float* z, int64_t count, float* probs);

// ---- optimizers (Keras formulas, one pass over all parameters) ------------
void sgd_update(float* w, const float* g, float* velocity, int64_t count, float lr, float momentum, bool nesterov);
// lr_t = lr*sqrt(1-b2^t)/(1-b1^t) is computed by the caller.
void adam_update(float* w, const float* g, float* m, float* v, int64_t count, float lr_t, float beta_1,
                 float beta_2, float epsilon);
void rmsprop_update(float* w, const float* g, float* accum, float* mom, int64_t count, float lr, float rho,
                    float momentum, float epsilon);

}  // namespace sweep::cpu_kernels
