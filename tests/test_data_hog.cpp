// HOG features: sizes, skimage's binning and border rule, L2-Hys
// normalisation, determinism, and the hog transform of load_dataset.
#include <doctest/doctest.h>

#include <cmath>

#include "data/dataset.h"

using namespace sweep;

TEST_CASE("feature counts follow cells x orientations") {
  CHECK(hog_feature_count(28, 28, 4, 8) == 392);
  CHECK(hog_feature_count(28, 28, 7, 8) == 128);
  CHECK(hog_feature_count(28, 28, 7, 16) == 256);
  CHECK(hog_feature_count(28, 28, 5, 8) == 200);  // 5x5 cells; the last 3 rows/columns are ignored
  std::vector<uint8_t> blank(28 * 28, 0);
  CHECK(hog_features(blank.data(), 28, 28, 4, 8).size() == 392);
  CHECK(hog_features(blank.data(), 28, 28, 7, 8).size() == 128);
  for (float v : hog_features(blank.data(), 28, 28, 4, 8)) CHECK(v == 0.0f);
}

TEST_CASE("a vertical edge votes in bin 0, a horizontal edge in the 90 degree bin") {
  // Left half dark, right half bright: the gradient points along +column (0 degrees).
  std::vector<uint8_t> vertical(28 * 28), horizontal(28 * 28);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) {
      vertical[size_t(r * 28 + c)] = c >= 14 ? 255 : 0;
      horizontal[size_t(r * 28 + c)] = r >= 14 ? 255 : 0;
    }
  const auto fv = hog_features(vertical.data(), 28, 28, 4, 8);
  const auto fh = hog_features(horizontal.data(), 28, 28, 4, 8);
  for (int cr = 0; cr < 7; ++cr)
    for (int cc = 0; cc < 7; ++cc)
      for (int o = 0; o < 8; ++o) {
        const size_t i = size_t((cr * 7 + cc) * 8 + o);
        // The edge lies between columns 13 and 14: cells 3 (cols 12-15) see it.
        // Rows 0 and 27 have no row gradient but do have a column gradient.
        const bool v_edge_cell = cc == 3 && o == 0;
        CHECK(fv[i] == doctest::Approx(v_edge_cell ? 1.0 : 0.0).epsilon(1e-6));
        const bool h_edge_cell = cr == 3 && o == 4;  // 90 degrees is bin 4 of 8 (22.5 each)
        CHECK(fh[i] == doctest::Approx(h_edge_cell ? 1.0 : 0.0).epsilon(1e-6));
      }
}

TEST_CASE("hand-computed cell: skimage's border rule, bin edges and L2-Hys clipping") {
  // A ramp v = 10 (r + c) on a 4x4 image, one 4x4 cell. Interior pixels have
  // g_row = g_col = 20: 45 degrees, exactly the start of bin 2. Rows 0 and 3
  // have g_row = 0 (skimage zeroes the border): 0 degrees, bin 0. Columns 0
  // and 3 have g_col = 0: 90 degrees, bin 4. Corners have no gradient.
  // Bins / 16: bin0 = 4*20/16 = 5, bin4 = 5, bin2 = 4*20*sqrt(2)/16 = 7.07.
  // L2: 0.5, 0.5, 0.707 -> clipped to 0.2 each -> renormalised to 1/sqrt(3).
  std::vector<uint8_t> ramp(16);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) ramp[size_t(r * 4 + c)] = uint8_t(10 * (r + c));
  const auto f = hog_features(ramp.data(), 4, 4, 4, 8);
  REQUIRE(f.size() == 8);
  const double third = 1.0 / std::sqrt(3.0);
  const std::vector<double> expected{third, 0, third, 0, third, 0, 0, 0};
  for (size_t o = 0; o < 8; ++o) CHECK(f[o] == doctest::Approx(expected[o]).epsilon(1e-6));
}

TEST_CASE("HOG of MNIST digits: non-negative, per-cell norm at most 1, deterministic") {
  DatasetSpec spec;
  spec.dir = SWEEP_SOURCE_DIR "/data";
  spec.train_limit = 200;
  spec.test_limit = 50;
  spec.transform = "hog";
  auto ds = load_dataset(spec);
  CHECK(ds->train.shape == Shape{392, 1, 1, true});
  CHECK(!ds->train.is_u8());
  CHECK(ds->train.f32.size() == size_t(200) * 392);
  CHECK(ds->test.f32.size() == size_t(50) * 392);

  DatasetSpec raw_spec = spec;
  raw_spec.transform = "raw";
  auto raw = load_dataset(raw_spec);
  for (int64_t i = 0; i < 200; i += 37) {
    const auto f = hog_features(raw->train.u8.data() + i * 784, 28, 28, 4, 8);
    CHECK(std::equal(f.begin(), f.end(), ds->train.f32.begin() + i * 392));  // per-image = batch transform
  }
  bool any_positive = false;
  for (int64_t cell = 0; cell < 200 * 49; ++cell) {
    double sum_sq = 0;
    for (int o = 0; o < 8; ++o) {
      const float v = ds->train.f32[size_t(cell * 8 + o)];
      CHECK(v >= 0.0f);
      any_positive = any_positive || v > 0;
      sum_sq += double(v) * v;
    }
    CHECK(sum_sq <= 1.0 + 1e-6);
  }
  CHECK(any_positive);
  std::vector<float> x(392);
  ds->train.copy_sample(5, x.data());
  CHECK(std::equal(x.begin(), x.end(), ds->train.f32.begin() + 5 * 392));

  // 7 px/cell is a different dataset with 128 features.
  spec.hog_pixels_per_cell = 7;
  auto coarse = load_dataset(spec);
  CHECK(coarse->train.shape.size() == 128);
  CHECK(coarse.get() != ds.get());
}
