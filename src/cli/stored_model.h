// A trained run's kept model, as `sweep export`, `predict` and `evaluate` load
// it: the run's configuration from the database and its weights from the
// checkpoint file runs.checkpoint names (docs/checkpoints.md).
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "config/run_config.h"
#include "store/store.h"
#include "train/backend.h"
#include "train/checkpoint.h"

namespace sweep::cli {

struct StoredModel {
  Store::RunModel run;
  RunConfig config;
  std::filesystem::path file;  // the checkpoint read
  TrainingState state;
};

// InputError when the run does not exist, has no kept model (not done, or
// trained with --checkpoints none or before sweep kept models), or its file
// is missing or corrupt; each names the run, the database and the file.
StoredModel load_stored_model(Store& store, const std::string& db, const std::string& run);

// The database opened (InputError when there is no such file) and the run's
// model loaded: the first step of export, predict and evaluate.
struct OpenedModel {
  std::unique_ptr<Store> store;
  StoredModel model;
};
OpenedModel open_stored_model(const std::string& db, const std::string& run);

// An evaluation-mode session holding the model: on the backend that trained
// it where this machine has it, else cpu.
std::unique_ptr<Session> model_session(const StoredModel& model);

// Evaluation-mode probabilities of every sample: count x classes.
std::vector<float> predict_all(Session& session, const Samples& samples, int classes);

}  // namespace sweep::cli
