// Thin RAII helpers over the SQLite C API, private to src/store/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace sweep::store_detail {

// Run SQL without results (may hold several statements). RuntimeError on failure.
void exec(sqlite3* db, const std::string& sql);

// Throws RuntimeError "what: <sqlite message>" unless rc is OK/ROW/DONE.
void check(sqlite3* db, int rc, std::string_view what);

// A prepared statement. Indices are 1-based for bind, 0-based for columns.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind_int(int index, int64_t value);
  // Non-finite values (a missing validation split's NaN) are stored as NULL.
  Statement& bind_real(int index, double value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_null(int index);
  // NULL when empty.
  Statement& bind_text_or_null(int index, std::string_view value);

  bool step();  // true: a row is available; false: done
  void run();   // step to completion (for statements without results)
  void reset();

  bool is_null(int column) const;
  int64_t column_int(int column) const;
  double column_real(int column) const;
  std::string column_text(int column) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception).
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  bool open_ = true;
};

// A string as an SQL literal ('it''s') or a quoted identifier ("a""b").
std::string sql_literal(std::string_view text);
std::string sql_identifier(std::string_view name);

// Current time, ISO 8601 UTC with seconds ("2026-05-01T12:00:00Z").
std::string now_iso8601();

}  // namespace sweep::store_detail
