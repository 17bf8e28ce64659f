// The numbers a report states, computed from a loaded sweep: factors and their
// values, repeat cells (mean +- sd over seeds), per-factor effects with a
// seed-noise check, fixed settings, and the most confused class pairs. Pure
// functions of SweepData, so the tests can check them against SQL.
#pragma once
#include <cstddef>
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

// Test-set noise. A test accuracy p measured on n images has the binomial
// standard error sqrt(p (1 - p) / n): about 0.0010 at 0.99 on 10,000 images.
double binomial_se(double p, int64_t n);
// Test images behind a run's metrics: the sum of its confusion matrix (0 = unknown).
int64_t test_images(const RunData& run);

// A finished run that did not learn: test accuracy near chance (at most twice
// 1/classes) or a training loss that did not fall from the first epoch to the
// last. Returns why ("test accuracy 0.0892, chance is 0.1000"), or "".
std::string not_learning(const RunData& run);

// One value of a factor inside a matched group: its finished runs (seeds).
struct EffectRow {
  json value;
  Stat accuracy, loss, seconds;  // over the runs (seconds: wall time per run)
  Stat epoch_seconds;            // over the runs, each run's mean wall time per epoch
  std::vector<int64_t> run_ids;
  int64_t best_run = -1;         // run id with the best test accuracy at this value
};

// Runs that differ in one factor alone: every other factor (seeds aside,
// and the layer stack of a layer-list model) is equal.
struct MatchedGroup {
  std::vector<std::pair<std::string, json>> others;  // the other varied fields' values (variant name aside)
  std::vector<EffectRow> rows;                       // values with finished runs, in values_of order
  double noise = 0;      // 2 x standard error of a difference between best and worst (seed or test-set noise)
  bool beyond_noise = false;
  std::string sentence;  // "At learning rate 0.001, epochs 5 (runs 2, 6, 7): batch size 256 ..."
  // When the time per epoch differs by 25% or more between values: "Time per
  // epoch: 64 6.9 s, 256 4.3 s; 256 is 1.6x faster than 64." Empty otherwise.
  std::string speed;
};

// One factor's effect, ceteris paribus: only matched groups are compared;
// runs that differ in this factor and something else too are not.
struct Effect {
  std::string factor;
  std::vector<MatchedGroup> groups;
  std::vector<std::string> confounded;  // without groups: the other fields that always change with it
  std::string summary;                  // over the groups
};
// How much of a group a sentence spells out; a summarised report's (sections.h)
// says the rest as counts. The defaults spell out everything.
struct EffectLimits {
  size_t ids = SIZE_MAX;     // run ids listed in a group's sentence
  size_t values = SIZE_MAX;  // values ranked in it, and winners in the tally
};
// noise_sd: pooled seed-to-seed sd when the sweep has repeats, else the
// binomial test-set error is used.
Effect effect_of(const SweepData& sweep, const std::string& factor, const std::vector<std::string>& factors,
                 std::optional<double> noise_sd, const EffectLimits& limits = {});

// Which of `count` entries ranked best first a list cut to `limit` shows: the
// first limit - limit/4 and the last limit/4 (all when count <= limit), ascending.
std::vector<size_t> head_and_tail(size_t count, size_t limit);

// "1, 2, 3", or past `shown` ids "1, 2, ... (40 runs)".
std::string id_list(const std::vector<int64_t>& ids, size_t shown);

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
