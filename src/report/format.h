// Deterministic text formatting for reports: the same numbers always give the
// same bytes (C locale, fixed decimals, no current time), so a report can be
// regenerated and diffed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sweep::report {

using json = nlohmann::ordered_json;

// Concatenate by appending (GCC 12 warns falsely, -Wrestrict, on some
// "literal" + std::string chains; appending avoids them and a copy).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

// Fixed decimals, e.g. fixed(0.98765, 4) == "0.9877"; NaN/inf print as "nan"/"inf".
std::string fixed(double value, int decimals);
// "-" when absent.
std::string fixed_or_dash(const std::optional<double>& value, int decimals);
// The shortest text that reads back as the same double, plain from 1e-4 up:
// 0.0003, 0.001, 64, 1e-07 (common/number_text.h).
std::string shortest(double value);
// Thousands separators: 93322 -> "93,322".
std::string thousands(int64_t value);
// A hyperparameter value as text: numbers via shortest(), strings bare,
// booleans true/false, anything else compact JSON.
std::string value_text(const json& value);
// Seconds as "12.3 s", "4 min 05 s" or "1 h 02 min".
std::string duration(double seconds);
// Make text safe inside a Markdown table cell (pipes escaped, newlines folded).
std::string md_cell(const std::string& text);
// Escape &, <, >, " for XML text and attribute values.
std::string xml_escape(const std::string& text);
// A file-name-safe slug: letters, digits, '-' and '_' kept, the rest '_'.
std::string slug(const std::string& text);

}  // namespace sweep::report
