// Device copies of dataset splits: uploaded once per process and device, and
// shared read-only by every session on that device, so that a batch is
// gathered on the GPU from its index list instead of crossing PCIe each step.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>

#include "backends/gpu/device_memory.h"
#include "data/dataset.h"

namespace sweep::gpu {

// One split on the device. Pixels stay bytes (a quarter of the memory of
// floats); the gather kernel converts them per batch.
struct DeviceSamples {
  DeviceBuffer<uint8_t> u8;     // count*sample_size, or empty
  DeviceBuffer<float> f32;      // count*sample_size, or empty
  DeviceBuffer<uint8_t> labels; // count
  int64_t count = 0;
  int64_t sample_size = 0;
  bool is_u8 = true;
};

class DeviceDataCache {
 public:
  explicit DeviceDataCache(int device) : device_(device) {}

  // The device copy of `split`, uploading it on first use. Thread-safe:
  // concurrent callers for the same split wait for one upload.
  std::shared_ptr<const DeviceSamples> get(const Samples& split);

 private:
  // Identity of a host split: its addresses and sizes, plus a fingerprint of
  // sampled bytes, so that a new split allocated where a freed one lived is
  // not mistaken for it.
  struct Key {
    const void* samples = nullptr;
    const void* data = nullptr;
    const void* labels = nullptr;
    int64_t count = 0, sample_size = 0;
    uint64_t fingerprint = 0;
    bool operator==(const Key&) const = default;
  };
  struct Entry {
    Key key;
    std::mutex upload;                       // held while uploading
    std::shared_ptr<const DeviceSamples> data;  // null until uploaded
  };
  static Key key_of(const Samples& split);

  int device_;
  std::mutex mutex_;                          // guards entries_
  std::list<std::shared_ptr<Entry>> entries_; // most recently used first
};

}  // namespace sweep::gpu
