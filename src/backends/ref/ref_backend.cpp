// The reference backend: the Network of plain loops, in float, behind the
// Backend/Session interface. Single-threaded by design: it is the yardstick
// other backends are compared with, not a fast path.
#include <algorithm>
#include <memory>

#include "backends/ref/network.h"
#include "common/error.h"
#include "train/backend.h"

namespace sweep {
namespace {

// Gather samples data[indices] as a float NCHW batch.
void gather(const Samples& split, std::span<const int32_t> indices, ref::Tensor<float>& batch) {
  batch.resize(int(indices.size()), split.shape.c, split.shape.h, split.shape.w);
  const int64_t stride = split.shape.size();
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= split.count)
      throw RuntimeError("ref backend: sample index " + std::to_string(indices[i]) + " outside the split (" +
                         std::to_string(split.count) + " samples)");
    split.copy_sample(indices[i], batch.data.data() + i * size_t(stride));
  }
}

class RefSession final : public Session {
 public:
  RefSession(const ModelSpec& model, const OptimizerSpec& optimizer, const SessionOptions& options)
      : net_(model), optimizer_(optimizer), options_(options) {
    set_params(initial_params(model, options.seed));
    for (const auto& p : net_.params) {
      slot1_.emplace_back(p.size(), 0.0f);
      slot2_.emplace_back(p.size(), 0.0f);
    }
  }

  Params get_params() const override {
    Params params = param_layout(net_.model());
    for (size_t i = 0; i < params.size(); ++i) params[i].values = net_.params[i];
    return params;
  }

  void set_params(const Params& params) override {
    const Params layout = param_layout(net_.model());
    if (params.size() != layout.size())
      throw RuntimeError("set_params: expected " + std::to_string(layout.size()) + " tensors, got " +
                         std::to_string(params.size()));
    for (size_t i = 0; i < layout.size(); ++i) {
      if (params[i].shape != layout[i].shape || params[i].values.size() != size_t(layout[i].size()))
        throw RuntimeError("set_params: tensor " + std::to_string(i) + " (" + layout[i].name +
                           ") does not have the canonical shape");
      net_.params[i] = params[i].values;
    }
  }

  // Slots concatenated over the trainable tensors in canonical order.
  OptimizerState optimizer_state() const override {
    OptimizerState state;
    state.steps = uint64_t(steps_);
    const int slots = optimizer_slot_count(optimizer_);
    for (int s = 0; s < slots; ++s) {
      const auto& per_tensor = s == 0 ? slot1_ : slot2_;
      std::vector<float>& flat = state.slots.emplace_back();
      for (size_t p = 0; p < per_tensor.size(); ++p)
        if (net_.trainable[p]) flat.insert(flat.end(), per_tensor[p].begin(), per_tensor[p].end());
    }
    return state;
  }

  void set_optimizer_state(const OptimizerState& state) override {
    const size_t slots = size_t(optimizer_slot_count(optimizer_));
    if (state.slots.size() != slots)
      throw RuntimeError("set_optimizer_state: expected " + std::to_string(slots) + " slot arrays, got " +
                         std::to_string(state.slots.size()));
    for (size_t s = 0; s < slots; ++s) {
      auto& per_tensor = s == 0 ? slot1_ : slot2_;
      size_t at = 0;
      for (size_t p = 0; p < per_tensor.size(); ++p) {
        if (!net_.trainable[p]) continue;
        if (at + per_tensor[p].size() > state.slots[s].size())
          throw RuntimeError("set_optimizer_state: slot array " + std::to_string(s + 1) + " is too short");
        std::copy_n(state.slots[s].begin() + ptrdiff_t(at), per_tensor[p].size(), per_tensor[p].begin());
        at += per_tensor[p].size();
      }
      if (at != state.slots[s].size())
        throw RuntimeError("set_optimizer_state: slot array " + std::to_string(s + 1) + " is too long");
    }
    steps_ = int64_t(state.steps);
  }

  StepStats train_step(const Samples& split, std::span<const int32_t> indices) override {
    if (indices.empty()) return {};
    gather(split, indices, batch_);
    const int n = int(indices.size()), classes = net_.model().classes;
    const ref::Tensor<float>& logits = net_.forward(batch_, true, options_.seed, steps_);
    labels_.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) labels_[i] = split.labels[size_t(indices[i])];
    dlogits_.resize(n, classes, 1, 1);
    const ref::LossResult loss =
        ref::output_loss(net_.output_activation(), logits.data.data(), n, classes, labels_.data(), dlogits_.data.data());
    net_.backward(dlogits_);
    ++steps_;
    for (size_t p = 0; p < net_.params.size(); ++p)
      if (net_.trainable[p])
        ref::optimizer_update(optimizer_, steps_, net_.params[p].data(), net_.grads[p].data(), slot1_[p].data(),
                              slot2_[p].data(), int64_t(net_.params[p].size()));
    return StepStats{loss.loss_sum, loss.correct};
  }

  void predict(const Samples& split, std::span<const int32_t> indices, float* probs) override {
    // In chunks, so that predicting a whole test split needs little memory.
    constexpr size_t kChunk = 256;
    const int classes = net_.model().classes;
    for (size_t begin = 0; begin < indices.size(); begin += kChunk) {
      const auto chunk = indices.subspan(begin, std::min(kChunk, indices.size() - begin));
      gather(split, chunk, batch_);
      const ref::Tensor<float>& logits = net_.forward(batch_, false);
      ref::output_probabilities(net_.output_activation(), logits.data.data(), int(chunk.size()), classes,
                                probs + begin * size_t(classes));
    }
  }

  std::string describe() const override { return "reference C++ loops, fp32, 1 thread"; }

 private:
  ref::Network<float> net_;
  OptimizerSpec optimizer_;
  SessionOptions options_;
  std::vector<std::vector<float>> slot1_, slot2_;  // optimizer state per tensor
  int64_t steps_ = 0;                              // train_step count (dropout masks, Adam's t)
  ref::Tensor<float> batch_, dlogits_;
  std::vector<uint8_t> labels_;
};

class RefBackend final : public Backend {
 public:
  std::string name() const override { return "ref"; }
  int device_count() const override { return 1; }
  std::string device_name(int) const override { return "CPU (reference loops)"; }
  std::unique_ptr<Session> create_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                          const SessionOptions& options) override {
    if (options.precision != Precision::fp32)
      throw InputError("the ref backend computes in fp32 only", {}, "train.precision");
    return std::make_unique<RefSession>(model, optimizer, options);
  }
};

}  // namespace

std::unique_ptr<Backend> make_ref_backend() { return std::make_unique<RefBackend>(); }

}  // namespace sweep
