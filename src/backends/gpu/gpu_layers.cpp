// The GPU layers other than convolution (gpu_conv.cpp): activations, pooling,
// batch norm, dropout, flatten and dense, and the factory.
#include "backends/gpu/gpu_layers.h"

#include <limits>

#include "backends/gpu/cuda_check.h"
#include "common/error.h"
#include "kernels/cuda/kernels.h"

namespace sweep::gpu {
namespace {

void copy_async(const GpuContext& ctx, const float* from, float* to, int64_t count) {
  SWEEP_GPU_CHECK(cudaMemcpyAsync(to, from, size_t(count) * sizeof(float), cudaMemcpyDeviceToDevice, ctx.stream));
}

// Max pooling (deterministic backward) and average pooling; 'valid', floor.
class PoolLayer final : public GpuLayer {
 public:
  PoolLayer(const LayerSpec& spec, const Shape& in, const Shape& out) : in_(in), out_(out) {
    SWEEP_GPU_CHECK(cudnnCreatePoolingDescriptor(pool_.out()));
    // MAX_DETERMINISTIC: plain MAX's backward may use atomics (cuDNN docs, reproducibility).
    const cudnnPoolingMode_t mode = spec.kind == LayerKind::maxpool2d ? CUDNN_POOLING_MAX_DETERMINISTIC
                                                                      : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    SWEEP_GPU_CHECK(cudnnSetPooling2dDescriptor(pool_, mode, CUDNN_PROPAGATE_NAN, spec.pool_h, spec.pool_w, 0, 0,
                                                pool_stride(spec.pool_h, spec.pool_stride_h),
                                                pool_stride(spec.pool_w, spec.pool_stride_w)));
    max_ = spec.kind == LayerKind::maxpool2d;
  }
  size_t prepare(const GpuContext&, int n) override {
    x_.set(n, in_.c, in_.h, in_.w);
    y_.set(n, out_.c, out_.h, out_.w);
    int on = 0, oc = 0, oh = 0, ow = 0;
    SWEEP_GPU_CHECK(cudnnGetPooling2dForwardOutputDim(pool_, x_, &on, &oc, &oh, &ow));
    if (on != n || oc != out_.c || oh != out_.h || ow != out_.w)
      throw RuntimeError("gpu backend: cuDNN pooling output " + std::to_string(oh) + "x" + std::to_string(ow) +
                         " differs from the model's " + std::to_string(out_.h) + "x" + std::to_string(out_.w));
    return 0;
  }
  void forward(const GpuContext& ctx, const float* x, float* y, bool) override {
    SWEEP_GPU_CHECK(cudnnPoolingForward(ctx.cudnn, pool_, &kOne, x_, x, &kZero, y_, y));
  }
  void backward(const GpuContext& ctx, const float* x, const float* y, const float* dy, float* dx,
                bool need_dx) override {
    if (!need_dx) return;
    SWEEP_GPU_CHECK(cudnnPoolingBackward(ctx.cudnn, pool_, &kOne, y_, y, y_, dy, x_, x, &kZero, x_, dx));
  }
  std::string describe() const override { return max_ ? "cudnn max-pool (deterministic)" : "cudnn avg-pool"; }

 private:
  Shape in_, out_;
  bool max_ = true;
  Owned<cudnnPoolingDescriptor_t, cudnnDestroyPoolingDescriptor> pool_;
  TensorDesc x_, y_;
};

// Batch normalisation over channels (a flat input's features are channels,
// so cuDNN's SPATIAL mode on (N, F, 1, 1) is per-feature). cuDNN normalises
// and back-propagates; our kernel keeps Keras' moving statistics, since
// cuDNN's running variance is the unbiased one and Keras uses the biased.
class BatchNormLayer final : public GpuLayer {
 public:
  BatchNormLayer(const LayerSpec& spec, const Shape& in, const std::vector<ParamRef>& params)
      : in_(in), gamma_(params.at(0)), beta_(params.at(1)), mean_(params.at(2)), var_(params.at(3)),
        momentum_(spec.momentum), epsilon_(spec.epsilon) {
    if (epsilon_ < CUDNN_BN_MIN_EPSILON)
      throw InputError("batchnorm epsilon below cuDNN's minimum of " + std::to_string(CUDNN_BN_MIN_EPSILON));
    const size_t c = size_t(in.c);
    save_mean_.resize(c);
    save_inv_std_.resize(c);
    unused_running_.resize(2 * c);
    bn_.set(1, in.c, 1, 1);
  }
  size_t prepare(const GpuContext&, int n) override {
    n_ = n;
    x_.set(n, in_.c, in_.h, in_.w);
    return 0;
  }
  void forward(const GpuContext& ctx, const float* x, float* y, bool training) override {
    if (!training) {
      SWEEP_GPU_CHECK(cudnnBatchNormalizationForwardInference(ctx.cudnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_, x,
                                                              x_, y, bn_, gamma_.value, beta_.value, mean_.value,
                                                              var_.value, epsilon_));
      return;
    }
    // Factor 0: cuDNN's own running statistics (into scratch) stay unused.
    float* running = unused_running_.get();
    SWEEP_GPU_CHECK(cudnnBatchNormalizationForwardTraining(
        ctx.cudnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_, x, x_, y, bn_, gamma_.value, beta_.value, 0.0, running,
        running + in_.c, epsilon_, save_mean_.get(), save_inv_std_.get()));
    SWEEP_GPU_CHECK(cuda::batchnorm_moving_stats(x, n_, in_.c, int64_t(in_.h) * in_.w, momentum_, mean_.value,
                                                 var_.value, ctx.stream));
  }
  void backward(const GpuContext& ctx, const float* x, const float*, const float* dy, float* dx, bool) override {
    // dx is computed even when unused: cuDNN derives it with the parameter gradients.
    SWEEP_GPU_CHECK(cudnnBatchNormalizationBackward(ctx.cudnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero,
                                                    x_, x, x_, dy, x_, dx, bn_, gamma_.value, gamma_.grad,
                                                    beta_.grad, epsilon_, save_mean_.get(), save_inv_std_.get()));
  }
  std::string describe() const override { return "cudnn batchnorm (spatial)"; }

 private:
  Shape in_;
  ParamRef gamma_, beta_, mean_, var_;
  double momentum_, epsilon_;
  int n_ = 0;
  TensorDesc x_, bn_;
  DeviceBuffer<float> save_mean_, save_inv_std_, unused_running_;
};

// Inverted dropout with the shared counter-based masks (kernels/common/rng.h).
class DropoutLayer final : public GpuLayer {
 public:
  DropoutLayer(const LayerSpec& spec, int index, const Shape& in)
      : index_(index), sample_size_(in.size()), rate_(spec.rate), scale_(float(1.0 / (1.0 - spec.rate))) {}
  size_t prepare(const GpuContext&, int n) override {
    count_ = n * sample_size_;
    return 0;
  }
  void forward(const GpuContext& ctx, const float* x, float* y, bool training) override {
    if (!training) return copy_async(ctx, x, y, count_);
    SWEEP_GPU_CHECK(cuda::dropout_forward(x, count_, ctx.dropout_key, counter_base(ctx), rate_, scale_, y, ctx.stream));
  }
  void backward(const GpuContext& ctx, const float*, const float*, const float* dy, float* dx, bool need_dx) override {
    if (!need_dx) return;
    SWEEP_GPU_CHECK(
        cuda::dropout_backward(dy, count_, ctx.dropout_key, counter_base(ctx), rate_, scale_, dx, ctx.stream));
  }
  std::string describe() const override { return "dropout kernel (counter rng)"; }

 private:
  // Element j of layer l at step t uses counter ((t*64 + l) << 32) + j.
  uint64_t counter_base(const GpuContext& ctx) const { return (uint64_t(ctx.step) * 64 + uint64_t(index_)) << 32; }
  int index_;
  int64_t sample_size_;
  double rate_;
  float scale_;
  int64_t count_ = 0;
};

class ActivationLayer final : public GpuLayer {
 public:
  ActivationLayer(const LayerSpec& spec, const Shape& in) : in_(in), op_(spec.activation, spec.alpha) {}
  size_t prepare(const GpuContext&, int n) override {
    count_ = n * in_.size();
    desc_.set(n, in_.c, in_.h, in_.w);
    return 0;
  }
  void forward(const GpuContext& ctx, const float* x, float* y, bool) override {
    op_.forward(ctx, desc_, count_, x, y);
  }
  void backward(const GpuContext& ctx, const float* x, const float* y, const float* dy, float* dx,
                bool need_dx) override {
    if (need_dx) op_.backward(ctx, desc_, count_, x, y, dy, dx);
  }

 private:
  Shape in_;
  ActivationOp op_;
  TensorDesc desc_;
  int64_t count_ = 0;
};

class FlattenLayer final : public GpuLayer {
 public:
  size_t prepare(const GpuContext&, int) override { return 0; }
  void forward(const GpuContext&, const float*, float*, bool) override {}
  void backward(const GpuContext&, const float*, const float*, const float*, float*, bool) override {}
  bool is_identity() const override { return true; }
};

// Dense through cuBLAS. Row-major x [n][F], kernel [U][F], y [n][U] are, to
// column-major cuBLAS, x^T (F x n), W^T (F x U) and y^T (U x n):
//   y^T = (W^T)^T x^T;  dW^T = x^T dy;  dx^T = W^T dy^T.
class DenseLayer final : public GpuLayer {
 public:
  DenseLayer(const LayerSpec& spec, const Shape& in, const std::vector<ParamRef>& params)
      : features_(int(in.size())), units_(spec.units), kernel_(params.at(0)),
        bias_(spec.use_bias ? params.at(1) : ParamRef{}), act_(spec.activation, spec.alpha) {}
  size_t prepare(const GpuContext&, int n) override {
    n_ = n;
    y_.set(n, units_, 1, 1);
    if (!act_.linear()) {
      z_.reserve(size_t(n) * size_t(units_));
      dz_.reserve(size_t(n) * size_t(units_));
    }
    return 0;
  }
  void forward(const GpuContext& ctx, const float* x, float* y, bool) override {
    float* z = act_.linear() ? y : z_.get();
    SWEEP_GPU_CHECK(cublasSgemm(ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, units_, n_, features_, &kOne, kernel_.value,
                                features_, x, features_, &kZero, z, units_));
    if (bias_.value != nullptr) SWEEP_GPU_CHECK(cuda::add_bias(z, bias_.value, n_, units_, 1, ctx.stream));
    if (!act_.linear()) act_.forward(ctx, y_, int64_t(n_) * units_, z, y);
  }
  void backward(const GpuContext& ctx, const float* x, const float* y, const float* dy, float* dx,
                bool need_dx) override {
    const float* dz = dy;
    if (!act_.linear()) {
      act_.backward(ctx, y_, int64_t(n_) * units_, z_.get(), y, dy, dz_.get());
      dz = dz_.get();
    }
    if (bias_.value != nullptr) SWEEP_GPU_CHECK(cuda::bias_gradient(dz, n_, units_, 1, bias_.grad, ctx.stream));
    SWEEP_GPU_CHECK(cublasSgemm(ctx.cublas, CUBLAS_OP_N, CUBLAS_OP_T, features_, units_, n_, &kOne, x, features_, dz,
                                units_, &kZero, kernel_.grad, features_));
    if (need_dx)
      SWEEP_GPU_CHECK(cublasSgemm(ctx.cublas, CUBLAS_OP_N, CUBLAS_OP_N, features_, n_, units_, &kOne, kernel_.value,
                                  features_, dz, units_, &kZero, dx, features_));
  }
  std::string describe() const override { return "cublas sgemm"; }

 private:
  int features_, units_;
  ParamRef kernel_, bias_;
  ActivationOp act_;
  int n_ = 0;
  TensorDesc y_;
  DeviceBuffer<float> z_, dz_;  // pre-activation and its gradient (non-linear activations)
};

}  // namespace

TensorDesc::TensorDesc() { SWEEP_GPU_CHECK(cudnnCreateTensorDescriptor(&desc_)); }
TensorDesc::~TensorDesc() { cudnnDestroyTensorDescriptor(desc_); }
void TensorDesc::set(int n, int c, int h, int w) {
  SWEEP_GPU_CHECK(cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}

ActivationOp::ActivationOp(Activation kind, double alpha) : kind_(kind), alpha_(float(alpha)) {
  cudnnActivationMode_t mode = CUDNN_ACTIVATION_IDENTITY;
  switch (kind) {
    case Activation::linear:
    case Activation::leaky_relu: return;  // no cuDNN descriptor needed
    case Activation::relu: mode = CUDNN_ACTIVATION_RELU; break;
    case Activation::sigmoid: mode = CUDNN_ACTIVATION_SIGMOID; break;
    case Activation::tanh: mode = CUDNN_ACTIVATION_TANH; break;
    case Activation::elu: mode = CUDNN_ACTIVATION_ELU; break;
    case Activation::softmax:
      throw InputError("softmax is only supported as the activation of the output layer");
  }
  SWEEP_GPU_CHECK(cudnnCreateActivationDescriptor(&desc_));
  // PROPAGATE_NAN so that a diverging run shows NaN instead of hiding it.
  // coef is ELU's alpha; for ReLU cuDNN reads it as an upper bound, so it gets
  // the largest double (as PyTorch passes), i.e. no bound.
  const double coef = kind == Activation::elu ? alpha : std::numeric_limits<double>::max();
  const cudnnStatus_t status = cudnnSetActivationDescriptor(desc_, mode, CUDNN_PROPAGATE_NAN, coef);
  if (status != CUDNN_STATUS_SUCCESS) {
    cudnnDestroyActivationDescriptor(desc_);
    SWEEP_GPU_CHECK(status);
  }
}

ActivationOp::~ActivationOp() {
  if (desc_ != nullptr) cudnnDestroyActivationDescriptor(desc_);
}

void ActivationOp::forward(const GpuContext& ctx, cudnnTensorDescriptor_t desc, int64_t count, const float* z,
                           float* a) const {
  if (kind_ == Activation::linear) return copy_async(ctx, z, a, count);
  if (kind_ == Activation::leaky_relu) {
    SWEEP_GPU_CHECK(cuda::leaky_relu_forward(z, count, alpha_, a, ctx.stream));
    return;
  }
  SWEEP_GPU_CHECK(cudnnActivationForward(ctx.cudnn, desc_, &kOne, desc, z, &kZero, desc, a));
}

void ActivationOp::backward(const GpuContext& ctx, cudnnTensorDescriptor_t desc, int64_t count, const float* z,
                            const float* a, const float* da, float* dz) const {
  if (kind_ == Activation::linear) return copy_async(ctx, da, dz, count);
  if (kind_ == Activation::leaky_relu) {
    SWEEP_GPU_CHECK(cuda::leaky_relu_backward(z, da, count, alpha_, dz, ctx.stream));
    return;
  }
  SWEEP_GPU_CHECK(cudnnActivationBackward(ctx.cudnn, desc_, &kOne, desc, a, desc, da, desc, z, &kZero, desc, dz));
}

std::unique_ptr<GpuLayer> make_layer(const LayerSpec& spec, int index, const Shape& in, const Shape& out,
                                     const std::vector<ParamRef>& params, bool tensor_math) try {
  switch (spec.kind) {
    case LayerKind::conv2d: return make_conv_layer(spec, in, out, params, tensor_math);
    case LayerKind::maxpool2d:
    case LayerKind::avgpool2d: return std::make_unique<PoolLayer>(spec, in, out);
    case LayerKind::batchnorm: return std::make_unique<BatchNormLayer>(spec, in, params);
    case LayerKind::dropout: return std::make_unique<DropoutLayer>(spec, index, in);
    case LayerKind::flatten: return std::make_unique<FlattenLayer>();
    case LayerKind::dense: return std::make_unique<DenseLayer>(spec, in, params);
    case LayerKind::activation: return std::make_unique<ActivationLayer>(spec, in);
  }
  throw RuntimeError("gpu backend: unknown layer kind");
} catch (const InputError& e) {
  // Name the layer, as the config validation does.
  throw InputError(e.message(), {}, "model.layers." + std::to_string(index));
}

}  // namespace sweep::gpu
