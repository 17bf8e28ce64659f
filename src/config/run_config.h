// One run's complete, typed configuration: what `sweep` trains. The grid
// expands into many of these; each has a canonical JSON form (all defaults
// filled in, keys in the fixed order of the schema table in
// config/schema.cpp, shown below) whose hash is the run's identity in the
// database. Canonical values: numbers the schema calls floats are floats
// (1 -> 1.0); sizes (kernel, strides, pool size) are an int when square, else
// [h, w]; activations are names with their alpha in the sibling "alpha" (reset
// to 0.3 where the activation has none; left out, elu's is 1.0 and
// leaky_relu's 0.3, as in Keras); learning_rate left out is the optimizer's
// Keras default (sgd 0.01, adam and rmsprop 0.001); pool strides are filled in; a
// builder's filters are one entry per conv block and its `init` moves to
// train.init; layers are {"type": ..., params in table order}.
//
// Canonical JSON (the "config" column of the runs table):
// {
//   "dataset": {"name": "mnist", "dir": "", "transform": "raw",
//               "hog": {"pixels_per_cell": 4, "orientations": 8},
//               "validation_split": 0.1, "train_limit": 0, "test_limit": 0},
//   "model":   {"layers": [ {"type": "conv2d", "filters": 32, "kernel": 3,
//                             "strides": 1, "padding": "valid",
//                             "activation": "relu", "alpha": 0.3,
//                             "use_bias": true}, ... ]}
//           or {"builder": {"conv_depth": 2, "filters": [32, 64], "kernel": 3,
//                           "padding": "valid", "activation": "relu",
//                           "alpha": 0.3, "dense_activation": "relu",
//                           "pool": "max", "pool_size": 2, "pool_every": 1,
//                           "pool_last": true, "batch_norm": false,
//                           "dropout": 0.0, "dense": [64],
//                           "dense_dropout": 0.0,
//                           "output_activation": "softmax"}},
//   "train":   {"optimizer": "adam", "learning_rate": 0.001, "momentum": 0.0,
//               "nesterov": false, "beta_1": 0.9, "beta_2": 0.999,
//               "epsilon": 1e-07, "rho": 0.9, "epochs": 5, "batch_size": 32,
//               "seed": 0, "init": "glorot_uniform", "precision": "fp32",
//               "early_stopping": {"monitor": "val_loss", "patience": 0,
//                                  "min_delta": 0.0}},
//   "variant": ""      // name of the grid variant this run came from, if any
// }
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.h"

namespace sweep {

using json = nlohmann::ordered_json;

struct DatasetSpec {
  std::string name = "mnist";  // a folder name under the data dir (mnist, fashion-mnist, ...)
  std::string dir;             // data directory; empty = $SWEEP_DATA_DIR, then the bundled data/
  std::string transform = "raw";  // raw | hog
  int hog_pixels_per_cell = 4;
  int hog_orientations = 8;
  double validation_split = 0.1;  // last fraction of the training set (Keras)
  int64_t train_limit = 0;        // 0 = all; else the first N training images (before the split)
  int64_t test_limit = 0;         // 0 = all; else the first N test images
};

enum class Optimizer { sgd, adam, rmsprop };
enum class Precision { fp32, bf16 };

struct OptimizerSpec {
  Optimizer kind = Optimizer::adam;
  double learning_rate = 0.001;  // Adam's; canonical JSON always sets it (sgd: 0.01 when left out)
  double momentum = 0.0;   // sgd, rmsprop
  bool nesterov = false;   // sgd
  double beta_1 = 0.9, beta_2 = 0.999;  // adam
  double epsilon = 1e-7;   // adam, rmsprop (Keras default)
  double rho = 0.9;        // rmsprop
};

struct EarlyStopping {
  std::string monitor = "val_loss";  // val_loss | val_accuracy | loss | accuracy
  int patience = 0;                  // 0 = off
  double min_delta = 0.0;
};

struct TrainSpec {
  int epochs = 5;
  int batch_size = 32;
  uint64_t seed = 0;
  Precision precision = Precision::fp32;
  EarlyStopping early_stopping;
};

struct RunConfig {
  DatasetSpec dataset;
  ModelSpec model;  // always layers; a builder is expanded into layers
  OptimizerSpec optimizer;
  TrainSpec train;
  std::string variant;
  // The canonical JSON this was parsed from (defaults filled), as compact
  // text: the runs table's config column. Text, not a json tree: a tree costs
  // ~5 KB a run, which a 100,000-run grid cannot afford.
  std::string canonical;
  std::string hash; // hex64(fnv1a64(canonical))
};

// Parse one expanded run's JSON. Fills defaults, validates types and ranges
// (learning_rate > 0, batch_size >= 1, 0 <= dropout < 1, ...), builds the
// ModelSpec (from layers or builder) and checks it with infer(). Errors are
// InputError whose field() is the dotted JSON path of the offending value
// (e.g. "train.learning_rate", "model.layers.3.kernel"); the grid stage maps
// that path back to a file, line and column.
// canonical_tree, when given, receives the canonical JSON as a tree (the
// expansion reads a few values from it without parsing the text again).
RunConfig parse_run_config(const json& config, json* canonical_tree = nullptr);

// The canonical JSON of a config: every field present, defaults filled,
// keys in a fixed order. parse_run_config(canonical_json(c)) == c.
json canonical_json(const json& config);

const char* to_string(Optimizer);
const char* to_string(Precision);

}  // namespace sweep
