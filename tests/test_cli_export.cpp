// Models you can keep, end to end through the `sweep` binary: a finished run's
// model exported as ONNX (checked by onnx's checker and an independent numpy
// interpreter against sweep's own predictions, every layer type) and as
// safetensors, `sweep predict` and `sweep evaluate`, and the errors for runs
// that kept no model.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/store.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"
#include "data/dataset.h"
#include "train/checkpoint.h"

using namespace sweep;
namespace fs = std::filesystem;
using sweep::test::read_file;
using sweep::test::run_sweep_cli;
using sweep::test::shell_quote;
using sweep::test::TempDir;

namespace {

// Two models that between them use every layer type and activation: 'same'
// padding with an even kernel (asymmetric in Keras), strides, batch norm on
// maps and on features, both pools, dropout, leaky ReLU, ELU, tanh, a sigmoid
// layer and a sigmoid output.
constexpr const char* kGrid = R"(name: keep
dataset: {name: mnist, train_limit: 400, test_limit: 100, validation_split: 0.1}
train: {optimizer: adam, learning_rate: 0.003, epochs: 2, batch_size: 32, seed: 1}
variants:
  - name: every-layer
    model:
      layers:
        - conv2d: {filters: 4, kernel: 4, padding: same, activation: relu}
        - batchnorm: {momentum: 0.9}
        - maxpool2d: {size: 2}
        - conv2d: {filters: 6, kernel: 3, strides: 2, activation: linear}
        - activation: {function: leaky_relu, alpha: 0.2}
        - avgpool2d: {size: 2}
        - activation: {function: elu, alpha: 1.0}
        - dropout: {rate: 0.25}
        - flatten
        - dense: {units: 12, activation: tanh}
        - batchnorm: {momentum: 0.9}
        - dense: {units: 10, activation: softmax}
  - name: sigmoid-output
    model:
      layers:
        - conv2d: {filters: 3, kernel: 3}
        - activation: {function: sigmoid}
        - flatten
        - dense: {units: 10, activation: sigmoid}
)";

const std::string kTestImages = std::string(SWEEP_SOURCE_DIR) + "/data/mnist/t10k-images-idx3-ubyte.gz";

bool python_has_onnx() {
  return std::system("python3 -c 'import onnx, numpy' > /dev/null 2>&1") == 0;
}

std::string scalar(const std::string& db, const std::string& sql) {
  auto store = Store::open(db, Store::Mode::read_only);
  const auto rows = store->query(sql).rows;
  return rows.empty() || !rows[0][0] ? "" : *rows[0][0];
}

// A PNG written by the specification alone (no zlib): deflate "stored"
// blocks, CRC-32 and Adler-32 by hand. Rows cycle through the five filter
// types so the reader's unfiltering is checked too; rgb repeats each gray
// value over three channels (its BT.601 luma is the same value).
std::string png_of(const uint8_t* gray, int h, int w, bool rgb) {
  auto crc = [](const std::string& bytes) {
    uint32_t c = 0xffffffffu;
    for (unsigned char b : bytes) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
  };
  auto be32 = [](uint32_t v) {
    return std::string{char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(uint32_t(data.size())) + type + data + be32(crc(type + data));
  };
  const int channels = rgb ? 3 : 1;
  const size_t stride = size_t(w) * size_t(channels);
  std::vector<unsigned char> pixels(stride * size_t(h));
  for (size_t i = 0; i < size_t(h) * size_t(w); ++i)
    for (int c = 0; c < channels; ++c) pixels[i * size_t(channels) + size_t(c)] = gray[i];
  std::string raw;
  for (int y = 0; y < h; ++y) {
    const int filter = y % 5;
    raw += char(filter);
    const unsigned char* row = pixels.data() + size_t(y) * stride;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(channels) ? row[x - size_t(channels)] : 0;
      const int b = y > 0 ? row[x - stride] : 0;
      const int c = y > 0 && x >= size_t(channels) ? row[x - stride - size_t(channels)] : 0;
      const int p = a + b - c;
      const int paeth = std::abs(p - a) <= std::abs(p - b) && std::abs(p - a) <= std::abs(p - c) ? a
                        : std::abs(p - b) <= std::abs(p - c)                                    ? b
                                                                                                : c;
      const int predicted[] = {0, a, b, (a + b) / 2, paeth};
      raw += char((row[x] - predicted[filter]) & 0xff);
    }
  }
  std::string z = "\x78\x01";  // zlib header: deflate, no preset dictionary
  for (size_t at = 0; at < raw.size(); at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    z += char(at + n == raw.size() ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    z += {char(n & 0xff), char(n >> 8), char(~n & 0xff), char((~n >> 8) & 0xff)};
    z += raw.substr(at, n);
  }
  uint32_t s1 = 1, s2 = 0;
  for (unsigned char b : raw) {
    s1 = (s1 + b) % 65521;
    s2 = (s2 + s1) % 65521;
  }
  z += be32((s2 << 16) | s1);
  const std::string header = be32(uint32_t(w)) + be32(uint32_t(h)) + std::string{8, char(rgb ? 2 : 0), 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IDAT", z) + chunk("IEND", "");
}

int lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("sweep export, predict and evaluate a finished run's model") {
  TempDir temp("cli_export");
  std::ofstream(temp.path / "keep.yaml") << kGrid;
  const auto plan = run_sweep_cli(temp.path, {"plan", "keep.yaml"});
  REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  CHECK(plan.out.find("Checkpoints (sweep run --checkpoints") != std::string::npos);

  const auto trained = run_sweep_cli(temp.path, {"run", "keep.yaml", "--backend", "cpu", "--plain"});
  REQUIRE_MESSAGE(trained.exit_code == 0, trained.err << trained.out);
  const std::string db = (temp.path / "results.db").string();
  CHECK(scalar(db, "SELECT COUNT(*) FROM runs WHERE checkpoint IS NOT NULL") == "2");
  const std::string file = scalar(db, "SELECT checkpoint FROM runs WHERE id = 1");
  CHECK(file.ends_with("/last.safetensors"));
  CHECK(fs::exists(temp.path / "results.db.d" / "checkpoints" / file));
  // The sweep's provenance (issue #13): machine, build and oneDNN, in the database and the report.
  CHECK_FALSE(scalar(db, "SELECT json_extract(provenance, '$.cpu') FROM sweeps").empty());
  CHECK(scalar(db, "SELECT json_extract(provenance, '$.libraries.cpu') FROM sweeps").starts_with("oneDNN "));
  CHECK(scalar(db, "SELECT json_extract(provenance, '$.sweep') FROM sweeps") == SWEEP_VERSION);
  REQUIRE(run_sweep_cli(temp.path, {"report", "-o", "report.md"}).exit_code == 0);
  CHECK(read_file(temp.path / "report.md").find("- **Machine and build**: ") != std::string::npos);

  for (const std::string run : {"1", "2"}) {
    CAPTURE(run);
    const std::string onnx_file = "run" + run + ".onnx";
    const auto exported = run_sweep_cli(temp.path, {"export", run, "-o", onnx_file});
    REQUIRE_MESSAGE(exported.exit_code == 0, exported.err);
    CHECK(exported.out.find("ONNX opset 13") != std::string::npos);
    CHECK(fs::file_size(temp.path / onnx_file) > 1000);

    const auto predicted = run_sweep_cli(temp.path, {"predict", run, kTestImages, "--limit", "40", "--all"});
    REQUIRE_MESSAGE(predicted.exit_code == 0, predicted.err);
    CHECK(lines(predicted.out) == 41);  // the header and 40 images
    CHECK(predicted.out.starts_with("file,image,class,probability,p0,"));
    std::ofstream(temp.path / "predictions.csv") << predicted.out;

    if (!python_has_onnx()) {
      MESSAGE("python3-onnx is not installed here: the ONNX file is not checked (CI installs it)");
      continue;
    }
    const std::string check = "python3 " + shell_quote(SWEEP_SOURCE_DIR "/tests/onnx_check.py") + " " +
                              shell_quote((temp.path / onnx_file).string()) + " " + shell_quote(kTestImages) +
                              " 40 " + shell_quote((temp.path / "predictions.csv").string()) + " > " +
                              shell_quote((temp.path / "check.txt").string()) + " 2>&1";
    const int status = std::system(check.c_str());
    const std::string said = read_file(temp.path / "check.txt");
    MESSAGE(said);
    CHECK_MESSAGE(status == 0, said);
  }

  // PNG files of the first two test images classify as the IDX images do.
  {
    const Samples idx = load_idx_images(kTestImages, "", 2);
    for (int i = 0; i < 2; ++i)
      std::ofstream(temp.path / ("digit" + std::to_string(i) + ".png"), std::ios::binary)
          << png_of(idx.u8.data() + size_t(i) * 784, 28, 28, i == 1);
    const auto from_png = run_sweep_cli(temp.path, {"predict", "1", "digit0.png", "digit1.png"});
    REQUIRE_MESSAGE(from_png.exit_code == 0, from_png.err);
    const auto from_idx = run_sweep_cli(temp.path, {"predict", "1", kTestImages, "--limit", "2"});
    REQUIRE(from_idx.exit_code == 0);
    auto rows = [](const std::string& csv) {  // "class,probability" of each image
      std::vector<std::string> out;
      std::istringstream in(csv);
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line)) out.push_back(line.substr(line.find(',', line.find(',') + 1) + 1));
      return out;
    };
    CHECK(rows(from_png.out) == rows(from_idx.out));
    std::ofstream(temp.path / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\nnot really";
    const auto broken = run_sweep_cli(temp.path, {"predict", "1", "broken.png"});
    CHECK(broken.exit_code == 2);
    CHECK(broken.err.find("broken.png") != std::string::npos);
  }

  // The weights alone, readable by sweep's own checkpoint reader.
  const auto weights = run_sweep_cli(temp.path, {"export", "1", "--format", "safetensors", "-o", "w.safetensors"});
  REQUIRE_MESSAGE(weights.exit_code == 0, weights.err);
  const TrainingState exported = read_checkpoint(temp.path / "w.safetensors");
  const TrainingState kept = read_checkpoint(temp.path / "results.db.d" / "checkpoints" / file);
  CHECK(exported.optimizer.slots.empty());
  REQUIRE(exported.params.size() == kept.params.size());
  for (size_t t = 0; t < kept.params.size(); ++t) CHECK(exported.params[t].values == kept.params[t].values);
  CHECK(exported.config.find("\"layers\"") != std::string::npos);

  // Evaluated on its own test images it scores what the run recorded; on
  // Fashion-MNIST, something else, and both are recorded.
  const auto same = run_sweep_cli(temp.path, {"evaluate", "1", "--dataset", "mnist", "--limit", "100"});
  REQUIRE_MESSAGE(same.exit_code == 0, same.err);
  CHECK(scalar(db, "SELECT accuracy = (SELECT test_accuracy FROM runs WHERE id = 1) FROM evaluations WHERE id = 1") ==
        "1");
  const auto fashion = run_sweep_cli(temp.path, {"evaluate", "1", "--dataset", "fashion-mnist", "--limit", "300"});
  REQUIRE_MESSAGE(fashion.exit_code == 0, fashion.err);
  CHECK(fashion.out.find("on 300 test images of 'fashion-mnist'") != std::string::npos);
  CHECK(scalar(db, "SELECT COUNT(*) FROM evaluations WHERE run_id = 1") == "2");
  CHECK(scalar(db, "SELECT images FROM evaluations WHERE dataset = 'fashion-mnist'") == "300");
}

TEST_CASE("export, predict and evaluate refuse runs without a model, by name") {
  TempDir temp("cli_export_bad");
  std::ofstream(temp.path / "keep.yaml") << kGrid;
  const auto trained =
      run_sweep_cli(temp.path, {"run", "keep.yaml", "--backend", "cpu", "--plain", "--checkpoints", "none"});
  REQUIRE_MESSAGE(trained.exit_code == 0, trained.err);
  CHECK_FALSE(fs::exists(temp.path / "results.db.d" / "checkpoints"));

  const auto none = run_sweep_cli(temp.path, {"export", "1"});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("kept no model: it was trained with --checkpoints none") != std::string::npos);
  const auto missing = run_sweep_cli(temp.path, {"predict", "99", kTestImages});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("has no run '99'") != std::string::npos);
  const auto short_hash = run_sweep_cli(temp.path, {"evaluate", "abc", "--dataset", "mnist"});
  CHECK(short_hash.exit_code == 2);
  CHECK(short_hash.err.find("at least 6 characters of its hash") != std::string::npos);
  const auto no_db = run_sweep_cli(temp.path, {"export", "1", "--db", "nowhere.db"});
  CHECK(no_db.exit_code == 2);
  CHECK(no_db.err.find("no results database nowhere.db") != std::string::npos);
}
