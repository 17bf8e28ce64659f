// How a name written in a grid matches a canonical one: case-insensitively and
// ignoring underscores, as Keras accepts its own spellings ("Adam", "RMSprop",
// "ReLU", "LeakyReLU", "GlorotUniform", "Conv2D") for what sweep canonicalises
// as adam, rmsprop, relu, leaky_relu, glorot_uniform, conv2d. The canonical
// spelling is what is stored and hashed, so all spellings are one run.
#pragma once
#include <cctype>
#include <string_view>

namespace sweep {

inline bool same_name(std::string_view written, std::string_view canonical) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < written.size() && written[i] == '_') ++i;
    while (j < canonical.size() && canonical[j] == '_') ++j;
    if (i == written.size() || j == canonical.size()) return i == written.size() && j == canonical.size();
    if (std::tolower(static_cast<unsigned char>(written[i])) != std::tolower(static_cast<unsigned char>(canonical[j])))
      return false;
    ++i, ++j;
  }
}

}  // namespace sweep
