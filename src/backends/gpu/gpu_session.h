// One run's network, parameters and optimizer state on one GPU (see
// gpu_session.cpp). Plain C++: the backend factory needs no CUDA types.
#pragma once
#include <memory>

#include "backends/gpu/dataset_cache.h"
#include "train/backend.h"

namespace sweep::gpu {

std::unique_ptr<Session> make_gpu_session(const ModelSpec& model, const OptimizerSpec& optimizer,
                                          const SessionOptions& options, DeviceDataCache& cache,
                                          const std::string& device_name);

}  // namespace sweep::gpu
