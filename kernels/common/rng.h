// Counter-based random numbers shared by every backend (host and CUDA device
// code), so that a run's seed gives the same dropout masks, the same shuffles
// and the same initial weights on the CPU and on the GPU.
//   uniform01(key, counter): a float in [0, 1), a pure function of its inputs.
// Streams are separated by deriving keys: derive_key(seed, stream_id).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define SWEEP_HD __host__ __device__ __forceinline__
#else
#define SWEEP_HD inline
#endif

namespace sweep::rng {

// splitmix64 finaliser: a strong 64-bit mixer.
SWEEP_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

SWEEP_HD uint64_t derive_key(uint64_t seed, uint64_t stream) { return mix64(seed ^ mix64(stream + 0x632be59bd9b4e019ull)); }

SWEEP_HD uint64_t bits(uint64_t key, uint64_t counter) { return mix64(key ^ mix64(counter)); }

// 24 random bits -> float in [0, 1): exact in fp32, identical on host and device.
SWEEP_HD float uniform01(uint64_t key, uint64_t counter) {
  return static_cast<float>(bits(key, counter) >> 40) * (1.0f / 16777216.0f);
}

// Well-known stream ids, so that no two uses share random numbers.
enum Stream : uint64_t { kInit = 1, kShuffle = 2, kDropout = 3 };

}  // namespace sweep::rng
