#include "config/model_json.h"

#include "data/dataset.h"

namespace sweep {

namespace {

// MNIST-like datasets are 28x28 grey images (the loader checks the files).
constexpr int kImageSide = 28;

void pair_from(const json& v, int& h, int& w) {
  if (v.is_array()) {
    h = v[0].get<int>();
    w = v[1].get<int>();
  } else {
    h = w = v.get<int>();
  }
}

LayerSpec make(LayerKind kind) {
  LayerSpec l;
  l.kind = kind;
  return l;
}

}  // namespace

LayerSpec layer_from_json(const json& j) {
  LayerSpec l = make(layer_kind_from(j.at("type").get<std::string>()));
  switch (l.kind) {
    case LayerKind::conv2d:
      l.filters = j.at("filters").get<int>();
      pair_from(j.at("kernel"), l.kernel_h, l.kernel_w);
      pair_from(j.at("strides"), l.stride_h, l.stride_w);
      l.padding = padding_from(j.at("padding").get<std::string>());
      l.activation = activation_from(j.at("activation").get<std::string>());
      l.alpha = j.at("alpha").get<double>();
      l.use_bias = j.at("use_bias").get<bool>();
      break;
    case LayerKind::maxpool2d:
    case LayerKind::avgpool2d:
      pair_from(j.at("size"), l.pool_h, l.pool_w);
      pair_from(j.at("strides"), l.pool_stride_h, l.pool_stride_w);
      break;
    case LayerKind::batchnorm:
      l.momentum = j.at("momentum").get<double>();
      l.epsilon = j.at("epsilon").get<double>();
      break;
    case LayerKind::dropout: l.rate = j.at("rate").get<double>(); break;
    case LayerKind::flatten: break;
    case LayerKind::dense:
      l.units = j.at("units").get<int>();
      l.activation = activation_from(j.at("activation").get<std::string>());
      l.alpha = j.at("alpha").get<double>();
      l.use_bias = j.at("use_bias").get<bool>();
      break;
    case LayerKind::activation:
      l.activation = activation_from(j.at("function").get<std::string>());
      l.alpha = j.at("alpha").get<double>();
      break;
  }
  return l;
}

std::vector<LayerSpec> builder_layers(const json& b, int classes, bool input_is_flat) {
  std::vector<LayerSpec> layers;
  const int depth = b.at("conv_depth").get<int>();
  const double alpha = b.at("alpha").get<double>();
  const std::string pool = b.at("pool").get<std::string>();
  const int pool_every = b.at("pool_every").get<int>();
  const bool pool_last = b.at("pool_last").get<bool>();
  const double dropout = b.at("dropout").get<double>();
  for (int block = 0; block < depth; ++block) {
    LayerSpec conv = make(LayerKind::conv2d);
    conv.filters = b.at("filters").at(static_cast<size_t>(block)).get<int>();
    pair_from(b.at("kernel"), conv.kernel_h, conv.kernel_w);
    conv.padding = padding_from(b.at("padding").get<std::string>());
    conv.activation = activation_from(b.at("activation").get<std::string>());
    conv.alpha = alpha;
    layers.push_back(conv);
    if (b.at("batch_norm").get<bool>()) layers.push_back(make(LayerKind::batchnorm));
    const bool last = block + 1 == depth;
    if (pool != "none" && (block + 1) % pool_every == 0 && (!last || pool_last)) {
      LayerSpec p = make(pool == "max" ? LayerKind::maxpool2d : LayerKind::avgpool2d);
      pair_from(b.at("pool_size"), p.pool_h, p.pool_w);
      layers.push_back(p);
    }
    if (dropout > 0) {
      LayerSpec d = make(LayerKind::dropout);
      d.rate = dropout;
      layers.push_back(d);
    }
  }
  if (depth > 0 || !input_is_flat) layers.push_back(make(LayerKind::flatten));
  // Dropout after each hidden Dense, and after Flatten when there is none:
  // 002 (Flatten-Dropout-Dense10), 004's MLPs and 001's PyTorch net all fit.
  const double dense_dropout = b.at("dense_dropout").get<double>();
  auto add_dropout = [&] {
    if (dense_dropout <= 0) return;
    LayerSpec d = make(LayerKind::dropout);
    d.rate = dense_dropout;
    layers.push_back(d);
  };
  const json& hidden = b.at("dense");
  const bool dense_batch_norm = b.value("dense_batch_norm", false);  // absent at its default (see canonical.cpp)
  for (const json& units : hidden) {
    LayerSpec dense = make(LayerKind::dense);
    dense.units = units.get<int>();
    dense.activation = activation_from(b.at("dense_activation").get<std::string>());
    dense.alpha = alpha;
    layers.push_back(dense);
    if (dense_batch_norm) layers.push_back(make(LayerKind::batchnorm));
    add_dropout();
  }
  if (hidden.empty()) add_dropout();
  LayerSpec out = make(LayerKind::dense);
  out.units = classes;
  out.activation = activation_from(b.at("output_activation").get<std::string>());
  layers.push_back(out);
  return layers;
}

Shape model_input_shape(const json& dataset) {
  if (dataset.at("transform").get<std::string>() == "hog") {
    const json& hog = dataset.at("hog");
    Shape s;
    s.c = hog_feature_count(kImageSide, kImageSide, hog.at("pixels_per_cell").get<int>(), hog.at("orientations").get<int>());
    s.flat = true;
    return s;
  }
  return Shape{1, kImageSide, kImageSide, false};
}

}  // namespace sweep
