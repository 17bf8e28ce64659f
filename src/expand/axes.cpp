#include "expand/axes.h"

#include <algorithm>

#include "common/error.h"
#include "config/schema.h"
#include "grid/yaml_tree.h"

namespace sweep {

namespace {

using schema::Type;

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct AxisFinder {
  std::vector<Axis> axes;

  void add(const std::string& path, const json& values) {
    if (values.empty()) throw InputError("an empty list: an axis needs at least one value", {}, path);
    axes.push_back(Axis{path, values});
  }

  // Is `v` several values of a field of type `type`?
  void value(const schema::Field& f, const json& v, const std::string& path) {
    if (!v.is_array()) return;
    if (schema::is_list_type(f.type)) {
      if (std::any_of(v.begin(), v.end(), [](const json& x) { return x.is_array(); })) add(path, v);
    } else {
      add(path, v);
    }
  }

  void section(const json& obj, const std::string& name, const std::string& path) {
    if (!obj.is_object()) return;  // canonical_json reports the type
    for (const auto& [key, v] : obj.items()) {
      const std::string p = join_path(path, key);
      const schema::Field* f = schema::find_field(name, key);
      if (!f) throw InputError(schema::unknown_key_message(key, path, schema::names_of(name)), {}, p);
      if (f->type == Type::object) section(v, name + "." + key, p);
      else if (f->type == Type::layers) layers(v, p);
      else value(*f, v, p);
    }
  }

  void layers(const json& list, const std::string& path) {
    if (!list.is_array()) return;
    if (std::any_of(list.begin(), list.end(), [](const json& x) { return x.is_array(); })) {
      add(path, list);  // several whole layer stacks
      return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const json& layer = list[i];
      if (!layer.is_object() || !layer.contains("type") || !layer["type"].is_string()) continue;
      const std::string type = layer["type"].get<std::string>();
      const auto types = schema::layer_types();
      if (std::find(types.begin(), types.end(), type) == types.end()) continue;  // canonical_json suggests one
      const std::string sec = schema::layer_section(type);
      const std::string lp = join_path(path, std::to_string(i));
      for (const auto& [key, v] : layer.items()) {
        if (key == "type") continue;
        const schema::Field* f = schema::find_field(sec, key);
        if (!f) throw InputError(schema::unknown_key_message(key, type + " layer", schema::names_of(sec)), {}, join_path(lp, key));
        value(*f, v, join_path(lp, key));
      }
    }
  }

  void model(const json& m) {
    if (!m.is_object()) return;
    for (const auto& [key, v] : m.items()) {
      if (key == "layers") layers(v, "model.layers");
      else if (key == "builder") section(v, "model.builder", "model.builder");
      else throw InputError(schema::unknown_key_message(key, "model", {"layers", "builder"}), {}, "model." + key);
    }
  }
};

}  // namespace

std::vector<Axis> find_axes(const json& config) {
  AxisFinder finder;
  for (const auto& [key, v] : config.items()) {
    if (key == "dataset" || key == "train") finder.section(v, key, key);
    else if (key == "model") finder.model(v);
  }
  return std::move(finder.axes);
}

const json* get_path(const json& root, const std::string& path) {
  const json* node = &root;
  for (const std::string& part : split(path)) {
    if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array() && is_index(part)) {
      const size_t i = std::stoul(part);
      if (i >= node->size()) return nullptr;
      node = &(*node)[i];
    } else {
      return nullptr;
    }
  }
  return node;
}

void set_path(json& root, const std::string& path, const json& value) {
  json* node = &root;
  std::string walked;
  for (const std::string& part : split(path)) {
    walked = join_path(walked, part);
    if (node->is_array()) {
      if (!is_index(part) || std::stoul(part) >= node->size())
        throw InputError("there is no '" + walked + "' (the list has " + std::to_string(node->size()) + " items)", {}, walked);
      node = &(*node)[std::stoul(part)];
    } else {
      if (!node->is_object()) *node = json::object();
      node = &(*node)[part];
    }
  }
  *node = value;
}

json deep_merge(const json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) return over;
  json out = base;
  for (const auto& [key, v] : over.items()) {
    if (key == "model" && out.contains("model") && out["model"].is_object() && v.is_object()) {
      // The two model forms exclude each other: a variant's choice wins.
      if (v.contains("layers")) out["model"].erase("builder");
      if (v.contains("builder")) out["model"].erase("layers");
    }
    out[key] = out.contains(key) ? deep_merge(out[key], v) : v;
  }
  return out;
}

// An activation written as an object ({leaky_relu: 0.1}, {elu: 1.0}) is one
// value, not a group of fields: `activation.leaky_relu` is no factor of its own,
// and splitting it would make a relu run and a leaky_relu run differ in two
// fields instead of one.
namespace {
bool is_value_object_key(const std::string& key) {
  return key == "function" || (key.size() >= 10 && key.compare(key.size() - 10, 10, "activation") == 0);
}
}  // namespace

void leaf_paths(const json& v, const std::string& prefix, std::vector<std::string>& out) {
  const std::string last = prefix.substr(prefix.rfind('.') == std::string::npos ? 0 : prefix.rfind('.') + 1);
  if (!v.is_object() || is_value_object_key(last)) {
    if (std::find(out.begin(), out.end(), prefix) == out.end()) out.push_back(prefix);
    return;
  }
  for (const auto& [key, child] : v.items()) leaf_paths(child, join_path(prefix, key), out);
}

}  // namespace sweep
