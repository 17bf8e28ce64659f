// The backends of this build, in order of preference for `auto`.
//
// ref and cpu are part of sweep_core. gpu is a run-time module,
// libsweep_gpu.so, loaded with dlopen() the first time get_backend("gpu") is
// called: the sweep binary never links CUDA, so it starts where CUDA is absent,
// and commands that do not train (query, report, --version) never map the
// ~225 MB of CUDA libraries. The module sits beside libsweep_core.so (both are
// built into the build folder's top); SWEEP_GPU_MODULE names another file.
#include <dlfcn.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "backends/gpu_module.h"
#include "common/error.h"
#include "train/backend.h"

namespace sweep {

std::unique_ptr<Backend> make_ref_backend();
std::unique_ptr<Backend> make_cpu_backend();

namespace {

namespace fs = std::filesystem;

// Where this copy of libsweep_core.so was loaded from: the module is its sibling.
fs::path core_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&core_library_dir), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ignored;
  const fs::path library = fs::canonical(info.dli_fname, ignored);
  return library.empty() ? fs::path(info.dli_fname).parent_path() : library.parent_path();
}

// Loads the module once per process and keeps it loaded (its Backend lives as
// long as the process). Throws InputError naming the file and what failed.
class GpuModule {
 public:
  Backend& backend() {
    std::call_once(loaded_, [this] { load(); });
    if (!backend_) throw InputError(error_, {}, "backend");
    return *backend_;
  }

 private:
  void load() {
    const fs::path path = gpu_module_path();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      error_ = "--backend gpu: this sweep has no GPU module (" + path.string() +
               " does not exist: it is built only where CUDA and cuDNN are found at build time)";
      return;
    }
    // RTLD_LOCAL: the module's CUDA symbols stay out of the global namespace.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      error_ = "--backend gpu: the GPU module " + path.string() + " could not be loaded (" +
               (why ? why : "unknown dlopen error") +
               "); the CUDA runtime, cuBLAS and cuDNN libraries it was built against must be installed";
      return;
    }
    auto abi = reinterpret_cast<int (*)()>(dlsym(handle, kGpuModuleAbiSymbol));
    auto make = reinterpret_cast<Backend* (*)()>(dlsym(handle, kGpuModuleMakeSymbol));
    if (abi == nullptr || make == nullptr) {
      error_ = "--backend gpu: " + path.string() + " is not a sweep GPU module (no " + kGpuModuleMakeSymbol + ")";
      return;
    }
    if (abi() != kGpuModuleAbi) {
      error_ = "--backend gpu: the GPU module " + path.string() + " was built from another version of sweep (module " +
               std::to_string(abi()) + ", this binary " + std::to_string(kGpuModuleAbi) + "); rebuild both together";
      return;
    }
    backend_.reset(make());
  }

  std::once_flag loaded_;
  std::unique_ptr<Backend> backend_;
  std::string error_;
};

}  // namespace

fs::path gpu_module_path() {
  if (const char* env = std::getenv("SWEEP_GPU_MODULE"); env != nullptr && *env != '\0') return env;
  return core_library_dir() / "libsweep_gpu.so";
}

bool gpu_driver_present() {
  static const bool present = [] {
    void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (driver == nullptr) return false;
    dlclose(driver);
    return true;
  }();
  return present;
}

std::vector<std::string> backend_names() {
  std::error_code ec;
  if (fs::exists(gpu_module_path(), ec)) return {"ref", "cpu", "gpu"};
  return {"ref", "cpu"};
}

Backend& get_backend(const std::string& name) {
  // Constructed on first use and kept for the process: backends hold
  // per-process state (engines, device copies of datasets).
  if (name == "ref") {
    static std::unique_ptr<Backend> ref = make_ref_backend();
    return *ref;
  }
  if (name == "cpu") {
    static std::unique_ptr<Backend> cpu = make_cpu_backend();
    return *cpu;
  }
  if (name == "gpu") {
    static GpuModule gpu;
    return gpu.backend();
  }
  throw InputError("unknown backend '" + name + "' (expected cpu, gpu, auto or ref)", {}, "backend");
}

}  // namespace sweep
