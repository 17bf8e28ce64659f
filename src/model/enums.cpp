// Names of the model enums, as they appear in grids and in the canonical JSON.
#include <array>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/names.h"
#include "model/model.h"

namespace sweep {
namespace {

template <typename Enum, size_t N>
Enum parse(const std::array<std::pair<Enum, const char*>, N>& table, const std::string& text, const char* what) {
  for (const auto& [value, name] : table)
    if (same_name(text, name)) return value;
  std::string allowed;
  for (const auto& entry : table) allowed += std::string(allowed.empty() ? "" : ", ") + entry.second;
  throw InputError("unknown " + std::string(what) + " '" + text + "' (allowed: " + allowed + ")");
}

template <typename Enum, size_t N>
const char* name_of(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

constexpr std::array<std::pair<LayerKind, const char*>, 8> kLayerKinds{{
    {LayerKind::conv2d, "conv2d"},
    {LayerKind::maxpool2d, "maxpool2d"},
    {LayerKind::avgpool2d, "avgpool2d"},
    {LayerKind::batchnorm, "batchnorm"},
    {LayerKind::dropout, "dropout"},
    {LayerKind::flatten, "flatten"},
    {LayerKind::dense, "dense"},
    {LayerKind::activation, "activation"},
}};

constexpr std::array<std::pair<Padding, const char*>, 2> kPaddings{{
    {Padding::valid, "valid"},
    {Padding::same, "same"},
}};

constexpr std::array<std::pair<Activation, const char*>, 7> kActivations{{
    {Activation::linear, "linear"},
    {Activation::relu, "relu"},
    {Activation::leaky_relu, "leaky_relu"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::tanh, "tanh"},
    {Activation::elu, "elu"},
    {Activation::softmax, "softmax"},
}};

constexpr std::array<std::pair<Init, const char*>, 4> kInits{{
    {Init::glorot_uniform, "glorot_uniform"},
    {Init::he_uniform, "he_uniform"},
    {Init::he_normal, "he_normal"},
    {Init::glorot_normal, "glorot_normal"},
}};

}  // namespace

const char* to_string(LayerKind v) { return name_of(kLayerKinds, v); }
const char* to_string(Padding v) { return name_of(kPaddings, v); }
const char* to_string(Activation v) { return name_of(kActivations, v); }
const char* to_string(Init v) { return name_of(kInits, v); }

LayerKind layer_kind_from(const std::string& s) { return parse(kLayerKinds, s, "layer type"); }
Padding padding_from(const std::string& s) { return parse(kPaddings, s, "padding"); }
Activation activation_from(const std::string& s) { return parse(kActivations, s, "activation"); }
Init init_from(const std::string& s) { return parse(kInits, s, "initializer"); }

}  // namespace sweep
