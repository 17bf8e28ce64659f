// The effect of one factor, ceteris paribus: its matched groups (runs that
// differ in it alone), each with one row per value, a noise verdict and a
// sentence, and a tally over the groups.
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "report/analysis.h"
#include "report/matching.h"

namespace sweep::report {
namespace {

// Speed is a result too (batch size and depth trade it against accuracy):
// said only when the slowest value's epochs take 25% longer than the
// fastest's, since concurrent runs share the machine and a few percent is noise.
// Past `listed` values only the fastest and the slowest are named.
std::string speed_sentence(const std::vector<EffectRow>& rows, size_t listed) {
  const EffectRow* fast = nullptr;
  const EffectRow* slow = nullptr;
  std::string list;
  for (const auto& row : rows) {
    if (row.epoch_seconds.n == 0 || row.epoch_seconds.mean <= 0) return {};
    list += (list.empty() ? "" : ", ") + value_text(row.value) + " " + duration(row.epoch_seconds.mean);
    if (!fast || row.epoch_seconds.mean < fast->epoch_seconds.mean) fast = &row;
    if (!slow || row.epoch_seconds.mean > slow->epoch_seconds.mean) slow = &row;
  }
  if (rows.size() < 2 || slow->epoch_seconds.mean < 1.25 * fast->epoch_seconds.mean) return {};
  if (rows.size() > listed)
    list = "fastest " + value_text(fast->value) + " " + duration(fast->epoch_seconds.mean) + ", slowest " +
           value_text(slow->value) + " " + duration(slow->epoch_seconds.mean) + " (of " +
           std::to_string(rows.size()) + " values)";
  return "Time per epoch: " + list + "; " + value_text(fast->value) + " is " +
         fixed(slow->epoch_seconds.mean / fast->epoch_seconds.mean, 1) + "x faster than " + value_text(slow->value) + ".";
}

// The values of a group, best first: "learning rate 0.001 (0.9890) > 0.01 (0.9678)";
// past `listed` values the middle ones are counted, not named.
std::string ranking(const std::string& name, const std::vector<const EffectRow*>& ranked, size_t listed) {
  std::string text;
  const std::vector<size_t> shown = head_and_tail(ranked.size(), listed);
  for (size_t s = 0; s < shown.size(); ++s) {
    const size_t k = shown[s];
    if (s == 0) text += name + " ";
    else if (k != shown[s - 1] + 1) text += " ... (" + std::to_string(k - shown[s - 1] - 1) + " more) ... ";
    else text += ranked[k - 1]->accuracy.mean > ranked[k]->accuracy.mean ? " > " : " = ";
    text += value_text(ranked[k]->value) + " (" + fixed(ranked[k]->accuracy.mean, 4) + ")";
  }
  return text;
}

// One value's row of a group: the stats of its runs (indices into sweep.runs).
EffectRow value_row(const SweepData& sweep, const json& value, const std::vector<size_t>& runs) {
  EffectRow row;
  row.value = value;
  std::vector<double> acc, loss, secs, epoch_secs;
  double best = -1;
  for (size_t i : runs) {
    const RunData& r = sweep.runs[i];
    acc.push_back(*r.test_accuracy);
    if (r.test_loss) loss.push_back(*r.test_loss);
    if (r.wall_seconds) secs.push_back(*r.wall_seconds);
    if (!r.epochs.empty()) {
      double sum = 0;
      for (const auto& e : r.epochs) sum += e.seconds;
      epoch_secs.push_back(sum / static_cast<double>(r.epochs.size()));
    }
    row.run_ids.push_back(r.id);
    if (*r.test_accuracy > best) best = *r.test_accuracy, row.best_run = r.id;
  }
  row.accuracy = stat_of(acc);
  row.loss = stat_of(loss);
  row.seconds = stat_of(secs);
  row.epoch_seconds = stat_of(epoch_secs);
  return row;
}

}  // namespace

std::vector<size_t> head_and_tail(size_t count, size_t limit) {
  std::vector<size_t> shown;
  const size_t tail = count > limit ? limit / 4 : 0;
  const size_t head = count > limit ? limit - tail : count;
  for (size_t k = 0; k < head; ++k) shown.push_back(k);
  for (size_t k = count - tail; k < count; ++k) shown.push_back(k);
  return shown;
}

std::string id_list(const std::vector<int64_t>& ids, size_t shown) {
  std::string text;
  for (size_t i = 0; i < ids.size() && i < shown; ++i) text += (i ? ", " : "") + std::to_string(ids[i]);
  if (ids.size() > shown) text += ", ... (" + std::to_string(ids.size()) + " runs)";
  return text;
}

Effect effect_of(const SweepData& sweep, const std::string& factor, const std::vector<std::string>& factors,
                 std::optional<double> noise_sd, const EffectLimits& limits) {
  Effect effect;
  effect.factor = factor;
  const std::string name = field_name(factor, factors);
  const auto groups = matched_runs(sweep, factor, factors);
  if (groups.empty()) {
    effect.confounded = confounders(sweep, factor, factors);
    return effect;
  }
  // A group is described by the other fields that are factors in their own
  // right (they have matched groups too); artefacts of mixing model forms
  // would only bury them.
  std::vector<std::string> described;
  for (const auto& f : other_fields(factor, factors))
    if (!matched_runs(sweep, f, factors).empty()) described.push_back(f);
  const auto values = values_of(sweep, factor);
  // Each run's value as its place in `values`, found once: comparing every
  // run with every value made a 100,000-run report quadratic.
  std::unordered_map<std::string, size_t> value_index;
  for (size_t v = 0; v < values.size(); ++v) value_index.emplace(values[v].dump(), v);
  std::map<std::string, int> best_count, beyond_count;
  for (const auto& members : groups) {
    MatchedGroup g;
    const RunData& first = sweep.runs[members.front()];
    for (const auto& f : described) g.others.emplace_back(f, value_of(first, f));
    // The members in value order (and run order within a value).
    std::vector<std::pair<size_t, size_t>> by_value;  // (value index, run index)
    for (size_t i : members) by_value.emplace_back(value_index.at(value_of(sweep.runs[i], factor).dump()), i);
    std::stable_sort(by_value.begin(), by_value.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<int64_t> all_ids;
    std::vector<size_t> in_rows;  // run indices, row by row
    for (size_t k = 0; k < by_value.size();) {
      std::vector<size_t> runs;
      size_t end = k;
      for (; end < by_value.size() && by_value[end].first == by_value[k].first; ++end) runs.push_back(by_value[end].second);
      g.rows.push_back(value_row(sweep, values[by_value[k].first], runs));
      all_ids.insert(all_ids.end(), g.rows.back().run_ids.begin(), g.rows.back().run_ids.end());
      in_rows.insert(in_rows.end(), runs.begin(), runs.end());
      k = end;
    }
    std::sort(all_ids.begin(), all_ids.end());
    std::vector<const EffectRow*> ranked;
    for (const auto& row : g.rows) ranked.push_back(&row);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const EffectRow* x, const EffectRow* y) { return x->accuracy.mean > y->accuracy.mean; });
    const EffectRow& hi = *ranked.front();
    const EffectRow& lo = *ranked.back();
    // Best against worst: their difference has standard error
    // sqrt(se_hi^2 + se_lo^2), from seed noise when there are repeats, else
    // from the binomial error of each accuracy on the test set.
    double se = 0;
    std::string noise_kind;
    if (noise_sd) {
      se = *noise_sd * std::sqrt(1.0 / hi.accuracy.n + 1.0 / lo.accuracy.n);
      noise_kind = "seed-to-seed noise";
    } else if (const int64_t n = test_images(first); n > 0) {
      const double a = binomial_se(hi.accuracy.mean, n), b = binomial_se(lo.accuracy.mean, n);
      se = std::sqrt(a * a / hi.accuracy.n + b * b / lo.accuracy.n);
      noise_kind = "test-set noise";
    }
    g.noise = 2 * se;
    const double spread = hi.accuracy.mean - lo.accuracy.mean;
    g.beyond_noise = se > 0 && spread > g.noise;
    std::string where;
    for (const auto& [f, v] : g.others) where += (where.empty() ? "" : ", ") + field_name(f, factors) + " " + value_text(v);
    g.sentence = (where.empty() ? "Everything else equal" : "At " + where) + " (runs " + id_list(all_ids, limits.ids) +
                 "): " + ranking(name, ranked, limits.values) + ". ";
    if (se <= 0) {
      g.sentence += "Best minus worst: " + fixed(spread, 4) + " (no noise estimate: the test-set size is unknown).";
    } else if (g.beyond_noise) {
      g.sentence += "Best minus worst, " + fixed(spread, 4) + ", is beyond " + noise_kind + " (2 x standard error = " +
                    fixed(g.noise, 4) + "): " + value_text(hi.value) + " is better than " + value_text(lo.value) + ".";
    } else {
      g.sentence += "Best minus worst, " + fixed(spread, 4) + ", is within " + noise_kind + " (2 x standard error = " +
                    fixed(g.noise, 4) + "): a tie.";
    }
    size_t stuck = 0;
    for (size_t i : in_rows)
      if (const std::string why = not_learning(sweep.runs[i]); !why.empty() && ++stuck <= limits.ids)
        g.sentence += " Run " + std::to_string(sweep.runs[i].id) + " did not learn (" + why + ").";
    if (stuck > limits.ids)
      g.sentence += " " + std::to_string(stuck - limits.ids) + " more runs here did not learn.";
    g.speed = speed_sentence(g.rows, limits.values);
    ++best_count[hi.value.dump()];
    if (g.beyond_noise) ++beyond_count[hi.value.dump()];
    effect.groups.push_back(std::move(g));
  }
  if (effect.groups.size() > 1) {
    const int n = static_cast<int>(effect.groups.size());
    auto count = [](const std::map<std::string, int>& counts, const std::string& key) {
      const auto it = counts.find(key);
      return it == counts.end() ? 0 : it->second;
    };
    // The winners in value order; past limits.values, those that won most often.
    std::vector<const json*> winners;
    for (const json& value : values)
      if (count(best_count, value.dump()) > 0) winners.push_back(&value);
    if (winners.size() > limits.values)
      std::stable_sort(winners.begin(), winners.end(), [&](const json* a, const json* b) {
        return count(best_count, a->dump()) > count(best_count, b->dump());
      });
    std::string tally;
    for (size_t w = 0; w < winners.size() && w < limits.values; ++w) {
      const std::string key = winners[w]->dump();
      tally += (tally.empty() ? "" : "; ") + value_text(*winners[w]) + " in " + std::to_string(count(best_count, key)) +
               " (" + std::to_string(count(beyond_count, key)) + " beyond noise)";
    }
    if (winners.size() > limits.values) {
      int rest = 0;
      for (size_t w = limits.values; w < winners.size(); ++w) rest += count(best_count, winners[w]->dump());
      tally += "; " + std::to_string(winners.size() - limits.values) + " other values in " + std::to_string(rest);
    }
    effect.summary = std::to_string(n) + " comparisons with everything else equal. Best " + name + ": " + tally + ".";
    if (best_count.size() > 1) effect.summary += " The best value depends on the other settings.";
  }
  return effect;
}

}  // namespace sweep::report
