// The backends compiled into this build, in order of preference for `auto`.
#include "common/error.h"
#include "train/backend.h"

namespace sweep {

std::unique_ptr<Backend> make_ref_backend();
std::unique_ptr<Backend> make_cpu_backend();
#ifdef SWEEP_HAVE_GPU
std::unique_ptr<Backend> make_gpu_backend();
#endif

std::vector<std::string> backend_names() {
#ifdef SWEEP_HAVE_GPU
  return {"ref", "cpu", "gpu"};
#else
  return {"ref", "cpu"};
#endif
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
#ifdef SWEEP_HAVE_GPU
    static std::unique_ptr<Backend> gpu = make_gpu_backend();
    return *gpu;
#else
    throw InputError("this build of sweep has no GPU backend (CUDA and cuDNN were not found when it was built)",
                     {}, "backend");
#endif
  }
  throw InputError("unknown backend '" + name + "' (expected cpu, gpu, auto or ref)", {}, "backend");
}

}  // namespace sweep
