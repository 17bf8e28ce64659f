#include "report/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace sweep::report {
namespace {

std::string last_part(const std::string& field) {
  const auto dot = field.rfind('.');
  return dot == std::string::npos ? field : field.substr(dot + 1);
}

void flatten(const json& node, const std::string& prefix, std::vector<std::pair<std::string, json>>& out) {
  if (node.is_object() && !node.empty()) {
    for (auto it = node.begin(); it != node.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out.emplace_back(prefix, node);
  }
}

// Settings that do nothing in this configuration (an empty data dir, HOG
// options on raw pixels, another optimizer's parameters, early stopping off)
// would only bury the ones that matter.
bool relevant(const json& config, const std::string& path, const json& value) {
  auto get = [&](const char* a, const char* b) -> json {
    return config.contains(a) && config.at(a).contains(b) ? config.at(a).at(b) : json();
  };
  const json optimizer = get("train", "optimizer");
  if (path == "dataset.dir") return value != json("");
  if (path.rfind("dataset.hog.", 0) == 0) return get("dataset", "transform") == json("hog");
  if (path.rfind("train.early_stopping.", 0) == 0)
    return path == "train.early_stopping.patience" || get("train", "early_stopping").value("patience", 0) > 0;
  if (path == "train.momentum") return optimizer != json("adam");
  if (path == "train.nesterov") return optimizer == json("sgd");
  if (path == "train.beta_1" || path == "train.beta_2") return optimizer == json("adam");
  if (path == "train.rho") return optimizer == json("rmsprop");
  if (path == "train.epsilon") return optimizer != json("sgd");
  return true;
}

}  // namespace

Stat stat_of(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (values.empty()) return s;
  double sum = 0;
  s.best = values.front();
  for (double v : values) {
    sum += v;
    s.best = std::max(s.best, v);
  }
  s.mean = sum / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

json value_of(const RunData& run, const std::string& field) {
  if (field == "variant") return run.variant;
  if (run.varied.contains(field)) return run.varied.at(field);
  const json* node = &run.config;
  size_t start = 0;
  while (start <= field.size()) {
    const size_t dot = field.find('.', start);
    const std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (node->is_object() && node->contains(part)) {
      node = &node->at(part);
    } else if (node->is_array() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(part) < node->size()) {
      node = &node->at(std::stoul(part));
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *node;
}

std::string field_name(const std::string& field, const std::vector<std::string>& all_fields) {
  const std::string last = last_part(field);
  int same = 0;
  for (const auto& f : all_fields) same += last_part(f) == last;
  std::string name = same > 1 ? field : last;
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

bool is_seed_field(const std::string& field) { return field == "train.seed" || field == "seed"; }

std::vector<std::string> factors_of(const SweepData& sweep) {
  std::vector<std::string> factors;
  for (const auto& f : sweep.varied)
    if (!is_seed_field(f) && std::find(factors.begin(), factors.end(), f) == factors.end()) factors.push_back(f);
  std::set<std::string> variants;
  for (const auto& r : sweep.runs) variants.insert(r.variant);
  if (variants.size() > 1 && std::find(factors.begin(), factors.end(), "variant") == factors.end())
    factors.insert(factors.begin(), "variant");
  return factors;
}

std::vector<json> values_of(const SweepData& sweep, const std::string& factor) {
  std::vector<json> values;
  std::set<std::string> seen;
  bool all_numbers = true;
  for (const auto& r : sweep.runs) {
    json v = value_of(r, factor);
    if (seen.insert(v.dump()).second) {
      all_numbers = all_numbers && v.is_number();
      values.push_back(std::move(v));
    }
  }
  if (all_numbers)
    std::stable_sort(values.begin(), values.end(),
                     [](const json& a, const json& b) { return a.get<double>() < b.get<double>(); });
  return values;
}

std::vector<Cell> cells_of(const SweepData& sweep, const std::vector<std::string>& factors) {
  std::vector<Cell> cells;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const RunData& r = sweep.runs[i];
    json key = json::object();
    for (const auto& f : factors) key[f] = value_of(r, f);
    auto [it, inserted] = index.emplace(key.dump(), cells.size());
    if (inserted) cells.push_back(Cell{key, {}, {}, {}, {}});
    Cell& cell = cells[it->second];
    cell.runs.push_back(i);
    if (r.done()) cell.done.push_back(i);
  }
  for (auto& cell : cells) {
    std::vector<double> acc, loss;
    for (size_t i : cell.done) {
      acc.push_back(*sweep.runs[i].test_accuracy);
      if (sweep.runs[i].test_loss) loss.push_back(*sweep.runs[i].test_loss);
    }
    cell.accuracy = stat_of(acc);
    cell.loss = stat_of(loss);
  }
  return cells;
}

bool has_repeats(const std::vector<Cell>& cells) {
  return std::any_of(cells.begin(), cells.end(), [](const Cell& c) { return c.done.size() > 1; });
}

std::optional<double> pooled_sd(const std::vector<Cell>& cells) {
  double ss = 0;
  int dof = 0;
  for (const auto& c : cells)
    if (c.accuracy.n > 1) {
      ss += c.accuracy.sd * c.accuracy.sd * (c.accuracy.n - 1);
      dof += c.accuracy.n - 1;
    }
  if (dof == 0) return std::nullopt;
  return std::sqrt(ss / dof);
}

double binomial_se(double p, int64_t n) {
  if (n <= 0) return 0;
  p = std::clamp(p, 0.0, 1.0);
  return std::sqrt(p * (1 - p) / static_cast<double>(n));
}

int64_t test_images(const RunData& run) { return run.test_images; }

std::string not_learning(const RunData& run) {
  if (!run.done()) return "";
  const int classes = run.classes > 0 ? run.classes : 10;
  const double chance = 1.0 / classes;
  if (*run.test_accuracy <= 2 * chance)
    return "test accuracy " + fixed(*run.test_accuracy, 4) + ", chance is " + fixed(chance, 4);
  if (run.epochs.size() >= 2 && !(run.epochs.back().loss < run.epochs.front().loss))
    return "training loss did not fall (" + fixed(run.epochs.front().loss, 4) + " in epoch 1, " +
           fixed(run.epochs.back().loss, 4) + " in epoch " + std::to_string(run.epochs.back().epoch) + ")";
  return "";
}

std::vector<std::pair<std::string, json>> fixed_settings(const SweepData& sweep) {
  std::vector<std::pair<std::string, json>> fixed_list;
  if (sweep.runs.empty()) return fixed_list;
  std::vector<std::pair<std::string, json>> first;
  flatten(sweep.runs.front().config, "", first);
  for (const auto& setting : first) {
    // Named references, not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string& path = setting.first;
    const json& value = setting.second;
    if (path == "variant" || path.rfind("model", 0) == 0 || path.empty()) continue;
    if (!relevant(sweep.runs.front().config, path, value)) continue;
    const bool same = std::all_of(sweep.runs.begin(), sweep.runs.end(),
                                  [&](const RunData& r) { return value_of(r, path) == value; });
    if (same) fixed_list.emplace_back(path, value);
  }
  return fixed_list;
}

std::vector<size_t> ranked_done(const SweepData& sweep) {
  std::vector<size_t> order;
  for (size_t i = 0; i < sweep.runs.size(); ++i)
    if (sweep.runs[i].done()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return *sweep.runs[a].test_accuracy > *sweep.runs[b].test_accuracy;
  });
  return order;
}

std::vector<ConfusedPair> confused_pairs(const RunData& run) {
  std::vector<ConfusedPair> pairs;
  const int n = run.classes;
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b) {
      ConfusedPair p{a, b, run.confusion[static_cast<size_t>(a * n + b)], run.confusion[static_cast<size_t>(b * n + a)]};
      if (p.total() > 0) pairs.push_back(p);
    }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const ConfusedPair& x, const ConfusedPair& y) { return x.total() > y.total(); });
  return pairs;
}

std::string run_label(const SweepData& sweep, const RunData& run, const std::vector<std::string>& factors) {
  std::string label;
  const bool by_variant = std::find(factors.begin(), factors.end(), "variant") != factors.end();
  for (const auto& f : factors) {
    // With variants, the variant's name says most: add only what varies inside it.
    if (by_variant && f != "variant") {
      std::set<std::string> inside;
      for (const auto& other : sweep.runs)
        if (other.variant == run.variant) inside.insert(value_of(other, f).dump());
      if (inside.size() < 2) continue;
    }
    const json v = value_of(run, f);
    const std::string text = value_text(v);
    if (!label.empty()) label += ", ";
    label += f == "variant" ? text : field_name(f, factors) + " " + text;
  }
  return label;
}

}  // namespace sweep::report
