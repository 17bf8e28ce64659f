// The sweep binary never links CUDA: the GPU backend is a module
// (libsweep_gpu.so) loaded only by `--backend gpu|auto`. These tests run the
// real binary with the loader's LD_DEBUG=libs trace and check that --version
// and `sweep query` start with the module absent and no CUDA library on the
// library path, and that in a build with the module they still load no CUDA.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backends/gpu_module.h"
#include "store/store.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sweep::test::run_sweep_cli;
using sweep::test::shell_quote;
using sweep::test::TempDir;

namespace {

// True when the LD_DEBUG=libs trace shows a CUDA library being loaded.
bool loaded_cuda(const std::string& trace) {
  for (const char* name : {"libcudart", "libcublas", "libcudnn", "libcuda.so", "libnvrtc"})
    if (trace.find(name) != std::string::npos) return true;
  return false;
}

// A results database with its schema and nothing run, for `sweep query`.
std::string make_db(const TempDir& dir) {
  const std::string path = dir.file("results.db");
  sweep::Store::open(path);
  return path;
}

const char* kQuery = "SELECT COUNT(*) AS runs FROM runs";

}  // namespace

TEST_CASE("--version and query start with the GPU module absent and no CUDA on the library path") {
  TempDir dir("nocuda");
  make_db(dir);
  const std::string env = "env -u LD_LIBRARY_PATH LD_DEBUG=libs SWEEP_GPU_MODULE=" +
                          shell_quote(dir.file("absent/libsweep_gpu.so"));

  const auto version = run_sweep_cli(dir.path, {"--version"}, env);
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("sweep " SWEEP_VERSION) != std::string::npos);
  CHECK(version.err.find("calling init") != std::string::npos);  // the trace is really on
  CHECK_FALSE(loaded_cuda(version.err));

  const auto query = run_sweep_cli(dir.path, {"query", "results.db", kQuery}, env);
  CHECK(query.exit_code == 0);
  CHECK(query.out.find("runs") != std::string::npos);
  CHECK_FALSE(loaded_cuda(query.err));

  // Asking for the GPU without the module: a clear input error, nothing trained.
  std::ofstream(dir.file("grid.yaml")) << "name: g\ndataset: {name: mnist, train_limit: 64, test_limit: 64}\n"
                                          "model: {builder: {conv_depth: 1, filters: 4, kernel: 3, activation: relu, dense: [8]}}\n"
                                          "train: {epochs: 1, batch_size: 32}\n";
  const auto gpu = run_sweep_cli(dir.path, {"run", "grid.yaml", "--backend", "gpu"},
                                 "SWEEP_GPU_MODULE=" + shell_quote(dir.file("absent/libsweep_gpu.so")));
  CHECK(gpu.exit_code == 2);
  CHECK(gpu.err.find("no GPU module") != std::string::npos);
  CHECK(gpu.err.find("absent/libsweep_gpu.so") != std::string::npos);
}

TEST_CASE("a GPU module that cannot be loaded is named with the loader's reason") {
  TempDir dir("nocuda");
  std::ofstream(dir.file("libsweep_gpu.so")) << "not an ELF file\n";
  std::ofstream(dir.file("grid.yaml")) << "name: g\ndataset: {name: mnist, train_limit: 64, test_limit: 64}\n"
                                          "model: {builder: {conv_depth: 1, filters: 4, kernel: 3, activation: relu, dense: [8]}}\n"
                                          "train: {epochs: 1, batch_size: 32}\n";
  const std::string env = "SWEEP_GPU_MODULE=" + shell_quote(dir.file("libsweep_gpu.so"));
  const auto gpu = run_sweep_cli(dir.path, {"run", "grid.yaml", "--backend", "gpu"}, env);
  CHECK(gpu.exit_code == 2);
  CHECK(gpu.err.find("could not be loaded") != std::string::npos);
  // `auto` treats an unloadable module as no GPU and trains on the CPU.
  const auto cpu = run_sweep_cli(dir.path, {"run", "grid.yaml", "--backend", "auto", "--quiet"}, env);
  CHECK(cpu.exit_code == 0);
}

TEST_CASE("with the GPU module built, commands that do not train still load no CUDA") {
  const fs::path module = sweep::gpu_module_path();
  if (!fs::exists(module)) {
    MESSAGE("skipped: this build has no GPU module (" << module.string() << ")");
    return;
  }
  TempDir dir("nocuda");
  make_db(dir);
  const auto query = run_sweep_cli(dir.path, {"query", "results.db", kQuery}, "LD_DEBUG=libs");
  CHECK(query.exit_code == 0);
  CHECK(query.err.find("calling init") != std::string::npos);
  CHECK_FALSE(loaded_cuda(query.err));
}
