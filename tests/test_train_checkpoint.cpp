// Checkpoints: the file format reads back what was written and refuses
// corrupt files by name; a run interrupted mid-epoch continues from its last
// checkpoint to metrics and weights bit-identical to an uninterrupted run's,
// on the ref and cpu backends (dropout, batch norm and Adam included, so the
// RNG position, moving statistics and optimizer moments all have to come back);
// an unusable checkpoint is reported and the run starts over; what
// --checkpoints keeps of a finished run.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "tests/support/layers.h"
#include "tests/support/temp_dir.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace sweep;
namespace fs = std::filesystem;
using sweep::test::TempDir;

namespace {

// A CNN with every kind of state a resume must restore: dropout masks (their
// RNG position is the step count), batch-norm moving statistics and Adam's m, v, t.
RunConfig stateful_cnn() {
  RunConfig c;
  c.dataset.dir = SWEEP_SOURCE_DIR "/data";
  c.dataset.train_limit = 600;
  c.dataset.test_limit = 200;
  c.dataset.validation_split = 0.1;
  c.model = test::mnist_model({test::conv(8, 3, Activation::relu), test::batchnorm(), test::maxpool(),
                               test::dropout(0.25), test::flatten(), test::dense(16, Activation::relu),
                               test::dense(10, Activation::softmax)});
  infer(c.model);
  c.optimizer.kind = Optimizer::adam;
  c.optimizer.learning_rate = 0.003;
  c.train.epochs = 3;
  c.train.batch_size = 32;
  c.train.seed = 11;
  return c;
}

CheckpointOptions in(const fs::path& dir, CheckpointKeep keep = CheckpointKeep::last) {
  CheckpointOptions o;
  o.dir = dir;
  o.run_hash = "0123456789abcdef";
  o.keep = keep;
  return o;
}

// Stops the run at a given epoch and batch; collects notes and resumes.
class Watcher : public TrainObserver {
 public:
  int stop_epoch = 0, stop_batch = 0;
  std::vector<std::string> notes;
  size_t resumed_epochs = 0;
  void on_batch(int epoch, int batch, double, double) override {
    if (epoch == stop_epoch && batch == stop_batch) stopping_ = true;
  }
  bool stop_requested() override { return stopping_; }
  void on_resume(const std::vector<EpochMetrics>& epochs) override { resumed_epochs = epochs.size(); }
  void on_note(const std::string& text) override { notes.push_back(text); }

 private:
  bool stopping_ = false;
};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_identical(const RunResult& a, const RunResult& b) {
  REQUIRE(a.epochs.size() == b.epochs.size());
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    CAPTURE(e);
    CHECK(same_bits(a.epochs[e].loss, b.epochs[e].loss));
    CHECK(same_bits(a.epochs[e].accuracy, b.epochs[e].accuracy));
    CHECK(same_bits(a.epochs[e].val_loss, b.epochs[e].val_loss));
    CHECK(same_bits(a.epochs[e].val_accuracy, b.epochs[e].val_accuracy));
  }
  CHECK(same_bits(a.test.loss, b.test.loss));
  CHECK(same_bits(a.test.accuracy, b.test.accuracy));
  CHECK(a.test.confusion == b.test.confusion);
}

void check_same_params(const Params& a, const Params& b) {
  REQUIRE(a.size() == b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    CAPTURE(a[t].name);
    CHECK(a[t].name == b[t].name);
    CHECK(a[t].shape == b[t].shape);
    REQUIRE(a[t].values.size() == b[t].values.size());
    CHECK(std::memcmp(a[t].values.data(), b[t].values.data(), a[t].values.size() * sizeof(float)) == 0);
  }
}

TrainingState sample_state() {
  TrainingState s;
  s.run_hash = "feedface";
  s.backend = "cpu";
  s.precision = "fp32";
  s.epoch = 2;
  s.seconds = 1.25;
  for (int e = 1; e <= 2; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.loss = 1.0 / e;
    m.accuracy = 0.5 + 0.1 * e;
    m.val_loss = m.val_accuracy = std::numeric_limits<double>::quiet_NaN();  // no validation split
    m.seconds = 0.5;
    m.images_per_sec = 1000;
    s.epochs.push_back(m);
  }
  s.params = {ParamTensor{"dense/kernel", {3, 2}, true, {1, 2, 3, 4, 5, 6}},
              ParamTensor{"batch_normalization/moving_mean", {2}, false, {0.5f, -0.5f}}};
  s.optimizer.steps = 42;
  s.optimizer.slots = {{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, {1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f}};
  return s;
}

std::string error_of(const fs::path& path) {
  try {
    read_checkpoint(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a checkpoint file reads back what was written, and corrupt files are refused by name") {
  TempDir temp("ckpt_file");
  const fs::path path = temp.path / "run" / kLastCheckpoint;
  const TrainingState written = sample_state();
  write_checkpoint(path, written);
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));

  const TrainingState read = read_checkpoint(path);
  CHECK(read.run_hash == written.run_hash);
  CHECK(read.backend == "cpu");
  CHECK(read.precision == "fp32");
  CHECK(read.epoch == 2);
  CHECK(read.seconds == 1.25);
  CHECK(read.optimizer.steps == 42);
  CHECK(read.optimizer.slots == written.optimizer.slots);
  check_same_params(read.params, written.params);
  CHECK(read.params[1].trainable == false);
  REQUIRE(read.epochs.size() == 2);
  CHECK(read.epochs[1].loss == 0.5);
  CHECK(std::isnan(read.epochs[1].val_loss));

  // The safetensors layout: header length, then a JSON header naming each tensor.
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  CHECK(header % 8 == 0);
  CHECK(bytes.substr(8, size_t(header)).find("\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}") != std::string::npos);

  SUBCASE("a flipped data byte fails the checksum") {
    std::string broken = bytes;
    broken[broken.size() - 3] ^= 0x40;
    std::ofstream(path, std::ios::binary) << broken;
    const std::string e = error_of(path);
    CHECK(e.find(path.string()) != std::string::npos);
    CHECK(e.find("fails its checksum") != std::string::npos);
  }
  SUBCASE("a truncated file") {
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
    CHECK(error_of(path).find("truncated") != std::string::npos);
  }
  SUBCASE("a file that is not a checkpoint") {
    std::ofstream(path, std::ios::binary) << "hello";
    CHECK(error_of(path).find("not a safetensors file") != std::string::npos);
  }
  SUBCASE("a missing file") { CHECK(error_of(temp.path / "nothing.safetensors").find("cannot be opened") != std::string::npos); }
}

TEST_CASE("a failed write leaves the earlier checkpoint as it was") {
  TempDir temp("ckpt_fail");
  const fs::path path = temp.path / "run" / kLastCheckpoint;
  write_checkpoint(path, sample_state());
  // The temporary file's name is taken by a folder: the write cannot start.
  fs::create_directories(path.string() + ".tmp");
  TrainingState newer = sample_state();
  newer.epoch = 3;
  CHECK_THROWS_AS(write_checkpoint(path, newer), RuntimeError);
  CHECK(read_checkpoint(path).epoch == 2);
}

TEST_CASE("interrupted mid-epoch, resumed from the checkpoint: bit-identical to an uninterrupted run") {
  for (const char* name : {"ref", "cpu"}) {
    CAPTURE(name);
    Backend& backend = get_backend(name);
    const RunConfig config = stateful_cnn();
    TempDir temp("ckpt_resume");

    Watcher plain;
    const CheckpointOptions straight = in(temp.path / "straight");
    const RunResult reference = train_run(config, backend, SessionOptions{}, plain, &straight);
    REQUIRE_MESSAGE(reference.status == RunStatus::done, reference.error);
    CHECK(reference.resumed_from_epoch == 0);
    CHECK(reference.checkpoint == "straight/last.safetensors");

    // Stopped in the middle of epoch 2: the checkpoint holds epoch 1.
    const CheckpointOptions broken = in(temp.path / "broken");
    Watcher stopper;
    stopper.stop_epoch = 2;
    stopper.stop_batch = 5;
    const RunResult first = train_run(config, backend, SessionOptions{}, stopper, &broken);
    REQUIRE(first.status == RunStatus::interrupted);
    CHECK(read_checkpoint(broken.dir / kLastCheckpoint).epoch == 1);

    Watcher resumer;
    const RunResult resumed = train_run(config, backend, SessionOptions{}, resumer, &broken);
    REQUIRE_MESSAGE(resumed.status == RunStatus::done, resumed.error);
    CHECK(resumed.resumed_from_epoch == 1);
    CHECK(resumer.resumed_epochs == 1);
    CHECK(resumer.notes.empty());
    check_identical(reference, resumed);
    check_same_params(read_checkpoint(straight.dir / kLastCheckpoint).params,
                      read_checkpoint(broken.dir / kLastCheckpoint).params);
    CHECK(read_checkpoint(broken.dir / kLastCheckpoint).optimizer.slots ==
          read_checkpoint(straight.dir / kLastCheckpoint).optimizer.slots);

    // A corrupt checkpoint: said so, and the run starts over (to the same result).
    {
      std::fstream f(broken.dir / kLastCheckpoint, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-4, std::ios::end);
      f.put('\x7f');
    }
    Watcher again;
    const RunResult restarted = train_run(config, backend, SessionOptions{}, again, &broken);
    REQUIRE(restarted.status == RunStatus::done);
    CHECK(restarted.resumed_from_epoch == 0);
    REQUIRE(again.notes.size() == 1);
    CHECK(again.notes[0].find("checkpoint not used, training from epoch 1") != std::string::npos);
    CHECK(again.notes[0].find("fails its checksum") != std::string::npos);
    check_identical(reference, restarted);
  }
}

TEST_CASE("a checkpoint of another backend or another run is not resumed") {
  const RunConfig config = stateful_cnn();
  TempDir temp("ckpt_other");
  CheckpointOptions options = in(temp.path / "run");
  Watcher stopper;
  stopper.stop_epoch = 2;
  stopper.stop_batch = 1;
  REQUIRE(train_run(config, get_backend("ref"), SessionOptions{}, stopper, &options).status == RunStatus::interrupted);

  Watcher on_cpu;
  const RunResult cpu = train_run(config, get_backend("cpu"), SessionOptions{}, on_cpu, &options);
  CHECK(cpu.status == RunStatus::done);
  CHECK(cpu.resumed_from_epoch == 0);
  REQUIRE(on_cpu.notes.size() == 1);
  CHECK(on_cpu.notes[0].find("written by the ref backend; this attempt runs on cpu") != std::string::npos);

  options.run_hash = "another run";
  Watcher other;
  const RunResult r = train_run(config, get_backend("cpu"), SessionOptions{}, other, &options);
  CHECK(r.resumed_from_epoch == 0);
  REQUIRE(other.notes.size() == 1);
  CHECK(other.notes[0].find("not this one") != std::string::npos);
}

TEST_CASE("--checkpoints best, all and none: what a finished run keeps") {
  RunConfig config = stateful_cnn();
  TempDir temp("ckpt_keep");
  Backend& cpu = get_backend("cpu");

  const CheckpointOptions best = in(temp.path / "best", CheckpointKeep::best);
  Watcher w1;
  const RunResult b = train_run(config, cpu, SessionOptions{}, w1, &best);
  REQUIRE(b.status == RunStatus::done);
  CHECK(b.checkpoint == "best/best.safetensors");
  CHECK_FALSE(fs::exists(best.dir / kLastCheckpoint));
  // The kept epoch is the one with the lowest val_loss (Keras' default monitor).
  int best_epoch = 1;
  for (const EpochMetrics& m : b.epochs)
    if (m.val_loss < b.epochs[size_t(best_epoch - 1)].val_loss) best_epoch = m.epoch;
  CHECK(read_checkpoint(best.dir / kBestCheckpoint).epoch == best_epoch);

  const CheckpointOptions all = in(temp.path / "all", CheckpointKeep::all);
  Watcher w2;
  const RunResult a = train_run(config, cpu, SessionOptions{}, w2, &all);
  REQUIRE(a.status == RunStatus::done);
  CHECK(a.checkpoint == "all/" + epoch_checkpoint_name(3));
  for (int e = 1; e <= 3; ++e) CHECK(read_checkpoint(all.dir / epoch_checkpoint_name(e)).epoch == e);
  CHECK_FALSE(fs::exists(all.dir / kLastCheckpoint));

  // Where the folder cannot be made, the run still finishes, and says why.
  std::ofstream(temp.path / "blocked") << "a file where the folder should be";
  const CheckpointOptions blocked = in(temp.path / "blocked" / "run");
  Watcher w3;
  const RunResult c = train_run(config, cpu, SessionOptions{}, w3, &blocked);
  CHECK(c.status == RunStatus::done);
  CHECK(c.checkpoint.empty());
  REQUIRE(w3.notes.size() == 3);
  CHECK(w3.notes[0].find("checkpoint of epoch 1 not written") != std::string::npos);

  // sweep plan's size figure: the tensors exactly, plus at most 16 KB of header.
  const int64_t estimate = checkpoint_bytes(config.model, config.optimizer);
  const auto size = int64_t(fs::file_size(all.dir / epoch_checkpoint_name(3)));
  CHECK(size <= estimate);
  CHECK(size >= estimate - 16384);
}
