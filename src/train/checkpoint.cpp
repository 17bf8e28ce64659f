// Checkpoint files (see checkpoint.h; the layout is docs/checkpoints.md).
#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace sweep {
namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "checkpoints store little-endian floats as they are in memory");

namespace {

constexpr const char* kFormat = "sweep-checkpoint";
constexpr int kFormatVersion = 1;
// Slot tensors are named after what they hold for each optimizer.
constexpr const char* kSlotPrefix = "optimizer/slot";

[[noreturn]] void bad_file(const fs::path& path, const std::string& what) {
  throw InputError(what, SourceLocation{path.string(), 0, 0});
}

uint32_t crc_of(uint32_t crc, const void* data, size_t bytes) {
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {  // zlib's length is a uInt
    const uInt chunk = uInt(std::min<size_t>(bytes, 1u << 30));
    crc = uint32_t(crc32(crc, p, chunk));
    p += chunk;
    bytes -= chunk;
  }
  return crc;
}

// NaN (no validation split) has no JSON spelling: null stands for it.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_from(const json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

json epochs_json(const std::vector<EpochMetrics>& epochs) {
  json out = json::array();
  for (const EpochMetrics& m : epochs)
    out.push_back({m.epoch, number_or_null(m.loss), number_or_null(m.accuracy), number_or_null(m.val_loss),
                   number_or_null(m.val_accuracy), m.seconds, m.images_per_sec});
  return out;
}

std::vector<EpochMetrics> epochs_from(const json& rows) {
  std::vector<EpochMetrics> out;
  for (const json& r : rows) {
    EpochMetrics m;
    m.epoch = r.at(0).get<int>();
    m.loss = number_from(r.at(1));
    m.accuracy = number_from(r.at(2));
    m.val_loss = number_from(r.at(3));
    m.val_accuracy = number_from(r.at(4));
    m.seconds = r.at(5).get<double>();
    m.images_per_sec = r.at(6).get<double>();
    out.push_back(m);
  }
  return out;
}

// Writes all of `bytes` or throws.
void write_all(int fd, const void* data, size_t bytes, const fs::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw RuntimeError("checkpoint " + path.string() + ": write failed: " + std::strerror(errno));
    p += n;
    bytes -= size_t(n);
  }
}

}  // namespace

int optimizer_slot_count(const OptimizerSpec& optimizer) {
  switch (optimizer.kind) {
    case Optimizer::sgd: return optimizer.momentum != 0.0 ? 1 : 0;
    case Optimizer::adam: return 2;
    case Optimizer::rmsprop: return optimizer.momentum > 0.0 ? 2 : 1;
  }
  return 2;
}

std::string epoch_checkpoint_name(int epoch) {
  char name[48];
  std::snprintf(name, sizeof name, "epoch-%04d.safetensors", epoch);
  return name;
}

const char* to_string(CheckpointKeep keep) {
  switch (keep) {
    case CheckpointKeep::none: return "none";
    case CheckpointKeep::last: return "last";
    case CheckpointKeep::best: return "best";
    case CheckpointKeep::all: return "all";
  }
  return "last";
}

CheckpointKeep checkpoint_keep_from(const std::string& name) {
  for (CheckpointKeep k : {CheckpointKeep::none, CheckpointKeep::last, CheckpointKeep::best, CheckpointKeep::all})
    if (name == to_string(k)) return k;
  throw InputError("--checkpoints must be one of none, last, best, all; got '" + name + "'", {}, "checkpoints");
}

int64_t checkpoint_bytes(const ModelSpec& model, const OptimizerSpec& optimizer) {
  int64_t values = 0, trainable = 0;
  for (const ParamTensor& t : param_layout(model)) {
    values += t.size();
    if (t.trainable) trainable += t.size();
  }
  values += trainable * optimizer_slot_count(optimizer);
  // The JSON header: the run's configuration, ~100 bytes per tensor and per
  // epoch row; 16 KB holds it for any network and epoch count of the write-ups.
  return values * int64_t(sizeof(float)) + 16384;
}

void write_checkpoint(const fs::path& path, const TrainingState& state) {
  // The header lists every tensor with its byte range in the data section.
  json header = json::object();
  uint32_t crc = uint32_t(crc32(0, Z_NULL, 0));
  size_t offset = 0;
  std::vector<std::pair<const float*, size_t>> blocks;
  auto add = [&](const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values) {
    const size_t bytes = values.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    blocks.emplace_back(values.data(), bytes);
    crc = crc_of(crc, values.data(), bytes);
    offset += bytes;
  };
  for (const ParamTensor& t : state.params) add(t.name, t.shape, t.values);
  for (size_t s = 0; s < state.optimizer.slots.size(); ++s)
    add(kSlotPrefix + std::to_string(s + 1), {int64_t(state.optimizer.slots[s].size())}, state.optimizer.slots[s]);

  // safetensors metadata is a string -> string map.
  json trainable = json::array();
  for (const ParamTensor& t : state.params) trainable.push_back(t.trainable);
  header["__metadata__"] = {{"format", kFormat},
                            {"format_version", std::to_string(kFormatVersion)},
                            {"run", state.run_hash},
                            {"backend", state.backend},
                            {"precision", state.precision},
                            {"config", state.config},
                            {"epoch", std::to_string(state.epoch)},
                            {"seconds", json(state.seconds).dump()},
                            {"optimizer_steps", std::to_string(state.optimizer.steps)},
                            {"optimizer_slots", std::to_string(state.optimizer.slots.size())},
                            {"trainable", trainable.dump()},
                            {"epochs", epochs_json(state.epochs).dump()},
                            {"data_bytes", std::to_string(offset)},
                            {"data_crc32", std::to_string(crc)}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const uint64_t header_size = text.size();

  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw RuntimeError("checkpoint folder " + path.parent_path().string() + ": " + ec.message());
  const fs::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeError("checkpoint " + temporary.string() + ": cannot create: " + std::strerror(errno));
  try {
    write_all(fd, &header_size, sizeof header_size, temporary);
    write_all(fd, text.data(), text.size(), temporary);
    for (const auto& [data, bytes] : blocks) write_all(fd, data, bytes, temporary);
  } catch (...) {
    ::close(fd);
    fs::remove(temporary, ec);
    throw;
  }
  if (::close(fd) != 0) {  // where a full disk shows on network file systems
    fs::remove(temporary, ec);
    throw RuntimeError("checkpoint " + temporary.string() + ": close failed: " + std::strerror(errno));
  }
  // No fsync: the rename is atomic against a crash of sweep itself (kill -9,
  // a time limit), and a file a power cut leaves half-written fails its
  // checksum and is not resumed from. An fsync per epoch would cost tiny runs
  // more than their training (the SQLite database, synchronous = NORMAL, makes
  // the same trade).
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw RuntimeError("checkpoint " + path.string() + ": rename failed: " + ec.message());
  }
}

TrainingState read_checkpoint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_file(path, "cannot be opened");
  const std::uintmax_t file_size = fs::file_size(path);
  uint64_t header_size = 0;
  if (!in.read(reinterpret_cast<char*>(&header_size), sizeof header_size) || header_size > file_size - 8)
    bad_file(path, "is truncated or not a safetensors file (bad header length)");
  std::string text(size_t(header_size), '\0');
  if (!in.read(text.data(), std::streamsize(header_size))) bad_file(path, "is truncated (header)");
  json header = json::parse(text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) bad_file(path, "has a header that is not JSON");
  const json meta = header.value("__metadata__", json::object());
  if (meta.value("format", "") != kFormat)
    bad_file(path, "is a safetensors file but not a sweep checkpoint (no __metadata__.format \"sweep-checkpoint\")");
  if (meta.value("format_version", "") != std::to_string(kFormatVersion))
    bad_file(path, "is checkpoint format version " + meta.value("format_version", "?") + "; this sweep reads version " +
                       std::to_string(kFormatVersion));
  const uint64_t data_bytes = std::stoull(meta.value("data_bytes", "0"));
  if (8 + header_size + data_bytes != file_size)
    bad_file(path, "is " + std::to_string(file_size) + " bytes; its header describes " +
                       std::to_string(8 + header_size + data_bytes) + " (truncated or padded)");
  std::string data(size_t(data_bytes), '\0');
  if (!in.read(data.data(), std::streamsize(data_bytes))) bad_file(path, "is truncated (data)");
  const uint32_t crc = crc_of(uint32_t(crc32(0, Z_NULL, 0)), data.data(), data.size());
  if (std::to_string(crc) != meta.value("data_crc32", ""))
    bad_file(path, "fails its checksum (data_crc32): the file is corrupt");

  TrainingState state;
  try {
    state.run_hash = meta.at("run").get<std::string>();
    state.backend = meta.at("backend").get<std::string>();
    state.precision = meta.at("precision").get<std::string>();
    state.config = meta.value("config", "");
    state.epoch = std::stoi(meta.at("epoch").get<std::string>());
    state.seconds = json::parse(meta.at("seconds").get<std::string>()).get<double>();
    state.optimizer.steps = std::stoull(meta.at("optimizer_steps").get<std::string>());
    state.epochs = epochs_from(json::parse(meta.at("epochs").get<std::string>()));
    const json trainable = json::parse(meta.at("trainable").get<std::string>());
    const size_t slots = std::stoul(meta.at("optimizer_slots").get<std::string>());
    // The data section in order of offset: parameters first, then slots.
    std::vector<std::pair<uint64_t, std::string>> order;
    for (const auto& [name, entry] : header.items())
      if (name != "__metadata__") order.emplace_back(entry.at("data_offsets").at(0).get<uint64_t>(), name);
    std::sort(order.begin(), order.end());
    if (order.size() != trainable.size() + slots) bad_file(path, "lists a different number of tensors than its metadata");
    for (size_t i = 0; i < order.size(); ++i) {
      const json& entry = header[order[i].second];
      if (entry.at("dtype") != "F32") bad_file(path, "tensor " + order[i].second + " is not F32");
      const uint64_t begin = entry.at("data_offsets").at(0).get<uint64_t>();
      const uint64_t end = entry.at("data_offsets").at(1).get<uint64_t>();
      if (end < begin || end > data_bytes || (end - begin) % sizeof(float) != 0)
        bad_file(path, "tensor " + order[i].second + " has a bad byte range");
      std::vector<float> values((end - begin) / sizeof(float));
      std::memcpy(values.data(), data.data() + begin, end - begin);
      if (i < trainable.size()) {
        ParamTensor t;
        t.name = order[i].second;
        t.shape = entry.at("shape").get<std::vector<int64_t>>();
        t.trainable = trainable.at(i).get<bool>();
        t.values = std::move(values);
        if (t.size() != int64_t(t.values.size())) bad_file(path, "tensor " + t.name + ": shape and size disagree");
        state.params.push_back(std::move(t));
      } else {
        state.optimizer.slots.push_back(std::move(values));
      }
    }
  } catch (const json::exception& e) {
    bad_file(path, std::string("has unreadable metadata: ") + e.what());
  } catch (const std::invalid_argument&) {
    bad_file(path, "has a metadata number that is not a number");
  } catch (const std::out_of_range&) {
    bad_file(path, "has a metadata number out of range");
  }
  return state;
}

RunCheckpoints::RunCheckpoints(CheckpointOptions options, std::string backend, std::string precision,
                               bool has_validation)
    : options_(std::move(options)), backend_(std::move(backend)), precision_(std::move(precision)) {
  if (!has_validation && options_.monitor.starts_with("val_")) options_.monitor = options_.monitor.substr(4);
  maximise_ = options_.monitor.ends_with("accuracy");
}

std::optional<TrainingState> RunCheckpoints::resumable(std::string& why_not) const {
  why_not.clear();
  const fs::path last = options_.dir / kLastCheckpoint;
  std::error_code ec;
  if (options_.dir.empty() || !fs::exists(last, ec)) return std::nullopt;
  TrainingState state;
  try {
    state = read_checkpoint(last);
  } catch (const InputError& e) {
    why_not = e.what();
    return std::nullopt;
  }
  if (state.run_hash != options_.run_hash)
    why_not = last.string() + " belongs to run " + state.run_hash.substr(0, 12) + ", not this one";
  else if (state.backend != backend_)
    why_not = last.string() + " was written by the " + state.backend + " backend; this attempt runs on " + backend_ +
              " (optimizer state is kept in each backend's own layout)";
  else if (state.precision != precision_)
    why_not = last.string() + " was trained in " + state.precision + ", this attempt in " + precision_;
  else if (state.epoch < 1 || size_t(state.epoch) != state.epochs.size())
    why_not = last.string() + " holds " + std::to_string(state.epochs.size()) + " epochs of metrics for epoch " +
              std::to_string(state.epoch);
  if (!why_not.empty()) return std::nullopt;
  return state;
}

double RunCheckpoints::monitored(const EpochMetrics& m) const {
  if (options_.monitor == "val_loss") return m.val_loss;
  if (options_.monitor == "val_accuracy") return m.val_accuracy;
  if (options_.monitor == "accuracy") return m.accuracy;
  return m.loss;
}

bool RunCheckpoints::improves(const EpochMetrics& m) const {
  const double value = monitored(m);
  if (!std::isfinite(value)) return false;
  return best_epoch_ == 0 || (maximise_ ? value > best_ : value < best_);
}

void RunCheckpoints::replay(const std::vector<EpochMetrics>& epochs) {
  for (const EpochMetrics& m : epochs) {
    if (!improves(m)) continue;
    best_epoch_ = m.epoch;
    best_ = monitored(m);
  }
}

void RunCheckpoints::link(const std::string& name) const {
  const fs::path target = options_.dir / name, temporary = options_.dir / (name + ".tmp");
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::create_hard_link(options_.dir / kLastCheckpoint, temporary, ec);
  if (ec) {  // a file system without hard links
    ec.clear();
    fs::copy_file(options_.dir / kLastCheckpoint, temporary, fs::copy_options::overwrite_existing, ec);
    if (ec) throw RuntimeError("checkpoint " + target.string() + ": " + ec.message());
  }
  fs::rename(temporary, target, ec);
  if (ec) throw RuntimeError("checkpoint " + target.string() + ": " + ec.message());
}

void RunCheckpoints::save(const TrainingState& state) {
  if (options_.dir.empty() || options_.keep == CheckpointKeep::none) return;
  write_checkpoint(options_.dir / kLastCheckpoint, state);
  // last.safetensors is replaced by rename each epoch, so a hard link keeps
  // the file it pointed to when it was made.
  if (options_.keep == CheckpointKeep::all) link(epoch_checkpoint_name(state.epoch));
  if (options_.keep == CheckpointKeep::best && !state.epochs.empty()) {
    const size_t before = size_t(best_epoch_);
    replay({state.epochs.back()});
    if (size_t(best_epoch_) != before) link(kBestCheckpoint);
  }
}

std::string RunCheckpoints::finish(int last_epoch) {
  if (options_.dir.empty() || options_.keep == CheckpointKeep::none) return "";
  const std::string run = options_.dir.filename().string();
  std::error_code ec;
  // Nothing kept where nothing could be written (a full disk: the run went on).
  auto kept = [&](const std::string& name) { return fs::exists(options_.dir / name, ec) ? run + "/" + name : ""; };
  switch (options_.keep) {
    case CheckpointKeep::last:
      return kept(kLastCheckpoint);
    case CheckpointKeep::best:
      // No monitored value was ever finite (a run that diverged in its first
      // epoch does not finish): keep last so the model is not lost.
      if (!fs::exists(options_.dir / kBestCheckpoint, ec)) return kept(kLastCheckpoint);
      fs::remove(options_.dir / kLastCheckpoint, ec);
      return run + "/" + kBestCheckpoint;
    case CheckpointKeep::all:
      if (kept(epoch_checkpoint_name(last_epoch)).empty()) return kept(kLastCheckpoint);
      fs::remove(options_.dir / kLastCheckpoint, ec);
      return run + "/" + epoch_checkpoint_name(last_epoch);
    case CheckpointKeep::none: break;
  }
  return "";
}

}  // namespace sweep
