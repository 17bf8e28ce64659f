// From an expanded grid cell to the row the store plans for it.
#pragma once
#include <string>

#include "grid/grid.h"
#include "store/store.h"

namespace sweep {

// Everything the store records about a run before it trains: identity,
// config, varied values, model (infer()'s counts and FLOPs, the layers) and
// the scheduler's cost estimate (seconds).
PlannedRun plan_run(const ExpandedRun& run, double cost_estimate);

// The model as JSON (input shape, classes, init, every layer's settings): the
// `spec` column of the models table; its hash is the model's identity.
json model_spec_json(const ModelSpec& model);
std::string model_hash(const ModelSpec& model);

}  // namespace sweep
