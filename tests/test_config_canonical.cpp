// canonical_json and parse_run_config: defaults, fixed key order, equivalent
// spellings hashing alike, validation messages with the field's dotted path,
// and builder -> layers checked against the write-ups' Keras parameter counts.
#include <doctest/doctest.h>

#include <string>

#include "common/error.h"
#include "config/run_config.h"

using namespace sweep;

namespace {

json builder(json b) { return json{{"model", {{"builder", std::move(b)}}}}; }

// The error's field and message, for checks; fails the test if none is thrown.
std::pair<std::string, std::string> error_of(const json& config) {
  try {
    (void)parse_run_config(config);
  } catch (const InputError& e) {
    return {e.field(), e.message()};
  }
  FAIL("expected an InputError for " << config.dump());
  return {};
}

std::vector<std::string> keys(const json& obj) {
  std::vector<std::string> out;
  for (const auto& [k, v] : obj.items()) out.push_back(k);
  return out;
}

int64_t params(const json& config) {
  RunConfig rc = parse_run_config(config);
  return infer(rc.model).total();
}

}  // namespace

TEST_CASE("canonical JSON fills every default in a fixed key order") {
  const json c = canonical_json(builder(json::object()));
  CHECK(keys(c) == std::vector<std::string>{"dataset", "model", "train", "variant"});
  CHECK(keys(c["dataset"]) == std::vector<std::string>{"name", "dir", "transform", "hog", "validation_split", "train_limit", "test_limit"});
  CHECK(keys(c["train"]) == std::vector<std::string>{"optimizer", "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho",
                                                     "epochs", "batch_size", "seed", "init", "precision", "early_stopping"});
  CHECK(c["train"]["optimizer"] == "adam");
  CHECK(c["train"]["learning_rate"] == 0.001);
  CHECK(c["train"]["epsilon"] == 1e-7);
  CHECK(c["dataset"]["validation_split"] == 0.1);
  CHECK(c["model"]["builder"]["filters"] == json::array({32, 32}));  // default depth 2, scalar filters
  CHECK(c["model"]["builder"]["dense_activation"] == "relu");
  CHECK(c["variant"] == "");
  // Canonical form is a fixed point.
  CHECK(canonical_json(c) == c);
}

TEST_CASE("equivalent spellings give the same canonical JSON and hash") {
  const json a = builder({{"conv_depth", 2}, {"filters", 32}, {"kernel", 3}, {"init", "he_uniform"}});
  json b = builder({{"kernel", json::array({3, 3})}, {"filters", json::array({32, 32, 64})}, {"conv_depth", 2}});
  b["train"] = {{"init", "he_uniform"}, {"learning_rate", 0.001}};
  CHECK(canonical_json(a) == canonical_json(b));
  CHECK(parse_run_config(a).hash == parse_run_config(b).hash);
  CHECK(parse_run_config(a).hash.size() == 16);

  const json lr_int = json{{"model", {{"builder", json::object()}}}, {"train", {{"learning_rate", 1}}}};
  const json lr_float = json{{"model", {{"builder", json::object()}}}, {"train", {{"learning_rate", 1.0}}}};
  CHECK(parse_run_config(lr_int).hash == parse_run_config(lr_float).hash);

  const json leaky_map = builder({{"activation", {{"leaky_relu", 0.1}}}});
  const json leaky_alpha = builder({{"activation", "leaky_relu"}, {"alpha", 0.1}});
  CHECK(canonical_json(leaky_map) == canonical_json(leaky_alpha));
  // alpha means nothing to relu: it does not change the identity.
  CHECK(canonical_json(builder({{"alpha", 0.1}})) == canonical_json(builder(json::object())));
}

TEST_CASE("layer forms: {type: ...}, {conv2d: {...}} and a bare name are one layer") {
  const json short_form = json{{"model", {{"layers", json::array({json{{"conv2d", {{"filters", 8}}}}, "flatten",
                                                                  json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}})}}}};
  const json long_form = json{{"model", {{"layers", json::array({json{{"type", "conv2d"}, {"filters", 8}, {"kernel", json::array({3, 3})}},
                                                                 json{{"type", "flatten"}},
                                                                 json{{"type", "dense"}, {"units", 10}, {"activation", "softmax"}}})}}}};
  const json c = canonical_json(short_form);
  CHECK(c == canonical_json(long_form));
  CHECK(keys(c["model"]["layers"][0]) == std::vector<std::string>{"type", "filters", "kernel", "strides", "padding", "activation", "alpha", "use_bias"});
  const RunConfig rc = parse_run_config(short_form);
  REQUIRE(rc.model.layers.size() == 3);
  CHECK(rc.model.layers[0].kind == LayerKind::conv2d);
  CHECK(rc.model.layers[0].filters == 8);
  CHECK(rc.model.input == Shape{1, 28, 28, false});
  // Pool strides default to the pool size.
  const json pool = canonical_json(json{{"model", {{"layers", json::array({json{{"maxpool2d", {{"size", 3}}}}})}}}});
  CHECK(pool["model"]["layers"][0]["strides"] == 3);
}

TEST_CASE("builder -> layers matches write-up 002's depth 1/2/3 parameter counts") {
  // Conv32-Pool-[Conv64-Pool-[Conv128-Pool]]-Flatten-Dropout0.5-Dense10 softmax.
  json b = {{"filters", json::array({32, 64, 128})}, {"kernel", 3}, {"dense", json::array()}, {"dense_dropout", 0.5}};
  b["conv_depth"] = 1;
  CHECK(params(builder(b)) == 54410);
  b["conv_depth"] = 2;
  CHECK(params(builder(b)) == 34826);
  b["conv_depth"] = 3;
  CHECK(params(builder(b)) == 93962);
  const RunConfig rc = parse_run_config(builder(b));
  // conv, pool x3, flatten, dropout, dense
  REQUIRE(rc.model.layers.size() == 9);
  CHECK(rc.model.layers[7].kind == LayerKind::dropout);
  CHECK(rc.model.layers[7].rate == 0.5);
  CHECK(rc.model.layers[8].activation == Activation::softmax);
  // The sigmoid output of 002's last model has the same count.
  b["conv_depth"] = 1;
  b["output_activation"] = "sigmoid";
  CHECK(params(builder(b)) == 54410);
}

TEST_CASE("builder covers 000's model (last conv not pooled) and 004's MLPs") {
  // 000: Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10, padding valid: 93,322.
  CHECK(params(builder({{"conv_depth", 3}, {"filters", json::array({32, 64, 64})}, {"pool_last", false}, {"dense", json::array({64})}})) == 93322);
  // 004: 784-250-10 tanh with dropout 0.5 on raw pixels.
  const json mlp = builder({{"conv_depth", 0}, {"dense", json::array({250})}, {"activation", "tanh"}, {"dense_dropout", 0.5}});
  CHECK(params(mlp) == 784 * 250 + 250 + 250 * 10 + 10);
  // 004: the HOG MLP has 392 inputs at 4 px/cell and 8 orientations.
  json hog = builder({{"conv_depth", 0}, {"dense", json::array({200})}, {"activation", "sigmoid"}});
  hog["dataset"] = {{"transform", "hog"}, {"hog", {{"pixels_per_cell", 4}, {"orientations", 8}}}};
  const RunConfig rc = parse_run_config(hog);
  CHECK(rc.model.input.flat);
  CHECK(rc.model.input.c == 392);
  CHECK(rc.model.layers.front().kind == LayerKind::dense);  // no Flatten on flat features
  CHECK(infer(rc.model).total() == 392 * 200 + 200 + 200 * 10 + 10);
}

TEST_CASE("batch norm and dropout blocks as in write-up 001") {
  const json b = builder({{"conv_depth", 2}, {"filters", 64}, {"batch_norm", true}, {"dropout", 0.25}, {"dense", json::array({128})}});
  const RunConfig rc = parse_run_config(b);
  std::vector<LayerKind> kinds;
  for (const LayerSpec& l : rc.model.layers) kinds.push_back(l.kind);
  CHECK(kinds == std::vector<LayerKind>{LayerKind::conv2d, LayerKind::batchnorm, LayerKind::maxpool2d, LayerKind::dropout,
                                        LayerKind::conv2d, LayerKind::batchnorm, LayerKind::maxpool2d, LayerKind::dropout,
                                        LayerKind::flatten, LayerKind::dense, LayerKind::dense});
  CHECK(infer(rc.model).non_trainable == 2 * (64 + 64));
}

TEST_CASE("validation errors name the field and say what is wrong") {
  auto with_train = [](json t) { return json{{"model", {{"builder", json::object()}}}, {"train", std::move(t)}}; };
  auto [f1, m1] = error_of(with_train({{"learnig_rate", 0.1}}));
  CHECK(f1 == "train.learnig_rate");
  CHECK(m1 == "unknown key 'learnig_rate' in 'train'; did you mean 'learning_rate'?");
  auto [f2, m2] = error_of(with_train({{"learning_rate", "abc"}}));
  CHECK(f2 == "train.learning_rate");
  CHECK(m2 == "expected a number, got 'abc'");
  CHECK(error_of(with_train({{"learning_rate", 0}})).second == "must be > 0, got 0");
  CHECK(error_of(with_train({{"batch_size", 0}})).second == "must be >= 1, got 0");
  CHECK(error_of(with_train({{"epochs", 0}})).first == "train.epochs");
  CHECK(error_of(with_train({{"momentum", 1.0}})).second == "must be in [0, 1), got 1");
  CHECK(error_of(with_train({{"epochs", 2.5}})).second == "expected an integer, got '2.5'");
  auto [f3, m3] = error_of(with_train({{"optimizer", "adamw"}}));
  CHECK(f3 == "train.optimizer");
  CHECK(m3 == "unknown value 'adamw'; expected one of: sgd, adam, rmsprop");
  CHECK(error_of(with_train({{"init", "zeros"}})).first == "train.init");
  CHECK(error_of(builder({{"dropout", 1.0}})).first == "model.builder.dropout");
  CHECK(error_of(builder({{"activation", "relux"}})).first == "model.builder.activation");

  json ds = builder(json::object());
  ds["dataset"] = {{"validation_split", 1.0}};
  CHECK(error_of(ds).second == "must be in [0, 1), got 1");
  ds["dataset"] = {{"train_limit", -5}};
  CHECK(error_of(ds) == std::pair<std::string, std::string>{"dataset.train_limit", "must be >= 0, got -5"});

  auto [f4, m4] = error_of(json{{"model", {{"builder", json::object()}, {"layers", json::array({"flatten"})}}}});
  CHECK(f4 == "model");
  CHECK(m4 == "has both 'layers' and 'builder'; give exactly one");
  CHECK(error_of(json{{"model", json::object()}}).second == "needs 'layers' or 'builder'");
  CHECK(error_of(json::object()).first == "model");

  auto [f5, m5] = error_of(builder({{"conv_depth", 3}, {"filters", json::array({32, 64})}}));
  CHECK(f5 == "model.builder.filters");
  CHECK(m5.starts_with("has 2 entries but conv_depth is 3"));
}

TEST_CASE("layer errors: unknown type, unknown key, shapes that do not fit") {
  auto layers = [](json l) { return json{{"model", {{"layers", std::move(l)}}}}; };
  auto [f1, m1] = error_of(layers(json::array({json{{"conv2", {{"filters", 8}}}}})));
  CHECK(f1 == "model.layers.0.type");
  CHECK(m1 == "unknown layer type 'conv2'; did you mean 'conv2d'?");
  auto [f2, m2] = error_of(layers(json::array({json{{"conv2d", {{"filter", 8}}}}})));
  CHECK(f2 == "model.layers.0.filter");
  CHECK(m2.find("did you mean 'filters'?") != std::string::npos);
  CHECK(error_of(layers(json::array({json{{"conv2d", json::object()}}}))).second == "missing required field 'filters'");
  // A dense straight on the image: infer() names the layer.
  auto [f3, m3] = error_of(layers(json::array({json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}})));
  CHECK(f3 == "model.layers.0");
  CHECK(m3.find("flatten") != std::string::npos);
  // A builder too deep for 28x28 with valid padding: the builder is blamed.
  auto [f4, m4] = error_of(builder({{"conv_depth", 4}, {"filters", 8}}));
  CHECK(f4 == "model.builder");
  CHECK(m4.starts_with("the model this builder makes does not fit (its layer"));
}

TEST_CASE("builder dense_batch_norm: write-up 001's Keras net, and absent at its default so old runs keep their hash") {
  // 001: [Conv64(3x3, relu)-BN-MaxPool2-Dropout0.25] x2, Flatten, [Dense128(relu)-BN-Dropout0.25] x3, Dense10.
  json b = {{"conv_depth", 2},       {"filters", 64},        {"kernel", 3},        {"batch_norm", true},
            {"dropout", 0.25},       {"dense", json::array({128, 128, 128})}, {"dense_batch_norm", true},
            {"dense_dropout", 0.25}};
  const RunConfig rc = parse_run_config(builder(b));
  const ModelInfo info = infer(rc.model);
  CHECK(info.total() == 278858);
  CHECK(info.non_trainable == 1024);
  // Flatten, then dense, BN, dropout per hidden layer.
  REQUIRE(rc.model.layers.size() == 8 + 1 + 9 + 1);
  CHECK(rc.model.layers[9].kind == LayerKind::dense);
  CHECK(rc.model.layers[10].kind == LayerKind::batchnorm);
  CHECK(rc.model.layers[11].kind == LayerKind::dropout);
  b["conv_depth"] = 3;
  CHECK(params(builder(b)) == 119434);

  // false (or absent) leaves no trace in the canonical config: grids written
  // before the field existed keep their run identities.
  const json plain = canonical_json(builder(json::object()));
  CHECK_FALSE(plain["model"]["builder"].contains("dense_batch_norm"));
  CHECK(canonical_json(builder({{"dense_batch_norm", false}})) == plain);
  CHECK(parse_run_config(builder({{"dense_batch_norm", false}})).hash == parse_run_config(builder(json::object())).hash);
  CHECK(canonical_json(builder({{"dense_batch_norm", true}}))["model"]["builder"]["dense_batch_norm"] == true);
  CHECK(error_of(builder({{"dense_batch_norm", 1}})).first == "model.builder.dense_batch_norm");
}

TEST_CASE("Keras spellings of names are accepted and canonicalised: Adam, RMSprop, ReLU, LeakyReLU, Conv2D") {
  json keras = {{"model",
                 {{"layers", json::array({json{{"Conv2D", {{"filters", 8}, {"kernel", 3}, {"activation", "ReLU"},
                                                           {"padding", "Same"}}}},
                                          json{{"type", "MaxPool2D"}},
                                          json{{"Flatten", json::object()}},
                                          json{{"Dense", {{"units", 16}, {"activation", {{"LeakyReLU", 0.1}}}}}},
                                          json{{"Dense", {{"units", 10}, {"activation", "Softmax"}}}}})}}},
                {"train", {{"optimizer", "Adam"}, {"init", "GlorotUniform"}}}};
  json plain = keras;
  plain["model"]["layers"] = json::array({json{{"conv2d", {{"filters", 8}, {"kernel", 3}, {"activation", "relu"},
                                                           {"padding", "same"}}}},
                                          json{{"type", "maxpool2d"}},
                                          json{{"flatten", json::object()}},
                                          json{{"dense", {{"units", 16}, {"activation", {{"leaky_relu", 0.1}}}}}},
                                          json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}});
  plain["train"] = {{"optimizer", "adam"}, {"init", "glorot_uniform"}};
  const json c = canonical_json(keras);
  CHECK(c == canonical_json(plain));
  CHECK(parse_run_config(keras).hash == parse_run_config(plain).hash);
  CHECK(c["train"]["optimizer"] == "adam");
  CHECK(c["model"]["layers"][0]["type"] == "conv2d");
  CHECK(c["model"]["layers"][3]["activation"] == "leaky_relu");
  CHECK(canonical_json(builder({{"pool", "Max"}}))["model"]["builder"]["pool"] == "max");
  CHECK(canonical_json(json{{"model", {{"builder", json::object()}}}, {"train", {{"optimizer", "RMSprop"}}}})["train"]["optimizer"] ==
        "rmsprop");
  // Still strict about the letters themselves.
  CHECK(error_of(json{{"model", {{"builder", json::object()}}}, {"train", {{"optimizer", "Adamw"}}}}).first == "train.optimizer");
  CHECK(error_of(builder({{"activation", "ReLu6"}})).first == "model.builder.activation");
}

TEST_CASE("run identities recorded before the per-optimizer and per-activation defaults are kept") {
  // Hashes computed with the fixed defaults (learning_rate 0.001, alpha 0.3
  // for every choice). None of these relies on a default that changed (sgd
  // without learning_rate, elu without alpha), so none may change.
  json sgd = builder({{"activation", "tanh"}});
  sgd["train"] = {{"optimizer", "sgd"}, {"learning_rate", 0.01}, {"momentum", 0.9}};
  json sgd_small = builder(json::object());
  sgd_small["train"] = {{"optimizer", "sgd"}, {"learning_rate", 0.001}};
  json rmsprop = builder(json::object());
  rmsprop["train"] = {{"optimizer", "rmsprop"}};
  const json layers = json{{"model", {{"layers", json::array({
      json{{"conv2d", {{"filters", 8}, {"activation", "relu"}, {"alpha", 0.5}}}},
      json{{"conv2d", {{"filters", 8}, {"activation", "elu"}, {"alpha", 1.0}}}},
      json{{"activation", {{"function", "elu"}, {"alpha", 0.5}}}},
      json{{"maxpool2d", json::object()}}, "flatten",
      json{{"dense", {{"units", 16}, {"activation", "leaky_relu"}}}},
      json{{"dense", {{"units", 16}, {"activation", {{"leaky_relu", 0.1}}}}}},
      json{{"activation", {{"function", "tanh"}}}},
      json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}})}}}};
  const std::vector<std::pair<json, std::string>> recorded = {
      {builder(json::object()), "c0cfccd356f1266a"},  // adam, learning_rate left out
      {sgd, "1607dd36a3fedbb2"},
      {sgd_small, "b903c7e51a471795"},
      {rmsprop, "2257cbd2108b6ecc"},  // rmsprop, learning_rate left out
      {builder({{"activation", "leaky_relu"}}), "9ad82b0f9623067e"},
      {builder({{"activation", {{"leaky_relu", 0.1}}}}), "e025e8030428e384"},
      {builder({{"alpha", 0.7}}), "c0cfccd356f1266a"},  // relu: the alpha means nothing
      {builder({{"activation", "elu"}, {"alpha", 1.0}}), "03467c0f7f80e656"},
      {builder({{"activation", "elu"}, {"dense_activation", "leaky_relu"}, {"alpha", 0.2}}), "962eecdf7f1e29c0"},
      {builder({{"dense_activation", "leaky_relu"}}), "6a4a5ef7ac56a4af"},
      {layers, "46b197df60bb878c"},
  };
  for (const auto& [config, hash] : recorded) {
    INFO(config.dump());
    CHECK(parse_run_config(config).hash == hash);
  }
}

TEST_CASE("learning_rate left out is the optimizer's Keras default: sgd 0.01, adam and rmsprop 0.001") {
  auto lr = [](json train) {
    return canonical_json(json{{"model", {{"builder", json::object()}}}, {"train", std::move(train)}})["train"]["learning_rate"];
  };
  CHECK(lr({{"optimizer", "sgd"}}) == 0.01);
  CHECK(lr({{"optimizer", "SGD"}}) == 0.01);
  CHECK(lr({{"optimizer", "adam"}}) == 0.001);
  CHECK(lr({{"optimizer", "rmsprop"}}) == 0.001);
  CHECK(lr(json::object()) == 0.001);  // adam
  // Written, it wins, for every optimizer.
  for (const char* o : {"sgd", "adam", "rmsprop"}) {
    CHECK(lr({{"optimizer", o}, {"learning_rate", 0.05}}) == 0.05);
    CHECK(lr({{"optimizer", o}, {"learning_rate", 0.001}}) == 0.001);
  }
  // The optimizer is trained with it, and the canonical form stays a fixed point.
  const json sgd = json{{"model", {{"builder", json::object()}}}, {"train", {{"optimizer", "sgd"}}}};
  CHECK(parse_run_config(sgd).optimizer.learning_rate == 0.01);
  CHECK(canonical_json(canonical_json(sgd)) == canonical_json(sgd));
  // sgd at its default and sgd with 0.01 written are one run.
  json sgd_written = sgd;
  sgd_written["train"]["learning_rate"] = 0.01;
  CHECK(parse_run_config(sgd).hash == parse_run_config(sgd_written).hash);
  // Key order is unchanged by the derived value.
  CHECK(keys(canonical_json(sgd)["train"])[1] == "learning_rate");
}

TEST_CASE("alpha left out is the activation's Keras default: elu 1.0, leaky_relu 0.3") {
  auto layer = [](json l) {
    const json c = canonical_json(json{{"model", {{"layers", json::array({std::move(l), "flatten",
                                                                         json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}})}}}});
    return c["model"]["layers"][0];
  };
  CHECK(layer(json{{"conv2d", {{"filters", 4}, {"activation", "elu"}}}})["alpha"] == 1.0);
  CHECK(layer(json{{"conv2d", {{"filters", 4}, {"activation", "ELU"}}}})["alpha"] == 1.0);
  CHECK(layer(json{{"conv2d", {{"filters", 4}, {"activation", "leaky_relu"}}}})["alpha"] == 0.3);
  CHECK(layer(json{{"dense", {{"units", 4}, {"activation", "elu"}}}})["alpha"] == 1.0);
  CHECK(layer(json{{"dense", {{"units", 4}, {"activation", "leaky_relu"}}}})["alpha"] == 0.3);
  CHECK(layer(json{{"activation", {{"function", "elu"}}}})["alpha"] == 1.0);
  CHECK(layer(json{{"activation", {{"function", "leaky_relu"}}}})["alpha"] == 0.3);
  // {name: alpha} and an explicit alpha win.
  CHECK(layer(json{{"dense", {{"units", 4}, {"activation", {{"leaky_relu", 0.1}}}}}})["alpha"] == 0.1);
  CHECK(layer(json{{"dense", {{"units", 4}, {"activation", {{"elu", 0.5}}}}}})["alpha"] == 0.5);
  CHECK(layer(json{{"conv2d", {{"filters", 4}, {"activation", "elu"}, {"alpha", 0.3}}}})["alpha"] == 0.3);
  CHECK(layer(json{{"activation", {{"function", "leaky_relu"}, {"alpha", 0.2}}}})["alpha"] == 0.2);
  // Where nothing uses it, alpha is the canonical 0.3 whatever was written.
  CHECK(layer(json{{"conv2d", {{"filters", 4}, {"activation", "relu"}, {"alpha", 1.0}}}})["alpha"] == 0.3);
  CHECK(layer(json{{"conv2d", {{"filters", 4}}}})["alpha"] == 0.3);
  // The built layer trains with it.
  const RunConfig rc = parse_run_config(json{{"model", {{"layers", json::array({json{{"conv2d", {{"filters", 4}, {"activation", "elu"}}}},
                                                                               "flatten",
                                                                               json{{"dense", {{"units", 10}, {"activation", "softmax"}}}}})}}}});
  CHECK(rc.model.layers[0].alpha == 1.0);
}

TEST_CASE("builder alpha left out: the default of the activation that uses it; elu with leaky_relu must be written") {
  auto alpha = [](json b) { return canonical_json(builder(std::move(b)))["model"]["builder"]["alpha"]; };
  CHECK(alpha({{"activation", "elu"}}) == 1.0);  // conv and dense (dense_activation = activation)
  CHECK(alpha({{"activation", "leaky_relu"}}) == 0.3);
  CHECK(alpha({{"activation", {{"leaky_relu", 0.1}}}}) == 0.1);
  CHECK(alpha({{"activation", "elu"}, {"alpha", 0.5}}) == 0.5);
  CHECK(alpha({{"activation", "relu"}, {"dense_activation", "elu"}}) == 1.0);
  CHECK(alpha({{"activation", "elu"}, {"dense_activation", "tanh"}}) == 1.0);
  CHECK(alpha({{"activation", "tanh"}, {"dense_activation", "leaky_relu"}}) == 0.3);
  CHECK(alpha({{"activation", "relu"}, {"alpha", 1.0}}) == 0.3);  // unused: canonical 0.3

  const RunConfig rc = parse_run_config(builder({{"activation", "elu"}, {"conv_depth", 1}, {"dense", json::array({16})}}));
  for (const LayerSpec& l : rc.model.layers)
    if (l.activation == Activation::elu) CHECK(l.alpha == 1.0);

  // elu and leaky_relu share the builder's one alpha but default differently:
  // no single value is the default, so the grid must say which.
  auto [field, message] = error_of(builder({{"activation", "elu"}, {"dense_activation", "leaky_relu"}}));
  CHECK(field == "model.builder.alpha");
  CHECK(message ==
        "activation 'elu' and dense_activation 'leaky_relu' share one alpha and their Keras defaults differ (elu 1.0, "
        "leaky_relu 0.3); give alpha");
  CHECK(error_of(builder({{"activation", "leaky_relu"}, {"dense_activation", "elu"}})).first == "model.builder.alpha");
  CHECK(alpha({{"activation", "elu"}, {"dense_activation", "leaky_relu"}, {"alpha", 0.3}}) == 0.3);
  CHECK(alpha({{"activation", "elu"}, {"dense_activation", {{"leaky_relu", 0.2}}}}) == 0.2);
}
