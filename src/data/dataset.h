// Datasets: IDX (gzip) images and labels, loaded once per process and shared
// read-only by every run that uses them. Pixels stay as bytes (a quarter of the
// memory of floats) and are converted to [0,1] floats per batch by the backend;
// transformed inputs (HOG features) are stored as floats.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "model/model.h"

namespace sweep {

// One split (train or test) of a dataset, in memory.
struct Samples {
  Shape shape;                 // per-sample input shape, e.g. (1,28,28) or (392 flat)
  int64_t count = 0;
  std::vector<uint8_t> u8;     // count*shape.size() bytes (raw pixels), or empty
  std::vector<float> f32;      // count*shape.size() floats (features), or empty
  std::vector<uint8_t> labels; // count labels in [0, classes)
  int classes = 10;
  bool is_u8() const { return !u8.empty(); }
  // Write sample i as floats (pixels scaled by 1/255) into out[shape.size()].
  void copy_sample(int64_t i, float* out) const;
};

// A loaded dataset: train and test splits. The validation split is a range of
// the training samples (the last fraction, as Keras' validation_split).
struct Dataset {
  std::string key;  // identity for sharing: "<dir>/<name>|<transform>|<limits>"
  Samples train;    // all training samples (after train_limit)
  Samples test;     // after test_limit
  int64_t fit_count = 0;  // the first fit_count train samples are fitted on
  int64_t val_count = 0;  // the next val_count are the validation split
  // A process-unique id, for backends that cache a device copy per dataset.
  uint64_t id = 0;
};

// The data directory for a spec: spec.dir, else $SWEEP_DATA_DIR, else the
// bundled data/ folder of the source tree (SWEEP_SOURCE_DIR/data).
std::string data_dir(const DatasetSpec& spec);

// The images a spec selects, from the IDX headers (cheap: a few bytes of each
// gzip file, cached per folder), after the limits: train (all of it), fit and
// validation (Keras' validation_split of train), test. InputError when a file
// is missing or not IDX.
struct DatasetCounts {
  int64_t train = 0, test = 0, fit = 0, validation = 0;
};
DatasetCounts dataset_counts(const DatasetSpec& spec);
// Keras: the first int(n * (1 - validation_split)) training images are fitted.
int64_t fit_count_of(int64_t train_images, double validation_split);

// What a run needs of its data, checked from the headers alone: images left
// to fit after the validation split, a batch no larger than them, test images,
// and validation images when early stopping monitors a val_ metric. InputError
// whose field() is the offending setting (e.g. "train.batch_size").
void check_fits_data(const RunConfig& config);

// Load (or fetch from the process-wide cache) the dataset a spec describes.
// Thread-safe; concurrent callers for the same key share one load. Errors are
// InputError naming the file and what is wrong (missing, truncated, bad magic,
// count mismatch between images and labels).
std::shared_ptr<const Dataset> load_dataset(const DatasetSpec& spec);

// One IDX (gzip) image file and its labels file, read as sweep reads a
// dataset split (`sweep predict`, `sweep evaluate`). Without a labels file
// every label is 0. At most `limit` images (0 = all). InputError naming the
// file when it is missing, not IDX, or does not match the labels.
Samples load_idx_images(const std::string& images_path, const std::string& labels_path, int64_t limit = 0);
// One PNG image (8-bit gray, gray+alpha, RGB or RGBA, not interlaced) as a
// one-sample split in 8-bit gray (colour as BT.601 luma), label 0. As with
// MNIST, digits are light on a dark background. InputError naming the file.
Samples load_png_image(const std::string& path);
// The spec's input transform applied to raw images: HOG features for
// transform hog, nothing for raw.
void apply_transform(Samples& samples, const DatasetSpec& spec);

// Read one IDX gzip file (exposed for tests).
struct IdxArray {
  std::vector<int32_t> dims;
  std::vector<uint8_t> data;
};
IdxArray read_idx_gz(const std::string& path, int expected_magic);

// HOG features of one 8-bit image (skimage-like: unsigned gradients, one cell
// per block with L2 normalisation). 28x28, 4 px/cell, 8 orientations -> 392.
std::vector<float> hog_features(const uint8_t* image, int h, int w, int pixels_per_cell, int orientations);
int hog_feature_count(int h, int w, int pixels_per_cell, int orientations);

}  // namespace sweep
