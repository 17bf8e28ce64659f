// parse_run_config(): canonical JSON -> typed RunConfig, with the model built
// and checked by infer() so that a run that cannot train fails here, before
// anything is written anywhere.
#include "config/run_config.h"

#include "common/error.h"
#include "common/hash.h"
#include "config/model_json.h"

namespace sweep {

const char* to_string(Optimizer o) {
  switch (o) {
    case Optimizer::sgd: return "sgd";
    case Optimizer::adam: return "adam";
    case Optimizer::rmsprop: return "rmsprop";
  }
  return "?";
}

const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
  }
  return "?";
}

namespace {

Optimizer optimizer_from(const std::string& s) {
  if (s == "sgd") return Optimizer::sgd;
  if (s == "rmsprop") return Optimizer::rmsprop;
  return Optimizer::adam;  // canonical_json has already checked the name
}

DatasetSpec dataset_from(const json& d) {
  DatasetSpec s;
  s.name = d.at("name").get<std::string>();
  s.dir = d.at("dir").get<std::string>();
  s.transform = d.at("transform").get<std::string>();
  s.hog_pixels_per_cell = d.at("hog").at("pixels_per_cell").get<int>();
  s.hog_orientations = d.at("hog").at("orientations").get<int>();
  s.validation_split = d.at("validation_split").get<double>();
  s.train_limit = d.at("train_limit").get<int64_t>();
  s.test_limit = d.at("test_limit").get<int64_t>();
  return s;
}

OptimizerSpec optimizer_spec_from(const json& t) {
  OptimizerSpec o;
  o.kind = optimizer_from(t.at("optimizer").get<std::string>());
  o.learning_rate = t.at("learning_rate").get<double>();
  o.momentum = t.at("momentum").get<double>();
  o.nesterov = t.at("nesterov").get<bool>();
  o.beta_1 = t.at("beta_1").get<double>();
  o.beta_2 = t.at("beta_2").get<double>();
  o.epsilon = t.at("epsilon").get<double>();
  o.rho = t.at("rho").get<double>();
  return o;
}

TrainSpec train_spec_from(const json& t) {
  TrainSpec s;
  s.epochs = t.at("epochs").get<int>();
  s.batch_size = t.at("batch_size").get<int>();
  s.seed = t.at("seed").get<uint64_t>();
  s.precision = t.at("precision").get<std::string>() == "bf16" ? Precision::bf16 : Precision::fp32;
  const json& es = t.at("early_stopping");
  s.early_stopping.monitor = es.at("monitor").get<std::string>();
  s.early_stopping.patience = es.at("patience").get<int>();
  s.early_stopping.min_delta = es.at("min_delta").get<double>();
  return s;
}

}  // namespace

RunConfig parse_run_config(const json& config, json* canonical_tree) {
  RunConfig rc;
  json c = canonical_json(config);
  rc.dataset = dataset_from(c.at("dataset"));
  rc.optimizer = optimizer_spec_from(c.at("train"));
  rc.train = train_spec_from(c.at("train"));
  rc.variant = c.at("variant").get<std::string>();

  ModelSpec& m = rc.model;
  m.input = model_input_shape(c.at("dataset"));
  m.init = init_from(c.at("train").at("init").get<std::string>());
  const json& model = c.at("model");
  const bool built = model.contains("builder");
  if (built) {
    m.layers = builder_layers(model.at("builder"), m.classes, m.input.flat);
  } else {
    for (const json& layer : model.at("layers")) m.layers.push_back(layer_from_json(layer));
  }
  try {
    (void)infer(m);
  } catch (const InputError& e) {
    if (!built) throw;
    // The layer index means nothing to someone who wrote a builder: say which
    // built layer it is and blame the builder.
    const std::string layer = e.field().starts_with("model.layers.") ? e.field().substr(13) : std::string();
    throw InputError("the model this builder makes does not fit" + (layer.empty() ? "" : " (its layer " + layer + ")") +
                         ": " + e.message(),
                     {}, "model.builder");
  }
  // Held for every run of a grid: no slack from the string's growth, nor the
  // layer vector's.
  rc.canonical = c.dump();
  rc.canonical.shrink_to_fit();
  m.layers.shrink_to_fit();
  rc.hash = hex64(fnv1a64(rc.canonical));
  if (canonical_tree) *canonical_tree = std::move(c);
  return rc;
}

}  // namespace sweep
