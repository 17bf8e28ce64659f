// PNG images for `sweep predict`: 8-bit, non-interlaced grayscale, gray +
// alpha, RGB or RGBA, decoded with zlib (the one inflate sweep already links)
// and turned into the 8-bit grayscale sweep's datasets hold.
#include <zlib.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "data/dataset.h"

namespace sweep {
namespace {

[[noreturn]] void bad_png(const std::string& path, const std::string& what) {
  throw InputError(what, SourceLocation{path, 0, 0}, "images");
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The Paeth predictor of the PNG specification (section 9.4).
unsigned char paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<unsigned char>(a);
  return static_cast<unsigned char>(pb <= pc ? b : c);
}

}  // namespace

Samples load_png_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_png(path, "cannot be opened");
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  static constexpr std::array<unsigned char, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (file.size() < 8 || std::memcmp(bytes, kSignature.data(), 8) != 0) bad_png(path, "is not a PNG file");

  uint32_t width = 0, height = 0;
  int color = -1;
  std::string compressed;
  for (size_t at = 8; at + 12 <= file.size();) {
    const uint32_t length = big_endian(bytes + at);
    const std::string type = file.substr(at + 4, 4);
    if (at + 12 + size_t(length) > file.size()) bad_png(path, "is truncated (chunk " + type + ")");
    const unsigned char* data = bytes + at + 8;
    if (type == "IHDR") {
      if (length < 13) bad_png(path, "has a short IHDR chunk");
      width = big_endian(data);
      height = big_endian(data + 4);
      const int depth = data[8];
      color = data[9];
      if (depth != 8) bad_png(path, "has " + std::to_string(depth) + "-bit samples; sweep reads 8-bit PNGs");
      if (data[12] != 0) bad_png(path, "is interlaced; sweep reads non-interlaced PNGs");
      if (color != 0 && color != 2 && color != 4 && color != 6)
        bad_png(path, "is a palette PNG; save it as grayscale or RGB");
    } else if (type == "IDAT") {
      compressed.append(reinterpret_cast<const char*>(data), length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + size_t(length);
  }
  if (color < 0 || width == 0 || height == 0) bad_png(path, "has no image header (IHDR)");
  if (width > 4096 || height > 4096) bad_png(path, "is larger than 4096 x 4096");

  const int channels = color == 0 ? 1 : color == 4 ? 2 : color == 2 ? 3 : 4;
  const size_t stride = size_t(width) * size_t(channels);
  std::vector<unsigned char> raw((stride + 1) * height);
  uLongf raw_size = uLongf(raw.size());
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()), uLong(compressed.size())) !=
          Z_OK ||
      raw_size != raw.size())
    bad_png(path, "has image data that does not inflate to " + std::to_string(width) + " x " +
                      std::to_string(height) + " pixels");

  // Undo each row's filter (PNG section 9).
  std::vector<unsigned char> pixels(stride * height);
  for (size_t y = 0; y < height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    const unsigned char* src = raw.data() + y * (stride + 1) + 1;
    unsigned char* row = pixels.data() + y * stride;
    const unsigned char* up = y > 0 ? row - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(channels) ? row[x - size_t(channels)] : 0;
      const int b = up ? up[x] : 0;
      const int c = up && x >= size_t(channels) ? up[x - size_t(channels)] : 0;
      int predicted = 0;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) / 2; break;
        case 4: predicted = paeth(a, b, c); break;
        default: bad_png(path, "has an unknown row filter " + std::to_string(filter));
      }
      row[x] = static_cast<unsigned char>(src[x] + predicted);
    }
  }

  Samples s;
  s.shape = Shape{1, int(height), int(width), false};
  s.count = 1;
  s.labels = {0};
  s.u8.resize(size_t(width) * height);
  for (size_t i = 0; i < s.u8.size(); ++i) {
    const unsigned char* p = pixels.data() + i * size_t(channels);
    // Gray as ITU-R BT.601 luma; alpha is ignored (MNIST has none).
    s.u8[i] = channels < 3 ? p[0] : static_cast<uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
  }
  return s;
}

}  // namespace sweep
