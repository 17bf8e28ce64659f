// Axes written as ranges: `{range: [start, stop, step]}` and
// `{logspace: [start, stop, n]}` in a grid's dataset/model/train sections
// become the explicit list of values before anything else reads the grid, so
// the rest of the loader (axes, canonical JSON, hashes) sees a plain list and
// a range gives the same runs, with the same hashes, as the list written out.
#pragma once
#include <string>

#include "grid/yaml_tree.h"

namespace sweep {

// Replace every single-key mapping {range: ...} or {logspace: ...} under
// `node` (at tree path `path`) with its list of values; the values take the
// range's source location. Bad forms are InputErrors at the range.
void expand_ranges(json& node, const std::string& path, YamlTree& tree);

}  // namespace sweep
