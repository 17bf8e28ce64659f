// The training loop of one run (see trainer.h): the same on every backend.
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>

#include "common/clock.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"
#include "train/trainer.h"

namespace sweep {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Samples per predict() call: bounds the probability buffer and lets a
// backend batch the forward pass.
constexpr int64_t kPredictChunk = 1000;

// Evaluation-mode predictions for samples [begin, begin + count) of a split.
Evaluation evaluate_range(Session& session, const Samples& split, int64_t begin, int64_t count, int classes,
                          bool sigmoid_output) {
  std::vector<float> probs(size_t(count) * size_t(classes));
  std::vector<uint8_t> labels(split.labels.begin() + begin, split.labels.begin() + begin + count);
  std::vector<int32_t> indices;
  for (int64_t start = 0; start < count; start += kPredictChunk) {
    const int64_t n = std::min(kPredictChunk, count - start);
    indices.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) indices[size_t(i)] = static_cast<int32_t>(begin + start + i);
    session.predict(split, indices, probs.data() + start * classes);
  }
  return evaluate_probs(probs, labels, classes, sigmoid_output);
}

// Problems of the configuration that only show once the data is loaded.
std::optional<std::string> check_run(const RunConfig& config, const Dataset& ds) {
  if (config.train.batch_size < 1) return "train.batch_size must be at least 1";
  if (ds.fit_count < 1)
    return "no training samples left after the validation split (" + std::to_string(ds.train.count) +
           " samples, validation_split " + std::to_string(config.dataset.validation_split) + ")";
  if (config.model.input.size() != ds.train.shape.size())
    return "the model expects inputs of shape " + config.model.input.keras() + " but dataset '" +
           config.dataset.name + "' (" + config.dataset.transform + ") has samples of shape " +
           ds.train.shape.keras();
  if (config.model.classes < ds.train.classes)
    return "the model has " + std::to_string(config.model.classes) + " outputs but the dataset has " +
           std::to_string(ds.train.classes) + " classes";
  if (config.train.early_stopping.patience > 0) {
    const std::string& monitor = config.train.early_stopping.monitor;
    if (!EarlyStopper::known_monitor(monitor))
      return "early_stopping.monitor '" + monitor + "' is not one of val_loss, val_accuracy, loss, accuracy";
    if (monitor.starts_with("val_") && ds.val_count == 0)
      return "early_stopping.monitor is " + monitor +
             " but dataset.validation_split leaves no validation samples: monitor loss or accuracy instead";
  }
  return std::nullopt;
}

bool output_is_sigmoid(const ModelSpec& model) {
  return !model.layers.empty() && model.layers.back().activation == Activation::sigmoid;
}

}  // namespace

RunResult train_run(const RunConfig& config, Backend& backend, const SessionOptions& options,
                    TrainObserver& observer, const CheckpointOptions* checkpoints) {
  const auto run_start = Clock::now();
  RunResult result;
  result.status = RunStatus::running;
  double earlier_seconds = 0;  // training time of the attempts before this one (a checkpoint's)
  try {
    result.backend = backend.name();
    result.device = backend.device_name(options.device);
    std::shared_ptr<const Dataset> ds = load_dataset(config.dataset);
    if (auto problem = check_run(config, *ds)) {
      result.status = RunStatus::failed;
      result.error = *problem;
      result.wall_seconds = seconds_since(run_start);
      return result;
    }
    SessionOptions session_options = options;
    session_options.seed = config.train.seed;
    session_options.precision = config.train.precision;
    std::unique_ptr<Session> session = backend.create_session(config.model, config.optimizer, session_options);

    const int classes = config.model.classes;
    const bool sigmoid_output = output_is_sigmoid(config.model);
    const int64_t batch_size = config.train.batch_size;
    const int batches = static_cast<int>((ds->fit_count + batch_size - 1) / batch_size);
    std::optional<EarlyStopper> stopper;
    if (config.train.early_stopping.patience > 0) stopper.emplace(config.train.early_stopping);

    // Checkpoints: continue after the last one when it is this run's own.
    std::optional<RunCheckpoints> saved;
    int first_epoch = 1;
    if (checkpoints && !checkpoints->dir.empty()) {
      saved.emplace(*checkpoints, backend.name(), to_string(config.train.precision), ds->val_count > 0);
      std::string why_not;
      std::optional<TrainingState> state = saved->resumable(why_not);
      if (state) {
        try {
          session->set_params(state->params);
          session->set_optimizer_state(state->optimizer);
        } catch (const std::exception& e) {
          // Well-formed but not this network's (a slot or tensor that does
          // not fit): start over on a fresh session.
          why_not = e.what();
          state.reset();
          session = backend.create_session(config.model, config.optimizer, session_options);
        }
      }
      if (state) {
        result.epochs = state->epochs;
        result.stop_epoch = state->epoch;
        result.resumed_from_epoch = state->epoch;
        earlier_seconds = state->seconds;
        first_epoch = state->epoch + 1;
        saved->replay(result.epochs);
        observer.on_resume(result.epochs);
        // The early-stopping decisions of those epochs, as they were made.
        if (stopper)
          for (const EpochMetrics& m : result.epochs)
            if (stopper->should_stop(m)) {
              result.early_stopped = true;
              first_epoch = config.train.epochs + 1;
            }
      } else if (!why_not.empty()) {
        observer.on_note("checkpoint not used, training from epoch 1: " + why_not);
      }
    }
    // A run stopped by a kill after its checkpoint but before its pruning
    // decision gets the decision now (a decision already made is kept).
    if (!result.epochs.empty() && first_epoch <= config.train.epochs)
      if (std::string why = observer.prune_after(result.epochs); !why.empty()) {
        result.status = RunStatus::pruned;
        result.error = std::move(why);
      }

    observer.on_start(config.train.epochs, batches);
    for (int epoch = first_epoch; epoch <= config.train.epochs && result.status == RunStatus::running; ++epoch) {
      const auto epoch_start = Clock::now();
      const std::vector<int32_t> order = epoch_permutation(ds->fit_count, config.train.seed, epoch);
      // Keras' running means: sum of per-sample losses over samples seen.
      double loss_sum = 0;
      int64_t correct = 0, seen = 0;
      for (int batch = 0; batch < batches; ++batch) {
        if (observer.stop_requested()) {
          result.status = RunStatus::interrupted;
          result.error = "interrupted at epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch + 1) +
                         " of " + std::to_string(batches);
          break;
        }
        const int64_t begin = batch * batch_size;
        const int64_t n = std::min(batch_size, ds->fit_count - begin);
        const StepStats stats = session->train_step(ds->train, std::span(order).subspan(size_t(begin), size_t(n)));
        if (!std::isfinite(stats.loss_sum)) {
          result.status = RunStatus::diverged;
          result.error = "loss became " + std::string(std::isnan(stats.loss_sum) ? "NaN" : "infinite") +
                         " at epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch + 1) + " of " +
                         std::to_string(batches) + " (a lower learning rate may help)";
          break;
        }
        loss_sum += stats.loss_sum;
        correct += stats.correct;
        seen += n;
        observer.on_batch(epoch, batch + 1, loss_sum / double(seen), double(correct) / double(seen));
      }
      if (result.status != RunStatus::running) break;
      const double train_seconds = seconds_since(epoch_start);

      EpochMetrics m;
      m.epoch = epoch;
      m.loss = loss_sum / double(seen);
      m.accuracy = double(correct) / double(seen);
      m.val_loss = m.val_accuracy = kNaN;
      if (ds->val_count > 0) {
        const Evaluation val =
            evaluate_range(*session, ds->train, ds->fit_count, ds->val_count, classes, sigmoid_output);
        m.val_loss = val.loss;
        m.val_accuracy = val.accuracy;
      }
      m.seconds = seconds_since(epoch_start);
      m.images_per_sec = train_seconds > 0 ? double(seen) / train_seconds : 0.0;
      result.epochs.push_back(m);
      result.stop_epoch = epoch;
      observer.on_epoch(m);
      if (saved) {
        try {
          TrainingState state;
          state.run_hash = checkpoints->run_hash;
          state.backend = backend.name();
          state.precision = to_string(config.train.precision);
          state.config = config.canonical;
          state.epoch = epoch;
          state.seconds = earlier_seconds + seconds_since(run_start);
          state.epochs = result.epochs;
          state.params = session->get_params();
          state.optimizer = session->optimizer_state();
          saved->save(state);
        } catch (const std::exception& e) {
          // A full disk costs the resume point, not the run: the last good
          // checkpoint and everything recorded stay as they were.
          observer.on_note(std::string("checkpoint of epoch ") + std::to_string(epoch) + " not written: " + e.what());
        }
      }
      if (std::string why = observer.prune_after(result.epochs); !why.empty()) {
        result.status = RunStatus::pruned;  // its checkpoint stays resumable: it can be continued
        result.error = std::move(why);
        break;
      }
      if (stopper && stopper->should_stop(m)) {
        result.early_stopped = true;
        break;
      }
    }

    if (result.status == RunStatus::running) {
      result.test = evaluate_range(*session, ds->test, 0, ds->test.count, classes, sigmoid_output);
      result.status = RunStatus::done;
      if (saved) result.checkpoint = saved->finish(result.stop_epoch);
    }
  } catch (const std::exception& e) {
    result.status = RunStatus::failed;
    result.error = e.what();
  } catch (...) {
    result.status = RunStatus::failed;
    result.error = "unknown exception";
  }
  result.wall_seconds = earlier_seconds + seconds_since(run_start);
  return result;
}

}  // namespace sweep
