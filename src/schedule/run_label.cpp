#include "schedule/run_label.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

namespace sweep {
namespace {

std::string value_text(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::string last_component(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// The key each varied path is shown under: its last component, unless two
// paths end alike or it is a list index ("model.layers.0.units" ->
// "units" is fine, "...dense.1" is not), then the whole path.
std::map<std::string, std::string> keys_of(const std::vector<std::string>& paths) {
  std::map<std::string, int> ends;
  for (const std::string& path : paths) ++ends[last_component(path)];
  std::map<std::string, std::string> keys;
  for (const std::string& path : paths) {
    const std::string last = last_component(path);
    const bool index = std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); });
    keys[path] = ends[last] == 1 && !index ? last : path;
  }
  return keys;
}

// The label's parts: index, [variant], key=value...
std::vector<std::string> parts(const RunLabel& label, bool abbreviated) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : label.values) keys.push_back(abbreviated ? abbreviate_key(key) : key);
  if (abbreviated) {
    // Two keys that abbreviate alike (filters, final_fn) would read as one: those stay whole.
    for (size_t i = 0; i < keys.size(); ++i)
      for (size_t j = i + 1; j < keys.size(); ++j)
        if (keys[i] == keys[j] && label.values[i].first != label.values[j].first) {
          keys[i] = label.values[i].first;
          keys[j] = label.values[j].first;
        }
  }
  std::vector<std::string> out = {label.index};
  if (!label.variant.empty()) out.push_back("[" + label.variant + "]");
  for (size_t i = 0; i < keys.size(); ++i) out.push_back(keys[i] + "=" + label.values[i].second);
  return out;
}

std::string join(const std::vector<std::string>& parts, size_t count) {
  std::string text;
  for (size_t i = 0; i < count && i < parts.size(); ++i) text += (i ? " " : "") + parts[i];
  return text;
}

}  // namespace

std::string abbreviate_key(const std::string& key) {
  // The names a grid varies most, as people write them in papers and notes.
  static const std::map<std::string, std::string> known = {
      {"learning_rate", "lr"}, {"batch_size", "bs"},     {"epochs", "ep"},       {"activation", "act"},
      {"optimizer", "opt"},    {"momentum", "mom"},      {"weight_decay", "wd"}, {"dropout", "drop"},
      {"filters", "filt"},     {"kernel", "k"},          {"kernel_size", "k"},   {"units", "u"},
      {"conv_depth", "depth"}, {"validation_split", "val"}};
  const std::string last = last_component(key);
  const std::string prefix = key.substr(0, key.size() - last.size());  // a whole path keeps its head
  if (const auto found = known.find(last); found != known.end()) return prefix + found->second;
  if (last.find('_') != std::string::npos) {
    std::string initials;
    bool start = true;
    for (char c : last) {
      if (start && c != '_') initials += c;
      start = c == '_';
    }
    return prefix + initials;
  }
  return prefix + (last.size() > 4 ? last.substr(0, 3) : last);
}

std::string RunLabel::text() const {
  const auto all = parts(*this, false);
  return join(all, all.size());
}

std::string RunLabel::fit(int width) const {
  for (const bool abbreviated : {false, true}) {
    const auto all = parts(*this, abbreviated);
    const std::string text = join(all, all.size());
    if (static_cast<int>(text.size()) <= width) return text;
  }
  // Whole values dropped from the end, marked: a value cut short would
  // mislead (lr=0.01.. may be 0.015). The index alone still says which run
  // it is (`sweep status` has the rest).
  const auto all = parts(*this, true);
  for (size_t count = all.size() - 1; count >= 1; --count) {
    const std::string text = join(all, count) + " ..";
    if (static_cast<int>(text.size()) <= width) return text;
  }
  return index;
}

std::vector<RunLabel> run_labels(const ExpandedGrid& grid) {
  const auto keys = keys_of(grid.varied);
  int repeats = 1;
  for (const ExpandedRun& run : grid.runs) repeats = std::max(repeats, run.repeat + 1);
  // A grid that varies the seed itself already shows it.
  const bool seed_varied = std::any_of(grid.varied.begin(), grid.varied.end(),
                                       [](const std::string& path) { return last_component(path) == "seed"; });
  std::vector<RunLabel> labels;
  labels.reserve(grid.runs.size());
  for (size_t i = 0; i < grid.runs.size(); ++i) {
    const ExpandedRun& run = grid.runs[i];
    RunLabel label;
    label.index = fmt::format("#{}", i + 1);
    label.variant = run.variant;
    for (const std::string& path : grid.varied) {
      // The variant is named once, in brackets, not again as "variant=".
      if (path == "variant" || !run.varied.is_object() || !run.varied.contains(path)) continue;
      const json& value = run.varied.at(path);
      if (value.is_null()) continue;  // a key only other variants set
      label.values.emplace_back(keys.at(path), value_text(value));
    }
    if (repeats > 1) {
      label.values.emplace_back("rep", fmt::format("{}/{}", run.repeat + 1, repeats));
      if (!seed_varied) label.values.emplace_back("seed", std::to_string(run.config.train.seed));
    }
    labels.push_back(std::move(label));
  }
  return labels;
}

}  // namespace sweep
