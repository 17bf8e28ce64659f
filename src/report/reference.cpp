// "Compared with the write-up": when the grid has a top-level `reference:`
// block, set our test accuracy beside the write-up's figure for the same
// configuration:
//   reference:
//     source: "write-up 000"
//     results:
//       - {label: "[1-1]", match: {train.learning_rate: 0.001}, test_accuracy: 0.9919}
#include <cmath>

#include <yaml-cpp/yaml.h>

#include "report/sections.h"

namespace sweep::report {
namespace {

// Does a run's config value equal a YAML scalar from the reference block?
bool matches(const json& ours, const YAML::Node& theirs) {
  if (!theirs.IsScalar()) return false;
  const std::string text = theirs.Scalar();
  if (ours.is_number()) {
    try {
      size_t used = 0;
      const double v = std::stod(text, &used);
      const double o = ours.get<double>();
      return used == text.size() && std::fabs(v - o) <= 1e-9 * std::max(1.0, std::fabs(o));
    } catch (const std::exception&) {
      return false;
    }
  }
  if (ours.is_boolean()) return (text == "true") == ours.get<bool>() && (text == "true" || text == "false");
  if (ours.is_string()) return ours.get<std::string>() == text;
  // Lists and objects (e.g. builder dense [250]) are written as compact JSON text.
  std::string compact;
  for (char c : text)
    if (c != ' ') compact += c;
  return !ours.is_null() && ours.dump() == compact;
}

}  // namespace

void section_reference(SweepReport& r) {
  if (r.sweep.grid_text.empty()) return;
  YAML::Node root;
  try {
    root = YAML::Load(r.sweep.grid_text);
  } catch (const YAML::Exception&) {
    return;  // the grid was validated when it ran; an unreadable copy just has no comparison
  }
  if (!root.IsMap() || !root["reference"] || !root["reference"]["results"] || !root["reference"]["results"].IsSequence())
    return;
  const YAML::Node ref = root["reference"];
  const std::string source = ref["source"] && ref["source"].IsScalar() ? ref["source"].Scalar() : "the write-up";
  r.md += "## Compared with the write-up\n\n";
  r.md += "Test accuracy and loss reported in " + source + " beside ours for the same configuration "
          "(ours: mean over the matching finished runs; `-` where the write-up gives no figure).\n\n";
  r.md += "| Configuration | Write-up accuracy | Ours | Difference | Write-up loss | Our loss | Runs |\n"
          "|---|---:|---:|---:|---:|---:|---|\n";
  auto number = [](const YAML::Node& item, const char* key) -> std::optional<double> {
    if (!item[key] || !item[key].IsScalar()) return std::nullopt;
    try {
      return item[key].as<double>();
    } catch (const YAML::Exception&) {
      return std::nullopt;
    }
  };
  std::vector<std::string> notes;
  for (const auto& item : ref["results"]) {
    if (!item.IsMap() || !item["match"] || !item["match"].IsMap()) continue;
    std::string label;
    for (const auto& kv : item["match"]) {
      const std::string field = kv.first.as<std::string>();
      label += (label.empty() ? "" : ", ") + field_name(field, {field}) + " " + (kv.second.IsScalar() ? kv.second.Scalar() : "?");
    }
    // The write-up's name for the row, then the runs it matches: "2 conv (variant depth, conv depth 2)".
    if (item["label"] && item["label"].IsScalar()) label = item["label"].Scalar() + " (" + label + ")";
    // A note (where the write-up contradicts itself, or leaves a choice open) becomes a footnote.
    if (item["note"] && item["note"].IsScalar()) {
      notes.push_back(item["note"].Scalar());
      label += " [" + std::to_string(notes.size()) + "]";
    }
    const std::optional<double> theirs = number(item, "test_accuracy");
    const std::optional<double> their_loss = number(item, "test_loss");
    std::vector<double> ours, our_loss;
    std::vector<int64_t> ids;
    for (const auto& run : r.sweep.runs) {
      bool all = true;
      for (const auto& kv : item["match"]) all = all && matches(value_of(run, kv.first.as<std::string>()), kv.second);
      if (!all || run.status != "done" || !run.test_accuracy) continue;
      ours.push_back(*run.test_accuracy);
      if (run.test_loss) our_loss.push_back(*run.test_loss);
      ids.push_back(run.id);
    }
    const Stat s = stat_of(ours);
    const Stat l = stat_of(our_loss);
    r.md += "| " + md_cell(label) + " | " + fixed_or_dash(theirs, 4) + " | " +
            (s.n ? fixed(s.mean, 4) : std::string("-")) + " | " +
            (s.n && theirs ? fixed(s.mean - *theirs, 4) : std::string("-")) + " | " + fixed_or_dash(their_loss, 4) +
            " | " + (l.n ? fixed(l.mean, 4) : std::string("-")) + " | " + (ids.empty() ? "none" : r.ids_text(ids)) + " |\n";
  }
  if (!notes.empty()) {
    r.md += "\n";
    // One paragraph per note: consecutive lines would run together in Markdown.
    for (size_t i = 0; i < notes.size(); ++i)
      r.md += (i ? "\n" : "") + ("[" + std::to_string(i + 1) + "] ") + md_cell(notes[i]) + "\n";
  }
  r.md += "\n";
}

}  // namespace sweep::report
