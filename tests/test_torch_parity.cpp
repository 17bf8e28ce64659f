// The engine against an independent implementation of Keras' formulas:
// tests/torch_parity.py computes, in float64 with PyTorch, what Keras computes
// for the same network, parameters, batches and optimizer (docs/keras_parity.md
// says which Keras version's formula each layer and optimizer follows). Every
// case runs on the ref and cpu backends (and gpu where it has a device) and is
// compared with that reference within fp32 tolerances. Each case and backend
// prints one row of the table of worst errors in docs/keras_parity.md.
//
// Two kinds of case:
//  * layer cases: one step of plain SGD with learning rate 1024 (a power of
//    two: lr*g is exact in fp32, so (before - after)/lr is the gradient to
//    fp32 rounding of the new weight), eval-mode probabilities, the training
//    loss, the gradients of every trainable tensor and the BatchNorm moving
//    statistics after the step;
//  * optimizer cases: four steps of each optimizer and option on a small
//    conv-BN-dense network; the loss of every step, the parameter change after
//    every step and the probabilities after the last.
// Without python3 + torch the test says so and passes without comparing.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backends/ref/layers.h"
#include "tests/support/layers.h"
#include "tests/support/temp_dir.h"
#include "train/backend.h"

using namespace sweep;
using namespace sweep::test;

namespace {

constexpr int kNoTorch = 77;        // torch_parity.py: torch cannot be imported
constexpr double kProbeLr = 1024;   // layer cases: SGD step whose change is lr * gradient
constexpr uint64_t kSessionSeed = 11;

// Tolerances of the combined criterion |got - want| <= tol * (|want| + floor)
// (see Worst). fp32 forward passes agree with the float64 reference to a few
// 1e-7 relative; a gradient is a sum of many products, often cancelling, and
// its fp32 error is relative to the size of those terms, hence the floors.
constexpr double kTolProbs = 1e-5;      // eval probabilities, floor 1e-3
constexpr double kTolLoss = 1e-5;       // per-step loss sums, relative
constexpr double kTolMoving = 1e-5;     // BatchNorm moving statistics, floor 1e-3 of the tensor's largest
constexpr double kTolGrad = 1e-4;       // layer cases: gradients,
constexpr double kFloorGrad = 1e-2;     //   floor 1% of the tensor's largest gradient
constexpr double kTolUpdate = 3e-4;     // optimizer cases: parameter changes after 1..4 steps,
constexpr double kFloorUpdate = 1e-1;   //   floor 10% of the tensor's largest change (Adam and RMSprop
                                        //   divide by |g|: an element whose steps cancel carries the
                                        //   rounding of the larger ones). Measured worst: 9e-5 in
                                        //   Release builds, 1.5e-4 (Adam, ref) at -O1, whose
                                        //   summation order differs; 3e-4 covers both and stays
                                        //   300x under the nearest wrong formula (PyTorch's Adam, 1e-1)

struct Case {
  std::string name;
  ModelSpec model;
  OptimizerSpec opt;
  int steps = 1;
  int batch = 6;
  bool bytes = false;   // u8 pixels (scaled by 1/255) instead of float features
  bool probe = true;    // a layer case (gradients), else an optimizer case (updates)
  // Optional: set parameters and samples by hand (e.g. to drive the clip).
  std::function<void(Params&, Samples&)> tweak;
};

OptimizerSpec probe_sgd() {
  OptimizerSpec o;
  o.kind = Optimizer::sgd;
  o.learning_rate = kProbeLr;
  return o;
}

// A layer case: `layers` plus Flatten (when the input is an image and none
// is there) and the output Dense(5, output).
Case layer_case(std::string name, Shape input, std::vector<LayerSpec> layers, Activation output = Activation::softmax) {
  Case c;
  c.name = std::move(name);
  const bool has_flatten = std::any_of(layers.begin(), layers.end(),
                                       [](const LayerSpec& l) { return l.kind == LayerKind::flatten; });
  if (!input.flat && !has_flatten) layers.push_back(flatten());
  layers.push_back(dense(5, output));
  c.model = model_of(input, 5, std::move(layers));
  c.opt = probe_sgd();
  return c;
}

// Initial parameters with every tensor non-trivial: Glorot kernels, and
// biases, gamma, beta and the moving statistics drawn away from 0 and 1 (so
// that eval-mode BatchNorm and every bias gradient are exercised).
Params start_params(const ModelSpec& model, uint64_t seed) {
  Params params = initial_params(model, seed);
  std::mt19937_64 gen(seed * 7919 + 1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (ParamTensor& p : params) {
    const std::string kind = p.name.substr(p.name.rfind('/') + 1);
    for (float& v : p.values) {
      if (kind == "bias") v = 0.1f * u(gen);
      if (kind == "gamma") v = 1.0f + 0.5f * u(gen);
      if (kind == "beta") v = 0.3f * u(gen);
      if (kind == "moving_mean") v = 0.3f * u(gen);
      if (kind == "moving_variance") v = 1.0f + 0.5f * u(gen);
    }
  }
  return params;
}

Samples make_samples(const Case& c, uint64_t seed) {
  Samples s;
  s.shape = c.model.input;
  s.count = int64_t(c.steps) * c.batch;
  s.classes = c.model.classes;
  std::mt19937_64 gen(seed);
  const int64_t values = s.count * s.shape.size();
  if (c.bytes) {
    for (int64_t i = 0; i < values; ++i) s.u8.push_back(uint8_t(gen() % 256));
  } else {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t i = 0; i < values; ++i) s.f32.push_back(normal(gen));
  }
  for (int64_t i = 0; i < s.count; ++i) s.labels.push_back(uint8_t(gen() % uint64_t(s.classes)));
  return s;
}

std::vector<int32_t> batch_rows(const Case& c, int step) {
  std::vector<int32_t> rows(size_t(c.batch));
  for (int i = 0; i < c.batch; ++i) rows[size_t(i)] = step * c.batch + i;
  return rows;
}

std::vector<int32_t> all_rows(const Case& c) {
  std::vector<int32_t> rows(size_t(c.steps) * size_t(c.batch));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = int32_t(i);
  return rows;
}

json layer_json(const LayerSpec& l) {
  return json{{"kind", to_string(l.kind)},
              {"filters", l.filters},
              {"kernel", {l.kernel_h, l.kernel_w}},
              {"stride", {l.stride_h, l.stride_w}},
              {"padding", to_string(l.padding)},
              {"pool", {l.pool_h, l.pool_w}},
              {"pool_stride", {l.pool_stride_h, l.pool_stride_w}},
              {"units", l.units},
              {"activation", to_string(l.activation)},
              {"alpha", l.alpha},
              {"use_bias", l.use_bias},
              {"rate", l.rate},
              {"momentum", l.momentum},
              {"epsilon", l.epsilon}};
}

// The keep masks (0/1, flat NCHW of the layer's input batch) of every dropout
// layer at every step: sweep's documented stream (backends/ref/layers.h),
// taken from the reference implementation of that stream. What the Python
// side checks is Keras' arithmetic on them: x * keep / (1 - rate).
json dropout_masks(const Case& c) {
  const ModelInfo info = infer(c.model);
  json steps = json::array();
  for (int step = 0; step < c.steps; ++step) {
    json masks = json::object();
    for (size_t i = 0; i < c.model.layers.size(); ++i) {
      const LayerSpec& l = c.model.layers[i];
      if (l.kind != LayerKind::dropout || l.rate <= 0) continue;
      const Shape& in = info.layers[i].input;
      ref::Tensor<double> ones(c.batch, in.c, in.h, in.w), out;
      std::fill(ones.data.begin(), ones.data.end(), 1.0);
      std::vector<double> factor;
      ref::dropout_forward(l.rate, kSessionSeed, step, int(i), ones, out, factor);
      json keep = json::array();
      for (double f : factor) keep.push_back(f > 0 ? 1 : 0);
      masks[std::to_string(i)] = keep;
    }
    steps.push_back(masks);
  }
  return steps;
}

json case_json(const Case& c, const Params& start, const Samples& data) {
  json j;
  j["name"] = c.name;
  j["input"] = {c.model.input.c, c.model.input.h, c.model.input.w};
  j["classes"] = c.model.classes;
  j["output"] = to_string(c.model.layers.back().activation);
  j["layers"] = json::array();
  for (const LayerSpec& l : c.model.layers) j["layers"].push_back(layer_json(l));
  j["params"] = json::array();
  for (const ParamTensor& p : start) {
    json values = json::array();
    for (float v : p.values) values.push_back(double(v));
    j["params"].push_back({{"name", p.name}, {"shape", p.shape}, {"trainable", p.trainable}, {"values", values}});
  }
  if (data.is_u8()) {
    j["x_u8"] = data.u8;
  } else {
    json x = json::array();
    for (float v : data.f32) x.push_back(double(v));
    j["x"] = x;
  }
  j["labels"] = data.labels;
  j["batches"] = json::array();
  for (int step = 0; step < c.steps; ++step) j["batches"].push_back(batch_rows(c, step));
  j["eval"] = all_rows(c);
  j["masks"] = dropout_masks(c);
  j["optimizer"] = {{"kind", to_string(c.opt.kind)}, {"learning_rate", c.opt.learning_rate},
                    {"momentum", c.opt.momentum},    {"nesterov", c.opt.nesterov},
                    {"beta_1", c.opt.beta_1},        {"beta_2", c.opt.beta_2},
                    {"epsilon", c.opt.epsilon},      {"rho", c.opt.rho}};
  return j;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs torch_parity.py with the first interpreter that can import torch:
// $SWEEP_PYTHON, python3 on PATH, /usr/bin/python3 (Debian's python3-torch is
// for Debian's python, which a pyenv or venv python3 on PATH may shadow).
// nullopt when none can: `why` says what was tried.
std::optional<json> run_reference(const json& input, const TempDir& dir, std::string& why) {
  const std::string script = SWEEP_SOURCE_DIR "/tests/torch_parity.py";
  const std::string in = dir.file("in.json"), out = dir.file("out.json"), err = dir.file("stderr.txt");
  std::ofstream(in) << input.dump();
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("SWEEP_PYTHON"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const std::string& python : candidates) {
    const std::string command =
        quoted(python) + " " + quoted(script) + " " + quoted(in) + " " + quoted(out) + " 2>" + quoted(err);
    const int status = std::system(command.c_str());
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == 0) return json::parse(read_text(out));
    std::string text = read_text(err);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (rc == kNoTorch || rc == 127) {  // no torch, or no such interpreter
      why += (why.empty() ? "" : "; ") + python + (rc == 127 ? ": not found" : ": no torch");
      continue;
    }
    FAIL("torch_parity.py failed under " << python << " (exit " << rc << "):\n" << text);
  }
  return std::nullopt;
}

// Worst error of a set of comparisons: abs = max |got - want|, rel = max
// |got - want| / (|want| + floor). Each caller picks the floor: an entry
// much smaller than its tensor's largest is judged against that scale (its
// fp32 error is set by the larger terms it is summed from), not against
// itself.
struct Worst {
  double abs = 0, rel = 0;
  std::string where;
  bool any = false;
  void add(double got, double want, double floor, const std::string& at) {
    any = true;
    const double e = std::abs(got - want);
    abs = std::max(abs, e);
    const double r = e / (std::abs(want) + floor);
    if (r > rel || !std::isfinite(r)) {
      rel = std::isfinite(r) ? r : 1e300;
      std::ostringstream s;
      s << at << ": " << std::setprecision(9) << got << " vs " << want;
      where = s.str();
    }
  }
};

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

struct Measured {
  Worst probs, loss, update, moving, other;
  int64_t correct_diff = 0;
};

// Compares one backend's run of a case with the reference's answer.
Measured run_backend(Backend& backend, const Case& c, const Params& start, const Samples& data, const json& want) {
  SessionOptions options;
  options.seed = kSessionSeed;
  auto session = backend.create_session(c.model, c.opt, options);
  session->set_params(start);
  Measured m;
  const std::vector<int32_t> eval = all_rows(c);
  const int classes = c.model.classes;
  auto compare_probs = [&](const json& expected, const char* when) {
    std::vector<float> probs(eval.size() * size_t(classes));
    session->predict(data, eval, probs.data());
    REQUIRE(expected.size() == probs.size());
    for (size_t i = 0; i < probs.size(); ++i)
      m.probs.add(probs[i], expected[i].get<double>(), 1e-3, std::string(when) + " p[" + std::to_string(i) + "]");
  };
  compare_probs(want["probs_before"], "before");

  const json& other = want.contains("other_formula") ? want["other_formula"]["steps"] : json();
  for (int step = 0; step < c.steps; ++step) {
    const std::vector<int32_t> rows = batch_rows(c, step);
    const StepStats stats = session->train_step(data, rows);
    const json& w = want["steps"][size_t(step)];
    const std::string at = "step " + std::to_string(step + 1);
    m.loss.add(stats.loss_sum, w["loss_sum"].get<double>(), 1e-6 * c.batch, at + " loss_sum");
    m.correct_diff = std::max(m.correct_diff, std::abs(stats.correct - w["correct"].get<int64_t>()));
    const Params got = session->get_params();
    REQUIRE(got.size() == start.size());
    for (size_t t = 0; t < got.size(); ++t) {
      const std::vector<double> after = w["params"][t].get<std::vector<double>>();
      REQUIRE(after.size() == got[t].values.size());
      const std::string name = at + " " + got[t].name;
      if (!got[t].trainable) {  // BatchNorm moving statistics: their new values
        const double floor = 1e-3 * max_abs(after);
        for (size_t i = 0; i < after.size(); ++i)
          m.moving.add(got[t].values[i], after[i], floor, name + "[" + std::to_string(i) + "]");
        continue;
      }
      // Trainable: the change from the start; in layer cases divided by the
      // learning rate, i.e. minus the gradient.
      const double scale = c.probe ? kProbeLr : 1.0;
      std::vector<double> want_delta(after.size());
      for (size_t i = 0; i < after.size(); ++i) want_delta[i] = (after[i] - start[t].values[i]) / scale;
      const double floor = (c.probe ? kFloorGrad : kFloorUpdate) * max_abs(want_delta);
      for (size_t i = 0; i < after.size(); ++i) {
        const double got_delta = (double(got[t].values[i]) - double(start[t].values[i])) / scale;
        m.update.add(got_delta, want_delta[i], floor, name + "[" + std::to_string(i) + "]");
      }
      if (!other.is_null()) {  // the same against the formula sweep does not follow
        const std::vector<double> alt = other[size_t(step)]["params"][t].get<std::vector<double>>();
        std::vector<double> alt_delta(alt.size());
        for (size_t i = 0; i < alt.size(); ++i) alt_delta[i] = alt[i] - start[t].values[i];
        const double alt_floor = 1e-2 * max_abs(alt_delta);
        for (size_t i = 0; i < alt.size(); ++i)
          m.other.add(double(got[t].values[i]) - double(start[t].values[i]), alt_delta[i], alt_floor, name);
      }
    }
  }
  if (!c.probe) compare_probs(want["probs_after"], "after");
  return m;
}

std::string sci(double v) {
  std::ostringstream s;
  s << std::scientific << std::setprecision(1) << v;
  return s.str();
}

std::vector<Case> layer_cases() {
  const Shape image{3, 8, 8, false}, odd{2, 9, 9, false}, flat{12, 1, 1, true};
  std::vector<Case> cases;
  auto add = [&](Case c) { cases.push_back(std::move(c)); };
  // Conv2D: padding, strides, kernels, fused activations.
  add(layer_case("conv 3x3 valid, relu", image, {conv(4, 3, Activation::relu)}));
  add(layer_case("conv 3x3 same, sigmoid", image, {conv(4, 3, Activation::sigmoid, Padding::same)}));
  add(layer_case("conv 5x5 same stride 2 on 9x9 (pad 2+2), tanh", odd,
                 {conv(3, 5, Activation::tanh, Padding::same, 2)}));
  add(layer_case("conv 3x3 same stride 2 on 8x8 (pad 0+1), elu 0.7", image,
                 {conv(4, 3, Activation::elu, Padding::same, 2, 0.7)}));
  add(layer_case("conv 4x4 same (pad 1+2), leaky_relu 0.1", image,
                 {conv(4, 4, Activation::leaky_relu, Padding::same, 1, 0.1)}));
  add(layer_case("conv 2x2 same (pad 0+1), leaky_relu 0.2", image,
                 {conv(4, 2, Activation::leaky_relu, Padding::same, 1, 0.2)}));
  add(layer_case("conv 3x3 valid stride 2 on 9x9, elu 1.0", odd, {conv(4, 3, Activation::elu, Padding::valid, 2, 1.0)}));
  LayerSpec no_bias = conv(4, {3, 2}, Activation::linear, Padding::valid, 2);
  no_bias.use_bias = false;
  add(layer_case("conv 3x2 valid stride 2, linear, no bias", image, {no_bias}));
  add(layer_case("conv 3x2 same stride 2, relu", odd, {conv(4, {3, 2}, Activation::relu, Padding::same, 2)}));
  // Pooling after a tanh conv (floats: no ties in a window).
  const LayerSpec c_tanh = conv(4, 3, Activation::tanh, Padding::same);
  add(layer_case("maxpool 2", image, {c_tanh, maxpool()}));
  add(layer_case("maxpool 3 stride 2 (overlapping)", image, {c_tanh, pool(LayerKind::maxpool2d, 3, 2)}));
  add(layer_case("maxpool 2 on 9x9 (floor)", odd, {c_tanh, maxpool()}));
  add(layer_case("avgpool 2", image, {c_tanh, pool(LayerKind::avgpool2d, 2)}));
  add(layer_case("avgpool 3 stride 1", image, {c_tanh, pool(LayerKind::avgpool2d, 3, 1)}));
  add(layer_case("avgpool 2 stride 3 on 9x9", odd, {c_tanh, pool(LayerKind::avgpool2d, 2, 3)}));
  // BatchNormalization (training: batch statistics, moving averages moved).
  add(layer_case("batchnorm after conv relu", image, {conv(4, 3, Activation::relu), batchnorm()}));
  LayerSpec bn = batchnorm();
  bn.momentum = 0.9;
  bn.epsilon = 1e-2;
  add(layer_case("batchnorm on dense sigmoid, momentum 0.9, eps 0.01", flat, {dense(7, Activation::sigmoid), bn}));
  // Dropout, Flatten.
  add(layer_case("dropout 0 (identity)", image, {conv(4, 3, Activation::relu), dropout(0.0)}));
  add(layer_case("dropout 0.4 (sweep's mask, Keras' scaling)", flat, {dense(8, Activation::tanh), dropout(0.4)}));
  add(layer_case("flatten of 4x6x6 maps (C,H,W order)", image,
                 {conv(4, 3, Activation::relu), flatten(), dense(6, Activation::relu)}));
  // Dense with each fused activation.
  add(layer_case("dense linear", flat, {dense(7, Activation::linear)}));
  add(layer_case("dense relu", flat, {dense(7, Activation::relu)}));
  add(layer_case("dense leaky_relu 0.1", flat, {dense(7, Activation::leaky_relu, 0.1)}));
  add(layer_case("dense sigmoid", flat, {dense(7, Activation::sigmoid)}));
  add(layer_case("dense tanh", flat, {dense(7, Activation::tanh)}));
  add(layer_case("dense elu 0.7", flat, {dense(7, Activation::elu, 0.7)}));
  // Activation layers.
  const LayerSpec lin = conv(4, 3, Activation::linear);
  add(layer_case("Activation relu", image, {lin, activation(Activation::relu)}));
  add(layer_case("Activation leaky_relu 0.2", image, {lin, activation(Activation::leaky_relu, 0.2)}));
  add(layer_case("Activation sigmoid", image, {lin, activation(Activation::sigmoid)}));
  add(layer_case("Activation tanh", image, {lin, activation(Activation::tanh)}));
  add(layer_case("Activation elu 1.3", image, {lin, activation(Activation::elu, 1.3)}));
  // Outputs and inputs.
  add(layer_case("sigmoid output", image, {conv(4, 3, Activation::relu)}, Activation::sigmoid));
  {
    // Drives the 1e-7 clip both ways: logits of +-20 against a class whose
    // logit follows feature 0 (x0 = -1: about -30, x0 = 0.2: about 0).
    Case c = layer_case("sigmoid output at the clip (q < 1e-7, q > 1 - 1e-7)", Shape{6, 1, 1, true}, {},
                        Activation::sigmoid);
    c.tweak = [](Params& p, Samples& s) {
      const float bias[5] = {20, -20, -20, -20, -5};
      for (int k = 0; k < 5; ++k) p[1].values[size_t(k)] = bias[k];
      p[0].values[4 * 6 + 0] = 25;  // kernel [units][features]: class 4, feature 0
      const int labels[6] = {0, 0, 1, 4, 4, 2};
      const float x0[6] = {-1.0f, 0.2f, 0.2f, 0.2f, -1.0f, 0.5f};
      for (int n = 0; n < 6; ++n) {
        s.labels[size_t(n)] = uint8_t(labels[n]);
        s.f32[size_t(n) * 6] = x0[n];
      }
    };
    add(c);
  }
  {
    Case c = layer_case("MLP on u8 pixels (x / 255)", Shape{1, 6, 6, false}, {flatten(), dense(9, Activation::tanh)});
    c.bytes = true;
    add(c);
  }
  {
    // Every layer kind in one network.
    Case c = layer_case("all layers: conv-BN-maxpool-conv-avgpool-dropout-dense-Activation", Shape{1, 14, 14, false},
                        {conv(6, 3, Activation::relu), batchnorm(), maxpool(),
                         conv(5, {3, 2}, Activation::leaky_relu, Padding::same, 2), layer(LayerKind::avgpool2d),
                         flatten(), dropout(0.3), dense(12, Activation::elu, 1.0), activation(Activation::tanh)});
    c.batch = 8;
    add(c);
  }
  return cases;
}

std::vector<Case> optimizer_cases() {
  std::vector<Case> cases;
  auto add = [&](std::string name, OptimizerSpec opt) {
    Case c;
    c.name = std::move(name);
    c.model = model_of(Shape{2, 8, 8, false}, 5,
                       {conv(4, 3, Activation::relu, Padding::same), batchnorm(), maxpool(), flatten(),
                        dense(6, Activation::tanh), dense(5, Activation::softmax)});
    c.opt = opt;
    c.steps = 4;
    c.batch = 8;
    c.probe = false;
    cases.push_back(std::move(c));
  };
  OptimizerSpec sgd;
  sgd.kind = Optimizer::sgd;
  sgd.learning_rate = 0.1;
  add("SGD lr 0.1", sgd);
  sgd.learning_rate = 0.05;
  sgd.momentum = 0.9;
  add("SGD momentum 0.9", sgd);
  sgd.nesterov = true;
  add("SGD Nesterov momentum 0.9", sgd);
  OptimizerSpec adam;  // Keras defaults: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7
  add("Adam (Keras defaults)", adam);
  adam.learning_rate = 0.01;
  adam.beta_1 = 0.8;
  adam.beta_2 = 0.99;
  adam.epsilon = 1e-4;
  add("Adam lr 0.01, beta 0.8/0.99, eps 1e-4", adam);
  OptimizerSpec rms;
  rms.kind = Optimizer::rmsprop;
  rms.learning_rate = 0.01;
  rms.rho = 0.8;
  add("RMSprop rho 0.8, momentum 0", rms);
  rms.rho = 0.95;
  rms.momentum = 0.5;
  rms.epsilon = 1e-5;
  add("RMSprop rho 0.95, momentum 0.5, eps 1e-5", rms);
  return cases;
}

// ref, cpu, and every other compiled backend that has a device here.
std::vector<Backend*> backends() {
  std::vector<Backend*> out;
  for (const std::string& name : backend_names()) {
    try {
      Backend& b = get_backend(name);
      if (b.device_count() > 0) out.push_back(&b);
    } catch (const std::exception&) {
      // e.g. a gpu backend whose module was not built: nothing to compare here
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every backend computes what Keras computes (float64 PyTorch reference)") {
  std::vector<Case> cases = layer_cases();
  for (Case& c : optimizer_cases()) cases.push_back(std::move(c));

  std::vector<Params> starts;
  std::vector<Samples> samples;
  json input;
  input["cases"] = json::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    Case& c = cases[i];
    infer(c.model);  // fills in the layer names
    starts.push_back(start_params(c.model, 100 + i));
    samples.push_back(make_samples(c, 200 + i));
    if (c.tweak) c.tweak(starts.back(), samples.back());
    input["cases"].push_back(case_json(c, starts.back(), samples.back()));
  }

  const TempDir dir("torch_parity");
  std::string why;
  const std::optional<json> reference = run_reference(input, dir, why);
  if (!reference) {
    MESSAGE("torch_parity: skipped: python3 with torch not found (" << why
                                                                    << "); set SWEEP_PYTHON to an interpreter that has it");
    return;
  }
  const json& answers = (*reference)["cases"];
  REQUIRE(answers.size() == cases.size());

  std::cout << "torch_parity: reference PyTorch " << (*reference)["torch"].get<std::string>() << ", float64\n"
            << "| case | backend | probs abs | probs rel | loss rel | grad/update rel | grad/update abs "
               "| moving stats rel | other formula rel |\n"
            << "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (Backend* backend : backends()) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(backend->name());
      CAPTURE(c.name);
      const json& want = answers[i];
      REQUIRE(want["name"].get<std::string>() == c.name);
      const Measured m = run_backend(*backend, c, starts[i], samples[i], want);
      std::cout << "| " << c.name << " | " << backend->name() << " | " << sci(m.probs.abs) << " | " << sci(m.probs.rel)
                << " | " << sci(m.loss.rel) << " | " << sci(m.update.rel) << " | " << sci(m.update.abs) << " | "
                << (m.moving.any ? sci(m.moving.rel) : "") << " | " << (m.other.any ? sci(m.other.rel) : "")
                << " |\n";
      {
        CAPTURE(m.probs.where);
        CHECK(m.probs.rel <= kTolProbs);
      }
      {
        CAPTURE(m.loss.where);
        CHECK(m.loss.rel <= kTolLoss);
      }
      {
        CAPTURE(m.update.where);
        CHECK(m.update.rel <= (c.probe ? kTolGrad : kTolUpdate));
      }
      {
        CAPTURE(m.moving.where);
        CHECK(m.moving.rel <= kTolMoving);
      }
      CHECK(m.correct_diff == 0);
      // The formula sweep does not follow (RMSprop's epsilon outside the
      // root, PyTorch's Adam) must miss by far more than the tolerance: the
      // comparison tells them apart.
      if (m.other.any) CHECK(m.other.rel > 10 * kTolUpdate);
      const json& steps = want["steps"];
      if (backend->name() == "ref" && steps[0].contains("loss_sum_tf_logits"))
        MESSAGE(c.name << ": loss of the first batch " << steps[0]["loss_sum"].get<double>()
                       << "; TensorFlow's Keras, which takes a sigmoid output's cached logits into a softmax "
                          "cross-entropy, would report "
                       << steps[0]["loss_sum_tf_logits"].get<double>());
    }
  }
  std::cout << std::flush;
}
