// Stable, platform-independent hashing and counter-based random numbers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sweep {

// FNV-1a, 64 bit: stable across builds and machines (used for run identity).
uint64_t fnv1a64(std::string_view bytes);
// 16 lowercase hex digits.
std::string hex64(uint64_t v);

}  // namespace sweep
