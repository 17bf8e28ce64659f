// bench_checkpoint: what a checkpoint costs against an epoch, for write-up
// 000's network (Conv32-Pool-Conv64-Pool-Conv64-Dense64, 3x3 'same', relu,
// Adam, batch 64) on the cpu backend. Trains one epoch of MNIST's fit split
// with checkpoints off, then times the full checkpoint of that session
// (weights and Adam moments read back, written and renamed, as
// train_run does after every epoch) --writes times, and prints both and the
// share. Run from the build folder: bench/checkpoint/bench_checkpoint
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>

#include "tests/support/layers.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace sweep;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"Checkpoint cost against one epoch of write-up 000's network"};
  int64_t images = 0;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  int writes = 20;
  std::string folder = std::filesystem::temp_directory_path() / "sweep_bench_checkpoint";
  app.add_option("--train-limit", images, "Training images (0 = all 60,000)");
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--writes", writes, "Checkpoints to time");
  app.add_option("--dir", folder, "Where to write them (the database's disk is what counts)");
  CLI11_PARSE(app, argc, argv);

  RunConfig config;
  config.dataset.train_limit = images;
  config.dataset.test_limit = 1000;
  config.model = test::writeup000();
  infer(config.model);
  config.optimizer.kind = Optimizer::adam;
  config.train.epochs = 1;
  config.train.batch_size = 64;
  Backend& cpu = get_backend("cpu");
  SessionOptions options;
  options.threads = threads;
  omp_set_num_threads(threads);
  TrainObserver quiet;
  const RunResult run = train_run(config, cpu, options, quiet);
  if (run.status != RunStatus::done) {
    std::fprintf(stderr, "bench_checkpoint: the epoch did not finish: %s\n", run.error.c_str());
    return 1;
  }
  const double epoch = run.epochs[0].seconds;

  // The state of a session of the same network (its values do not change the cost).
  std::unique_ptr<Session> session = cpu.create_session(config.model, config.optimizer, options);
  TrainingState state;
  state.run_hash = "bench";
  state.backend = "cpu";
  state.precision = "fp32";
  state.epoch = 1;
  state.epochs = run.epochs;
  const std::filesystem::path path = std::filesystem::path(folder) / kLastCheckpoint;
  std::vector<double> seconds;
  for (int i = 0; i < writes; ++i) {
    const auto start = Clock::now();
    state.params = session->get_params();
    state.optimizer = session->optimizer_state();
    write_checkpoint(path, state);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const auto bytes = std::filesystem::file_size(path);
  std::filesystem::remove_all(folder);
  std::printf("write-up 000 network, cpu backend, %d threads, batch 64, train_limit %lld (0 = all), 90%% fitted\n",
              threads, static_cast<long long>(images));
  std::printf("epoch:       %.2f s (%.0f images/s)\n", epoch, run.epochs[0].images_per_sec);
  std::printf("checkpoint:  %.1f ms median of %d (min %.1f, max %.1f), %.2f MB (weights + Adam m, v)\n",
              1e3 * median, writes, 1e3 * seconds.front(), 1e3 * seconds.back(), double(bytes) / 1048576.0);
  std::printf("share:       %.3f%% of the epoch\n", 100.0 * median / epoch);
  return 0;
}
