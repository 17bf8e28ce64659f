// Histogram of oriented gradients, following skimage.feature.hog with
// cells_per_block=(1, 1) and block_norm='L2-Hys' (its default), so that the
// features match what the lab write-ups fed to their MLPs:
//  * gradients by central differences [-1, 0, 1] on the raw 0..255 values,
//    zero on the image border (skimage's _hog_channel_gradient);
//  * unsigned orientation atan2(g_row, g_col) in degrees, mod 180;
//  * bin i of a cell sums the magnitudes with orientation in
//    [180/n * i, 180/n * (i+1)), divided by the cell area (skimage's
//    cell_hog, which also accumulates in single precision);
//  * each 1x1 block (= one cell) is L2-Hys normalised: v / sqrt(|v|^2 + eps^2),
//    clipped at 0.2, normalised again, eps = 1e-5.
// Cells cover the image from the top-left; rows/columns that do not fill a
// whole cell are ignored. Output order: cell row, cell column, orientation.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.h"
#include "data/dataset.h"

namespace sweep {

int hog_feature_count(int h, int w, int pixels_per_cell, int orientations) {
  if (pixels_per_cell < 1 || orientations < 1) return 0;
  return (h / pixels_per_cell) * (w / pixels_per_cell) * orientations;
}

std::vector<float> hog_features(const uint8_t* image, int h, int w, int pixels_per_cell, int orientations) {
  const int cells_r = pixels_per_cell > 0 ? h / pixels_per_cell : 0;
  const int cells_c = pixels_per_cell > 0 ? w / pixels_per_cell : 0;
  if (cells_r < 1 || cells_c < 1 || orientations < 1)
    throw InputError("HOG needs at least one cell and one orientation (image " + std::to_string(h) + "x" +
                         std::to_string(w) + ", pixels_per_cell " + std::to_string(pixels_per_cell) +
                         ", orientations " + std::to_string(orientations) + ")",
                     {}, "dataset.hog");

  // Magnitude and orientation per pixel (double, as skimage on a u8 image).
  const size_t pixels = size_t(h) * size_t(w);
  std::vector<double> magnitude(pixels), orientation(pixels);
  auto at = [&](int r, int c) { return double(image[size_t(r) * size_t(w) + size_t(c)]); };
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      const double g_row = (r == 0 || r == h - 1) ? 0.0 : at(r + 1, c) - at(r - 1, c);
      const double g_col = (c == 0 || c == w - 1) ? 0.0 : at(r, c + 1) - at(r, c - 1);
      const size_t i = size_t(r) * size_t(w) + size_t(c);
      magnitude[i] = std::hypot(g_col, g_row);
      // Python's % 180 maps (-180, 180] onto [0, 180).
      double degrees = std::atan2(g_row, g_col) * (180.0 / std::numbers::pi);
      degrees = std::fmod(degrees, 180.0);
      if (degrees < 0) degrees += 180.0;
      orientation[i] = degrees;
    }
  }

  const float bin_width = 180.0f / float(orientations);
  const float cell_area = float(pixels_per_cell * pixels_per_cell);
  std::vector<float> features(size_t(cells_r) * size_t(cells_c) * size_t(orientations));
  std::vector<double> block(static_cast<size_t>(orientations));
  for (int cr = 0; cr < cells_r; ++cr) {
    for (int cc = 0; cc < cells_c; ++cc) {
      for (int o = 0; o < orientations; ++o) {
        const float start = bin_width * float(o), end = bin_width * float(o + 1);
        float total = 0.0f;
        for (int r = cr * pixels_per_cell; r < (cr + 1) * pixels_per_cell; ++r)
          for (int c = cc * pixels_per_cell; c < (cc + 1) * pixels_per_cell; ++c) {
            const size_t i = size_t(r) * size_t(w) + size_t(c);
            if (orientation[i] >= double(start) && orientation[i] < double(end))
              total += static_cast<float>(magnitude[i]);
          }
        block[size_t(o)] = double(total / cell_area);
      }
      // L2-Hys on the one-cell block.
      constexpr double eps = 1e-5;
      double sum_sq = 0;
      for (double v : block) sum_sq += v * v;
      double norm = std::sqrt(sum_sq + eps * eps);
      sum_sq = 0;
      for (double& v : block) {
        v = std::min(v / norm, 0.2);
        sum_sq += v * v;
      }
      norm = std::sqrt(sum_sq + eps * eps);
      float* out = features.data() + (size_t(cr) * size_t(cells_c) + size_t(cc)) * size_t(orientations);
      for (int o = 0; o < orientations; ++o) out[o] = static_cast<float>(block[size_t(o)] / norm);
    }
  }
  return features;
}

}  // namespace sweep
