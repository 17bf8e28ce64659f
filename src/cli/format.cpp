#include "cli/format.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <cstdio>

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

}  // namespace

std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       const std::vector<Align>& align) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) width[c] = display_width(header[c]);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string& text = c < cells.size() ? cells[c] : std::string();
      const std::string pad(width[c] - display_width(text), ' ');
      const bool right = c < align.size() && align[c] == Align::right;
      out += right ? pad + text : text + (c + 1 < width.size() ? pad : "");
      if (c + 1 < width.size()) out += "  ";
    }
    return out + "\n";
  };
  std::string out = line(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  out += line(rule);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string query_table(const Store::QueryResult& result) {
  std::vector<Align> align(result.columns.size(), Align::left);
  // A column is numeric when every non-NULL value in it is a number.
  for (size_t c = 0; c < result.columns.size(); ++c) {
    bool numeric = !result.rows.empty();
    for (size_t r = 0; r < result.rows.size(); ++r)
      if (result.rows[r][c] && !is_number(result.types[r][c])) numeric = false;
    if (numeric) align[c] = Align::right;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : result.rows) {
    auto& out = rows.emplace_back();
    for (const auto& value : row) out.push_back(value.value_or("NULL"));
  }
  std::string text = text_table(result.columns, rows, align);
  text += '(';
  text += std::to_string(result.rows.size());
  text += result.rows.size() == 1 ? " row)\n" : " rows)\n";
  return text;
}

std::string query_csv(const Store::QueryResult& result) {
  std::string out;
  auto line = [&](const auto& cells, auto&& text_of) {
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) out += ',';
      out += csv_field(text_of(cells[c]));
    }
    out += "\r\n";
  };
  line(result.columns, [](const std::string& s) { return s; });
  for (const auto& row : result.rows) line(row, [](const std::optional<std::string>& v) { return v.value_or(""); });
  return out;
}

std::string query_json(const Store::QueryResult& result) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (size_t r = 0; r < result.rows.size(); ++r) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (size_t c = 0; c < result.columns.size(); ++c) {
      const auto& value = result.rows[r][c];
      auto& slot = object[result.columns[c]];
      if (!value) slot = nullptr;
      else if (result.types[r][c] == SQLITE_INTEGER) slot = std::stoll(*value);
      else if (result.types[r][c] == SQLITE_FLOAT) slot = std::strtod(value->c_str(), nullptr);
      else slot = *value;
    }
    rows.push_back(std::move(object));
  }
  // replace: a text column another SQLite client filled with bytes that are
  // not UTF-8 is shown with U+FFFD, never a JSON library exception.
  return rows.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

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
