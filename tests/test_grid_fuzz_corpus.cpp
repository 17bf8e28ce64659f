// Replays the grid fuzzer's property (tests/fuzz/grid_check.h) on every
// committed grid and on every input the fuzzer once broke it with
// (tests/fuzz/regressions/), in every build, so a fixed bug stays fixed
// without clang or libFuzzer.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/grid_check.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_under(const fs::path& folder, const std::string& extension) {
  std::vector<fs::path> files;
  if (!fs::exists(folder)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && (extension.empty() || entry.path().extension() == extension))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("every committed grid and every fuzzer regression input holds the loader's property") {
  const fs::path source = SWEEP_SOURCE_DIR;
  std::vector<fs::path> inputs = files_under(source / "sweeps", ".yaml");
  const size_t grids = inputs.size();
  for (const fs::path& p : files_under(source / "tests/fuzz/regressions", "")) inputs.push_back(p);
  CHECK(grids >= 5);  // the five write-up grids at least
  for (const fs::path& input : inputs) {
    INFO(input.string());
    CHECK(sweep::fuzz::check_grid_bytes(bytes_of(input)) == "");
  }
  MESSAGE(grids << " grids and " << inputs.size() - grids << " regression inputs checked");
}
