// YAML text -> JSON value plus the file location of every node, keyed by the
// node's dotted path ("train.learning_rate", "model.layers.2.kernel",
// "variants.0.train.batch_size"; the root is ""). Scalars get YAML 1.2 core
// types: null, true/false, integers, floats; quoted scalars stay strings.
#pragma once
#include <map>
#include <string>

#include "common/error.h"
#include "config/run_config.h"

namespace sweep {

struct YamlTree {
  std::string file;
  json root;
  std::map<std::string, SourceLocation> value_at;  // where each node's value starts
  std::map<std::string, SourceLocation> key_at;    // where each mapping key is written

  // The location of `path`, else of its nearest ancestor that has one.
  SourceLocation nearest(const std::string& path) const;
  // Does `path` itself have a location?
  bool has(const std::string& path) const { return value_at.count(path) > 0; }
  // Move every location under `from` (inclusive) to `to` (used when a node is
  // rewritten into another shape, e.g. {conv2d: {...}} -> {type: conv2d, ...}).
  void move_locations(const std::string& from, const std::string& to);
};

// Parse YAML text. Syntax errors and duplicate keys are InputErrors at the
// offending line and column of `file`.
YamlTree read_yaml(const std::string& text, const std::string& file);

// Dotted-path helpers shared by the grid stages.
std::string join_path(const std::string& parent, const std::string& key);
std::string parent_path(const std::string& path);  // "" for a top-level key

}  // namespace sweep
