#include "store/plan.h"

#include "common/hash.h"

namespace sweep {

json model_spec_json(const ModelSpec& model) {
  json layers = json::array();
  for (const LayerSpec& l : model.layers) {
    json layer = {{"type", to_string(l.kind)}, {"name", l.name}};
    switch (l.kind) {
      case LayerKind::conv2d:
        layer["filters"] = l.filters;
        layer["kernel"] = {l.kernel_h, l.kernel_w};
        layer["strides"] = {l.stride_h, l.stride_w};
        layer["padding"] = to_string(l.padding);
        layer["use_bias"] = l.use_bias;
        break;
      case LayerKind::maxpool2d:
      case LayerKind::avgpool2d:
        layer["pool"] = {l.pool_h, l.pool_w};
        layer["strides"] = {l.pool_stride_h ? l.pool_stride_h : l.pool_h, l.pool_stride_w ? l.pool_stride_w : l.pool_w};
        break;
      case LayerKind::dense:
        layer["units"] = l.units;
        layer["use_bias"] = l.use_bias;
        break;
      case LayerKind::dropout:
        layer["rate"] = l.rate;
        break;
      case LayerKind::batchnorm:
        layer["momentum"] = l.momentum;
        layer["epsilon"] = l.epsilon;
        break;
      case LayerKind::flatten:
      case LayerKind::activation:
        break;
    }
    if (l.kind == LayerKind::conv2d || l.kind == LayerKind::dense || l.kind == LayerKind::activation) {
      layer["activation"] = to_string(l.activation);
      if (l.activation == Activation::leaky_relu || l.activation == Activation::elu) layer["alpha"] = l.alpha;
    }
    layers.push_back(std::move(layer));
  }
  return {{"input", {model.input.c, model.input.h, model.input.w}},
          {"input_flat", model.input.flat},
          {"classes", model.classes},
          {"init", to_string(model.init)},
          {"layers", std::move(layers)}};
}

std::string model_hash(const ModelSpec& model) { return hex64(fnv1a64(model_spec_json(model).dump())); }

PlannedRun plan_run(const ExpandedRun& run, double cost_estimate) {
  PlannedRun planned;
  planned.hash = run.config.hash;
  planned.config = run.config.canonical;
  planned.varied = run.varied.is_null() ? json::object() : run.varied;
  planned.variant = run.variant;
  planned.repeat = run.repeat;
  planned.seed = run.config.train.seed;
  planned.model_spec = run.config.model;
  planned.model = infer(planned.model_spec);  // also names unnamed layers, as in the summary
  planned.params_trainable = planned.model.trainable;
  planned.params_non_trainable = planned.model.non_trainable;
  planned.flops_per_image = planned.model.flops_forward;
  planned.cost_estimate = cost_estimate;
  return planned;
}

}  // namespace sweep
