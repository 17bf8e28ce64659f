// Owning handles for device and pinned host memory. Contents are not kept on
// resize: buffers hold per-batch scratch or are filled right after.
#pragma once
#include <cstddef>
#include <utility>

#include <cuda_runtime_api.h>

#include "backends/gpu/cuda_check.h"

namespace sweep::gpu {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) { resize(count); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  // Exactly `count` elements (reallocates when the size changes).
  void resize(size_t count) {
    if (count == size_) return;
    release();
    if (count > 0) {
      void* p = nullptr;
      SWEEP_GPU_CHECK(cudaMalloc(&p, count * sizeof(T)));
      data_ = static_cast<T*>(p);
      size_ = count;
    }
  }
  // At least `count` elements (never shrinks).
  void reserve(size_t count) {
    if (count > size_) resize(count);
  }
  T* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) cudaFree(data_);  // no throw: also runs in destructors
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
};

// Page-locked host memory, so that copies to and from the device can be
// queued on a stream without an implicit synchronisation.
template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { release(); }

  void reserve(size_t count) {
    if (count <= size_) return;
    release();
    void* p = nullptr;
    SWEEP_GPU_CHECK(cudaMallocHost(&p, count * sizeof(T)));
    data_ = static_cast<T*>(p);
    size_ = count;
  }
  T* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) cudaFreeHost(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
};

// An owned library handle or descriptor (cuDNN descriptors, streams, cuDNN
// and cuBLAS handles), released with its Destroy function. Members of this
// type clean up even when a constructor throws midway.
template <typename Handle, auto Destroy>
class Owned {
 public:
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (handle_ != nullptr) Destroy(handle_);
  }
  Handle* out() { return &handle_; }  // for create functions: cudnnCreate(h.out())
  operator Handle() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

}  // namespace sweep::gpu
