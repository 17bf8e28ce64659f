// bench_train: one epoch of write-up 000's network (Conv32-Pool-Conv64-Pool-
// Conv64-Flatten-Dense64-Dense10, 3x3 'same', relu, Adam, batch 64) on MNIST's
// fit split with a sweep backend, printing images/s; --profile adds the CPU
// backend's per-layer milliseconds per step. Used by bench/cpu_vs_pytorch.sh.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "data/dataset.h"
#include "train/backend.h"
#include "train/trainer.h"

using namespace sweep;

static ModelSpec writeup_000_model(Activation act) {
  ModelSpec m;
  m.input = {1, 28, 28, false};
  m.classes = 10;
  auto conv = [&](int filters) {
    LayerSpec l;
    l.kind = LayerKind::conv2d;
    l.filters = filters;
    l.padding = Padding::same;
    l.activation = act;
    m.layers.push_back(l);
  };
  auto pool = [&] {
    LayerSpec l;
    l.kind = LayerKind::maxpool2d;
    m.layers.push_back(l);
  };
  auto dense = [&](int units, Activation a) {
    LayerSpec l;
    l.kind = LayerKind::dense;
    l.units = units;
    l.activation = a;
    m.layers.push_back(l);
  };
  conv(32), pool(), conv(64), pool(), conv(64);
  LayerSpec flatten;
  flatten.kind = LayerKind::flatten;
  m.layers.push_back(flatten);
  dense(64, act), dense(10, Activation::softmax);
  return m;
}

// CPU seconds of the whole process (user + system): with a busy machine the
// wall clock lies, CPU time per image at --threads 1 still says what a step costs.
static double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int main(int argc, char** argv) {
  CLI::App app{"Train one epoch of write-up 000's CNN on MNIST and report images/s"};
  std::string backend_name = "cpu", precision = "fp32", data_dir;
  int threads = 2, batch = 64, epochs = 1;
  int64_t limit = 0;
  bool profile = false;
  uint64_t seed = 0;
  app.add_option("--backend", backend_name, "cpu or ref");
  app.add_option("--precision", precision, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--threads", threads, "threads for the session");
  app.add_option("--batch", batch, "batch size");
  app.add_option("--epochs", epochs, "epochs to time");
  app.add_option("--limit", limit, "train on the first N images only (0 = all)");
  app.add_option("--data-dir", data_dir, "data directory (default: $SWEEP_DATA_DIR or the bundled data/)");
  app.add_option("--seed", seed, "seed");
  app.add_flag("--profile", profile, "print ms per layer forward/backward/update (cpu backend)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (profile) setenv("SWEEP_CPU_PROFILE", "1", 1);
    DatasetSpec spec;
    spec.dir = data_dir;
    spec.train_limit = limit;
    const auto data = load_dataset(spec);
    const ModelSpec model = writeup_000_model(Activation::relu);
    OptimizerSpec adam;
    SessionOptions options;
    options.threads = threads;
    options.precision = precision == "bf16" ? Precision::bf16 : Precision::fp32;
    options.seed = seed;
    Backend& backend = get_backend(backend_name);
    auto session = backend.create_session(model, adam, options);

    const int64_t n = data->fit_count;
    double seconds = 0, cpu = 0, loss = 0;
    int64_t correct = 0, seen = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      const std::vector<int32_t> order = epoch_permutation(n, seed, epoch);
      loss = 0, correct = 0, seen = 0;
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      for (int64_t start = 0; start < n; start += batch) {
        const int64_t take = std::min<int64_t>(batch, n - start);
        const StepStats s = session->train_step(data->train, std::span(order).subspan(size_t(start), size_t(take)));
        loss += s.loss_sum, correct += s.correct, seen += take;
      }
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      cpu += cpu_seconds() - c0;
    }
    // Test accuracy, as a sanity check that the timed training was real.
    std::vector<int32_t> test_rows(size_t(data->test.count));
    for (size_t i = 0; i < test_rows.size(); ++i) test_rows[i] = int32_t(i);
    std::vector<float> probs(test_rows.size() * 10);
    session->predict(data->test, test_rows, probs.data());
    const Evaluation eval = evaluate_probs(probs, data->test.labels, 10, false);
    const double images = double(n) * epochs;
    std::printf("backend=%s precision=%s threads=%d batch=%d images=%.0f seconds=%.3f images_per_sec=%.1f "
                "cpu_seconds=%.3f train_loss=%.4f train_acc=%.4f test_acc=%.4f\n",
                backend_name.c_str(), precision.c_str(), threads, batch, images, seconds, images / seconds, cpu,
                loss / double(seen), double(correct) / double(seen), eval.accuracy);
    if (profile) std::cout << session->describe();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
