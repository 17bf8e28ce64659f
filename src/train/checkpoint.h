// A run's training state between epochs, on disk: what `sweep run` resumes an
// interrupted run from, and what `sweep export` / `predict` read a trained
// model from. One file per checkpoint in the safetensors layout (an 8-byte
// little-endian header length, a JSON header, then the raw little-endian
// float32 tensors; docs/checkpoints.md), so any safetensors reader opens it.
//
// Files are written whole or not at all (a temporary file, then a rename): a
// crash or a full disk while writing leaves the previous checkpoint as it was.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "train/backend.h"
#include "train/trainer.h"

namespace sweep {

struct TrainingState {
  std::string run_hash;             // the run it belongs to (runs.hash)
  std::string backend;              // optimizer slots are in this backend's layout
  std::string precision;            // "fp32" / "bf16"
  std::string config;               // the run's canonical configuration (JSON text): the file describes itself
  int epoch = 0;                    // epochs completed
  double seconds = 0;               // training wall time up to here (all attempts)
  std::vector<EpochMetrics> epochs; // the metrics of epochs 1..epoch
  Params params;                    // every parameter tensor, canonical layout
  OptimizerState optimizer;         // step count and slot arrays
};

// Writes `state` to `path` atomically (creates the folder). RuntimeError
// naming the file on any I/O failure; the file at `path` is then unchanged.
void write_checkpoint(const std::filesystem::path& path, const TrainingState& state);

// Reads a checkpoint. InputError naming the file and what is wrong when it is
// missing, truncated, fails its checksum or is not a sweep checkpoint.
TrainingState read_checkpoint(const std::filesystem::path& path);

// Bytes of one checkpoint of a model trained with `optimizer` (the size figure
// of `sweep plan`): the parameters plus the optimizer's slots, plus at most
// 16 KB of header.
int64_t checkpoint_bytes(const ModelSpec& model, const OptimizerSpec& optimizer);

// What `sweep run --checkpoints` keeps of a run once it ends.
enum class CheckpointKeep { none, last, best, all };
const char* to_string(CheckpointKeep);
CheckpointKeep checkpoint_keep_from(const std::string&);  // InputError for an unknown name

// Where and what a run checkpoints (empty dir = no checkpoints).
struct CheckpointOptions {
  std::filesystem::path dir;            // this run's folder: <db stem>.checkpoints/<run hash>/
  std::string run_hash;
  CheckpointKeep keep = CheckpointKeep::last;
  std::string monitor = "val_loss";     // for keep = best (Keras ModelCheckpoint's default)
};

// A run's checkpoint folder while it trains, kept as CheckpointOptions say.
class RunCheckpoints {
 public:
  // `has_validation`: without a validation split a val_ monitor falls back to
  // the training metric (val_loss -> loss), as there is nothing else to watch.
  RunCheckpoints(CheckpointOptions options, std::string backend, std::string precision, bool has_validation);

  // The last checkpoint when this run can continue from it. Otherwise
  // nullopt, with the reason in `why_not` ("" when there is simply none).
  std::optional<TrainingState> resumable(std::string& why_not) const;
  // The epochs a resumed run already has: the best so far is among them.
  void replay(const std::vector<EpochMetrics>& epochs);
  // After an epoch: writes last.safetensors (atomically), links best / epoch
  // files. RuntimeError on an I/O failure (the earlier files stay as they were).
  void save(const TrainingState& state);
  // The run is done: drops what `keep` does not keep. Returns the kept
  // model's path relative to the checkpoint root ("<hash>/best.safetensors"),
  // or "" when none is kept.
  std::string finish(int last_epoch);

 private:
  double monitored(const EpochMetrics& m) const;  // the options' monitor's value
  bool improves(const EpochMetrics& m) const;
  void link(const std::string& name) const;  // name -> a hard link to last (a copy where links fail)

  CheckpointOptions options_;
  std::string backend_, precision_;
  bool maximise_ = false;
  double best_ = 0;
  int best_epoch_ = 0;
};

// The files in a run's checkpoint folder.
inline constexpr const char* kLastCheckpoint = "last.safetensors";   // the newest epoch: the resume point
inline constexpr const char* kBestCheckpoint = "best.safetensors";   // keep = best
std::string epoch_checkpoint_name(int epoch);                         // keep = all: "epoch-0003.safetensors"

}  // namespace sweep
