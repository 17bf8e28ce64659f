#include "common/error.h"

namespace sweep {

std::string SourceLocation::to_string() const {
  if (file.empty()) return {};
  if (line <= 0) return file;
  std::string s = file + ":" + std::to_string(line);
  if (column > 0) s += ":" + std::to_string(column);
  return s;
}

static std::string compose(const std::string& message, const SourceLocation& where, const std::string& field) {
  std::string s;
  const std::string loc = where.to_string();
  if (!loc.empty()) s += loc + ": ";
  if (!field.empty()) s += "'" + field + "': ";
  return s + message;
}

InputError::InputError(const std::string& message, SourceLocation where, std::string field)
    : std::runtime_error(compose(message, where, field)),
      message_(message),
      where_(std::move(where)),
      field_(std::move(field)) {}

}  // namespace sweep
