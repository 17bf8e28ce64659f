// Status checks for CUDA, cuDNN and cuBLAS calls: a failure becomes a
// RuntimeError naming the call, the library's message and the source line,
// so a failed run's error column says what broke.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace sweep::gpu {

[[noreturn]] void throw_gpu_error(const char* call, const char* message, const char* file, int line);

inline void check_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw_gpu_error(call, cudaGetErrorString(status), file, line);
}
inline void check_status(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS) throw_gpu_error(call, cudnnGetErrorString(status), file, line);
}
inline void check_status(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_gpu_error(call, cublasGetStatusString(status), file, line);
}

}  // namespace sweep::gpu

#define SWEEP_GPU_CHECK(call) ::sweep::gpu::check_status((call), #call, __FILE__, __LINE__)
