// How well the scheduler uses the machine's cores (cpu backend):
//  1. threads: two small runs side by side with 1 thread each, against the
//     same two one after the other with all the cores each (the measurement
//     behind the automatic threads-per-run choice), for a small and a larger net;
//  2. a 12-run grid of small networks: the sweep's wall time, the sum of the
//     runs' times each alone (1 thread), the ideal (that sum / cores), the
//     ratio wall/ideal (target <= 1.1) and core utilisation (CPU time from
//     getrusage / (wall x cores));
//  3. per-run overhead on tiny runs (2 batches each): (wall - sum of the runs'
//     own times / lanes) / runs (target < 20 ms).
// Usage: bench_schedule [train_limit=2048]. Prints the load average too: the
// figures only mean something on an otherwise idle machine.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "data/dataset.h"
#include "grid/grid.h"
#include "schedule/resources.h"
#include "schedule/scheduler.h"
#include "store/plan.h"
#include "store/store.h"
#include "train/trainer.h"

using namespace sweep;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto tv = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return tv(usage.ru_utime) + tv(usage.ru_stime);
}

std::string grid_yaml(const std::string& name, long train_limit, long test_limit, const std::string& layers,
                      const std::string& axes) {
  return "name: " + name + "\ndataset:\n  train_limit: " + std::to_string(train_limit) +
         "\n  test_limit: " + std::to_string(test_limit) + "\nmodel:\n  layers:\n" + layers +
         "train:\n  epochs: 1\n" + axes;
}

const char* kSmallCnn =
    "    - {type: conv2d, filters: [4, 8, 16], kernel: 3, activation: relu}\n"
    "    - {type: maxpool2d}\n"
    "    - {type: flatten}\n"
    "    - {type: dense, units: 10, activation: softmax}\n";

struct Timed {
  SweepOutcome outcome;
  double wall = 0, cpu = 0, runs_seconds = 0;
};

// Runs a grid as a sweep into a fresh database.
Timed sweep_grid(const ExpandedGrid& grid, int jobs, int threads) {
  const fs::path dir = fs::temp_directory_path() / ("bench_schedule_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string db = (dir / (grid.name + ".db")).string();
  fs::remove(db);
  auto store = Store::open(db);
  std::vector<PlannedRun> planned;
  for (const auto& run : grid.runs) planned.push_back(plan_run(run, 0));
  SweepRecord record;
  record.name = grid.name;
  record.varied = grid.varied;
  const int64_t id = store->upsert_sweep(record, planned);
  ScheduleOptions options;
  options.backend = "cpu";
  options.jobs = jobs;
  options.threads_per_run = threads;
  options.quiet = true;
  Timed timed;
  const double cpu_before = cpu_seconds();
  const auto start = Clock::now();
  timed.outcome = run_sweep(*store, id, grid, options);
  timed.wall = seconds_since(start);
  timed.cpu = cpu_seconds() - cpu_before;
  const auto sum = store->query("SELECT SUM(wall_seconds) FROM runs").rows;
  timed.runs_seconds = sum.empty() || !sum[0][0] ? 0 : std::stod(*sum[0][0]);
  store.reset();
  fs::remove_all(dir);
  return timed;
}

// Each run alone, one after the other, with `threads` threads.
double runs_alone(const ExpandedGrid& grid, int threads) {
  TrainObserver quiet;
  double total = 0;
  for (const auto& run : grid.runs) {
    SessionOptions session;
    session.threads = threads;
    session.seed = run.config.train.seed;
    const auto start = Clock::now();
    const RunResult result = train_run(run.config, get_backend("cpu"), session, quiet);
    total += seconds_since(start);
    if (result.status != RunStatus::done) std::printf("  (run ended %s: %s)\n", to_string(result.status), result.error.c_str());
  }
  return total;
}

void load_average() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3) std::printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
}

}  // namespace

int main(int argc, char** argv) {
  const long train_limit = argc > 1 ? std::atol(argv[1]) : 2048;
  const int cores = available_cores();
  std::printf("bench_schedule: %d cores, train_limit %ld\n", cores, train_limit);
  load_average();
  // Load the data once, outside every timing.
  DatasetSpec spec;
  spec.train_limit = train_limit;
  spec.test_limit = 512;
  load_dataset(spec);

  // 1. Side by side with 1 thread each, or one after the other with all cores.
  std::printf("\n1. %d runs side by side x 1 thread vs one after the other x %d threads\n", cores, cores);
  const char* larger =
      "    - {type: conv2d, filters: 32, kernel: 3, activation: relu}\n"
      "    - {type: maxpool2d}\n"
      "    - {type: conv2d, filters: 64, kernel: 3, activation: relu}\n"
      "    - {type: maxpool2d}\n"
      "    - {type: flatten}\n"
      "    - {type: dense, units: 10, activation: softmax}\n";
  std::string seeds = "  seed: [";
  for (int i = 0; i < cores; ++i) seeds += (i ? ", " : "") + std::to_string(i + 1);
  seeds += "]\n";
  struct Case {
    const char* name;
    const char* layers;
    int batch;
  };
  for (const Case& c : {Case{"small CNN (conv8), batch 32", kSmallCnn, 32}, Case{"small CNN (conv8), batch 128", kSmallCnn, 128},
                        Case{"conv32-conv64 (write-up 000 size), batch 64", larger, 64}}) {
    std::string layers = c.layers;
    if (layers == kSmallCnn) layers.replace(layers.find("[4, 8, 16]"), 10, "8");
    const ExpandedGrid grid =
        parse_grid(grid_yaml("threads", train_limit, 512, layers, "  batch_size: " + std::to_string(c.batch) + "\n" + seeds), "threads.yaml");
    const Timed side_by_side = sweep_grid(grid, cores, 1);
    const Timed one_by_one = sweep_grid(grid, 1, cores);
    std::printf("  %-45s side by side %.2fs, one after the other %.2fs: %.2fx\n", c.name, side_by_side.wall,
                one_by_one.wall, one_by_one.wall / side_by_side.wall);
  }

  // 2. A 12-run grid of small networks.
  std::printf("\n2. 12-run grid (conv 4/8/16 x lr 2 x batch 32/64, 1 epoch of %ld images)\n", train_limit);
  const ExpandedGrid grid = parse_grid(
      grid_yaml("grid12", train_limit, 512, kSmallCnn, "  learning_rate: [0.001, 0.003]\n  batch_size: [32, 64]\n"),
      "grid12.yaml");
  const double alone = runs_alone(grid, 1);
  const Timed sweep = sweep_grid(grid, 0, 0);
  const double ideal = alone / cores;
  std::printf("  sweep wall            %.2f s (%d done)\n", sweep.wall, sweep.outcome.done);
  std::printf("  sum of runs alone     %.2f s (1 thread each)\n", alone);
  std::printf("  ideal (sum / cores)   %.2f s\n", ideal);
  std::printf("  wall / ideal          %.2f (target <= 1.1)\n", sweep.wall / ideal);
  std::printf("  core utilisation      %.0f%% (CPU time %.2f s / (wall x %d cores))\n",
              100 * sweep.cpu / (sweep.wall * cores), sweep.cpu, cores);

  // 3. Per-run overhead on tiny runs: 2 batches of 32 images and 32 test images.
  const ExpandedGrid tiny = parse_grid(
      grid_yaml("tiny", 72, 32,
                "    - {type: flatten}\n    - {type: dense, units: 10, activation: softmax}\n",
                "  batch_size: 32\n  learning_rate: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]\n"
                "  seed: [1, 2, 3, 4]\n"),
      "tiny.yaml");
  load_dataset(tiny.runs[0].config.dataset);
  const Timed overhead = sweep_grid(tiny, 0, 0);
  const int runs = static_cast<int>(tiny.runs.size());
  const double lanes = std::min(cores, runs);
  const double per_run = (overhead.wall - overhead.runs_seconds / lanes) / runs;
  std::printf("\n3. %d tiny runs: sweep wall %.3f s, runs' own time %.3f s over %.0f lanes: overhead %.1f ms per run "
              "(target < 20 ms)\n", runs, overhead.wall, overhead.runs_seconds, lanes, per_run * 1e3);
  load_average();
  return 0;
}
