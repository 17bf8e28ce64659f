#include "common/number_text.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace sweep {

std::string shortest_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[400];  // fixed notation of 1e15 needs 16 digits; of 1e-4, 6 plus the digits that round-trip
  const double magnitude = std::fabs(value);
  const bool plain = value == 0 || (magnitude >= 1e-4 && magnitude < 1e15);
  const auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                               : std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buf, end);
}

}  // namespace sweep
