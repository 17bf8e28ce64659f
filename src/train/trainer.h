// The training loop of one run, the same for every backend: epochs over
// shuffled mini-batches, Keras-style running metrics, validation, early
// stopping, divergence detection, and the final test evaluation.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "train/backend.h"

namespace sweep {

struct EpochMetrics {
  int epoch = 0;               // 1-based
  double loss = 0, accuracy = 0;          // running means over the epoch's batches (Keras)
  double val_loss = 0, val_accuracy = 0;  // NaN when there is no validation split
  double seconds = 0;          // wall time of the epoch (training + validation)
  double images_per_sec = 0;   // training images / training seconds
};

struct Evaluation {
  double loss = 0, accuracy = 0;
  double precision = 0, recall = 0, f1 = 0;  // macro averages over classes
  std::vector<int64_t> confusion;            // classes x classes, row = true label, col = predicted
  int classes = 10;
};

enum class RunStatus { pending, running, done, failed, diverged, interrupted, pruned };
const char* to_string(RunStatus);
RunStatus run_status_from(const std::string&);

struct RunResult {
  RunStatus status = RunStatus::pending;
  std::string error;                 // for failed / diverged / interrupted; pruned: why
  std::vector<EpochMetrics> epochs;  // the epochs that completed
  Evaluation test;                   // valid when status == done
  int stop_epoch = 0;                // last epoch completed (early stopping stops before train.epochs;
                                     // a diverged/interrupted run: the epochs before the one cut short)
  bool early_stopped = false;
  double wall_seconds = 0;           // training time of all attempts (a resumed run adds its earlier ones)
  std::string backend, device;
  int resumed_from_epoch = 0;        // > 0: epochs 1..N came from a checkpoint
  std::string checkpoint;            // the checkpoint kept of this run, relative to the checkpoint folder
};

// Hooks the scheduler uses to watch and steer a run. Called on the run's thread.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_start(int /*epochs*/, int /*batches_per_epoch*/) {}
  // epoch and batch are 1-based; the running values are the epoch's so far.
  virtual void on_batch(int /*epoch*/, int /*batch*/, double /*running_loss*/, double /*running_accuracy*/) {}
  virtual void on_epoch(const EpochMetrics&) {}
  // Polled between batches; true stops the run as `interrupted`.
  virtual bool stop_requested() { return false; }
  // The run continues from a checkpoint: `epochs` are the metrics of the
  // epochs it already has (on_epoch is not called for them).
  virtual void on_resume(const std::vector<EpochMetrics>& /*epochs*/) {}
  // Something the user should read that does not stop the run (a checkpoint
  // that could not be used or written).
  virtual void on_note(const std::string& /*text*/) {}
  // After each epoch (once its checkpoint is written, so a pruned run can be
  // continued from it), and once after the epochs a resumed run replayed:
  // non-empty stops the run as `pruned`, for that reason. `epochs` are all the
  // run's epochs so far, the latest last.
  virtual std::string prune_after(const std::vector<EpochMetrics>& /*epochs*/) { return {}; }
};

struct CheckpointOptions;  // train/checkpoint.h

// Train `config` on `backend` with `options`: everything a run does, start to
// end. Never throws for problems of the run itself: they come back as a
// RunResult with status failed (exception text) or diverged (non-finite loss).
// The session's seed and precision are taken from config.train (options'
// own values are ignored); threads and device come from options.
//
// With `checkpoints` (a folder for this run), the training state is written
// there after every epoch, and a run that finds a usable last checkpoint of
// itself continues after that epoch instead of starting over: its metrics
// are then bit-identical to an uninterrupted run's. A checkpoint that cannot
// be used (corrupt, another backend) is reported through on_note and the run
// starts from epoch 1.
RunResult train_run(const RunConfig& config, Backend& backend, const SessionOptions& options,
                    TrainObserver& observer, const CheckpointOptions* checkpoints = nullptr);

// Evaluate probabilities against labels (exposed for tests and the GPU parity check).
// Loss: softmax -log(max(p_y, 1e-7)); sigmoid outputs as Keras, on q = p/sum(p)
// clipped to [1e-7, 1-1e-7]. Macro precision/recall/F1 as sklearn (average='macro',
// zero_division=0): over classes present in the labels or the predictions.
Evaluation evaluate_probs(const std::vector<float>& probs, const std::vector<uint8_t>& labels, int classes,
                          bool sigmoid_output);

// The epoch's sample order: a permutation of [0, n) from the run's seed and
// the epoch number (1-based, as the loop passes it; rng stream kShuffle),
// identical on every backend.
std::vector<int32_t> epoch_permutation(int64_t n, uint64_t seed, int epoch);

}  // namespace sweep
