// Every way a dataset file can be wrong gives an InputError naming the file
// and the problem. The bad files are crafted in a temporary directory.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "data/dataset.h"
#include "tests/support/temp_dir.h"

using namespace sweep;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> be32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

// An IDX byte stream: magic, dims, then `data_bytes` bytes of value i % 10.
std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, size_t data_bytes) {
  std::vector<uint8_t> out = be32(magic);
  for (uint32_t d : dims) {
    auto b = be32(d);
    out.insert(out.end(), b.begin(), b.end());
  }
  for (size_t i = 0; i < data_bytes; ++i) out.push_back(uint8_t(i % 10));
  return out;
}

void write_gz(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
  gzclose(f);
}

void write_raw(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A temporary data dir holding a valid 6-image 4x4 dataset "tiny".
struct TempData {
  sweep::test::TempDir dir;
  fs::path folder;
  explicit TempData(const std::string& tag) : dir("test_data_" + tag), folder(dir.path / "tiny") {
    fs::create_directories(folder);
    write_gz(folder / "train-images-idx3-ubyte.gz", idx_bytes(2051, {6, 4, 4}, 6 * 16));
    write_gz(folder / "train-labels-idx1-ubyte.gz", idx_bytes(2049, {6}, 6));
    write_gz(folder / "t10k-images-idx3-ubyte.gz", idx_bytes(2051, {3, 4, 4}, 3 * 16));
    write_gz(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(2049, {3}, 3));
  }
  DatasetSpec spec() const {
    DatasetSpec s;
    s.name = "tiny";
    s.dir = dir.path.string();
    s.validation_split = 0.5;
    return s;
  }
  fs::path file(const std::string& name) const { return folder / name; }
};

// The error text of load_dataset(spec), which must be an InputError.
std::string load_error(const DatasetSpec& spec) {
  try {
    load_dataset(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("load_dataset did not throw an InputError");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a valid crafted dataset loads") {
  TempData data("valid");
  auto ds = load_dataset(data.spec());
  CHECK(ds->train.count == 6);
  CHECK(ds->test.count == 3);
  CHECK(ds->train.shape == Shape{1, 4, 4, false});
  CHECK(ds->fit_count == 3);
  CHECK(ds->val_count == 3);
  CHECK(ds->train.labels == std::vector<uint8_t>{0, 1, 2, 3, 4, 5});
  auto whole = read_idx_gz(data.file("t10k-labels-idx1-ubyte.gz").string(), 2049);
  CHECK(whole.dims == std::vector<int32_t>{3});
  CHECK(whole.data == std::vector<uint8_t>{0, 1, 2});
}

TEST_CASE("a missing file or dataset folder is named") {
  TempData data("missing");
  fs::remove(data.file("t10k-labels-idx1-ubyte.gz"));
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "t10k-labels-idx1-ubyte.gz"));
  CHECK(contains(e, "not found"));

  DatasetSpec absent = data.spec();
  absent.name = "no-such-set";
  const std::string e2 = load_error(absent);
  CHECK(contains(e2, "no-such-set"));
  CHECK(contains(e2, "not found"));
}

TEST_CASE("a file that is not gzip is rejected as such") {
  TempData data("notgz");
  write_raw(data.file("train-images-idx3-ubyte.gz"), idx_bytes(2051, {6, 4, 4}, 6 * 16));
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "train-images-idx3-ubyte.gz"));
  CHECK(contains(e, "not a gzip file"));
}

TEST_CASE("corrupt gzip data is reported") {
  TempData data("corrupt");
  // A gzip header followed by garbage.
  write_raw(data.file("train-labels-idx1-ubyte.gz"), {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02});
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "train-labels-idx1-ubyte.gz"));
  CHECK((contains(e, "corrupt") || contains(e, "truncated")));
}

TEST_CASE("a file shorter than its header promises is truncated") {
  TempData data("truncated");
  write_gz(data.file("train-images-idx3-ubyte.gz"), idx_bytes(2051, {6, 4, 4}, 5 * 16 + 3));
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "train-images-idx3-ubyte.gz"));
  CHECK(contains(e, "truncated"));
  CHECK(contains(e, "96 bytes"));
  CHECK(contains(e, "83"));

  // A compressed stream cut in the middle is caught too.
  TempData cut("cut");
  const fs::path p = cut.file("train-images-idx3-ubyte.gz");
  write_gz(p, idx_bytes(2051, {6, 4, 4}, 6 * 16));
  fs::resize_file(p, fs::file_size(p) - 12);
  const std::string e2 = load_error(cut.spec());
  CHECK(contains(e2, "train-images-idx3-ubyte.gz"));
  CHECK((contains(e2, "truncated") || contains(e2, "corrupt")));
}

TEST_CASE("a wrong magic number says what was expected and found") {
  TempData data("magic");
  // Labels where images belong.
  write_gz(data.file("train-images-idx3-ubyte.gz"), idx_bytes(2049, {6}, 6));
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "train-images-idx3-ubyte.gz"));
  CHECK(contains(e, "expected 2051"));
  CHECK(contains(e, "found 2049"));
}

TEST_CASE("image and label counts must agree") {
  TempData data("count");
  write_gz(data.file("t10k-labels-idx1-ubyte.gz"), idx_bytes(2049, {4}, 4));
  const std::string e = load_error(data.spec());
  CHECK(contains(e, "3 images"));
  CHECK(contains(e, "4 labels"));
  CHECK(contains(e, "t10k-labels-idx1-ubyte.gz"));
}

TEST_CASE("a failed load is not cached: fixing the file makes the next load succeed") {
  TempData data("retry");
  write_gz(data.file("train-labels-idx1-ubyte.gz"), idx_bytes(2049, {5}, 5));
  CHECK(contains(load_error(data.spec()), "5 labels"));
  write_gz(data.file("train-labels-idx1-ubyte.gz"), idx_bytes(2049, {6}, 6));
  CHECK(load_dataset(data.spec())->train.count == 6);
}

TEST_CASE("bad transform settings are input errors naming the field") {
  TempData data("transform");
  DatasetSpec spec = data.spec();
  spec.transform = "sobel";
  try {
    load_dataset(spec);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.field() == "dataset.transform");
  }
  spec.transform = "hog";
  spec.hog_pixels_per_cell = 5;  // larger than the 4x4 images
  CHECK_THROWS_AS(load_dataset(spec), InputError);
}
