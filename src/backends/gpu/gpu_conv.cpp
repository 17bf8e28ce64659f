// Conv2D through cuDNN, with the fused activation, our bias kernels, and
// explicit zero padding where Keras' 'same' padding is asymmetric (an even
// kernel: TF puts the odd pixel after, cuDNN's legacy API pads both sides
// equally), in which case cuDNN runs a 'valid' convolution on the padded copy.
#include <algorithm>
#include <map>

#include "backends/gpu/cuda_check.h"
#include "backends/gpu/gpu_layers.h"
#include "common/error.h"
#include "kernels/cuda/kernels.h"

namespace sweep::gpu {
namespace {

// cuDNN scratch one convolution may use; algorithms needing more are skipped.
constexpr size_t kMaxWorkspace = size_t(256) << 20;

struct ConvAlgos {
  cudnnConvolutionFwdAlgo_t forward{};
  cudnnConvolutionBwdDataAlgo_t backward_data{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter{};
  size_t workspace = 0;
};

// The first algorithm of cuDNN's heuristic ranking (no timing, so the same
// choice every run) that succeeds, is DETERMINISTIC, and fits the workspace.
template <typename Perf, typename Algo, typename SizeQuery>
Algo pick(const Perf* perf, int returned, const char* what, size_t& workspace, SizeQuery size_of) {
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    size_t bytes = 0;
    if (size_of(perf[i].algo, bytes) != CUDNN_STATUS_SUCCESS || bytes > kMaxWorkspace) continue;
    workspace = std::max(workspace, bytes);
    return perf[i].algo;
  }
  throw RuntimeError(std::string("gpu backend: cuDNN offers no deterministic ") + what + " algorithm for this layer");
}

class ConvLayer final : public GpuLayer {
 public:
  ConvLayer(const LayerSpec& spec, const Shape& in, const Shape& out, const std::vector<ParamRef>& params,
            bool tensor_math)
      : in_(in), out_(out), kernel_(params.at(0)), bias_(spec.use_bias ? params.at(1) : ParamRef{}),
        act_(spec.activation, spec.alpha) {
    const int total_h = padding_total(in.h, out.h, spec.kernel_h, spec.stride_h, spec.padding);
    const int total_w = padding_total(in.w, out.w, spec.kernel_w, spec.stride_w, spec.padding);
    top_ = total_h / 2;
    left_ = total_w / 2;
    explicit_pad_ = total_h % 2 != 0 || total_w % 2 != 0;
    padded_h_ = in.h + total_h;
    padded_w_ = in.w + total_w;

    SWEEP_GPU_CHECK(cudnnCreateFilterDescriptor(filter_.out()));
    SWEEP_GPU_CHECK(cudnnSetFilter4dDescriptor(filter_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, out.c, in.c,
                                               spec.kernel_h, spec.kernel_w));
    SWEEP_GPU_CHECK(cudnnCreateConvolutionDescriptor(conv_.out()));
    // Keras' Conv2D is a cross-correlation.
    SWEEP_GPU_CHECK(cudnnSetConvolution2dDescriptor(conv_, explicit_pad_ ? 0 : top_, explicit_pad_ ? 0 : left_,
                                                    spec.stride_h, spec.stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                                    CUDNN_DATA_FLOAT));
    // fp32: FMA kernels only (cuDNN's default would allow TF32 tensor cores on
    // Hopper, which the CPU backends could not match); bf16 runs allow them.
    SWEEP_GPU_CHECK(cudnnSetConvolutionMathType(conv_, tensor_math ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  }

  size_t prepare(const GpuContext& ctx, int n) override {
    n_ = n;
    source_.set(n, in_.c, explicit_pad_ ? padded_h_ : in_.h, explicit_pad_ ? padded_w_ : in_.w);
    y_.set(n, out_.c, out_.h, out_.w);
    int on = 0, oc = 0, oh = 0, ow = 0;
    SWEEP_GPU_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_, source_, filter_, &on, &oc, &oh, &ow));
    if (on != n || oc != out_.c || oh != out_.h || ow != out_.w)
      throw RuntimeError("gpu backend: cuDNN convolution output " + std::to_string(oh) + "x" + std::to_string(ow) +
                         " differs from the model's " + std::to_string(out_.h) + "x" + std::to_string(out_.w));
    const size_t out_count = size_t(n) * size_t(out_.size());
    if (!act_.linear()) {
      z_.reserve(out_count);
      dz_.reserve(out_count);
    }
    if (explicit_pad_) {
      const size_t padded_count = size_t(n) * size_t(in_.c) * size_t(padded_h_) * size_t(padded_w_);
      padded_x_.reserve(padded_count);
      padded_dx_.reserve(padded_count);
    }
    auto found = algos_.find(n);
    if (found == algos_.end()) found = algos_.emplace(n, choose_algos(ctx)).first;
    algo_ = found->second;
    return algo_.workspace;
  }

  void forward(const GpuContext& ctx, const float* x, float* y, bool) override {
    const float* source = x;
    if (explicit_pad_) {
      SWEEP_GPU_CHECK(cuda::pad_planes(x, int64_t(n_) * in_.c, in_.h, in_.w, top_, left_, padded_h_, padded_w_,
                                       padded_x_.get(), ctx.stream));
      source = padded_x_.get();
    }
    float* z = act_.linear() ? y : z_.get();
    SWEEP_GPU_CHECK(cudnnConvolutionForward(ctx.cudnn, &kOne, source_, source, filter_, kernel_.value, conv_,
                                            algo_.forward, ctx.workspace, ctx.workspace_bytes, &kZero, y_, z));
    if (bias_.value != nullptr)
      SWEEP_GPU_CHECK(cuda::add_bias(z, bias_.value, n_, out_.c, int64_t(out_.h) * out_.w, ctx.stream));
    if (!act_.linear()) act_.forward(ctx, y_, int64_t(n_) * out_.size(), z, y);
  }

  void backward(const GpuContext& ctx, const float* x, const float* y, const float* dy, float* dx,
                bool need_dx) override {
    const float* dz = dy;
    if (!act_.linear()) {
      act_.backward(ctx, y_, int64_t(n_) * out_.size(), z_.get(), y, dy, dz_.get());
      dz = dz_.get();
    }
    if (bias_.value != nullptr)
      SWEEP_GPU_CHECK(cuda::bias_gradient(dz, n_, out_.c, int64_t(out_.h) * out_.w, bias_.grad, ctx.stream));
    // The padded copy from this batch's forward is still in padded_x_.
    const float* source = explicit_pad_ ? padded_x_.get() : x;
    SWEEP_GPU_CHECK(cudnnConvolutionBackwardFilter(ctx.cudnn, &kOne, source_, source, y_, dz, conv_,
                                                   algo_.backward_filter, ctx.workspace, ctx.workspace_bytes, &kZero,
                                                   filter_, kernel_.grad));
    if (!need_dx) return;
    float* target = explicit_pad_ ? padded_dx_.get() : dx;
    SWEEP_GPU_CHECK(cudnnConvolutionBackwardData(ctx.cudnn, &kOne, filter_, kernel_.value, y_, dz, conv_,
                                                 algo_.backward_data, ctx.workspace, ctx.workspace_bytes, &kZero,
                                                 source_, target));
    if (explicit_pad_)
      SWEEP_GPU_CHECK(cuda::crop_planes(target, int64_t(n_) * in_.c, padded_h_, padded_w_, top_, left_, in_.h, in_.w,
                                        dx, ctx.stream));
  }

  std::string describe() const override {
    return "cudnn conv fwd algo " + std::to_string(int(algo_.forward)) + ", bwd-data algo " +
           std::to_string(int(algo_.backward_data)) + ", bwd-filter algo " +
           std::to_string(int(algo_.backward_filter)) + (explicit_pad_ ? " (explicit asymmetric padding)" : "");
  }

 private:
  static int padding_total(int in, int out, int kernel, int stride, Padding padding) {
    if (padding == Padding::valid) return 0;
    return std::max((out - 1) * stride + kernel - in, 0);
  }

  ConvAlgos choose_algos(const GpuContext& ctx) {
    ConvAlgos algos;
    {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int returned = 0;
      SWEEP_GPU_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.cudnn, source_, filter_, conv_, y_,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
      algos.forward = pick<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(
          perf, returned, "forward", algos.workspace, [&](cudnnConvolutionFwdAlgo_t algo, size_t& bytes) {
            return cudnnGetConvolutionForwardWorkspaceSize(ctx.cudnn, source_, filter_, conv_, y_, algo, &bytes);
          });
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int returned = 0;
      SWEEP_GPU_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
          ctx.cudnn, filter_, y_, conv_, source_, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
      algos.backward_data = pick<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(
          perf, returned, "backward-data", algos.workspace, [&](cudnnConvolutionBwdDataAlgo_t algo, size_t& bytes) {
            return cudnnGetConvolutionBackwardDataWorkspaceSize(ctx.cudnn, filter_, y_, conv_, source_, algo, &bytes);
          });
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int returned = 0;
      SWEEP_GPU_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
          ctx.cudnn, source_, y_, conv_, filter_, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
      algos.backward_filter = pick<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(
          perf, returned, "backward-filter", algos.workspace,
          [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t& bytes) {
            return cudnnGetConvolutionBackwardFilterWorkspaceSize(ctx.cudnn, source_, y_, conv_, filter_, algo,
                                                                  &bytes);
          });
    }
    return algos;
  }

  Shape in_, out_;
  ParamRef kernel_, bias_;
  ActivationOp act_;
  int top_ = 0, left_ = 0, padded_h_ = 0, padded_w_ = 0;
  bool explicit_pad_ = false;
  Owned<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor> filter_;
  Owned<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor> conv_;
  int n_ = 0;
  TensorDesc source_, y_;  // source_: what cuDNN convolves (x, or its padded copy)
  DeviceBuffer<float> z_, dz_, padded_x_, padded_dx_;
  std::map<int, ConvAlgos> algos_;  // per batch size: heuristics are queried once
  ConvAlgos algo_;
};

}  // namespace

std::unique_ptr<GpuLayer> make_conv_layer(const LayerSpec& spec, const Shape& in, const Shape& out,
                                          const std::vector<ParamRef>& params, bool tensor_math) {
  return std::make_unique<ConvLayer>(spec, in, out, params, tensor_math);
}

}  // namespace sweep::gpu
