// ONNX export (see onnx.h). Field numbers are those of onnx/onnx.proto
// (proto2: repeated scalars written unpacked, one tag per element).
#include "export/onnx.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <map>

#include "common/error.h"

namespace sweep {
namespace {

static_assert(std::endian::native == std::endian::little, "raw_data holds little-endian floats");

// One protobuf message under construction: append fields, take bytes().
class Message {
 public:
  Message& varint(int field, uint64_t value) {
    key(field, 0);
    raw_varint(value);
    return *this;
  }
  Message& fixed32_float(int field, float value) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &value, 4);
    bytes_.append(b, 4);
    return *this;
  }
  Message& bytes(int field, const std::string& value) {
    key(field, 2);
    raw_varint(value.size());
    bytes_ += value;
    return *this;
  }
  Message& message(int field, const Message& value) { return bytes(field, value.bytes_); }
  const std::string& bytes() const { return bytes_; }

 private:
  void key(int field, int wire_type) { raw_varint(uint64_t(field) << 3 | uint64_t(wire_type)); }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_ += char((v & 0x7f) | 0x80);
      v >>= 7;
    }
    bytes_ += char(v);
  }
  std::string bytes_;
};

// onnx.proto enums and field numbers.
constexpr int kFloat = 1;  // TensorProto.DataType.FLOAT
enum AttributeType { kAttrFloat = 1, kAttrInt = 2, kAttrInts = 7 };

Message attribute_int(const std::string& name, int64_t v) {
  return std::move(Message().bytes(1, name).varint(20, kAttrInt).varint(3, uint64_t(v)));
}
Message attribute_float(const std::string& name, float v) {
  return std::move(Message().bytes(1, name).varint(20, kAttrFloat).fixed32_float(2, v));
}
Message attribute_ints(const std::string& name, const std::vector<int64_t>& v) {
  Message m;
  m.bytes(1, name).varint(20, kAttrInts);
  for (int64_t x : v) m.varint(8, uint64_t(x));
  return m;
}

// TensorProto with raw little-endian floats.
Message tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  Message m;
  for (int64_t d : dims) m.varint(1, uint64_t(d));
  m.varint(2, kFloat).bytes(8, name);
  m.bytes(9, std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return m;
}

// ValueInfoProto of a float tensor whose first dimension is the batch ("N").
Message value_info(const std::string& name, const std::vector<int64_t>& per_sample) {
  Message shape;
  shape.message(1, Message().bytes(2, "N"));
  for (int64_t d : per_sample) shape.message(1, Message().varint(1, uint64_t(d)));
  Message tensor_type;
  tensor_type.varint(1, kFloat).message(2, shape);
  return std::move(Message().bytes(1, name).message(2, Message().message(1, tensor_type)));
}

class Graph {
 public:
  // Adds a node reading `inputs`, returns the name of its one output.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& name,
                   const std::vector<Message>& attributes = {}, std::string output = "") {
    if (output.empty()) output = name + "/out";
    Message n;
    for (const std::string& in : inputs) n.bytes(1, in);
    n.bytes(2, output).bytes(3, name).bytes(4, op);
    for (const Message& a : attributes) n.message(5, a);
    graph_.message(1, n);
    return output;
  }
  void initializer(const ParamTensor& t) { graph_.message(5, tensor(t.name, t.shape, t.values)); }
  Message& raw() { return graph_; }

 private:
  Message graph_;
};

// The fused activation of a conv/dense layer, or an activation layer's.
std::string activation(Graph& g, const std::string& x, const LayerSpec& layer, const std::string& name) {
  switch (layer.activation) {
    case Activation::linear: return x;
    case Activation::relu: return g.node("Relu", {x}, name);
    case Activation::leaky_relu: return g.node("LeakyRelu", {x}, name, {attribute_float("alpha", float(layer.alpha))});
    case Activation::elu: return g.node("Elu", {x}, name, {attribute_float("alpha", float(layer.alpha))});
    case Activation::sigmoid: return g.node("Sigmoid", {x}, name);
    case Activation::tanh: return g.node("Tanh", {x}, name);
    case Activation::softmax: return g.node("Softmax", {x}, name, {attribute_int("axis", -1)});
  }
  throw RuntimeError("onnx export: unknown activation");
}

}  // namespace

std::string onnx_model(const ModelSpec& spec, const Params& params, const std::string& doc) {
  ModelSpec model = spec;
  const ModelInfo info = infer(model);
  const Params layout = param_layout(model);
  if (params.size() != layout.size())
    throw RuntimeError("onnx export: " + std::to_string(params.size()) + " parameter tensors for a model with " +
                       std::to_string(layout.size()));
  std::map<std::string, const ParamTensor*> by_name;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].name != layout[i].name || params[i].shape != layout[i].shape)
      throw RuntimeError("onnx export: parameter " + layout[i].name + " is missing or has another shape");
    by_name[params[i].name] = &params[i];
  }

  Graph g;
  std::string x = "input";
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSpec& layer = model.layers[i];
    const Shape& in = info.layers[i].input;
    const std::string& name = layer.name;
    auto param = [&](const char* what) {
      const ParamTensor& t = *by_name.at(name + "/" + what);
      g.initializer(t);
      return t.name;
    };
    switch (layer.kind) {
      case LayerKind::conv2d: {
        const int top = conv_pad_before(in.h, layer.kernel_h, layer.stride_h, layer.padding);
        const int left = conv_pad_before(in.w, layer.kernel_w, layer.stride_w, layer.padding);
        const Shape& out = info.layers[i].output;
        // The rest of the total padding goes after (TF's rule, model.h).
        const int bottom = std::max((out.h - 1) * layer.stride_h + layer.kernel_h - in.h - top, 0);
        const int right = std::max((out.w - 1) * layer.stride_w + layer.kernel_w - in.w - left, 0);
        std::vector<std::string> inputs = {x, param("kernel")};
        if (layer.use_bias) inputs.push_back(param("bias"));
        x = g.node("Conv", inputs, name,
                   {attribute_ints("kernel_shape", {layer.kernel_h, layer.kernel_w}),
                    attribute_ints("strides", {layer.stride_h, layer.stride_w}),
                    attribute_ints("pads", {top, left, bottom, right})});
        x = activation(g, x, layer, name + "/activation");
        break;
      }
      case LayerKind::maxpool2d:
      case LayerKind::avgpool2d:
        x = g.node(layer.kind == LayerKind::maxpool2d ? "MaxPool" : "AveragePool", {x}, name,
                   {attribute_ints("kernel_shape", {layer.pool_h, layer.pool_w}),
                    attribute_ints("strides", {pool_stride(layer.pool_h, layer.pool_stride_h),
                                               pool_stride(layer.pool_w, layer.pool_stride_w)})});
        break;
      case LayerKind::batchnorm: {
        const std::string gamma = param("gamma"), beta = param("beta");
        const std::string mean = param("moving_mean"), variance = param("moving_variance");
        x = g.node("BatchNormalization", {x, gamma, beta, mean, variance}, name,
                   {attribute_float("epsilon", float(layer.epsilon))});
        break;
      }
      case LayerKind::dropout:
        break;  // the identity at inference
      case LayerKind::flatten:
        x = g.node("Flatten", {x}, name, {attribute_int("axis", 1)});
        break;
      case LayerKind::dense: {
        std::vector<std::string> inputs = {x, param("kernel")};
        if (layer.use_bias) inputs.push_back(param("bias"));
        x = g.node("Gemm", inputs, name, {attribute_int("transB", 1)});
        x = activation(g, x, layer, name + "/activation");
        break;
      }
      case LayerKind::activation:
        x = activation(g, x, layer, name);
        break;
    }
  }
  // The graph's output gets its documented name.
  g.node("Identity", {x}, "output", {}, "probabilities");
  Message& graph = g.raw();
  graph.bytes(2, "sweep");
  const std::vector<int64_t> input_shape =
      model.input.flat ? std::vector<int64_t>{model.input.size()}
                       : std::vector<int64_t>{model.input.c, model.input.h, model.input.w};
  graph.message(11, value_info("input", input_shape));
  graph.message(12, value_info("probabilities", {model.classes}));

  Message m;
  m.varint(1, 8);  // IR version 8 (ONNX 1.10+)
  m.bytes(2, "sweep").bytes(3, SWEEP_VERSION);
  m.bytes(6, doc);
  m.message(7, graph);
  m.message(8, Message().bytes(1, "").varint(2, kOnnxOpset));
  return m.bytes();
}

}  // namespace sweep
