// libFuzzer target for the grid loader (YAML text -> validated, expanded
// runs): see grid_check.h for the property. Built with -DSWEEP_FUZZ=ON by
// clang; .ci/run runs it for a fixed time from the committed grids
// (sweeps/**.yaml) as the seed corpus. An input that breaks the property
// aborts, and libFuzzer keeps it as crash-*: copy it into
// tests/fuzz/regressions/ so tests/test_grid_fuzz_corpus.cpp replays it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/grid_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A few KB covers every grid we ship; bigger inputs only slow the search.
  if (size > 8192) return -1;
  const std::string broken = sweep::fuzz::check_grid_bytes(std::string(reinterpret_cast<const char*>(data), size));
  if (!broken.empty()) {
    std::fprintf(stderr, "fuzz_grid: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
