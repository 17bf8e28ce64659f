// A GPU Session: its own CUDA stream, cuDNN handle, cuBLAS handle and cuDNN
// workspace, so several runs share one GPU without sharing state. Every
// public method first makes the session's device current (TBB may resume a
// run on another thread) and ends with the stream synchronised, so nothing is
// in flight between calls. Weights live in one contiguous device buffer (and
// the BatchNorm moving statistics in another), so each optimizer step is one
// fused kernel over all trainable parameters.
#include "backends/gpu/gpu_session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backends/gpu/gpu_layers.h"
#include "backends/gpu/gpu_probe.h"
#include "common/error.h"
#include "kernels/common/rng.h"
#include "kernels/cuda/kernels.h"

namespace sweep::gpu {
namespace {

// Samples per forward pass in predict(): bounds activation memory.
constexpr size_t kPredictChunk = 1024;

// Where one canonical parameter tensor lives: the trainable buffer (weights,
// gradients, optimizer slots share offsets) or the statistics buffer.
struct TensorPlace {
  bool trainable = true;
  size_t offset = 0;
  size_t size = 0;
};

// How many canonical parameter tensors a layer owns (model/model.h order).
size_t tensor_count(const LayerSpec& spec) {
  switch (spec.kind) {
    case LayerKind::conv2d:
    case LayerKind::dense: return spec.use_bias ? 2 : 1;
    case LayerKind::batchnorm: return 4;
    default: return 0;
  }
}

// The batch sums as the loss kernel writes them, copied back together.
struct BatchSums {
  double loss_sum = 0;
  long long correct = 0;
};
static_assert(sizeof(BatchSums) == 2 * sizeof(double) && std::is_standard_layout_v<BatchSums>);

class GpuSession final : public Session, public GradientProbe {
 public:
  GpuSession(const ModelSpec& model, const OptimizerSpec& optimizer, const SessionOptions& options,
             DeviceDataCache& cache, const std::string& device_name)
      : model_(model), optimizer_(optimizer), options_(options), cache_(cache), device_name_(device_name) {
    info_ = infer(model_);  // validates, fills layer names
    device_ = options.device;
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    SWEEP_GPU_CHECK(cudaStreamCreateWithFlags(stream_.out(), cudaStreamNonBlocking));
    SWEEP_GPU_CHECK(cudnnCreate(cudnn_.out()));
    SWEEP_GPU_CHECK(cudnnSetStream(cudnn_, stream_));
    SWEEP_GPU_CHECK(cublasCreate(cublas_.out()));
    SWEEP_GPU_CHECK(cublasSetStream(cublas_, stream_));
    tensor_math_ = options.precision == Precision::bf16;
    // fp32: plain FMA sgemm. bf16 runs: TF32 tensor cores, fp32 storage.
    SWEEP_GPU_CHECK(cublasSetMathMode(cublas_, tensor_math_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    ctx_.stream = stream_;
    ctx_.cudnn = cudnn_;
    ctx_.cublas = cublas_;
    ctx_.dropout_key = rng::derive_key(options.seed, rng::kDropout);
    device_sums_.resize(2);
    host_sums_.reserve(1);

    place_parameters();
    build_layers();
    allocate_optimizer_state();
    set_params(initial_params(model_, options.seed));
  }

  ~GpuSession() override {
    // Finish queued work before the buffers and handles go (errors ignored:
    // destructors must not throw).
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
  }

  Params get_params() const override {
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    std::vector<float> weights(weights_.size()), stats(stats_.size());
    copy_to_host(weights_, weights);
    copy_to_host(stats_, stats);
    Params params = param_layout(model_);
    for (size_t i = 0; i < params.size(); ++i) {
      const TensorPlace& place = places_[i];
      const std::vector<float>& from = place.trainable ? weights : stats;
      params[i].values.assign(from.begin() + ptrdiff_t(place.offset),
                              from.begin() + ptrdiff_t(place.offset + place.size));
    }
    return params;
  }

  void set_params(const Params& params) override {
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    const Params layout = param_layout(model_);
    if (params.size() != layout.size())
      throw RuntimeError("set_params: expected " + std::to_string(layout.size()) + " tensors, got " +
                         std::to_string(params.size()));
    std::vector<float> weights(weights_.size()), stats(stats_.size());
    for (size_t i = 0; i < layout.size(); ++i) {
      if (params[i].shape != layout[i].shape || params[i].values.size() != size_t(layout[i].size()))
        throw RuntimeError("set_params: tensor " + std::to_string(i) + " (" + layout[i].name +
                           ") does not have the canonical shape");
      std::vector<float>& to = places_[i].trainable ? weights : stats;
      std::copy(params[i].values.begin(), params[i].values.end(), to.begin() + ptrdiff_t(places_[i].offset));
    }
    copy_to_device(weights, weights_);
    copy_to_device(stats, stats_);
  }

  // The slots allocate_optimizer_state() made, one value per trainable
  // parameter in weights_' order.
  OptimizerState optimizer_state() const override {
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    OptimizerState state;
    state.steps = uint64_t(steps_);
    for (const DeviceBuffer<float>* slot : {&slot1_, &slot2_}) {
      if (slot->get() == nullptr) continue;
      std::vector<float>& host = state.slots.emplace_back(weights_.size());
      copy_to_host(*slot, host);
    }
    return state;
  }

  void set_optimizer_state(const OptimizerState& state) override {
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    std::vector<DeviceBuffer<float>*> slots;
    for (DeviceBuffer<float>* slot : {&slot1_, &slot2_})
      if (slot->get() != nullptr) slots.push_back(slot);
    if (state.slots.size() != slots.size())
      throw RuntimeError("set_optimizer_state: expected " + std::to_string(slots.size()) + " slot arrays, got " +
                         std::to_string(state.slots.size()));
    for (size_t s = 0; s < slots.size(); ++s) {
      if (state.slots[s].size() != weights_.size())
        throw RuntimeError("set_optimizer_state: slot array " + std::to_string(s + 1) + " has the wrong size");
      copy_to_device(state.slots[s], *slots[s]);
    }
    steps_ = int64_t(state.steps);
  }

  StepStats train_step(const Samples& split, std::span<const int32_t> indices) override {
    if (indices.empty()) return {};
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    forward_backward(split, indices, steps_);
    ++steps_;  // Adam's t is the 1-based update count
    apply_optimizer();
    return finish();
  }

  void predict(const Samples& split, std::span<const int32_t> indices, float* probs) override {
    if (indices.empty()) return;
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    const int classes = model_.classes;
    for (size_t begin = 0; begin < indices.size(); begin += kPredictChunk) {
      const auto chunk = indices.subspan(begin, std::min(kPredictChunk, indices.size() - begin));
      const int n = int(chunk.size());
      load_batch(split, chunk);
      forward(false);
      const size_t count = size_t(n) * size_t(classes);
      SWEEP_GPU_CHECK(cuda::output_probabilities(act_[layers_.size()], n, classes, sigmoid_output(), probs_.get(),
                                                 stream_));
      SWEEP_GPU_CHECK(cudaMemcpyAsync(host_probs_.get(), probs_.get(), count * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream_));
      SWEEP_GPU_CHECK(cudaStreamSynchronize(stream_));
      std::memcpy(probs + begin * size_t(classes), host_probs_.get(), count * sizeof(float));
    }
  }

  std::string describe() const override {
    std::string text = "cuDNN " + std::to_string(cudnnGetVersion()) + " + cuBLAS on " + device_name_ +
                       (tensor_math_ ? ", TF32 tensor cores" : ", fp32 FMA") + "; one stream per session";
    for (size_t l = 0; l < layers_.size(); ++l) {
      const std::string what = layers_[l]->describe();
      if (!what.empty()) text += "; " + model_.layers[l].name + ": " + what;
    }
    return text;
  }

  StepStats loss_and_gradients(const Samples& split, std::span<const int32_t> indices, int64_t step,
                               Params& grads) override {
    SWEEP_GPU_CHECK(cudaSetDevice(device_));
    grads = param_layout(model_);
    if (indices.empty()) return {};
    forward_backward(split, indices, step);
    const StepStats stats = finish();
    std::vector<float> host(gradients_.size());
    copy_to_host(gradients_, host);
    for (size_t i = 0; i < grads.size(); ++i)
      if (places_[i].trainable)
        grads[i].values.assign(host.begin() + ptrdiff_t(places_[i].offset),
                               host.begin() + ptrdiff_t(places_[i].offset + places_[i].size));
    return stats;
  }

 private:
  bool sigmoid_output() const { return model_.layers.back().activation == Activation::sigmoid; }

  void place_parameters() {
    const Params layout = param_layout(model_);
    size_t trainable = 0, statistics = 0;
    for (const ParamTensor& tensor : layout) {
      TensorPlace place{tensor.trainable, tensor.trainable ? trainable : statistics, size_t(tensor.size())};
      (tensor.trainable ? trainable : statistics) += place.size;
      places_.push_back(place);
    }
    weights_.resize(trainable);
    gradients_.resize(trainable);
    stats_.resize(statistics);
  }

  void build_layers() {
    size_t tensor = 0;
    first_param_layer_ = int(model_.layers.size());
    for (size_t l = 0; l < model_.layers.size(); ++l) {
      LayerSpec spec = model_.layers[l];
      // The output layer's softmax/sigmoid belongs to the fused loss kernel.
      if (l + 1 == model_.layers.size()) spec.activation = Activation::linear;
      std::vector<ParamRef> refs;
      for (size_t k = 0; k < tensor_count(spec); ++k, ++tensor) {
        if (tensor >= places_.size()) throw RuntimeError("gpu backend: parameter layout shorter than the layers");
        const TensorPlace& place = places_[tensor];
        refs.push_back(place.trainable ? ParamRef{weights_.get() + place.offset, gradients_.get() + place.offset}
                                       : ParamRef{stats_.get() + place.offset, nullptr});
      }
      if (!refs.empty()) first_param_layer_ = std::min(first_param_layer_, int(l));
      const Shape& in = info_.layers[l].input;
      layers_.push_back(make_layer(spec, int(l), in, info_.layers[l].output, refs, tensor_math_));
    }
    if (tensor != places_.size()) throw RuntimeError("gpu backend: parameter layout longer than the layers");
    act_.assign(layers_.size() + 1, nullptr);
    act_buffers_.resize(layers_.size() + 1);
  }

  void allocate_optimizer_state() {
    const size_t count = weights_.size();
    const bool first = optimizer_.kind == Optimizer::adam || optimizer_.kind == Optimizer::rmsprop ||
                       optimizer_.momentum != 0.0;
    const bool second =
        optimizer_.kind == Optimizer::adam || (optimizer_.kind == Optimizer::rmsprop && optimizer_.momentum > 0);
    if (first) slot1_.resize(count);
    if (second) slot2_.resize(count);
    if (slot1_.get() != nullptr) SWEEP_GPU_CHECK(cudaMemsetAsync(slot1_.get(), 0, count * sizeof(float), stream_));
    if (slot2_.get() != nullptr) SWEEP_GPU_CHECK(cudaMemsetAsync(slot2_.get(), 0, count * sizeof(float), stream_));
  }

  // Descriptors and buffers for batches of n (buffers only grow).
  void prepare(int n) {
    if (n == prepared_n_) return;
    if (n > capacity_) {
      const size_t rows = size_t(n);
      size_t largest = size_t(model_.input.size());
      act_buffers_[0].resize(rows * largest);
      for (size_t l = 0; l < layers_.size(); ++l) {
        const size_t out = size_t(info_.layers[l].output.size());
        largest = std::max(largest, out);
        if (!layers_[l]->is_identity()) act_buffers_[l + 1].resize(rows * out);
      }
      for (auto& buffer : grad_buffers_) buffer.resize(rows * largest);
      indices_.resize(rows);
      labels_.resize(rows);
      host_indices_.reserve(rows);
      const size_t probs = rows * size_t(model_.classes);
      probs_.resize(probs);
      host_probs_.reserve(probs);
      capacity_ = n;
    }
    act_[0] = act_buffers_[0].get();
    for (size_t l = 0; l < layers_.size(); ++l)
      act_[l + 1] = layers_[l]->is_identity() ? act_[l] : act_buffers_[l + 1].get();
    size_t workspace = 0;
    for (auto& layer : layers_) workspace = std::max(workspace, layer->prepare(ctx_, n));
    workspace_.reserve(workspace);
    ctx_.workspace = workspace_.get();
    ctx_.workspace_bytes = workspace_.size();
    prepared_n_ = n;
  }

  // Gathers data[indices] (and labels) into the input buffer on the device.
  void load_batch(const Samples& split, std::span<const int32_t> indices) {
    if (split.shape.size() != model_.input.size())
      throw RuntimeError("gpu backend: samples of " + std::to_string(split.shape.size()) +
                         " values do not fit the model input of " + std::to_string(model_.input.size()));
    for (const int32_t index : indices)
      if (index < 0 || index >= split.count)
        throw RuntimeError("gpu backend: sample index " + std::to_string(index) + " outside the split (" +
                           std::to_string(split.count) + " samples)");
    const int n = int(indices.size());
    prepare(n);
    // The trainer passes the same split batch after batch: skip the cache
    // lookup (and its fingerprint) while the host split is unchanged.
    const void* host_data = split.is_u8() ? static_cast<const void*>(split.u8.data()) : split.f32.data();
    if (!data_ || data_split_ != &split || data_host_ != host_data || data_->count != split.count) {
      data_ = cache_.get(split);  // held: keeps the device copy alive while in use
      data_split_ = &split;
      data_host_ = host_data;
    }
    std::memcpy(host_indices_.get(), indices.data(), indices.size_bytes());
    SWEEP_GPU_CHECK(cudaMemcpyAsync(indices_.get(), host_indices_.get(), indices.size_bytes(),
                                    cudaMemcpyHostToDevice, stream_));
    const int64_t size = data_->sample_size;
    if (data_->is_u8)
      SWEEP_GPU_CHECK(cuda::gather_u8(data_->u8.get(), data_->labels.get(), indices_.get(), n, size, act_[0],
                                      labels_.get(), stream_));
    else
      SWEEP_GPU_CHECK(cuda::gather_f32(data_->f32.get(), data_->labels.get(), indices_.get(), n, size, act_[0],
                                       labels_.get(), stream_));
  }

  void forward(bool training) {
    for (size_t l = 0; l < layers_.size(); ++l)
      if (!layers_[l]->is_identity()) layers_[l]->forward(ctx_, act_[l], act_[l + 1], training);
  }

  // Queues gather, training forward, loss and backward; the batch sums are
  // copied to pinned memory for finish().
  void forward_backward(const Samples& split, std::span<const int32_t> indices, int64_t step) {
    load_batch(split, indices);
    ctx_.step = step;
    forward(true);
    const int n = int(indices.size());
    float* dy = grad_buffers_[0].get();
    // The sums go to two adjacent slots of one device array (double, then the
    // count stored in a long long reinterpretation of the second slot).
    double* sums = device_sums_.get();
    SWEEP_GPU_CHECK(cuda::loss_and_gradient(act_[layers_.size()], labels_.get(), n, model_.classes,
                                            sigmoid_output(), dy, sums, reinterpret_cast<long long*>(sums + 1),
                                            stream_));
    SWEEP_GPU_CHECK(
        cudaMemcpyAsync(host_sums_.get(), sums, sizeof(BatchSums), cudaMemcpyDeviceToHost, stream_));
    // Layers before the first one with parameters need no gradient at all.
    for (int l = int(layers_.size()) - 1; l >= first_param_layer_; --l) {
      GpuLayer& layer = *layers_[size_t(l)];
      if (layer.is_identity()) continue;  // dx is dy itself
      float* dx = dy == grad_buffers_[0].get() ? grad_buffers_[1].get() : grad_buffers_[0].get();
      layer.backward(ctx_, act_[size_t(l)], act_[size_t(l) + 1], dy, dx, l > first_param_layer_);
      dy = dx;
    }
  }

  void apply_optimizer() {
    const auto count = int64_t(weights_.size());
    const float lr = float(optimizer_.learning_rate), momentum = float(optimizer_.momentum);
    const float epsilon = float(optimizer_.epsilon);
    switch (optimizer_.kind) {
      case Optimizer::sgd:
        SWEEP_GPU_CHECK(cuda::sgd_update(weights_.get(), gradients_.get(), slot1_.get(), count, lr, momentum,
                                         optimizer_.nesterov, stream_));
        break;
      case Optimizer::adam: {
        const double t = double(steps_);
        const float lr_t = float(optimizer_.learning_rate * std::sqrt(1.0 - std::pow(optimizer_.beta_2, t)) /
                                 (1.0 - std::pow(optimizer_.beta_1, t)));
        SWEEP_GPU_CHECK(cuda::adam_update(weights_.get(), gradients_.get(), slot1_.get(), slot2_.get(), count, lr_t,
                                          float(optimizer_.beta_1), float(optimizer_.beta_2), epsilon, stream_));
        break;
      }
      case Optimizer::rmsprop:
        SWEEP_GPU_CHECK(cuda::rmsprop_update(weights_.get(), gradients_.get(), slot1_.get(), slot2_.get(), count, lr,
                                             float(optimizer_.rho), momentum, epsilon, stream_));
        break;
    }
  }

  StepStats finish() {
    SWEEP_GPU_CHECK(cudaStreamSynchronize(stream_));
    return StepStats{host_sums_.get()->loss_sum, int64_t(host_sums_.get()->correct)};
  }

  // Copies on the session's stream, then waits: a plain cudaMemcpy runs on
  // the legacy default stream, which our non-blocking stream does not order
  // against, and from pageable memory it may return before the DMA is done.
  void copy_to_host(const DeviceBuffer<float>& from, std::vector<float>& to) const {
    if (to.empty()) return;
    SWEEP_GPU_CHECK(
        cudaMemcpyAsync(to.data(), from.get(), to.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    SWEEP_GPU_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy_to_device(const std::vector<float>& from, DeviceBuffer<float>& to) {
    if (from.empty()) return;
    SWEEP_GPU_CHECK(
        cudaMemcpyAsync(to.get(), from.data(), from.size() * sizeof(float), cudaMemcpyHostToDevice, stream_));
    SWEEP_GPU_CHECK(cudaStreamSynchronize(stream_));
  }

  ModelSpec model_;
  ModelInfo info_;
  OptimizerSpec optimizer_;
  SessionOptions options_;
  DeviceDataCache& cache_;
  std::string device_name_;
  int device_ = 0;
  bool tensor_math_ = false;
  int64_t steps_ = 0;  // train_step count: dropout masks use it 0-based, Adam 1-based

  // Declared before everything that uses them, so destroyed after.
  Owned<cudaStream_t, cudaStreamDestroy> stream_;
  Owned<cudnnHandle_t, cudnnDestroy> cudnn_;
  Owned<cublasHandle_t, cublasDestroy_v2> cublas_;
  GpuContext ctx_;

  std::vector<TensorPlace> places_;  // per canonical tensor
  DeviceBuffer<float> weights_, gradients_, stats_, slot1_, slot2_;
  std::vector<std::unique_ptr<GpuLayer>> layers_;
  int first_param_layer_ = 0;

  int capacity_ = 0, prepared_n_ = 0;
  std::vector<DeviceBuffer<float>> act_buffers_;  // [0] input, [l+1] output of layer l (none for flatten)
  std::vector<float*> act_;                       // the same, with flatten aliasing its input
  DeviceBuffer<float> grad_buffers_[2];           // ping-pong output/input gradients
  DeviceBuffer<uint8_t> workspace_;
  DeviceBuffer<int32_t> indices_, labels_;
  DeviceBuffer<float> probs_;
  DeviceBuffer<double> device_sums_;  // [0] loss sum, [1] correct count (as long long)
  PinnedBuffer<int32_t> host_indices_;
  PinnedBuffer<float> host_probs_;
  PinnedBuffer<BatchSums> host_sums_;
  std::shared_ptr<const DeviceSamples> data_;  // the split last used, on the device
  const Samples* data_split_ = nullptr;          // ... and which host split it copies
  const void* data_host_ = nullptr;
};

}  // namespace

std::unique_ptr<Session> make_gpu_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                          const SessionOptions& options, DeviceDataCache& cache,
                                          const std::string& device_name) {
  return std::make_unique<GpuSession>(model, optimizer, options, cache, device_name);
}

}  // namespace sweep::gpu
