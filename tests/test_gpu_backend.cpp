// The GPU backend's contract on any machine: constructing it and asking for
// devices never crashes or throws; without a device it reports zero and
// refuses sessions with a RuntimeError that says why.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "train/backend.h"

using namespace sweep;

namespace {

ModelSpec tiny_model() {
  ModelSpec model;
  model.input = Shape{1, 4, 4, false};
  model.classes = 3;
  LayerSpec flatten;
  flatten.kind = LayerKind::flatten;
  LayerSpec out;
  out.kind = LayerKind::dense;
  out.units = 3;
  out.activation = Activation::softmax;
  model.layers = {flatten, out};
  return model;
}

}  // namespace

bool gpu_compiled() {
  const auto names = backend_names();
  return std::find(names.begin(), names.end(), "gpu") != names.end();
}

TEST_CASE("a build without the GPU module says so when asked for it, naming the file") {
  if (gpu_compiled()) {
    MESSAGE("skipped: this build has the GPU module");
    return;
  }
  CHECK_THROWS_WITH_AS(get_backend("gpu"), doctest::Contains("no GPU module"), InputError);
  CHECK_THROWS_WITH_AS(get_backend("gpu"), doctest::Contains("libsweep_gpu.so"), InputError);
}

TEST_CASE("the gpu backend is listed and reports its devices without failing") {
  if (!gpu_compiled()) {
    MESSAGE("skipped: this build has no GPU backend (CUDA was not found at configure time)");
    return;
  }
  Backend& gpu = get_backend("gpu");
  CHECK(gpu.name() == "gpu");
  const int count = gpu.device_count();
  CHECK(count >= 0);
  CHECK(gpu.device_count() == count);  // stable across calls
  CHECK(gpu.device_name(-1).empty());
  CHECK(gpu.device_name(count).empty());
  if (count == 0) {
    MESSAGE("skipped: no CUDA device (checked that sessions are refused cleanly)");
    CHECK_THROWS_AS(gpu.create_session(tiny_model(), OptimizerSpec{}, SessionOptions{}), RuntimeError);
    return;
  }
  CHECK_FALSE(gpu.device_name(0).empty());
  SessionOptions beyond;
  beyond.device = count;
  CHECK_THROWS_AS(gpu.create_session(tiny_model(), OptimizerSpec{}, beyond), InputError);
}

TEST_CASE("a gpu session starts from the shared initial parameters and describes itself") {
  if (!gpu_compiled()) {
    MESSAGE("skipped: this build has no GPU backend");
    return;
  }
  Backend& gpu = get_backend("gpu");
  if (gpu.device_count() == 0) {
    MESSAGE("skipped: no CUDA device");
    return;
  }
  SessionOptions options;
  options.seed = 7;
  const ModelSpec model = tiny_model();
  auto session = gpu.create_session(model, OptimizerSpec{}, options);
  const Params expected = initial_params(model, 7);
  const Params actual = session->get_params();
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) CHECK(actual[i].values == expected[i].values);
  CHECK(session->describe().find("cuDNN") != std::string::npos);

  // Bad indices are refused before anything reaches the device.
  Samples split;
  split.shape = model.input;
  split.count = 2;
  split.u8.assign(32, 100);
  split.labels = {0, 2};
  split.classes = 3;
  const std::vector<int32_t> bad{0, 5};
  CHECK_THROWS_AS(session->train_step(split, bad), RuntimeError);
  const std::vector<int32_t> good{0, 1};
  const StepStats stats = session->train_step(split, good);
  CHECK(std::isfinite(stats.loss_sum));
}
