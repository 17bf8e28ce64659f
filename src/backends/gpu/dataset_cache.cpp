// Upload-once device copies of dataset splits (see dataset_cache.h).
#include "backends/gpu/dataset_cache.h"

#include <string_view>

#include "common/hash.h"

namespace sweep::gpu {
namespace {

// Splits kept on a device at once; older unused ones are dropped (a session
// still using one keeps it alive through its shared_ptr).
constexpr size_t kMaxCachedSplits = 8;

// FNV-1a of 512 bytes sampled evenly from the data, and of 64 labels: cheap
// enough per lookup (scattered reads), enough to tell datasets apart.
uint64_t fingerprint(const uint8_t* bytes, size_t size, const std::vector<uint8_t>& labels) {
  constexpr size_t kSamples = 512;
  std::string sampled;
  sampled.reserve(kSamples + 64);
  const size_t stride = size > kSamples ? size / kSamples : 1;
  for (size_t i = 0; i < size; i += stride) sampled.push_back(static_cast<char>(bytes[i]));
  const size_t label_stride = labels.size() > 64 ? labels.size() / 64 : 1;
  for (size_t i = 0; i < labels.size(); i += label_stride) sampled.push_back(static_cast<char>(labels[i]));
  return fnv1a64(sampled);
}

}  // namespace

DeviceDataCache::Key DeviceDataCache::key_of(const Samples& split) {
  Key key;
  key.samples = &split;
  key.labels = split.labels.data();
  key.count = split.count;
  key.sample_size = split.shape.size();
  if (split.is_u8()) {
    key.data = split.u8.data();
    key.fingerprint = fingerprint(split.u8.data(), split.u8.size(), split.labels);
  } else {
    key.data = split.f32.data();
    key.fingerprint = fingerprint(reinterpret_cast<const uint8_t*>(split.f32.data()),
                                  split.f32.size() * sizeof(float), split.labels);
  }
  return key;
}

std::shared_ptr<const DeviceSamples> DeviceDataCache::get(const Samples& split) {
  SWEEP_GPU_CHECK(cudaSetDevice(device_));
  const Key key = key_of(split);
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if ((*it)->key == key) {
        entry = *it;
        entries_.splice(entries_.begin(), entries_, it);  // most recently used first
        break;
      }
    }
    if (!entry) {
      entry = std::make_shared<Entry>();
      entry->key = key;
      entries_.push_front(entry);
      while (entries_.size() > kMaxCachedSplits) entries_.pop_back();
    }
  }
  std::lock_guard upload_lock(entry->upload);
  if (entry->data) return entry->data;

  // Done once per split, so plain copies are fast enough.
  auto samples = std::make_shared<DeviceSamples>();
  samples->count = split.count;
  samples->sample_size = split.shape.size();
  samples->is_u8 = split.is_u8();
  if (split.is_u8()) {
    samples->u8.resize(split.u8.size());
    SWEEP_GPU_CHECK(cudaMemcpy(samples->u8.get(), split.u8.data(), split.u8.size(), cudaMemcpyHostToDevice));
  } else {
    samples->f32.resize(split.f32.size());
    SWEEP_GPU_CHECK(cudaMemcpy(samples->f32.get(), split.f32.data(), split.f32.size() * sizeof(float),
                               cudaMemcpyHostToDevice));
  }
  samples->labels.resize(split.labels.size());
  SWEEP_GPU_CHECK(
      cudaMemcpy(samples->labels.get(), split.labels.data(), split.labels.size(), cudaMemcpyHostToDevice));
  // From pageable memory cudaMemcpy may return before its DMA has landed, and
  // sessions read on non-blocking streams that do not wait for the legacy
  // default stream: wait for it here, once per upload.
  SWEEP_GPU_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
  entry->data = std::move(samples);
  return entry->data;
}

}  // namespace sweep::gpu
