// End to end on real backends: a small CNN learns MNIST from 2,000 images, and
// the same configuration trains to bit-identical metrics twice.
#include <doctest/doctest.h>

#include <cstring>

#include "train/trainer.h"
#include "tests/support/layers.h"

using namespace sweep;

namespace {

RunConfig small_cnn(int64_t train_limit, int64_t test_limit, int epochs) {
  RunConfig c;
  c.dataset.dir = SWEEP_SOURCE_DIR "/data";
  c.dataset.train_limit = train_limit;
  c.dataset.test_limit = test_limit;
  c.dataset.validation_split = 0.1;
  c.model = test::mnist_model({test::conv(32, 3, Activation::relu), test::maxpool(), test::flatten(),
                               test::dense(10, Activation::softmax)});
  infer(c.model);  // fills the layer names
  c.optimizer.kind = Optimizer::adam;
  c.optimizer.learning_rate = 0.002;
  c.train.epochs = epochs;
  c.train.batch_size = 32;
  c.train.seed = 3;
  return c;
}

// Bitwise equality of everything a run reports, except timings.
void check_identical(const RunResult& a, const RunResult& b) {
  REQUIRE(a.epochs.size() == b.epochs.size());
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    CHECK(std::memcmp(&a.epochs[e].loss, &b.epochs[e].loss, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.epochs[e].accuracy, &b.epochs[e].accuracy, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.epochs[e].val_loss, &b.epochs[e].val_loss, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.epochs[e].val_accuracy, &b.epochs[e].val_accuracy, sizeof(double)) == 0);
  }
  CHECK(std::memcmp(&a.test.loss, &b.test.loss, sizeof(double)) == 0);
  CHECK(a.test.accuracy == b.test.accuracy);
  CHECK(a.test.confusion == b.test.confusion);
}

}  // namespace

TEST_CASE("cpu: a small CNN reaches > 85% test accuracy on 2,000 MNIST images, deterministically") {
  Backend& cpu = get_backend("cpu");
  const RunConfig config = small_cnn(2000, 1000, 3);
  TrainObserver quiet;
  const RunResult first = train_run(config, cpu, SessionOptions{}, quiet);
  REQUIRE_MESSAGE(first.status == RunStatus::done, first.error);
  REQUIRE(first.epochs.size() == 3);
  MESSAGE("cpu: test accuracy " << first.test.accuracy << ", loss " << first.test.loss << ", "
                                << first.epochs[0].images_per_sec << " images/s in epoch 1");
  CHECK(first.test.accuracy > 0.85);
  CHECK(first.epochs[2].loss < first.epochs[0].loss);
  CHECK(first.test.f1 > 0.8);
  CHECK(first.backend == "cpu");
  int64_t total = 0;
  for (int64_t v : first.test.confusion) total += v;
  CHECK(total == 1000);

  const RunResult second = train_run(config, cpu, SessionOptions{}, quiet);
  REQUIRE(second.status == RunStatus::done);
  check_identical(first, second);
}

TEST_CASE("ref: a short run completes, learns something and is deterministic") {
  Backend& ref = get_backend("ref");
  const RunConfig config = small_cnn(600, 200, 1);
  TrainObserver quiet;
  const RunResult first = train_run(config, ref, SessionOptions{}, quiet);
  REQUIRE_MESSAGE(first.status == RunStatus::done, first.error);
  MESSAGE("ref: test accuracy " << first.test.accuracy << ", " << first.epochs[0].images_per_sec << " images/s");
  CHECK(first.test.accuracy > 0.5);  // chance is 0.1
  const RunResult second = train_run(config, ref, SessionOptions{}, quiet);
  check_identical(first, second);
}
