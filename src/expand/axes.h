// Axes of a grid configuration and dotted-path access to JSON values.
#pragma once
#include <string>
#include <vector>

#include "config/run_config.h"

namespace sweep {

// A field that takes several values: a list where the schema expects a
// scalar, or a list containing lists where it expects a list.
struct Axis {
  std::string path;  // dotted run-config path, e.g. "train.learning_rate"
  json values;       // the list of values, in file order
};

// The axes of a (merged) configuration {dataset, model, train}, in file order.
// Unknown keys are InputErrors whose field() is the key's dotted path.
std::vector<Axis> find_axes(const json& config);

// The value at a dotted path ("model.layers.0.kernel"), or nullptr.
const json* get_path(const json& root, const std::string& path);
// Set the value at a dotted path, creating missing mapping keys. A list index
// that does not exist is an InputError naming the path.
void set_path(json& root, const std::string& path, const json& value);
// Deep merge for variants: mappings merge key by key, anything else replaces.
// In `model`, giving `layers` drops the base's `builder` and vice versa.
json deep_merge(const json& base, const json& over);
// Leaf paths of a mapping (lists are leaves), in order.
void leaf_paths(const json& v, const std::string& prefix, std::vector<std::string>& out);

}  // namespace sweep
