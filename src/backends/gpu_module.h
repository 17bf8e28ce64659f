// The contract between sweep_core and the GPU module (libsweep_gpu.so, built
// from src/backends/gpu): two C symbols the registry looks up after dlopen().
// Plain C++ only; the module's CUDA types never cross it.
#pragma once
#include <filesystem>

#include "train/backend.h"

namespace sweep {

// Bump when Backend, Session or any type they pass changes layout, so that a
// stale module next to a new binary is refused instead of crashing.
inline constexpr int kGpuModuleAbi = 1;

// extern "C" int sweep_gpu_module_abi(void): returns kGpuModuleAbi as the module saw it.
inline constexpr const char* kGpuModuleAbiSymbol = "sweep_gpu_module_abi";
// extern "C" sweep::Backend* sweep_gpu_module_make(void): a new "gpu" backend
// (owned by the caller). Constructing it never touches the driver.
inline constexpr const char* kGpuModuleMakeSymbol = "sweep_gpu_module_make";

// The module file get_backend("gpu") loads: $SWEEP_GPU_MODULE when set, else
// libsweep_gpu.so beside libsweep_core.so.
std::filesystem::path gpu_module_path();

}  // namespace sweep
