// Store::query: the read-only SQL behind `sweep query`.
#include <cctype>
#include <charconv>
#include <memory>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/number_text.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace sweep {
namespace {

// sqlite3_stmt_readonly() passes ATTACH/DETACH (they change the connection,
// not the file) and transaction control; an authorizer refuses them while the
// user's statement is prepared, and notes what it refused for the message.
struct Refusal {
  std::string what;
};

int refuse_connection_changes(void* user, int action, const char* arg1, const char* arg2, const char*, const char*) {
  auto* refusal = static_cast<Refusal*>(user);
  switch (action) {
    case SQLITE_ATTACH: refusal->what = "ATTACH"; return SQLITE_DENY;
    case SQLITE_DETACH: refusal->what = "DETACH"; return SQLITE_DENY;
    case SQLITE_TRANSACTION: refusal->what = "transaction control"; return SQLITE_DENY;
    case SQLITE_SAVEPOINT: refusal->what = "SAVEPOINT"; return SQLITE_DENY;
    case SQLITE_PRAGMA: {
      // Reading a pragma (user_version, table_info(runs)) is fine; setting one
      // (foreign_keys = OFF) is not. The argument of the listing pragmas is a name.
      static constexpr std::string_view kListings[] = {"table_info", "table_xinfo", "index_list", "index_info",
                                                       "index_xinfo", "foreign_key_list"};
      if (!arg2 || !arg1) return SQLITE_OK;
      for (std::string_view listing : kListings)
        if (listing == arg1) return SQLITE_OK;
      refusal->what = std::string("setting PRAGMA ") + arg1;
      return SQLITE_DENY;
    }
    default: return SQLITE_OK;
  }
}

// What follows the statement may only be whitespace, ';' and comments.
bool only_trailing_noise(std::string_view rest) {
  size_t i = 0;
  while (i < rest.size()) {
    const char c = rest[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ';') {
      ++i;
    } else if (rest.substr(i, 2) == "--") {
      const size_t end = rest.find('\n', i);
      i = end == std::string_view::npos ? rest.size() : end + 1;
    } else if (rest.substr(i, 2) == "/*") {
      const size_t end = rest.find("*/", i + 2);
      i = end == std::string_view::npos ? rest.size() : end + 2;
    } else {
      return false;
    }
  }
  return true;
}

std::string blob_hex(const void* data, int bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "x'";
  const auto* p = static_cast<const unsigned char*>(data);
  for (int i = 0; i < bytes; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out + "'";
}

}  // namespace

void Store::query_each(const std::string& sql, const ColumnsCallback& on_columns, const RowCallback& on_row) {
  std::lock_guard lock(mu_);
  Refusal refusal;
  sqlite3_set_authorizer(db_, refuse_connection_changes, &refusal);
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (!refusal.what.empty())
    throw InputError("sweep query is read-only: " + refusal.what + " is not allowed", {}, "SQL");
  if (rc != SQLITE_OK) throw InputError(std::string("SQL error: ") + sqlite3_errmsg(db_), {}, "SQL");
  if (!stmt) throw InputError("no SQL statement given", {}, "SQL");
  if (tail && !only_trailing_noise(tail))
    throw InputError("only one SQL statement per query; found more after: " + std::string(sqlite3_sql(raw)), {},
                     "SQL");
  if (!sqlite3_stmt_readonly(raw))
    throw InputError("sweep query is read-only: this statement would change the database", {}, "SQL");

  const int columns = sqlite3_column_count(raw);
  std::vector<std::string> names;
  for (int c = 0; c < columns; ++c) names.push_back(sqlite3_column_name(raw, c));
  on_columns(names);
  // One row's cells, reused: a 10^6-row result never exists in memory at once.
  std::vector<std::optional<std::string>> row(static_cast<size_t>(columns));
  std::vector<int> types(static_cast<size_t>(columns));
  while (true) {
    const int step = sqlite3_step(raw);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) throw InputError(std::string("SQL error: ") + sqlite3_errmsg(db_), {}, "SQL");
    for (int c = 0; c < columns; ++c) {
      const int type = sqlite3_column_type(raw, c);
      const auto at = static_cast<size_t>(c);
      types[at] = type;
      switch (type) {
        case SQLITE_NULL: row[at].reset(); break;
        case SQLITE_INTEGER: row[at] = std::to_string(sqlite3_column_int64(raw, c)); break;
        case SQLITE_FLOAT: row[at] = shortest_number(sqlite3_column_double(raw, c)); break;
        case SQLITE_BLOB: row[at] = blob_hex(sqlite3_column_blob(raw, c), sqlite3_column_bytes(raw, c)); break;
        default: {
          // The text first, then its length: SQLite sizes the text it has converted.
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
          row[at].emplace(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(raw, c)));
        }
      }
    }
    if (!on_row(row, types)) break;
  }
}

Store::QueryResult Store::query(const std::string& sql) {
  QueryResult result;
  query_each(
      sql, [&](const std::vector<std::string>& columns) { result.columns = columns; },
      [&](const std::vector<std::optional<std::string>>& values, const std::vector<int>& types) {
        result.rows.push_back(values);
        result.types.push_back(types);
        return true;
      });
  return result;
}

}  // namespace sweep
