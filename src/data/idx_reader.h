// Internal to src/data: IDX reading with a limit on how many items to read,
// so that a run with train_limit=2000 does not decompress 60,000 images.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace sweep {

inline constexpr int kIdxImagesMagic = 2051;  // u8, 3 dimensions (count, rows, cols)
inline constexpr int kIdxLabelsMagic = 2049;  // u8, 1 dimension (count)

// As read_idx_gz, reading only the first max_items items (0 = all). dims keep
// the counts of the header; data holds min(count, max_items) items.
IdxArray read_idx_gz_prefix(const std::string& path, int expected_magic, int64_t max_items);

}  // namespace sweep
