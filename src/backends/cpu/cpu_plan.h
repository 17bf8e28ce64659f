// One batch size's worth of the CPU network: oneDNN primitives for the
// convolutions and dense layers (NHWC activations, weights in whatever layout
// oneDNN prefers), our own kernels for everything else, and the activation
// and gradient buffers they run on. A Session keeps a few Plans (training
// batch, last partial batch, prediction chunk) over one shared ParamStore.
#pragma once
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "data/dataset.h"
#include "model/model.h"
#include "train/backend.h"

namespace sweep::cpu {

// Milliseconds on the steady clock: the SWEEP_PROFILE timings of a session.
double now_ms();

// A zero-initialised, 64-byte-aligned block of memory.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes);
  template <class T>
  T* as() const { return static_cast<T*>(data_.get()); }
  size_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t bytes_ = 0;
};

// The parameters in the canonical layout of model/model.h: all trainable
// tensors back to back in one flat array (so the optimizer is one pass), the
// non-trainable ones (BatchNorm moving statistics) in another.
struct ParamStore {
  Params layout;                // names and shapes; values unused
  std::vector<int64_t> offset;  // per tensor: into weights/grads, or into frozen
  int64_t trainable_count = 0;
  Buffer weights, grads;        // fp32 master weights and their gradients
  std::vector<float> frozen;
  uint64_t version = 0;         // bumped whenever weights change
  // Per tensor: hw > 0 for a Dense kernel fed by Flatten of a (c, h, w) map,
  // stored with its columns in H, W, C order (the NHWC activations' own
  // order) instead of the canonical C, H, W, so Flatten moves no data.
  struct ColumnOrder {
    int64_t hw = 0, c = 0;
  };
  std::vector<ColumnOrder> column_order;
  // Per tensor: the oneDNN layout its values and gradients are kept in when
  // the first plan's primitives want one (decided once, before any update;
  // the optimizer is elementwise), so no weight or gradient reorder runs per
  // step. A zero desc means the plain layout (canonical, or with its columns
  // in H, W, C order as above).
  std::vector<dnnl::memory::desc> blocked;
  std::vector<bool> layout_decided;

  explicit ParamStore(const ModelSpec& model);
  float* value(int tensor) const;
  float* grad(int tensor) const;
  // Copy one tensor out of / into the store in the canonical layout.
  void read(int tensor, float* canonical) const;
  void write(int tensor, const float* canonical);
  // The first call per tensor keeps it in `preferred` from then on (moving
  // its values) when that layout has no padding; every call returns the
  // layout the tensor is stored in.
  dnnl::memory::desc adopt_layout(int tensor, const dnnl::memory::desc& plain, const dnnl::memory::desc& preferred);
};

// Indices into ParamStore::layout of one layer's tensors (-1 = none).
struct LayerParams {
  int kernel = -1, bias = -1, gamma = -1, beta = -1, moving_mean = -1, moving_var = -1;
  // Dense right after a Flatten of a multi-channel map: the Flatten is a
  // no-op and the kernel's columns are stored in H, W, C order (ParamStore).
  bool kernel_columns_hwc = false;
};

// What every Plan of a session shares about the network.
struct NetDesc {
  ModelSpec model;  // names filled in by infer()
  ModelInfo info;
  std::vector<LayerParams> params;
  int first_trainable = 0;  // backward stops here (and skips its input gradient)
  bool bf16 = false;
  uint64_t dropout_key = 0;
  bool sigmoid_output = false;

  explicit NetDesc(const ModelSpec& spec, Precision precision, uint64_t seed);
};

// Milliseconds spent per layer, for `bench_train --profile`.
struct LayerTimes {
  double forward_ms = 0, backward_ms = 0;
};

class Plan {
 public:
  // with_backward: also build the backward primitives and gradient buffers.
  Plan(const NetDesc& net, ParamStore& params, int64_t batch, const dnnl::engine& engine, bool with_backward);
  ~Plan();
  int64_t batch() const { return batch_; }
  bool has_backward() const { return with_backward_; }

  // Gather data[rows] (exactly batch() of them) into the input buffer.
  void load(const Samples& data, std::span<const int32_t> rows);
  // Refresh the primitive-layout (and bf16) weight copies if params changed.
  void sync_weights(dnnl::stream& stream);
  void forward(dnnl::stream& stream, bool training, uint64_t step);
  // Loss sums of the last forward; writes the gradient of the mean loss.
  StepStats loss_and_gradient();
  void backward(dnnl::stream& stream);
  // Output probabilities of the last forward (batch() x classes).
  void output_probs(float* probs) const;

  std::string describe() const;
  void enable_profile(bool on) { profile_ = on; }
  const std::vector<LayerTimes>& times() const { return times_; }
  double loss_ms() const { return loss_ms_; }

 private:
  struct Layer;
  void build_conv_or_dense(size_t i);
  void build_backward(size_t i);
  void add_weight_copy(Layer& layer, const dnnl::memory::desc& desc, dnnl::memory& out);
  void forward_layer(dnnl::stream& stream, size_t i, bool training, uint64_t step);
  void backward_layer(dnnl::stream& stream, size_t i);

  const NetDesc& net_;
  ParamStore& params_;
  int64_t batch_;
  bool with_backward_;
  dnnl::engine engine_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Buffer> owned_;     // activation and gradient storage
  std::vector<float*> act_;       // act_[0] input, act_[i+1] output of layer i
  std::vector<float*> grad_;      // gradient w.r.t. act_[k] (null where unneeded)
  std::vector<uint8_t> labels_;
  void track(const dnnl::primitive_desc_base& pd) {
    scratch_bytes_ = std::max(scratch_bytes_, pd.scratchpad_desc().get_size());
  }
  size_t scratch_bytes_ = 0;
  Buffer scratchpad_;
  dnnl::memory scratch_mem_;
  uint64_t synced_version_ = ~uint64_t(0);
  bool profile_ = false;
  std::vector<LayerTimes> times_;
  double loss_ms_ = 0;
};

}  // namespace sweep::cpu
