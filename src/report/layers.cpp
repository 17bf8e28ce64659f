// Model descriptions for the report: layer settings (the Configurations table),
// a one-line architecture, and the Keras-style summaries (Model summaries).
#include <map>

#include "report/sections.h"

namespace sweep::report {
namespace {

const json* find_key(const json& layer, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (layer.contains(k) && !layer.at(k).is_null()) return &layer.at(k);
  return nullptr;
}

// A size given as n, [h, w] or separate <base>_h/<base>_w keys, as "3x3".
std::string size_text(const json& layer, std::initializer_list<const char*> keys, const char* h_key,
                      const char* w_key) {
  if (const json* v = find_key(layer, keys)) {
    if (v->is_array() && v->size() == 2) return value_text(v->at(0)) + "x" + value_text(v->at(1));
    if (v->is_number()) return value_text(*v) + "x" + value_text(*v);
    return value_text(*v);
  }
  if (layer.contains(h_key) && layer.contains(w_key))
    return value_text(layer.at(h_key)) + "x" + value_text(layer.at(w_key));
  return "";
}

std::string keras_type(const std::string& kind) {
  static const std::map<std::string, std::string> names = {
      {"conv2d", "Conv2D"},       {"maxpool2d", "MaxPooling2D"}, {"avgpool2d", "AveragePooling2D"},
      {"batchnorm", "BatchNormalization"}, {"dropout", "Dropout"}, {"flatten", "Flatten"},
      {"dense", "Dense"},         {"activation", "Activation"}};
  auto it = names.find(kind);
  return it == names.end() ? kind : it->second;
}

// The configurations to describe: every one in a full report; in a summary,
// those of the best results (Results' order), then any never finished, up to the limit.
std::vector<const Cell*> shown_cells(const SweepReport& r) {
  std::vector<const Cell*> cells;
  for (const auto& c : r.cells) cells.push_back(&c);
  if (!r.summary || cells.size() <= r.limits.configurations) return cells;
  std::vector<size_t> cell_of(r.sweep.runs.size(), 0);
  for (size_t c = 0; c < r.cells.size(); ++c)
    for (size_t i : r.cells[c].runs) cell_of[i] = c;
  std::vector<bool> taken(r.cells.size(), false);
  std::vector<const Cell*> best;
  for (size_t i : r.ranked)
    if (best.size() < r.limits.configurations && !taken[cell_of[i]]) {
      taken[cell_of[i]] = true;
      best.push_back(&r.cells[cell_of[i]]);
    }
  for (size_t c = 0; c < r.cells.size() && best.size() < r.limits.configurations; ++c)
    if (!taken[c]) best.push_back(&r.cells[c]);
  return best;
}

}  // namespace

LayerSettings layer_settings(const json& layer) {
  LayerSettings s;
  if (!layer.is_object()) return s;
  if (const json* t = find_key(layer, {"type", "kind"})) s.type = keras_type(value_text(*t));
  if (const json* f = find_key(layer, {"filters"})) s.filters = value_text(*f);
  if (s.type == "Conv2D") s.kernel = size_text(layer, {"kernel", "kernel_size"}, "kernel_h", "kernel_w");
  if (s.type == "MaxPooling2D" || s.type == "AveragePooling2D")
    s.pool = size_text(layer, {"size", "pool", "pool_size"}, "pool_h", "pool_w");
  if (const json* u = find_key(layer, {"units"})) s.units = value_text(*u);
  if (s.type == "Dense" || s.type == "Conv2D" || s.type == "Activation")
    if (const json* a = find_key(layer, {"activation", "function"})) {
      s.activation = value_text(*a);
      if (s.activation == "leaky_relu")
        if (const json* alpha = find_key(layer, {"alpha"})) s.activation += cat("(", value_text(*alpha), ")");
    }
  if (s.type == "Dropout")
    if (const json* r = find_key(layer, {"rate"})) s.dropout = value_text(*r);
  return s;
}

std::vector<json> model_layers(const SweepData& sweep, const RunData& run) {
  auto from = [](const json& node) -> std::vector<json> {
    if (node.is_array()) return {node.begin(), node.end()};
    if (node.is_object() && node.contains("layers") && node.at("layers").is_array())
      return {node.at("layers").begin(), node.at("layers").end()};
    return {};
  };
  auto it = sweep.models.find(run.model_hash);
  if (it != sweep.models.end()) {
    auto layers = from(it->second.spec);
    if (!layers.empty()) return layers;
  }
  return run.config.contains("model") ? from(run.config.at("model")) : std::vector<json>{};
}

std::string architecture_text(const std::vector<json>& layers) {
  std::string text;
  for (const auto& layer : layers) {
    const LayerSettings s = layer_settings(layer);
    std::vector<std::string> args;
    for (const std::string* part : {&s.filters, &s.units, &s.kernel, &s.pool, &s.activation, &s.dropout})
      if (!part->empty()) args.push_back(*part);
    std::string item = s.type.empty() ? "?" : s.type;
    if (!args.empty()) {
      item += "(";
      for (size_t i = 0; i < args.size(); ++i) item += (i ? ", " : "") + args[i];
      item += ")";
    }
    text += (text.empty() ? "" : " - ") + item;
  }
  return text;
}

std::vector<std::string> class_names(const SweepData& sweep, int classes) {
  static const char* kFashion[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  bool fashion = false;
  if (!sweep.runs.empty()) fashion = value_of(sweep.runs.front(), "dataset.name") == json("fashion-mnist");
  std::vector<std::string> names;
  for (int i = 0; i < classes; ++i)
    names.push_back(fashion && classes == 10 ? std::to_string(i) + " " + kFashion[i] : std::to_string(i));
  return names;
}

void section_configurations(SweepReport& r) {
  r.md += "## Configurations\n\n";
  r.md += "One block per configuration (runs that differ only in their seed share a block). "
          "Training settings are on the first layer's row.\n\n";
  const std::vector<const Cell*> cells = shown_cells(r);
  if (cells.size() < r.cells.size())
    r.md += "The configurations of the " + std::to_string(cells.size()) + " best results, of " +
            thousands(static_cast<int64_t>(r.cells.size())) + " configurations.\n\n";
  r.md += "| | Filters | Kernel | Activation | Pool | Units | Dropout | Batch | Epochs | Learning rate | Optimizer |\n";
  r.md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Cell* cell_ptr : cells) {
    const Cell& cell = *cell_ptr;
    const RunData& run = r.sweep.runs[cell.runs.front()];
    std::vector<int64_t> run_ids;
    for (size_t i : cell.runs) run_ids.push_back(r.sweep.runs[i].id);
    const std::string ids = r.ids_text(run_ids);
    const std::string label = run_label(r.sweep, run, r.factors);
    r.md += "| **" + std::string(cell.runs.size() > 1 ? "Runs " : "Run ") + ids + "**" +
            (label.empty() ? "" : " (" + md_cell(label) + ")") + " | | | | | | | | | | |\n";
    bool first = true;
    for (const auto& layer : model_layers(r.sweep, run)) {
      const LayerSettings s = layer_settings(layer);
      if (s.type == "Flatten") continue;
      r.md += "| " + s.type + " | " + s.filters + " | " + s.kernel + " | " + s.activation + " | " + s.pool + " | " +
              s.units + " | " + s.dropout + " | ";
      if (first) {
        r.md += value_text(value_of(run, "train.batch_size")) + " | " + value_text(value_of(run, "train.epochs")) +
                " | " + value_text(value_of(run, "train.learning_rate")) + " | " +
                value_text(value_of(run, "train.optimizer")) + " |\n";
        first = false;
      } else {
        r.md += " | | | |\n";
      }
    }
  }
  r.md += "\n";
  if (cells.size() < r.cells.size())
    r.md += r.more_line(r.cells.size() - cells.size(), "configurations are", r.runs_sql("id, varied, config", "", "id"));
}

void section_models(SweepReport& r) {
  r.md += "## Model summaries\n\n";
  std::vector<std::string> order;
  std::map<std::string, std::vector<int64_t>> users;
  for (const auto& run : r.sweep.runs) {
    if (!users.count(run.model_hash)) order.push_back(run.model_hash);
    users[run.model_hash].push_back(run.id);
  }
  const size_t shown = r.summary ? std::min(order.size(), r.limits.models) : order.size();
  if (shown < order.size())
    r.md += "The first " + std::to_string(shown) + " of " + thousands(static_cast<int64_t>(order.size())) +
            " architectures, in run order.\n\n";
  std::map<std::string, const RunData*> first_user;
  for (const auto& run : r.sweep.runs) first_user.emplace(run.model_hash, &run);
  for (size_t index = 1; index <= shown; ++index) {
    const std::string& hash = order[index - 1];
    const auto& ids = users[hash];
    const std::string used = id_list(ids, 12);
    r.md += "### Model " + std::to_string(index) + " (run" + (ids.size() > 1 ? "s " : " ") + used + ")\n\n";
    auto it = r.sweep.models.find(hash);
    const RunData* run = first_user.at(hash);
    if (run) r.md += cat("`", architecture_text(model_layers(r.sweep, *run)), "`\n\n");
    if (it == r.sweep.models.end()) {
      r.md += "(No layer summary stored for this model.)\n\n";
      continue;
    }
    const ModelData& m = it->second;
    if (!m.layers.empty()) {
      r.md += "| Layer (type) | Output Shape | Param # |\n|---|---|---:|\n";
      for (const auto& l : m.layers)
        r.md += "| " + md_cell(l.name) + " (" + md_cell(l.type) + ") | " + md_cell(l.output_shape) + " | " +
                thousands(l.trainable + l.non_trainable) + " |\n";
      r.md += "\n";
    }
    r.md += "Total params: " + thousands(m.trainable + m.non_trainable) + "  \nTrainable params: " +
            thousands(m.trainable) + "  \nNon-trainable params: " + thousands(m.non_trainable) + "\n\n";
  }
  if (shown < order.size())
    r.md += r.more_line(order.size() - shown, "architectures are",
                        "SELECT hash, spec, params_trainable + params_non_trainable AS params FROM models WHERE hash IN (" +
                            r.runs_sql("model_hash", "", "id") + ")");
}

}  // namespace sweep::report
