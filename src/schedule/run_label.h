// How a run is named in `sweep run`'s output: its place in the grid and the
// values that set it apart from the grid's other runs, e.g.
//   #3 [small] learning_rate=0.01 batch_size=64 rep=2/3 seed=43
// Kept as parts, not one string, so a line can be laid out to the terminal's
// width by shortening the label (abbreviated keys, then fewer values) and never
// the metrics beside it.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "grid/grid.h"

namespace sweep {

struct RunLabel {
  std::string index;    // "#3": the run's place in the grid, 1-based
  std::string variant;  // the variant's name, or "" (shown once, as "[name]")
  // key (the path's last component, or the whole path where two end alike)
  // and value text, in grid order. Values a run does not have (a key only
  // another variant sets, so null here) are left out.
  std::vector<std::pair<std::string, std::string>> values;

  // The whole label: "#3 [small] learning_rate=0.01 ...".
  std::string text() const;
  // At most `width` columns, shortened only as needed: whole keys, then
  // abbreviated ones (learning_rate -> lr), then whole values dropped from
  // the end, marked " ..". Never less than the index, even when that exceeds
  // `width`.
  std::string fit(int width) const;
};

// The labels of every run of `grid`, in grid order. Runs of a grid with
// repeats also show which repeat they are and their seed ("rep=2/3 seed=43").
std::vector<RunLabel> run_labels(const ExpandedGrid& grid);

// A key as few columns as it takes to still read: known names by their usual
// abbreviation (learning_rate -> lr, batch_size -> bs), snake_case by its
// initials (weight_decay -> wd), other long words by their first 3 letters.
std::string abbreviate_key(const std::string& key);

}  // namespace sweep
