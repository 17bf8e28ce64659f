// The parameter store and the per-session network description shared by all
// Plans of a Session.
#include <cstring>

#include "backends/cpu/cpu_plan.h"
#include "common/error.h"
#include "kernels/common/rng.h"

namespace sweep::cpu {

Buffer::Buffer(size_t bytes) : bytes_(bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  data_.reset(std::aligned_alloc(64, rounded == 0 ? 64 : rounded));
  if (!data_) throw RuntimeError("cpu backend: out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(data_.get(), 0, rounded == 0 ? 64 : rounded);
}

ParamStore::ParamStore(const ModelSpec& model) : layout(param_layout(model)) {
  int64_t frozen_count = 0;
  for (ParamTensor& t : layout) {
    // Keep each trainable tensor 64-byte aligned inside the flat array.
    if (t.trainable) {
      offset.push_back(trainable_count);
      trainable_count += (t.size() + 15) / 16 * 16;
    } else {
      offset.push_back(frozen_count);
      frozen_count += t.size();
    }
    t.values.clear();
    t.values.shrink_to_fit();
  }
  column_order.assign(layout.size(), {});
  blocked.assign(layout.size(), {});
  layout_decided.assign(layout.size(), false);
  weights = Buffer(size_t(trainable_count) * sizeof(float));
  grads = Buffer(size_t(trainable_count) * sizeof(float));
  frozen.assign(size_t(frozen_count), 0.0f);
}

float* ParamStore::value(int tensor) const {
  if (tensor < 0) return nullptr;
  const size_t t = size_t(tensor);
  if (layout[t].trainable) return weights.as<float>() + offset[t];
  return const_cast<float*>(frozen.data()) + offset[t];
}

float* ParamStore::grad(int tensor) const {
  if (tensor < 0 || !layout[size_t(tensor)].trainable) return nullptr;
  return grads.as<float>() + offset[size_t(tensor)];
}

namespace {

// Copy one tensor between two oneDNN layouts of the same logical shape.
void relayout(const dnnl::memory::desc& from, const void* src, const dnnl::memory::desc& to, void* dst) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::memory a(from, engine, const_cast<void*>(src)), b(to, engine, dst);
  dnnl::reorder(a, b).execute(stream, a, b);
  stream.wait();
}

// The plain layout of a tensor kept in `blocked`: same dims, row-major.
dnnl::memory::desc plain_of(const dnnl::memory::desc& blocked) {
  const dnnl::memory::dims dims = blocked.dims();
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32,
                            dims.size() == 2 ? dnnl::memory::format_tag::ab : dnnl::memory::format_tag::abcd);
}

}  // namespace

dnnl::memory::desc ParamStore::adopt_layout(int tensor, const dnnl::memory::desc& plain,
                                            const dnnl::memory::desc& preferred) {
  const size_t t = size_t(tensor);
  if (!layout_decided[t]) {
    layout_decided[t] = true;
    if (preferred != plain && preferred.data_type() == dnnl::memory::data_type::f32 &&
        preferred.get_size() == plain.get_size()) {
      std::vector<float> copy(value(tensor), value(tensor) + layout[t].size());
      relayout(plain, copy.data(), preferred, value(tensor));
      blocked[t] = preferred;
    }
  }
  return blocked[t] == dnnl::memory::desc() ? plain : blocked[t];
}

void ParamStore::read(int tensor, float* canonical) const {
  const ColumnOrder order = column_order[size_t(tensor)];
  const int64_t size = layout[size_t(tensor)].size();
  const float* stored = value(tensor);
  std::vector<float> unblocked;
  if (blocked[size_t(tensor)] != dnnl::memory::desc()) {
    unblocked.resize(size_t(size));
    relayout(blocked[size_t(tensor)], stored, plain_of(blocked[size_t(tensor)]), unblocked.data());
    stored = unblocked.data();
  }
  if (order.hw == 0) {
    std::memcpy(canonical, stored, size_t(size) * sizeof(float));
    return;
  }
  const int64_t features = order.hw * order.c;
  for (int64_t row = 0; row < size / features; ++row)
    for (int64_t ch = 0; ch < order.c; ++ch)
      for (int64_t p = 0; p < order.hw; ++p)
        canonical[row * features + ch * order.hw + p] = stored[row * features + p * order.c + ch];
}

void ParamStore::write(int tensor, const float* canonical) {
  const ColumnOrder order = column_order[size_t(tensor)];
  const int64_t size = layout[size_t(tensor)].size();
  const dnnl::memory::desc& kept = blocked[size_t(tensor)];
  std::vector<float> unblocked(kept != dnnl::memory::desc() ? size_t(size) : 0);
  float* stored = unblocked.empty() ? value(tensor) : unblocked.data();
  if (order.hw == 0) {
    std::memcpy(stored, canonical, size_t(size) * sizeof(float));
  } else {
    const int64_t features = order.hw * order.c;
    for (int64_t row = 0; row < size / features; ++row)
      for (int64_t p = 0; p < order.hw; ++p)
        for (int64_t ch = 0; ch < order.c; ++ch)
          stored[row * features + p * order.c + ch] = canonical[row * features + ch * order.hw + p];
  }
  if (!unblocked.empty()) relayout(plain_of(kept), unblocked.data(), kept, value(tensor));
}

NetDesc::NetDesc(const ModelSpec& spec, Precision precision, uint64_t seed)
    : model(spec),
      bf16(precision == Precision::bf16),
      dropout_key(rng::derive_key(seed, rng::kDropout)) {
  info = infer(model);
  if (model.classes > 256) throw InputError("the cpu backend supports at most 256 classes", {}, "model.classes");
  const Params layout = param_layout(model);
  // Walk the canonical layout in step with the layers to find each one's tensors.
  size_t next = 0;
  first_trainable = -1;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSpec& layer = model.layers[i];
    LayerParams p;
    auto take = [&] { return int(next++); };
    if (layer.kind == LayerKind::conv2d || layer.kind == LayerKind::dense) {
      p.kernel = take();
      if (layer.use_bias) p.bias = take();
    } else if (layer.kind == LayerKind::batchnorm) {
      p.gamma = take();
      p.beta = take();
      p.moving_mean = take();
      p.moving_var = take();
    }
    if (layer.kind == LayerKind::dense && i > 0 && model.layers[i - 1].kind == LayerKind::flatten) {
      const Shape& map = info.layers[i - 1].input;
      p.kernel_columns_hwc = map.c > 1 && map.h * map.w > 1;
    }
    if (p.kernel >= 0 || p.gamma >= 0) {
      if (first_trainable < 0) first_trainable = int(i);
    }
    if (layer.kind == LayerKind::activation && layer.activation == Activation::softmax)
      throw InputError("the cpu backend supports softmax only as the output layer's activation", {},
                       "model.layers." + std::to_string(i) + ".activation");
    params.push_back(p);
  }
  if (next != layout.size()) throw RuntimeError("cpu backend: parameter layout does not match the layers");
  if (first_trainable < 0) first_trainable = int(model.layers.size()) - 1;
  sigmoid_output = model.layers.back().activation == Activation::sigmoid;
}

}  // namespace sweep::cpu
