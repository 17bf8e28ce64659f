// Numbers as people write them in a lab report: the shortest text that reads
// back as the same double, in plain decimals from 1e-4 up (0.0003, not the
// 3e-04 that std::to_chars picks because it is one character shorter), and in
// scientific notation only for the very small and very large (1e-07, 1e+20).
#pragma once
#include <string>

namespace sweep {

std::string shortest_number(double value);

}  // namespace sweep
