// A grid file read and checked structurally (stage 1), before expansion: the
// base configuration as written, the variants, and the combination rules.
// Everything keeps its place in the file (tree) for error messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "grid/search_spec.h"
#include "grid/yaml_tree.h"

namespace sweep {

struct GridVariant {
  std::string name;
  json override_config;  // {dataset?, model?, train?} deep-merged over the base
  std::string doc_path;  // "variants.<i>" in the tree
};

struct SearchDimension {
  std::string path;  // dotted run-config path
  std::string kind;  // uniform | log_uniform | int_uniform | choice
  json args;         // [lo, hi] or the choices
};

struct GridSpec {
  std::string name, description, path, text;
  YamlTree tree;
  json base;  // {dataset, model, train} as written; model.layers items in {type: ...} form
  std::vector<GridVariant> variants;
  int repeats = 1;
  std::vector<std::vector<std::string>> zip;  // tree path of group g, item k: "zip.<g>.<k>"
  json exclude = json::array();               // [{path: value, ...}], tree "exclude.<i>.<path>"
  json include = json::array();
  int search_samples = 0;                     // 0 = no random search
  uint64_t search_seed = 0;
  std::vector<SearchDimension> search_space;  // tree "search.space.<path>"
  PruningSpec pruning;                        // search.strategy (or search.pruner) and its settings
  TpeSpec tpe;                                // search.strategy: tpe
  // When not empty, the search values to expand instead of random draws
  // (samples[j][d] as draw_search_samples gives them): a TPE search's trials.
  std::vector<std::vector<json>> search_values;
};

// Stage 1: read and check the file's structure. Throws InputError with
// file:line:column for syntax errors, unknown top-level keys, malformed zip,
// exclude, include, variants or search, and paths that name no field.
GridSpec read_grid(const std::string& yaml_text, const std::string& path);

// Is `path` something exclude/include/zip/search may name (a schema field path
// such as "train.learning_rate" or "model.layers.0.kernel", or "variant")?
// Throws InputError at `where` otherwise, suggesting the nearest valid path.
void check_field_path(const std::string& path, const SourceLocation& where, const std::string& role);

}  // namespace sweep
