// Shared helpers of the .cu files: launch geometry and a deterministic
// block-wide sum (fixed shared-memory tree, no atomics).
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace sweep::cuda {

constexpr int kThreads = 256;

// Enough blocks for a grid-stride loop over `count` elements; capped so that
// huge tensors loop instead of launching millions of tiny blocks.
inline unsigned grid_for(int64_t count) {
  const int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 8192 ? 8192 : blocks));
}

// Sum of `value` over the kThreads threads of the block, returned to every
// thread. The tree order is fixed, so the result is bit-reproducible.
template <typename T>
__device__ T block_sum(T value) {
  __shared__ T partial[kThreads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const T total = partial[0];
  __syncthreads();  // the array may be reused by the next call
  return total;
}

}  // namespace sweep::cuda
