// Skipping GPU tests cleanly: without a CUDA device, and in a build without
// the GPU backend (CUDA not found at configure time, where get_backend("gpu")
// refuses). Skipped cases say so in a doctest MESSAGE and pass.
#pragma once
#include <algorithm>

#include "train/backend.h"

namespace sweep::test {

inline bool have_gpu() {
  const auto names = backend_names();
  if (std::find(names.begin(), names.end(), "gpu") == names.end()) return false;
  return get_backend("gpu").device_count() > 0;
}

}  // namespace sweep::test

#define SKIP_WITHOUT_GPU()                                                     \
  if (!sweep::test::have_gpu()) {                                              \
    MESSAGE("skipped: no CUDA device or no GPU backend in this build");        \
    return;                                                                    \
  }
