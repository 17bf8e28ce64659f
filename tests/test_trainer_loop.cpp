// The training loop on a scripted fake backend: running means, the shuffle,
// validation, early stopping, divergence, interruption and failures, without
// any real network.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <set>

#include "common/error.h"
#include "train/trainer.h"
#include "tests/support/layers.h"

using namespace sweep;

namespace {

// What the fake session does and what it saw.
struct Script {
  // Per-sample training loss for (epoch, batch), both 1-based.
  std::function<double(int, int)> train_loss = [](int, int) { return 1.0; };
  // The validation loss the predictions should produce in each epoch (1-based).
  std::function<double(int)> val_loss = [](int) { return 0.5; };
  int batches_per_epoch = 1;
  int throw_at_step = -1;  // train_step call (0-based) that throws
  bool throw_on_create = false;
  // Observed:
  std::vector<std::vector<int32_t>> epoch_indices;  // training indices, per epoch
  std::vector<int32_t> val_indices, test_indices;
  int steps = 0;
  SessionOptions options;
};

class FakeSession : public Session {
 public:
  explicit FakeSession(Script& script) : script_(script) {}
  Params get_params() const override { return {}; }
  void set_params(const Params&) override {}
  OptimizerState optimizer_state() const override { return {}; }
  void set_optimizer_state(const OptimizerState&) override {}
  StepStats train_step(const Samples&, std::span<const int32_t> indices) override {
    if (script_.steps == script_.throw_at_step) throw RuntimeError("device lost");
    const int epoch = script_.steps / script_.batches_per_epoch + 1;
    const int batch = script_.steps % script_.batches_per_epoch + 1;
    ++script_.steps;
    if (batch == 1) script_.epoch_indices.emplace_back();
    script_.epoch_indices.back().insert(script_.epoch_indices.back().end(), indices.begin(), indices.end());
    StepStats s;
    s.loss_sum = script_.train_loss(epoch, batch) * double(indices.size());
    s.correct = int64_t(indices.size() / 2);
    return s;
  }
  // Puts probability exp(-L) on the true label, so the mean loss is L.
  void predict(const Samples& split, std::span<const int32_t> indices, float* probs) override {
    const bool is_test = split.count < 100;  // the tests below use 100 train, 40 test samples
    const int epoch = script_.steps / script_.batches_per_epoch;
    const double p = std::exp(-script_.val_loss(epoch));
    for (size_t i = 0; i < indices.size(); ++i) {
      (is_test ? script_.test_indices : script_.val_indices).push_back(indices[i]);
      for (int c = 0; c < 10; ++c)
        probs[i * 10 + size_t(c)] = c == split.labels[size_t(indices[i])] ? float(p) : float((1 - p) / 9);
    }
  }

 private:
  Script& script_;
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(Script& script) : script_(script) {}
  std::string name() const override { return "fake"; }
  int device_count() const override { return 1; }
  std::string device_name(int) const override { return "scripted device"; }
  std::unique_ptr<Session> create_session(const ModelSpec&, const OptimizerSpec&, const SessionOptions& o) override {
    if (script_.throw_on_create) throw RuntimeError("out of device memory");
    script_.options = o;
    return std::make_unique<FakeSession>(script_);
  }

 private:
  Script& script_;
};

struct Recorder : TrainObserver {
  int start_epochs = -1, start_batches = -1;
  std::vector<double> running_loss, running_accuracy;
  std::vector<EpochMetrics> epochs;
  int stop_after_polls = -1;
  int polls = 0;
  void on_start(int e, int b) override { start_epochs = e, start_batches = b; }
  void on_batch(int, int, double l, double a) override {
    running_loss.push_back(l);
    running_accuracy.push_back(a);
  }
  void on_epoch(const EpochMetrics& m) override { epochs.push_back(m); }
  bool stop_requested() override { return stop_after_polls >= 0 && polls++ >= stop_after_polls; }
};

// 100 training images (90 fit + 10 validation), 40 test images, batch 32:
// batches of 32, 32, 26.
RunConfig small_config(int epochs) {
  RunConfig c;
  c.dataset.dir = SWEEP_SOURCE_DIR "/data";
  c.dataset.train_limit = 100;
  c.dataset.test_limit = 40;
  c.dataset.validation_split = 0.1;
  c.model = test::mnist_model({test::flatten(), test::dense(10, Activation::softmax)});
  c.train.epochs = epochs;
  c.train.batch_size = 32;
  c.train.seed = 7;
  return c;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("running means weight each batch by its size; metrics and ranges are right") {
  Script script;
  script.batches_per_epoch = 3;
  script.train_loss = [](int, int batch) { return double(batch); };
  script.val_loss = [](int epoch) { return 0.5 / epoch; };
  FakeBackend backend(script);
  Recorder rec;
  const RunResult r = train_run(small_config(2), backend, SessionOptions{}, rec);
  REQUIRE(r.status == RunStatus::done);
  CHECK(r.error.empty());
  CHECK(r.backend == "fake");
  CHECK(r.device == "scripted device");
  CHECK(script.options.seed == 7);
  CHECK(rec.start_epochs == 2);
  CHECK(rec.start_batches == 3);
  REQUIRE(rec.running_loss.size() == 6);
  CHECK(rec.running_loss[0] == doctest::Approx(1.0));
  CHECK(rec.running_loss[1] == doctest::Approx(1.5));
  CHECK(rec.running_loss[2] == doctest::Approx((32 + 64 + 78) / 90.0));  // not the plain mean 2.0
  CHECK(rec.running_accuracy[2] == doctest::Approx(45 / 90.0));
  REQUIRE(r.epochs.size() == 2);
  CHECK(r.epochs[0].epoch == 1);
  CHECK(r.epochs[0].loss == doctest::Approx(174 / 90.0));
  CHECK(r.epochs[0].accuracy == doctest::Approx(0.5));
  CHECK(r.epochs[0].val_loss == doctest::Approx(0.5).epsilon(1e-5));
  CHECK(r.epochs[1].val_loss == doctest::Approx(0.25).epsilon(1e-5));
  CHECK(r.epochs[1].val_accuracy == 1.0);
  CHECK(r.epochs[0].images_per_sec > 0);
  CHECK(r.epochs[0].seconds >= 0);
  CHECK(rec.epochs.size() == 2);
  CHECK(r.stop_epoch == 2);
  CHECK_FALSE(r.early_stopped);
  CHECK(r.wall_seconds > 0);

  // Each epoch trains on exactly the fit range, in the shared permutation.
  REQUIRE(script.epoch_indices.size() == 2);
  CHECK(script.epoch_indices[0] == epoch_permutation(90, 7, 1));
  CHECK(script.epoch_indices[1] == epoch_permutation(90, 7, 2));
  // Validation predicts samples 90..99 of the training split (twice), the test all 40.
  CHECK(script.val_indices.size() == 20);
  CHECK(*std::min_element(script.val_indices.begin(), script.val_indices.end()) == 90);
  CHECK(*std::max_element(script.val_indices.begin(), script.val_indices.end()) == 99);
  CHECK(script.test_indices.size() == 40);
  CHECK(r.test.confusion.size() == 100);
  CHECK(r.test.accuracy == 1.0);
}

TEST_CASE("early stopping on val_loss stops after `patience` epochs without improvement") {
  Script script;
  script.batches_per_epoch = 3;
  const std::vector<double> val{1.0, 0.8, 0.85, 0.9, 0.7, 0.6};
  script.val_loss = [&](int epoch) { return val[size_t(epoch - 1)]; };
  FakeBackend backend(script);
  Recorder rec;
  RunConfig c = small_config(6);
  c.train.early_stopping.monitor = "val_loss";
  c.train.early_stopping.patience = 2;
  const RunResult r = train_run(c, backend, SessionOptions{}, rec);
  CHECK(r.status == RunStatus::done);
  CHECK(r.early_stopped);
  CHECK(r.stop_epoch == 4);
  CHECK(r.epochs.size() == 4);
  CHECK(script.test_indices.size() == 40);  // the test evaluation still runs

  // Patience 0 means off: all epochs run.
  Script all;
  all.batches_per_epoch = 3;
  all.val_loss = script.val_loss;
  FakeBackend backend2(all);
  c.train.early_stopping.patience = 0;
  const RunResult r2 = train_run(c, backend2, SessionOptions{}, rec);
  CHECK_FALSE(r2.early_stopped);
  CHECK(r2.stop_epoch == 6);
}

TEST_CASE("monitoring a validation metric without a validation split fails the run with a reason") {
  Script script;
  FakeBackend backend(script);
  Recorder rec;
  RunConfig c = small_config(3);
  c.dataset.validation_split = 0.0;
  c.train.early_stopping.patience = 1;
  const RunResult r = train_run(c, backend, SessionOptions{}, rec);
  CHECK(r.status == RunStatus::failed);
  CHECK(contains(r.error, "val_loss"));
  CHECK(contains(r.error, "validation_split"));
  CHECK(script.steps == 0);

  // Monitoring the training loss works without one; val metrics are NaN.
  c.train.early_stopping.monitor = "loss";
  script.batches_per_epoch = 4;  // 100 fit samples / 32
  const RunResult ok = train_run(c, backend, SessionOptions{}, rec);
  CHECK(ok.status == RunStatus::done);
  CHECK(ok.early_stopped);  // constant loss: no improvement after epoch 1
  CHECK(ok.stop_epoch == 2);
  CHECK(std::isnan(ok.epochs[0].val_loss));
  CHECK(std::isnan(ok.epochs[0].val_accuracy));
}

TEST_CASE("a non-finite loss stops the run as diverged, naming epoch and batch") {
  Script script;
  script.batches_per_epoch = 3;
  script.train_loss = [](int epoch, int batch) {
    return epoch == 2 && batch == 2 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  };
  FakeBackend backend(script);
  Recorder rec;
  const RunResult r = train_run(small_config(5), backend, SessionOptions{}, rec);
  CHECK(r.status == RunStatus::diverged);
  CHECK(contains(r.error, "NaN"));
  CHECK(contains(r.error, "epoch 2, batch 2"));
  CHECK(r.epochs.size() == 1);
  CHECK(r.stop_epoch == 1);
  CHECK(script.test_indices.empty());

  Script inf;
  inf.batches_per_epoch = 3;
  inf.train_loss = [](int, int) { return std::numeric_limits<double>::infinity(); };
  FakeBackend backend2(inf);
  const RunResult r2 = train_run(small_config(5), backend2, SessionOptions{}, rec);
  CHECK(r2.status == RunStatus::diverged);
  CHECK(contains(r2.error, "infinite"));
  CHECK(contains(r2.error, "epoch 1, batch 1"));
}

TEST_CASE("stop_requested interrupts between batches") {
  Script script;
  script.batches_per_epoch = 3;
  FakeBackend backend(script);
  Recorder rec;
  rec.stop_after_polls = 4;  // polls 0-3 pass: epoch 1 (3 batches) and batch 1 of epoch 2 run
  const RunResult r = train_run(small_config(5), backend, SessionOptions{}, rec);
  CHECK(r.status == RunStatus::interrupted);
  CHECK(contains(r.error, "epoch 2, batch 2"));
  CHECK(script.steps == 4);
  CHECK(r.epochs.size() == 1);
}

TEST_CASE("backend exceptions fail the run with their message") {
  Script script;
  script.batches_per_epoch = 3;
  script.throw_at_step = 4;
  FakeBackend backend(script);
  Recorder rec;
  const RunResult r = train_run(small_config(3), backend, SessionOptions{}, rec);
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "device lost");
  CHECK(r.epochs.size() == 1);

  Script create;
  create.throw_on_create = true;
  FakeBackend backend2(create);
  const RunResult r2 = train_run(small_config(3), backend2, SessionOptions{}, rec);
  CHECK(r2.status == RunStatus::failed);
  CHECK(r2.error == "out of device memory");

  // A dataset problem is a failed run too, not an exception.
  RunConfig missing = small_config(1);
  missing.dataset.name = "no-such-dataset";
  const RunResult r3 = train_run(missing, backend2, SessionOptions{}, rec);
  CHECK(r3.status == RunStatus::failed);
  CHECK(contains(r3.error, "no-such-dataset"));

  // A model whose input does not fit the data.
  RunConfig wrong = small_config(1);
  wrong.model.input = Shape{392, 1, 1, true};
  const RunResult r4 = train_run(wrong, backend2, SessionOptions{}, rec);
  CHECK(r4.status == RunStatus::failed);
  CHECK(contains(r4.error, "shape"));
}
