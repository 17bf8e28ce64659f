// SIGINT/SIGTERM handling for a running sweep (Slurm sends SIGTERM before it
// kills a job). The first signal asks every running run to stop (they end as
// `interrupted`, keeping their finished epochs) and no new run starts; a
// second signal ends the process at once with _exit(130).
//
// The handler only touches a lock-free std::atomic<int> and write(2), both
// async-signal-safe; everything else polls interrupt_requested().
#pragma once

namespace sweep {

// Installs the handlers for its lifetime and restores the previous ones when
// it ends. The interrupt count starts at zero for every guard.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// True once a signal arrived while an InterruptGuard was alive.
bool interrupt_requested();

}  // namespace sweep
