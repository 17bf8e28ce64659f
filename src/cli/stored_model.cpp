#include "cli/stored_model.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "common/error.h"

namespace sweep::cli {

StoredModel load_stored_model(Store& store, const std::string& db, const std::string& run) {
  StoredModel model;
  model.run = store.run_model(run);
  const std::string which = "run " + std::to_string(model.run.run_id) + " (" + model.run.hash.substr(0, 12) +
                            ", sweep '" + model.run.sweep + "')";
  if (model.run.checkpoint.empty()) {
    if (model.run.status != "done")
      throw InputError(which + " in " + db + " is " + model.run.status +
                           ": only a finished run has a model to use (sweep run finishes it)",
                       {}, "run");
    throw InputError(which + " in " + db +
                         " kept no model: it was trained with --checkpoints none, or by a sweep older than "
                         "checkpoints (train it again in a new database to get one)",
                     {}, "run");
  }
  model.config = parse_run_config(json::parse(model.run.config));
  model.file = checkpoint_dir(db) / model.run.checkpoint;
  if (!std::filesystem::exists(model.file))
    throw InputError(which + ": its model file is gone (it was moved or deleted)",
                     SourceLocation{model.file.string(), 0, 0}, "run");
  model.state = read_checkpoint(model.file);
  if (model.state.run_hash != model.run.hash)
    throw InputError(which + ": the file belongs to run " + model.state.run_hash.substr(0, 12),
                     SourceLocation{model.file.string(), 0, 0}, "run");
  return model;
}

OpenedModel open_stored_model(const std::string& db, const std::string& run) {
  if (!std::filesystem::exists(db)) throw InputError("no results database " + db, {}, "db");
  OpenedModel opened;
  opened.store = Store::open(db);
  opened.model = load_stored_model(*opened.store, db, run);
  return opened;
}

std::unique_ptr<Session> model_session(const StoredModel& model) {
  std::string name = "cpu";
  for (const std::string& available : backend_names())
    if (available == model.state.backend && available != "gpu") name = available;
  if (model.state.backend == "gpu" && gpu_driver_present()) {
    Backend& gpu = get_backend("gpu");
    if (gpu.device_count() > 0) name = "gpu";
  }
  SessionOptions options;
  options.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  options.precision = model.config.train.precision;
  options.seed = model.config.train.seed;
  std::unique_ptr<Session> session =
      get_backend(name).create_session(model.config.model, model.config.optimizer, options);
  session->set_params(model.state.params);
  return session;
}

std::vector<float> predict_all(Session& session, const Samples& samples, int classes) {
  std::vector<int32_t> indices(size_t(samples.count));
  std::iota(indices.begin(), indices.end(), 0);
  std::vector<float> probs(size_t(samples.count) * size_t(classes));
  session.predict(samples, indices, probs.data());
  return probs;
}

}  // namespace sweep::cli
