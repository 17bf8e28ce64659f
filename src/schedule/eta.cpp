#include "schedule/eta.h"

#include <algorithm>

namespace sweep {

EtaModel::EtaModel(int lanes) : lanes_(static_cast<size_t>(std::max(1, lanes))) {}

void EtaModel::queue(int job, const RunCost& cost, const std::string& key) {
  jobs_[job] = Job{cost, key};
  queued_.push_back(job);
}

void EtaModel::started(int job, int lane, double now) {
  std::erase(queued_, job);
  Running& slot = lanes_.at(static_cast<size_t>(lane));
  slot = Running{};
  slot.job = job;
  slot.started = slot.last_epoch_end = now;
}

void EtaModel::epoch_done(int lane, double seconds, double now) {
  Running& slot = lanes_.at(static_cast<size_t>(lane));
  if (slot.job < 0) return;
  ++slot.epochs_done;
  slot.epoch_seconds += seconds;
  slot.last_epoch_end = now;
  const Job& job = jobs_.at(slot.job);
  if (job.cost.epoch <= 0) return;
  all_.actual += seconds;
  all_.estimated += job.cost.epoch;
  Ratio& ratio = by_key_[job.key];
  ratio.actual += seconds;
  ratio.estimated += job.cost.epoch;
}

void EtaModel::finished(int lane) {
  Running& slot = lanes_.at(static_cast<size_t>(lane));
  if (slot.job >= 0) jobs_.erase(slot.job);
  slot = Running{};
}

void EtaModel::dropped(int job) {
  std::erase(queued_, job);
  jobs_.erase(job);
}

double EtaModel::correction() const { return all_.estimated > 0 ? all_.actual / all_.estimated : 1.0; }

double EtaModel::correction_of(const std::string& key) const {
  const auto it = by_key_.find(key);
  if (it != by_key_.end() && it->second.estimated > 0) return it->second.actual / it->second.estimated;
  return correction();
}

double EtaModel::remaining(const Running& run, double now) const {
  const Job& job = jobs_.at(run.job);
  const RunCost& cost = job.cost;
  if (run.epochs_done == 0) return std::max(0.0, cost.total() * correction_of(job.key) - (now - run.started));
  // Its own epochs say best what its next ones take.
  const double mean_epoch = run.epoch_seconds / run.epochs_done;
  const double own_ratio = cost.epoch > 0 ? mean_epoch / cost.epoch : correction_of(job.key);
  const double in_epoch = now - run.last_epoch_end;
  const int epochs_left = std::max(0, cost.epochs - run.epochs_done);
  const double final_eval = cost.final_eval * own_ratio;
  if (epochs_left == 0) return std::max(0.0, final_eval - in_epoch);
  return std::max(0.0, mean_epoch - in_epoch) + (epochs_left - 1) * mean_epoch + final_eval;
}

double EtaModel::eta(double now) const {
  std::vector<double> busy;
  for (const Running& run : lanes_) busy.push_back(run.job >= 0 ? remaining(run, now) : 0.0);
  std::vector<double> costs;
  for (int id : queued_) {
    const Job& job = jobs_.at(id);
    costs.push_back(job.cost.total() * correction_of(job.key));
  }
  return list_schedule_makespan(std::move(costs), std::move(busy));
}

}  // namespace sweep
