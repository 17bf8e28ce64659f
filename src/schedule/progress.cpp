#include "schedule/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "schedule/line_layout.h"

namespace sweep {
namespace {

using Clock = std::chrono::steady_clock;

double clock_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

int terminal_width(std::FILE* out) {
  winsize size{};
  if (::ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 100;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto whole = static_cast<long long>(seconds + 0.5);
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, (whole % 3600) / 60);
}

std::string timestamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

ProgressBoard::ProgressBoard(Mode mode, int lanes, int to_run, double queued_seconds, std::FILE* out,
                             bool colour)
    : mode_(mode), out_(out), colour_(colour && mode == Mode::live), to_run_(to_run), start_(clock_seconds()),
      slots_(static_cast<size_t>(std::max(0, lanes))), eta_(std::max(1, lanes)) {
  (void)queued_seconds;
}

ProgressBoard::~ProgressBoard() { stop(); }

double ProgressBoard::now() const { return clock_seconds() - start_; }

void ProgressBoard::start() {
  if (mode_ == Mode::quiet || renderer_.joinable()) return;
  renderer_ = std::thread([this] { render_loop(); });
}

void ProgressBoard::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (renderer_.joinable()) renderer_.join();
}

void ProgressBoard::run_started(int lane, const RunLabel& label, double estimate_seconds) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(lane));
  slot = Slot{};
  slot.active = true;
  slot.label = label;
  slot.estimate = estimate_seconds;
  slot.started = now();
  ++started_runs_;
}

void ProgressBoard::run_shape(int lane, int epochs, int batches_per_epoch) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(lane));
  slot.epochs = epochs;
  slot.batches = batches_per_epoch;
}

void ProgressBoard::batch(int lane, int epoch, int batch, double running_loss, double running_accuracy) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(lane));
  slot.epoch = epoch;
  slot.batch = batch;
  slot.loss = running_loss;
  slot.accuracy = running_accuracy;
}

void ProgressBoard::epoch(int lane, const EpochMetrics& metrics) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(lane));
  eta_.epoch_done(lane, metrics.seconds, now());
  if (mode_ != Mode::plain) return;
  std::string line = fmt::format("{} {} epoch {}/{} loss {:.4f} accuracy {:.4f}", timestamp_now(), slot.label.text(),
                                 metrics.epoch, slot.epochs, metrics.loss, metrics.accuracy);
  if (std::isfinite(metrics.val_loss))
    line += fmt::format(" val_loss {:.4f} val_accuracy {:.4f}", metrics.val_loss, metrics.val_accuracy);
  line += fmt::format(" ({}, {:.0f} img/s) [ETA {}]", format_duration(metrics.seconds), metrics.images_per_sec,
                      format_duration(eta_locked()));
  pending_lines_.push_back(std::move(line));
}

void ProgressBoard::run_finished(int lane, const RunResult& result) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(lane));
  switch (result.status) {
    case RunStatus::done: ++done_; break;
    case RunStatus::diverged: ++diverged_; break;
    case RunStatus::interrupted: ++interrupted_; break;
    case RunStatus::pruned: ++pruned_; break;
    default: ++failed_; break;
  }
  if (mode_ != Mode::quiet) {
    slot.active = false;
    // Laid out now, to the width of now: a resize before the next frame
    // leaves it to compose_locked's cut.
    const int width = mode_ == Mode::live ? terminal_width(out_) - 1 : 0;
    std::string line = result_line(slot.label, finished_text(result), result.status, width, colour_);
    if (mode_ == Mode::plain) {
      const int finished = done_ + failed_ + diverged_ + interrupted_ + pruned_;
      line = fmt::format("{} {} [{}/{} finished, ETA {}]", timestamp_now(), line, finished, to_run_,
                         format_duration(eta_locked()));
    }
    pending_lines_.push_back(std::move(line));
  }
  slot.active = false;
  eta_.finished(lane);
}

void ProgressBoard::run_skipped(const RunLabel& label, double estimate_seconds, const std::string& why) {
  std::lock_guard lock(mutex_);
  to_run_ = std::max(0, to_run_ - 1);
  (void)estimate_seconds;
  if (mode_ == Mode::quiet) return;
  const std::string line =
      skipped_line(label, why, mode_ == Mode::live ? terminal_width(out_) - 1 : 0, colour_);
  pending_lines_.push_back(mode_ == Mode::plain ? timestamp_now() + " " + line : line);
}

void ProgressBoard::eta_queue(int job, const RunCost& cost, const std::string& key) {
  std::lock_guard lock(mutex_);
  eta_.queue(job, cost, key);
}

void ProgressBoard::eta_started(int job, int lane) {
  std::lock_guard lock(mutex_);
  eta_.started(job, lane, now());
}

void ProgressBoard::eta_dropped(int job) {
  std::lock_guard lock(mutex_);
  eta_.dropped(job);
}

void ProgressBoard::message(const std::string& line) {
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::quiet) return;
  pending_lines_.push_back(mode_ == Mode::plain ? timestamp_now() + " " + line : line);
}

double ProgressBoard::eta_seconds() const {
  std::lock_guard lock(mutex_);
  return eta_locked();
}

double ProgressBoard::eta_locked() const { return eta_.eta(now()); }

std::string ProgressBoard::sweep_line() const {
  int running = 0;
  for (const Slot& slot : slots_) running += slot.active ? 1 : 0;
  const int queued = std::max(0, to_run_ - started_runs_);
  const double eta = eta_locked();
  // "pruned" only where a pruning rule is at work, so other sweeps' lines stay as they were.
  const std::string pruned = pruned_ > 0 ? fmt::format(", {} pruned", pruned_) : std::string();
  return fmt::format("sweep: {} done{}, {} running, {} queued, {} failed, {} diverged  elapsed {}  ETA {}", done_,
                     pruned, running, queued, failed_ + interrupted_, diverged_, format_duration(now()),
                     format_duration(eta));
}

std::string ProgressBoard::compose_locked(bool final_frame) {
  std::string frame;
  if (mode_ == Mode::plain) {
    for (const auto& line : pending_lines_) frame += line + "\n";
    pending_lines_.clear();
    return frame;
  }
  const int width = terminal_width(out_) - 1;
  // Back to the top of the previous live block, then overwrite it.
  if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}F", drawn_lines_);
  for (const auto& line : pending_lines_) frame += "\x1b[2K" + fit_visible(line, width) + "\n";
  pending_lines_.clear();
  int lines = 0;
  if (!final_frame) {
    for (const Slot& slot : slots_) {
      if (!slot.active) continue;
      const RunProgress progress{slot.epoch, slot.epochs, slot.batch, slot.batches, slot.loss, slot.accuracy};
      frame += "\x1b[2K" + progress_line(slot.label, progress, width) + "\n";
      ++lines;
    }
    frame += "\x1b[2K" + fit_visible(sweep_line(), width) + "\n";
    ++lines;
  }
  frame += "\x1b[J";  // clear whatever the previous, taller frame left below
  drawn_lines_ = lines;
  return frame;
}

void ProgressBoard::write(const std::string& frame) {
  // Outside the lock: a slow terminal or a full pipe must not stall the runs.
  if (frame.empty()) return;
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
}

void ProgressBoard::render_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::string frame = compose_locked(false);
    lock.unlock();
    write(frame);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
  }
  std::string frame = compose_locked(true);
  lock.unlock();
  write(frame);
}

}  // namespace sweep
