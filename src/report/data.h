// What a report reads from a results database (docs/schema.md), loaded with
// plain SQL into plain structs, in a fixed order (by id), so everything after
// this is a pure function of the database's contents.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/format.h"

struct sqlite3;

namespace sweep::report {

struct EpochRow {
  int epoch = 0;
  double loss = 0, accuracy = 0;
  std::optional<double> val_loss, val_accuracy;
  double seconds = 0, images_per_sec = 0;
};

struct RunData {
  int64_t id = 0;
  std::string hash;
  json config = json::object();  // canonical config
  json varied = json::object();  // this run's values of the varied fields
  std::string variant;
  int repeat = 0;
  int64_t seed = 0;
  std::string model_hash, status, backend, device, started, finished, error;
  int threads = 0, epochs_run = 0;
  bool early_stopped = false;
  std::optional<double> wall_seconds, train_loss, train_accuracy, val_loss, val_accuracy;
  std::optional<double> test_loss, test_accuracy, test_precision, test_recall, test_f1;
  std::vector<EpochRow> epochs;
  int classes = 0;                // confusion matrix size (0 = none stored)
  int64_t test_images = 0;        // the sum of its confusion matrix: the test images behind its metrics
  // classes x classes, row = true label. Loaded only for the runs whose matrix
  // is shown (load_confusion): 100,000 runs' matrices would be 80 MB for one table.
  std::vector<int64_t> confusion;

  // Finished with a test score: the runs every comparison is made from.
  bool done() const { return status == "done" && test_accuracy.has_value(); }
};

struct LayerRow {
  int idx = 0;
  std::string name, type, output_shape;
  int64_t trainable = 0, non_trainable = 0;
};

struct ModelData {
  std::string hash;
  json spec;
  int64_t trainable = 0, non_trainable = 0, flops_per_image = 0;
  std::vector<LayerRow> layers;
};

// A search's record (schema 10, docs/search.md): its pruning decisions
// counted per rung, and its TPE trials.
struct RungCount {
  int bracket = 0;
  int rung = -1;  // -1: median (judged per epoch)
  int epoch = 0;
  int judged = 0, went_on = 0, pruned = 0;
};
struct SearchRecord {
  std::string strategy, metric;  // of the pruning decisions ("" when none were made)
  std::vector<RungCount> rungs;  // by bracket, rung, epoch
  int trials = 0, tpe_trials = 0;  // search_trials rows, and of those proposed by TPE
  std::map<int64_t, int> pruned_epoch;  // run id -> epoch it was pruned after
};

struct SweepData {
  int64_t id = 0;
  std::string name, description, grid_path, grid_text, created, updated, host, version;
  json provenance = json::object();  // sweeps.provenance (schema 7); empty for older sweeps
  std::vector<std::string> varied;   // dotted paths, in the sweep's order
  std::vector<RunData> runs;         // by id: the runs of its current grid (runs.in_grid = 1)
  int out_of_grid = 0;               // runs of earlier versions of the grid, not loaded
  bool has_in_grid = true;           // false for a database older than schema version 4 (no runs.in_grid)
  std::map<std::string, ModelData> models;  // by hash, those the runs use
  SearchRecord search;                      // empty unless the grid pruned or ran TPE
};

// Sweep names in the database, by id.
std::vector<std::string> sweep_names(sqlite3* db);
// One sweep with its runs, epochs, confusion matrix sizes and models. Throws
// InputError when there is no sweep of that name (listing those there are).
SweepData load_sweep(sqlite3* db, const std::string& name);
// A run's confusion matrix (classes x classes, row = true label), as load_sweep
// sized it; empty when it has none.
std::vector<int64_t> load_confusion(sqlite3* db, const RunData& run);

}  // namespace sweep::report
