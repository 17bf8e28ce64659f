#include "config/schema.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "model/model.h"

namespace sweep::schema {

namespace {

// Builds the table in canonical order: the order here is the key order of
// every canonical JSON, so appending is safe but reordering changes hashes.
struct TableBuilder {
  std::vector<Field> fields;
  Field& add(std::string_view section, std::string_view name, Type type, json def, std::string_view doc) {
    Field f{section, name, type, std::move(def), std::nullopt, std::nullopt, false, false, {}, {}, false, doc, {}};
    fields.push_back(std::move(f));
    return fields.back();
  }
};

Field& at_least(Field& f, double lo) { f.min = lo; return f; }
Field& above(Field& f, double lo) { f.min = lo; f.min_exclusive = true; return f; }
// [0, 1): fractions such as dropout rates and the validation split.
Field& unit_fraction(Field& f) { f.min = 0; f.max = 1; f.max_exclusive = true; return f; }
Field& choice(Field& f, std::vector<std::string_view> choices) { f.type = Type::choice; f.choices = std::move(choices); return f; }
Field& model_enum(Field& f, std::string_view which) { f.type = Type::choice; f.model_enum = which; return f; }
// No fixed default: canonical.cpp fills it from the field it depends on.
Field& derived(Field& f, std::string_view default_text) { f.derived = true; f.default_text = default_text; return f; }

constexpr std::string_view kAlphaDefaults = "1.0 (elu), 0.3 (leaky_relu)";
constexpr std::string_view kLearningRateDefaults = "0.01 (sgd), 0.001 (adam, rmsprop)";

void add_layer_fields(TableBuilder& t) {
  auto activation_fields = [&](std::string_view s) {
    t.add(s, "activation", Type::activation, "linear", "fused activation: a name, or {leaky_relu: 0.1}");
    derived(t.add(s, "alpha", Type::number, nullptr, "leaky_relu slope / elu alpha"), kAlphaDefaults);
    t.add(s, "use_bias", Type::boolean, true, "add a bias");
  };
  at_least(t.add("layer.conv2d", "filters", Type::integer, nullptr, "output channels"), 1);
  t.add("layer.conv2d", "kernel", Type::int_or_pair, 3, "kernel size: 3 or [3, 3]");
  t.add("layer.conv2d", "strides", Type::int_or_pair, 1, "strides: 1 or [h, w]");
  model_enum(t.add("layer.conv2d", "padding", Type::choice, "valid", "valid | same"), "padding");
  activation_fields("layer.conv2d");
  for (std::string_view s : {"layer.maxpool2d", "layer.avgpool2d"}) {
    t.add(s, "size", Type::int_or_pair, 2, "pool size: 2 or [2, 2]");
    t.add(s, "strides", Type::int_or_pair, nullptr, "default: the pool size").derived = true;
  }
  unit_fraction(t.add("layer.batchnorm", "momentum", Type::number, 0.99, "moving-average momentum"));
  above(t.add("layer.batchnorm", "epsilon", Type::number, 1e-3, "added to the variance"), 0);
  unit_fraction(t.add("layer.dropout", "rate", Type::number, nullptr, "fraction of units dropped, in [0, 1)"));
  at_least(t.add("layer.dense", "units", Type::integer, nullptr, "output units"), 1);
  activation_fields("layer.dense");
  t.add("layer.activation", "function", Type::activation, nullptr, "the activation function");
  derived(t.add("layer.activation", "alpha", Type::number, nullptr, "leaky_relu slope / elu alpha"), kAlphaDefaults);
}

std::vector<Field> build_table() {
  TableBuilder t;
  // dataset
  t.add("dataset", "name", Type::string, "mnist", "dataset folder under the data dir");
  t.add("dataset", "dir", Type::string, "", "data directory (default $SWEEP_DATA_DIR, then data/)");
  choice(t.add("dataset", "transform", Type::choice, "raw", "raw pixels or HOG features"), {"raw", "hog"});
  t.add("dataset", "hog", Type::object, nullptr, "HOG feature parameters");
  auto& ppc = at_least(t.add("dataset.hog", "pixels_per_cell", Type::integer, 4, "cell size in pixels"), 1);
  ppc.max = 28;
  at_least(t.add("dataset.hog", "orientations", Type::integer, 8, "gradient orientation bins"), 1);
  unit_fraction(t.add("dataset", "validation_split", Type::number, 0.1, "last fraction of training set held out"));
  at_least(t.add("dataset", "train_limit", Type::integer, 0, "first N training images (0 = all)"), 0);
  at_least(t.add("dataset", "test_limit", Type::integer, 0, "first N test images (0 = all)"), 0);

  // model: exactly one of layers / builder (checked in code)
  t.add("model", "layers", Type::layers, nullptr, "Keras-like layer list");
  t.add("model", "builder", Type::object, nullptr, "compact conv-net description");
  const std::string_view b = "model.builder";
  at_least(t.add(b, "conv_depth", Type::integer, 2, "number of conv blocks"), 0);
  t.add(b, "filters", Type::int_or_list, 32, "filters per block (a scalar: the same for all)");
  t.add(b, "kernel", Type::int_or_pair, 3, "conv kernel size");
  model_enum(t.add(b, "padding", Type::choice, "valid", "valid | same"), "padding");
  t.add(b, "activation", Type::activation, "relu", "hidden activation");
  derived(t.add(b, "alpha", Type::number, nullptr, "leaky_relu slope / elu alpha (shared by activation and dense_activation)"),
          kAlphaDefaults);
  t.add(b, "dense_activation", Type::activation, nullptr, "activation of hidden dense layers (default: activation)")
      .derived = true;
  choice(t.add(b, "pool", Type::choice, "max", "pooling after conv blocks"), {"max", "avg", "none"});
  t.add(b, "pool_size", Type::int_or_pair, 2, "pool size");
  at_least(t.add(b, "pool_every", Type::integer, 1, "pool after every n-th conv block"), 1);
  t.add(b, "pool_last", Type::boolean, true, "pool after the last conv block too");
  t.add(b, "batch_norm", Type::boolean, false, "BatchNormalization after each conv");
  unit_fraction(t.add(b, "dropout", Type::number, 0.0, "dropout after each conv block"));
  t.add(b, "dense", Type::int_list, json::array({64}), "hidden dense units");
  t.add(b, "dense_batch_norm", Type::boolean, false, "BatchNormalization after each hidden dense");
  unit_fraction(t.add(b, "dense_dropout", Type::number, 0.0, "dropout after each hidden dense (after Flatten without one)"));
  choice(t.add(b, "output_activation", Type::choice, "softmax", "output activation"), {"softmax", "sigmoid"});
  model_enum(t.add(b, "init", Type::choice, nullptr, "same as train.init (moved there)"), "init").derived = true;
  add_layer_fields(t);

  // train
  choice(t.add("train", "optimizer", Type::choice, "adam", "optimizer"), {"sgd", "adam", "rmsprop"});
  derived(above(t.add("train", "learning_rate", Type::number, nullptr, "learning rate"), 0), kLearningRateDefaults);
  unit_fraction(t.add("train", "momentum", Type::number, 0.0, "sgd / rmsprop momentum"));
  t.add("train", "nesterov", Type::boolean, false, "sgd Nesterov momentum");
  unit_fraction(t.add("train", "beta_1", Type::number, 0.9, "adam beta_1"));
  unit_fraction(t.add("train", "beta_2", Type::number, 0.999, "adam beta_2"));
  above(t.add("train", "epsilon", Type::number, 1e-7, "adam / rmsprop epsilon"), 0);
  unit_fraction(t.add("train", "rho", Type::number, 0.9, "rmsprop decay"));
  at_least(t.add("train", "epochs", Type::integer, 5, "epochs"), 1);
  at_least(t.add("train", "batch_size", Type::integer, 32, "batch size"), 1);
  at_least(t.add("train", "seed", Type::integer, 0, "training seed (repeat r uses seed + r)"), 0);
  model_enum(t.add("train", "init", Type::choice, "glorot_uniform", "kernel initialiser"), "init");
  choice(t.add("train", "precision", Type::choice, "fp32", "fp32 | bf16"), {"fp32", "bf16"});
  t.add("train", "early_stopping", Type::object, nullptr, "stop when the monitored metric stalls");
  choice(t.add("train.early_stopping", "monitor", Type::choice, "val_loss", "metric"),
         {"val_loss", "val_accuracy", "loss", "accuracy"});
  at_least(t.add("train.early_stopping", "patience", Type::integer, 0, "epochs without improvement (0 = off)"), 0);
  at_least(t.add("train.early_stopping", "min_delta", Type::number, 0.0, "smallest improvement"), 0);
  return std::move(t.fields);
}

const std::vector<Field>& table() {
  static const std::vector<Field> fields = build_table();
  return fields;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

bool is_index(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

double default_learning_rate(std::string_view optimizer) { return optimizer == "sgd" ? 0.01 : 0.001; }

std::optional<double> default_alpha(std::string_view activation) {
  if (activation == "elu") return 1.0;
  if (activation == "leaky_relu") return 0.3;
  return std::nullopt;
}

std::vector<const Field*> fields_of(std::string_view section) {
  std::vector<const Field*> out;
  for (const Field& f : table())
    if (f.section == section) out.push_back(&f);
  return out;
}

const Field* find_field(std::string_view section, std::string_view name) {
  for (const Field& f : table())
    if (f.section == section && f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> names_of(std::string_view section) {
  std::vector<std::string> out;
  for (const Field* f : fields_of(section)) out.emplace_back(f->name);
  return out;
}

std::string nearest(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;  // "close": a typo or two
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(name, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

std::string unknown_key_message(std::string_view key, std::string_view where, const std::vector<std::string>& valid) {
  std::string msg = "unknown key '" + std::string(key) + "'";
  if (!where.empty()) msg += " in '" + std::string(where) + "'";
  const std::string close = nearest(key, valid);
  if (!close.empty()) {
    msg += "; did you mean '" + close + "'?";
  } else {
    msg += "; expected one of:";
    for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : " ") + valid[i];
  }
  return msg;
}

std::string layer_section(std::string_view type) {
  return "layer." + std::string(type);
}

std::vector<std::string> layer_types() {
  std::vector<std::string> out;
  for (LayerKind k : {LayerKind::conv2d, LayerKind::maxpool2d, LayerKind::avgpool2d, LayerKind::batchnorm,
                      LayerKind::dropout, LayerKind::flatten, LayerKind::dense, LayerKind::activation})
    out.emplace_back(to_string(k));
  return out;
}

bool is_list_type(Type type) {
  return type == Type::int_or_pair || type == Type::int_or_list || type == Type::int_list || type == Type::layers;
}

const Field* field_at(std::string_view dotted_path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted_path.find('.', start);
    parts.push_back(dotted_path.substr(start, dot == std::string_view::npos ? dotted_path.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // model.layers.<i>.<key>: any layer type that has the key.
  if (parts.size() == 4 && parts[0] == "model" && parts[1] == "layers" && is_index(parts[2])) {
    for (const std::string& type : layer_types())
      if (const Field* f = find_field(layer_section(type), parts[3])) return f;
    return nullptr;
  }
  if (parts.size() < 2) return nullptr;
  std::string section(parts[0]);
  for (size_t i = 1; i + 1 < parts.size(); ++i) {
    section += '.';
    section += parts[i];
  }
  return find_field(section, parts.back());
}

std::vector<std::string> all_paths() {
  std::vector<std::string> out;
  for (const Field& f : table()) {
    if (f.type == Type::object || f.type == Type::layers) continue;
    if (f.section.starts_with("layer.")) {
      const std::string p = "model.layers.<i>." + std::string(f.name);
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    } else {
      out.push_back(std::string(f.section) + "." + std::string(f.name));
    }
  }
  return out;
}

int64_t integer_max(const Field& f) {
  if (f.max) return static_cast<int64_t>(*f.max);
  const bool wide = f.name == "seed" || (f.section == "dataset" && f.name.ends_with("_limit"));
  return wide ? kWideIntMax : kIntMax;
}

std::string range_text(const Field& f) {
  if (f.min && f.max)
    return std::string("in ") + (f.min_exclusive ? "(" : "[") + number_text(*f.min) + ", " + number_text(*f.max) +
           (f.max_exclusive ? ")" : "]");
  if (f.min) return std::string(f.min_exclusive ? "> " : ">= ") + number_text(*f.min);
  if (f.max) return std::string(f.max_exclusive ? "< " : "<= ") + number_text(*f.max);
  return {};
}

}  // namespace sweep::schema
