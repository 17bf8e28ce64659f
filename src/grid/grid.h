// grid.yaml -> the list of runs it describes.
//
// Stage 1 (src/grid): read the YAML, check every key against the schema
// (unknown keys get the nearest valid key suggested), find the axes (a list
// where the schema expects a scalar; a list of lists where it expects a list),
// and remember each value's file/line/column.
// Stage 2 (src/expand): combine axes (cartesian product, zip groups,
// exclude/include, variants, repeats, random search), produce each run's JSON,
// parse it with parse_run_config (which validates it) and map any error back to
// the YAML location plus the offending cell's values.
// Nothing here touches the database: an invalid grid fails before any write.
#pragma once
#include <string>
#include <vector>

#include "config/run_config.h"
#include "grid/search_spec.h"

namespace sweep {

struct ExpandedRun {
  RunConfig config;       // parsed and validated; config.hash is the run's identity
  json varied;            // {"train.learning_rate": 0.001, ...}: this cell's values of the varied fields
  std::string variant;    // variant name, or ""
  int repeat = 0;         // 0..repeats-1
};

struct ExpandedGrid {
  std::string name;        // the grid's `name:` (default: the file's stem)
  std::string description; // the grid's `description:`, may be empty
  std::string path;        // as given
  std::string text;        // the YAML text, stored with the sweep
  std::vector<std::string> varied;  // dotted paths of every varied field, in grid order
  std::vector<ExpandedRun> runs;    // in expansion order; hashes are unique (duplicates dropped)
  std::vector<std::string> notes;   // things the user may want to know (e.g. duplicate cells dropped)
  std::string fingerprint;          // grid_fingerprint(text, path)
  PruningSpec pruning;              // search.strategy: how runs are stopped early, if at all
  TpeSpec tpe;                      // search.strategy: tpe (runs = its trials so far)
};

// Read, validate and expand a grid file. Throws InputError (exit code 2) whose
// message names the file, line, column and field, and for errors that only
// show in a particular cell, that cell's values.
ExpandedGrid load_grid(const std::string& path);
// The same from text (path used in messages and as the default name).
ExpandedGrid parse_grid(const std::string& yaml_text, const std::string& path);

// A grid file's text (InputError naming the file when it cannot be read).
std::string read_grid_file(const std::string& path);

// What determines the runs a grid expands to: its text, its file's stem (the
// default name), this sweep version and a hash of the expansion's own source
// code (the grid, expand, config, model and data stages, taken at build
// time). Equal fingerprints expand to the same runs, so `sweep run` can see
// that an unchanged grid is all done without expanding it again.
std::string grid_fingerprint(const std::string& yaml_text, const std::string& path);

}  // namespace sweep
