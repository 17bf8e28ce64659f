#include "report/matching.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace sweep::report {
namespace {

// A run as the comparisons see it: its factor value and the values of the
// fields that must match, as JSON text (equal text = equal value).
struct Profile {
  size_t run = 0;                   // index of its first run
  std::string value;                // the factor's
  std::vector<std::string> fields;  // other_fields, then the layer stack
};

std::string joined(const std::vector<std::string>& parts, const std::vector<bool>& skip) {
  std::string key;
  for (size_t f = 0; f < parts.size(); ++f)
    if (!skip[f]) key += parts[f] + '\n';  // compact JSON never holds a raw newline
  return key;
}

}  // namespace

std::vector<std::string> other_fields(const std::string& factor, const std::vector<std::string>& factors) {
  std::vector<std::string> others;
  for (const auto& f : factors)
    if (f != factor && f != "variant" && !is_seed_field(f)) others.push_back(f);
  return others;
}

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

std::vector<std::vector<size_t>> matched_runs(const SweepData& sweep, const std::string& factor,
                                              const std::vector<std::string>& factors) {
  const auto others = other_fields(factor, factors);
  std::unordered_map<std::string, size_t> slot;
  std::vector<std::vector<size_t>> groups;
  std::vector<std::set<std::string>> values;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const RunData& r = sweep.runs[i];
    if (!r.done()) continue;
    json key = json::array();
    for (const auto& f : others) key.push_back(value_of(r, f));
    key.push_back(layer_stack_without(r, factor));
    auto [it, inserted] = slot.emplace(key.dump(), groups.size());
    if (inserted) {
      groups.emplace_back();
      values.emplace_back();
    }
    groups[it->second].push_back(i);
    if (values[it->second].size() < 2) values[it->second].insert(value_of(r, factor).dump());
  }
  std::vector<std::vector<size_t>> out;
  for (size_t g = 0; g < groups.size(); ++g)
    if (values[g].size() > 1) out.push_back(std::move(groups[g]));
  return out;
}

// The pair that differs in the fewest fields is found without comparing
// every pair (10^10 of them at 10^5 runs): for k = 0, 1, 2, ... and each set S
// of k fields, group the runs by every field outside S; two runs of one group
// with different factor values differ in S exactly (in a part of S only if a
// smaller k had found them). The first k with such a pair is the answer, and
// the first such pair by run order (the first run of its group, paired with
// the group's first run of another value) decides between sets of that size.
std::vector<std::string> confounders(const SweepData& sweep, const std::string& factor,
                                     const std::vector<std::string>& factors) {
  const auto others = other_fields(factor, factors);
  std::vector<std::string> names = others;
  names.push_back("model.layers");
  // Runs with the same profile would only repeat each other's pairs.
  std::vector<Profile> profiles;
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const RunData& r = sweep.runs[i];
    Profile p{i, value_of(r, factor).dump(), {}};
    for (const auto& f : others) p.fields.push_back(value_of(r, f).dump());
    p.fields.push_back(layer_stack_without(r, factor).dump());
    const std::string key = p.value + '\n' + joined(p.fields, std::vector<bool>(p.fields.size(), false));
    if (seen.emplace(key, profiles.size()).second) profiles.push_back(std::move(p));
  }
  const size_t m = names.size();
  for (size_t k = 0; k <= m; ++k) {
    std::vector<bool> in_set(m, false);
    // The trues last: the smallest arrangement, from which next_permutation visits every set of size k.
    std::fill(in_set.end() - static_cast<std::ptrdiff_t>(k), in_set.end(), true);
    bool found = false;
    std::pair<size_t, size_t> best_pair;
    std::vector<bool> best_set;
    do {
      // Per group: its first profile, and the first one after it with another value.
      std::unordered_map<std::string, std::pair<size_t, size_t>> first;  // key -> (first, partner or npos)
      for (size_t p = 0; p < profiles.size(); ++p) {
        auto [it, inserted] = first.emplace(joined(profiles[p].fields, in_set), std::pair<size_t, size_t>{p, SIZE_MAX});
        auto& [head, partner] = it->second;
        if (!inserted && partner == SIZE_MAX && profiles[p].value != profiles[head].value) partner = p;
      }
      for (const auto& [key, pair] : first) {
        if (pair.second == SIZE_MAX) continue;
        const std::pair<size_t, size_t> runs{profiles[pair.first].run, profiles[pair.second].run};
        if (!found || runs < best_pair) best_pair = runs, best_set = in_set, found = true;
      }
    } while (std::next_permutation(in_set.begin(), in_set.end()));
    if (found) {
      std::vector<std::string> differ;
      for (size_t f = 0; f < m; ++f)
        if (best_set[f]) differ.push_back(names[f]);
      return differ;
    }
  }
  return {};
}

}  // namespace sweep::report
