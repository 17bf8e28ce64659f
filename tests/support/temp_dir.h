// A fresh temporary folder for one test: shared by every test that writes
// files (databases, grids, datasets, reports).
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace sweep::test {

// An empty folder <temp>/sweep_<tag>_<pid>_<n>, removed with all it holds
// when the TempDir goes. The pid keeps test processes run in parallel
// (ctest -j) apart, the counter keeps two TempDirs of one process apart.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) : path(unique_path(tag)) {
    std::filesystem::remove_all(path);  // a leftover of a crashed process with the same pid
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;  // never throw from a destructor; a leftover folder is harmless
    std::filesystem::remove_all(path, ignored);
  }
  // Copies would remove the folder twice.
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // `name` inside the folder, as the string Store::open and friends take.
  std::string file(const std::string& name) const { return (path / name).string(); }

  const std::filesystem::path path;

 private:
  static std::filesystem::path unique_path(const std::string& tag) {
    static std::atomic<int> counter{0};  // atomic: tests may make folders from several threads
    return std::filesystem::temp_directory_path() /
           ("sweep_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  }
};

}  // namespace sweep::test
