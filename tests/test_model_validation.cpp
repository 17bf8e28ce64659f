// infer() rejects models that cannot be built, naming the offending layer.
#include <doctest/doctest.h>

#include "common/error.h"
#include "model/model.h"
#include "tests/support/layers.h"

using namespace sweep;
using namespace sweep::test;

namespace {

// The field of the InputError infer() throws, or "" when it does not throw.
std::string error_field(const ModelSpec& m, std::string* message = nullptr) {
  try {
    infer(m);
  } catch (const InputError& e) {
    if (message) *message = e.message();
    return e.field();
  }
  return "";
}

const LayerSpec kOut = dense(10, Activation::softmax);
const LayerSpec kFlatten = layer(LayerKind::flatten);

}  // namespace

TEST_CASE("a valid model passes") {
  CHECK(error_field(model_of({1, 28, 28}, 10, {conv(8, 3, Activation::relu), maxpool(2), kFlatten, kOut})) == "");
}

TEST_CASE("kernel larger than its input (valid padding) names the layer") {
  std::string message;
  CHECK(error_field(model_of({1, 6, 6}, 10,
                             {conv(4, 3, Activation::relu), maxpool(2), conv(4, 3, Activation::relu), kFlatten, kOut}),
                    &message) == "model.layers.2");
  CHECK(message.find("larger than its input 2x2") != std::string::npos);
  // 'same' padding always fits.
  CHECK(error_field(model_of({1, 2, 2}, 10, {conv(4, 5, Activation::relu, Padding::same), kFlatten, kOut})) == "");
}

TEST_CASE("pooling below 1x1 names the layer") {
  std::string message;
  CHECK(error_field(model_of({1, 5, 5}, 10, {maxpool(2), maxpool(2), maxpool(2), kFlatten, kOut}), &message) ==
        "model.layers.2");
  CHECK(message.find("below 1x1") != std::string::npos);
}

TEST_CASE("dense without a flatten before it") {
  std::string message;
  CHECK(error_field(model_of({1, 28, 28}, 10, {conv(4, 3, Activation::relu), dense(16, Activation::relu), kOut}),
                    &message) == "model.layers.1");
  CHECK(message.find("flatten") != std::string::npos);
  // A flat input (HOG features) needs no flatten.
  CHECK(error_field(model_of({392, 1, 1, true}, 10, {dense(16, Activation::relu), kOut})) == "");
}

TEST_CASE("conv or pool on a flat input") {
  CHECK(error_field(model_of({1, 28, 28}, 10, {kFlatten, conv(4, 3, Activation::relu), kFlatten, kOut})) ==
        "model.layers.1");
  CHECK(error_field(model_of({1, 28, 28}, 10, {kFlatten, maxpool(2), kOut})) == "model.layers.1");
}

TEST_CASE("the output layer must be dense(classes) with softmax or sigmoid") {
  std::string message;
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(9, Activation::softmax)}), &message) ==
        "model.layers.1");
  CHECK(message.find("10 units") != std::string::npos);
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(10, Activation::relu)})) == "model.layers.1");
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(10, Activation::sigmoid), layer(LayerKind::dropout)})) ==
        "model.layers.2");
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(10, Activation::sigmoid)})) == "");
  CHECK(error_field(model_of({1, 8, 8}, 10, {})) == "model.layers");
}

TEST_CASE("bad layer arguments") {
  CHECK(error_field(model_of({1, 8, 8}, 10, {dropout(1.0), kFlatten, kOut})) == "model.layers.0");
  CHECK(error_field(model_of({1, 8, 8}, 10, {conv(0, 3, Activation::relu), kFlatten, kOut})) == "model.layers.0");
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(0, Activation::relu), kOut})) == "model.layers.1");
  // softmax is only an output activation
  CHECK(error_field(model_of({1, 8, 8}, 10, {kFlatten, dense(5, Activation::softmax), kOut})) == "model.layers.1");
  LayerSpec bn = layer(LayerKind::batchnorm);
  bn.epsilon = 0;
  CHECK(error_field(model_of({1, 8, 8}, 10, {bn, kFlatten, kOut})) == "model.layers.0");
  CHECK(error_field(model_of({0, 8, 8}, 10, {kFlatten, kOut})) == "model.input");
}

TEST_CASE("layer names: Keras numbering, user names kept, duplicates rejected") {
  ModelSpec m = model_of({1, 28, 28}, 10,
                         {conv(4, 3, Activation::relu), conv(4, 3, Activation::relu), maxpool(2), batchnorm(),
                          layer(LayerKind::activation), kFlatten, dense(8, Activation::relu), kOut});
  m.layers[1].name = "conv2d_1";  // a user name that equals a generated one
  infer(m);
  CHECK(m.layers[0].name == "conv2d");
  CHECK(m.layers[1].name == "conv2d_1");
  CHECK(m.layers[2].name == "max_pooling2d");
  CHECK(m.layers[3].name == "batch_normalization");
  CHECK(m.layers[4].name == "activation");
  CHECK(m.layers[5].name == "flatten");
  CHECK(m.layers[6].name == "dense");
  CHECK(m.layers[7].name == "dense_1");
  ModelSpec user =
      model_of({1, 28, 28}, 10, {conv(4, 3, Activation::relu), conv(4, 3, Activation::relu), kFlatten, kOut});
  user.layers[0].name = "conv2d_1";
  infer(user);
  CHECK(user.layers[1].name == "conv2d");
  user.layers[1].name = "conv2d_1";
  CHECK(error_field(user) == "model.layers.1");
}

TEST_CASE("enum names round-trip; unknown names list the allowed ones") {
  for (auto a : {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::sigmoid, Activation::tanh,
                 Activation::elu, Activation::softmax})
    CHECK(activation_from(to_string(a)) == a);
  for (auto k : {LayerKind::conv2d, LayerKind::maxpool2d, LayerKind::avgpool2d, LayerKind::batchnorm,
                 LayerKind::dropout, LayerKind::flatten, LayerKind::dense, LayerKind::activation})
    CHECK(layer_kind_from(to_string(k)) == k);
  for (auto p : {Padding::valid, Padding::same}) CHECK(padding_from(to_string(p)) == p);
  for (auto i : {Init::glorot_uniform, Init::he_uniform, Init::he_normal, Init::glorot_normal})
    CHECK(init_from(to_string(i)) == i);
  try {
    activation_from("relu6");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.message().find("relu6") != std::string::npos);
    CHECK(e.message().find("leaky_relu") != std::string::npos);
  }
  CHECK_THROWS_AS(padding_from("full"), InputError);
  CHECK_THROWS_AS(layer_kind_from("lstm"), InputError);
  CHECK_THROWS_AS(init_from("zeros"), InputError);
}

TEST_CASE("geometry helpers follow TF 'same' padding") {
  CHECK(conv_output_size(28, 3, 1, Padding::same) == 28);
  CHECK(conv_pad_before(28, 3, 1, Padding::same) == 1);
  CHECK(conv_output_size(28, 3, 2, Padding::same) == 14);
  CHECK(conv_pad_before(28, 3, 2, Padding::same) == 0);  // total pad 1: all after
  CHECK(conv_pad_before(28, 4, 1, Padding::same) == 1);  // total pad 3: 1 before, 2 after
  CHECK(conv_output_size(28, 3, 1, Padding::valid) == 26);
  CHECK(conv_output_size(28, 3, 2, Padding::valid) == 13);
  CHECK(pool_output_size(7, 2, 0) == 3);
  CHECK(pool_output_size(7, 3, 1) == 5);
}
