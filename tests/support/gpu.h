// Skipping GPU tests cleanly: without a CUDA device, in a build without the
// GPU module (CUDA not found at configure time), and where the module is there
// but cannot be loaded (no CUDA libraries). Skipped cases say so in a doctest
// MESSAGE and pass.
#pragma once
#include <algorithm>
#include <exception>

#include "train/backend.h"

namespace sweep::test {

inline bool have_gpu() {
  const auto names = backend_names();
  if (std::find(names.begin(), names.end(), "gpu") == names.end()) return false;
  try {
    return get_backend("gpu").device_count() > 0;
  } catch (const std::exception&) {
    return false;  // the module would not load: no usable GPU here
  }
}

}  // namespace sweep::test

#define SKIP_WITHOUT_GPU()                                                     \
  if (!sweep::test::have_gpu()) {                                              \
    MESSAGE("skipped: no CUDA device or no GPU backend in this build");        \
    return;                                                                    \
  }
