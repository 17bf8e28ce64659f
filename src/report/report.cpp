#include "report/report.h"

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "report/sections.h"

namespace sweep::report {

std::string SweepReport::run_name(const RunData& run) const {
  const std::string label = run_label(sweep, run, factors);
  return "Run " + std::to_string(run.id) + (label.empty() ? "" : " (" + label + ")");
}

std::string SweepReport::add_figure(const std::string& name, std::string svg) {
  const std::string path = files_dir + "/" + figure_prefix + name;
  files.push_back({path, std::move(svg)});
  return path;
}

const Effect& SweepReport::effect(const std::string& factor) {
  auto it = effects_.find(factor);
  if (it == effects_.end()) {
    EffectLimits cut;
    if (summary) cut = {limits.ids, limits.values};
    it = effects_.emplace(factor, effect_of(sweep, factor, factors, noise_sd, cut)).first;
  }
  return it->second;
}

std::string SweepReport::ids_text(const std::vector<int64_t>& ids) const {
  return id_list(ids, summary ? limits.ids : ids.size());
}

std::string SweepReport::runs_sql(const std::string& columns, const std::string& condition,
                                  const std::string& order) const {
  return "SELECT " + columns + " FROM runs WHERE sweep_id = " + std::to_string(sweep.id) +
         (sweep.has_in_grid ? " AND in_grid = 1" : "") + (condition.empty() ? "" : " AND " + condition) +
         " ORDER BY " + order;
}

std::string SweepReport::more_line(size_t n, const std::string& what, const std::string& sql) const {
  if (n == 0) return "";
  return "*" + thousands(static_cast<int64_t>(n)) + " more " + what + " in the database; list them all with* `" + sql +
         "`\n\n";
}

namespace {

SweepReport analyse(const SweepData& sweep, const Settings& settings, const std::string& files_dir,
                    const std::string& prefix, sqlite3* db) {
  SweepReport r(sweep, settings);
  r.factors = factors_of(sweep);
  r.ranked = ranked_done(sweep);
  r.files_dir = files_dir;
  r.figure_prefix = prefix;
  r.cells = cells_of(sweep, r.factors);
  r.noise_sd = pooled_sd(r.cells);
  r.db = db;
  r.summary = sweep.runs.size() > kFullRuns;
  return r;
}

// What a summarised report leaves out, said before it starts.
std::string summary_note(const SweepReport& r) {
  return "This sweep has " + thousands(static_cast<int64_t>(r.sweep.runs.size())) +
         " runs, more than a report can list (" + std::to_string(kFullRuns) +
         "), so it is summarised: the best and worst results, the configurations of the best, a few matched "
         "comparisons per setting with a tally over all of them, and the first of each list; every run is in the "
         "database, and each shortened list ends with the SQL that lists it whole (`sweep query DB \"SQL\"`).\n\n";
}

}  // namespace

Report build_report(sqlite3* db, const std::string& sweep, const std::string& files_dir, const Settings& settings) {
  std::vector<std::string> names;
  if (sweep.empty()) {
    names = sweep_names(db);
    if (names.empty()) throw InputError("the database has no sweeps to report on (run `sweep run GRID --db DB` first)");
  } else {
    names.push_back(sweep);
  }
  Report out;
  for (size_t i = 0; i < names.size(); ++i) {
    const SweepData data = load_sweep(db, names[i]);
    SweepReport r = analyse(data, settings, files_dir, names.size() > 1 ? slug(data.name) + "_" : "", db);
    if (i > 0) r.md += "---\n\n";
    r.md += "# " + data.name + "\n\n";
    if (r.summary) r.md += summary_note(r);
    section_setup(r);
    section_configurations(r);
    section_results(r);
    section_effects(r);
    section_models(r);
    section_curves(r);
    section_confusion(r);
    section_search(r);
    section_progress(r);
    section_reference(r);
    out.markdown += r.md;
    for (auto& f : r.files) out.files.push_back(std::move(f));
  }
  return out;
}

std::string files_dir_for(const std::string& output_path) {
  return std::filesystem::path(output_path).stem().string() + "_files";
}

std::vector<std::string> write_report(sqlite3* db, const std::string& sweep, const std::string& output_path,
                                      const Settings& settings) {
  namespace fs = std::filesystem;
  const Report report = build_report(db, sweep, files_dir_for(output_path), settings);
  const fs::path base = fs::path(output_path).parent_path();
  const fs::path figures = base / files_dir_for(output_path);
  std::error_code ec;
  fs::create_directories(figures, ec);
  if (ec) throw InputError("cannot create the figures folder " + figures.string() + ": " + ec.message(), {}, "-o");
  // Figures of an earlier report with other names would linger and confuse: drop them.
  for (const auto& entry : fs::directory_iterator(figures))
    if (entry.path().extension() == ".svg") fs::remove(entry.path(), ec);
  std::vector<std::string> written;
  auto write = [&](const fs::path& path, const std::string& content) {
    std::ofstream f(path, std::ios::binary);
    f << content;
    if (!f) throw InputError("cannot write " + path.string(), {}, "-o");
    written.push_back(path.string());
  };
  write(output_path, report.markdown);
  for (const auto& file : report.files) write(base / file.path, file.content);
  return written;
}

}  // namespace sweep::report
