// Keras' EarlyStopping callback (restore_best_weights=False, no baseline):
// after each epoch the monitored value is compared with the best so far; an
// improvement (by more than min_delta) resets the wait, otherwise the wait
// grows, and training stops once it reaches `patience`.
#pragma once
#include <cmath>
#include <limits>
#include <string>

#include "config/run_config.h"
#include "train/trainer.h"

namespace sweep {

class EarlyStopper {
 public:
  explicit EarlyStopper(const EarlyStopping& spec)
      : spec_(spec), maximise_(spec.monitor == "val_accuracy" || spec.monitor == "accuracy") {
    best_ = maximise_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }

  static bool known_monitor(const std::string& monitor) {
    return monitor == "val_loss" || monitor == "val_accuracy" || monitor == "loss" || monitor == "accuracy";
  }

  double monitored(const EpochMetrics& m) const {
    if (spec_.monitor == "val_loss") return m.val_loss;
    if (spec_.monitor == "val_accuracy") return m.val_accuracy;
    if (spec_.monitor == "accuracy") return m.accuracy;
    return m.loss;
  }

  // Called after each epoch; true = stop now. (Keras: `epoch > 0` keeps the
  // first epoch from stopping, which patience >= 1 already guarantees.)
  bool should_stop(const EpochMetrics& m) {
    const double current = monitored(m);
    const double delta = std::abs(spec_.min_delta);
    ++wait_;
    const bool improved = maximise_ ? current - delta > best_ : current + delta < best_;
    if (improved) {
      best_ = current;
      best_epoch_ = m.epoch;
      wait_ = 0;
      return false;
    }
    return wait_ >= spec_.patience;
  }

  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  EarlyStopping spec_;
  bool maximise_;
  double best_;
  int wait_ = 0;
  int best_epoch_ = 0;
};

}  // namespace sweep
