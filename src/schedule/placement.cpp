#include "schedule/placement.h"

#include <algorithm>

namespace sweep {

int pick_run(int self, double now, const std::vector<LaneState>& lanes, const std::vector<int>& queue,
             const std::function<double(int run, int lane)>& cost) {
  // When each lane can start its next run, in the replayed schedule. A busy
  // lane that overran its estimate is taken to be free now.
  std::vector<double> available(lanes.size(), now);
  for (size_t l = 0; l < lanes.size(); ++l)
    if (lanes[l].busy && static_cast<int>(l) != self) available[l] = std::max(now, lanes[l].free_at);
  for (size_t position = 0; position < queue.size(); ++position) {
    const int run = queue[position];
    int best_lane = self;
    double best_finish = available[static_cast<size_t>(self)] + cost(run, self);
    for (size_t l = 0; l < lanes.size(); ++l) {
      if (static_cast<int>(l) == self || !lanes[l].active) continue;
      const double finish = available[l] + cost(run, static_cast<int>(l));
      // Ties stay with `self`: on identical lanes the idle one takes the run.
      if (finish < best_finish * (1 - 1e-9)) {
        best_finish = finish;
        best_lane = static_cast<int>(l);
      }
    }
    if (best_lane == self) return static_cast<int>(position);
    available[static_cast<size_t>(best_lane)] = best_finish;
  }
  return -1;
}

}  // namespace sweep
