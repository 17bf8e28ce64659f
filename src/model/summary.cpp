// The Keras model.summary() table, as plain text.
#include <string>

#include "model/model.h"

namespace sweep {
namespace {

// 54410 -> "54,410", as Keras prints parameter counts.
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}

}  // namespace

std::string keras_summary(const ModelSpec& spec) {
  ModelSpec model = spec;
  const ModelInfo info = infer(model);
  const std::string rule(65, '_'), double_rule(65, '=');
  std::string out = "Model: \"sequential\"\n" + rule + "\n";
  out += ' ';
  out += pad("Layer (type)", 27) + pad("Output Shape", 25) + "Param #\n" + double_rule + "\n";
  for (size_t i = 0; i < info.layers.size(); ++i) {
    const LayerInfo& layer = info.layers[i];
    out += ' ';
    out += pad(layer.name + " (" + layer.type + ")", 27) + pad(layer.output.keras(), 25) +
           with_commas(layer.trainable + layer.non_trainable) + "\n";
    // Keras separates layer rows with a blank line and closes the table with '='.
    out += (i + 1 == info.layers.size() ? double_rule : std::string()) + "\n";
  }
  out += "Total params: " + with_commas(info.total()) + "\n";
  out += "Trainable params: " + with_commas(info.trainable) + "\n";
  out += "Non-trainable params: " + with_commas(info.non_trainable) + "\n";
  out += rule + "\n";
  return out;
}

}  // namespace sweep
