#include "cli/format.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sweep::cli {
namespace {

// Display width: UTF-8 continuation bytes take no column.
size_t display_width(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_number(int sqlite_type) { return sqlite_type == SQLITE_INTEGER || sqlite_type == SQLITE_FLOAT; }

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// One line of an aligned table. A cell wider than its column (a table row
// streamed after the layout was fixed) is written whole, unpadded.
void table_line(std::string& out, const std::vector<std::string>& cells, const std::vector<size_t>& width,
                const std::vector<Align>& align) {
  static const std::string kNone;
  for (size_t c = 0; c < width.size(); ++c) {
    const std::string& text = c < cells.size() ? cells[c] : kNone;
    const size_t shown = display_width(text);
    const std::string pad(width[c] > shown ? width[c] - shown : 0, ' ');
    const bool right = c < align.size() && align[c] == Align::right;
    if (right) out += pad + text;
    else out += c + 1 < width.size() ? text + pad : text;
    if (c + 1 < width.size()) out += "  ";
  }
  out += '\n';
}

std::vector<size_t> widths_of(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) width[c] = display_width(header[c]);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  return width;
}

void header_lines(std::string& out, const std::vector<std::string>& header, const std::vector<size_t>& width,
                  const std::vector<Align>& align) {
  table_line(out, header, width, align);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  table_line(out, rule, width, align);
}

// The table needs every cell's width before its first line, so it holds rows
// until it has `layout_rows_` of them (or the last): then the layout is fixed
// from those and every later row is written as it comes.
class TableWriter final : public QueryWriter {
 public:
  TableWriter(std::ostream& out, size_t layout_rows) : out_(out), layout_rows_(std::max<size_t>(layout_rows, 1)) {}

  void columns(const std::vector<std::string>& names) override {
    header_ = names;
    numeric_.assign(names.size(), true);
  }

  void row(const std::vector<std::optional<std::string>>& values, const std::vector<int>& types) override {
    ++count_;
    if (laid_out_) {
      write_row(values);
      return;
    }
    // A column is numeric when every non-NULL value in it is a number.
    for (size_t c = 0; c < values.size() && c < numeric_.size(); ++c)
      if (values[c] && !is_number(types[c])) numeric_[c] = false;
    auto& cells = held_.emplace_back();
    for (const auto& value : values) cells.push_back(value.value_or("NULL"));
    if (held_.size() == layout_rows_) lay_out();
  }

  void finish() override {
    if (!laid_out_) lay_out();
    std::string text = "(" + std::to_string(count_) + (count_ == 1 ? " row)\n" : " rows)\n");
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  }

 private:
  void lay_out() {
    laid_out_ = true;
    for (size_t c = 0; c < header_.size(); ++c) align_.push_back(numeric_[c] && count_ > 0 ? Align::right : Align::left);
    width_ = widths_of(header_, held_);
    std::string text;
    header_lines(text, header_, width_, align_);
    for (const auto& cells : held_) table_line(text, cells, width_, align_);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    held_.clear();
    held_.shrink_to_fit();
  }

  void write_row(const std::vector<std::optional<std::string>>& values) {
    cells_.clear();
    for (const auto& value : values) cells_.push_back(value.value_or("NULL"));
    line_.clear();
    table_line(line_, cells_, width_, align_);
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  }

  std::ostream& out_;
  size_t layout_rows_;
  std::vector<std::string> header_;
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> held_;
  bool laid_out_ = false;
  std::vector<size_t> width_;
  std::vector<Align> align_;
  std::vector<std::string> cells_;
  std::string line_;
  size_t count_ = 0;
};

class CsvWriter final : public QueryWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  void columns(const std::vector<std::string>& names) override {
    line_.clear();
    for (size_t c = 0; c < names.size(); ++c) {
      if (c) line_ += ',';
      line_ += csv_field(names[c]);
    }
    emit();
  }
  void row(const std::vector<std::optional<std::string>>& values, const std::vector<int>&) override {
    line_.clear();
    for (size_t c = 0; c < values.size(); ++c) {
      if (c) line_ += ',';
      if (values[c]) line_ += csv_field(*values[c]);
    }
    emit();
  }
  void finish() override {}

 private:
  void emit() {
    line_ += "\r\n";
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  }
  std::ostream& out_;
  std::string line_;
};

// The text nlohmann::ordered_json::dump(2) gives for an array of row objects,
// written one object at a time. Each scalar goes through the library's own
// serializer, so numbers and escapes are exactly its. A name given to two
// columns is one key, as in an object: at its first place, with the last
// column's value.
class JsonWriter final : public QueryWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  void columns(const std::vector<std::string>& names) override {
    std::map<std::string, size_t> slot;
    for (size_t c = 0; c < names.size(); ++c) {
      const auto [it, added] = slot.emplace(names[c], keys_.size());
      if (!added) {
        source_[it->second] = c;
        continue;
      }
      keys_.push_back(dump(json(names[c])));
      source_.push_back(c);
    }
  }

  void row(const std::vector<std::optional<std::string>>& values, const std::vector<int>& types) override {
    text_.assign(rows_ == 0 ? "[\n  " : ",\n  ");
    ++rows_;
    if (keys_.empty()) {
      text_ += "{}";
    } else {
      text_ += "{\n";
      for (size_t k = 0; k < keys_.size(); ++k) {
        const size_t c = source_[k];
        text_ += "    " + keys_[k] + ": " + value_json(values[c], types[c]);
        text_ += k + 1 < keys_.size() ? ",\n" : "\n  }";
      }
    }
    out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
  }

  void finish() override { out_ << (rows_ == 0 ? "[]\n" : "\n]\n"); }

 private:
  // replace: a text column another SQLite client filled with bytes that are
  // not UTF-8 is shown with U+FFFD, never a JSON library exception.
  static std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

  static std::string value_json(const std::optional<std::string>& value, int type) {
    if (!value) return "null";
    if (type == SQLITE_INTEGER) return dump(json(std::stoll(*value)));
    if (type == SQLITE_FLOAT) return dump(json(std::strtod(value->c_str(), nullptr)));
    return dump(json(*value));
  }

  std::ostream& out_;
  std::vector<std::string> keys_;  // JSON-quoted, one per distinct column name
  std::vector<size_t> source_;     // per key: the column its value comes from
  std::string text_;
  size_t rows_ = 0;
};

std::string write_all(QueryFormat format, const Store::QueryResult& result) {
  std::ostringstream out;
  auto writer = query_writer(format, out, std::max<size_t>(result.rows.size(), 1));
  writer->columns(result.columns);
  for (size_t r = 0; r < result.rows.size(); ++r) writer->row(result.rows[r], result.types[r]);
  writer->finish();
  return out.str();
}

}  // namespace

std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       const std::vector<Align>& align) {
  const std::vector<size_t> width = widths_of(header, rows);
  std::string out;
  header_lines(out, header, width, align);
  for (const auto& row : rows) table_line(out, row, width, align);
  return out;
}

std::unique_ptr<QueryWriter> query_writer(QueryFormat format, std::ostream& out, size_t layout_rows) {
  switch (format) {
    case QueryFormat::csv: return std::make_unique<CsvWriter>(out);
    case QueryFormat::json: return std::make_unique<JsonWriter>(out);
    case QueryFormat::table: break;
  }
  return std::make_unique<TableWriter>(out, layout_rows);
}

std::string query_table(const Store::QueryResult& result) { return write_all(QueryFormat::table, result); }
std::string query_csv(const Store::QueryResult& result) { return write_all(QueryFormat::csv, result); }
std::string query_json(const Store::QueryResult& result) { return write_all(QueryFormat::json, result); }

std::string human_seconds(double seconds) {
  char buffer[64];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 1) {
    std::snprintf(buffer, sizeof buffer, "%.0f ms", seconds * 1000);
  } else if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  } else if (seconds < 3600) {
    const long total = std::lround(seconds);
    std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", total / 60, total % 60);
  } else {
    const long minutes = std::lround(seconds / 60);
    std::snprintf(buffer, sizeof buffer, "%ld h %02ld min", minutes / 60, minutes % 60);
  }
  return buffer;
}

std::string human_bytes(double bytes) {
  static const char* const units[] = {"B", "KB", "MB", "GB", "TB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

static std::string last_component(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::vector<std::string> varied_titles(const std::vector<std::string>& paths) {
  std::map<std::string, int> ends;
  for (const std::string& path : paths) ++ends[last_component(path)];
  std::vector<std::string> titles;
  for (const std::string& path : paths) {
    const std::string last = last_component(path);
    const bool index = std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); });
    titles.push_back(ends[last] == 1 && !index ? last : path);
  }
  return titles;
}

std::string value_text(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sweep::cli
