// Which queued run an idle lane takes next: heterogeneous list scheduling.
//
// A lane is one slot that runs one run at a time: a CPU slot (threads_per_run
// cores) or a GPU slot (one of N concurrent runs on a device). The queue is in
// longest-first order (LPT) so that the sweep does not end on one long
// straggler. When a lane is idle it replays the list schedule from now on:
// every queued run, longest first, goes to the lane where it would finish
// soonest given what each lane already has; the idle lane takes the first run
// that lands on it. On identical lanes that is plain LPT (take the longest);
// with a GPU 10x faster than a CPU slot, the CPU slot takes a run only when
// the GPU's backlog would finish it later than the CPU would.
#pragma once
#include <functional>
#include <vector>

namespace sweep {

struct LaneState {
  bool active = false;  // its worker is in the scheduling loop (lanes not yet started are ignored)
  bool busy = false;    // running a run
  double free_at = 0;   // when busy: expected end of its run (seconds since the sweep started)
};

// The index into `queue` of the run lane `self` should take now, or -1 when
// every queued run is expected to finish sooner elsewhere. cost(run, lane) is
// the expected seconds of `run` on `lane`; `queue` holds run ids.
int pick_run(int self, double now, const std::vector<LaneState>& lanes, const std::vector<int>& queue,
             const std::function<double(int run, int lane)>& cost);

}  // namespace sweep
