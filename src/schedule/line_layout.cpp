#include "schedule/line_layout.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "schedule/progress.h"

namespace sweep {
namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr int kFullBar = 20, kShortBar = 8;

std::string bar(int done, int total, int width) {
  const int filled = total > 0 ? std::clamp(done * width / total, 0, width) : 0;
  return std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.');
}

// The metrics part of a progress line. bar_width 0 drops the bar;
// with_batches false also drops the "120/469" batch count.
std::string metrics(const RunProgress& p, int bar_width, bool with_batches) {
  std::string text = fmt::format("epoch {}/{}", std::max(1, p.epoch), p.epochs);
  if (bar_width > 0) text += fmt::format(" [{}]", bar(p.batch, p.batches, bar_width));
  if (with_batches) text += fmt::format(" {}/{}", p.batch, p.batches);
  return text + fmt::format(" loss {:.4f} acc {:.4f}", p.loss, p.accuracy);
}

int size_of(const std::string& text) { return static_cast<int>(text.size()); }

// "<label> <tail>" in `width` columns with the label shortened as needed;
// empty when even the label's index does not leave room for the tail.
std::string with_label(const std::string& indent, const RunLabel& label, const std::string& tail, int width) {
  const int room = width - size_of(indent) - 1 - size_of(tail);
  const std::string text = label.fit(room);
  if (size_of(text) > room) return {};
  return indent + text + " " + tail;
}

// Colours the first word of `text` (the status).
std::string paint(const std::string& text, const char* sgr, bool colour) {
  if (!colour || *sgr == '\0') return text;
  const size_t word = std::min(text.find_first_of(" :"), text.size());
  return sgr + text.substr(0, word) + kReset + text.substr(word);
}

// The label and text of "<label> <text>" in `width` columns (<= 0: no
// limit): the label shortens first; when not even its index leaves room,
// the text's tail (an error message; `sweep status` has it whole) is cut, marked.
std::pair<std::string, std::string> lay_out(const RunLabel& label, const std::string& text, int width) {
  if (width <= 0) return {label.text(), text};
  const int room = width - 1 - size_of(text);
  std::string shown = label.fit(room);
  if (size_of(shown) <= room) return {shown, text};
  shown = label.index;
  const int left = std::max(0, width - 1 - size_of(shown));
  if (size_of(text) <= left) return {shown, text};
  return {shown, left > 2 ? text.substr(0, static_cast<size_t>(left - 2)) + ".." : text.substr(0, size_t(left))};
}

}  // namespace

std::string progress_line(const RunLabel& label, const RunProgress& progress, int width) {
  const std::string indent = "  ";
  if (progress.epochs == 0) {
    const std::string starting = " starting";
    return fit_visible(indent + label.fit(width - size_of(indent) - size_of(starting)) + starting, width);
  }
  // The bar gives way first, with the label whole...
  const std::string whole = label.text();
  for (int bar_width = kFullBar; bar_width >= kShortBar; --bar_width) {
    const std::string line = indent + whole + " " + metrics(progress, bar_width, true);
    if (size_of(line) <= width) return line;
  }
  // ...then the label, then the bar and the batch count.
  for (const auto& [bar_width, with_batches] : {std::pair{kShortBar, true}, {0, true}, {0, false}}) {
    const std::string line = with_label(indent, label, metrics(progress, bar_width, with_batches), width);
    if (!line.empty()) return line;
  }
  return fit_visible(indent + label.index + " " + metrics(progress, 0, false), width);
}

std::string finished_text(const RunResult& result) {
  switch (result.status) {
    case RunStatus::done: {
      std::string text = fmt::format("done in {}: test_accuracy {:.4f} test_loss {:.4f}",
                                     format_duration(result.wall_seconds), result.test.accuracy, result.test.loss);
      if (result.early_stopped) text += fmt::format(" (early stop at epoch {})", result.stop_epoch);
      return text;
    }
    case RunStatus::interrupted:
      return fmt::format("interrupted after {} epoch(s)", result.epochs.size());
    case RunStatus::pruned:
      return fmt::format("pruned after epoch {} in {}: {}", result.stop_epoch, format_duration(result.wall_seconds),
                         result.error);
    default:
      return fmt::format("{}: {}", to_string(result.status), result.error);
  }
}

std::string result_line(const RunLabel& label, const std::string& text, RunStatus status, int width, bool colour) {
  const auto [shown, tail] = lay_out(label, text, width);
  return shown + " " + paint(tail, status_colour(status), colour);
}

std::string skipped_line(const RunLabel& label, const std::string& text, int width, bool colour) {
  const auto [shown, tail] = lay_out(label, text, width);
  return shown + " " + paint(tail, "\x1b[36m", colour);  // cyan: unlike every status, this run is not ours
}

const char* status_colour(RunStatus status) {
  switch (status) {
    case RunStatus::done: return "\x1b[32m";         // green
    case RunStatus::failed: return "\x1b[31m";       // red
    case RunStatus::diverged: return "\x1b[33m";     // yellow
    case RunStatus::interrupted: return "\x1b[35m";  // magenta
    case RunStatus::pruned: return "\x1b[34m";       // blue: stopped on purpose, not a problem
    default: return "";
  }
}

int visible_width(const std::string& text) {
  int width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;  // to the final byte
      continue;
    }
    ++width;
  }
  return width;
}

std::string fit_visible(const std::string& text, int width) {
  std::string out;
  int columns = 0;
  bool cut = false, open = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      const size_t start = i;
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      const std::string sequence = text.substr(start, i - start + 1);
      if (!cut) out += sequence;
      if (!cut && sequence.back() == 'm') open = sequence != kReset;
      continue;
    }
    if (columns >= width) {
      cut = true;
      continue;
    }
    out += text[i];
    ++columns;
  }
  if (cut && open) out += kReset;
  return out;
}

}  // namespace sweep
