// The property the grid fuzzer checks, shared by the libFuzzer target
// (tests/fuzz/fuzz_grid.cpp) and the regression test that replays the corpus
// and every input the fuzzer ever crashed on (tests/test_grid_fuzz_corpus.cpp).
//
// Any bytes given as a grid file either expand to runs or raise an InputError
// that is located (it names a file, and a line when that file is the grid) and
// in sweep's own words. Anything else (another exception, a crash, a
// sanitizer report, a hang) is a bug.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "grid/grid.h"

namespace sweep::fuzz {

constexpr const char* kGridName = "fuzz.yaml";

// Returns "" when the property holds, else what broke it.
inline std::string check_grid_bytes(const std::string& text) {
  try {
    const ExpandedGrid grid = parse_grid(text, kGridName);
    if (grid.runs.empty()) return "a grid expanded to no runs without an error";
  } catch (const InputError& e) {
    const SourceLocation& at = e.where();
    if (at.file.empty()) return std::string("unlocated InputError: ") + e.what();
    if (at.file == kGridName && at.line < 1) return std::string("InputError without a line: ") + e.what();
    if (e.message().empty()) return "InputError without a message";
    const std::string what = e.what();
    // A marker the input itself contains may be the user's text quoted back
    // (a key named "train.basic_string..."), not a library's message.
    for (const char* library : {"json.exception", "yaml-cpp", "bad_alloc", "basic_string", "stoi", "stod"})
      if (what.find(library) != std::string::npos && text.find(library) == std::string::npos)
        return "library text in an InputError: " + what;
  } catch (const std::exception& e) {
    return std::string("not an InputError: ") + e.what();
  }
  return "";
}

}  // namespace sweep::fuzz
