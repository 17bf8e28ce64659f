// canonical_json(): check a run's JSON against the schema table and return it
// with every default filled in and keys in the table's order. Every error is an
// InputError whose field() is the dotted path of the offending value.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "common/json_text.h"
#include "common/names.h"
#include "config/run_config.h"
#include "config/schema.h"

namespace sweep {

namespace {

using schema::Field;
using schema::Type;

[[noreturn]] void fail(const std::string& path, const std::string& message) { throw InputError(message, {}, path); }

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void check_range(const Field& f, double v, const std::string& path) {
  const bool low = f.min && (f.min_exclusive ? v <= *f.min : v < *f.min);
  const bool high = f.max && (f.max_exclusive ? v >= *f.max : v > *f.max);
  if (low || high) {
    std::ostringstream os;
    os << "must be " << schema::range_text(f) << ", got " << v;
    fail(path, os.str());
  }
}

// A whole number no larger than `max` (the type it ends up in): 2^32 + 1 as a
// batch size must be an error, never a silent truncation to 1.
int64_t as_integer(const json& v, const std::string& path, int64_t max = schema::kIntMax) {
  auto too_large = [&] { fail(path, "must be at most " + std::to_string(max) + ", got " + shown(v)); };
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) too_large();
  if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    if (n > max) too_large();
    return n;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) {
      if (d > static_cast<double>(max)) too_large();
      if (d >= -static_cast<double>(schema::kWideIntMax)) return static_cast<int64_t>(d);
    }
  }
  fail(path, "expected an integer, got '" + shown(v) + "'");
}

json canon_integer(const Field& f, const json& v, const std::string& path) {
  const int64_t n = as_integer(v, path, schema::integer_max(f));
  check_range(f, static_cast<double>(n), path);
  return n;
}

json canon_number(const Field& f, const json& v, const std::string& path) {
  if (!v.is_number()) fail(path, "expected a number, got '" + shown(v) + "'");
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(path, "must be a finite number");
  check_range(f, d, path);
  return d;  // always a float, so 1 and 1.0 hash alike
}

// A size that may be given as n or [h, w]; canonical: n when square.
json canon_int_or_pair(const json& v, const std::string& path) {
  auto positive = [&](const json& x) {
    const int64_t n = as_integer(x, path);
    if (n < 1) fail(path, "must be >= 1, got " + std::to_string(n));
    return n;
  };
  if (v.is_array()) {
    if (v.size() != 2) fail(path, "expected an integer or a pair [h, w], got '" + v.dump() + "'");
    const int64_t h = positive(v[0]), w = positive(v[1]);
    return h == w ? json(h) : json::array({h, w});
  }
  if (!v.is_number()) fail(path, "expected an integer or a pair [h, w], got '" + shown(v) + "'");
  return positive(v);
}

// A list of positive integers; a scalar is kept as is (keep_scalar, for
// builder filters where it means "the same for every block") or wrapped.
json canon_int_list(const json& v, const std::string& path, bool keep_scalar) {
  json out = json::array();
  if (!v.is_array()) {
    if (!v.is_number()) fail(path, "expected a list of integers, got '" + shown(v) + "'");
    const int64_t n = as_integer(v, path);
    if (n < 1) fail(path, "must be >= 1, got " + std::to_string(n));
    return keep_scalar ? json(n) : json::array({n});
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string item = path + "." + std::to_string(i);
    const int64_t n = as_integer(v[i], item);
    if (n < 1) fail(item, "must be >= 1, got " + std::to_string(n));
    out.push_back(n);
  }
  return out;
}

std::string enum_text(const Field& f, const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "expected one of the names for '" + std::string(f.name) + "', got '" + shown(v) + "'");
  const std::string s = v.get<std::string>();
  try {
    if (f.model_enum == "padding") return to_string(padding_from(s));
    if (f.model_enum == "init") return to_string(init_from(s));
  } catch (const InputError& e) {
    fail(path, e.message());
  }
  for (std::string_view c : f.choices)
    if (same_name(s, c)) return std::string(c);
  std::string msg = "unknown value '" + s + "'; expected one of:";
  for (size_t i = 0; i < f.choices.size(); ++i) msg += (i ? ", " : " ") + std::string(f.choices[i]);
  fail(path, msg);
}

// An activation: "relu", or {leaky_relu: 0.1} which also sets `alpha`.
std::string canon_activation(const json& v, const std::string& path, json& alpha_out) {
  std::string name;
  if (v.is_string()) {
    name = v.get<std::string>();
  } else if (v.is_object() && v.size() == 1) {
    name = v.begin().key();
    const json& a = v.begin().value();
    if (!a.is_number()) fail(path + "." + name, "expected a number (the alpha), got '" + shown(a) + "'");
    alpha_out = a.get<double>();
  } else {
    fail(path, "expected an activation name or {name: alpha}, got '" + shown(v) + "'");
  }
  try {
    return to_string(activation_from(name));
  } catch (const InputError& e) {
    fail(path, e.message());
  }
}

bool uses_alpha(const std::string& activation) { return schema::default_alpha(activation).has_value(); }

// Remove the placeholders of derived fields nobody filled in.
void drop_nulls(json& obj) {
  for (auto it = obj.begin(); it != obj.end();) it = it.value().is_null() ? obj.erase(it) : std::next(it);
}

// A layer's alpha: the canonical unused value where its activation takes
// none (so it never changes the hash), else as written ({leaky_relu: 0.1} or
// alpha: 0.1), else that activation's Keras default (elu 1.0, leaky_relu 0.3).
json layer_alpha(const std::string& activation, const json& alpha) {
  const std::optional<double> keras = schema::default_alpha(activation);
  if (!keras) return schema::kUnusedAlpha;
  return alpha.is_null() ? json(*keras) : alpha;
}

json canon_layers(const json& v, const std::string& path);

// Canonicalise one object against the fields of `section`: unknown keys,
// types, ranges, defaults, in the table's key order.
json canon_section(std::string_view section, const json& in, const std::string& path) {
  if (!in.is_null() && !in.is_object()) fail(path, "expected a mapping of keys, got '" + shown(in) + "'");
  const auto fields = schema::fields_of(section);
  if (in.is_object()) {
    for (const auto& [key, value] : in.items())
      if (!schema::find_field(section, key))
        fail(join(path, key), schema::unknown_key_message(key, path, schema::names_of(section)));
  }
  json out = json::object();
  json alpha_from_activation;  // set by {leaky_relu: 0.1}
  std::string alpha_source;
  for (const Field* f : fields) {
    const std::string p = join(path, f->name);
    const bool present = in.is_object() && in.contains(f->name) && !in.at(std::string(f->name)).is_null();
    if (f->type == Type::object) {
      out[std::string(f->name)] = canon_section(std::string(section) + "." + std::string(f->name),
                                               present ? in.at(std::string(f->name)) : json(), p);
      continue;
    }
    if (!present) {
      if (f->default_value.is_null() && !f->derived && f->type != Type::layers) fail(p, "missing required field '" + std::string(f->name) + "'");
      // A derived field gets a null placeholder, so that the caller fills it
      // in at its place in the table's key order (or drops it).
      if (!f->default_value.is_null() || f->derived) out[std::string(f->name)] = f->default_value;
      continue;
    }
    const json& v = in.at(std::string(f->name));
    json c;
    switch (f->type) {
      case Type::integer: c = canon_integer(*f, v, p); break;
      case Type::number: c = canon_number(*f, v, p); break;
      case Type::boolean:
        if (!v.is_boolean()) fail(p, "expected true or false, got '" + shown(v) + "'");
        c = v;
        break;
      case Type::string:
        if (!v.is_string()) fail(p, "expected a string, got '" + shown(v) + "'");
        c = v;
        break;
      case Type::choice: c = enum_text(*f, v, p); break;
      case Type::int_or_pair: c = canon_int_or_pair(v, p); break;
      case Type::int_or_list: c = canon_int_list(v, p, true); break;
      case Type::int_list: c = canon_int_list(v, p, false); break;
      case Type::activation: {
        json alpha;
        c = canon_activation(v, p, alpha);
        if (!alpha.is_null()) {
          if (!alpha_from_activation.is_null() && alpha_from_activation != alpha)
            fail(p, "gives alpha " + alpha.dump() + " but '" + alpha_source + "' gives " + alpha_from_activation.dump());
          alpha_from_activation = alpha, alpha_source = p;
        }
        break;
      }
      case Type::layers: c = canon_layers(v, p); break;
      case Type::object: break;  // handled above
    }
    out[std::string(f->name)] = std::move(c);
  }
  if (!alpha_from_activation.is_null() && out.contains("alpha")) {
    const bool explicit_alpha = in.is_object() && in.contains("alpha") && !in.at("alpha").is_null();
    if (explicit_alpha && out["alpha"] != alpha_from_activation)
      fail(join(path, "alpha"), "is " + out["alpha"].dump() + " but '" + alpha_source + "' gives " + alpha_from_activation.dump());
    out["alpha"] = alpha_from_activation;
  }
  return out;
}

// A layer given as {type: conv2d, filters: 32}, {conv2d: {filters: 32}} or "flatten".
json flat_layer(const json& item, const std::string& path) {
  if (item.is_string()) return json{{"type", item}};
  if (!item.is_object()) fail(path, "expected a layer ({conv2d: {...}} or {type: conv2d, ...}), got '" + shown(item) + "'");
  if (item.contains("type")) return item;
  if (item.size() != 1)
    fail(path, "a layer is {<type>: {params}} with one key, or has a 'type' key; got keys " + item.dump());
  const json& params = item.begin().value();
  if (!params.is_null() && !params.is_object())
    fail(path + "." + item.begin().key(), "expected the layer's parameters as a mapping, got '" + shown(params) + "'");
  json flat{{"type", item.begin().key()}};
  if (params.is_object())
    for (const auto& [k, v] : params.items()) flat[k] = v;
  return flat;
}

json canon_layers(const json& v, const std::string& path) {
  if (!v.is_array()) fail(path, "expected a list of layers, got '" + shown(v) + "'");
  if (v.empty()) fail(path, "needs at least one layer");
  json out = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path + "." + std::to_string(i);
    json layer = flat_layer(v[i], p);
    if (!layer["type"].is_string()) fail(p + ".type", "expected a layer type name, got '" + shown(layer["type"]) + "'");
    const std::string written = layer["type"].get<std::string>();
    std::string type;  // canonical: Conv2D and conv2d are one layer type
    try {
      type = to_string(layer_kind_from(written));
    } catch (const InputError& e) {
      const std::string close = schema::nearest(written, schema::layer_types());
      fail(p + ".type", close.empty() ? e.message() : "unknown layer type '" + written + "'; did you mean '" + close + "'?");
    }
    layer.erase("type");
    json params = canon_section(schema::layer_section(type), layer, p);
    if (params.contains("strides") && params["strides"].is_null()) params.erase("strides");
    if ((type == "maxpool2d" || type == "avgpool2d") && !params.contains("strides")) params["strides"] = params["size"];
    for (const char* activation_key : {"activation", "function"})
      if (params.contains(activation_key) && params.contains("alpha"))
        params["alpha"] = layer_alpha(params[activation_key].get<std::string>(), params["alpha"]);
    json canonical{{"type", type}};
    // Pool strides were appended last; keep the table's order for every layer.
    for (const Field* f : schema::fields_of(schema::layer_section(type)))
      if (params.contains(f->name)) canonical[std::string(f->name)] = params[std::string(f->name)];
    out.push_back(std::move(canonical));
  }
  return out;
}

json canon_builder(const json& in, const std::string& path) {
  json b = canon_section("model.builder", in, path);
  const int64_t depth = b["conv_depth"].get<int64_t>();
  json filters = b["filters"];
  if (filters.is_number()) filters = json::array();
  if (b["filters"].is_number())
    for (int64_t i = 0; i < depth; ++i) filters.push_back(b["filters"]);
  if (static_cast<int64_t>(filters.size()) < depth)
    fail(path + ".filters", "has " + std::to_string(filters.size()) + " entries but conv_depth is " + std::to_string(depth) +
                                "; give one per conv block (a scalar means the same for all; a longer list is truncated)");
  json kept = json::array();
  for (int64_t i = 0; i < depth; ++i) kept.push_back(filters[static_cast<size_t>(i)]);
  b["filters"] = kept;
  if (!b.contains("dense_activation") || b["dense_activation"].is_null()) b["dense_activation"] = b["activation"];
  // Fields added to the builder after runs were recorded are left out at
  // their default: a run's identity is the hash of its canonical config, and a
  // grid that does not use the new field must keep the hashes (and so the
  // finished runs) it had.
  if (b.contains("dense_batch_norm") && b["dense_batch_norm"] == false) b.erase("dense_batch_norm");
  // One alpha serves the conv blocks (activation) and the hidden dense layers
  // (dense_activation). Left out, it is the Keras default of the activation
  // that uses it; when both use one and their defaults differ (elu 1.0,
  // leaky_relu 0.3) no single value is the default, so it must be written.
  const std::string conv_act = b["activation"].get<std::string>(), dense_act = b["dense_activation"].get<std::string>();
  if (!uses_alpha(conv_act) && !uses_alpha(dense_act)) {
    b["alpha"] = schema::kUnusedAlpha;
  } else if (b["alpha"].is_null()) {
    const std::optional<double> conv_alpha = schema::default_alpha(conv_act), dense_alpha = schema::default_alpha(dense_act);
    if (conv_alpha && dense_alpha && *conv_alpha != *dense_alpha) {
      fail(join(path, "alpha"), "activation '" + conv_act + "' and dense_activation '" + dense_act +
                                    "' share one alpha and their Keras defaults differ (" + conv_act + " " +
                                    json(*conv_alpha).dump() + ", " + dense_act + " " + json(*dense_alpha).dump() +
                                    "); give alpha");
    }
    b["alpha"] = conv_alpha ? *conv_alpha : *dense_alpha;
  }
  drop_nulls(b);  // init when not given
  // Keep the table's key order (dense_activation may have been appended).
  json ordered = json::object();
  for (const Field* f : schema::fields_of("model.builder"))
    if (b.contains(f->name) && f->name != "init") ordered[std::string(f->name)] = b[std::string(f->name)];
  if (b.contains("init")) ordered["init"] = b["init"];  // moved to train.init by the caller
  return ordered;
}

json canon_model(const json& in) {
  if (in.is_null()) fail("model", "missing: give model.layers or model.builder");
  if (!in.is_object()) fail("model", "expected a mapping with 'layers' or 'builder', got '" + shown(in) + "'");
  for (const auto& [key, value] : in.items())
    if (key != "layers" && key != "builder") fail("model." + key, schema::unknown_key_message(key, "model", {"layers", "builder"}));
  const bool has_layers = in.contains("layers"), has_builder = in.contains("builder");
  if (has_layers && has_builder) fail("model", "has both 'layers' and 'builder'; give exactly one");
  if (!has_layers && !has_builder) fail("model", "needs 'layers' or 'builder'");
  if (has_layers) return json{{"layers", canon_layers(in["layers"], "model.layers")}};
  return json{{"builder", canon_builder(in["builder"], "model.builder")}};
}

}  // namespace

json canonical_json(const json& config) {
  if (!config.is_object()) fail("", "a run configuration is a mapping with dataset, model and train");
  static const std::vector<std::string> top = {"dataset", "model", "train", "variant"};
  for (const auto& [key, value] : config.items())
    if (std::find(top.begin(), top.end(), key) == top.end()) fail(key, schema::unknown_key_message(key, "", top));
  auto section = [&](const char* key) { return config.contains(key) ? config.at(key) : json(); };
  json out = json::object();
  out["dataset"] = canon_section("dataset", section("dataset"), "dataset");
  if (out["dataset"]["name"].get<std::string>().empty()) fail("dataset.name", "must not be empty");
  json model = canon_model(section("model"));
  out["train"] = canon_section("train", section("train"), "train");
  json& lr = out["train"]["learning_rate"];
  if (lr.is_null()) lr = schema::default_learning_rate(out["train"]["optimizer"].get<std::string>());
  if (model.contains("builder") && model["builder"].contains("init")) {
    const json& raw_train = section("train");
    const json init = model["builder"]["init"];
    model["builder"].erase("init");
    if (raw_train.is_object() && raw_train.contains("init") && out["train"]["init"] != init)
      fail("model.builder.init", "is " + init.dump() + " but train.init is " + out["train"]["init"].dump() + "; give one");
    out["train"]["init"] = init;
  }
  // Fixed order: dataset, model, train, variant.
  json ordered = json::object();
  ordered["dataset"] = std::move(out["dataset"]);
  ordered["model"] = std::move(model);
  ordered["train"] = std::move(out["train"]);
  const json variant = section("variant");
  if (!variant.is_null() && !variant.is_string()) fail("variant", "expected a string, got '" + shown(variant) + "'");
  ordered["variant"] = variant.is_string() ? variant : json("");
  return ordered;
}

}  // namespace sweep
