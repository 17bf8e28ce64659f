// A trained network as an ONNX model (opset 13), written with a small
// protobuf encoder of our own: the handful of ONNX messages a feed-forward
// CNN needs, so exporting pulls in no protobuf library.
//
// The graph: input "input", float [N, C, H, W] (pixels scaled to [0, 1], as
// sweep trains on them; [N, F] for flat inputs such as HOG features), output
// "probabilities", float [N, classes] (the softmax, or the sigmoid outputs).
// Layers map one to one: Conv (explicit pads: Keras' 'same' may be
// asymmetric), MaxPool / AveragePool, BatchNormalization (inference form),
// Flatten (C, H, W order: the canonical layout's), Gemm (transB = 1), and
// Relu / LeakyRelu / Elu / Sigmoid / Tanh / Softmax; Dropout is the identity
// at inference and is left out.
#pragma once
#include <string>

#include "model/model.h"

namespace sweep {

inline constexpr int kOnnxOpset = 13;

// The serialized ModelProto. `params` in the canonical layout of model.h;
// `doc` goes into the model's doc_string (e.g. the run it came from).
std::string onnx_model(const ModelSpec& model, const Params& params, const std::string& doc);

}  // namespace sweep
