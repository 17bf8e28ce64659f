// Internal to src/report: which runs may be compared for a factor (matched
// groups: they differ in it alone) and, where none do, what changes with it.
// Both are linear in the runs (times 2^fields for the second), so a
// 100,000-run sweep is grouped in well under a second.
#pragma once
#include <string>
#include <vector>

#include "report/analysis.h"

namespace sweep::report {

// The fields that define a matched group for `factor`: every other varied
// field (seeds and the variant's name aside: a name is not a setting).
std::vector<std::string> other_fields(const std::string& factor, const std::vector<std::string>& factors);

// A layer-list model's whole stack is part of what must be equal (it is not a
// varied field of its own); a factor inside it (model.layers.7.units) is blanked.
json layer_stack_without(const RunData& run, const std::string& factor);

// Finished runs grouped by everything but `factor`, in order of first run;
// only groups where the factor takes two or more values are comparisons.
std::vector<std::vector<size_t>> matched_runs(const SweepData& sweep, const std::string& factor,
                                              const std::vector<std::string>& factors);

// Without a matched group: the other fields (and "model.layers") that change
// whenever this one does, over the pair of runs with different values that
// differs in the fewest (the first such pair by run order).
std::vector<std::string> confounders(const SweepData& sweep, const std::string& factor,
                                     const std::vector<std::string>& factors);

}  // namespace sweep::report
