// Every grid validation error: an InputError with the file, line and column of
// the YAML node, the field, and a message the user can act on.
#include <doctest/doctest.h>

#include <string>

#include "common/error.h"
#include "grid/grid.h"

using namespace sweep;

namespace {

struct Caught {
  int line = 0, column = 0;
  std::string field, message, what;
};

Caught error_of(const std::string& yaml) {
  try {
    (void)parse_grid(yaml, "g.yaml");
  } catch (const InputError& e) {
    CHECK(e.where().file == "g.yaml");
    return Caught{e.where().line, e.where().column, e.field(), e.message(), e.what()};
  }
  FAIL("expected an InputError for:\n" << yaml);
  return {};
}

const std::string kNet = "model:\n  builder: {conv_depth: 1, filters: 8, dense: []}\n";

}  // namespace

TEST_CASE("YAML syntax errors carry yaml-cpp's line and column") {
  const Caught e = error_of("train:\n  epochs: [1, 2\n  batch_size: 3\n");
  CHECK(e.message.starts_with("YAML syntax error"));
  CHECK(e.line >= 2);
  CHECK(e.column >= 1);
  CHECK(error_of("a: 1\na: 2\n").message == "duplicate key 'a'");
  CHECK(error_of("").message.starts_with("the grid is empty"));
}

TEST_CASE("unknown keys suggest the nearest valid key") {
  const Caught e = error_of(kNet + "train:\n  learnig_rate: 0.1\n");
  CHECK(e.line == 4);
  CHECK(e.column == 3);
  CHECK(e.field == "train.learnig_rate");
  CHECK(e.message == "unknown key 'learnig_rate' in 'train'; did you mean 'learning_rate'?");
  CHECK(e.what == "g.yaml:4:3: 'train.learnig_rate': unknown key 'learnig_rate' in 'train'; did you mean 'learning_rate'?");

  const Caught top = error_of(kNet + "repeat: 2\n");
  CHECK(top.line == 3);
  CHECK(top.message == "unknown key 'repeat'; did you mean 'repeats'?");

  const Caught builder = error_of("model:\n  builder:\n    conv_dept: 2\n");
  CHECK(builder.line == 3);
  CHECK(builder.message == "unknown key 'conv_dept' in 'model.builder'; did you mean 'conv_depth'?");

  const Caught layer = error_of("model:\n  layers:\n    - flatten\n    - dense: {unit: 10, activation: softmax}\n");
  CHECK(layer.line == 4);
  CHECK(layer.field == "model.layers.1.unit");
  CHECK(layer.message.find("did you mean 'units'?") != std::string::npos);
}

TEST_CASE("wrong types, out of range values and unknown names point at the value") {
  const Caught type = error_of(kNet + "train:\n  learning_rate: abc\n");
  CHECK(type.line == 4);
  CHECK(type.column == 18);
  CHECK(type.message == "expected a number, got 'abc'");

  CHECK(error_of(kNet + "train: {learning_rate: 0}\n").message == "must be > 0, got 0");
  CHECK(error_of(kNet + "train: {learning_rate: -0.1}\n").message == "must be > 0, got -0.1");
  CHECK(error_of(kNet + "train: {batch_size: 0}\n").message == "must be >= 1, got 0");
  CHECK(error_of(kNet + "train: {epochs: 0}\n").message == "must be >= 1, got 0");
  CHECK(error_of(kNet + "train: {momentum: 1}\n").message == "must be in [0, 1), got 1");
  CHECK(error_of(kNet + "dataset: {validation_split: 1.5}\n").message == "must be in [0, 1), got 1.5");
  CHECK(error_of(kNet + "dataset: {test_limit: -1}\n").message == "must be >= 0, got -1");
  const Caught dropout = error_of("model:\n  builder: {dropout: 1.0}\n");
  CHECK(dropout.field == "model.builder.dropout");
  CHECK(dropout.line == 2);
  CHECK(dropout.column == 22);

  const Caught optimizer = error_of(kNet + "train:\n  optimizer: adamw\n");
  CHECK(optimizer.line == 4);
  CHECK(optimizer.message == "unknown value 'adamw'; expected one of: sgd, adam, rmsprop");
  const Caught activation = error_of("model:\n  builder:\n    activation: rellu\n");
  CHECK(activation.line == 3);
  CHECK(activation.field == "model.builder.activation");
  CHECK(activation.message.find("rellu") != std::string::npos);
}

TEST_CASE("a bad value inside an axis points at that value, without a cell") {
  const Caught e = error_of(kNet + "train:\n  batch_size: [32, 64]\n  learning_rate: [0.1, abc, 0.01]\n");
  CHECK(e.line == 5);
  CHECK(e.column == 24);
  CHECK(e.field == "train.learning_rate");
  CHECK(e.message == "expected a number, got 'abc'");
  // A bad scalar in a grid with axes is not blamed on one cell either.
  const Caught scalar = error_of(kNet + "train:\n  batch_size: [32, 64]\n  epochs: 0\n");
  CHECK(scalar.line == 5);
  CHECK(scalar.message == "must be >= 1, got 0");
  CHECK(error_of(kNet + "train: {epochs: []}\n").message == "an empty list: an axis needs at least one value");
}

TEST_CASE("model: both forms, neither, and shapes that only fail in one cell") {
  const Caught both = error_of("model:\n  builder: {}\n  layers: [flatten]\n");
  CHECK(both.field == "model");
  CHECK(both.line == 2);
  CHECK(both.message == "has both 'layers' and 'builder'; give exactly one");
  CHECK(error_of("train: {epochs: 1}\n").message == "missing: give model.layers or model.builder");
  CHECK(error_of("model: {}\n").message == "needs 'layers' or 'builder'");

  // conv_depth 4 does not fit 28x28 with valid padding; 1 and 2 do.
  const Caught deep = error_of("model:\n  builder:\n    conv_depth: [1, 2, 4]\n    filters: 8\ntrain:\n  batch_size: [32, 64]\n");
  // The builder as a whole is blamed (the cell's values say which combination).
  CHECK(deep.field == "model.builder");
  CHECK(deep.line == 3);
  CHECK(deep.message.starts_with("the model this builder makes does not fit"));
  CHECK(deep.message.ends_with(" in the cell {model.builder.conv_depth: 4, train.batch_size: 32}"));

  // A layer that only fails for one kernel value: the error names the cell.
  const Caught cell = error_of(R"(model:
  layers:
    - conv2d: {filters: 8, kernel: 5}
    - maxpool2d: {size: 2}
    - conv2d: {filters: 8, kernel: [3, 13]}
    - flatten
    - dense: {units: 10, activation: softmax}
train:
  batch_size: [32, 64]
)");
  CHECK(cell.field == "model.layers.2");
  CHECK(cell.line == 5);
  CHECK(cell.column == 7);  // the layer item
  CHECK(cell.message.find("larger than its input") != std::string::npos);
  CHECK(cell.message.ends_with(" in the cell {train.batch_size: 32}"));

  // The builder's filters list must cover conv_depth.
  const Caught filters = error_of("model:\n  builder: {conv_depth: 3, filters: [8, 16]}\n");
  CHECK(filters.field == "model.builder.filters");
  CHECK(filters.message.starts_with("has 2 entries but conv_depth is 3"));
}

TEST_CASE("a shape error that depends on two axes names the cell") {
  const Caught e = error_of(R"(model:
  builder:
    conv_depth: 3
    filters: 8
    kernel: [[3, 3], [5, 5]]
    pool_size: [[2, 2], [3, 3]]
)");
  // (A flat [3, 5] would be one 3x5 kernel: a list of lists makes the axis.)
  // 28 -> conv 26 -> pool 3: 8 -> conv 6 -> pool 2 -> conv 3x3 does not fit 2x2.
  CHECK(e.line == 3);
  CHECK(e.message.find("does not fit") != std::string::npos);
  CHECK(e.message.ends_with(" in the cell {model.builder.kernel: [3,3], model.builder.pool_size: [3,3]}"));
}

TEST_CASE("zip, exclude, include and search are checked against the schema") {
  const Caught unequal = error_of(kNet + "train: {learning_rate: [0.1, 0.01], epochs: [1, 2, 3]}\nzip: [[train.learning_rate, train.epochs]]\n");
  CHECK(unequal.line == 4);
  CHECK(unequal.message == "zip group has axes of unequal length: 'train.learning_rate' has 2 values, 'train.epochs' has 3");

  const Caught not_axis = error_of(kNet + "train: {learning_rate: [0.1, 0.01], epochs: 2}\nzip:\n  - [train.learning_rate, train.epochs]\n");
  CHECK(not_axis.line == 5);
  CHECK(not_axis.column == 27);
  CHECK(not_axis.message == "zip names 'train.epochs', which is not an axis (give it a list of values)");

  const Caught unknown_zip = error_of(kNet + "zip: [[train.lr]]\n");
  CHECK(unknown_zip.message == "zip names unknown field 'train.lr' (fields are dotted paths such as 'train.learning_rate' or "
                               "'model.layers.0.kernel')");

  const Caught exclude = error_of(kNet + "exclude:\n  - {train.batchsize: 256}\n");
  CHECK(exclude.line == 4);
  CHECK(exclude.column == 6);
  CHECK(exclude.message == "exclude names unknown field 'train.batchsize'; did you mean 'train.batch_size'?");

  const Caught include = error_of(kNet + "include:\n  - {model.layers.0.filtrs: 8}\n");
  CHECK(include.message == "include names unknown field 'model.layers.0.filtrs'; did you mean 'model.layers.0.filters'?");

  const Caught variant = error_of(kNet + "variants: [{name: a}]\ninclude: [{variant: b}]\n");
  CHECK(variant.message.starts_with("unknown variant 'b'"));

  const Caught search = error_of(kNet + "search:\n  samples: 2\n  space:\n    train.learning_rate: {log_uniform: [0, 1]}\n");
  CHECK(search.line == 6);
  CHECK(search.message == "log_uniform needs lo > 0, got '[0,1]'");
  const Caught dist = error_of(kNet + "search: {samples: 2, space: {train.epochs: {normal: [1, 2]}}}\n");
  CHECK(dist.message.starts_with("unknown key 'normal'"));
  const Caught clash = error_of(kNet + "train: {epochs: [1, 2]}\nsearch: {samples: 2, space: {train.epochs: {choice: [3]}}}\n");
  CHECK(clash.message == "'train.epochs' is both an axis and a search dimension; give it one or the other");
}

TEST_CASE("variants: names, keys and their own values are checked") {
  CHECK(error_of(kNet + "variants: [{train: {epochs: 2}}]\n").message == "a variant needs a 'name'");
  CHECK(error_of(kNet + "variants: [{name: a}, {name: a}]\n").message == "duplicate variant name 'a'");
  const Caught key = error_of(kNet + "variants:\n  - {name: a, trian: {epochs: 2}}\n");
  CHECK(key.message == "unknown key 'trian' in 'variants.0'; did you mean 'train'?");
  // An error in a variant's value points into the variant.
  const Caught value = error_of(kNet + "variants:\n  - name: a\n  - name: b\n    train: {epochs: -1}\n");
  CHECK(value.line == 6);
  CHECK(value.field == "train.epochs");
  CHECK(value.message == "must be >= 1, got -1");
}

TEST_CASE("load_grid reports a missing file") {
  try {
    (void)load_grid("/nonexistent/grid.yaml");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.where().file == "/nonexistent/grid.yaml");
    CHECK(e.message().starts_with("cannot read the grid file"));
  }
}

TEST_CASE("the report's reference block is accepted and its paths checked") {
  const std::string ok = kNet + R"(train: {learning_rate: [0.001, 0.01]}
reference:
  source: "write-up 000"
  results:
    - {label: "[1-1]", match: {train.learning_rate: 0.001}, test_accuracy: 0.9919}
)";
  CHECK(parse_grid(ok, "g.yaml").runs.size() == 2);
  const Caught bad = error_of(kNet + "reference:\n  results:\n    - {match: {train.learning_rat: 0.001}, test_accuracy: 0.99}\n");
  CHECK(bad.line == 5);
  CHECK(bad.message == "reference names unknown field 'train.learning_rat'; did you mean 'train.learning_rate'?");
  CHECK(error_of(kNet + "reference: {results: [{match: {train.epochs: 1}, test_accuracy: high}]}\n").message ==
        "expected a number, got 'high'");
}

TEST_CASE("bad range and logspace forms are errors at the range, naming the field") {
  auto check = [](const std::string& axis, const std::string& message) {
    const Caught e = error_of(kNet + "train:\n  epochs: 1\n  learning_rate: " + axis + "\n");
    INFO(axis, " -> ", e.what);
    CHECK(e.line == 5);
    CHECK(e.column > 16);
    CHECK(e.field == "train.learning_rate");
    CHECK(e.message.find(message) != std::string::npos);
  };
  check("{range: [1, 2]}", "range needs three values [start, stop, step], got '[1,2]'");
  check("{range: [0.1, 0.5, 0]}", "range step must not be 0");
  check("{range: [0.5, 0.1, 0.1]}", "range step 0.1 goes away from stop 0.1 (start 0.5)");
  check("{range: [0.1, x, 0.1]}", "range needs finite numbers [start, stop, step], got 'x'");
  check("{range: [0.0001, 1000, 0.000001]}", "an axis may have at most 100000");
  check("{logspace: [1.0e-4, 1.0e-1]}", "logspace needs three values [start, stop, n]");
  check("{logspace: [-4, -1, 4]}", "not exponents as numpy.logspace");
  check("{logspace: [1.0e-4, 1.0e-1, 0]}", "a whole number n >= 1");
  check("{logspace: [1.0e-4, 1.0e-1, 2.5]}", "a whole number n >= 1");
  check("{logspace: [1.0e-4, 1.0e-1, 1000000]}", "an axis may have at most 100000");
  // A value of the range that the field refuses is reported at the range.
  const Caught value = error_of(kNet + "train:\n  epochs: 1\n  learning_rate: {range: [-0.1, 0.1, 0.1]}\n");
  CHECK(value.line == 5);
  CHECK(value.field.starts_with("train.learning_rate"));
  CHECK(value.message == "must be > 0, got -0.1");
}
