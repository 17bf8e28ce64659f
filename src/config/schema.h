// The configuration schema: one table of every field a run's configuration
// has (section, name, type, range, default). It is the single source for
// validation and canonical JSON (src/config), for unknown-key suggestions and
// for axis detection in grids (src/grid, src/expand), and for docs/grid.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sweep::schema {

using json = nlohmann::ordered_json;

enum class Type {
  integer,      // a whole number
  number,       // any number; canonical form is a float
  boolean,
  string,
  choice,       // one of `choices`
  int_or_pair,  // 3 or [3, 3] (kernel, strides, pool size); canonical: int when square
  int_or_list,  // 32 or [32, 64] (builder filters: one per conv block)
  int_list,     // [64, 32] (builder dense units)
  activation,   // relu | {leaky_relu: 0.1}; the alpha goes to the sibling "alpha"
  object,       // a nested section named `<section>.<name>`
  layers,       // model.layers: a list of layer objects
};

struct Field {
  std::string_view section;  // "train", "dataset.hog", "model.builder", "layer.conv2d", ...
  std::string_view name;
  Type type;
  json default_value;        // null = required (unless derived; objects are built from their section)
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string_view> choices;  // Type::choice (empty: a model enum, see model_enum)
  std::string_view model_enum;            // "padding" | "init": parsed by model/model.h's *_from
  bool derived = false;  // no fixed default: computed from other fields when absent
  std::string_view doc;
  // How a derived default reads in docs and messages ("0.01 (sgd), 0.001
  // (adam, rmsprop)"); empty where there is none to state.
  std::string_view default_text = {};
};

// Defaults that depend on another field, as Keras has them (2.11+ and 3):
// train.learning_rate by the optimizer (SGD 0.01; Adam and RMSprop 0.001),
// alpha by the activation it applies to (ELU 1.0; LeakyReLU 0.3). These and
// the fields' default_text are the one place the values live.
double default_learning_rate(std::string_view optimizer);
// The default alpha of an activation that takes one (elu, leaky_relu), else nullopt.
std::optional<double> default_alpha(std::string_view activation);
// The canonical alpha where no activation uses it. It is the old fixed
// default, so a run whose alpha means nothing keeps its hash whatever alpha
// it was written with.
inline constexpr double kUnusedAlpha = 0.3;

// Every field of `section`, in canonical order.
std::vector<const Field*> fields_of(std::string_view section);
const Field* find_field(std::string_view section, std::string_view name);
// The nearest name by edit distance among `candidates`, or "" if none is close.
std::string nearest(std::string_view name, const std::vector<std::string>& candidates);
// "unknown key 'x' in 'train'; did you mean 'y'?" (suffix only when one is close).
std::string unknown_key_message(std::string_view key, std::string_view where, const std::vector<std::string>& valid);
std::vector<std::string> names_of(std::string_view section);

// The schema section of a layer type ("layer.conv2d"); the type is checked by
// the caller (layer_kind_from).
std::string layer_section(std::string_view type);
// All layer type names, in LayerKind order.
std::vector<std::string> layer_types();

// Is `type` a list-shaped field (a list value is one value, not an axis)?
bool is_list_type(Type type);

// The field a dotted run-config path names, or nullptr. Paths look like
// "train.learning_rate", "dataset.hog.orientations", "model.builder.filters",
// "model.layers.2.kernel" (any layer type that has the key). "variant" and
// object/list containers ("model.layers") are not fields and return nullptr.
const Field* field_at(std::string_view dotted_path);
// Every addressable dotted path (layer params as "model.layers.<i>.<key>"), for
// suggestions when a path is unknown.
std::vector<std::string> all_paths();

// The largest value an integer field (or an integer inside a size or list
// field) may take: what the C++ type it ends up in holds. Most are `int`
// (2^31 - 1); dataset limits and seeds are 64-bit but kept to 2^53 - 1, so
// they stay exact wherever the value travels as a double (JSON, SQLite, YAML).
int64_t integer_max(const Field& f);
inline constexpr int64_t kIntMax = 2147483647;
inline constexpr int64_t kWideIntMax = 9007199254740991;

// Describe a field's allowed range, e.g. "> 0", "in [0, 1)", ">= 1"; "" if none.
std::string range_text(const Field& f);

}  // namespace sweep::schema
