// The pruning rules (schedule/pruner.h) on synthetic metric curves, and the
// grid keys that choose them (every new key validated with a located error).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "grid/grid.h"
#include "tests/support/grid_refusal.h"
#include "schedule/pruner.h"

using namespace sweep;
using sweep::test::grid_refusal;

namespace {

PruningSpec rule(PruningSpec::Strategy strategy, const std::string& metric = "val_accuracy", int min_epochs = 1,
                 int reduction_factor = 3) {
  PruningSpec spec;
  spec.strategy = strategy;
  spec.metric = metric;
  spec.min_epochs = min_epochs;
  spec.reduction_factor = reduction_factor;
  return spec;
}

// A run's epochs 1..values.size() with `values` as val_accuracy and 1 - value as val_loss.
std::vector<EpochMetrics> curve(const std::vector<double>& values) {
  std::vector<EpochMetrics> epochs;
  for (size_t i = 0; i < values.size(); ++i) {
    EpochMetrics m;
    m.epoch = static_cast<int>(i) + 1;
    m.val_accuracy = m.accuracy = values[i];
    m.val_loss = m.loss = 1 - values[i];
    epochs.push_back(m);
  }
  return epochs;
}

}  // namespace

TEST_CASE("asha: rungs at min_epochs x factor^k below the last epoch, judged only there") {
  Pruner asha(rule(PruningSpec::Strategy::asha, "val_accuracy", 1, 3), 27);
  CHECK(asha.decision_epochs(0, 27) == std::vector<int>{1, 3, 9});
  CHECK(asha.decision_epochs(0, 9) == std::vector<int>{1, 3});
  CHECK(asha.decision_epochs(0, 1).empty());
  Pruner two(rule(PruningSpec::Strategy::asha, "val_accuracy", 2, 2), 16);
  CHECK(two.decision_epochs(0, 16) == std::vector<int>{2, 4, 8});
  // Epoch 2 is no rung: no decision.
  CHECK_FALSE(asha.judge(1, 0, 9, curve({0.5, 0.6})).has_value());
}

TEST_CASE("asha: a run goes on when it ranks in the best n / factor of its rung so far (at least the best one)") {
  Pruner asha(rule(PruningSpec::Strategy::asha), 9);
  // Values arriving at rung 0 (epoch 1), one run at a time.
  struct Step {
    int64_t run;
    double value;
    bool prune;
    int rank, competitors;
  };
  const std::vector<Step> steps = {
      {1, 0.50, false, 1, 1},  // alone: the best
      {2, 0.40, true, 2, 2},   // n = 2: keep 1, and 0.50 is better
      {3, 0.60, false, 1, 3},  // n = 3: keep 1, the new best
      {4, 0.55, true, 2, 4},   // n = 4: keep 1
      {5, 0.20, true, 5, 5},
      {6, 0.58, false, 2, 6},  // n = 6: keep 2, ranks 2nd
      {7, 0.56, true, 3, 7},   // n = 7: keep 2
  };
  for (const Step& s : steps) {
    CAPTURE(s.run);
    const auto d = asha.judge(s.run, 0, 9, curve({s.value}));
    REQUIRE(d.has_value());
    CHECK(d->prune == s.prune);
    CHECK(d->rank == s.rank);
    CHECK(d->competitors == s.competitors);
    CHECK(d->rung == 0);
    CHECK(d->epoch == 1);
    CHECK(d->reason.find("rung 0 (epoch 1): val_accuracy") != std::string::npos);
  }
  // Rung 1 (epoch 3) is a rung of its own: run 1 is alone there.
  const auto later = asha.judge(1, 0, 9, curve({0.50, 0.52, 0.53}));
  REQUIRE(later.has_value());
  CHECK_FALSE(later->prune);
  CHECK(later->rung == 1);
  CHECK(later->competitors == 1);
}

TEST_CASE("asha on a loss: lower is better; NaN (a missing value) is the worst") {
  Pruner asha(rule(PruningSpec::Strategy::asha, "val_loss"), 9);
  CHECK_FALSE(asha.judge(1, 0, 9, curve({0.7}))->prune);  // val_loss 0.3
  CHECK(asha.judge(2, 0, 9, curve({0.6}))->prune);        // val_loss 0.4: worse
  CHECK_FALSE(asha.judge(3, 0, 9, curve({0.9}))->prune);  // val_loss 0.1: best
  std::vector<EpochMetrics> nan = curve({0.0});
  nan[0].val_loss = std::numeric_limits<double>::quiet_NaN();
  const auto d = asha.judge(4, 0, 9, nan);
  CHECK(d->prune);
  CHECK(d->rank == 4);
}

TEST_CASE("a decision is made once per run and epoch: judged again (a retrained epoch), it is the same") {
  Pruner asha(rule(PruningSpec::Strategy::asha), 9);
  const auto first = asha.judge(1, 0, 9, curve({0.3}));
  asha.judge(2, 0, 9, curve({0.9}));
  asha.judge(3, 0, 9, curve({0.8}));
  const auto again = asha.judge(1, 0, 9, curve({0.3}));
  REQUIRE(again.has_value());
  CHECK(again->prune == first->prune);
  CHECK(again->competitors == 1);
  // A restored pruner (a resumed sweep) knows the decisions and the rung's values.
  Pruner resumed(rule(PruningSpec::Strategy::asha), 9);
  for (int64_t run : {1, 2, 3}) resumed.restore_decision(*asha.judge(run, 0, 9, curve({0})));
  const auto next = resumed.judge(4, 0, 9, curve({0.85}));
  CHECK(next->competitors == 4);
  CHECK(next->rank == 2);
  CHECK(next->prune);  // keep 4 / 3 = 1: only 0.9 goes on
  // Exempt (continued by the user): never judged again.
  resumed.exempt(4);
  CHECK_FALSE(resumed.judge(4, 0, 9, curve({0.85, 0.86, 0.87})).has_value());
}

TEST_CASE("hyperband: brackets with first rungs min_epochs x factor^b, the last trains to the end") {
  Pruner hb(rule(PruningSpec::Strategy::hyperband, "val_accuracy", 1, 3), 9);
  CHECK(hb.brackets() == 3);
  CHECK(hb.decision_epochs(0, 9) == std::vector<int>{1, 3});
  CHECK(hb.decision_epochs(1, 9) == std::vector<int>{3});
  CHECK(hb.decision_epochs(2, 9).empty());
  CHECK(hb.bracket_of(0) == 0);
  CHECK(hb.bracket_of(4) == 1);
  CHECK(hb.bracket_of(5) == 2);
  // Runs compete within their bracket only.
  CHECK_FALSE(hb.judge(1, 0, 9, curve({0.9})).value().prune);
  CHECK_FALSE(hb.judge(2, 1, 9, curve({0.1, 0.1, 0.2})).value().prune);  // alone in bracket 1's rung
  CHECK(hb.judge(3, 0, 9, curve({0.5})).value().prune);
  CHECK_FALSE(hb.judge(4, 2, 9, curve({0.1, 0.1, 0.1})).has_value());
}

TEST_CASE("median: the best value so far against the median of finished runs at that epoch, after startup_runs") {
  PruningSpec spec = rule(PruningSpec::Strategy::median, "val_accuracy", 2);
  spec.startup_runs = 3;
  Pruner median(spec, 5);
  CHECK(median.decision_epochs(0, 5) == std::vector<int>{2, 3, 4});
  median.finished(10, curve({0.5, 0.6, 0.7, 0.8, 0.9}));
  median.finished(11, curve({0.4, 0.5, 0.6, 0.7, 0.8}));
  // Two finished runs: fewer than startup_runs, no decision.
  CHECK_FALSE(median.judge(1, 0, 5, curve({0.1, 0.2})).has_value());
  median.finished(12, curve({0.3, 0.4, 0.5, 0.6, 0.7}));
  // Epoch 2: finished runs' values 0.6, 0.5, 0.4: median 0.5.
  const auto low = median.judge(1, 0, 5, curve({0.1, 0.45}));
  REQUIRE(low.has_value());
  CHECK(low->prune);
  CHECK(low->value == doctest::Approx(0.45));
  CHECK(low->competitors == 4);
  CHECK(low->rank == 3);  // 0.6 and 0.5 are better, 0.4 is not
  CHECK(low->reason.find("is below the median 0.5000 of 3 finished runs") != std::string::npos);
  // The best so far counts, not the latest: 0.55 at epoch 1 beats the median.
  const auto kept = median.judge(2, 0, 5, curve({0.55, 0.2}));
  REQUIRE(kept.has_value());
  CHECK_FALSE(kept->prune);
  // Epoch 1 is before min_epochs (a warm-up), and the last epoch is never judged.
  CHECK_FALSE(median.judge(3, 0, 5, curve({0.0})).has_value());
  CHECK_FALSE(median.judge(4, 0, 5, curve({0.0, 0.9, 0.9, 0.9, 0.0})).has_value());
}

namespace {

const std::string kBase =
    "name: p\n"
    "dataset: {name: mnist, train_limit: 100, test_limit: 50}\n"
    "model:\n  builder: {conv_depth: 1, filters: 4, dense: []}\n";


}  // namespace

TEST_CASE("grid: search.strategy and its settings, read and checked") {
  const ExpandedGrid g = parse_grid(kBase +
                                        "train: {learning_rate: [0.01, 0.001]}\n"
                                        "search: {strategy: ASHA, metric: Val_Loss, min_epochs: 2, max_epochs: 8, "
                                        "reduction_factor: 2}\n",
                                    "g.yaml");
  CHECK(g.pruning.strategy == PruningSpec::Strategy::asha);
  CHECK(g.pruning.metric == "val_loss");
  CHECK_FALSE(g.pruning.maximize());
  CHECK(g.pruning.min_epochs == 2);
  CHECK(g.pruning.reduction_factor == 2);
  REQUIRE(g.runs.size() == 2);  // the grid's own cells: no random draws needed
  for (const ExpandedRun& run : g.runs) CHECK(run.config.train.epochs == 8);  // max_epochs sets train.epochs
  CHECK(parse_grid(kBase + "train: {epochs: 4}\nsearch: {strategy: successive_halving}\n", "g.yaml").pruning.strategy ==
        PruningSpec::Strategy::asha);
  // With random draws too.
  const ExpandedGrid drawn = parse_grid(kBase + "train: {epochs: 3}\nsearch: {strategy: median, startup_runs: 2, samples: 4, "
                                                "space: {train.learning_rate: {log_uniform: [0.001, 0.1]}}}\n",
                                        "g.yaml");
  CHECK(drawn.runs.size() == 4);
  CHECK(drawn.pruning.startup_runs == 2);
  CHECK_FALSE(parse_grid(kBase + "train: {epochs: 2}\n", "g.yaml").pruning.active());
}

TEST_CASE("grid: every pruning key refused with its line, column and field when wrong") {
  const std::string epochs = "train: {epochs: 4}\n";
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: bohb}\n").find("g.yaml:6:20: 'search.strategy': unknown value 'bohb'; "
                                                                    "expected one of: random, tpe, asha") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, metric: f1}\n").find("'search.metric': unknown value 'f1'") !=
        std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, reduction_factor: 1}\n").find("g.yaml:6:44: 'search.reduction_factor': must be >= 2") !=
        std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, min_epochs: 0}\n").find("'search.min_epochs': must be >= 1") !=
        std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, min_epochs: 4}\n")
            .find("g.yaml:6:38: 'search.min_epochs': search.min_epochs is 4 but run 1 trains 4 epochs") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, max_epochs: 9}\n")
            .find("'search.max_epochs': search.max_epochs and train.epochs both set the runs' epochs; give one") !=
        std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: asha, max_epochs: 9}\nvariants:\n  - {name: a, train: {epochs: 3}}\n")
            .find("variant sets train.epochs, but search.max_epochs sets every run's epochs") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {metric: val_loss}\n")
            .find("'search.metric': 'metric' is what a pruning rule or tpe watches") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, startup_runs: 3}\n")
            .find("'startup_runs' is a setting of the median rule") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, seed: 3}\n").find("'search.seed'") != std::string::npos);
  CHECK(grid_refusal(kBase + epochs + "search: {strategy: asha, rungs: 3}\n").find("'search.rungs'") != std::string::npos);
  // A validation metric needs a validation split.
  CHECK(grid_refusal("name: p\ndataset: {name: mnist, train_limit: 100, test_limit: 50, validation_split: 0}\n"
                "model:\n  builder: {conv_depth: 1, filters: 4, dense: []}\n" + epochs + "search: {strategy: median}\n")
            .find("search.metric val_accuracy needs a validation split") != std::string::npos);
}
