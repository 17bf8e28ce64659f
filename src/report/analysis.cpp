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

bool is_done(const RunData& run) { return run.status == "done" && run.test_accuracy.has_value(); }

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
    if (is_done(r)) cell.done.push_back(i);
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

int64_t test_images(const RunData& run) {
  int64_t n = 0;
  for (int64_t count : run.confusion) n += count;
  return n;
}

std::string not_learning(const RunData& run) {
  if (!is_done(run)) return "";
  const int classes = run.classes > 0 ? run.classes : 10;
  const double chance = 1.0 / classes;
  if (*run.test_accuracy <= 2 * chance)
    return "test accuracy " + fixed(*run.test_accuracy, 4) + ", chance is " + fixed(chance, 4);
  if (run.epochs.size() >= 2 && !(run.epochs.back().loss < run.epochs.front().loss))
    return "training loss did not fall (" + fixed(run.epochs.front().loss, 4) + " in epoch 1, " +
           fixed(run.epochs.back().loss, 4) + " in epoch " + std::to_string(run.epochs.back().epoch) + ")";
  return "";
}

namespace {

// The fields that define a matched group for `factor`: every other varied
// field (seeds and the variant's name aside: a name is not a setting).
std::vector<std::string> other_fields(const std::string& factor, const std::vector<std::string>& factors) {
  std::vector<std::string> others;
  for (const auto& f : factors)
    if (f != factor && f != "variant" && !is_seed_field(f)) others.push_back(f);
  return others;
}

// A layer-list model's whole stack is part of what must be equal (it is not a
// varied field of its own); a factor inside it (model.layers.7.units) is blanked.
json layer_stack_without(const RunData& run, const std::string& factor) {
  json layers = value_of(run, "model.layers");
  const std::string prefix = "model.layers.";
  if (layers.is_array() && factor.rfind(prefix, 0) == 0) {
    std::string pointer = "/" + factor.substr(prefix.size());
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    const json::json_pointer at(pointer);
    if (layers.contains(at)) layers[at] = nullptr;
  }
  return layers;
}

// Finished runs grouped by everything but `factor`; only groups where the
// factor takes two or more values are comparisons.
std::vector<std::vector<size_t>> matched_runs(const SweepData& sweep, const std::string& factor,
                                              const std::vector<std::string>& factors) {
  const auto others = other_fields(factor, factors);
  std::map<std::string, std::vector<size_t>> groups;
  std::vector<std::string> order;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const RunData& r = sweep.runs[i];
    if (!is_done(r)) continue;
    json key = json::array();
    for (const auto& f : others) key.push_back(value_of(r, f));
    key.push_back(layer_stack_without(r, factor));
    auto [it, inserted] = groups.emplace(key.dump(), std::vector<size_t>{});
    if (inserted) order.push_back(it->first);
    it->second.push_back(i);
  }
  std::vector<std::vector<size_t>> out;
  for (const auto& k : order) {
    std::set<std::string> values;
    for (size_t i : groups[k]) values.insert(value_of(sweep.runs[i], factor).dump());
    if (values.size() > 1) out.push_back(groups[k]);
  }
  return out;
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string text;
  for (int64_t id : ids) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text;
}

// Without a matched group: which other fields change whenever this one does
// (over the pair of runs with different values that differs in the fewest).
std::vector<std::string> confounders(const SweepData& sweep, const std::string& factor,
                                     const std::vector<std::string>& factors) {
  const auto others = other_fields(factor, factors);
  std::vector<std::string> best;
  bool found = false;
  for (size_t i = 0; i < sweep.runs.size(); ++i)
    for (size_t j = i + 1; j < sweep.runs.size(); ++j) {
      const RunData& a = sweep.runs[i];
      const RunData& b = sweep.runs[j];
      if (value_of(a, factor) == value_of(b, factor)) continue;
      std::vector<std::string> differ;
      for (const auto& f : others)
        if (value_of(a, f) != value_of(b, f)) differ.push_back(f);
      if (layer_stack_without(a, factor) != layer_stack_without(b, factor)) differ.push_back("model.layers");
      if (!found || differ.size() < best.size()) best = differ, found = true;
    }
  return best;
}

// Speed is a result too (batch size and depth trade it against accuracy):
// said only when the slowest value's epochs take 25% longer than the
// fastest's, since concurrent runs share the machine and a few percent is noise.
std::string speed_sentence(const std::vector<EffectRow>& rows) {
  const EffectRow* fast = nullptr;
  const EffectRow* slow = nullptr;
  std::string list;
  for (const auto& row : rows) {
    if (row.epoch_seconds.n == 0 || row.epoch_seconds.mean <= 0) return {};
    list += (list.empty() ? "" : ", ") + value_text(row.value) + " " + duration(row.epoch_seconds.mean);
    if (!fast || row.epoch_seconds.mean < fast->epoch_seconds.mean) fast = &row;
    if (!slow || row.epoch_seconds.mean > slow->epoch_seconds.mean) slow = &row;
  }
  if (rows.size() < 2 || slow->epoch_seconds.mean < 1.25 * fast->epoch_seconds.mean) return {};
  return "Time per epoch: " + list + "; " + value_text(fast->value) + " is " +
         fixed(slow->epoch_seconds.mean / fast->epoch_seconds.mean, 1) + "x faster than " + value_text(slow->value) + ".";
}

}  // namespace

Effect effect_of(const SweepData& sweep, const std::string& factor, const std::vector<std::string>& factors,
                 std::optional<double> noise_sd) {
  Effect effect;
  effect.factor = factor;
  const std::string name = field_name(factor, factors);
  const auto groups = matched_runs(sweep, factor, factors);
  if (groups.empty()) {
    effect.confounded = confounders(sweep, factor, factors);
    return effect;
  }
  // A group is described by the other fields that are factors in their own
  // right (they have matched groups too); artefacts of mixing model forms
  // would only bury them.
  std::vector<std::string> described;
  for (const auto& f : other_fields(factor, factors))
    if (!matched_runs(sweep, f, factors).empty()) described.push_back(f);
  const auto values = values_of(sweep, factor);
  std::map<std::string, int> best_count, beyond_count;
  for (const auto& members : groups) {
    MatchedGroup g;
    const RunData& first = sweep.runs[members.front()];
    for (const auto& f : described) g.others.emplace_back(f, value_of(first, f));
    std::vector<int64_t> all_ids;
    for (const json& value : values) {
      EffectRow row;
      row.value = value;
      std::vector<double> acc, loss, secs, epoch_secs;
      double best = -1;
      for (size_t i : members) {
        const RunData& r = sweep.runs[i];
        if (value_of(r, factor) != value) continue;
        acc.push_back(*r.test_accuracy);
        if (r.test_loss) loss.push_back(*r.test_loss);
        if (r.wall_seconds) secs.push_back(*r.wall_seconds);
        if (!r.epochs.empty()) {
          double sum = 0;
          for (const auto& e : r.epochs) sum += e.seconds;
          epoch_secs.push_back(sum / static_cast<double>(r.epochs.size()));
        }
        row.run_ids.push_back(r.id);
        if (*r.test_accuracy > best) best = *r.test_accuracy, row.best_run = r.id;
      }
      if (acc.empty()) continue;
      row.accuracy = stat_of(acc);
      row.loss = stat_of(loss);
      row.seconds = stat_of(secs);
      row.epoch_seconds = stat_of(epoch_secs);
      all_ids.insert(all_ids.end(), row.run_ids.begin(), row.run_ids.end());
      g.rows.push_back(std::move(row));
    }
    std::sort(all_ids.begin(), all_ids.end());
    std::vector<const EffectRow*> ranked;
    for (const auto& row : g.rows) ranked.push_back(&row);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const EffectRow* x, const EffectRow* y) { return x->accuracy.mean > y->accuracy.mean; });
    const EffectRow& hi = *ranked.front();
    const EffectRow& lo = *ranked.back();
    // Best against worst: their difference has standard error
    // sqrt(se_hi^2 + se_lo^2), from seed noise when there are repeats, else
    // from the binomial error of each accuracy on the test set.
    double se = 0;
    std::string noise_kind;
    if (noise_sd) {
      se = *noise_sd * std::sqrt(1.0 / hi.accuracy.n + 1.0 / lo.accuracy.n);
      noise_kind = "seed-to-seed noise";
    } else if (const int64_t n = test_images(first); n > 0) {
      const double a = binomial_se(hi.accuracy.mean, n), b = binomial_se(lo.accuracy.mean, n);
      se = std::sqrt(a * a / hi.accuracy.n + b * b / lo.accuracy.n);
      noise_kind = "test-set noise";
    }
    g.noise = 2 * se;
    const double spread = hi.accuracy.mean - lo.accuracy.mean;
    g.beyond_noise = se > 0 && spread > g.noise;
    std::string where;
    for (const auto& [f, v] : g.others) where += (where.empty() ? "" : ", ") + field_name(f, factors) + " " + value_text(v);
    g.sentence = (where.empty() ? "Everything else equal" : "At " + where) + " (runs " + ids_text(all_ids) + "): ";
    for (size_t k = 0; k < ranked.size(); ++k)
      g.sentence += (k ? (ranked[k - 1]->accuracy.mean > ranked[k]->accuracy.mean ? " > " : " = ") : name + " ") +
                    value_text(ranked[k]->value) + " (" + fixed(ranked[k]->accuracy.mean, 4) + ")";
    g.sentence += ". ";
    if (se <= 0) {
      g.sentence += "Best minus worst: " + fixed(spread, 4) + " (no noise estimate: the test-set size is unknown).";
    } else if (g.beyond_noise) {
      g.sentence += "Best minus worst, " + fixed(spread, 4) + ", is beyond " + noise_kind + " (2 x standard error = " +
                    fixed(g.noise, 4) + "): " + value_text(hi.value) + " is better than " + value_text(lo.value) + ".";
    } else {
      g.sentence += "Best minus worst, " + fixed(spread, 4) + ", is within " + noise_kind + " (2 x standard error = " +
                    fixed(g.noise, 4) + "): a tie.";
    }
    for (const auto& row : g.rows)
      for (int64_t id : row.run_ids)
        for (const auto& r : sweep.runs)
          if (r.id == id) {
            if (const std::string why = not_learning(r); !why.empty())
              g.sentence += " Run " + std::to_string(id) + " did not learn (" + why + ").";
          }
    g.speed = speed_sentence(g.rows);
    ++best_count[hi.value.dump()];
    if (g.beyond_noise) ++beyond_count[hi.value.dump()];
    effect.groups.push_back(std::move(g));
  }
  if (effect.groups.size() > 1) {
    const int n = static_cast<int>(effect.groups.size());
    std::string tally;
    auto count = [](const std::map<std::string, int>& counts, const std::string& key) {
      const auto it = counts.find(key);
      return it == counts.end() ? 0 : it->second;
    };
    for (const json& value : values)
      if (const int c = count(best_count, value.dump()); c > 0)
        tally += (tally.empty() ? "" : "; ") + value_text(value) + " in " + std::to_string(c) + " (" +
                 std::to_string(count(beyond_count, value.dump())) + " beyond noise)";
    effect.summary = std::to_string(n) + " comparisons with everything else equal. Best " + name + ": " + tally + ".";
    if (best_count.size() > 1) effect.summary += " The best value depends on the other settings.";
  }
  return effect;
}

std::vector<std::pair<std::string, json>> fixed_settings(const SweepData& sweep) {
  std::vector<std::pair<std::string, json>> fixed_list;
  if (sweep.runs.empty()) return fixed_list;
  std::vector<std::pair<std::string, json>> first;
  flatten(sweep.runs.front().config, "", first);
  for (auto& [path, value] : first) {
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
    if (is_done(sweep.runs[i])) order.push_back(i);
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
