// Reading IDX files compressed with gzip (the MNIST distribution format).
//
// IDX layout (big-endian): a 4-byte magic whose low byte is the number of
// dimensions and whose third byte is the element type (0x08 = unsigned byte),
// then one 4-byte size per dimension, then the elements in row-major order.
// MNIST images are magic 2051 (u8, 3 dims), labels 2049 (u8, 1 dim).
#include <zlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "data/dataset.h"
#include "data/idx_reader.h"

namespace sweep {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

// InputError's text is "<path>: <what>".
[[noreturn]] void fail_file(const std::string& path, const std::string& what) {
  throw InputError(what, SourceLocation{path, 0, 0});
}

// gzerror's text, without the "<path>: " zlib puts in front of it.
std::string gz_message(gzFile file, const std::string& path) {
  int code = 0;
  const char* message = gzerror(file, &code);
  std::string text = message ? message : "unknown error";
  if (text.starts_with(path + ": ")) text.erase(0, path.size() + 2);
  return text;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// zlib reads non-gzip files "transparently" as raw bytes, so a plain file
// would slip through: check the gzip magic bytes ourselves first.
void require_gzip_magic(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail_file(path, "cannot be opened");
  std::array<unsigned char, 2> magic{};
  const size_t got = std::fread(magic.data(), 1, magic.size(), file.get());
  if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b) fail_file(path, "is not a gzip file (expected a .gz IDX file)");
}

// Read up to `want` decompressed bytes, appending to out. Returns false at the
// end of the stream; throws on corrupt data.
bool read_some(gzFile file, const std::string& path, size_t want, std::vector<uint8_t>& out) {
  const size_t old_size = out.size();
  out.resize(old_size + want);
  size_t filled = 0;
  while (filled < want) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(want - filled, size_t(1) << 24));
    const int got = gzread(file, out.data() + old_size + filled, chunk);
    if (got < 0) fail_file(path, "is corrupt (gzip: " + gz_message(file, path) + ")");
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  out.resize(old_size + filled);
  // A stream cut short reports end-of-file without an error from gzread
  // itself; gzerror then says "unexpected end of file".
  int code = Z_OK;
  gzerror(file, &code);
  if (code == Z_BUF_ERROR) fail_file(path, "is truncated (the gzip stream ends early)");
  if (code != Z_OK && code != Z_STREAM_END) fail_file(path, "is corrupt (gzip: " + gz_message(file, path) + ")");
  return filled == want;
}

}  // namespace

IdxArray read_idx_gz_prefix(const std::string& path, int expected_magic, int64_t max_items) {
  if (!std::filesystem::exists(path)) fail_file(path, "file not found");
  require_gzip_magic(path);
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file) fail_file(path, "cannot be opened");
  gzbuffer(file.get(), 1 << 18);

  std::vector<uint8_t> header;
  if (!read_some(file.get(), path, 4, header)) fail_file(path, "is truncated: too short for an IDX header");
  const uint32_t magic = read_be32(header.data());
  if (magic != static_cast<uint32_t>(expected_magic)) {
    const char* kind = expected_magic == kIdxImagesMagic ? " (images)" : expected_magic == kIdxLabelsMagic ? " (labels)" : "";
    fail_file(path, "wrong IDX magic number: expected " + std::to_string(expected_magic) + kind + ", found " +
                   std::to_string(magic));
  }
  const int ndims = static_cast<int>(magic & 0xffu);
  if (!read_some(file.get(), path, size_t(4) * size_t(ndims), header))
    fail_file(path, "is truncated: the header promises " + std::to_string(ndims) + " dimensions");

  IdxArray result;
  int64_t item_size = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t size = read_be32(header.data() + 4 + 4 * d);
    if (size > uint32_t(INT32_MAX)) fail_file(path, "has an implausible size " + std::to_string(size) + " in dimension " + std::to_string(d));
    result.dims.push_back(static_cast<int32_t>(size));
    if (d > 0) item_size *= size;
  }
  const int64_t count = ndims > 0 ? result.dims[0] : 1;
  const int64_t items = max_items > 0 ? std::min(count, max_items) : count;
  const int64_t promised = items * item_size;
  result.data.reserve(static_cast<size_t>(promised));
  if (!read_some(file.get(), path, static_cast<size_t>(promised), result.data))
    fail_file(path, "is truncated: the header promises " + std::to_string(promised) + " bytes of data, the file has " +
                   std::to_string(result.data.size()));
  if (items == count) {
    // Whole file read: anything after the data means the header is wrong.
    std::vector<uint8_t> extra;
    read_some(file.get(), path, 1, extra);
    if (!extra.empty()) fail_file(path, "has more data than its header describes (" + std::to_string(promised) + " bytes)");
  }
  return result;
}

IdxArray read_idx_gz(const std::string& path, int expected_magic) { return read_idx_gz_prefix(path, expected_magic, 0); }

}  // namespace sweep
