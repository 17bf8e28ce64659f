// Errors, named for who must act on them (DuckDB-style): an InputError is the
// user's to fix (bad grid, bad flag, missing file) and exits with code 2; a
// RuntimeError is ours or the machine's and fails the run it happened in.
#pragma once
#include <stdexcept>
#include <string>

namespace sweep {

// Where in a user's file something is. line/column are 1-based; 0 = unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;  // "grid.yaml:12:5", "grid.yaml" or ""
};

// Bad input: a message the user can act on, optionally pinned to a location
// and to the field (dotted path, e.g. "train.learning_rate") it concerns.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message, SourceLocation where = {}, std::string field = {});
  const SourceLocation& where() const { return where_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
  SourceLocation where_;
  std::string field_;
};

// A failure while doing the work (I/O, library error, numerical failure).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit codes of the `sweep` command, as documented in --help.
enum ExitCode : int { kExitOk = 0, kExitRunsFailed = 1, kExitBadInput = 2 };

}  // namespace sweep
