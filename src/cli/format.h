// Text output of the CLI: aligned tables, CSV (RFC 4180), JSON, durations.
#pragma once
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
std::string query_table(const Store::QueryResult& result);
std::string query_csv(const Store::QueryResult& result);
std::string query_json(const Store::QueryResult& result);

// "850 ms", "42 s", "3 min 20 s", "2 h 05 min".
std::string human_seconds(double seconds);
// 1234567 -> "1,234,567".
std::string thousands(int64_t value);

// Column titles for varied paths: the last component, or the whole dotted
// path where that is ambiguous (two paths end alike) or a list index.
std::vector<std::string> varied_titles(const std::vector<std::string>& paths);

// A varied value as table text: strings bare, everything else as JSON.
std::string value_text(const json& value);

}  // namespace sweep::cli
