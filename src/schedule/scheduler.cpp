// run_sweep: the in-process scheduler. One TBB task per lane (a CPU slot of
// threads_per_run cores, or one of N run slots on a GPU) inside an arena
// sized to the lanes; each lane takes queued runs (longest first, placed where
// they finish soonest) until none are left, a signal arrives, or --fail-fast
// trips. Runs write to the Store as they go: start_run, every epoch, finish_run.
// start_run claims the run as it starts: a run another sweep process on the
// same database has claimed by then is skipped, so two processes split a grid.
#include "schedule/scheduler.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <mutex>

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <tbb/task_scheduler_observer.h>

#include "common/error.h"
#include "schedule/cost_model.h"
#include "schedule/interrupts.h"
#include "schedule/placement.h"
#include "schedule/progress.h"
#include "schedule/pruner.h"
#include "schedule/resources.h"
#include "schedule/run_label.h"
#include "store/owner.h"
#include "train/trainer.h"

namespace sweep {

int SweepOutcome::exit_code() const {
  const bool all_done = done + skipped + elsewhere + pruned + pruned_before >= total && failed == 0 && diverged == 0 && interrupted == 0 &&
                        !interrupted_by_signal;
  return all_done ? kExitOk : kExitRunsFailed;
}

namespace {

using Clock = std::chrono::steady_clock;

using Lane = LaneSpec;

struct Job {
  const ExpandedRun* run = nullptr;
  int64_t run_id = 0;
  int attempts = 0;  // as read when planned: a run started since then was taken by another process
  RunLabel label;
  std::vector<double> lane_cost;  // expected seconds on each lane
  RunCost best;                   // the cost on its fastest lane, split (for the live ETA)
  std::string cost_key;           // its network and batch: runs with equal keys share ETA corrections
  int bracket = 0;                // hyperband's bracket (schedule/pruner.h); 0 otherwise
};

// Adds "pid 12" to the list of other processes once.
void note_owner(std::vector<std::string>& owners, const std::string& owner) {
  const std::string who = owner_description(owner);
  if (std::find(owners.begin(), owners.end(), who) == owners.end()) owners.push_back(who);
}

// Each arena worker runs oneDNN with the lane's thread count: OpenMP's team
// size is per calling thread, so it is set when a TBB thread enters the arena
// (and again before each run, in case the backend changed it).
class OmpThreadsObserver : public tbb::task_scheduler_observer {
 public:
  OmpThreadsObserver(tbb::task_arena& arena, int threads) : tbb::task_scheduler_observer(arena), threads_(threads) {
    observe(true);
  }
  ~OmpThreadsObserver() override { observe(false); }
  void on_scheduler_entry(bool) override { omp_set_num_threads(threads_); }

 private:
  int threads_;
};

class RunObserver : public TrainObserver {
 public:
  RunObserver(Store& store, ProgressBoard& board, int lane, int64_t run_id, const std::atomic<bool>& stop_all,
              std::string label, Pruner* pruner, int bracket, int epochs)
      : store_(store), board_(board), lane_(lane), run_id_(run_id), stop_all_(stop_all), label_(std::move(label)),
        pruner_(pruner), bracket_(bracket), epochs_(epochs) {}
  void on_start(int epochs, int batches_per_epoch) override { board_.run_shape(lane_, epochs, batches_per_epoch); }
  void on_batch(int epoch, int batch, double loss, double accuracy) override {
    board_.batch(lane_, epoch, batch, loss, accuracy);
  }
  void on_epoch(const EpochMetrics& metrics) override {
    store_.record_epoch(run_id_, metrics);  // committed before the next epoch starts
    board_.epoch(lane_, metrics);
  }
  bool stop_requested() override { return stop_all_.load(std::memory_order_relaxed) || interrupt_requested(); }
  void on_resume(const std::vector<EpochMetrics>& epochs) override {
    for (const EpochMetrics& m : epochs) store_.record_epoch(run_id_, m);
    board_.message(fmt::format("{}: resumed from its checkpoint after epoch {}", label_, epochs.size()));
  }
  void on_note(const std::string& text) override { board_.message(label_ + ": " + text); }
  // The grid's pruning rule judges the epoch; every decision it makes is
  // recorded before the run goes on or stops, so a resumed sweep knows it.
  std::string prune_after(const std::vector<EpochMetrics>& epochs) override {
    if (!pruner_) return {};
    const std::optional<PruneDecision> decision = pruner_->judge(run_id_, bracket_, epochs_, epochs);
    if (!decision) return {};
    store_.record_prune_decision(*decision, pruner_->spec());
    return decision->prune ? decision->reason : std::string();
  }

 private:
  Store& store_;
  ProgressBoard& board_;
  int lane_;
  int64_t run_id_;
  const std::atomic<bool>& stop_all_;
  std::string label_;
  Pruner* pruner_;
  int bracket_, epochs_;
};

ProgressBoard::Mode view_mode(const ScheduleOptions& options) {
  if (options.quiet) return ProgressBoard::Mode::quiet;
  if (options.view == ScheduleOptions::View::live) return ProgressBoard::Mode::live;
  if (options.view == ScheduleOptions::View::plain) return ProgressBoard::Mode::plain;
  // A dumb terminal cannot move the cursor: it gets the plain lines of a log.
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::string(term) == "dumb";
  return ::isatty(STDERR_FILENO) && !dumb ? ProgressBoard::Mode::live : ProgressBoard::Mode::plain;
}

// NO_COLOR (no-color.org: set and not empty) drops the colours only; the
// live view stays live.
bool use_colour() {
  const char* no_color = std::getenv("NO_COLOR");
  return no_color == nullptr || *no_color == '\0';
}

// GPU devices to use for this backend choice. --backend gpu without one is
// the user's to fix, before anything runs.
int usable_gpus(const ScheduleOptions& options) {
  const std::string& backend = options.backend;
  if (backend == "cpu" || backend == "ref") return 0;
  if (backend == "gpu") {
    Backend& gpu = get_backend("gpu");  // InputError in a build without the GPU backend
    const int count = gpu.device_count();
    if (count <= 0)
      throw InputError("--backend gpu: no usable GPU on this machine (CUDA reports none); use --backend cpu or auto",
                       {}, "backend");
    return count;
  }
  if (backend != "auto")
    throw InputError("unknown backend '" + backend + "' (expected cpu, gpu, auto or ref)", {}, "backend");
  const auto names = backend_names();
  if (std::find(names.begin(), names.end(), "gpu") == names.end()) return 0;
  if (!gpu_driver_present()) return 0;  // no NVIDIA driver: no GPU, whatever the module would say
  try {
    return std::max(0, get_backend("gpu").device_count());
  } catch (const std::exception&) {
    return 0;  // a broken CUDA install: --backend auto falls back to the CPU
  }
}

std::vector<Lane> make_lanes(const ResourcePlan& plan) {
  std::vector<Lane> lanes;
  for (int i = 0; i < plan.cpu_lanes; ++i) lanes.push_back({plan.cpu_backend, 0, plan.threads_per_run, false, 1});
  for (int device = 0; device < plan.gpu_devices; ++device)
    for (int i = 0; i < plan.gpu_runs_per_device; ++i)
      lanes.push_back({plan.gpu_backend, device, 1, true, double(plan.gpu_runs_per_device)});
  return lanes;
}

// Expected seconds of every job on every lane, from measured step costs
// (cached in the store: a `sweep plan` before made this instant).
void price_jobs(std::vector<Job>& jobs, const std::vector<const RunConfig*>& configs, const std::vector<Lane>& lanes,
                Store& store, ProgressBoard& board, double measure_seconds) {
  const CostTable table = estimate_costs(configs, lanes, &store, measure_seconds);
  if (table.steps.measured > 0 || table.modelled_runs > 0)
    board.message(cost_note(table));
  for (size_t j = 0; j < jobs.size(); ++j) {
    Job& job = jobs[j];
    job.lane_cost.assign(lanes.size(), 0.0);
    size_t best = 0;
    for (size_t l = 0; l < lanes.size(); ++l) {
      job.lane_cost[l] = table.costs[j][l].total();
      if (job.lane_cost[l] < job.lane_cost[best]) best = l;
    }
    job.best = table.costs[j][best];
    const Lane& lane = lanes[best];
    job.cost_key = step_key(job.run->config, lane.backend, lane.threads, lane.device, int(lanes.size())).text();
  }
  std::vector<std::pair<int64_t, double>> estimates;
  for (const Job& job : jobs) estimates.emplace_back(job.run_id, job.best.total());
  try {
    store.set_cost_estimates(estimates);
  } catch (const std::exception&) {
    // Only the recorded estimate is lost; the schedule has it.
  }
}

// The shared state of one run_sweep call: the queue, the lanes, the counts.
class SweepRunner {
 public:
  SweepRunner(Store& store, const ScheduleOptions& options, std::vector<Lane> lanes, std::vector<Job> jobs,
              ProgressBoard& board, Pruner* pruner)
      : store_(store), options_(options), lanes_(std::move(lanes)), jobs_(std::move(jobs)), board_(board),
        pruner_(pruner), states_(lanes_.size()), start_(Clock::now()) {
    // Longest first (LPT), by the best lane's estimate; ties keep grid order.
    for (size_t j = 0; j < jobs_.size(); ++j) queue_.push_back(static_cast<int>(j));
    std::stable_sort(queue_.begin(), queue_.end(), [this](int a, int b) { return best_cost(a) > best_cost(b); });
  }

  void run_all() {
    int max_threads = 0;
    for (const Lane& lane : lanes_) max_threads = std::max(max_threads, lane.threads);
    const int concurrency = static_cast<int>(lanes_.size());
    // TBB caps its workers at the core count; --jobs beyond that still gets its lanes.
    const auto parallelism = std::max<size_t>(
        size_t(concurrency), tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
    tbb::global_control allow(tbb::global_control::max_allowed_parallelism, parallelism);
    tbb::task_arena arena(concurrency);
    OmpThreadsObserver omp_threads(arena, max_threads);
    const int caller_omp_threads = omp_get_max_threads();
    arena.execute([&] {
      tbb::task_group lanes;
      for (int l = 0; l < concurrency; ++l) lanes.run([this, l] { lane_loop(l); });
      lanes.wait();
    });
    omp_set_num_threads(caller_omp_threads);  // the arena's master is the caller's thread
  }

  void count_into(SweepOutcome& outcome) const {
    outcome.done = done_;
    outcome.failed = failed_;
    outcome.diverged = diverged_;
    outcome.interrupted = interrupted_;
    outcome.pruned = pruned_;
    outcome.elsewhere += elsewhere_;
    for (const std::string& who : elsewhere_by_)
      if (std::find(outcome.elsewhere_by.begin(), outcome.elsewhere_by.end(), who) == outcome.elsewhere_by.end())
        outcome.elsewhere_by.push_back(who);
  }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  int job_index(const Job& job) const { return static_cast<int>(&job - jobs_.data()); }
  double best_cost(int job) const {
    const auto& costs = jobs_[static_cast<size_t>(job)].lane_cost;
    return costs.empty() ? 0 : *std::min_element(costs.begin(), costs.end());
  }
  double now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  bool stop_starting() const { return stop_all_.load() || interrupt_requested(); }

  void lane_loop(int lane) {
    std::unique_lock lock(mutex_);
    LaneState& state = states_[static_cast<size_t>(lane)];
    state.active = true;
    while (!stop_starting() && !queue_.empty()) {
      const int position = pick_run(lane, now(), states_, queue_, [this](int job, int l) {
        return jobs_[static_cast<size_t>(job)].lane_cost[static_cast<size_t>(l)];
      });
      if (position < 0) {
        // Everything queued finishes sooner elsewhere; look again when a lane
        // frees up (or a signal arrives: the wait is bounded).
        changed_.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
      const int job = queue_[static_cast<size_t>(position)];
      queue_.erase(queue_.begin() + position);
      state.busy = true;
      state.free_at = now() + jobs_[static_cast<size_t>(job)].lane_cost[static_cast<size_t>(lane)];
      lock.unlock();
      execute(jobs_[static_cast<size_t>(job)], lane);
      lock.lock();
      state.busy = false;
      changed_.notify_all();
    }
    state.active = false;
    changed_.notify_all();
  }

  void execute(const Job& job, int lane_index) {
    const Lane& lane = lanes_[static_cast<size_t>(lane_index)];
    const RunConfig& config = job.run->config;
    const double estimate = job.lane_cost[static_cast<size_t>(lane_index)];
    RunResult result;
    bool claimed = false;
    try {
      Backend& backend = get_backend(lane.backend);
      SessionOptions session;
      session.threads = lane.threads;
      session.device = lane.device;
      session.precision = config.train.precision;
      session.seed = config.train.seed;
      omp_set_num_threads(lane.threads);
      // Claimed now, as it starts, not when the sweep began: another sweep
      // process on this grid may have taken it meanwhile.
      const Claim claim = store_.start_run(job.run_id, backend.name(), backend.device_name(lane.device),
                                           lane.threads, job.attempts);
      if (!claim.claimed) {
        skip(job, claim, estimate);
        return;
      }
      claimed = true;
      board_.run_started(lane_index, job.label, estimate);
      board_.eta_started(job_index(job), lane_index);
      RunObserver observer(store_, board_, lane_index, job.run_id, stop_all_, job.label.text(), pruner_, job.bracket,
                           config.train.epochs);
      CheckpointOptions checkpoints;
      if (!options_.checkpoint_dir.empty() && options_.checkpoint_keep != CheckpointKeep::none) {
        checkpoints.dir = std::filesystem::path(options_.checkpoint_dir) / config.hash;
        checkpoints.run_hash = config.hash;
        checkpoints.keep = options_.checkpoint_keep;
        checkpoints.monitor = options_.checkpoint_monitor;
      }
      result = train_run(config, backend, session, observer, checkpoints.dir.empty() ? nullptr : &checkpoints);
    } catch (const std::exception& error) {
      result.status = RunStatus::failed;
      result.error = error.what();
    }
    if (result.backend.empty()) result.backend = lane.backend;
    if (!claimed) {
      // It failed before it could be claimed: the row is not ours to write
      // (another process may own it); the next `sweep run` tries it again.
      board_.run_started(lane_index, job.label, estimate);
      board_.eta_started(job_index(job), lane_index);
    } else {
      try {
        store_.finish_run(job.run_id, result);
        if (pruner_ && result.status == RunStatus::done) pruner_->finished(job.run_id, result.epochs);
      } catch (const std::exception& error) {
        result.status = RunStatus::failed;
        result.error = std::string("could not record the result: ") + error.what();
      }
    }
    board_.run_finished(lane_index, result);
    tally(job, result);
  }

  void skip(const Job& job, const Claim& claim, double estimate) {
    const std::string who = owner_description(claim.owner);
    board_.eta_dropped(job_index(job));
    board_.run_skipped(job.label, estimate,
                       claim.status == RunStatus::running
                           ? "skipped: being trained by another sweep process (" + who + ")"
                           : "skipped: trained by another sweep process (" + who + "), now " + to_string(claim.status));
    std::lock_guard lock(mutex_);
    ++elsewhere_;
    note_owner(elsewhere_by_, claim.owner);
  }

  void tally(const Job& job, const RunResult& result) {
    std::lock_guard lock(mutex_);
    switch (result.status) {
      case RunStatus::done: ++done_; return;
      case RunStatus::interrupted: ++interrupted_; return;
      case RunStatus::pruned: ++pruned_; return;
      case RunStatus::diverged: ++diverged_; break;
      default: ++failed_; break;
    }
    problems_.push_back(fmt::format("  {} {}: {}", to_string(result.status), job.label.text(), result.error));
    if (options_.fail_fast && !stop_all_.exchange(true))
      board_.message("--fail-fast: " + job.label.text() + " " + to_string(result.status) + ", stopping the sweep");
  }

  Store& store_;
  const ScheduleOptions& options_;
  const std::vector<Lane> lanes_;
  const std::vector<Job> jobs_;
  ProgressBoard& board_;
  Pruner* pruner_;  // null: the grid prunes nothing
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LaneState> states_;
  std::vector<int> queue_;
  std::atomic<bool> stop_all_{false};
  int done_ = 0, failed_ = 0, diverged_ = 0, interrupted_ = 0, pruned_ = 0, elsewhere_ = 0;
  std::vector<std::string> elsewhere_by_;
  std::vector<std::string> problems_;
  Clock::time_point start_;
};

// Fewer runs than cores: the plan gives each run the spare cores. Keep that
// only if it is measured to pay off here and now: the calibration at that
// thread count against one thread, applied to these runs' FLOPs and batch
// counts. Under load, OpenMP teams whose threads get descheduled stall at
// every barrier (bench/schedule measured 17-46x slowdowns on a 2-core machine
// at load 14), and small networks gain little from threads even when idle.
std::string keep_threads_if_faster(ResourcePlan& plan, const std::vector<const RunConfig*>& runs) {
  constexpr double kWorthIt = 1.2;  // less is within the calibration's noise: keep the simpler choice
  try {
    const Calibration& one = calibration(plan.cpu_backend, 1);
    const Calibration& many = calibration(plan.cpu_backend, plan.threads_per_run);
    double seconds_one = 0, seconds_many = 0;
    for (const RunConfig* run : runs) {
      const RunWork work = run_work(*run);
      seconds_one += estimate_seconds(work, one);
      seconds_many += estimate_seconds(work, many);
    }
    const double speedup = seconds_many > 0 ? seconds_one / seconds_many : 0;
    if (speedup >= kWorthIt)
      return fmt::format("{} threads per run: measured {:.1f}x faster than 1 here", plan.threads_per_run, speedup);
    const std::string note = fmt::format("1 thread per run: {} threads measured only {:.2f}x as fast here",
                                         plan.threads_per_run, speedup);
    plan.threads_per_run = 1;
    return note;
  } catch (const std::exception& error) {
    plan.threads_per_run = 1;
    return std::string("1 thread per run (could not measure more: ") + error.what() + ")";
  }
}

void print_summary(const std::string& name, const SweepOutcome& outcome, const std::vector<std::string>& problems) {
  std::string line = fmt::format("sweep '{}': {} runs: {} done", name, outcome.total, outcome.done + outcome.skipped);
  if (outcome.skipped > 0) line += fmt::format(" ({} already done before)", outcome.skipped);
  if (outcome.pruned + outcome.pruned_before > 0) {
    line += fmt::format(", {} pruned", outcome.pruned + outcome.pruned_before);
    if (outcome.pruned_before > 0) line += fmt::format(" ({} before)", outcome.pruned_before);
  }
  line += fmt::format(", {} failed, {} diverged, {} interrupted", outcome.failed, outcome.diverged,
                      outcome.interrupted);
  const int not_started = outcome.total - outcome.skipped - outcome.done - outcome.failed - outcome.diverged -
                          outcome.interrupted - outcome.elsewhere - outcome.pruned - outcome.pruned_before;
  if (not_started > 0) line += fmt::format(", {} not started", not_started);
  line += fmt::format(" in {}", format_duration(outcome.wall_seconds));
  if (outcome.interrupted_by_signal) line += " (stopped by a signal; run the same command again to resume)";
  std::printf("%s\n", line.c_str());
  if (outcome.elsewhere > 0) {
    std::string who;
    for (const std::string& owner : outcome.elsewhere_by) who += (who.empty() ? "" : ", ") + owner;
    std::printf("  %d %s skipped: being trained by another sweep process (%s)\n", outcome.elsewhere,
                outcome.elsewhere == 1 ? "run" : "runs", who.c_str());
  }
  for (const auto& problem : problems) std::printf("%s\n", problem.c_str());
  std::fflush(stdout);
}

std::string lanes_text(const ResourcePlan& plan) {
  std::string where = plan.cpu_lanes > 0 ? fmt::format("{} x {} thread(s) on {}", plan.cpu_lanes, plan.threads_per_run,
                                                       plan.cpu_backend)
                                         : std::string();
  if (plan.gpu_devices > 0)
    where += fmt::format("{}{} GPU(s) x {} runs", where.empty() ? "" : " + ", plan.gpu_devices,
                         plan.gpu_runs_per_device);
  return where;
}

}  // namespace

SweepForecast forecast_sweep(const std::vector<const RunConfig*>& runs, const ScheduleOptions& options, Store* store) {
  SweepForecast forecast;
  if (runs.empty()) return forecast;
  ResourcePlan plan = plan_resources(options, available_cores(), static_cast<int>(runs.size()), usable_gpus(options));
  if (options.jobs == 0 && options.threads_per_run == 0 && plan.threads_per_run > 1)
    forecast.threads_note = keep_threads_if_faster(plan, runs);
  const std::vector<Lane> lanes = make_lanes(plan);
  forecast.lanes = static_cast<int>(lanes.size());
  forecast.where = lanes_text(plan);
  const CostTable table = estimate_costs(runs, lanes, store);
  forecast.cost_note = cost_note(table);
  for (const auto& costs : table.costs) {
    double best = costs.empty() ? 0 : costs[0].total();
    for (const RunCost& cost : costs) best = std::min(best, cost.total());
    forecast.run_seconds.push_back(best);
  }
  forecast.eta_seconds = list_schedule_makespan(forecast.run_seconds, std::vector<double>(lanes.size(), 0.0));
  return forecast;
}

void check_schedule_options(const ScheduleOptions& options) {
  usable_gpus(options);
  plan_resources(options, 1, 1, 0);  // the range checks of the counts
}

namespace {

// The grid's pruning rule (null when it has none), knowing every decision
// recorded for the sweep so far and the done runs' curves: a resumed sweep
// judges as if it had never stopped.
std::unique_ptr<Pruner> make_pruner(Store& store, int64_t sweep_id, const ExpandedGrid& grid) {
  if (!grid.pruning.active()) return nullptr;
  int max_epochs = 1;
  for (const ExpandedRun& run : grid.runs) max_epochs = std::max(max_epochs, run.config.train.epochs);
  auto pruner = std::make_unique<Pruner>(grid.pruning, max_epochs);
  for (const PruneDecision& decision : store.prune_decisions(sweep_id)) pruner->restore_decision(decision);
  for (const auto& [run_id, epochs] : store.done_run_epochs(sweep_id)) pruner->restore_finished(run_id, epochs);
  return pruner;
}

// The one line said before training starts: what there is to do, where the
// results go, how the runs share the machine and how long that should take.
void print_header(const std::string& name, const SweepOutcome& outcome, size_t to_train,
                  const std::string& results_path, const std::string& sharing) {
  std::string line = fmt::format("sweep '{}': {} runs, {} already done, ", name, outcome.total, outcome.skipped);
  if (outcome.pruned_before > 0) line += fmt::format("{} pruned before, ", outcome.pruned_before);
  if (outcome.elsewhere > 0) line += fmt::format("{} being trained by another sweep process, ", outcome.elsewhere);
  line += fmt::format("{} to train", to_train);
  if (!results_path.empty()) line += "; results in " + results_path;
  if (!sharing.empty()) line += "; " + sharing;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

SweepOutcome run_sweep(Store& store, int64_t sweep_id, const ExpandedGrid& grid, const ScheduleOptions& options) {
  const auto start = Clock::now();
  std::fflush(stdout);  // what the caller printed comes before our log lines
  // From here on a signal stops the sweep cleanly (also during calibration).
  InterruptGuard interrupts;
  // Everything the user must fix is checked before anything runs.
  const int gpus = usable_gpus(options);

  SweepOutcome outcome;
  outcome.total = static_cast<int>(grid.runs.size());
  std::vector<Job> jobs;
  std::vector<RunLabel> labels = run_labels(grid);
  const std::unique_ptr<Pruner> pruner = make_pruner(store, sweep_id, grid);
  // The rows are needed only to pick the jobs: freed before anything trains.
  std::unordered_map<std::string, RunRow> rows;
  for (auto& row : store.runs_of(sweep_id)) rows.emplace(row.hash, std::move(row));
  for (size_t i = 0; i < grid.runs.size(); ++i) {
    const ExpandedRun& run = grid.runs[i];
    const auto row = rows.find(run.config.hash);
    if (row == rows.end())
      throw RuntimeError("run " + run.config.hash + " of sweep '" + grid.name +
                         "' is not in the database (Store::upsert_sweep must come first)");
    if (row->second.status == RunStatus::done) {
      ++outcome.skipped;
      continue;
    }
    if (row->second.status == RunStatus::pruned) {  // finished as its rule decided; --continue-pruned trains it on
      ++outcome.pruned_before;
      continue;
    }
    if (row->second.status == RunStatus::running && !owner_is_stale(row->second.owner)) {
      ++outcome.elsewhere;  // another live sweep process trains it
      note_owner(outcome.elsewhere_by, row->second.owner);
      continue;
    }
    jobs.push_back(Job{&run, row->second.id, row->second.attempts, std::move(labels[i]), {}, {}, {},
                       pruner ? pruner->bracket_of(i) : 0});
    if (pruner && row->second.continued) pruner->exempt(row->second.id);
  }
  std::vector<RunLabel>().swap(labels);
  std::unordered_map<std::string, RunRow>().swap(rows);
  ResourcePlan plan = plan_resources(options, available_cores(), static_cast<int>(jobs.size()), gpus);
  std::string threads_note;
  std::vector<const RunConfig*> configs;
  for (const Job& job : jobs) configs.push_back(&job.run->config);
  if (options.jobs == 0 && options.threads_per_run == 0 && plan.threads_per_run > 1)
    threads_note = keep_threads_if_faster(plan, configs);

  if (!jobs.empty()) {
    const std::vector<Lane> lanes = make_lanes(plan);
    const ProgressBoard::Mode mode = view_mode(options);
    ProgressBoard board(mode, static_cast<int>(lanes.size()), static_cast<int>(jobs.size()), 0, stderr,
                        use_colour());
    price_jobs(jobs, configs, lanes, store, board, options.cost_measure_seconds);
    for (size_t j = 0; j < jobs.size(); ++j) board.eta_queue(static_cast<int>(j), jobs[j].best, jobs[j].cost_key);
    std::string where = lanes_text(plan);
    if (options.backend == "auto" && gpus == 0) where += ", no GPU";
    if (!threads_note.empty()) where += " (" + threads_note + ")";
    if (mode != ProgressBoard::Mode::quiet)
      print_header(grid.name, outcome, jobs.size(), options.results_path,
                   fmt::format("{} at once: {}; estimated {}", lanes.size(), where,
                               format_duration(board.eta_seconds())));

    board.start();
    SweepRunner runner(store, options, lanes, std::move(jobs), board, pruner.get());
    runner.run_all();
    board.stop();
    runner.count_into(outcome);
    outcome.interrupted_by_signal = interrupt_requested();
    outcome.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    print_summary(grid.name, outcome, runner.problems());
    return outcome;
  }
  if (!options.quiet) print_header(grid.name, outcome, 0, options.results_path, "");
  outcome.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  print_summary(grid.name, outcome, {});
  return outcome;
}

}  // namespace sweep
