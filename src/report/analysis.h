// The numbers a report states, computed from a loaded sweep: factors and their
// values, repeat cells (mean +- sd over seeds), per-factor effects with a
// seed-noise check, fixed settings, and the most confused class pairs. Pure
// functions of SweepData, so the tests can check them against SQL.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/data.h"

namespace sweep::report {

// Mean and sample standard deviation (n-1); sd is 0 for a single value.
struct Stat {
  int n = 0;
  double mean = 0, sd = 0, best = 0;
};
Stat stat_of(const std::vector<double>& values);

// The value of a dotted config path in a run ("variant" is the variant name):
// from the run's `varied` object, else from its canonical config.
json value_of(const RunData& run, const std::string& field);

// A readable name for a field: its last path part with spaces
// ("train.learning_rate" -> "learning rate"), the full path where two fields end alike.
std::string field_name(const std::string& field, const std::vector<std::string>& all_fields);

// What was varied: the sweep's varied paths except the seed (seeds make
// repeats, not a factor), plus "variant" when runs come from several variants.
std::vector<std::string> factors_of(const SweepData& sweep);
bool is_seed_field(const std::string& field);

// A factor's distinct values over the runs: numbers ascending, anything else
// in order of first appearance.
std::vector<json> values_of(const SweepData& sweep, const std::string& factor);

// Runs that share every factor value (they differ only in seed/repeat).
struct Cell {
  json key = json::object();      // factor -> value
  std::vector<size_t> runs;       // indices into sweep.runs, by id
  std::vector<size_t> done;       // those with status done and a test accuracy
  Stat accuracy, loss;            // over `done`
};
std::vector<Cell> cells_of(const SweepData& sweep, const std::vector<std::string>& factors);
bool has_repeats(const std::vector<Cell>& cells);
// Pooled standard deviation of test accuracy within cells (seed-to-seed
// noise); nullopt without repeats.
std::optional<double> pooled_sd(const std::vector<Cell>& cells);

// One factor's effect: per value, done runs and their test accuracy.
struct EffectRow {
  json value;
  Stat accuracy;
  int64_t best_run = -1;  // run id with the best test accuracy at this value
};
struct Effect {
  std::string factor;
  std::vector<EffectRow> rows;  // in values_of order; rows without done runs have n == 0
  std::string sentence;         // the plain conclusion
  // Like is compared with like: only runs that have a partner differing in
  // this factor alone (all other factors equal; seeds aside) are counted.
  // compared == total: every run qualifies; compared == 0: none does, and the
  // table falls back to every run (other settings differ too).
  int compared = 0, total = 0;
};
Effect effect_of(const SweepData& sweep, const std::string& factor, const std::vector<std::string>& factors,
                 std::optional<double> noise_sd);

// Config settings equal in every run (dotted path -> value), excluding the
// model layers (shown in their own tables), in canonical key order.
std::vector<std::pair<std::string, json>> fixed_settings(const SweepData& sweep);

// Done runs, best test accuracy first (ties by id).
std::vector<size_t> ranked_done(const SweepData& sweep);

// Off-diagonal confusion, both directions of a pair summed, largest first.
struct ConfusedPair {
  int a = 0, b = 0;                 // a < b
  int64_t a_as_b = 0, b_as_a = 0;
  int64_t total() const { return a_as_b + b_as_a; }
};
std::vector<ConfusedPair> confused_pairs(const RunData& run);

// "learning rate 0.01, batch size 64" (factor values of a run), or "" when nothing varies.
std::string run_label(const SweepData& sweep, const RunData& run, const std::vector<std::string>& factors);

}  // namespace sweep::report
