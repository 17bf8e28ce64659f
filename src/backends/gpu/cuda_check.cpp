// Turning a failed CUDA/cuDNN/cuBLAS call into a RuntimeError.
#include "backends/gpu/cuda_check.h"

#include <string>

#include "common/error.h"

namespace sweep::gpu {

void throw_gpu_error(const char* call, const char* message, const char* file, int line) {
  std::string where = file;
  if (const size_t slash = where.find_last_of('/'); slash != std::string::npos) where = where.substr(slash + 1);
  throw RuntimeError(std::string("gpu backend: ") + call + " failed: " + message + " (" + where + ":" +
                     std::to_string(line) + ")");
}

}  // namespace sweep::gpu
