// The GPU backend's layers, one class per layer kind, on NCHW float tensors
// in device memory: convolutions, pooling, activations and batch norm through
// cuDNN, dense layers through cuBLAS, the rest through kernels/cuda. Their
// numerics follow the reference backend (src/backends/ref/layers.h).
//
// Why cuDNN's legacy (v7-style) API: it is deprecated in cuDNN 9 but complete
// and stable for these small fixed layers; its heuristic algorithm queries let
// us pick, without timing, the first DETERMINISTIC algorithm (the same choice
// every run, so a seed gives the same metrics), and it needs no graph build
// per batch size. The graph API's C++ frontend is not installed here, and the
// raw backend-descriptor API would multiply the code without changing the
// kernels that run.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cudnn.h>

#include "backends/gpu/device_memory.h"
#include "model/model.h"

namespace sweep::gpu {

// cuDNN's alpha/beta scaling factors (host pointers): y = 1 * op(x) + 0 * y.
inline constexpr float kOne = 1.0f;
inline constexpr float kZero = 0.0f;

// What every layer call needs: the session's stream, library handles and scratch.
struct GpuContext {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  void* workspace = nullptr;  // cuDNN scratch, at least what prepare() asked for
  size_t workspace_bytes = 0;
  uint64_t dropout_key = 0;   // rng::derive_key(seed, kDropout)
  int64_t step = 0;           // 0-based train_step count (dropout masks)
};

// A parameter tensor's place in the session's device buffers.
struct ParamRef {
  float* value = nullptr;  // weights (trainable buffer) or moving statistics
  float* grad = nullptr;   // its gradient; null for non-trainable tensors
};

// An owned cuDNN tensor descriptor (NCHW float).
class TensorDesc {
 public:
  TensorDesc();
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  void set(int n, int c, int h, int w);
  operator cudnnTensorDescriptor_t() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

// An element-wise activation: relu, sigmoid, tanh and elu through cuDNN;
// leaky ReLU (which cuDNN lacks) through our kernel; linear is a copy.
class ActivationOp {
 public:
  ActivationOp(Activation kind, double alpha);
  ~ActivationOp();
  ActivationOp(const ActivationOp&) = delete;
  ActivationOp& operator=(const ActivationOp&) = delete;
  bool linear() const { return kind_ == Activation::linear; }
  // a = f(z) over `count` elements that `desc` describes.
  void forward(const GpuContext& ctx, cudnnTensorDescriptor_t desc, int64_t count, const float* z, float* a) const;
  // dz = da * f'(z) (using a = f(z) where cheaper).
  void backward(const GpuContext& ctx, cudnnTensorDescriptor_t desc, int64_t count, const float* z, const float* a,
                const float* da, float* dz) const;

 private:
  Activation kind_;
  float alpha_;
  cudnnActivationDescriptor_t desc_ = nullptr;
};

class GpuLayer {
 public:
  virtual ~GpuLayer() = default;
  // Sizes descriptors and scratch for batches of n samples; returns the cuDNN
  // workspace bytes the layer's calls need at that size.
  virtual size_t prepare(const GpuContext& ctx, int n) = 0;
  // y = layer(x) for the prepared batch size.
  virtual void forward(const GpuContext& ctx, const float* x, float* y, bool training) = 0;
  // After a training forward of the same batch: writes the parameter
  // gradients (overwriting) and, when need_dx, the input gradient dx from the
  // output gradient dy. dx is always a valid buffer of the input's size.
  virtual void backward(const GpuContext& ctx, const float* x, const float* y, const float* dy, float* dx,
                        bool need_dx) = 0;
  // Flatten: the output is the input buffer itself (NCHW is already C,H,W order).
  virtual bool is_identity() const { return false; }
  // The implementation chosen, for Session::describe().
  virtual std::string describe() const { return {}; }
};

// The layer for model.layers[index] with input/output shapes from infer() and
// its parameter tensors in canonical order. tensor_math lets cuDNN and cuBLAS
// use tensor cores (TF32) instead of strict fp32 FMA.
std::unique_ptr<GpuLayer> make_layer(const LayerSpec& spec, int index, const Shape& in, const Shape& out,
                                     const std::vector<ParamRef>& params, bool tensor_math);
std::unique_ptr<GpuLayer> make_conv_layer(const LayerSpec& spec, const Shape& in, const Shape& out,
                                          const std::vector<ParamRef>& params, bool tensor_math);

}  // namespace sweep::gpu
