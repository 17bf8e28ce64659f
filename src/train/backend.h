// The one narrow interface between the training logic and a device.
//
// Everything above this header (training loop, scheduler, store, report, CLI)
// sees only these types; oneDNN and CUDA headers stay inside src/backends/.
// A Backend is a device family (ref, cpu, gpu); a Session is one run's network,
// parameters and optimizer state on one device. Sessions of the same backend
// may run concurrently on different threads; one Session is used by one thread
// at a time (but not always the same thread: TBB may resume a run elsewhere).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "data/dataset.h"
#include "model/model.h"

namespace sweep {

struct SessionOptions {
  int threads = 1;       // CPU threads this session may use
  int device = 0;        // device index within the backend
  Precision precision = Precision::fp32;
  uint64_t seed = 0;     // dropout masks: rng stream kDropout of this seed
};

// Sums over a batch, computed in training mode before the update.
struct StepStats {
  double loss_sum = 0;   // sum over the batch of the per-sample loss
  int64_t correct = 0;   // argmax(output) == label
};

// The optimizer's state beside the parameters: with them, everything needed
// to continue training exactly where it stopped (checkpoints; the shuffle is
// a function of seed and epoch, the dropout masks of seed and step).
struct OptimizerState {
  uint64_t steps = 0;  // train_step calls so far: Adam's t, the dropout stream's position
  // optimizer_slot_count() arrays of one value per trainable parameter, in
  // the backend's own order: a checkpoint resumes on the backend that wrote it.
  std::vector<std::vector<float>> slots;
};

// The slot arrays an optimizer keeps: SGD its velocity (with momentum only),
// Adam m and v, RMSprop its mean square (and momentum buffer with momentum).
int optimizer_slot_count(const OptimizerSpec& optimizer);

class Session {
 public:
  virtual ~Session() = default;

  // Parameters in the canonical layout of model/model.h.
  virtual Params get_params() const = 0;
  virtual void set_params(const Params& params) = 0;

  // The optimizer's state; set_optimizer_state throws RuntimeError when the
  // slot count or sizes do not match this session's.
  virtual OptimizerState optimizer_state() const = 0;
  virtual void set_optimizer_state(const OptimizerState& state) = 0;

  // One optimizer step on samples data[indices] of `split` (training mode:
  // dropout on, batch statistics, moving averages updated).
  virtual StepStats train_step(const Samples& split, std::span<const int32_t> indices) = 0;

  // Evaluation-mode forward of data[indices]: writes indices.size() x classes
  // output probabilities (softmax, or the sigmoid outputs) into probs.
  virtual void predict(const Samples& split, std::span<const int32_t> indices, float* probs) = 0;

  // What runs underneath, e.g. the oneDNN implementation of each primitive.
  virtual std::string describe() const { return {}; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;            // "ref", "cpu", "gpu"
  virtual int device_count() const = 0;            // 0 = unusable on this machine
  virtual std::string device_name(int device) const = 0;
  // The math library underneath and its version ("oneDNN 2.6.3"), for the
  // sweep's provenance; "" for plain C++.
  virtual std::string library() const { return {}; }
  // Build the network, initialise parameters with initial_params(model,
  // seed) and the optimizer state to zero.
  virtual std::unique_ptr<Session> create_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                                  const SessionOptions& options) = 0;
};

// The backends compiled into this build: "ref", "cpu" and (with CUDA) "gpu".
std::vector<std::string> backend_names();
// Whether the NVIDIA driver's library (libcuda.so.1) can be loaded: without it
// no GPU is usable, so `--backend auto` need not load the GPU module (and the
// ~200 MB of CUDA libraries it maps) to learn that there is none.
bool gpu_driver_present();
// A backend by name; InputError for an unknown name, or for "gpu" in a build
// without the GPU module ("this sweep has no GPU module (<path> does not exist...").
Backend& get_backend(const std::string& name);

}  // namespace sweep
