// The Setup section: what was studied and how (dataset, model family, what
// varied and what stayed fixed, hardware, version, when it ran, how long).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "report/sections.h"

namespace sweep::report {
namespace {

// "2025-04-02T10:11:12Z" (optionally with fractional seconds) -> seconds since 1970.
std::optional<int64_t> parse_iso(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &year, &month, &day, &hour, &minute, &second) != 6)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

std::string dataset_text(const SweepReport& r) {
  const RunData& run = r.sweep.runs.front();
  std::string text = value_text(value_of(run, "dataset.name"));
  const json transform = value_of(run, "dataset.transform");
  if (transform == json("hog"))
    text += ", HOG features (" + value_text(value_of(run, "dataset.hog.pixels_per_cell")) + " px per cell, " +
            value_text(value_of(run, "dataset.hog.orientations")) + " orientations)";
  const json train_limit = value_of(run, "dataset.train_limit");
  const json test_limit = value_of(run, "dataset.test_limit");
  const json split = value_of(run, "dataset.validation_split");
  text += "; training images: ";
  text += train_limit.is_number() && train_limit.get<double>() > 0 ? "the first " + thousands(train_limit.get<int64_t>()) : "all";
  if (split.is_number() && split.get<double>() > 0)
    text += ", of which the last " + fixed(split.get<double>() * 100, 0) + "% are the validation split";
  // The confusion matrix counts every test image, so it gives the test-set size.
  int64_t test_count = 0;
  for (const auto& other : r.sweep.runs)
    if (other.classes > 0) {
      test_count = other.test_images;
      break;
    }
  text += "; test images: ";
  if (test_count > 0) text += thousands(test_count);
  else text += test_limit.is_number() && test_limit.get<double>() > 0 ? "the first " + thousands(test_limit.get<int64_t>()) : "all";
  return text;
}

}  // namespace

void section_setup(SweepReport& r) {
  const SweepData& s = r.sweep;
  r.md += "## Setup\n\n";
  if (!s.description.empty()) r.md += s.description + (s.description.back() == '\n' ? "\n" : "\n\n");
  if (s.runs.empty()) {
    r.md += "This sweep has no runs.\n\n";
    return;
  }
  r.md += "- **Dataset**: " + dataset_text(r) + ".\n";

  std::map<std::string, int> architectures;
  std::vector<std::string> arch_order;
  std::map<std::string, std::string> by_model;  // a stored model's text, made once (not once per run)
  for (const auto& run : s.runs) {
    const bool stored = s.models.count(run.model_hash) > 0;
    auto it = stored ? by_model.find(run.model_hash) : by_model.end();
    if (stored && it == by_model.end())
      it = by_model.emplace(run.model_hash, architecture_text(model_layers(s, run))).first;
    const std::string a = stored ? it->second : architecture_text(model_layers(s, run));
    if (architectures[a]++ == 0) arch_order.push_back(a);
  }
  if (arch_order.size() == 1) {
    r.md += "- **Model**: `" + arch_order.front() + "`";
    auto it = s.models.find(s.runs.front().model_hash);
    if (it != s.models.end()) r.md += ", " + thousands(it->second.trainable + it->second.non_trainable) + " parameters";
    r.md += ".\n";
  } else {
    r.md += "- **Models**: " + std::to_string(arch_order.size()) + " architectures (see Model summaries); the first is `" +
            arch_order.front() + "`.\n";
  }

  if (r.factors.empty()) {
    r.md += "- **Varied**: nothing (a single configuration).\n";
  } else {
    r.md += "- **Varied**:\n";
    for (const auto& f : r.factors) {
      // A summary names the first and last of many values and counts the rest.
      const auto all = values_of(s, f);
      const auto shown = head_and_tail(all.size(), r.summary ? r.limits.values : all.size());
      std::string values;
      for (size_t k = 0; k < shown.size(); ++k) {
        if (k > 0 && shown[k] != shown[k - 1] + 1)
          values += ", ... (" + thousands(static_cast<int64_t>(shown[k] - shown[k - 1] - 1)) + " more)";
        values += (values.empty() ? "" : ", ") + value_text(all[shown[k]]);
      }
      r.md += "  - " + field_name(f, r.factors) + " (`" + f + "`): " + values + "\n";
    }
  }
  std::set<int64_t> seeds;
  for (const auto& run : s.runs) seeds.insert(run.seed);
  if (has_repeats(r.cells))
    r.md += "- **Repeats**: " + std::to_string(seeds.size()) +
            " seeds per configuration; tables give mean +- standard deviation over the seeds.\n";

  const auto fixed_list = fixed_settings(s);
  if (!fixed_list.empty()) {
    r.md += "- **Fixed** (equal in every run): ";
    for (size_t i = 0; i < fixed_list.size(); ++i)
      r.md += (i ? ", " : "") + std::string("`") + fixed_list[i].first + "` " + md_cell(value_text(fixed_list[i].second));
    r.md += ".\n";
  }

  std::map<std::string, int> status_counts;
  for (const auto& run : s.runs) status_counts[run.status]++;
  r.md += "- **Runs**: " + std::to_string(s.runs.size()) + " (";
  bool first = true;
  for (const char* st : {"done", "pruned", "failed", "diverged", "interrupted", "running", "pending"})
    if (status_counts.count(st)) {
      r.md += (first ? "" : ", ") + std::to_string(status_counts[st]) + " " + st;
      first = false;
    }
  r.md += ")";
  if (s.out_of_grid > 0)
    r.md += "; not shown: " + std::to_string(s.out_of_grid) + (s.out_of_grid == 1 ? " run" : " runs") +
            " of an earlier version of the grid, kept in the database (`runs` with `in_grid = 0`)";
  r.md += ".\n";

  std::map<std::string, int> where;
  std::vector<std::string> where_order;
  for (const auto& run : s.runs) {
    if (run.backend.empty()) continue;
    std::string w = "`" + run.backend + "` backend on " + (run.device.empty() ? "an unnamed device" : run.device);
    if (run.threads > 0) w += ", " + std::to_string(run.threads) + " thread" + (run.threads > 1 ? "s" : "") + " per run";
    if (where[w]++ == 0) where_order.push_back(w);
  }
  if (!where_order.empty()) {
    r.md += "- **Hardware and backend**: ";
    for (size_t i = 0; i < where_order.size(); ++i)
      r.md += (i ? "; " : "") + where_order[i] + (where_order.size() > 1 ? " (" + std::to_string(where[where_order[i]]) + " runs)" : "");
    r.md += ".\n";
  }
  r.md += "- **sweep version**: " + (s.version.empty() ? std::string("unknown") : s.version) +
          (s.host.empty() ? "" : ", host " + s.host) + ".\n";
  if (!s.provenance.empty()) {
    // To reproduce it: what machine and build last ran it (sweeps.provenance).
    const json& p = s.provenance;
    auto text = [&](const char* key) { return p.contains(key) && p[key].is_string() ? p[key].get<std::string>() : ""; };
    std::string libraries;
    if (p.contains("libraries") && p["libraries"].is_object())
      for (const auto& [backend, library] : p["libraries"].items())
        if (library.is_string()) libraries += (libraries.empty() ? "" : ", ") + library.get<std::string>();
    r.md += "- **Machine and build**: " + text("cpu");
    if (p.contains("cores") && p["cores"].is_number()) r.md += ", " + p["cores"].dump() + " cores";
    if (!text("cpu_flags").empty()) r.md += " (" + text("cpu_flags") + ")";
    r.md += "; " + text("os") + ", " + text("kernel") + "; " + text("compiler");
    if (!libraries.empty()) r.md += "; " + libraries;
    r.md += "; sweep " + text("sweep") + " at commit " + text("commit") + ".\n";
  }

  std::string first_start, last_finish;
  double total = 0, slowest = 0;
  int timed = 0;
  for (const auto& run : s.runs) {
    if (!run.started.empty() && (first_start.empty() || run.started < first_start)) first_start = run.started;
    if (!run.finished.empty() && run.finished > last_finish) last_finish = run.finished;
    if (run.wall_seconds) {
      total += *run.wall_seconds;
      slowest = std::max(slowest, *run.wall_seconds);
      ++timed;
    }
  }
  r.md += "- **When it ran**: ";
  if (!first_start.empty()) r.md += first_start + (last_finish.empty() ? "" : " to " + last_finish);
  else r.md += "not yet run";
  r.md += " (sweep created " + s.created + ").\n";
  if (timed > 0) {
    r.md += "- **Time**: " + duration(total) + " of training in all, " + duration(total / timed) +
            " per run on average (slowest " + duration(slowest) + ")";
    const auto a = parse_iso(first_start), b = parse_iso(last_finish);
    if (a && b && *b >= *a) r.md += "; " + duration(static_cast<double>(*b - *a)) + " from first start to last finish";
    r.md += ".\n";
  }
  r.md += "\n";
}

}  // namespace sweep::report
