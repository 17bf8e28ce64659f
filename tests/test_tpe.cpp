// The TPE sampler (expand/tpe.h) on synthetic histories, and the grid keys of
// strategy: tpe.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "expand/tpe.h"
#include "grid/grid.h"
#include "tests/support/grid_refusal.h"

using namespace sweep;
using sweep::test::grid_refusal;

namespace {

const std::vector<SearchDimension> kSpace = {
    {"train.learning_rate", "log_uniform", json::array({1e-4, 1e-1})},
    {"train.batch_size", "choice", json::array({32, 64, 128})},
    {"model.builder.filters", "int_uniform", json::array({4, 64})},
};

// 40 trials: the good ones (high value) have learning rates near 0.01,
// batch 64 and 16 filters; the rest are spread out.
std::vector<TpeTrial> history() {
  std::vector<TpeTrial> trials;
  for (int i = 0; i < 40; ++i) {
    const bool good = i % 4 == 0;
    const double lr = good ? 0.01 * std::pow(1.2, (i % 3) - 1) : 1e-4 * std::pow(1000.0, (i * 7 % 40) / 40.0);
    const int batch = good ? 64 : (i % 2 ? 32 : 128);
    const int filters = good ? 16 : 4 + (i * 13) % 60;
    trials.push_back(TpeTrial{{lr, batch, filters}, 1, good ? 0.95 + 0.001 * i : 0.5 + 0.001 * i});
  }
  return trials;
}

}  // namespace

TEST_CASE("tpe: the same seed, history and trial numbers give the same proposals; another seed others") {
  const TpeSettings settings{7, true, 24};
  const auto a = propose_tpe(kSpace, history(), 4, 40, settings);
  const auto b = propose_tpe(kSpace, history(), 4, 40, settings);
  CHECK(a == b);
  const auto c = propose_tpe(kSpace, history(), 4, 40, TpeSettings{8, true, 24});
  CHECK(a != c);
  // Trial numbers key the draws: trial 41 alone is trial 41 of a batch.
  const auto lone = propose_tpe(kSpace, history(), 1, 40, settings);
  CHECK(lone[0] == a[0]);
}

TEST_CASE("tpe: proposals stay in the space and go where the best trials are") {
  const auto proposals = propose_tpe(kSpace, history(), 1, 40, TpeSettings{1, true, 24});
  int near_lr = 0, batch_64 = 0, near_filters = 0;
  const int n = 60;
  for (int k = 0; k < n; ++k) {
    // Each trial number alone on the same history: 60 independent proposals.
    const auto p = propose_tpe(kSpace, history(), 1, 100 + k, TpeSettings{1, true, 24})[0];
    const double lr = p[0].get<double>();
    const int64_t batch = p[1].get<int64_t>(), filters = p[2].get<int64_t>();
    CHECK(lr >= 1e-4);
    CHECK(lr <= 1e-1);
    CHECK((batch == 32 || batch == 64 || batch == 128));
    CHECK(filters >= 4);
    CHECK(filters <= 64);
    CHECK(p[2].is_number_integer());
    near_lr += std::fabs(std::log10(lr) - std::log10(0.01)) < 0.5 ? 1 : 0;
    batch_64 += batch == 64 ? 1 : 0;
    near_filters += std::abs(filters - 16) <= 8 ? 1 : 0;
  }
  // Uniform draws would land there about 1/6, 1/3 and 1/4 of the time.
  CHECK(near_lr > n * 2 / 3);
  CHECK(batch_64 > n * 2 / 3);
  CHECK(near_filters > n / 2);
  CHECK(proposals.size() == 1);
}

TEST_CASE("tpe: a loss is minimised; pruned trials rank below finished ones, by the stage they reached") {
  std::vector<TpeTrial> trials = history();
  for (TpeTrial& t : trials) t.value = 1 - t.value;  // now a loss: the good ones are low
  int near = 0;
  for (int k = 0; k < 30; ++k) {
    const auto p = propose_tpe(kSpace, trials, 1, 200 + k, TpeSettings{2, false, 24})[0];
    near += std::fabs(std::log10(p[0].get<double>()) + 2) < 0.5 ? 1 : 0;
  }
  CHECK(near > 20);
  // The same good values, but pruned at epoch 1 while the others trained on:
  // the finished trials are the better ones now.
  for (TpeTrial& t : trials) t.stage = t.value < 0.1 ? 1 : 9;
  int still_near = 0;
  for (int k = 0; k < 30; ++k) {
    const auto p = propose_tpe(kSpace, trials, 1, 200 + k, TpeSettings{2, false, 24})[0];
    still_near += std::fabs(std::log10(p[0].get<double>()) + 2) < 0.5 ? 1 : 0;
  }
  CHECK(still_near < near);
}

TEST_CASE("tpe: a batch is spread by the constant liar, and an empty history draws from the prior") {
  const auto batch = propose_tpe(kSpace, history(), 6, 40, TpeSettings{3, true, 24});
  std::set<std::string> distinct;
  for (const auto& p : batch) distinct.insert(json(p).dump());
  CHECK(distinct.size() == 6);
  const auto fresh = propose_tpe(kSpace, {}, 3, 0, TpeSettings{3, true, 24});
  REQUIRE(fresh.size() == 3);
  for (const auto& p : fresh) CHECK(p.size() == 3);
}

namespace {

const std::string kBase =
    "name: t\n"
    "dataset: {name: mnist, train_limit: 100, test_limit: 50}\n"
    "model:\n  builder: {conv_depth: 1, filters: 4, dense: []}\n"
    "train: {epochs: 2}\n";
const std::string kSpaceYaml = "space: {train.learning_rate: {log_uniform: [0.001, 0.1]}}";


}  // namespace

TEST_CASE("grid: strategy tpe, its trials, startup trials, batch and pruner") {
  const ExpandedGrid g = parse_grid(kBase + "search: {strategy: TPE, trials: 30, seed: 4, batch: 3, pruner: median, "
                                            "metric: val_loss, " + kSpaceYaml + "}\n",
                                    "g.yaml");
  CHECK(g.tpe.active);
  CHECK(g.tpe.trials == 30);
  CHECK(g.tpe.startup_trials == 10);
  CHECK(g.tpe.batch == 3);
  CHECK(g.pruning.strategy == PruningSpec::Strategy::median);
  CHECK(g.pruning.metric == "val_loss");
  CHECK(g.runs.size() == 10);  // the random startup trials; the rest are proposed as results come
  CHECK(parse_grid(kBase + "search: {strategy: tpe, trials: 4, " + kSpaceYaml + "}\n", "g.yaml").runs.size() == 4);
  CHECK(parse_grid(kBase + "search: {strategy: tpe, trials: 40, startup_trials: 5, " + kSpaceYaml + "}\n", "g.yaml")
            .runs.size() == 5);
}

TEST_CASE("grid: tpe's keys refused with their place when wrong or out of place") {
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, samples: 4, " + kSpaceYaml + "}\n")
            .find("g.yaml:6:34: 'search.samples': strategy: tpe tries 'trials'") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, " + kSpaceYaml + "}\n")
            .find("'search': strategy: tpe needs 'trials'") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, trials: 0, " + kSpaceYaml + "}\n")
            .find("'search.trials': must be >= 1") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, trials: 5, startup_trials: 6, " + kSpaceYaml + "}\n")
            .find("'search.startup_trials': must be at most 5") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {samples: 3, trials: 5, " + kSpaceYaml + "}\n")
            .find("'search.trials': 'trials' is a setting of strategy: tpe") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: asha, pruner: asha}\n")
            .find("'search.pruner': 'pruner' goes with strategy: tpe") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, trials: 5, pruner: random, " + kSpaceYaml + "}\n")
            .find("'search.pruner': unknown value 'random'") != std::string::npos);
  CHECK(grid_refusal(kBase + "search: {strategy: tpe, trials: 5, min_epochs: 1, " + kSpaceYaml + "}\n")
            .find("'search.min_epochs': 'min_epochs' is a setting of a pruning rule") != std::string::npos);
  // TPE searches the space alone: no axes, variants or repeats.
  CHECK(grid_refusal("name: t\ndataset: {name: mnist, train_limit: 100, test_limit: 50}\n"
                "model:\n  builder: {conv_depth: 1, filters: 4, dense: []}\n"
                "train: {epochs: 2, optimizer: [adam, sgd]}\n"
                "search: {strategy: tpe, trials: 5, " + kSpaceYaml + "}\n")
            .find("g.yaml:5:31: 'train.optimizer': strategy: tpe searches search.space alone") != std::string::npos);
  CHECK(grid_refusal(kBase + "repeats: 2\nsearch: {strategy: tpe, trials: 5, " + kSpaceYaml + "}\n")
            .find("'repeats': strategy: tpe tries each configuration once") != std::string::npos);
}
