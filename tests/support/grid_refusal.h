// A grid that must be refused: the text of its InputError, location
// included ("g.yaml:6:20: 'search.strategy': ..."), or a test failure when
// the grid is accepted. Shared by the search tests.
#pragma once
#include <doctest/doctest.h>

#include <string>

#include "common/error.h"
#include "grid/grid.h"

namespace sweep::test {

inline std::string grid_refusal(const std::string& yaml) {
  try {
    parse_grid(yaml, "g.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("accepted:\n" << yaml);
  return "";
}

}  // namespace sweep::test
