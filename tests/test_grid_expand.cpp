// Grid expansion: product order and count, zip, exclude, include, variants
// (write-up 003's ten models), repeats, random search, stable hashes, varied.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "common/error.h"
#include "grid/grid.h"

using namespace sweep;

namespace {

const char* kSmallNet = R"(
model:
  builder: {conv_depth: 1, filters: 8, dense: []}
)";

ExpandedGrid grid(const std::string& body) { return parse_grid(std::string(kSmallNet) + body, "sweeps/study.yaml"); }

std::vector<json> values_of(const ExpandedGrid& g, const std::string& path) {
  std::vector<json> out;
  for (const ExpandedRun& r : g.runs) out.push_back(r.varied.at(path));
  return out;
}

std::set<std::string> hashes(const ExpandedGrid& g) {
  std::set<std::string> out;
  for (const ExpandedRun& r : g.runs) out.insert(r.config.hash);
  return out;
}

}  // namespace

TEST_CASE("a grid without axes is one run; name defaults to the file stem") {
  const ExpandedGrid g = grid("train: {epochs: 1}\n");
  CHECK(g.name == "study");
  REQUIRE(g.runs.size() == 1);
  CHECK(g.varied.empty());
  CHECK(g.runs[0].varied == json::object());
  CHECK(g.runs[0].config.train.epochs == 1);
  CHECK(g.text.find("epochs: 1") != std::string::npos);
}

TEST_CASE("axes combine as a product, first axis slowest") {
  const ExpandedGrid g = grid(R"(
name: lr-study
description: learning rate against batch size
train:
  learning_rate: [0.0001, 0.001, 0.01]
  batch_size: [32, 64]
)");
  CHECK(g.name == "lr-study");
  CHECK(g.description == "learning rate against batch size");
  REQUIRE(g.runs.size() == 6);
  CHECK(g.varied == std::vector<std::string>{"train.learning_rate", "train.batch_size"});
  CHECK(values_of(g, "train.learning_rate") == std::vector<json>{0.0001, 0.0001, 0.001, 0.001, 0.01, 0.01});
  CHECK(values_of(g, "train.batch_size") == std::vector<json>{32, 64, 32, 64, 32, 64});
  CHECK(g.runs[5].config.optimizer.learning_rate == 0.01);
  CHECK(g.runs[5].config.train.batch_size == 64);
  CHECK(hashes(g).size() == 6);
}

TEST_CASE("list-valued fields become axes only as lists of lists") {
  const ExpandedGrid g = parse_grid(R"(
model:
  builder:
    conv_depth: 2
    filters: [[16, 32], [32, 64]]
    kernel: [3, 3]
    dense: [64]
)", "g.yaml");
  REQUIRE(g.runs.size() == 2);
  CHECK(g.varied == std::vector<std::string>{"model.builder.filters"});
  CHECK(g.runs[1].config.model.layers[2].filters == 64);  // conv, pool, conv
  CHECK(g.runs[0].config.model.layers[0].kernel_h == 3);
}

TEST_CASE("fields inside a layer can be axes") {
  const ExpandedGrid g = parse_grid(R"(
model:
  layers:
    - conv2d: {filters: [8, 16], kernel: 3, activation: [relu, {leaky_relu: 0.1}]}
    - maxpool2d: {size: 2}
    - flatten: {}
    - dense: {units: 10, activation: softmax}
)", "g.yaml");
  REQUIRE(g.runs.size() == 4);
  CHECK(g.varied == std::vector<std::string>{"model.layers.0.filters", "model.layers.0.activation"});
  CHECK(g.runs[3].config.model.layers[0].filters == 16);
  CHECK(g.runs[3].config.model.layers[0].activation == Activation::leaky_relu);
  CHECK(g.runs[3].config.model.layers[0].alpha == 0.1);
}

TEST_CASE("zip groups vary together") {
  const ExpandedGrid g = grid(R"(
train:
  learning_rate: [0.1, 0.01, 0.001]
  batch_size: [32, 64]
  epochs: [1, 2, 3]
zip: [[train.learning_rate, train.epochs]]
)");
  REQUIRE(g.runs.size() == 6);
  CHECK(values_of(g, "train.learning_rate") == std::vector<json>{0.1, 0.1, 0.01, 0.01, 0.001, 0.001});
  CHECK(values_of(g, "train.epochs") == std::vector<json>{1, 1, 2, 2, 3, 3});
  CHECK(values_of(g, "train.batch_size") == std::vector<json>{32, 64, 32, 64, 32, 64});
}

TEST_CASE("exclude drops matching cells, include adds cells") {
  const ExpandedGrid g = grid(R"(
train:
  batch_size: [64, 256]
  learning_rate: [0.001, 0.01]
exclude:
  - {train.batch_size: 256, train.learning_rate: 0.01}
include:
  - {train.learning_rate: 0.1}
  - {train.batch_size: 16, train.epochs: 2}
)");
  REQUIRE(g.runs.size() == 5);
  CHECK(values_of(g, "train.batch_size") == std::vector<json>{64, 64, 256, 64, 16});
  CHECK(values_of(g, "train.learning_rate") == std::vector<json>{0.001, 0.01, 0.001, 0.1, 0.001});
  CHECK(g.runs[4].config.train.epochs == 2);
  CHECK(g.varied == std::vector<std::string>{"train.batch_size", "train.learning_rate", "train.epochs"});
}

TEST_CASE("exclude matches names in any spelling the loader accepts") {
  // The axis says Adam and ReLU as Keras does; the exclude the canonical names, or the other way round.
  for (const char* entry : {"{train.optimizer: adam, model.builder.activation: relu}",
                            "{train.optimizer: ADAM, model.builder.activation: ReLU}"}) {
    const ExpandedGrid g = parse_grid(
        std::string("model:\n  builder: {conv_depth: 1, filters: 8, dense: [], activation: [ReLU, tanh]}\n"
                    "train: {optimizer: [Adam, sgd]}\nexclude:\n  - ") + entry + "\n",
        "sweeps/study.yaml");
    INFO(entry);
    CHECK(g.runs.size() == 3);
  }
}

TEST_CASE("write-up 003's ten models as variants, with their parameter counts") {
  const ExpandedGrid g = parse_grid(R"(
name: study-003
model:
  builder: {conv_depth: 1, filters: 32, kernel: 3, dense: [64]}
train: {batch_size: 128, epochs: 10, learning_rate: 0.001}
variants:
  - {name: model1}
  - {name: model2, model: {builder: {kernel: 2}}}
  - {name: model3, model: {builder: {filters: 16}}}
  - {name: model4, model: {builder: {filters: 64}}}
  - {name: model5, model: {builder: {conv_depth: 2, filters: [32, 16]}}}
  - {name: model6, model: {builder: {conv_depth: 2, filters: [16, 32]}}}
  - {name: model7, model: {builder: {conv_depth: 2, filters: [16, 32]}}, train: {batch_size: 256}}
  - {name: model8, model: {builder: {conv_depth: 2, filters: [16, 32]}}, train: {batch_size: 256, epochs: 5}}
  - {name: model9, model: {builder: {conv_depth: 2, filters: [16, 32], activation: sigmoid, dense_activation: relu}}}
  - {name: model10, model: {builder: {conv_depth: 2, filters: [16, 32]}}, train: {batch_size: 256, learning_rate: 0.01}}
)", "g.yaml");
  REQUIRE(g.runs.size() == 10);
  const std::vector<int64_t> expected = {347146, 346986, 173930, 693578, 31258, 56714, 56714, 56714, 56714, 56714};
  for (size_t i = 0; i < g.runs.size(); ++i) {
    CAPTURE(i);
    CHECK(g.runs[i].variant == "model" + std::to_string(i + 1));
    CHECK(g.runs[i].config.variant == g.runs[i].variant);
    CHECK(infer(g.runs[i].config.model).total() == expected[i]);
  }
  CHECK(g.varied == std::vector<std::string>{"variant", "model.builder.kernel", "model.builder.filters", "model.builder.conv_depth",
                                             "train.batch_size", "train.epochs", "model.builder.activation",
                                             "train.learning_rate"});  // dense_activation is relu everywhere
  CHECK(g.runs[1].varied["model.builder.kernel"] == 2);
  CHECK(g.runs[0].varied["model.builder.kernel"] == 3);
  CHECK(g.runs[9].varied["variant"] == "model10");
  CHECK(g.runs[8].config.model.layers[0].activation == Activation::sigmoid);
  CHECK(g.runs[8].config.model.layers[5].activation == Activation::relu);  // conv pool conv pool flatten dense
}

TEST_CASE("variants can switch model form and carry their own axes") {
  const ExpandedGrid g = grid(R"(
variants:
  - {name: small}
  - name: mlp
    model:
      layers: [flatten, {dense: {units: [32, 64], activation: relu}}, {dense: {units: 10, activation: softmax}}]
)");
  REQUIRE(g.runs.size() == 3);
  CHECK(g.runs[0].variant == "small");
  CHECK(g.runs[2].config.model.layers[1].units == 64);
  CHECK(g.runs[2].varied["variant"] == "mlp");
}

TEST_CASE("repeats run every cell with seeds seed, seed+1, ...") {
  const ExpandedGrid g = grid(R"(
train: {seed: 7, learning_rate: [0.01, 0.001]}
repeats: 3
)");
  REQUIRE(g.runs.size() == 6);
  std::vector<uint64_t> seeds;
  std::vector<int> repeats;
  for (const ExpandedRun& r : g.runs) seeds.push_back(r.config.train.seed), repeats.push_back(r.repeat);
  CHECK(seeds == std::vector<uint64_t>{7, 7, 8, 8, 9, 9});
  CHECK(repeats == std::vector<int>{0, 0, 1, 1, 2, 2});
  CHECK(g.varied == std::vector<std::string>{"train.learning_rate"});  // the seed is not a studied field
  CHECK(hashes(g).size() == 6);
}

TEST_CASE("random search is deterministic and stays inside its ranges") {
  const std::string body = R"(
train: {batch_size: [32, 64]}
search:
  samples: 5
  seed: 3
  space:
    train.learning_rate: {log_uniform: [1e-4, 1e-1]}
    train.epochs: {int_uniform: [1, 3]}
    model.builder.dropout: {uniform: [0, 0.5]}
    model.builder.activation: {choice: [relu, tanh]}
)";
  const ExpandedGrid a = grid(body), b = grid(body);
  REQUIRE(a.runs.size() == 10);
  for (size_t i = 0; i < a.runs.size(); ++i) {
    CHECK(a.runs[i].config.hash == b.runs[i].config.hash);
    const double lr = a.runs[i].config.optimizer.learning_rate;
    CHECK(lr >= 1e-4);
    CHECK(lr <= 1e-1);
    CHECK(a.runs[i].config.train.epochs >= 1);
    CHECK(a.runs[i].config.train.epochs <= 3);
  }
  // Each batch size gets the same five samples.
  CHECK(a.runs[0].varied["train.learning_rate"] == a.runs[5].varied["train.learning_rate"]);
  const std::vector<json> rates = values_of(a, "train.learning_rate");
  CHECK(std::set<json>(rates.begin(), rates.end()).size() == 5);
  const ExpandedGrid other_seed = grid(body.substr(0, body.find("seed: 3")) + "seed: 4" + body.substr(body.find("seed: 3") + 7));
  CHECK(other_seed.runs[0].config.hash != a.runs[0].config.hash);
}

TEST_CASE("hashes are stable: key order, comments and other cells do not matter") {
  const ExpandedGrid a = parse_grid(R"(
train:
  learning_rate: [0.001, 0.01]
  epochs: 2
model:
  builder: {conv_depth: 1, filters: 8, dense: []}
)", "a.yaml");
  const ExpandedGrid b = parse_grid(R"(
# the same study, written differently, with one more cell
model:
  builder: {dense: [], filters: [8], conv_depth: 1, kernel: [3, 3]}   # same net
train:
  epochs: 2.0
  learning_rate: [0.01, 0.0001, 1.0e-3]
dataset: {name: mnist}
)", "b.yaml");
  REQUIRE(a.runs.size() == 2);
  REQUIRE(b.runs.size() == 3);
  CHECK(a.runs[0].config.hash == b.runs[2].config.hash);
  CHECK(a.runs[1].config.hash == b.runs[0].config.hash);
}

TEST_CASE("duplicate cells are dropped with a note") {
  const ExpandedGrid g = grid(R"(
train: {learning_rate: [0.001, 0.01, 1e-3]}
)");
  REQUIRE(g.runs.size() == 2);
  REQUIRE(g.notes.size() == 1);
  CHECK(g.notes[0].find("train.learning_rate: 0.001") != std::string::npos);
  CHECK(g.notes[0].find("run 1") != std::string::npos);
}

TEST_CASE("varied only lists fields that take more than one value") {
  const ExpandedGrid g = grid(R"(
train: {learning_rate: [0.001], batch_size: [32, 64]}
)");
  CHECK(g.varied == std::vector<std::string>{"train.batch_size"});
  CHECK(g.runs[0].varied == json{{"train.batch_size", 32}});
}

TEST_CASE("the example grids expand") {
  const ExpandedGrid quick = load_grid(SWEEP_SOURCE_DIR "/sweeps/examples/quick.yaml");
  CHECK(quick.runs.size() == 6);  // the setup demo: 3 learning rates x 2 activations
  CHECK(quick.runs[0].config.dataset.train_limit == 0);  // the full training set
  CHECK(quick.runs[0].config.train.epochs == 2);
  const ExpandedGrid tour = load_grid(SWEEP_SOURCE_DIR "/sweeps/examples/tour.yaml");
  CHECK(tour.runs.size() > 10);
  const ExpandedGrid asha = load_grid(SWEEP_SOURCE_DIR "/sweeps/examples/asha.yaml");
  CHECK(asha.runs.size() == 18);
  CHECK(asha.pruning.strategy == PruningSpec::Strategy::asha);
  const ExpandedGrid tpe = load_grid(SWEEP_SOURCE_DIR "/sweeps/examples/tpe.yaml");
  CHECK(tpe.tpe.trials == 30);
  CHECK(tpe.runs.size() == 10);  // the random startup trials
}

TEST_CASE("an activation object in a variant is one varied field, not one per key (write-up 001)") {
  const ExpandedGrid g = grid(R"(
variants:
  - name: plain
    model: {builder: {activation: [relu, {leaky_relu: 0.1}]}}
  - name: deeper
    model: {builder: {conv_depth: 2, activation: {leaky_relu: 0.1}}}
)");
  CHECK(std::find(g.varied.begin(), g.varied.end(), "model.builder.activation") != g.varied.end());
  for (const std::string& field : g.varied) CHECK(field.find("leaky_relu") == std::string::npos);
  REQUIRE(g.runs.size() == 3);
  CHECK(g.runs[0].varied.at("model.builder.activation") == "relu");
  CHECK(g.runs[1].varied.at("model.builder.activation") == json{{"leaky_relu", 0.1}});
  CHECK(g.runs[2].varied.at("model.builder.activation") == json{{"leaky_relu", 0.1}});
}

TEST_CASE("range and logspace axes are the lists they stand for, with the same hashes") {
  // Ints stay ints; stop is included when a step lands on it (0.1 steps reach 0.5 despite rounding).
  CHECK(values_of(grid("train: {epochs: {range: [1, 7, 3]}}\n"), "train.epochs") == std::vector<json>{1, 4, 7});
  CHECK(values_of(grid("train: {epochs: {range: [1, 6, 2]}}\n"), "train.epochs") == std::vector<json>{1, 3, 5});
  CHECK(values_of(grid("train: {epochs: {range: [5, 1, -2]}}\n"), "train.epochs") == std::vector<json>{5, 3, 1});
  auto with_dropout = [](const std::string& dropout) {
    return parse_grid("model:\n  builder: {conv_depth: 1, filters: 8, dense: [], dropout: " + dropout + "}\n",
                      "sweeps/study.yaml");
  };
  const ExpandedGrid dropout = with_dropout("{range: [0.1, 0.5, 0.1]}");
  CHECK(values_of(dropout, "model.builder.dropout") == std::vector<json>{0.1, 0.2, 0.3, 0.4, 0.5});
  CHECK(hashes(dropout) == hashes(with_dropout("[0.1, 0.2, 0.3, 0.4, 0.5]")));
  // logspace takes the end values (as numpy.geomspace), both included.
  const ExpandedGrid lr = grid("train: {learning_rate: {logspace: [1.0e-4, 1.0e-1, 4]}}\n");
  CHECK(values_of(lr, "train.learning_rate") == std::vector<json>{0.0001, 0.001, 0.01, 0.1});
  CHECK(hashes(lr) == hashes(grid("train: {learning_rate: [0.0001, 0.001, 0.01, 0.1]}\n")));
  const ExpandedGrid one = grid("train: {learning_rate: {logspace: [0.01, 1, 1]}}\n");  // n = 1: start alone
  REQUIRE(one.runs.size() == 1);
  CHECK(one.runs[0].config.optimizer.learning_rate == 0.01);
  // Inside a variant too.
  CHECK(grid("train: {epochs: 1}\nvariants:\n  - name: a\n    train: {batch_size: {range: [16, 64, 16]}}\n").runs.size() == 4);
}
