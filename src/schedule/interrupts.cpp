#include "schedule/interrupts.h"

#include <atomic>
#include <csignal>
#include <cstring>
#include <unistd.h>

namespace sweep {
namespace {

std::atomic<int> g_signal_count{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free counter");

struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

void write_stderr(const char* text) {
  // write(2) is async-signal-safe; a short write here only loses a message.
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_interrupt_signal(int) {
  const int count = g_signal_count.fetch_add(1, std::memory_order_relaxed) + 1;
  if (count >= 2) {
    write_stderr("\nsweep: second interrupt: exiting now\n");
    ::_exit(130);
  }
  write_stderr("\nsweep: interrupt: stopping the running runs (interrupt again to exit at once)\n");
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal_count.store(0, std::memory_order_relaxed);
  struct sigaction action {};
  action.sa_handler = on_interrupt_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: the store's and the data loader's blocking calls carry on;
  // the runs notice the flag between batches.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool interrupt_requested() { return g_signal_count.load(std::memory_order_relaxed) > 0; }

}  // namespace sweep
