// What a running sweep shows. Run threads only record state here; one
// renderer thread writes to the terminal, so output never interleaves.
//  live:  (stderr is a terminal, TERM not dumb) one line per running run
//         (its label, epoch x/y, a bar over the epoch's batches, running
//         loss/accuracy) and a sweep line (done/running/queued/failed,
//         elapsed, ETA), redrawn in place with ANSI at most 10 times a
//         second; finished runs scroll above it, their status coloured
//         unless NO_COLOR is set. Every line is laid out to the terminal's
//         width (schedule/line_layout.h): a wrapped line would break the redraw.
//  plain: (CI, Slurm logs, --plain, TERM=dumb) one timestamped line per
//         finished epoch and per finished run, whole, without colour.
//  quiet: nothing (the caller prints the final summary).
#pragma once
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "schedule/eta.h"
#include "schedule/run_label.h"
#include "train/trainer.h"

namespace sweep {

class ProgressBoard {
 public:
  enum class Mode { live, plain, quiet };
  // `lanes`: how many runs can be in flight; `to_run`: runs this invocation
  // will try; `queued_seconds` is unused (kept for callers; the ETA comes from
  // eta_queue); `colour`: ANSI colours for the statuses (live mode only).
  ProgressBoard(Mode mode, int lanes, int to_run, double queued_seconds, std::FILE* out = stderr,
                bool colour = false);
  ~ProgressBoard();
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  void start();  // starts the renderer thread (not in quiet mode)
  void stop();   // final redraw, joins the renderer; idempotent

  // From run threads. `label` names the run ("#3 learning_rate=0.01 ...").
  void run_started(int lane, const RunLabel& label, double estimate_seconds);
  void run_shape(int lane, int epochs, int batches_per_epoch);
  void batch(int lane, int epoch, int batch, double running_loss, double running_accuracy);
  void epoch(int lane, const EpochMetrics& metrics);
  void run_finished(int lane, const RunResult& result);
  // A queued run this invocation will not train after all (another sweep
  // process claimed it): no longer counted; `why` is logged.
  void run_skipped(const RunLabel& label, double estimate_seconds, const std::string& why);
  // The live ETA's model (schedule/eta.h): every run to train with its cost
  // before the sweep starts, then which lane took it or that it was dropped.
  void eta_queue(int job, const RunCost& cost, const std::string& key);
  void eta_started(int job, int lane);
  void eta_dropped(int job);
  // A line for the log (plain) or above the live block; dropped when quiet.
  void message(const std::string& line);

  // Seconds still to go (EtaModel: the list schedule of the remaining work,
  // corrected by the epochs finished so far).
  double eta_seconds() const;

 private:
  struct Slot {
    bool active = false;
    RunLabel label;
    double estimate = 0;
    double started = 0;  // seconds since the board was made
    int epochs = 0, batches = 0;
    int epoch = 0, batch = 0;
    double loss = 0, accuracy = 0;
  };
  double now() const;
  double eta_locked() const;
  void render_loop();
  std::string compose_locked(bool final_frame);  // the next frame; consumes pending lines
  void write(const std::string& frame);
  std::string sweep_line() const;

  Mode mode_;
  std::FILE* out_;
  bool colour_;
  int to_run_;
  double start_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Slot> slots_;
  std::vector<std::string> pending_lines_;
  int done_ = 0, failed_ = 0, diverged_ = 0, interrupted_ = 0, pruned_ = 0, started_runs_ = 0;
  EtaModel eta_;
  int drawn_lines_ = 0;
  bool stopping_ = false;
  std::thread renderer_;
};

// "12.3s", "4m05s", "2h13m".
std::string format_duration(double seconds);
// Local wall-clock time for log lines: "2026-11-21 23:59:01".
std::string timestamp_now();

}  // namespace sweep
