// The cost model's arithmetic and the live ETA (schedule/eta.h) on simulated
// sweeps whose true times differ from the estimates, and the measured step
// costs: measured once, then taken from the process cache and the database.
// No timing is asserted beyond "measured, positive"; accuracy against real
// sweeps is bench/eta's job.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "schedule/cost_model.h"
#include "schedule/eta.h"
#include "schedule/step_costs.h"
#include "store/store.h"
#include "tests/support/layers.h"
#include "tests/support/temp_dir.h"

using namespace sweep;

TEST_CASE("run_cost: setup + epochs x (steps x step + validation x predict) + test x predict") {
  RunWork work;
  work.fit_images = 900;
  work.val_images = 100;
  work.test_images = 200;
  work.train_steps = 3 * 15;
  const StepCost step{0.5, 0.01, 0.0001};
  const RunCost cost = run_cost(work, 3, step);
  CHECK(cost.measured);
  CHECK(cost.epochs == 3);
  CHECK(cost.setup == doctest::Approx(0.5));
  CHECK(cost.epoch == doctest::Approx(15 * 0.01 + 100 * 0.0001));
  CHECK(cost.final_eval == doctest::Approx(200 * 0.0001));
  CHECK(cost.total() == doctest::Approx(0.5 + 3 * 0.16 + 0.02));
}

TEST_CASE("list_schedule_makespan: longest first onto the lane that frees first") {
  CHECK(list_schedule_makespan({}, {0, 0}) == 0);
  CHECK(list_schedule_makespan({4, 3, 3, 2}, {0, 0}) == doctest::Approx(6));  // 4+2 | 3+3
  CHECK(list_schedule_makespan({5}, {0, 0}) == doctest::Approx(5));
  CHECK(list_schedule_makespan({1, 1}, {10, 0}) == doctest::Approx(10));     // both fit beside the busy lane
  CHECK(list_schedule_makespan({3, 3, 3}, {0}) == doctest::Approx(9));
}

namespace {

// A simulated sweep on identical lanes: runs of `epochs` epochs whose true
// epoch time is the estimate x `truth`, taken longest first by the lane that
// frees first. Calls `probe(now, true_remaining)` after every epoch event.
struct SimRun {
  RunCost estimate;
  double truth = 1;  // actual epoch time / estimated
  std::string key;
};

template <typename Probe>
double simulate(const std::vector<SimRun>& runs, int lanes, EtaModel& eta, Probe probe) {
  struct Event {
    double time;
    int lane, run, epoch;  // epoch 0: setup done
  };
  std::vector<int> order(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return runs[size_t(a)].estimate.total() > runs[size_t(b)].estimate.total(); });
  for (size_t i = 0; i < runs.size(); ++i) eta.queue(static_cast<int>(i), runs[i].estimate, runs[i].key);
  // The true schedule first (to know the true end), then replayed through the model.
  std::vector<double> lane_free(size_t(lanes), 0.0);
  std::vector<Event> events;
  std::vector<std::pair<double, std::pair<int, int>>> starts;  // time, (lane, run)
  for (int run : order) {
    const size_t lane = size_t(std::min_element(lane_free.begin(), lane_free.end()) - lane_free.begin());
    const SimRun& r = runs[size_t(run)];
    double t = lane_free[lane];
    starts.push_back({t, {int(lane), run}});
    t += r.estimate.setup * r.truth;
    for (int e = 1; e <= r.estimate.epochs; ++e) {
      t += r.estimate.epoch * r.truth;
      events.push_back({t, int(lane), run, e});
    }
    t += r.estimate.final_eval * r.truth;
    events.push_back({t, int(lane), run, r.estimate.epochs + 1});  // finished
    lane_free[lane] = t;
  }
  const double end = *std::max_element(lane_free.begin(), lane_free.end());
  // Replay in time order; a start at the same time as a finish comes after it.
  std::vector<std::pair<double, int>> timeline;  // (time, index): index < 0 = start -index-1
  for (size_t i = 0; i < events.size(); ++i) timeline.push_back({events[i].time, int(i)});
  for (size_t i = 0; i < starts.size(); ++i) timeline.push_back({starts[i].first + 1e-9, -int(i) - 1});
  std::stable_sort(timeline.begin(), timeline.end());
  for (const auto& [time, index] : timeline) {
    if (index < 0) {
      const auto& [lane, run] = starts[size_t(-index - 1)].second;
      eta.started(run, lane, time);
      continue;
    }
    const Event& event = events[size_t(index)];
    const SimRun& r = runs[size_t(event.run)];
    if (event.epoch <= r.estimate.epochs)
      eta.epoch_done(event.lane, r.estimate.epoch * r.truth, time);
    else
      eta.finished(event.lane);
    probe(time, end - time);
  }
  return end;
}

RunCost cost(double epoch, int epochs, double setup = 0.2, double final_eval = 0.1) {
  RunCost c;
  c.setup = setup;
  c.epoch = epoch;
  c.epochs = epochs;
  c.final_eval = final_eval;
  c.measured = true;
  return c;
}

}  // namespace

TEST_CASE("the ETA before anything runs is the list schedule of the estimates") {
  EtaModel eta(2);
  eta.queue(0, cost(1, 4), "a");
  eta.queue(1, cost(2, 2), "b");
  eta.queue(2, cost(1, 1), "a");
  CHECK(eta.eta(0) == doctest::Approx(list_schedule_makespan({4.3, 4.3, 1.3}, {0, 0})));
  CHECK(eta.correction() == 1.0);
}

TEST_CASE("a machine uniformly 1.6x slower than estimated: the ETA is right after the first epoch") {
  std::vector<SimRun> runs;
  for (int i = 0; i < 12; ++i) runs.push_back({cost(1.0 + 0.25 * (i % 4), 5), 1.6, "net" + std::to_string(i % 4)});
  EtaModel eta(2);
  int probes = 0;
  const double end = simulate(runs, 2, eta, [&](double now, double truth) {
    if (truth <= 0) return;
    ++probes;
    // Setup and the final evaluation are scaled by the epochs' ratio too, so
    // once an epoch has finished everything left is priced right.
    CHECK(eta.eta(now) == doctest::Approx(truth).epsilon(1e-6));
  });
  CHECK(end > 0);
  CHECK(probes > 20);
  CHECK(eta.correction() == doctest::Approx(1.6));
}

TEST_CASE("per-network errors (one network 30% slower than measured, one 10%): each learns its own") {
  std::vector<SimRun> runs;
  for (int i = 0; i < 16; ++i) {
    const bool heavy = i % 2 == 0;
    runs.push_back({cost(heavy ? 2.0 : 1.0, 4), heavy ? 1.3 : 1.1, heavy ? "heavy" : "light"});
  }
  EtaModel eta(2);
  // Longest first: the heavy runs go first, and until a light run has
  // finished an epoch, light runs are priced with the heavy runs' ratio (1.3
  // for their 1.1): the ETA is high by 8 runs x 4.3 s x 0.2 / 2 lanes. Once
  // both networks have run an epoch the ETA is exact and stays put.
  double error_before = 0, error_after = 0, first_end = -1, drift_after = 0;
  simulate(runs, 2, eta, [&](double now, double truth) {
    if (truth <= 0) return;
    const double predicted = eta.eta(now);
    const bool both_seen = eta.correction() > 1.0 && eta.correction() < 1.3 - 1e-9;
    if (!both_seen) {
      error_before = std::max(error_before, predicted - truth);
      return;
    }
    error_after = std::max(error_after, std::fabs(predicted - truth));
    if (first_end < 0) first_end = now + predicted;
    drift_after = std::max(drift_after, std::fabs(now + predicted - first_end));
  });
  CHECK(error_before == doctest::Approx(8 * 4.3 * 0.2 / 2));
  CHECK(error_after < 1e-6);
  CHECK(drift_after < 1e-6);
}

TEST_CASE("a run that stops early or is dropped leaves the ETA") {
  EtaModel eta(1);
  eta.queue(0, cost(1, 10, 0, 0), "a");
  eta.queue(1, cost(1, 10, 0, 0), "a");
  CHECK(eta.eta(0) == doctest::Approx(20));
  eta.started(0, 0, 0);
  eta.epoch_done(0, 1.0, 1.0);
  CHECK(eta.eta(1.0) == doctest::Approx(19));
  eta.finished(0);  // early stop after one epoch
  CHECK(eta.eta(1.0) == doctest::Approx(10));
  eta.dropped(1);   // another sweep process took it
  CHECK(eta.eta(1.0) == 0);
}

TEST_CASE("step costs: measured on the real kernels, then reused from the process and the database") {
  test::TempDir dir("step_costs");
  RunConfig small, large;
  small.model = test::mnist_model({test::flatten(), test::dense(10, Activation::softmax)});
  large.model = test::mnist_model({test::conv(16, 3, Activation::relu), test::flatten(),
                                   test::dense(10, Activation::softmax)});
  small.train.batch_size = large.train.batch_size = 32;
  const StepKey small_key = step_key(small, "cpu", 1, 0, 1);
  const StepKey large_key = step_key(large, "cpu", 1, 0, 1);
  CHECK(small_key.text() != large_key.text());
  CHECK(small_key.text().find("|b32|") != std::string::npos);
  {
    auto store = Store::open((dir.path / "results.db").string());
    const StepCostReport report =
        ensure_step_costs({{small_key, &small.model, 1, network_family(small.model), 0}, {large_key, &large.model, 2, network_family(large.model), 0}}, store.get(), 1, 60);
    CHECK(report.wanted == 2);
    CHECK(report.measured + report.cached == 2);
    const auto small_cost = step_cost(small_key), large_cost = step_cost(large_key);
    REQUIRE(small_cost);
    REQUIRE(large_cost);
    CHECK(small_cost->train_step > 0);
    CHECK(small_cost->predict_image > 0);
    // A 16-filter convolution over 28x28 images costs more than a softmax regression.
    CHECK(large_cost->train_step > small_cost->train_step);
    // Asked again: nothing is measured.
    const StepCostReport again = ensure_step_costs({{small_key, &small.model, 1, network_family(small.model), 0}}, store.get(), 1, 60);
    CHECK(again.measured == 0);
    // The database holds both rows, with the machine in their key.
    const auto rows = store->step_costs({small_key.text(), large_key.text(), "no such key"});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].train_step == doctest::Approx(small_cost->train_step));
  }
  // A budget of 0 measures nothing new: what is not known stays unpriced.
  RunConfig other = small;
  other.train.batch_size = 7;
  const StepKey other_key = step_key(other, "cpu", 1, 0, 1);
  const StepCostReport none = ensure_step_costs({{other_key, &other.model, 1, network_family(other.model), 0}}, nullptr, 1, -1);
  CHECK(none.measured == 0);
  CHECK(none.skipped == 1);
  CHECK_FALSE(step_cost(other_key));
}

TEST_CASE("step costs: the time budget is the grid's, so a second plan does not spend it again") {
  test::TempDir dir("step_costs_budget");
  RunConfig a, b;
  a.model = b.model = test::mnist_model({test::flatten(), test::dense(10, Activation::softmax)});
  a.train.batch_size = 5;  // batch sizes no other test case prices: fresh keys
  b.train.batch_size = 6;
  const StepKey a_key = step_key(a, "cpu", 1, 0, 1), b_key = step_key(b, "cpu", 1, 0, 1);
  const std::vector<StepCostRequest> requests = {{a_key, &a.model, 2, network_family(a.model), 0}, {b_key, &b.model, 1, network_family(b.model), 0}};
  auto store = Store::open((dir.path / "results.db").string());
  // A budget of 0 s: the most expensive network is timed, then the budget is spent.
  const StepCostReport first = ensure_step_costs(requests, store.get(), 1, 0);
  CHECK(first.measured == 1);
  CHECK(first.skipped == 1);
  REQUIRE(step_cost(a_key));
  CHECK_FALSE(step_cost(b_key));
  const auto rows = store->step_costs({a_key.text()});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].measure_seconds > 0);
  CHECK(rows[0].measure_seconds >= rows[0].setup + rows[0].train_step);
  // The same budget again: what timing `a` took is charged, nothing more is timed.
  const StepCostReport second = ensure_step_costs(requests, store.get(), 1, 0);
  CHECK(second.measured == 0);
  CHECK(second.skipped == 1);
  CHECK_FALSE(step_cost(b_key));
  // A budget that covers both: only the one still missing is timed.
  const StepCostReport third = ensure_step_costs(requests, store.get(), 1, 60);
  CHECK(third.measured == 1);
  CHECK(step_cost(b_key));
}

TEST_CASE("network_family: layer kinds and activations in order, not their sizes") {
  const ModelSpec a = test::mnist_model({test::conv(8, 3, Activation::relu), test::maxpool(), test::flatten(),
                                         test::dense(10, Activation::softmax)});
  const ModelSpec b = test::mnist_model({test::conv(32, 5, Activation::relu), test::maxpool(), test::flatten(),
                                         test::dense(10, Activation::softmax)});
  const ModelSpec c = test::mnist_model({test::conv(8, 3, Activation::tanh), test::maxpool(), test::flatten(),
                                         test::dense(10, Activation::softmax)});
  CHECK(network_family(a) == "conv2d:relu maxpool2d flatten dense:softmax");
  CHECK(network_family(a) == network_family(b));
  CHECK(network_family(a) != network_family(c));
}

TEST_CASE("step costs: one network of each family is timed before the rest") {
  RunConfig big, bigger, other;
  big.model = test::mnist_model({test::flatten(), test::dense(64, Activation::relu), test::dense(10, Activation::softmax)});
  bigger.model = test::mnist_model({test::flatten(), test::dense(256, Activation::relu), test::dense(10, Activation::softmax)});
  other.model = test::mnist_model({test::flatten(), test::dense(10, Activation::softmax)});
  big.train.batch_size = bigger.train.batch_size = other.train.batch_size = 24;  // fresh keys
  const StepKey big_key = step_key(big, "cpu", 1, 0, 1), bigger_key = step_key(bigger, "cpu", 1, 0, 1),
                other_key = step_key(other, "cpu", 1, 0, 1);
  REQUIRE(ensure_step_costs({{big_key, &big.model, 2, network_family(big.model), 0}}, nullptr, 1, 60).measured == 1);
  // A budget for one more: the softmax regression, the only one of its
  // family, goes before the larger MLP, whose family is already timed.
  const double spent = step_cost(big_key)->measure_seconds;
  const StepCostReport report = ensure_step_costs({{big_key, &big.model, 2, network_family(big.model), 0},
                                                   {bigger_key, &bigger.model, 3, network_family(bigger.model), 0},
                                                   {other_key, &other.model, 1, network_family(other.model), 0}},
                                                  nullptr, 1, spent);
  CHECK(report.measured == 1);
  CHECK(step_cost(other_key));
  CHECK_FALSE(step_cost(bigger_key));
}

TEST_CASE("step costs: a family's quickest network to time stands for it") {
  RunConfig small_batch, large_batch;
  small_batch.model = large_batch.model =
      test::mnist_model({test::conv(4, 3, Activation::elu), test::flatten(), test::dense(10, Activation::softmax)});
  small_batch.train.batch_size = 13;  // fresh keys
  large_batch.train.batch_size = 260;
  const StepKey small_key = step_key(small_batch, "cpu", 1, 0, 1), large_key = step_key(large_batch, "cpu", 1, 0, 1);
  const std::string family = network_family(small_batch.model);
  // The large batch costs the sweep more (priority), but one step of it takes 20x longer to time.
  const StepCostReport report = ensure_step_costs(
      {{large_key, &large_batch.model, 20, family, 260}, {small_key, &small_batch.model, 1, family, 13}}, nullptr, 1,
      0);
  CHECK(report.measured == 1);
  CHECK(step_cost(small_key));
  CHECK_FALSE(step_cost(large_key));
}

TEST_CASE("estimate_costs: networks left unmeasured are priced by FLOPs scaled by their timed family") {
  // Five softmax regressions and MLPs; three are timed first, the other two
  // are priced by FLOPs, scaled by their family (a budget below zero times nothing more).
  std::vector<RunConfig> configs(5);
  const int hidden[] = {0, 32, 128, 512, 64};
  for (size_t i = 0; i < configs.size(); ++i) {
    std::vector<LayerSpec> layers = {test::flatten()};
    if (hidden[i] > 0) layers.push_back(test::dense(hidden[i], Activation::relu));
    layers.push_back(test::dense(10, Activation::softmax));
    configs[i].model = test::mnist_model(layers);
    configs[i].train.batch_size = 48;  // fresh keys for this test case
    configs[i].train.epochs = 1;
    configs[i].dataset.train_limit = 1000;
    configs[i].dataset.test_limit = 500;
  }
  const std::vector<LaneSpec> lanes = {{"cpu", 0, 1, false, 1}};
  std::vector<StepCostRequest> timed;
  for (size_t i = 0; i < 3; ++i) timed.push_back({step_key(configs[i], "cpu", 1, 0, 1), &configs[i].model, 1, network_family(configs[i].model), 0});
  REQUIRE(ensure_step_costs(timed, nullptr, 1, 60).measured == 3);
  std::vector<const RunConfig*> runs;
  for (const RunConfig& config : configs) runs.push_back(&config);
  const CostTable table = estimate_costs(runs, lanes, nullptr, -1);
  CHECK(table.modelled_runs == 2);
  CHECK(table.family_priced == 2);  // both untimed ones are MLPs, and two MLPs were timed
  CHECK(cost_note(table).find("scaled by timed networks of their family (2)") != std::string::npos);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(table.costs[i][0].measured == (i < 3));
    CHECK(table.costs[i][0].total() > 0);
  }
  // The 512-unit MLP costs more than the 128-unit one its price is scaled from.
  CHECK(table.costs[3][0].total() > table.costs[2][0].total());
}
