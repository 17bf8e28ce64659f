// Batch gather with u8 -> float conversion on the device, and the zero
// padding used for asymmetric 'same' convolutions.
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace sweep::cuda {
namespace {

template <typename Source>
__global__ void gather_kernel(const Source* data, const uint8_t* labels, const int32_t* indices, int n,
                              int64_t sample_size, float* x, int32_t* labels_out) {
  const int64_t total = int64_t(n) * sample_size;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = k / sample_size;
    const int64_t e = k - i * sample_size;
    const int64_t row = indices[i];
    if constexpr (sizeof(Source) == 1) {
      // Same expression as Samples::copy_sample on the host: byte / 255.
      x[k] = static_cast<float>(data[row * sample_size + e]) / 255.0f;
    } else {
      x[k] = data[row * sample_size + e];
    }
    if (e == 0) labels_out[i] = labels[row];
  }
}

__global__ void pad_kernel(const float* x, int64_t planes, int h, int w, int top, int left, int ph, int pw,
                           float* padded) {
  const int64_t total = planes * ph * pw;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t plane = k / (int64_t(ph) * pw);
    const int r = static_cast<int>((k / pw) % ph) - top;
    const int c = static_cast<int>(k % pw) - left;
    padded[k] = (r >= 0 && r < h && c >= 0 && c < w) ? x[(plane * h + r) * w + c] : 0.0f;
  }
}

__global__ void crop_kernel(const float* padded, int64_t planes, int ph, int pw, int top, int left, int h, int w,
                            float* x) {
  const int64_t total = planes * h * w;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t plane = k / (int64_t(h) * w);
    const int r = static_cast<int>((k / w) % h) + top;
    const int c = static_cast<int>(k % w) + left;
    x[k] = padded[(plane * ph + r) * pw + c];
  }
}

}  // namespace

cudaError_t gather_u8(const uint8_t* data, const uint8_t* labels, const int32_t* indices, int n,
                      int64_t sample_size, float* x, int32_t* labels_out, cudaStream_t stream) {
  gather_kernel<<<grid_for(int64_t(n) * sample_size), kThreads, 0, stream>>>(data, labels, indices, n, sample_size,
                                                                             x, labels_out);
  return cudaGetLastError();
}

cudaError_t gather_f32(const float* data, const uint8_t* labels, const int32_t* indices, int n,
                       int64_t sample_size, float* x, int32_t* labels_out, cudaStream_t stream) {
  gather_kernel<<<grid_for(int64_t(n) * sample_size), kThreads, 0, stream>>>(data, labels, indices, n, sample_size,
                                                                             x, labels_out);
  return cudaGetLastError();
}

cudaError_t pad_planes(const float* x, int64_t planes, int h, int w, int top, int left, int ph, int pw,
                       float* padded, cudaStream_t stream) {
  pad_kernel<<<grid_for(planes * ph * pw), kThreads, 0, stream>>>(x, planes, h, w, top, left, ph, pw, padded);
  return cudaGetLastError();
}

cudaError_t crop_planes(const float* padded, int64_t planes, int ph, int pw, int top, int left, int h, int w,
                        float* x, cudaStream_t stream) {
  crop_kernel<<<grid_for(planes * h * w), kThreads, 0, stream>>>(padded, planes, ph, pw, top, left, h, w, x);
  return cudaGetLastError();
}

}  // namespace sweep::cuda
