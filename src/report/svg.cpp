#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "report/format.h"

namespace sweep::report {
namespace {

// Tableau 10: distinguishable, readable on white and on GitHub's dark mode.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr int kPaletteSize = 10;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Tick label text with as many decimals as the step needs.
std::string tick_text(double value, double step) {
  int decimals = 0;
  while (decimals < 6 && std::fabs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) > 1e-9)
    ++decimals;
  return fixed(value, decimals);
}

std::string header(int width, int height) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

std::string text(double x, double y, const std::string& content, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (extra.empty() ? "" : " " + extra) + ">" +
         xml_escape(content) + "</text>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::fabs(lo) * 0.05, 0.05);
    lo -= pad;
    hi += pad;
  }
  const double rough = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= rough) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double t = first; t <= hi + step * 0.999; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string render_line_chart(const LineChart& chart) {
  // The legend sits right of the plot; its width follows the longest label
  // (about 6.6 px per character at the legend's font size) so none is clipped.
  size_t longest_label = 0;
  for (const auto& s : chart.series) longest_label = std::max(longest_label, s.label.size());
  constexpr int kHeight = 420;
  constexpr double kLeft = 70, kPlotWidth = 450, kTop = 40, kBottom = 55;
  const double kRight = std::max(200.0, 50.0 + 6.6 * static_cast<double>(longest_label));
  const int kWidth = static_cast<int>(kLeft + kPlotWidth + kRight);
  const double plot_w = kPlotWidth, plot_h = kHeight - kTop - kBottom;

  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const auto& s : chart.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;

  std::vector<double> xticks;
  if (chart.integer_x) {
    const double span = std::max(xmax - xmin, 1.0);
    const double step = std::max(1.0, std::ceil(span / 10.0));
    if (xmax - xmin < 1) xmin -= 0.5, xmax += 0.5;
    for (double t = std::ceil(xmin); t <= xmax + 1e-9; t += step) xticks.push_back(t);
  } else {
    xticks = nice_ticks(xmin, xmax);
    xmin = xticks.front();
    xmax = xticks.back();
  }
  if (xmax - xmin < 1e-12) xmin -= 0.5, xmax += 0.5;
  const std::vector<double> yticks = nice_ticks(ymin, ymax);
  const double ylo = yticks.front(), yhi = yticks.back();
  const double ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : 1.0;

  auto px = [&](double x) { return kLeft + (x - xmin) / (xmax - xmin) * plot_w; };
  auto py = [&](double y) { return kTop + plot_h - (y - ylo) / (yhi - ylo) * plot_h; };

  std::string out = header(kWidth, kHeight);
  out += text(kLeft + plot_w / 2, 22, chart.title, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
  // Grid lines and ticks.
  for (double t : yticks) {
    out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(py(t)) + "\" x2=\"" + num(kLeft + plot_w) + "\" y2=\"" +
           num(py(t)) + "\" stroke=\"#e0e0e0\"/>\n";
    out += text(kLeft - 6, py(t) + 4, tick_text(t, ystep), "text-anchor=\"end\"");
  }
  for (double t : xticks) {
    out += "<line x1=\"" + num(px(t)) + "\" y1=\"" + num(kTop + plot_h) + "\" x2=\"" + num(px(t)) + "\" y2=\"" +
           num(kTop + plot_h + 5) + "\" stroke=\"black\"/>\n";
    out += text(px(t), kTop + plot_h + 18, chart.integer_x ? fixed(t, 0) : tick_text(t, xticks.size() > 1 ? xticks[1] - xticks[0] : 1.0),
                "text-anchor=\"middle\"");
  }
  // Axes and their labels.
  out += "<polyline points=\"" + num(kLeft) + "," + num(kTop) + " " + num(kLeft) + "," + num(kTop + plot_h) + " " +
         num(kLeft + plot_w) + "," + num(kTop + plot_h) + "\" fill=\"none\" stroke=\"black\" class=\"axis\"/>\n";
  out += text(kLeft + plot_w / 2, kHeight - 14, chart.x_label, "text-anchor=\"middle\"");
  out += text(18, kTop + plot_h / 2, chart.y_label,
              "text-anchor=\"middle\" transform=\"rotate(-90 18 " + num(kTop + plot_h / 2) + ")\"");

  // One polyline per series (plus point markers, so single-epoch runs show).
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    const char* color = kPalette[((s.color % kPaletteSize) + kPaletteSize) % kPaletteSize];
    std::string points, markers;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      if (!points.empty()) points += ' ';
      points += num(px(s.x[i])) + "," + num(py(s.y[i]));
      markers += "<circle cx=\"" + num(px(s.x[i])) + "\" cy=\"" + num(py(s.y[i])) + "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
    }
    out += "<polyline class=\"series\" data-label=\"" + xml_escape(s.label) + "\" points=\"" + points +
           "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" +
           (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    out += markers;
    // Legend entry.
    const double ly = kTop + 10 + 18.0 * static_cast<double>(k);
    const double lx = kLeft + plot_w + 14;
    out += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 24) + "\" y2=\"" + num(ly) +
           "\" stroke=\"" + color + "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    out += text(lx + 30, ly + 4, s.label, "class=\"legend\"");
  }
  out += "</svg>\n";
  return out;
}

std::string render_heatmap(const Heatmap& map) {
  const int n = static_cast<int>(map.labels.size());
  constexpr double kLeft = 70, kTop = 50, kCell = 44;
  const double size = kCell * n;
  const int width = static_cast<int>(kLeft + size + 20), height = static_cast<int>(kTop + size + 50);
  int64_t max_count = 1;
  for (int64_t c : map.counts) max_count = std::max(max_count, c);

  std::string out = header(width, height);
  out += text(kLeft + size / 2, 22, map.title, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      const int64_t count = static_cast<size_t>(r * n + c) < map.counts.size() ? map.counts[static_cast<size_t>(r * n + c)] : 0;
      // Square-root scale: the off-diagonal errors stay visible beside the large diagonal.
      const double t = std::sqrt(static_cast<double>(count) / static_cast<double>(max_count));
      const int red = static_cast<int>(std::lround(255 - t * (255 - 8)));
      const int green = static_cast<int>(std::lround(255 - t * (255 - 48)));
      const int blue = static_cast<int>(std::lround(255 - t * (255 - 107)));
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", red, green, blue);
      const double x = kLeft + kCell * c, y = kTop + kCell * r;
      out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(kCell) + "\" height=\"" + num(kCell) +
             "\" fill=\"" + fill + "\" stroke=\"white\"/>\n";
      out += text(x + kCell / 2, y + kCell / 2 + 4, std::to_string(count),
                  std::string("text-anchor=\"middle\" fill=\"") + (t > 0.55 ? "white" : "black") + "\"");
    }
  for (int i = 0; i < n; ++i) {
    out += text(kLeft - 8, kTop + kCell * i + kCell / 2 + 4, map.labels[static_cast<size_t>(i)], "text-anchor=\"end\"");
    out += text(kLeft + kCell * i + kCell / 2, kTop + size + 16, map.labels[static_cast<size_t>(i)], "text-anchor=\"middle\"");
  }
  out += text(kLeft + size / 2, kTop + size + 38, map.x_label, "text-anchor=\"middle\"");
  out += text(16, kTop + size / 2, map.y_label, "text-anchor=\"middle\" transform=\"rotate(-90 16 " + num(kTop + size / 2) + ")\"");
  out += "</svg>\n";
  return out;
}

}  // namespace sweep::report
