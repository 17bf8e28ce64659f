// The live ETA of a running sweep, corrected as epochs finish.
//
// Before anything has run, the ETA is the list schedule of the cost model's
// estimates over the lanes. Each finished epoch then says how far the model is
// off here and now (other load, contention, a kernel slower than measured):
//  - a running run's remaining epochs are priced at its own mean epoch time;
//  - a queued run is scaled by actual/estimated of the finished epochs of its
//    own network and batch when any ran, else of all finished epochs.
// The ratios are sums over every finished epoch, not the last one, so one
// slow epoch moves the ETA a little and the ETA converges instead of swinging.
// Early stopping is not foreseen: a run that stops early shortens the ETA then.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "schedule/cost_model.h"

namespace sweep {

class EtaModel {
 public:
  explicit EtaModel(int lanes = 1);

  // A run this sweep will train: its estimate and the key of its network
  // (runs with equal keys share their correction).
  void queue(int job, const RunCost& cost, const std::string& key);
  void started(int job, int lane, double now);
  void epoch_done(int lane, double seconds, double now);
  void finished(int lane);
  void dropped(int job);  // a queued run that will not be trained here

  // Seconds from `now` until the last run ends; 0 when nothing is left.
  double eta(double now) const;
  // actual/estimated over all finished epochs (1 before the first).
  double correction() const;

 private:
  struct Job {
    RunCost cost;
    std::string key;
  };
  struct Running {
    int job = -1;
    double started = 0, last_epoch_end = 0;
    int epochs_done = 0;
    double epoch_seconds = 0;  // sum over its finished epochs
  };
  struct Ratio {
    double actual = 0, estimated = 0;
  };
  double correction_of(const std::string& key) const;
  double remaining(const Running& run, double now) const;

  std::map<int, Job> jobs_;     // queued and running
  std::vector<int> queued_;     // job ids not started
  std::vector<Running> lanes_;  // job -1 = idle
  Ratio all_;
  std::map<std::string, Ratio> by_key_;
};

}  // namespace sweep
