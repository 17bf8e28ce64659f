// Elapsed wall time, shared so that each file does not define its own helper
// (the sanitizer builds compile sources in unity batches, where two file-local
// helpers of one name collide).
#pragma once

#include <chrono>

namespace sweep {

// Seconds elapsed on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace sweep
