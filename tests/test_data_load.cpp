// Loading the bundled MNIST: counts, first labels, limits, the validation
// split, pixel scaling and the process-wide cache.
#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include "data/dataset.h"

using namespace sweep;

namespace {
DatasetSpec mnist(int64_t train_limit = 0, int64_t test_limit = 0, double validation_split = 0.1) {
  DatasetSpec spec;
  spec.name = "mnist";
  spec.dir = SWEEP_SOURCE_DIR "/data";
  spec.train_limit = train_limit;
  spec.test_limit = test_limit;
  spec.validation_split = validation_split;
  return spec;
}
}  // namespace

TEST_CASE("the full MNIST loads with the documented counts and first labels") {
  auto ds = load_dataset(mnist());
  CHECK(ds->train.count == 60000);
  CHECK(ds->test.count == 10000);
  CHECK(ds->train.shape == Shape{1, 28, 28, false});
  CHECK(ds->train.u8.size() == size_t(60000) * 784);
  CHECK(ds->test.labels.size() == 10000);
  CHECK(ds->train.classes == 10);
  const std::vector<uint8_t> first_train{5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  const std::vector<uint8_t> first_test{7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  CHECK(std::vector<uint8_t>(ds->train.labels.begin(), ds->train.labels.begin() + 10) == first_train);
  CHECK(std::vector<uint8_t>(ds->test.labels.begin(), ds->test.labels.begin() + 10) == first_test);
  // Keras: split_at = int(60000 * 0.9) = 54000.
  CHECK(ds->fit_count == 54000);
  CHECK(ds->val_count == 6000);
}

TEST_CASE("the bundled Fashion-MNIST loads: 59,999 training images (data/README.md), 10,000 test") {
  DatasetSpec spec = mnist();
  spec.name = "fashion-mnist";
  spec.dir = "";  // the default data folder, as a grid without dataset.dir reads it
  const std::string old = std::getenv("SWEEP_DATA_DIR") ? std::getenv("SWEEP_DATA_DIR") : "";
  unsetenv("SWEEP_DATA_DIR");
  auto ds = load_dataset(spec);
  if (!old.empty()) setenv("SWEEP_DATA_DIR", old.c_str(), 1);
  CHECK(ds->train.count == 59999);
  CHECK(ds->test.count == 10000);
  CHECK(ds->train.shape == Shape{1, 28, 28, false});
  CHECK(ds->train.labels.size() == 59999);
  // Keras: split_at = int(59999 * 0.9) = int(53999.1) = 53999.
  CHECK(ds->fit_count == 53999);
  CHECK(ds->val_count == 6000);
  // Every class is present in both splits, roughly 6,000 / 1,000 each.
  std::vector<int> train_counts(10), test_counts(10);
  for (uint8_t label : ds->train.labels) ++train_counts.at(label);
  for (uint8_t label : ds->test.labels) ++test_counts.at(label);
  for (int c = 0; c < 10; ++c) {
    CHECK(train_counts[size_t(c)] >= 5999);
    CHECK(test_counts[size_t(c)] == 1000);
  }
}

TEST_CASE("limits take the first N samples and the split takes the last fraction") {
  auto full = load_dataset(mnist());
  auto small = load_dataset(mnist(1001, 37, 0.25));
  CHECK(small->train.count == 1001);
  CHECK(small->test.count == 37);
  CHECK(small->fit_count == 750);  // int(1001 * 0.75) = int(750.75)
  CHECK(small->val_count == 251);
  CHECK(std::equal(small->train.u8.begin(), small->train.u8.end(), full->train.u8.begin()));
  CHECK(std::equal(small->test.labels.begin(), small->test.labels.end(), full->test.labels.begin()));

  auto no_val = load_dataset(mnist(100, 10, 0.0));
  CHECK(no_val->fit_count == 100);
  CHECK(no_val->val_count == 0);
  // A limit above the count takes everything.
  auto over = load_dataset(mnist(0, 20000, 0.1));
  CHECK(over->test.count == 10000);
}

TEST_CASE("copy_sample scales pixels by 1/255") {
  auto ds = load_dataset(mnist(10, 10));
  std::vector<float> x(784);
  ds->train.copy_sample(3, x.data());
  for (size_t k = 0; k < x.size(); ++k) {
    const uint8_t byte = ds->train.u8[3 * 784 + k];
    CHECK(x[k] == float(byte) / 255.0f);
    CHECK(x[k] >= 0.0f);
    CHECK(x[k] <= 1.0f);
  }
}

TEST_CASE("the cache hands every caller the same copy, also under concurrency") {
  auto a = load_dataset(mnist(500, 100));
  auto b = load_dataset(mnist(500, 100));
  CHECK(a.get() == b.get());
  CHECK(a->key == b->key);
  auto other = load_dataset(mnist(501, 100));
  CHECK(other.get() != a.get());
  CHECK(other->id != a->id);

  // Eight threads ask for a key nobody loaded yet: one load, one pointer.
  std::vector<std::shared_ptr<const Dataset>> got(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) threads.emplace_back([&, t] { got[t] = load_dataset(mnist(777, 55)); });
  for (auto& t : threads) t.join();
  for (auto& p : got) CHECK(p.get() == got[0].get());
  CHECK(got[0]->train.count == 777);
}

TEST_CASE("data_dir: spec.dir, then $SWEEP_DATA_DIR, then the bundled data/") {
  DatasetSpec spec;
  spec.dir = "/somewhere";
  CHECK(data_dir(spec) == "/somewhere");
  spec.dir.clear();
  const char* old = std::getenv("SWEEP_DATA_DIR");
  const std::string saved = old ? old : "";
  setenv("SWEEP_DATA_DIR", "/from/env", 1);
  CHECK(data_dir(spec) == "/from/env");
  unsetenv("SWEEP_DATA_DIR");
  CHECK(data_dir(spec) == std::string(SWEEP_SOURCE_DIR) + "/data");
  if (old) setenv("SWEEP_DATA_DIR", saved.c_str(), 1);
}
