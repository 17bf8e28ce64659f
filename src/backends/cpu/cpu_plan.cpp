// Building and running one batch size's network (see cpu_plan.h).
#include "backends/cpu/cpu_plan.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace sweep::cpu {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;
namespace k = cpu_kernels;

struct Plan::Layer {
  const LayerSpec* spec = nullptr;
  Shape in, out;
  bool is_output = false;
  bool alias = false;  // Flatten that needs no data movement
  // conv/dense: the max pool right after applies this layer's activation
  // backward inside its scatter (one pass instead of two).
  bool activation_folded_into_next = false;
  Buffer aux;          // max-pool argmax / dropout mask
  // The first convolution and the max pool after it run as one fused kernel
  // (kernels/cpu/conv_maxpool.cpp): the pool's forward computes both, the
  // convolution's backward both gradients, and the full-size map between
  // them is never stored.
  bool stem_conv = false, stem_pool = false;
  k::ConvPoolGeom stem;
  // A later convolution followed by a max pool: its backward (both
  // gradients) runs from the pooled gradient and the pool's argmax
  // (kernels/cpu/conv_maxpool_sparse.cpp), so the pool's own backward and
  // oneDNN's dense backward primitives are skipped.
  bool backward_from_pool = false, backward_in_conv = false;
  k::ConvPoolGeom sparse;
  Buffer saved_mean, saved_invstd;
  k::PoolGeom pool;

  // conv2d / dense
  bool dnnl = false;
  Activation fused = Activation::linear;  // applied as a post-op (hidden layers only)
  std::optional<dnnl::convolution_forward::primitive_desc> conv_pd;
  std::optional<dnnl::inner_product_forward::primitive_desc> ip_pd;
  dnnl::primitive fwd, bwd_data, bwd_weights;
  std::unordered_map<int, memory> fwd_args, bwd_data_args, bwd_weights_args;
  std::string fwd_impl, bwd_data_impl, bwd_weights_impl;
  memory::desc src_md, src_f32_md, dst_md, ddst_md, w_any, wgrad_any, bias_md, master_md;
  memory master_w, fwd_w;
  struct Copy {
    dnnl::reorder prim;
    std::unordered_map<int, memory> args;
    std::string impl;
  };
  std::vector<Copy> weight_copies;     // master -> primitive layouts, after each update
  std::optional<Copy> grad_copy;       // primitive layout -> canonical gradient
  Buffer src_lp, ddst_lp;              // bf16 copies of the input and output gradient
  bool has_bias() const { return spec->use_bias; }
};

namespace {

dnnl::algorithm eltwise_of(Activation a) {
  switch (a) {
    case Activation::relu:
    case Activation::leaky_relu: return dnnl::algorithm::eltwise_relu;
    case Activation::sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::tanh: return dnnl::algorithm::eltwise_tanh;
    case Activation::elu: return dnnl::algorithm::eltwise_elu;
    default: break;
  }
  throw InputError(std::string("activation '") + to_string(a) + "' is only supported on the output layer");
}

// Keras/TF 'same': total = max((ceil(in/s)-1)*s + k - in, 0), before = total/2.
std::pair<int, int> same_pads(int in, int kernel, int stride, Padding padding) {
  if (padding == Padding::valid) return {0, 0};
  const int out = (in + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Pooling the pre-activations and activating after gives the same values as
// the other way round only for a non-decreasing activation.
bool non_decreasing(const LayerSpec& layer) {
  switch (layer.activation) {
    case Activation::linear:
    case Activation::relu:
    case Activation::sigmoid:
    case Activation::tanh: return true;
    case Activation::leaky_relu:
    case Activation::elu: return layer.alpha >= 0;
    default: return false;
  }
}

// Whether layers 0 and 1 can run as the fused conv + max pool kernel: a
// convolution on few input channels (where oneDNN's cost is memory, not
// arithmetic) with a non-decreasing activation, then a max pool.
bool fuses_stem(const ModelSpec& model, const ModelInfo& info) {
  if (model.layers.size() < 3) return false;
  const LayerSpec& c = model.layers[0];
  const LayerSpec& p = model.layers[1];
  if (c.kind != LayerKind::conv2d || p.kind != LayerKind::maxpool2d) return false;
  const int ic = info.layers[0].input.c;
  return ic <= 4 && c.kernel_h * c.kernel_w * ic <= 64 && non_decreasing(c);
}

// Whether conv layer i's backward runs from the max pool after it (see
// Layer::backward_from_pool): enough input channels to fill vectors, and an
// activation that the pool's winners can be taken through.
bool backward_from_pool(const ModelSpec& model, const ModelInfo& info, size_t i) {
  if (i + 1 >= model.layers.size() || model.layers[i + 1].kind != LayerKind::maxpool2d) return false;
  const LayerSpec& c = model.layers[i];
  return c.kind == LayerKind::conv2d && info.layers[i].input.c >= 16 && non_decreasing(c);
}

k::PoolGeom pool_geom(int64_t n, const Shape& in, const Shape& out, const LayerSpec& s) {
  return {n, in.h, in.w, in.c, out.h, out.w, s.pool_h, s.pool_w,
          s.pool_stride_h > 0 ? s.pool_stride_h : s.pool_h, s.pool_stride_w > 0 ? s.pool_stride_w : s.pool_w};
}

}  // namespace

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Plan::~Plan() = default;

Plan::Plan(const NetDesc& net, ParamStore& params, int64_t batch, const dnnl::engine& engine, bool with_backward)
    : net_(net), params_(params), batch_(batch), with_backward_(with_backward), engine_(engine) {
  const size_t count = net.model.layers.size();
  const int64_t n = batch;
  owned_.emplace_back(size_t(n * net.model.input.size()) * sizeof(float));
  act_.assign(count + 1, nullptr);
  grad_.assign(count + 1, nullptr);
  act_[0] = owned_.back().as<float>();
  labels_.assign(size_t(n), 0);
  times_.assign(count, {});
  const bool stem = fuses_stem(net.model, net.info);
  for (size_t i = 0; i < count; ++i) {
    auto layer = std::make_unique<Layer>();
    layer->spec = &net.model.layers[i];
    layer->in = net.info.layers[i].input;
    layer->out = net.info.layers[i].output;
    layer->is_output = i + 1 == count;
    // A Flatten feeding a Dense whose kernel columns are stored in H, W, C
    // order moves no data either: NHWC activations are already (N, H*W*C).
    layer->alias = layer->spec->kind == LayerKind::flatten &&
                   (layer->in.c == 1 || layer->in.h * layer->in.w == 1 ||
                    (i + 1 < count && net.params[i + 1].kernel_columns_hwc));
    const size_t out_floats = size_t(n * layer->out.size());
    if (stem && i == 0) {  // the fused kernel never stores the convolution's output
      layers_.push_back(std::move(layer));
      continue;
    }
    if (layer->alias) {
      act_[i + 1] = act_[i];
    } else {
      owned_.emplace_back(out_floats * sizeof(float));
      act_[i + 1] = owned_.back().as<float>();
    }
    if (with_backward && int(i + 1) > net.first_trainable) {
      if (layer->alias) {
        grad_[i + 1] = grad_[i];
      } else {
        owned_.emplace_back(out_floats * sizeof(float));
        grad_[i + 1] = owned_.back().as<float>();
      }
    }
    layers_.push_back(std::move(layer));
  }
  for (size_t i = 0; i < count; ++i) {
    Layer& L = *layers_[i];
    const LayerSpec& s = *L.spec;
    switch (s.kind) {
      case LayerKind::conv2d:
      case LayerKind::dense:
      {
        // A conv and the max pool after it, for the two kernels that treat them together.
        auto conv_pool = [&] {
          const auto [pt, pb] = same_pads(L.in.h, s.kernel_h, s.stride_h, s.padding);
          const auto [pl, pr] = same_pads(L.in.w, s.kernel_w, s.stride_w, s.padding);
          const Layer& pool = *layers_[i + 1];
          return k::ConvPoolGeom{n,  L.in.h,  L.in.w,  L.in.c,    s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                                 pt, pl,      L.out.h, L.out.w, s.filters, pool_geom(n, L.out, pool.out, *pool.spec)};
        };
        if (stem && i == 0) {
          L.stem_conv = true;
          L.stem = conv_pool();
          break;
        }
        build_conv_or_dense(i);
        // Not in bf16: there oneDNN's dense backward runs at bf16 rates and
        // was no slower (write-up 000: 18,500 vs 17,900 images/s).
        if (with_backward && !net.bf16 && int(i) >= net.first_trainable && backward_from_pool(net.model, net.info, i)) {
          L.backward_from_pool = true;
          L.sparse = conv_pool();
          layers_[i + 1]->backward_in_conv = true;
        } else if (with_backward) {
          build_backward(i);
        }
        break;
      }
      case LayerKind::maxpool2d:
      case LayerKind::avgpool2d:
        L.pool = pool_geom(n, L.in, L.out, s);
        if (s.pool_h * s.pool_w > 256)
          throw InputError("the cpu backend supports pool windows of at most 256 positions", {},
                           "model.layers." + std::to_string(i));
        if (s.kind == LayerKind::maxpool2d) L.aux = Buffer(size_t(n * L.out.size()));
        L.stem_pool = stem && i == 1;
        break;
      case LayerKind::batchnorm:
        L.saved_mean = Buffer(size_t(L.in.c) * sizeof(float));
        L.saved_invstd = Buffer(size_t(L.in.c) * sizeof(float));
        break;
      case LayerKind::dropout: L.aux = Buffer(size_t(n * L.out.size())); break;
      case LayerKind::flatten:
      case LayerKind::activation: break;
    }
  }
  for (size_t i = 0; i + 1 < count; ++i) {
    Layer& L = *layers_[i];
    L.activation_folded_into_next = L.dnnl && L.fused != Activation::linear &&
                                    layers_[i + 1]->spec->kind == LayerKind::maxpool2d && grad_[i + 1] != nullptr;
  }
  // One user-mode scratchpad per plan, shared by its primitives: they run one
  // at a time, and no other session ever touches it.
  const size_t scratch = scratch_bytes_;
  scratchpad_ = Buffer(scratch);
  scratch_mem_ = memory({{int64_t(std::max<size_t>(scratch, 1))}, dt::u8, tag::x}, engine_, scratchpad_.as<void>());
  for (auto& L : layers_) {
    for (auto* args : {&L->fwd_args, &L->bwd_data_args, &L->bwd_weights_args})
      if (!args->empty()) (*args)[DNNL_ARG_SCRATCHPAD] = scratch_mem_;
    for (auto& c : L->weight_copies) c.args[DNNL_ARG_SCRATCHPAD] = scratch_mem_;
    if (L->grad_copy) L->grad_copy->args[DNNL_ARG_SCRATCHPAD] = scratch_mem_;
  }
}

void Plan::add_weight_copy(Layer& L, const memory::desc& desc, memory& out) {
  if (desc == L.master_md) {
    out = L.master_w;
    return;
  }
  if (L.fwd_w && desc == L.fwd_w.get_desc()) {
    out = L.fwd_w;
    return;
  }
  out = memory(desc, engine_);
  dnnl::reorder::primitive_desc pd(engine_, L.master_md, engine_, desc, user_scratchpad());
  track(pd);
  L.weight_copies.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, L.master_w}, {DNNL_ARG_TO, out}}, pd.impl_info_str()});
}

void Plan::build_conv_or_dense(size_t i) {
  Layer& L = *layers_[i];
  const LayerSpec& s = *L.spec;
  const bool conv = s.kind == LayerKind::conv2d;
  const dt cdt = net_.bf16 ? dt::bf16 : dt::f32;
  const int64_t n = batch_;
  const int64_t oc = conv ? s.filters : s.units;
  memory::dims src, w, dst;
  tag act_tag, w_tag;
  if (conv) {
    src = {n, L.in.c, L.in.h, L.in.w};
    w = {oc, L.in.c, s.kernel_h, s.kernel_w};
    dst = {n, oc, L.out.h, L.out.w};
    act_tag = tag::nhwc, w_tag = tag::oihw;
  } else {
    src = {n, L.in.size()};
    w = {oc, L.in.size()};
    dst = {n, oc};
    act_tag = tag::nc, w_tag = tag::oi;
  }
  L.dnnl = true;
  L.src_md = memory::desc(src, cdt, act_tag);
  L.src_f32_md = memory::desc(src, dt::f32, act_tag);
  L.dst_md = memory::desc(dst, dt::f32, act_tag);
  L.ddst_md = memory::desc(dst, cdt, act_tag);
  L.w_any = memory::desc(w, cdt, tag::any);
  L.wgrad_any = memory::desc(w, dt::f32, tag::any);
  L.bias_md = s.use_bias ? memory::desc({oc}, dt::f32, tag::x) : memory::desc();
  L.master_md = memory::desc(w, dt::f32, w_tag);

  dnnl::primitive_attr attr = user_scratchpad();
  if (!L.is_output && s.activation != Activation::linear) {
    L.fused = s.activation;
    dnnl::post_ops ops;
    const float alpha = s.activation == Activation::leaky_relu || s.activation == Activation::elu ? float(s.alpha) : 0.0f;
    ops.append_eltwise(1.0f, eltwise_of(s.activation), alpha, 0.0f);
    attr.set_post_ops(ops);
  }
  memory::desc weights_md;
  if (conv) {
    const auto [pt, pb] = same_pads(L.in.h, s.kernel_h, s.stride_h, s.padding);
    const auto [pl, pr] = same_pads(L.in.w, s.kernel_w, s.stride_w, s.padding);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                      L.src_md, L.w_any, L.bias_md, L.dst_md, {s.stride_h, s.stride_w}, {pt, pl},
                                      {pb, pr});
    L.conv_pd.emplace(d, attr, engine_);
    // oneDNN 2.6 lists brgconv first, but with a single input channel its
    // direct jit kernel runs the same convolution in about half the time
    // (MNIST's first layer, batch 64, 2 threads: 0.30 -> 0.16 ms). Chosen by
    // name, so every run of a plan picks the same kernel.
    if (L.in.c == 1 && !net_.bf16) {
      dnnl::convolution_forward::primitive_desc candidate(d, attr, engine_);
      do {
        if (std::string_view(candidate.impl_info_str()).starts_with("jit:")) {
          L.conv_pd.emplace(candidate);
          break;
        }
      } while (candidate.next_impl());
    }
    track(*L.conv_pd);
    L.fwd = dnnl::convolution_forward(*L.conv_pd);
    L.fwd_impl = L.conv_pd->impl_info_str();
    weights_md = L.conv_pd->weights_desc();
  } else {
    dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_training, L.src_md, L.w_any, L.bias_md, L.dst_md);
    L.ip_pd.emplace(d, attr, engine_);
    track(*L.ip_pd);
    L.fwd = dnnl::inner_product_forward(*L.ip_pd);
    L.fwd_impl = L.ip_pd->impl_info_str();
    weights_md = L.ip_pd->weights_desc();
  }
  // Dense kernels stay in the layout the inner products use (forward,
  // backward data and weights all agree on it), so neither the weights nor
  // the gradient are reordered each step. Convolutions' three primitives
  // want three different layouts, so theirs stay canonical.
  if (!conv && !net_.bf16) L.master_md = params_.adopt_layout(net_.params[i].kernel, L.master_md, weights_md);
  L.master_w = memory(L.master_md, engine_, params_.value(net_.params[i].kernel));
  add_weight_copy(L, weights_md, L.fwd_w);
  if (net_.bf16) L.src_lp = Buffer(size_t(n * L.in.size()) * sizeof(uint16_t));
  L.fwd_args = {{DNNL_ARG_SRC, memory(L.src_md, engine_, net_.bf16 ? L.src_lp.as<void>() : act_[i])},
                {DNNL_ARG_WEIGHTS, L.fwd_w},
                {DNNL_ARG_DST, memory(L.dst_md, engine_, act_[i + 1])}};
  if (s.use_bias) L.fwd_args[DNNL_ARG_BIAS] = memory(L.bias_md, engine_, params_.value(net_.params[i].bias));
}

void Plan::build_backward(size_t i) {
  Layer& L = *layers_[i];
  const LayerSpec& s = *L.spec;
  if (int(i) < net_.first_trainable) return;
  const bool conv = s.kind == LayerKind::conv2d;
  const bool need_dx = int(i) > net_.first_trainable;  // the first layer's input gradient is never used
  if (net_.bf16) L.ddst_lp = Buffer(size_t(batch_ * L.out.size()) * sizeof(uint16_t));
  memory ddst(L.ddst_md, engine_, net_.bf16 ? L.ddst_lp.as<void>() : grad_[i + 1]);
  const dnnl::primitive_attr attr = user_scratchpad();
  memory::desc diff_w_md;
  if (conv) {
    const auto [pt, pb] = same_pads(L.in.h, s.kernel_h, s.stride_h, s.padding);
    const auto [pl, pr] = same_pads(L.in.w, s.kernel_w, s.stride_w, s.padding);
    if (need_dx) {
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, L.src_f32_md, L.w_any, L.ddst_md,
                                              {s.stride_h, s.stride_w}, {pt, pl}, {pb, pr});
      dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine_, *L.conv_pd);
      track(pd);
      L.bwd_data = dnnl::convolution_backward_data(pd);
      L.bwd_data_impl = pd.impl_info_str();
      memory w;
      add_weight_copy(L, pd.weights_desc(), w);
      L.bwd_data_args = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w},
                         {DNNL_ARG_DIFF_SRC, memory(L.src_f32_md, engine_, grad_[i])}};
    }
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, L.src_md, L.wgrad_any, L.bias_md,
                                               L.ddst_md, {s.stride_h, s.stride_w}, {pt, pl}, {pb, pr});
    dnnl::convolution_backward_weights::primitive_desc pd(d, attr, engine_, *L.conv_pd);
    track(pd);
    L.bwd_weights = dnnl::convolution_backward_weights(pd);
    L.bwd_weights_impl = pd.impl_info_str();
    diff_w_md = pd.diff_weights_desc();
  } else {
    if (need_dx) {
      dnnl::inner_product_backward_data::desc d(L.src_f32_md, L.w_any, L.ddst_md);
      dnnl::inner_product_backward_data::primitive_desc pd(d, attr, engine_, *L.ip_pd);
      track(pd);
      L.bwd_data = dnnl::inner_product_backward_data(pd);
      L.bwd_data_impl = pd.impl_info_str();
      memory w;
      add_weight_copy(L, pd.weights_desc(), w);
      L.bwd_data_args = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w},
                         {DNNL_ARG_DIFF_SRC, memory(L.src_f32_md, engine_, grad_[i])}};
    }
    dnnl::inner_product_backward_weights::desc d(L.src_md, L.wgrad_any, L.bias_md, L.ddst_md);
    dnnl::inner_product_backward_weights::primitive_desc pd(d, attr, engine_, *L.ip_pd);
    track(pd);
    L.bwd_weights = dnnl::inner_product_backward_weights(pd);
    L.bwd_weights_impl = pd.impl_info_str();
    diff_w_md = pd.diff_weights_desc();
  }
  memory canonical_grad(L.master_md, engine_, params_.grad(net_.params[i].kernel));
  memory diff_w = canonical_grad;
  if (diff_w_md != L.master_md) {
    diff_w = memory(diff_w_md, engine_);
    dnnl::reorder::primitive_desc pd(engine_, diff_w_md, engine_, L.master_md, user_scratchpad());
    track(pd);
    L.grad_copy = Layer::Copy{dnnl::reorder(pd), {{DNNL_ARG_FROM, diff_w}, {DNNL_ARG_TO, canonical_grad}},
                              pd.impl_info_str()};
  }
  L.bwd_weights_args = {{DNNL_ARG_SRC, L.fwd_args.at(DNNL_ARG_SRC)}, {DNNL_ARG_DIFF_DST, ddst},
                        {DNNL_ARG_DIFF_WEIGHTS, diff_w}};
  if (s.use_bias)
    L.bwd_weights_args[DNNL_ARG_DIFF_BIAS] = memory(L.bias_md, engine_, params_.grad(net_.params[i].bias));
}

void Plan::load(const Samples& data, std::span<const int32_t> rows) {
  const Shape& in = net_.model.input;
  if (data.shape.size() != in.size())
    throw InputError("input samples have " + std::to_string(data.shape.size()) + " values, the model expects " +
                     std::to_string(in.size()));
  const int hw = in.h * in.w;
  if (data.is_u8())
    k::gather_u8(data.u8.data(), rows.data(), batch_, in.c, hw, act_[0]);
  else
    k::gather_f32(data.f32.data(), rows.data(), batch_, in.c, hw, act_[0]);
  for (int64_t i = 0; i < batch_; ++i) {
    const int32_t row = rows[size_t(i)];
    if (row < 0 || row >= data.count) throw RuntimeError("cpu backend: sample index out of range");
    labels_[size_t(i)] = data.labels[size_t(row)];
  }
}

void Plan::sync_weights(dnnl::stream& stream) {
  if (synced_version_ == params_.version) return;
  for (auto& L : layers_)
    for (auto& c : L->weight_copies) c.prim.execute(stream, c.args);
  stream.wait();
  synced_version_ = params_.version;
}

void Plan::forward(dnnl::stream& stream, bool training, uint64_t step) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    const double t0 = profile_ ? now_ms() : 0;
    forward_layer(stream, i, training, step);
    if (profile_) times_[i].forward_ms += now_ms() - t0;
  }
}

void Plan::forward_layer(dnnl::stream& stream, size_t i, bool training, uint64_t step) {
  Layer& L = *layers_[i];
  const LayerSpec& s = *L.spec;
  const LayerParams& p = net_.params[i];
  const float* x = act_[i];
  float* y = act_[i + 1];
  const int64_t count = batch_ * L.out.size();
  switch (s.kind) {
    case LayerKind::conv2d:
    case LayerKind::dense:
      if (L.stem_conv) break;  // runs with the pool after it
      if (net_.bf16) k::f32_to_bf16(x, L.src_lp.as<uint16_t>(), batch_ * L.in.size());
      L.fwd.execute(stream, L.fwd_args);
      stream.wait();
      break;
    case LayerKind::maxpool2d:
      if (L.stem_pool) {
        const Layer& c = *layers_[0];
        const LayerParams& cp = net_.params[0];
        k::conv_maxpool_forward(c.stem, act_[0], params_.value(cp.kernel), cp.bias >= 0 ? params_.value(cp.bias) : nullptr,
                                c.spec->activation, float(c.spec->alpha), y, training ? L.aux.as<uint8_t>() : nullptr);
      } else {
        k::maxpool_forward(L.pool, x, y, training ? L.aux.as<uint8_t>() : nullptr);
      }
      break;
    case LayerKind::avgpool2d: k::avgpool_forward(L.pool, x, y); break;
    case LayerKind::batchnorm: {
      const int64_t rows = batch_ * L.in.h * L.in.w;
      if (training)
        k::batchnorm_forward_training(x, rows, L.in.c, params_.value(p.gamma), params_.value(p.beta),
                                      float(s.epsilon), float(s.momentum), params_.value(p.moving_mean),
                                      params_.value(p.moving_var), y, L.saved_mean.as<float>(),
                                      L.saved_invstd.as<float>());
      else
        k::batchnorm_forward_inference(x, rows, L.in.c, params_.value(p.gamma), params_.value(p.beta),
                                       params_.value(p.moving_mean), params_.value(p.moving_var), float(s.epsilon), y);
      break;
    }
    case LayerKind::dropout:
      if (training && s.rate > 0)
        k::dropout_forward(x, batch_, L.in.h, L.in.w, L.in.c, float(s.rate), net_.dropout_key,
                           (step * 64 + i) << 32, y, L.aux.as<uint8_t>());
      else
        std::memcpy(y, x, size_t(count) * sizeof(float));
      break;
    case LayerKind::flatten:
      if (!L.alias) k::nhwc_to_nchw(x, batch_, L.in.h * L.in.w, L.in.c, y);
      break;
    case LayerKind::activation: k::activation_forward(s.activation, float(s.alpha), x, y, count); break;
  }
}

StepStats Plan::loss_and_gradient() {
  const double t0 = profile_ ? now_ms() : 0;
  const int classes = net_.model.classes;
  const float* z = act_.back();
  const k::LossSums sums = net_.sigmoid_output
                               ? k::sigmoid_cross_entropy(z, labels_.data(), batch_, classes, nullptr, grad_.back())
                               : k::softmax_cross_entropy(z, labels_.data(), batch_, classes, nullptr, grad_.back());
  if (profile_) loss_ms_ += now_ms() - t0;
  return {sums.loss_sum, sums.correct};
}

void Plan::output_probs(float* probs) const {
  const int classes = net_.model.classes;
  if (net_.sigmoid_output)
    k::sigmoid(act_.back(), batch_ * classes, probs);
  else
    k::softmax(act_.back(), batch_, classes, probs);
}

void Plan::backward(dnnl::stream& stream) {
  if (!with_backward_) throw RuntimeError("cpu backend: backward on a prediction-only plan");
  for (size_t i = layers_.size(); i-- > size_t(net_.first_trainable);) {
    const double t0 = profile_ ? now_ms() : 0;
    backward_layer(stream, i);
    if (profile_) times_[i].backward_ms += now_ms() - t0;
  }
}

void Plan::backward_layer(dnnl::stream& stream, size_t i) {
  Layer& L = *layers_[i];
  const LayerSpec& s = *L.spec;
  const LayerParams& p = net_.params[i];
  float* dy = grad_[i + 1];
  float* dx = grad_[i];  // null for the first trainable layer
  const int64_t count = batch_ * L.out.size();
  switch (s.kind) {
    case LayerKind::conv2d:
    case LayerKind::dense:
      if (L.stem_conv) {
        k::conv_maxpool_backward(L.stem, act_[0], grad_[2], act_[2], layers_[1]->aux.as<uint8_t>(), s.activation,
                                 float(s.alpha), params_.grad(p.kernel), p.bias >= 0 ? params_.grad(p.bias) : nullptr);
        break;
      }
      if (L.backward_from_pool) {
        k::conv_maxpool_backward_sparse(L.sparse, act_[i], params_.value(p.kernel), grad_[i + 2], act_[i + 2],
                                        layers_[i + 1]->aux.as<uint8_t>(), s.activation, float(s.alpha),
                                        params_.grad(p.kernel), p.bias >= 0 ? params_.grad(p.bias) : nullptr, dx);
        break;
      }
      if (L.fused != Activation::linear && !L.activation_folded_into_next)
        k::activation_backward(L.fused, float(s.alpha), act_[i + 1], dy, dy, count);
      if (net_.bf16) k::f32_to_bf16(dy, L.ddst_lp.as<uint16_t>(), count);
      L.bwd_weights.execute(stream, L.bwd_weights_args);
      if (L.grad_copy) L.grad_copy->prim.execute(stream, L.grad_copy->args);
      if (dx) L.bwd_data.execute(stream, L.bwd_data_args);
      stream.wait();
      break;
    case LayerKind::maxpool2d:
      if (dx && !L.backward_in_conv) {
        const Layer& prev = *layers_[i - 1];
        if (prev.activation_folded_into_next)
          k::maxpool_backward(L.pool, dy, L.aux.as<uint8_t>(), dx, prev.fused, float(prev.spec->alpha), act_[i],
                              act_[i + 1]);
        else
          k::maxpool_backward(L.pool, dy, L.aux.as<uint8_t>(), dx);
      }
      break;
    case LayerKind::avgpool2d:
      if (dx) k::avgpool_backward(L.pool, dy, dx);
      break;
    case LayerKind::batchnorm:
      k::batchnorm_backward(act_[i], dy, batch_ * L.in.h * L.in.w, L.in.c, params_.value(p.gamma),
                            L.saved_mean.as<float>(), L.saved_invstd.as<float>(), dx, params_.grad(p.gamma),
                            params_.grad(p.beta));
      break;
    case LayerKind::dropout:
      if (!dx) break;
      if (s.rate > 0)
        k::dropout_backward(dy, L.aux.as<uint8_t>(), float(1.0 / (1.0 - s.rate)), dx, count);
      else
        std::memcpy(dx, dy, size_t(count) * sizeof(float));
      break;
    case LayerKind::flatten:
      if (dx && !L.alias) k::nchw_to_nhwc(dy, batch_, L.in.h * L.in.w, L.in.c, dx);
      break;
    case LayerKind::activation:
      if (dx) k::activation_backward(s.activation, float(s.alpha), act_[i + 1], dy, dx, count);
      break;
  }
}

std::string Plan::describe() const {
  std::string out;
  auto line = [&](const Layer& L, const char* what, const std::string& impl) {
    if (!impl.empty()) out += L.spec->name + " " + what + ": " + impl + "\n";
  };
  for (const auto& L : layers_) {
    line(*L, "forward", L->fwd_impl);
    line(*L, "backward_data", L->bwd_data_impl);
    line(*L, "backward_weights", L->bwd_weights_impl);
    for (const auto& c : L->weight_copies) line(*L, "weights_reorder", c.impl);
    if (L->grad_copy) line(*L, "gradient_reorder", L->grad_copy->impl);
    const std::string ours = std::string("sweep:") + to_string(L->spec->kind);
    if (L->stem_conv) {
      line(*L, "forward+backward", "sweep:conv_maxpool (fused with the next layer)");
    } else if (L->stem_pool) {
      line(*L, "forward+backward", "sweep:conv_maxpool (fused with the previous layer)");
    } else if (L->backward_from_pool) {
      line(*L, "backward", "sweep:conv_maxpool_sparse (from the next max pool's winners)");
    } else if (L->backward_in_conv) {
      line(*L, "forward", ours);
      line(*L, "backward", "sweep:conv_maxpool_sparse (in the previous layer's backward)");
    } else if (!L->dnnl) {
      line(*L, "forward+backward", ours);
    }
  }
  return out;
}

}  // namespace sweep::cpu
