// What a dataset spec selects, known from the IDX headers alone (a few bytes
// of each gzip file), and the checks a run's configuration must pass against
// it. `sweep plan` and `sweep run` make them before anything is written, so a
// run never fails for a reason the grid and the files already showed.
#include <zlib.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "common/error.h"
#include "common/number_text.h"
#include "data/dataset.h"

namespace sweep {
namespace {

// The item count of an IDX file: 4 bytes of magic, then big-endian dims.
int64_t idx_item_count(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw InputError("cannot open dataset file " + path, {path}, "dataset");
  unsigned char header[8] = {};
  const int got = gzread(file, header, sizeof header);
  gzclose(file);
  if (got != static_cast<int>(sizeof header) || header[0] != 0 || header[1] != 0)
    throw InputError("not an IDX file (bad header): " + path, {path}, "dataset");
  return (int64_t(header[4]) << 24) | (int64_t(header[5]) << 16) | (int64_t(header[6]) << 8) | int64_t(header[7]);
}

int64_t apply_limit(int64_t count, int64_t limit) { return limit > 0 ? std::min(count, limit) : count; }

std::string images(int64_t n) { return std::to_string(n) + (n == 1 ? " image" : " images"); }

}  // namespace

int64_t fit_count_of(int64_t train_images, double validation_split) {
  // Keras: split_at = int(n * (1 - validation_split)); the tail validates.
  return static_cast<int64_t>(double(train_images) * (1.0 - validation_split));
}

DatasetCounts dataset_counts(const DatasetSpec& spec) {
  static std::mutex mutex;
  static std::map<std::string, DatasetCounts> cache;
  const std::string folder = data_dir(spec) + "/" + spec.name;
  DatasetCounts counts;
  {
    std::lock_guard lock(mutex);
    auto found = cache.find(folder);
    if (found != cache.end()) counts = found->second;
  }
  if (counts.train == 0 && counts.test == 0) {
    counts.train = idx_item_count(folder + "/train-labels-idx1-ubyte.gz");
    counts.test = idx_item_count(folder + "/t10k-labels-idx1-ubyte.gz");
    std::lock_guard lock(mutex);
    cache[folder] = counts;
  }
  counts.train = apply_limit(counts.train, spec.train_limit);
  counts.test = apply_limit(counts.test, spec.test_limit);
  counts.fit = fit_count_of(counts.train, spec.validation_split);
  counts.validation = counts.train - counts.fit;
  return counts;
}

void check_fits_data(const RunConfig& config) {
  const DatasetSpec& d = config.dataset;
  const DatasetCounts counts = dataset_counts(d);
  const std::string selected = images(counts.train) + (d.train_limit > 0 ? " (train_limit " + std::to_string(d.train_limit) + ")" : "");
  if (counts.fit < 1) {
    if (d.validation_split > 0)
      throw InputError("no training images left: validation_split " + shortest_number(d.validation_split) +
                           " of " + selected + " leaves none to fit",
                       {}, "dataset.validation_split");
    throw InputError("no training images: dataset '" + d.name + "' selects " + selected, {}, "dataset.train_limit");
  }
  if (config.train.batch_size > counts.fit)
    throw InputError("batch size " + std::to_string(config.train.batch_size) + " is larger than the " +
                         images(counts.fit) + " fitted per epoch (" + selected +
                         (counts.validation > 0 ? ", less " + std::to_string(counts.validation) + " for validation" : "") +
                         ")",
                     {}, "train.batch_size");
  if (counts.test < 1) throw InputError("no test images: dataset '" + d.name + "' has none to test on", {}, "dataset.test_limit");
  const EarlyStopping& es = config.train.early_stopping;
  if (es.patience > 0 && es.monitor.starts_with("val_") && counts.validation == 0)
    throw InputError("early_stopping.monitor is " + es.monitor +
                         " but there are no validation images (validation_split 0): monitor loss or accuracy, or set "
                         "dataset.validation_split",
                     {}, "train.early_stopping.monitor");
}

}  // namespace sweep
