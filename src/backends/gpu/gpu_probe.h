// Test access to a GPU session's gradients (tests/test_gpu_*.cpp), free of
// CUDA types: a Session created by the "gpu" backend also implements this
// interface (reach it with dynamic_cast).
#pragma once
#include <cstdint>
#include <span>

#include "train/backend.h"

namespace sweep::gpu {

class GradientProbe {
 public:
  virtual ~GradientProbe() = default;
  // A training-mode forward and backward of data[indices] with the dropout
  // masks of step `step`, without an optimizer update and without counting as
  // a train_step. Returns the batch sums; `grads` receives the gradient of the
  // MEAN loss in the canonical layout (zeros for non-trainable tensors). As in
  // training, BatchNorm moving statistics are updated.
  virtual StepStats loss_and_gradients(const Samples& split, std::span<const int32_t> indices, int64_t step,
                                       Params& grads) = 0;
};

}  // namespace sweep::gpu
