// CPU backend sessions: no oneDNN primitive on the write-ups' networks falls
// back to a reference ("ref") implementation; same seed and thread count give
// bit-identical parameters; concurrent sessions equal sequential ones.
#include <doctest/doctest.h>

#include <sstream>
#include <thread>

#include "kernels/common/rng.h"
#include "tests/support/layers.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

// Write-up 001's Keras CNN blocks: Conv-BatchNorm-MaxPool-Dropout(0.25), then
// a dense block with BatchNorm and Dropout; LeakyReLU as a layer.
ModelSpec model_001() {
  const LayerSpec leaky = activation(Activation::leaky_relu, 0.1);
  return mnist_model({conv(64, 3, Activation::relu), batchnorm(), maxpool(), dropout(0.25),
                      conv(64, 3, Activation::linear), leaky, batchnorm(), maxpool(), dropout(0.25), flatten(),
                      dense(128, Activation::leaky_relu), batchnorm(), dropout(0.5), dense(10, Activation::softmax)});
}

Samples random_images(int64_t count, uint64_t seed) {
  Samples s;
  s.shape = {1, 28, 28, false};
  s.count = count;
  const uint64_t key = rng::derive_key(seed, 99);
  s.u8.resize(size_t(count * 784));
  for (size_t i = 0; i < s.u8.size(); ++i) s.u8[i] = uint8_t(rng::bits(key, i) & 0xff);
  for (int64_t i = 0; i < count; ++i) s.labels.push_back(uint8_t(rng::bits(key, uint64_t(-1 - i)) % 10));
  return s;
}

std::vector<int32_t> rows(int64_t begin, int64_t count) {
  std::vector<int32_t> r(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) r[size_t(i)] = int32_t(begin + i);
  return r;
}

bool cpu_has_bf16() { return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16"); }

// Train `steps` batches of 8 and return the parameters and the last loss.
Params train(const ModelSpec& model, const SessionOptions& options, const Samples& data, int steps,
             double* last_loss = nullptr) {
  OptimizerSpec adam;
  auto session = get_backend("cpu").create_session(model, adam, options);
  for (int s = 0; s < steps; ++s) {
    const std::vector<int32_t> r = rows((s * 8) % (data.count - 8), 8);
    const StepStats stats = session->train_step(data, r);
    if (last_loss) *last_loss = stats.loss_sum;
  }
  return session->get_params();
}

void check_no_reference_kernels(const ModelSpec& model, Precision precision) {
  SessionOptions options;
  options.threads = 2;
  options.precision = precision;
  OptimizerSpec adam;
  auto session = get_backend("cpu").create_session(model, adam, options);
  const Samples data = random_images(16, 1);
  session->train_step(data, rows(0, 16));
  const std::string text = session->describe();
  CAPTURE(text);
  int primitives = 0, backward = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string impl = line.substr(colon + 2);
    CAPTURE(line);
    CHECK(impl.find("ref") == std::string::npos);
    ++primitives;
    if (line.find("backward_weights") != std::string::npos) ++backward;
  }
  CHECK(primitives > 10);
  CHECK(backward >= 3);
}

}  // namespace

TEST_CASE("no oneDNN reference implementations on the write-ups' networks (fp32)") {
  check_no_reference_kernels(writeup000(), Precision::fp32);
  check_no_reference_kernels(model_001(), Precision::fp32);
}

TEST_CASE("no oneDNN reference implementations on the write-ups' networks (bf16)") {
  if (!cpu_has_bf16()) {
    MESSAGE("this CPU has neither AVX512-BF16 nor AMX: bf16 is not offered, skipping");
    return;
  }
  check_no_reference_kernels(writeup000(), Precision::bf16);
  check_no_reference_kernels(model_001(), Precision::bf16);
}

TEST_CASE("write-up 000's first convolution and max pool run fused, the second conv's backward from its pool") {
  SessionOptions options;
  options.threads = 2;
  OptimizerSpec adam;
  auto session = get_backend("cpu").create_session(writeup000(), adam, options);
  session->train_step(random_images(16, 1), rows(0, 16));
  const std::string text = session->describe();
  CAPTURE(text);
  CHECK(text.find("conv2d forward+backward: sweep:conv_maxpool") != std::string::npos);
  CHECK(text.find("max_pooling2d forward+backward: sweep:conv_maxpool") != std::string::npos);
  CHECK(text.find("conv2d forward: ") == std::string::npos);  // no oneDNN primitive for it
  CHECK(text.find("conv2d forward+backward: sweep:conv2d") == std::string::npos);
  // The second conv's backward runs from the second pool's winners; the
  // third conv (before Flatten) keeps oneDNN's backward primitives.
  CHECK(text.find("conv2d_1 backward: sweep:conv_maxpool_sparse") != std::string::npos);
  CHECK(text.find("max_pooling2d_1 backward: sweep:conv_maxpool_sparse") != std::string::npos);
  CHECK(text.find("conv2d_1 backward_weights: ") == std::string::npos);
  CHECK(text.find("conv2d_2 backward_weights: ") != std::string::npos);
}

// Trains `model` twice from the same seed and thread count; both runs must
// end with the same loss and parameters, bit for bit. Returns the parameters.
static Params check_bit_identical(const ModelSpec& model, const SessionOptions& options, const Samples& data, int steps) {
  double loss_a = 0, loss_b = 0;
  const Params a = train(model, options, data, steps, &loss_a);
  const Params b = train(model, options, data, steps, &loss_b);
  CHECK(loss_a == loss_b);
  REQUIRE(a.size() == b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    CAPTURE(a[t].name);
    CHECK(a[t].values == b[t].values);
  }
  return a;
}

TEST_CASE("same seed and thread count give bit-identical parameters") {
  const Samples data = random_images(64, 2);
  SessionOptions options;
  options.threads = 2;
  options.seed = 5;
  const Params a = check_bit_identical(model_001(), options, data, 20);
  // A different seed changes the dropout masks and initial weights.
  options.seed = 6;
  CHECK(train(model_001(), options, data, 2)[0].values != a[0].values);
}

TEST_CASE("bit-identical parameters through the fused first layer and the pool-driven backward") {
  // Write-up 000's network: its first conv + pool run as one kernel and the
  // second conv's backward sums per-thread partials, in a fixed order.
  SessionOptions options;
  options.threads = 2;
  options.seed = 7;
  check_bit_identical(writeup000(), options, random_images(64, 3), 10);
}

TEST_CASE("concurrent sessions give the same results as sequential ones") {
  const Samples data = random_images(64, 3);
  SessionOptions first, second;
  first.threads = 2, first.seed = 1;
  second.threads = 1, second.seed = 2;
  const Params seq_a = train(model_001(), first, data, 6);
  const Params seq_b = train(writeup000(), second, data, 6);
  Params par_a, par_b;
  std::thread ta([&] { par_a = train(model_001(), first, data, 6); });
  std::thread tb([&] { par_b = train(writeup000(), second, data, 6); });
  ta.join();
  tb.join();
  for (size_t t = 0; t < seq_a.size(); ++t) CHECK(par_a[t].values == seq_a[t].values);
  for (size_t t = 0; t < seq_b.size(); ++t) CHECK(par_b[t].values == seq_b[t].values);
}

TEST_CASE("predict in chunks equals predict per sample") {
  SessionOptions options;
  options.threads = 2;
  OptimizerSpec adam;
  auto session = get_backend("cpu").create_session(writeup000(), adam, options);
  const Samples data = random_images(300, 4);
  std::vector<float> all(300 * 10), one(10);
  session->predict(data, rows(0, 300), all.data());  // one full chunk of 256 and a padded one
  for (int64_t i : {0, 255, 256, 299}) {
    session->predict(data, rows(i, 1), one.data());
    for (int j = 0; j < 10; ++j) CHECK(one[size_t(j)] == doctest::Approx(all[size_t(i * 10 + j)]).epsilon(1e-5));
  }
}

// Write-up 000's Dense(64) kernel is kept in oneDNN's blocked layout once a
// plan exists; get_params/set_params still speak the canonical layout, and a
// session given parameters after its plans exist predicts like a fresh one.
TEST_CASE("parameters round-trip through kernels kept in oneDNN's layout") {
  SessionOptions options;
  options.threads = 2;
  OptimizerSpec adam;
  const Samples data = random_images(64, 5);
  auto trained = get_backend("cpu").create_session(writeup000(), adam, options);
  const Params initial = trained->get_params();
  trained->train_step(data, rows(0, 64));  // builds the plans, adopts the layouts
  const Params after = trained->get_params();
  REQUIRE(after.size() == initial.size());
  for (size_t t = 0; t < after.size(); ++t) CHECK(after[t].values != initial[t].values);

  Params chosen = initial;
  for (ParamTensor& t : chosen)
    for (size_t k = 0; k < t.values.size(); ++k) t.values[k] = float(k % 97) * 0.001f - 0.05f;
  trained->set_params(chosen);
  const Params back = trained->get_params();
  for (size_t t = 0; t < back.size(); ++t) {
    CAPTURE(back[t].name);
    CHECK(back[t].values == chosen[t].values);
  }
  options.seed = 9;  // different initial weights, replaced below
  auto fresh = get_backend("cpu").create_session(writeup000(), adam, options);
  fresh->set_params(chosen);
  std::vector<float> a(64 * 10), b(64 * 10);
  trained->predict(data, rows(0, 64), a.data());
  fresh->predict(data, rows(0, 64), b.data());
  CHECK(a == b);
}
