// GPU throughput with concurrent sessions: one epoch of write-up 000's
// network (Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10, 3x3 'same', Adam,
// batch 64) on full MNIST, by 1, 4 and 16 sessions at once on one GPU, each
// driven by its own thread as the scheduler would. Prints images/s in total
// and per session. Session creation and a warm-up step are not timed.
//
//   bench_gpu_concurrency [--sessions 1,4,16] [--limit N] [--device D]
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "tests/support/layers.h"
#include "train/backend.h"
#include "train/trainer.h"

using namespace sweep;
using namespace sweep::test;

namespace {

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> values;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    values.push_back(std::atoi(text.substr(begin, end - begin).c_str()));
    begin = end + 1;
  }
  return values;
}

struct Result {
  double seconds = 0;
  int64_t images = 0;
  double loss = 0;
  std::string error;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> session_counts{1, 4, 16};
  int64_t limit = 0;
  int device = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--sessions") session_counts = parse_list(argv[i + 1]);
    else if (flag == "--limit") limit = std::atoll(argv[i + 1]);
    else if (flag == "--device") device = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--sessions 1,4,16] [--limit N] [--device D]\n", argv[0]);
      return 2;
    }
  }
  Backend& gpu = get_backend("gpu");
  if (gpu.device_count() == 0) {
    std::printf("no CUDA device: nothing to measure\n");
    return 0;
  }
  DatasetSpec spec;
  spec.train_limit = limit;
  spec.validation_split = 0;
  const auto data = load_dataset(spec);
  const ModelSpec model = writeup000();
  constexpr int kBatch = 64;
  const int64_t steps = data->train.count / kBatch;
  std::printf("device: %s\nnetwork: write-up 000, batch %d, %lld steps = %lld images per session-epoch\n",
              gpu.device_name(device).c_str(), kBatch, static_cast<long long>(steps),
              static_cast<long long>(steps * kBatch));
  std::printf("%9s %14s %20s %12s\n", "sessions", "images/s", "images/s/session", "seconds");

  for (const int sessions : session_counts) {
    if (sessions < 1) continue;
    std::vector<Result> results(static_cast<size_t>(sessions));
    std::barrier start(sessions);
    std::vector<std::thread> threads;
    for (int s = 0; s < sessions; ++s) {
      threads.emplace_back([&, s] {
        Result& result = results[size_t(s)];
        try {
          SessionOptions options;
          options.device = device;
          options.seed = uint64_t(s);
          auto session = gpu.create_session(model, OptimizerSpec{}, options);
          const std::vector<int32_t> order = epoch_permutation(data->train.count, uint64_t(s), 1);
          auto batch = [&](int64_t step) {
            return std::span<const int32_t>(order.data() + step * kBatch, size_t(kBatch));
          };
          session->train_step(data->train, batch(0));  // warm-up: algorithm choice, first upload
          start.arrive_and_wait();
          const auto begin = std::chrono::steady_clock::now();
          for (int64_t step = 0; step < steps; ++step) result.loss = session->train_step(data->train, batch(step)).loss_sum;
          result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
          result.images = steps * kBatch;
        } catch (const std::exception& e) {
          result.error = e.what();
          start.arrive_and_drop();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    double wall = 0;
    int64_t images = 0;
    for (const Result& r : results) {
      if (!r.error.empty()) {
        std::fprintf(stderr, "session failed: %s\n", r.error.c_str());
        return 1;
      }
      wall = std::max(wall, r.seconds);
      images += r.images;
    }
    std::printf("%9d %14.0f %20.0f %12.2f\n", sessions, double(images) / wall, double(images) / wall / sessions,
                wall);
  }
  return 0;
}
