// The "gpu" backend: CUDA devices through cuDNN, cuBLAS and our kernels.
// Constructing it never touches the driver, and without a usable device it
// reports device_count() == 0 (the scheduler says so) instead of failing.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/gpu/cuda_check.h"
#include "backends/gpu_module.h"
#include "backends/gpu/dataset_cache.h"
#include "backends/gpu/gpu_session.h"
#include "common/error.h"
#include "train/backend.h"

namespace sweep {
namespace {

class GpuBackend final : public Backend {
 public:
  std::string name() const override { return "gpu"; }

  int device_count() const override {
    discover();
    return int(devices_.size());
  }

  std::string device_name(int device) const override {
    discover();
    if (device < 0 || device >= int(devices_.size())) return {};
    return devices_[size_t(device)].name;
  }

  std::unique_ptr<Session> create_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                          const SessionOptions& options) override {
    discover();
    if (devices_.empty()) throw RuntimeError("gpu backend: no usable CUDA device (" + no_device_reason_ + ")");
    if (options.device < 0 || options.device >= int(devices_.size()))
      throw InputError("GPU device " + std::to_string(options.device) + " does not exist (this machine has " +
                           std::to_string(devices_.size()) + ")",
                       {}, "device");
    Device& device = devices_[size_t(options.device)];
    return gpu::make_gpu_session(model, optimizer, options, *device.cache, device.name);
  }

 private:
  struct Device {
    std::string name;
    std::unique_ptr<gpu::DeviceDataCache> cache;  // datasets uploaded to this device
  };

  // Asks the runtime once, on first use: a machine without a driver or device
  // gets an error code here, which means zero devices.
  void discover() const {
    std::call_once(discovered_, [this] {
      int count = 0;
      const cudaError_t status = cudaGetDeviceCount(&count);
      if (status != cudaSuccess) {
        no_device_reason_ = cudaGetErrorString(status);
        cudaGetLastError();  // clear the sticky-free error so later calls start clean
        return;
      }
      if (count == 0) no_device_reason_ = "no CUDA device found";
      for (int d = 0; d < count; ++d) {
        cudaDeviceProp props{};
        std::string name = "CUDA device " + std::to_string(d);
        if (cudaGetDeviceProperties(&props, d) == cudaSuccess)
          name = std::string(props.name) + " (" + std::to_string(props.totalGlobalMem >> 30) + " GiB, sm_" +
                 std::to_string(props.major) + std::to_string(props.minor) + ")";
        devices_.push_back(Device{name, std::make_unique<gpu::DeviceDataCache>(d)});
      }
    });
  }

  mutable std::once_flag discovered_;
  mutable std::vector<Device> devices_;
  mutable std::string no_device_reason_;
};

}  // namespace

}  // namespace sweep

// The module's entry points (src/backends/gpu_module.h), found by dlsym().
extern "C" __attribute__((visibility("default"))) int sweep_gpu_module_abi() { return sweep::kGpuModuleAbi; }
extern "C" __attribute__((visibility("default"))) sweep::Backend* sweep_gpu_module_make() {
  return new sweep::GpuBackend();
}
