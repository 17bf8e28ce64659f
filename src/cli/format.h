// Text output of the CLI: aligned tables, CSV (RFC 4180), JSON, durations.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "store/store.h"

namespace sweep::cli {

enum class Align { left, right };

// A plain-text table: header, a rule of dashes, rows; columns separated by two spaces.
std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       const std::vector<Align>& align);

// Query results as an aligned table (numbers right-aligned, NULL shown as NULL),
// RFC 4180 CSV (CRLF line ends, quotes only where needed, NULL as an empty
// field), or a JSON array of objects (numbers as numbers, NULL as null).
enum class QueryFormat { table, csv, json };

// The table's column widths and alignment come from the rows; past this many
// it fixes them from the first ones and streams the rest (a longer cell later
// just pushes its line out of line), so memory stays bounded.
inline constexpr size_t kTableLayoutRows = 1000;

// Writes a query's rows to `out` as they are stepped (Store::query_each): CSV
// and JSON hold one row at a time, the table at most `layout_rows`. Up to
// that many rows, the bytes are those of query_table/csv/json below.
class QueryWriter {
 public:
  virtual ~QueryWriter() = default;
  virtual void columns(const std::vector<std::string>& names) = 0;
  virtual void row(const std::vector<std::optional<std::string>>& values, const std::vector<int>& types) = 0;
  virtual void finish() = 0;  // after the last row: closing bracket, "(N rows)"
};
std::unique_ptr<QueryWriter> query_writer(QueryFormat format, std::ostream& out,
                                          size_t layout_rows = kTableLayoutRows);

// A whole result at once (sweep ls, tests), through the same writers.
std::string query_table(const Store::QueryResult& result);
std::string query_csv(const Store::QueryResult& result);
std::string query_json(const Store::QueryResult& result);

// "850 ms", "42 s", "3 min 20 s", "2 h 05 min".
std::string human_seconds(double seconds);
// 1536 -> "1.5 KB", 3.2e9 -> "3.0 GB" (powers of 1024).
std::string human_bytes(double bytes);
// 1234567 -> "1,234,567".
std::string thousands(int64_t value);

// Column titles for varied paths: the last component, or the whole dotted
// path where that is ambiguous (two paths end alike) or a list index.
std::vector<std::string> varied_titles(const std::vector<std::string>& paths);

// A varied value as table text: strings bare, everything else as JSON.
std::string value_text(const json& value);

}  // namespace sweep::cli
