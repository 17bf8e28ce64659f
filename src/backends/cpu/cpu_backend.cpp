// The CPU backend: oneDNN 2.6 convolutions and inner products plus our own
// kernels (kernels/cpu/), one Session per run.
//
// Threads: oneDNN (OpenMP build) and our kernels both run on the OpenMP team
// of the CALLING thread, whose size is a per-thread setting. Every entry point
// therefore calls omp_set_num_threads(options.threads) first, so a session
// uses exactly its thread count whichever TBB worker runs it, and primitives
// are created with the same count they execute with (oneDNN sizes its work
// split at creation). Each session owns its primitives, stream, buffers and a
// user-mode scratchpad per plan: concurrent sessions share only the engine.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "backends/cpu/cpu_plan.h"
#include "common/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "train/backend.h"

namespace sweep {
namespace cpu {
namespace {

const dnnl::engine& process_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// GCC 12 knows the AVX512-BF16 and AMX feature names; clang 14 (the fuzz
// build's compiler) rejects them, so there the answer comes from oneDNN's own
// ISA detection, which knows both.
#if defined(__clang__)
// (Compared for equality: the enum's values are bit masks, not an order.)
bool cpu_has_amx() { return dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx; }
bool cpu_has_bf16() { return cpu_has_amx() || dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_bf16; }
#else
bool cpu_has_bf16() { return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16"); }
bool cpu_has_amx() { return __builtin_cpu_supports("amx-tile"); }
#endif

class CpuSession final : public Session {
 public:
  CpuSession(const ModelSpec& model, const OptimizerSpec& optimizer, const SessionOptions& options)
      : options_(options),
        optimizer_(optimizer),
        net_(model, options.precision, options.seed),
        params_(net_.model),
        stream_(process_engine()) {
    if (options.threads < 1) throw InputError("threads must be at least 1", {}, "threads");
    if (net_.bf16 && !cpu_has_bf16())
      throw InputError("precision bf16 needs a CPU with AVX512-BF16 or AMX; this one has neither", {},
                       "train.precision");
    const size_t bytes = size_t(params_.trainable_count) * sizeof(float);
    slot1_ = Buffer(bytes);
    slot2_ = Buffer(bytes);
    for (size_t i = 0; i < net_.params.size(); ++i)
      if (net_.params[i].kernel_columns_hwc) {
        const Shape& map = net_.info.layers[i - 1].input;
        params_.column_order[size_t(net_.params[i].kernel)] = {int64_t(map.h) * map.w, map.c};
      }
    profile_ = std::getenv("SWEEP_CPU_PROFILE") != nullptr;
    set_params(initial_params(net_.model, options.seed));
  }

  Params get_params() const override {
    Params out = params_.layout;
    for (size_t t = 0; t < out.size(); ++t) {
      out[t].values.resize(size_t(out[t].size()));
      params_.read(int(t), out[t].values.data());
    }
    return out;
  }

  void set_params(const Params& params) override {
    if (params.size() != params_.layout.size())
      throw InputError("expected " + std::to_string(params_.layout.size()) + " parameter tensors, got " +
                       std::to_string(params.size()));
    for (size_t t = 0; t < params.size(); ++t) {
      const ParamTensor& want = params_.layout[t];
      if (params[t].shape != want.shape || int64_t(params[t].values.size()) != want.size())
        throw InputError("parameter tensor " + std::to_string(t) + " (" + want.name + ") has the wrong shape", {},
                         want.name);
      params_.write(int(t), params[t].values.data());
    }
    ++params_.version;
  }

  // slot1_ and slot2_ hold one value per trainable parameter in ParamStore's order.
  OptimizerState optimizer_state() const override {
    OptimizerState state;
    state.steps = steps_;
    const size_t count = size_t(params_.trainable_count);
    const int slots = optimizer_slot_count(optimizer_);
    for (int s = 0; s < slots; ++s) {
      const float* from = (s == 0 ? slot1_ : slot2_).as<float>();
      state.slots.emplace_back(from, from + count);
    }
    return state;
  }

  void set_optimizer_state(const OptimizerState& state) override {
    const size_t count = size_t(params_.trainable_count);
    const size_t slots = size_t(optimizer_slot_count(optimizer_));
    if (state.slots.size() != slots)
      throw RuntimeError("set_optimizer_state: expected " + std::to_string(slots) + " slot arrays, got " +
                         std::to_string(state.slots.size()));
    for (size_t s = 0; s < slots; ++s) {
      if (state.slots[s].size() != count)
        throw RuntimeError("set_optimizer_state: slot array " + std::to_string(s + 1) + " has " +
                           std::to_string(state.slots[s].size()) + " values, expected " + std::to_string(count));
      std::copy(state.slots[s].begin(), state.slots[s].end(), (s == 0 ? slot1_ : slot2_).as<float>());
    }
    steps_ = state.steps;
  }

  StepStats train_step(const Samples& split, std::span<const int32_t> indices) override {
    omp_set_num_threads(options_.threads);
    if (indices.empty()) throw RuntimeError("cpu backend: empty training batch");
    Plan& p = plan(int64_t(indices.size()), true);
    p.load(split, indices);
    // The weight copies into primitive layouts belong to the last update.
    const double t_sync = profile_ ? now_ms() : 0;
    p.sync_weights(stream_);
    if (profile_) update_ms_ += now_ms() - t_sync;
    p.forward(stream_, true, steps_);
    const StepStats stats = p.loss_and_gradient();
    p.backward(stream_);
    const double t0 = profile_ ? now_ms() : 0;
    update();
    if (profile_) update_ms_ += now_ms() - t0;
    ++steps_;
    ++params_.version;
    return stats;
  }

  void predict(const Samples& split, std::span<const int32_t> indices, float* probs) override {
    omp_set_num_threads(options_.threads);
    const int64_t n = int64_t(indices.size());
    if (n == 0) return;
    // Large requests go in fixed chunks (padded at the end) so one plan serves
    // them all and memory stays bounded; samples are independent in eval mode.
    const int64_t chunk = std::min<int64_t>(n, kPredictChunk);
    Plan& p = plan(chunk, false);
    p.sync_weights(stream_);
    const int classes = net_.model.classes;
    std::vector<int32_t> rows(static_cast<size_t>(chunk));
    std::vector<float> out(static_cast<size_t>(chunk * classes));
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t take = std::min(chunk, n - start);
      for (int64_t i = 0; i < chunk; ++i) rows[size_t(i)] = indices[size_t(start + std::min(i, take - 1))];
      p.load(split, rows);
      p.forward(stream_, false, steps_);
      p.output_probs(out.data());
      std::memcpy(probs + start * classes, out.data(), size_t(take * classes) * sizeof(float));
    }
  }

  std::string describe() const override {
    omp_set_num_threads(options_.threads);
    const Plan* train = nullptr;
    for (const auto& p : plans_)
      if (p->has_backward() && (!train || p->batch() > train->batch())) train = p.get();
    if (!train) train = &const_cast<CpuSession*>(this)->plan(32, true);
    std::ostringstream out;
    out << train->describe();
    if (profile_ && steps_ > 0) {
      out.setf(std::ios::fixed);
      out.precision(3);
      const double steps = double(steps_);
      double total = 0;
      out << "profile (ms per step, batch " << train->batch() << "):\n";
      for (size_t i = 0; i < train->times().size(); ++i) {
        const LayerTimes& t = train->times()[i];
        out << "  " << net_.model.layers[i].name << " fwd " << t.forward_ms / steps << " bwd " << t.backward_ms / steps
            << "\n";
        total += t.forward_ms + t.backward_ms;
      }
      out << "  loss " << train->loss_ms() / steps << "\n  update " << update_ms_ / steps << "\n";
      out << "  total " << (total + train->loss_ms() + update_ms_) / steps << "\n";
    }
    return out.str();
  }

 private:
  static constexpr int64_t kPredictChunk = 256;
  static constexpr size_t kMaxPlans = 4;

  // The plan for a batch size, built on first use; least recently used last out.
  Plan& plan(int64_t n, bool backward) {
    for (size_t i = 0; i < plans_.size(); ++i) {
      if (plans_[i]->batch() == n && (plans_[i]->has_backward() || !backward)) {
        std::rotate(plans_.begin() + long(i), plans_.begin() + long(i) + 1, plans_.end());
        return *plans_.back();
      }
    }
    if (plans_.size() >= kMaxPlans) plans_.erase(plans_.begin());
    plans_.push_back(std::make_unique<Plan>(net_, params_, n, process_engine(), backward));
    plans_.back()->enable_profile(profile_ && backward);
    return *plans_.back();
  }

  void update() {
    const OptimizerSpec& o = optimizer_;
    float* w = params_.weights.as<float>();
    const float* g = params_.grads.as<float>();
    const int64_t count = params_.trainable_count;
    const float lr = float(o.learning_rate);
    switch (o.kind) {
      case Optimizer::sgd:
        cpu_kernels::sgd_update(w, g, slot1_.as<float>(), count, lr, float(o.momentum), o.nesterov);
        break;
      case Optimizer::adam: {
        const double t = double(steps_ + 1);
        const double lr_t = o.learning_rate * std::sqrt(1.0 - std::pow(o.beta_2, t)) / (1.0 - std::pow(o.beta_1, t));
        cpu_kernels::adam_update(w, g, slot1_.as<float>(), slot2_.as<float>(), count, float(lr_t), float(o.beta_1),
                                 float(o.beta_2), float(o.epsilon));
        break;
      }
      case Optimizer::rmsprop:
        cpu_kernels::rmsprop_update(w, g, slot1_.as<float>(), slot2_.as<float>(), count, lr, float(o.rho),
                                    float(o.momentum), float(o.epsilon));
        break;
    }
  }

  SessionOptions options_;
  OptimizerSpec optimizer_;
  NetDesc net_;
  ParamStore params_;
  dnnl::stream stream_;
  Buffer slot1_, slot2_;  // optimizer state: velocity / m, v / accumulator, momentum
  uint64_t steps_ = 0;
  bool profile_ = false;
  double update_ms_ = 0;
  std::vector<std::unique_ptr<Plan>> plans_;  // least recently used first
};

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  int device_count() const override { return 1; }
  std::string device_name(int) const override {
    std::string isa = "oneDNN ";
    const dnnl::version_t* v = dnnl::version();
    isa += std::to_string(v->major) + "." + std::to_string(v->minor);
    isa += cpu_has_bf16() ? ", bf16-capable" : "";
    isa += cpu_has_amx() ? ", AMX" : "";
    return "CPU (" + isa + ")";
  }
  std::string library() const override {
    const dnnl::version_t* v = dnnl::version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }
  std::unique_ptr<Session> create_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                          const SessionOptions& options) override {
    omp_set_num_threads(std::max(1, options.threads));
    return std::make_unique<CpuSession>(model, optimizer, options);
  }
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<cpu::CpuBackend>(); }

}  // namespace sweep
