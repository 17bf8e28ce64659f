// A grid or config value as the user wrote it, for error messages and labels:
// strings bare ('relu', not '"relu"'), everything else as JSON. One shared
// definition: the sanitizer builds compile sources in unity batches, where
// file-local copies of one helper collide.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sweep {

inline std::string shown(const nlohmann::ordered_json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace sweep
