// Loading datasets once per process: the cache, limits, the validation split
// and the HOG transform.
#include <tbb/parallel_for.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <sstream>

#include "common/error.h"
#include "data/dataset.h"
#include "data/idx_reader.h"

namespace sweep {

void Samples::copy_sample(int64_t i, float* out) const {
  const int64_t n = shape.size();
  if (is_u8()) {
    // Division (not multiplication by 1/255) matches x.astype('float32') / 255.
    const uint8_t* src = u8.data() + i * n;
    for (int64_t k = 0; k < n; ++k) out[k] = float(src[k]) / 255.0f;
  } else {
    const float* src = f32.data() + i * n;
    std::copy(src, src + n, out);
  }
}

std::string data_dir(const DatasetSpec& spec) {
  if (!spec.dir.empty()) return spec.dir;
  if (const char* env = std::getenv("SWEEP_DATA_DIR"); env && *env) return env;
  return SWEEP_SOURCE_DIR "/data";
}

namespace {

std::string resolve_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, ec), ec);
  return ec ? dir : p.string();
}

std::string transform_key(const DatasetSpec& spec) {
  if (spec.transform == "hog")
    return "hog:" + std::to_string(spec.hog_pixels_per_cell) + ":" + std::to_string(spec.hog_orientations);
  return spec.transform;
}

std::string dataset_key(const DatasetSpec& spec) {
  std::ostringstream key;
  key.precision(17);
  key << resolve_dir(data_dir(spec)) << "/" << spec.name << "|" << transform_key(spec) << "|train=" << spec.train_limit
      << ",test=" << spec.test_limit << ",val=" << spec.validation_split;
  return key.str();
}

// One split from its two files: images (count, rows, cols) and labels (count).
Samples load_split(const std::string& folder, const std::string& prefix, int64_t limit) {
  return load_idx_images(folder + "/" + prefix + "-images-idx3-ubyte.gz",
                         folder + "/" + prefix + "-labels-idx1-ubyte.gz", limit);
}

void apply_hog(Samples& s, int pixels_per_cell, int orientations) {
  const int h = s.shape.h, w = s.shape.w;
  const int features = hog_feature_count(h, w, pixels_per_cell, orientations);
  if (features < 1 || orientations > 180)
    throw InputError("HOG with pixels_per_cell " + std::to_string(pixels_per_cell) + " and orientations " +
                         std::to_string(orientations) + " does not fit " + std::to_string(h) + "x" +
                         std::to_string(w) + " images",
                     {}, "dataset.hog");
  std::vector<float> out(size_t(s.count) * size_t(features));
  const size_t image_size = size_t(h) * size_t(w);
  tbb::parallel_for(int64_t(0), s.count, [&](int64_t i) {
    const std::vector<float> f = hog_features(s.u8.data() + size_t(i) * image_size, h, w, pixels_per_cell, orientations);
    std::copy(f.begin(), f.end(), out.begin() + i * features);
  });
  s.f32 = std::move(out);
  s.u8.clear();
  s.u8.shrink_to_fit();
  s.shape = Shape{features, 1, 1, true};
}

std::atomic<uint64_t> next_dataset_id{1};

std::shared_ptr<const Dataset> load_uncached(const DatasetSpec& spec, const std::string& key) {
  if (spec.transform != "raw" && spec.transform != "hog")
    throw InputError("unknown dataset transform '" + spec.transform + "' (expected raw or hog)", {},
                     "dataset.transform");
  if (!(spec.validation_split >= 0.0 && spec.validation_split < 1.0))
    throw InputError("validation_split must be in [0, 1), got " + std::to_string(spec.validation_split), {},
                     "dataset.validation_split");
  const std::string dir = data_dir(spec);
  const std::string folder = dir + "/" + spec.name;
  if (!std::filesystem::is_directory(folder))
    throw InputError("dataset '" + spec.name + "' not found: no folder " + folder +
                         " (set dataset.dir or $SWEEP_DATA_DIR to the folder holding it)",
                     SourceLocation{folder, 0, 0}, "dataset.name");
  auto ds = std::make_shared<Dataset>();
  ds->key = key;
  ds->train = load_split(folder, "train", spec.train_limit);
  ds->test = load_split(folder, "t10k", spec.test_limit);
  if (spec.transform == "hog") {
    apply_hog(ds->train, spec.hog_pixels_per_cell, spec.hog_orientations);
    apply_hog(ds->test, spec.hog_pixels_per_cell, spec.hog_orientations);
  }
  ds->train.classes = ds->test.classes = std::max(ds->train.classes, ds->test.classes);
  const int64_t n = ds->train.count;
  ds->fit_count = fit_count_of(n, spec.validation_split);
  ds->val_count = n - ds->fit_count;
  ds->id = next_dataset_id.fetch_add(1);
  return ds;
}

}  // namespace

std::shared_ptr<const Dataset> load_dataset(const DatasetSpec& spec) {
  using Future = std::shared_future<std::shared_ptr<const Dataset>>;
  static std::mutex mutex;
  static std::map<std::string, Future> cache;

  const std::string key = dataset_key(spec);
  std::promise<std::shared_ptr<const Dataset>> promise;
  Future future;
  bool this_caller_loads = false;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) {
      future = it->second;  // loaded, or being loaded by another caller: wait for it
    } else {
      future = promise.get_future().share();
      cache.emplace(key, future);
      this_caller_loads = true;
    }
  }
  if (this_caller_loads) {
    try {
      promise.set_value(load_uncached(spec, key));
    } catch (...) {
      promise.set_exception(std::current_exception());
      // Forget the failure so that a later call (after the files are fixed) retries.
      std::lock_guard lock(mutex);
      cache.erase(key);
    }
  }
  return future.get();
}

Samples load_idx_images(const std::string& images_path, const std::string& labels_path, int64_t limit) {
  IdxArray images = read_idx_gz_prefix(images_path, kIdxImagesMagic, limit);
  IdxArray labels;
  if (labels_path.empty()) {  // unlabelled images (sweep predict): label 0
    const int32_t count = images.dims.empty() ? 0 : images.dims[0];
    labels.dims = {count};
    labels.data.assign(size_t(limit > 0 ? std::min<int64_t>(count, limit) : count), 0);
  } else {
    labels = read_idx_gz_prefix(labels_path, kIdxLabelsMagic, limit);
  }
  if (images.dims.size() != 3)
    throw InputError("expected 3 dimensions (count, rows, cols), found " +
                         std::to_string(images.dims.size()),
                     SourceLocation{images_path, 0, 0});
  if (labels.dims.size() != 1)
    throw InputError("expected 1 dimension (count), found " + std::to_string(labels.dims.size()),
                     SourceLocation{labels_path, 0, 0});
  if (images.dims[0] != labels.dims[0])
    throw InputError("has " + std::to_string(images.dims[0]) + " images but " + labels_path + " has " +
                         std::to_string(labels.dims[0]) + " labels",
                     SourceLocation{images_path, 0, 0});
  Samples s;
  s.shape = Shape{1, images.dims[1], images.dims[2], false};
  s.count = static_cast<int64_t>(labels.data.size());
  s.u8 = std::move(images.data);
  s.labels = std::move(labels.data);
  int max_label = 0;
  for (uint8_t l : s.labels) max_label = std::max(max_label, int(l));
  s.classes = std::max(10, max_label + 1);
  return s;
}

void apply_transform(Samples& samples, const DatasetSpec& spec) {
  if (spec.transform == "hog") apply_hog(samples, spec.hog_pixels_per_cell, spec.hog_orientations);
}

}  // namespace sweep
