// The scheduler's pure parts: the resource plan, list-scheduling placement,
// the work a run is counted as, exit codes and duration text. No training.
#include <doctest/doctest.h>

#include <cmath>

#include "common/error.h"
#include "schedule/cost_model.h"
#include "schedule/placement.h"
#include "schedule/progress.h"
#include "schedule/resources.h"
#include "schedule/scheduler.h"
#include "tests/support/layers.h"

using namespace sweep;

namespace {
ScheduleOptions with(std::string backend, int jobs = 0, int threads = 0) {
  ScheduleOptions options;
  options.backend = std::move(backend);
  options.jobs = jobs;
  options.threads_per_run = threads;
  return options;
}
}  // namespace

TEST_CASE("automatic plan: one thread per run while runs outnumber cores") {
  const ResourcePlan plan = plan_resources(with("cpu"), 8, 20, 0);
  CHECK(plan.cpu_backend == "cpu");
  CHECK(plan.cpu_lanes == 8);
  CHECK(plan.threads_per_run == 1);
  CHECK(plan.lanes() == 8);
  CHECK(plan.gpu_runs_per_device == 0);
}

TEST_CASE("automatic plan: fewer runs than cores share the spare cores") {
  const ResourcePlan two = plan_resources(with("cpu"), 8, 2, 0);
  CHECK(two.cpu_lanes == 2);
  CHECK(two.threads_per_run == 4);
  const ResourcePlan three = plan_resources(with("ref"), 8, 3, 0);
  CHECK(three.cpu_backend == "ref");
  CHECK(three.cpu_lanes == 3);
  CHECK(three.threads_per_run == 2);
}

TEST_CASE("--jobs and --threads-per-run override the automatic choice") {
  CHECK(plan_resources(with("cpu", 2), 8, 20, 0).threads_per_run == 4);
  const ResourcePlan by_threads = plan_resources(with("cpu", 0, 3), 8, 20, 0);
  CHECK(by_threads.cpu_lanes == 2);
  CHECK(by_threads.threads_per_run == 3);
  const ResourcePlan both = plan_resources(with("cpu", 5, 5), 2, 20, 0);  // oversubscribing is the user's call
  CHECK(both.cpu_lanes == 5);
  CHECK(both.threads_per_run == 5);
  // Never more lanes than runs.
  CHECK(plan_resources(with("cpu", 6), 8, 2, 0).cpu_lanes == 2);
  CHECK_THROWS_AS(plan_resources(with("cpu", -1), 8, 2, 0), InputError);
}

TEST_CASE("GPU plans: gpu alone, or auto with the CPU beside it") {
  const ResourcePlan gpu = plan_resources(with("gpu"), 16, 40, 2);
  CHECK(gpu.cpu_lanes == 0);
  CHECK(gpu.gpu_devices == 2);
  CHECK(gpu.gpu_runs_per_device == kDefaultGpuRunsPerDevice);
  const ResourcePlan both = plan_resources(with("auto"), 16, 40, 1);
  CHECK(both.gpu_devices == 1);
  CHECK(both.cpu_lanes == 15);  // one core feeds the GPU
  CHECK(both.threads_per_run == 1);
  const ResourcePlan no_gpu = plan_resources(with("auto"), 4, 40, 0);
  CHECK(no_gpu.gpu_devices == 0);
  CHECK(no_gpu.cpu_backend == "cpu");
  CHECK(no_gpu.cpu_lanes == 4);
}

TEST_CASE("identical lanes take the longest run first (LPT)") {
  std::vector<LaneState> lanes(2);
  lanes[0].active = lanes[1].active = true;
  const std::vector<int> queue = {7, 3, 5};  // already longest first
  auto cost = [](int run, int) { return double(run); };
  CHECK(pick_run(0, 0.0, lanes, queue, cost) == 0);
  lanes[0].busy = true;
  lanes[0].free_at = 7;
  CHECK(pick_run(1, 0.0, lanes, queue, cost) == 0);
}

TEST_CASE("a slow CPU lane leaves runs to a fast GPU lane until its backlog grows") {
  // Lane 0: GPU, 10x faster. Lane 1: CPU. Ten equal runs of 10 CPU-seconds.
  std::vector<LaneState> lanes(2);
  lanes[0].active = lanes[1].active = true;
  auto cost = [](int, int lane) { return lane == 0 ? 1.0 : 10.0; };
  std::vector<int> queue;
  for (int i = 0; i < 10; ++i) queue.push_back(i);
  // The GPU would finish the first nine by t=9 < 10: the CPU takes the tenth.
  CHECK(pick_run(1, 0.0, lanes, queue, cost) == 9);
  // With five queued the GPU finishes all of them by t=5: the CPU waits.
  queue.resize(5);
  CHECK(pick_run(1, 0.0, lanes, queue, cost) == -1);
  // A lane whose worker has not started is not counted on.
  lanes[0].active = false;
  CHECK(pick_run(1, 0.0, lanes, queue, cost) == 0);
}

TEST_CASE("pick_run: a busy lane's backlog counts from its expected end") {
  std::vector<LaneState> lanes(2);
  lanes[0].active = lanes[1].active = true;
  lanes[0].busy = true;
  lanes[0].free_at = 100;  // the fast lane is busy for a long time
  auto cost = [](int, int lane) { return lane == 0 ? 1.0 : 10.0; };
  CHECK(pick_run(1, 0.0, lanes, {0, 1}, cost) == 0);
}

TEST_CASE("run_work counts images, steps and FLOPs from the dataset headers") {
  RunConfig config;
  config.dataset.train_limit = 1000;
  config.dataset.test_limit = 200;
  config.dataset.validation_split = 0.1;
  config.train.epochs = 3;
  config.train.batch_size = 64;
  config.model = test::mnist_model({test::flatten(), test::dense(10, Activation::softmax)});
  const ModelInfo info = infer(config.model);
  const RunWork work = run_work(config);
  CHECK(work.fit_images == 900);
  CHECK(work.val_images == 100);
  CHECK(work.test_images == 200);
  CHECK(work.train_steps == 3 * 15);  // ceil(900 / 64) per epoch
  CHECK(work.eval_steps == 3 * 2 + 4);
  CHECK(work.flops == doctest::Approx(3.0 * 900 * double(info.flops_training) + (300.0 + 200) * double(info.flops_forward)));
  // The full MNIST headers: 60,000 training and 10,000 test images.
  config.dataset.train_limit = config.dataset.test_limit = 0;
  const DatasetCounts counts = dataset_counts(config.dataset);
  CHECK(counts.train == 60000);
  CHECK(counts.test == 10000);
  // A missing dataset is the user's to fix.
  config.dataset.name = "no-such-dataset";
  CHECK_THROWS_AS(dataset_counts(config.dataset), InputError);
}

TEST_CASE("estimate_seconds: steps x overhead + FLOPs / rate, FLOPs shared on a shared device") {
  RunWork work;
  work.train_steps = 100;
  work.eval_steps = 30;
  work.flops = 2e9;
  Calibration device;
  device.seconds_per_step = 0.001;
  device.flops_per_second = 1e9;
  CHECK(estimate_seconds(work, device) == doctest::Approx(0.11 + 2.0));
  CHECK(estimate_seconds(work, device, 2.0) == doctest::Approx(0.11 + 4.0));
}

TEST_CASE("exit codes: 0 only when every run is done") {
  SweepOutcome outcome;
  outcome.total = 3;
  outcome.done = 2;
  outcome.skipped = 1;
  CHECK(outcome.exit_code() == 0);
  outcome.done = 1;  // one never started (stopped early)
  CHECK(outcome.exit_code() == 1);
  outcome.done = 1;
  outcome.diverged = 1;
  CHECK(outcome.exit_code() == 1);
  outcome.diverged = 0;
  outcome.done = 2;
  outcome.interrupted_by_signal = true;
  CHECK(outcome.exit_code() == 1);
}

TEST_CASE("durations read naturally") {
  CHECK(format_duration(12.34) == "12.3s");
  CHECK(format_duration(245) == "4m05s");
  CHECK(format_duration(7980) == "2h13m");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(NAN) == "?");
}

TEST_CASE("check_schedule_options finds bad input before anything runs") {
  CHECK_NOTHROW(check_schedule_options(with("cpu")));
  CHECK_NOTHROW(check_schedule_options(with("auto")));
  CHECK_THROWS_AS(check_schedule_options(with("tpu")), InputError);
  CHECK_THROWS_AS(check_schedule_options(with("cpu", -2)), InputError);
}
