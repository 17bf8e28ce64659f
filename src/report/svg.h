// A small SVG writer for report figures (no external dependencies): line
// charts with axes, ticks, labels, title and legend, and an annotated heatmap.
// Output is standalone SVG 1.1 (xmlns set) that GitHub renders inline, and is
// deterministic: coordinates are printed with fixed decimals.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sweep::report {

struct Series {
  std::string label;           // legend text
  std::vector<double> x, y;    // same length; non-finite y values are skipped
  int color = 0;               // index into the palette (wraps)
  bool dashed = false;         // e.g. validation curves
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool integer_x = true;       // x ticks on whole numbers (epochs)
};

// The chart as SVG text.
std::string render_line_chart(const LineChart& chart);

// A count matrix (row = true label, column = predicted) with every cell's
// count printed; darker = more samples.
struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> labels;  // one per class
  std::vector<int64_t> counts;      // labels.size()^2, row-major
};
std::string render_heatmap(const Heatmap& map);

// "Nice" axis ticks covering [lo, hi]: steps of 1, 2, 2.5 or 5 x 10^k,
// about `target` of them. Exposed for tests.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

}  // namespace sweep::report
