// Canonical model JSON -> LayerSpec lists: the layers form one to one, and the
// builder form expanded into the layers it stands for (docs/grid.md).
#pragma once
#include <vector>

#include "config/run_config.h"

namespace sweep {

// One canonical layer object ({"type": "conv2d", "filters": 32, ...}).
LayerSpec layer_from_json(const json& layer);
// The layers a canonical builder object describes; `input_is_flat` (HOG
// features) skips the Flatten when there are no conv blocks.
std::vector<LayerSpec> builder_layers(const json& builder, int classes, bool input_is_flat);
// The input shape a canonical dataset object gives the model.
Shape model_input_shape(const json& dataset);

}  // namespace sweep
