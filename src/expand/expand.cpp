#include "expand/expand.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/json_text.h"
#include "common/names.h"
#include "config/schema.h"
#include "data/dataset.h"
#include "expand/axes.h"
#include "expand/search.h"

namespace sweep {

namespace {

// infer()'s errors name a whole layer ("model.layers.3") or, for a builder,
// the builder: they come from how fields combine, not from one bad value.
bool is_whole_model_error(const std::string& field) {
  if (field == "model.builder") return true;
  const std::string layers = "model.layers.";
  return field.size() > layers.size() && field.starts_with(layers) &&
         std::all_of(field.begin() + static_cast<std::ptrdiff_t>(layers.size()), field.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Does a value of the grid (`have`, as written) match an exclude entry's
// `want`? Names of choices and activations match in any spelling the loader
// accepts (common/names.h: `adam` excludes an axis value written `Adam`),
// everything else exactly.
bool same_value(const std::string& path, const json& have, const json& want) {
  if (have == want) return true;
  if (!have.is_string() || !want.is_string()) return false;
  const schema::Field* f = schema::field_at(path);
  return f && (f->type == schema::Type::choice || f->type == schema::Type::activation) &&
         same_name(have.get<std::string>(), want.get<std::string>());
}

// One cell of the grid: the values it sets (axes, include entries, search
// samples) and where in the file each value is written.
struct Cell {
  int variant = -1;  // index into GridSpec::variants; -1 = no variants
  std::vector<std::pair<std::string, json>> values;
  std::vector<SourceLocation> value_at;

  void set(const std::string& path, const json& v, const SourceLocation& at) {
    for (size_t i = 0; i < values.size(); ++i)
      if (values[i].first == path) {
        values[i].second = v, value_at[i] = at;
        return;
      }
    values.emplace_back(path, v);
    value_at.push_back(at);
  }
};

struct Expander {
  const GridSpec& g;
  std::vector<json> merged;            // per variant (one entry, the base, without variants)
  std::vector<std::vector<Axis>> axes; // per variant
  std::vector<Cell> cells;
  size_t cell_count_hint = 0;
  size_t excluded_cells = 0;  // removed by `exclude`

  size_t variant_count() const { return g.variants.empty() ? 1 : g.variants.size(); }
  int variant_id(size_t i) const { return g.variants.empty() ? -1 : static_cast<int>(i); }
  std::string variant_name(int v) const { return v < 0 ? std::string() : g.variants[static_cast<size_t>(v)].name; }

  // Where a merged-config path is written: the variant's own text first,
  // then the base, walking up to the nearest written ancestor.
  SourceLocation locate(const std::string& path, int v, bool prefer_key = false) const {
    std::string q = path;
    while (true) {
      std::vector<std::string> candidates;
      if (v >= 0) candidates.push_back(join_path(g.variants[static_cast<size_t>(v)].doc_path, q));
      if (!q.empty()) candidates.push_back(q);
      for (const std::string& c : candidates) {
        if (prefer_key)
          if (auto it = g.tree.key_at.find(c); it != g.tree.key_at.end()) return it->second;
        if (g.tree.has(c)) return g.tree.value_at.at(c);
      }
      if (q.empty()) return g.tree.nearest("");
      q = parent_path(q);
    }
  }

  [[noreturn]] void rethrow_at(const InputError& e, int v) const {
    throw InputError(e.message(), locate(e.field(), v, true), e.field());
  }

  std::string describe(const Cell& c) const {
    std::string s = "{";
    bool first = true;
    if (c.variant >= 0) s += "variant: " + variant_name(c.variant), first = false;
    for (const auto& [path, v] : c.values) s += (first ? "" : ", ") + path + ": " + shown(v), first = false;
    return s + "}";
  }

  void prepare_variants() {
    for (size_t i = 0; i < variant_count(); ++i) {
      const int v = variant_id(i);
      json m = v < 0 ? g.base : deep_merge(g.base, g.variants[i].override_config);
      try {
        axes.push_back(find_axes(m));
      } catch (const InputError& e) {
        rethrow_at(e, v);
      }
      merged.push_back(std::move(m));
    }
  }

  // The axes of variant i grouped into dimensions (zip groups move together).
  std::vector<std::vector<size_t>> dimensions(size_t i) {
    const auto& ax = axes[i];
    const int v = variant_id(i);
    auto axis_index = [&](const std::string& path) -> std::optional<size_t> {
      for (size_t a = 0; a < ax.size(); ++a)
        if (ax[a].path == path) return a;
      return std::nullopt;
    };
    std::vector<int> group_of(ax.size(), -1);
    for (size_t z = 0; z < g.zip.size(); ++z) {
      const std::string zpath = "zip." + std::to_string(z);
      for (size_t k = 0; k < g.zip[z].size(); ++k) {
        const std::string& path = g.zip[z][k];
        const auto a = axis_index(path);
        const std::string in_variant = v >= 0 ? " in variant '" + variant_name(v) + "'" : "";
        if (!a) throw InputError("zip names '" + path + "', which is not an axis" + in_variant + " (give it a list of values)",
                                 g.tree.nearest(zpath + "." + std::to_string(k)), path);
        if (group_of[*a] >= 0) throw InputError("'" + path + "' is in two zip groups", g.tree.nearest(zpath), path);
        group_of[*a] = static_cast<int>(z);
        const Axis& first = ax[*axis_index(g.zip[z][0])];
        if (ax[*a].values.size() != first.values.size())
          throw InputError("zip group has axes of unequal length: '" + first.path + "' has " + std::to_string(first.values.size()) +
                               " values, '" + path + "' has " + std::to_string(ax[*a].values.size()),
                           g.tree.nearest(zpath), path);
      }
    }
    std::vector<std::vector<size_t>> dims;
    std::map<int, size_t> dim_of_group;
    for (size_t a = 0; a < ax.size(); ++a) {
      if (group_of[a] < 0) {
        dims.push_back({a});
      } else if (auto it = dim_of_group.find(group_of[a]); it != dim_of_group.end()) {
        dims[it->second].push_back(a);
      } else {
        dim_of_group[group_of[a]] = dims.size();
        dims.push_back({a});
      }
    }
    return dims;
  }

  bool excluded(const Cell& c, const json& run) const {
    for (const json& entry : g.exclude) {
      bool all = true;
      for (const auto& [path, want] : entry.items()) {
        if (path == "variant") {
          all = all && want == json(variant_name(c.variant));
        } else {
          const json* have = get_path(run, path);
          all = all && have && same_value(path, *have, want);
        }
      }
      if (all) return true;
    }
    return false;
  }

  json apply(const Cell& c) const {
    json run = merged[c.variant < 0 ? 0 : static_cast<size_t>(c.variant)];
    for (size_t i = 0; i < c.values.size(); ++i) {
      try {
        set_path(run, c.values[i].first, c.values[i].second);
      } catch (const InputError& e) {
        throw InputError(e.message(), c.value_at[i], e.field());
      }
    }
    return run;
  }

  void product_cells() {
    for (size_t i = 0; i < variant_count(); ++i) {
      const int v = variant_id(i);
      const auto dims = dimensions(i);
      size_t count = 1;
      for (const auto& d : dims) {
        count *= axes[i][d[0]].values.size();
        if (count > kMaxRuns) throw InputError("the grid expands to more than " + std::to_string(kMaxRuns) + " cells", g.tree.nearest(""));
      }
      std::vector<size_t> index(dims.size(), 0);
      for (size_t n = 0; n < count; ++n) {
        Cell c;
        c.variant = v;
        for (size_t d = 0; d < dims.size(); ++d)
          for (size_t a : dims[d]) {
            const Axis& axis = axes[i][a];
            c.set(axis.path, axis.values[index[d]], locate(axis.path + "." + std::to_string(index[d]), v));
          }
        if (!excluded(c, apply(c))) cells.push_back(std::move(c));
        else ++excluded_cells;
        for (size_t d = dims.size(); d-- > 0;) {  // the last dimension moves fastest
          if (++index[d] < axes[i][dims[d][0]].values.size()) break;
          index[d] = 0;
        }
      }
    }
  }

  void include_cells() {
    for (size_t k = 0; k < g.include.size(); ++k) {
      const json& entry = g.include[k];
      const std::string ipath = "include." + std::to_string(k);
      int v = g.variants.empty() ? -1 : 0;
      if (entry.contains("variant")) {
        const std::string name = entry["variant"].get<std::string>();
        std::vector<std::string> names;
        for (const auto& gv : g.variants) names.push_back(gv.name);
        const auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end())
          throw InputError(schema::unknown_key_message(name, "variants", names).replace(0, 11, "unknown variant"),
                           g.tree.nearest(ipath + ".variant"), "variant");
        v = static_cast<int>(it - names.begin());
      }
      Cell c;
      c.variant = v;
      const size_t vi = v < 0 ? 0 : static_cast<size_t>(v);
      for (const Axis& axis : axes[vi]) c.set(axis.path, axis.values[0], locate(axis.path + ".0", v));
      for (const auto& [path, value] : entry.items())
        if (path != "variant") c.set(path, value, g.tree.nearest(ipath + "." + path));
      cells.push_back(std::move(c));
    }
  }

  void search_cells() {
    if (g.search_samples == 0) return;
    for (size_t i = 0; i < variant_count(); ++i)
      for (const SearchDimension& d : g.search_space)
        for (const Axis& a : axes[i])
          if (a.path == d.path)
            throw InputError("'" + d.path + "' is both an axis and a search dimension; give it one or the other",
                             g.tree.nearest("search.space." + d.path), d.path);
    // A TPE search: its trials are this grid's only runs, one run each.
    if (g.tpe.active) {
      for (size_t i = 0; i < variant_count(); ++i)
        if (!axes[i].empty())
          throw InputError("strategy: tpe searches search.space alone, but '" + axes[i][0].path +
                               "' is an axis: move it into search.space ({choice: [...]})",
                           locate(axes[i][0].path, variant_id(i)), axes[i][0].path);
      if (!g.variants.empty() || !g.include.empty())
        throw InputError("strategy: tpe searches search.space alone: it takes no variants or include",
                         g.tree.nearest(g.variants.empty() ? "include" : "variants"), "search.strategy");
      if (g.repeats > 1)
        throw InputError("strategy: tpe tries each configuration once: leave out repeats (give train.seed a "
                             "choice in search.space to vary seeds)",
                         g.tree.nearest("repeats"), "repeats");
    }
    const auto samples = g.search_values.empty() ? draw_search_samples(g) : g.search_values;
    if (cells.size() * samples.size() > kMaxRuns)
      throw InputError("the grid expands to more than " + std::to_string(kMaxRuns) + " cells", g.tree.nearest("search"));
    std::vector<Cell> crossed;
    for (const Cell& c : cells)
      for (const auto& sample : samples) {
        Cell s = c;
        for (size_t d = 0; d < sample.size(); ++d)
          s.set(g.search_space[d].path, sample[d], g.tree.nearest("search.space." + g.search_space[d].path));
        crossed.push_back(std::move(s));
      }
    cells = std::move(crossed);
  }

  // An error in one run, moved to the file: the value that caused it when a
  // cell set it; else the nearest written node, plus the cell's values when
  // the error comes from combining fields (shapes) rather than one bad value.
  [[noreturn]] void rethrow_for_cell(const InputError& e, const Cell& c) const {
    const std::string& f = e.field();
    for (size_t i = 0; i < c.values.size(); ++i) {
      const std::string& p = c.values[i].first;
      if (f == p || f.starts_with(p + ".")) throw InputError(e.message(), c.value_at[i], f);
    }
    const bool combination = is_whole_model_error(f) || !locate_exact(f, c.variant);
    std::string message = e.message();
    if (combination && cells.size() > 1) message += " in the cell " + describe(c);
    throw InputError(message, locate(f, c.variant), f);
  }

  bool locate_exact(const std::string& path, int v) const {
    if (v >= 0 && g.tree.has(join_path(g.variants[static_cast<size_t>(v)].doc_path, path))) return true;
    return g.tree.has(path);
  }
};

}  // namespace

namespace {

// What a pruning rule needs of every run: the metric it watches, and epochs
// beyond the first rung (else nothing could be pruned, which is never what a
// grid with a pruning rule means).
void check_pruning(const GridSpec& g, const ExpandedGrid& out) {
  const PruningSpec& p = g.pruning;
  for (size_t i = 0; i < out.runs.size(); ++i) {
    const RunConfig& c = out.runs[i].config;
    const std::string which = "run " + std::to_string(i + 1) + (out.runs[i].variant.empty() ? "" : " (" + out.runs[i].variant + ")");
    if (p.metric.starts_with("val_") && c.dataset.validation_split <= 0)
      throw InputError("search.metric " + p.metric + " needs a validation split, but " + which +
                           " has dataset.validation_split 0: set one (Keras' 0.1 is the default) or watch 'accuracy'",
                       g.tree.nearest("search.metric"), "search.metric");
    if (p.min_epochs >= c.train.epochs)
      throw InputError("search.min_epochs is " + std::to_string(p.min_epochs) + " but " + which + " trains " +
                           std::to_string(c.train.epochs) + " epochs: the first rung must come before the last epoch",
                       g.tree.nearest("search.min_epochs"), "search.min_epochs");
  }
}

}  // namespace

ExpandedGrid expand_grid(const GridSpec& g) {
  Expander x{g, {}, {}, {}, 0, 0};
  x.prepare_variants();
  x.product_cells();
  x.include_cells();
  x.search_cells();

  if (x.cells.empty()) {
    // Zero runs is never what a grid means: say which rule emptied it.
    if (!g.exclude.empty())
      throw InputError("exclude removes every cell of the grid (all " + std::to_string(x.excluded_cells) +
                           "): nothing is left to run",
                       g.tree.nearest("exclude"), "exclude");
    throw InputError("the grid has no runs", g.tree.nearest(""));
  }
  if (x.cells.size() * static_cast<size_t>(g.repeats) > kMaxRuns)
    throw InputError("the grid expands to more than " + std::to_string(kMaxRuns) + " runs (" +
                         std::to_string(x.cells.size()) + " cells x " + std::to_string(g.repeats) + " repeats)",
                     g.tree.nearest("repeats"), "repeats");

  ExpandedGrid out;
  out.name = g.name;
  out.description = g.description;
  out.path = g.path;
  out.text = g.text;

  // Fields that may vary: candidates in grid order, kept when they take two values.
  std::vector<std::string> candidates;
  auto candidate = [&](const std::string& p) {
    if (std::find(candidates.begin(), candidates.end(), p) == candidates.end()) candidates.push_back(p);
  };
  for (const auto& axes : x.axes)
    for (const Axis& a : axes) candidate(a.path);
  for (const json& entry : g.include)
    for (const auto& [path, v] : entry.items())
      if (path != "variant") candidate(path);
  for (const SearchDimension& d : g.search_space) candidate(d.path);
  for (const GridVariant& v : g.variants) {
    std::vector<std::string> leaves;
    leaf_paths(v.override_config, "", leaves);
    // A whole layer stack is named by the variant column, not repeated as a value.
    for (const std::string& p : leaves)
      if (p != "model.layers") candidate(p);
  }

  // Each kept run's values of the candidates: as the grid wrote them (an
  // activation object stays one value), else as canonicalised (a default).
  // Only these few values are kept, not the run's whole configuration tree.
  std::vector<json> candidate_values;
  std::unordered_map<std::string, size_t> index_of_hash;
  json canonical;
  out.runs.reserve(x.cells.size() * static_cast<size_t>(g.repeats));
  for (int r = 0; r < g.repeats; ++r) {
    const bool last_repeat = r + 1 == g.repeats;
    for (Cell& c : x.cells) {
      json run = x.apply(c);
      const json* seed = get_path(run, "train.seed");
      if (r > 0) {
        const int64_t base_seed = seed && seed->is_number_integer() ? seed->get<int64_t>() : 0;
        set_path(run, "train.seed", base_seed + r);
      }
      if (c.variant >= 0) run["variant"] = x.variant_name(c.variant);
      ExpandedRun er;
      try {
        er.config = parse_run_config(run, &canonical);
        check_fits_data(er.config);  // from the IDX headers: what would fail at run time fails here
      } catch (const InputError& e) {
        x.rethrow_for_cell(e, c);
      }
      if (auto it = index_of_hash.find(er.config.hash); it != index_of_hash.end()) {
        out.notes.push_back("dropped the cell " + x.describe(c) + (r ? " (repeat " + std::to_string(r) + ")" : "") +
                            ": the same configuration as run " + std::to_string(it->second + 1));
        continue;
      }
      index_of_hash.emplace(er.config.hash, out.runs.size());
      er.variant = x.variant_name(c.variant);
      er.repeat = r;
      json values = json::array();
      for (const std::string& p : candidates) {
        const json* v = get_path(run, p);
        if (!v) v = get_path(canonical, p);
        values.push_back(v ? *v : json());
      }
      candidate_values.push_back(std::move(values));
      out.runs.push_back(std::move(er));
      if (last_repeat) c = Cell{};  // used up: at 100,000 cells their values and locations add up
    }
  }

  out.pruning = g.pruning;
  out.tpe = g.tpe;
  if (g.pruning.active()) check_pruning(g, out);

  std::vector<size_t> varied_index;  // into candidates
  if (!g.variants.empty()) out.varied.push_back("variant");
  for (size_t k = 0; k < candidates.size(); ++k) {
    for (size_t i = 1; i < out.runs.size(); ++i)
      if (candidate_values[i][k] != candidate_values[0][k]) {
        out.varied.push_back(candidates[k]);
        varied_index.push_back(k);
        break;
      }
  }
  for (size_t i = 0; i < out.runs.size(); ++i) {
    json varied = json::object();
    if (!g.variants.empty()) varied["variant"] = out.runs[i].variant;
    for (size_t k : varied_index) varied[candidates[k]] = std::move(candidate_values[i][k]);
    out.runs[i].varied = std::move(varied);
    candidate_values[i] = json();
  }
  return out;
}

}  // namespace sweep
