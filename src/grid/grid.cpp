// Stage 1 of a grid: read the YAML and check its structure (top-level keys,
// variants, zip, exclude, include, search). Field values are checked per run
// by the schema in stage 2 (src/expand), which maps errors back to the file.
#include "grid/grid.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/hash.h"
#include "common/json_text.h"
#include "common/names.h"
#include "config/schema.h"
#include "expand/expand.h"
#include "grid/grid_spec.h"
#include "grid/ranges.h"

namespace sweep {

namespace {

const std::vector<std::string> kTopLevelKeys = {"name",    "description", "dataset", "model",    "train", "repeats",
                                                "zip",     "exclude",     "include", "variants", "search",
                                                "reference"};  // write-up figures `sweep report` compares with; not expanded
const std::vector<std::string> kVariantKeys = {"name", "description", "dataset", "model", "train"};

struct Reader {
  GridSpec& g;

  [[noreturn]] void fail(const std::string& tree_path, const std::string& message) {
    throw InputError(message, g.tree.nearest(tree_path), tree_path);
  }

  void check_keys(const json& obj, const std::string& path, const std::vector<std::string>& valid) {
    for (const auto& [key, value] : obj.items())
      if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
        const std::string child = join_path(path, key);
        const auto it = g.tree.key_at.find(child);
        throw InputError(schema::unknown_key_message(key, path, valid),
                         it != g.tree.key_at.end() ? it->second : g.tree.nearest(child), child);
      }
  }

  const json& mapping(const json& v, const std::string& path) {
    if (!v.is_object()) fail(path, "expected a mapping, got '" + shown(v) + "'");
    return v;
  }
  const json& list(const json& v, const std::string& path) {
    if (!v.is_array()) fail(path, "expected a list, got '" + shown(v) + "'");
    return v;
  }
  // A whole number in [min, max] (max: what the C++ type it goes into holds).
  int64_t integer(const json& v, const std::string& path, int64_t min, int64_t max) {
    if (!v.is_number_integer()) fail(path, "expected an integer, got '" + shown(v) + "'");
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max))
      fail(path, "must be at most " + std::to_string(max) + ", got " + v.dump());
    const int64_t n = v.get<int64_t>();
    if (n < min) fail(path, "must be >= " + std::to_string(min) + ", got " + std::to_string(n));
    if (n > max) fail(path, "must be at most " + std::to_string(max) + ", got " + std::to_string(n));
    return n;
  }
  std::string string(const json& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a string, got '" + shown(v) + "'");
    return v.get<std::string>();
  }

  // {conv2d: {filters: 32}} and "flatten" -> {type: ..., params...}, so every
  // layer parameter has the path model.layers.<i>.<param>.
  void normalize_layers(json& layers, const std::string& path) {
    if (!layers.is_array()) return;
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string item_path = join_path(path, std::to_string(i));
      json& item = layers[i];
      if (item.is_array()) {  // a list of layer stacks: an axis over architectures
        normalize_layers(item, item_path);
      } else if (item.is_string()) {
        g.tree.value_at[item_path + ".type"] = g.tree.nearest(item_path);
        item = json{{"type", item}};
      } else if (item.is_object() && !item.contains("type") && item.size() == 1 &&
                 (item.begin().value().is_object() || item.begin().value().is_null())) {
        const std::string type = item.begin().key();
        const std::string type_path = item_path + "." + type;
        const SourceLocation type_loc = g.tree.key_at.count(type_path) ? g.tree.key_at[type_path] : g.tree.nearest(item_path);
        json flat{{"type", type}};
        if (item.begin().value().is_object())
          for (const auto& [k, v] : item.begin().value().items()) flat[k] = v;
        item = std::move(flat);
        const SourceLocation item_loc = g.tree.nearest(item_path);  // errors about the whole layer point here
        g.tree.move_locations(type_path, item_path);
        g.tree.value_at[item_path] = item_loc;
        g.tree.value_at[item_path + ".type"] = type_loc;
      }
    }
  }

  void normalize_model(json& section, const std::string& path) {
    if (section.is_object() && section.contains("model") && section["model"].is_object() &&
        section["model"].contains("layers"))
      normalize_layers(section["model"]["layers"], join_path(path, "model.layers"));
  }

  std::vector<std::string> path_list(const json& v, const std::string& path, const char* role) {
    std::vector<std::string> out;
    for (size_t k = 0; k < list(v, path).size(); ++k) {
      const std::string item = join_path(path, std::to_string(k));
      out.push_back(string(v[k], item));
      check_field_path(out.back(), g.tree.nearest(item), role);
    }
    return out;
  }

  // exclude / include: a list of {path: value} mappings.
  json cell_list(const json& v, const std::string& path, const char* role) {
    for (size_t i = 0; i < list(v, path).size(); ++i) {
      const std::string item = join_path(path, std::to_string(i));
      if (mapping(v[i], item).empty()) fail(item, std::string(role) + " entry is empty");
      for (const auto& [key, value] : v[i].items()) {
        const std::string key_path = join_path(item, key);
        check_field_path(key, g.tree.key_at.count(key_path) ? g.tree.key_at[key_path] : g.tree.nearest(key_path), role);
        if (key == "variant") string(value, key_path);
      }
    }
    return v;
  }

  void read_variants(const json& v) {
    std::set<std::string> names;
    for (size_t i = 0; i < list(v, "variants").size(); ++i) {
      const std::string path = "variants." + std::to_string(i);
      check_keys(mapping(v[i], path), path, kVariantKeys);
      if (!v[i].contains("name")) fail(path, "a variant needs a 'name'");
      const std::string name = string(v[i]["name"], path + ".name");
      if (name.empty()) fail(path + ".name", "a variant name must not be empty");
      if (!names.insert(name).second) fail(path + ".name", "duplicate variant name '" + name + "'");
      json override_config = json::object();
      for (const char* section : {"dataset", "model", "train"})
        if (v[i].contains(section) && !v[i][section].is_null()) {
          override_config[section] = mapping(v[i][section], path + "." + section);
          reject_empty_values(v[i][section], section, path + "." + section);
        }
      g.variants.push_back(GridVariant{name, std::move(override_config), path});
    }
  }

  // A pruning rule's name (the value of search.strategy, or search.pruner
  // with strategy: tpe) into g.pruning; false when it names none.
  bool read_pruning_rule(const std::string& written, const std::string& path) {
    using S = PruningSpec::Strategy;
    const std::vector<std::pair<std::string, S>> rules = {
        {"asha", S::asha}, {"successive_halving", S::asha}, {"hyperband", S::hyperband}, {"median", S::median}};
    const auto rule = std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return same_name(written, r.first); });
    if (rule == rules.end()) return false;
    g.pruning.strategy = rule->second;
    g.pruning.strategy_name = rule->first;
    g.pruning.at = g.tree.nearest(path);
    return true;
  }

  // search.strategy: random (the default: search.samples random draws from
  // search.space), a pruning rule (grid/search_spec.h) over the grid's cells
  // and any random draws, or tpe (search.trials proposed from the results so
  // far, optionally pruned by search.pruner). Each setting is refused where
  // its strategy is not chosen.
  void read_strategy(const json& s) {
    const std::string written = s.contains("strategy") ? string(s["strategy"], "search.strategy") : "random";
    g.tpe.active = same_name(written, "tpe");
    g.tpe.at = g.tree.nearest("search.strategy");
    if (!g.tpe.active && !same_name(written, "random") && !read_pruning_rule(written, "search.strategy"))
      fail("search.strategy", "unknown value '" + written + "'; expected one of: random, tpe, asha, successive_halving, "
                              "hyperband, median");
    if (s.contains("pruner")) {
      if (!g.tpe.active)
        fail("search.pruner", "'pruner' goes with strategy: tpe; to prune random or grid runs, write the rule as "
                              "the strategy (strategy: asha)");
      const std::string rule = string(s["pruner"], "search.pruner");
      if (!read_pruning_rule(rule, "search.pruner"))
        fail("search.pruner", "unknown value '" + rule + "'; expected one of: asha, successive_halving, hyperband, median");
    }
    PruningSpec& p = g.pruning;
    for (const char* key : {"min_epochs", "max_epochs", "reduction_factor", "startup_runs"})
      if (s.contains(key) && !p.active())
        fail(std::string("search.") + key, std::string("'") + key + "' is a setting of a pruning rule; add "
                                           "strategy: asha, hyperband or median to 'search' (or pruner: with strategy: tpe)");
    for (const char* key : {"trials", "startup_trials", "batch"})
      if (s.contains(key) && !g.tpe.active)
        fail(std::string("search.") + key, std::string("'") + key + "' is a setting of strategy: tpe");
    if (s.contains("metric")) {
      if (!p.active() && !g.tpe.active)
        fail("search.metric", "'metric' is what a pruning rule or tpe watches; add strategy: tpe, asha, hyperband or "
                              "median to 'search'");
      const std::string metric = string(s["metric"], "search.metric");
      p.metric.clear();
      for (const char* m : {"val_accuracy", "val_loss", "accuracy", "loss"})
        if (same_name(metric, m)) p.metric = m;
      if (p.metric.empty())
        fail("search.metric", "unknown value '" + metric + "'; expected one of: val_accuracy, val_loss, accuracy, loss");
    }
    if (!p.active()) return;
    if (s.contains("min_epochs")) p.min_epochs = static_cast<int>(integer(s["min_epochs"], "search.min_epochs", 1, 1 << 20));
    if (s.contains("reduction_factor"))
      p.reduction_factor = static_cast<int>(integer(s["reduction_factor"], "search.reduction_factor", 2, 1 << 20));
    if (s.contains("startup_runs")) {
      if (p.strategy != PruningSpec::Strategy::median)
        fail("search.startup_runs", "'startup_runs' is a setting of the median rule");
      p.startup_runs = static_cast<int>(integer(s["startup_runs"], "search.startup_runs", 0, 1 << 20));
    }
    if (s.contains("max_epochs")) {
      // The epochs every run trains unless pruned: train.epochs, set here
      // once so that the grid cannot say two things.
      const int64_t max = integer(s["max_epochs"], "search.max_epochs", 1, 1 << 20);
      if (g.base.contains("train") && g.base["train"].contains("epochs"))
        fail("search.max_epochs", "search.max_epochs and train.epochs both set the runs' epochs; give one");
      for (const GridVariant& v : g.variants)
        if (v.override_config.contains("train") && v.override_config["train"].contains("epochs"))
          fail(v.doc_path + ".train.epochs", "variant sets train.epochs, but search.max_epochs sets every run's epochs");
      g.base["train"]["epochs"] = max;
      g.tree.value_at["train.epochs"] = g.tree.value_at["search.max_epochs"];
    }
  }

  void read_search(const json& s) {
    check_keys(mapping(s, "search"), "search",
               {"strategy", "samples", "seed", "space", "metric", "min_epochs", "max_epochs", "reduction_factor",
                "startup_runs", "pruner", "trials", "startup_trials", "batch"});
    read_strategy(s);
    // A pruning rule may run over the grid's own cells, without random draws.
    if (g.pruning.active() && !g.tpe.active && !s.contains("samples") && !s.contains("space")) {
      if (s.contains("seed")) fail("search.seed", "'seed' seeds the random draws of 'samples' and 'space'; give those too");
      return;
    }
    if (g.tpe.active) {
      if (s.contains("samples"))
        fail("search.samples", "strategy: tpe tries 'trials' configurations (the first 'startup_trials' drawn at "
                               "random), not 'samples'");
      if (!s.contains("trials")) fail("search", "strategy: tpe needs 'trials' (how many configurations to try)");
      g.tpe.trials = static_cast<int>(integer(s["trials"], "search.trials", 1, static_cast<int64_t>(kMaxRuns)));
      g.tpe.startup_trials = std::min(10, g.tpe.trials);  // Optuna's n_startup_trials
      if (s.contains("startup_trials"))
        g.tpe.startup_trials = static_cast<int>(integer(s["startup_trials"], "search.startup_trials", 1, g.tpe.trials));
      if (s.contains("batch")) g.tpe.batch = static_cast<int>(integer(s["batch"], "search.batch", 1, 1024));
      g.search_samples = g.tpe.startup_trials;  // the random startup trials, drawn as samples are
    } else {
      if (!s.contains("samples")) fail("search", "search needs 'samples' (how many random configurations)");
      // At most the runs a grid may have at all (kMaxRuns): drawing more would only
      // fill memory before the expansion refuses them.
      g.search_samples = static_cast<int>(integer(s["samples"], "search.samples", 1, static_cast<int64_t>(kMaxRuns)));
    }
    if (s.contains("seed")) g.search_seed = static_cast<uint64_t>(integer(s["seed"], "search.seed", 0, schema::kWideIntMax));
    if (!s.contains("space") || mapping(s["space"], "search.space").empty()) fail("search", "search needs a non-empty 'space'");
    for (const auto& [path, dist] : s["space"].items()) {
      const std::string p = "search.space." + path;
      check_field_path(path, g.tree.key_at.count(p) ? g.tree.key_at[p] : g.tree.nearest(p), "search.space");
      if (!dist.is_object() || dist.size() != 1)
        fail(p, "expected one distribution: {uniform: [lo, hi]}, {log_uniform: [lo, hi]}, {int_uniform: [lo, hi]} or {choice: [...]}");
      const std::string kind = dist.begin().key();
      const json& args = dist.begin().value();
      const std::string ap = p + "." + kind;
      if (kind == "choice") {
        if (list(args, ap).empty()) fail(ap, "choice needs at least one value");
      } else if (kind == "uniform" || kind == "log_uniform" || kind == "int_uniform") {
        if (!args.is_array() || args.size() != 2 || !args[0].is_number() || !args[1].is_number())
          fail(ap, kind + " needs [lo, hi], got '" + shown(args) + "'");
        if (kind == "int_uniform" && (!args[0].is_number_integer() || !args[1].is_number_integer()))
          fail(ap, "int_uniform needs integer bounds, got '" + args.dump() + "'");
        if (args[0].get<double>() > args[1].get<double>()) fail(ap, "lo must not exceed hi, got '" + args.dump() + "'");
        if (kind == "log_uniform" && args[0].get<double>() <= 0) fail(ap, "log_uniform needs lo > 0, got '" + args.dump() + "'");
      } else {
        fail(p + "." + kind, schema::unknown_key_message(kind, p, {"uniform", "log_uniform", "int_uniform", "choice"}));
      }
      g.search_space.push_back(SearchDimension{path, kind, args});
    }
  }

  // reference: the write-up's figures that `sweep report` sets beside ours;
  // it does not change the runs, but its paths and numbers are checked here.
  void read_reference(const json& r) {
    check_keys(mapping(r, "reference"), "reference", {"source", "results"});
    if (r.contains("source")) string(r["source"], "reference.source");
    if (!r.contains("results")) return;
    for (size_t i = 0; i < list(r["results"], "reference.results").size(); ++i) {
      const std::string item = "reference.results." + std::to_string(i);
      check_keys(mapping(r["results"][i], item), item, {"label", "match", "test_accuracy", "test_loss", "note"});
      const json& result = r["results"][i];
      if (!result.contains("match")) fail(item, "a reference result needs 'match' (the field values of the run it describes)");
      for (const auto& [key, value] : mapping(result["match"], item + ".match").items()) {
        const std::string key_path = item + ".match." + key;
        check_field_path(key, g.tree.key_at.count(key_path) ? g.tree.key_at[key_path] : g.tree.nearest(key_path), "reference");
      }
      for (const char* metric : {"test_accuracy", "test_loss"})
        if (result.contains(metric) && !result[metric].is_number())
          fail(item + "." + metric, "expected a number, got '" + shown(result[metric]) + "'");
    }
  }

  // An explicit empty value (`epochs:` or `epochs: ~`) is an error, never the
  // default in disguise: a value the user meant to write is missing. Only
  // sections (`train:`, `hog:`) may be empty; they mean "all defaults".
  // `config_path` is the run-config path ("train.epochs"), `tree_path` where
  // it is written ("variants.1.train.epochs").
  void reject_empty_values(const json& v, const std::string& config_path, const std::string& tree_path) {
    if (v.is_object()) {
      for (const auto& [key, child] : v.items())
        reject_empty_values(child, join_path(config_path, key), join_path(tree_path, key));
      return;
    }
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        reject_empty_values(v[i], join_path(config_path, std::to_string(i)), join_path(tree_path, std::to_string(i)));
      return;
    }
    if (!v.is_null()) return;
    const schema::Field* f = schema::field_at(config_path);
    if (f && f->type == schema::Type::object) return;
    if (!f) {  // an element of an axis list, or of a list-valued field
      const size_t dot = config_path.rfind('.');
      const std::string parent = dot == std::string::npos ? "" : config_path.substr(0, dot);
      if (!schema::field_at(parent)) return;  // not a field at all: the schema check names it
      fail(tree_path, "an empty value in '" + parent + "': write a value or remove the item");
    }
    std::string message = "'" + std::string(f->name) + "' has no value: write one, or leave the key out";
    if (!f->default_value.is_null()) message += " to get the default (" + shown(f->default_value) + ")";
    else if (!f->default_text.empty()) message += " to get the default (" + std::string(f->default_text) + ")";
    else if (f->derived) message += " to derive it from the other fields";
    else message += " (it is required)";
    // At the key: an empty value has no place of its own (yaml-cpp marks the
    // token after it, often the next line).
    const auto key = g.tree.key_at.find(tree_path);
    if (key != g.tree.key_at.end()) throw InputError(message, key->second, tree_path);
    fail(tree_path, message);
  }

  void read() {
    json& root = g.tree.root;
    if (root.is_null()) fail("", "the grid is empty: expected a mapping with dataset, model and train");
    mapping(root, "");
    check_keys(root, "", kTopLevelKeys);
    g.name = root.contains("name") ? string(root["name"], "name") : std::filesystem::path(g.path).stem().string();
    if (g.name.empty()) fail("name", "the sweep name must not be empty");
    if (root.contains("description") && !root["description"].is_null()) g.description = string(root["description"], "description");
    normalize_model(root, "");
    if (root.contains("variants") && root["variants"].is_array())
      for (size_t i = 0; i < root["variants"].size(); ++i) normalize_model(root["variants"][i], "variants." + std::to_string(i));
    // Ranges become lists first: from here on an axis is a list, however written.
    for (const char* section : {"dataset", "model", "train"})
      if (root.contains(section)) expand_ranges(root[section], section, g.tree);
    if (root.contains("variants") && root["variants"].is_array())
      for (size_t i = 0; i < root["variants"].size(); ++i)
        for (const char* section : {"dataset", "model", "train"})
          if (root["variants"][i].is_object() && root["variants"][i].contains(section))
            expand_ranges(root["variants"][i][section], "variants." + std::to_string(i) + "." + section, g.tree);
    g.base = json::object();
    for (const char* section : {"dataset", "model", "train"})
      if (root.contains(section) && !root[section].is_null()) {
        g.base[section] = mapping(root[section], section);
        reject_empty_values(root[section], section, section);
      }
    if (root.contains("repeats")) g.repeats = static_cast<int>(integer(root["repeats"], "repeats", 1, static_cast<int64_t>(kMaxRuns)));
    if (root.contains("zip"))
      for (size_t i = 0; i < list(root["zip"], "zip").size(); ++i)
        g.zip.push_back(path_list(root["zip"][i], "zip." + std::to_string(i), "zip"));
    if (root.contains("exclude")) g.exclude = cell_list(root["exclude"], "exclude", "exclude");
    if (root.contains("include")) g.include = cell_list(root["include"], "include", "include");
    if (root.contains("variants")) read_variants(root["variants"]);
    if (root.contains("search")) read_search(root["search"]);
    if (root.contains("reference")) read_reference(root["reference"]);
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read the grid file (missing or unreadable)", SourceLocation{path, 0, 0});
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void check_field_path(const std::string& path, const SourceLocation& where, const std::string& role) {
  if (path == "variant" || schema::field_at(path)) return;
  // Compare layer parameters with their index written as <i>.
  std::string generic = path;
  const std::string layers = "model.layers.";
  if (generic.starts_with(layers)) {
    const size_t dot = generic.find('.', layers.size());
    if (dot != std::string::npos) generic = layers + "<i>" + generic.substr(dot);
  }
  std::vector<std::string> valid = schema::all_paths();
  valid.push_back("variant");
  std::string message = role + " names unknown field '" + path + "'";
  std::string close = schema::nearest(generic, valid);
  if (!close.empty() && close.starts_with(layers) && generic != path) close = path.substr(0, path.find('.', layers.size())) + close.substr(close.rfind('.'));
  if (!close.empty()) message += "; did you mean '" + close + "'?";
  else message += " (fields are dotted paths such as 'train.learning_rate' or 'model.layers.0.kernel')";
  throw InputError(message, where, path);
}

GridSpec read_grid(const std::string& yaml_text, const std::string& path) {
  GridSpec g;
  g.path = path;
  g.text = yaml_text;
  g.tree = read_yaml(yaml_text, path);
  Reader{g}.read();
  return g;
}

ExpandedGrid parse_grid(const std::string& yaml_text, const std::string& path) {
  ExpandedGrid grid = expand_grid(read_grid(yaml_text, path));
  grid.fingerprint = grid_fingerprint(yaml_text, path);
  return grid;
}

ExpandedGrid load_grid(const std::string& path) { return parse_grid(read_file(path), path); }

std::string read_grid_file(const std::string& path) { return read_file(path); }

std::string grid_fingerprint(const std::string& yaml_text, const std::string& path) {
  const std::string key = std::string(SWEEP_VERSION) + '\0' + SWEEP_EXPANSION_CODE + '\0' +
                          std::filesystem::path(path).stem().string() + '\0' + yaml_text;
  return hex64(fnv1a64(key));
}

}  // namespace sweep
