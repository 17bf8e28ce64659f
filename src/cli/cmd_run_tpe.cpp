// A TPE search, round by round: the trials so far (the random startup ones,
// then each batch TPE proposed) are expanded as the grid's runs, recorded,
// and the ones not done are trained; then TPE proposes the next batch from
// their results, by a constant liar (expand/tpe.h). The next batch is
// proposed when the batch before has finished, so that the search depends on
// the seed and the batch size only, never on which run happened to finish
// first.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/planning.h"
#include "cli/tpe_run.h"
#include "common/error.h"
#include "expand/expand.h"
#include "expand/search.h"
#include "expand/tpe.h"
#include "schedule/resources.h"

namespace sweep::cli {

namespace {

std::vector<json> values_of(const SearchTrial& trial, const std::vector<SearchDimension>& space) {
  std::vector<json> values;
  for (const SearchDimension& d : space) values.push_back(trial.params.value(d.path, json()));
  return values;
}

json params_of(const std::vector<json>& values, const std::vector<SearchDimension>& space) {
  json params = json::object();
  for (size_t d = 0; d < space.size(); ++d) params[space[d].path] = values[d];
  return params;
}

// The trials the database holds for this sweep; they must be over this
// grid's space (an edited space is another search).
std::vector<SearchTrial> recorded_trials(Store& store, const ExpandedGrid& first, const GridSpec& spec) {
  const auto sweep = store.sweep_by_name(first.name);
  if (!sweep) return {};
  std::vector<SearchTrial> trials = store.search_trials(sweep->id);
  for (const SearchTrial& t : trials)
    for (const SearchDimension& d : spec.search_space)
      if (!t.params.contains(d.path) || t.params.size() != spec.search_space.size())
        throw InputError("sweep '" + first.name + "' in " + store.path() + " holds a TPE search over another " +
                             "search.space (its trial " + std::to_string(t.trial) + " has " + t.params.dump() +
                             "): give this grid another name, or use another --db",
                         spec.tree.nearest("search.space"), "search.space");
  return trials;
}

// How TPE ranks a finished trial: a run trained to its end beats any pruned
// one, a run pruned later beats one pruned earlier, then the metric.
TpeTrial tpe_trial(const SearchTrial& trial, const TrialOutcome& outcome, const std::vector<SearchDimension>& space) {
  TpeTrial t;
  t.values = values_of(trial, space);
  t.value = outcome.value;
  if (outcome.status == RunStatus::done) t.stage = 1 << 30;
  else if (outcome.status == RunStatus::pruned) t.stage = outcome.epochs;
  else t.stage = -1;
  return t;
}

}  // namespace

int run_tpe_search(Store& store, const ExpandedGrid& first, ScheduleOptions options) {
  GridSpec spec = read_grid(first.text, first.path);
  const TpeSpec& tpe = spec.tpe;
  std::vector<SearchTrial> trials = recorded_trials(store, first, spec);
  if (trials.empty()) {
    // The random startup trials: the loaded grid's runs, one per draw.
    const auto draws = draw_search_samples(spec);
    std::set<std::string> seen;
    for (const auto& values : draws) {
      const json params = params_of(values, spec.search_space);
      if (!seen.insert(params.dump()).second) continue;  // a repeated draw (a small choice space) is one trial
      trials.push_back(SearchTrial{static_cast<int>(trials.size()), "", params, "random", 0});
    }
  }
  // Four trials per lane: a batch is proposed when the one before has
  // finished, and with pruning its runs last 1 to max_epochs epochs, so one
  // trial per lane left the lanes idle a third of the time (bench/search: 63-70%
  // busy) where four, longest first, keep them 93-97% busy (the same runs
  // replayed in batches of 8; 90-95% measured when the benchmark ran with
  // them). TPE learns from results a batch later.
  constexpr int kTrialsPerLane = 4;
  const int lanes = options.jobs > 0 ? options.jobs : available_cores();
  const int batch = tpe.batch > 0 ? tpe.batch : kTrialsPerLane * lanes;
  const std::string& metric = spec.pruning.metric;
  options.cost_measure_seconds = -1;  // time nothing: a round's few runs fill the lanes in any order
  bool any_failed = false;
  while (true) {
    spec.search_values.clear();
    for (const SearchTrial& t : trials) spec.search_values.push_back(values_of(t, spec.search_space));
    ExpandedGrid grid = expand_grid(spec);
    // No fingerprint: the runs grow round by round, so "all done" is never
    // told from the file alone.
    grid.fingerprint.clear();
    if (grid.runs.size() != trials.size())
      throw InputError("two trials of the search are one configuration (" + std::to_string(trials.size()) +
                           " trials, " + std::to_string(grid.runs.size()) + " runs): the choices of search.space "
                           "must name different values",
                       spec.tree.nearest("search.space"), "search.space");
    const int64_t sweep_id = record_sweep(store, grid);
    for (size_t i = 0; i < trials.size(); ++i) trials[i].run_hash = grid.runs[i].config.hash;
    store.record_trials(sweep_id, trials);
    store.mark_stale_running_interrupted(sweep_id);
    const SweepOutcome outcome = run_sweep(store, sweep_id, grid, options);
    any_failed = any_failed || outcome.exit_code() != kExitOk;
    if (outcome.interrupted_by_signal || (options.fail_fast && any_failed)) return kExitRunsFailed;
    if (static_cast<int>(trials.size()) >= tpe.trials) break;

    // The next batch, from every trial's outcome so far.
    std::vector<TpeTrial> history;
    const std::vector<TrialOutcome> outcomes = store.trial_outcomes(sweep_id, metric);
    for (size_t i = 0; i < trials.size() && i < outcomes.size(); ++i)
      history.push_back(tpe_trial(trials[i], outcomes[i], spec.search_space));
    std::set<std::string> seen;
    for (const SearchTrial& t : trials) seen.insert(t.params.dump());
    const int count = std::min(batch, tpe.trials - static_cast<int>(trials.size()));
    const int next_batch = trials.back().batch + 1;
    TpeSettings settings{spec.search_seed, spec.pruning.maximize(), 24};
    int added = 0;
    for (int k = 0; k < count; ++k) {
      // Proposed one at a time, with the batch's earlier ones as liars; a
      // proposal that repeats a trial is drawn again under another number.
      const int number = static_cast<int>(trials.size());
      for (int attempt = 0; attempt < 16; ++attempt) {
        const auto proposal = propose_tpe(spec.search_space, history, 1, number + attempt * 1000003, settings);
        const json params = params_of(proposal[0], spec.search_space);
        if (!seen.insert(params.dump()).second) continue;
        trials.push_back(SearchTrial{number, "", params, "tpe", next_batch});
        history.push_back(TpeTrial{proposal[0], -1, 0.0});
        ++added;
        break;
      }
    }
    if (added == 0) {
      std::cout << "sweep '" << first.name << "': TPE proposed only configurations already tried; the search ends at "
                << trials.size() << " of " << tpe.trials << " trials\n";
      break;
    }
    if (!options.quiet)
      std::cout << "sweep '" << first.name << "': TPE batch " << next_batch << ": " << added << " new "
                << (added == 1 ? "trial" : "trials") << " (" << trials.size() << " of " << tpe.trials << ")\n";
  }
  return any_failed ? kExitRunsFailed : kExitOk;
}

}  // namespace sweep::cli
