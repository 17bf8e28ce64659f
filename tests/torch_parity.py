#!/usr/bin/env python3
"""An independent float64 implementation of what Keras computes, for
tests/test_torch_parity.cpp (see docs/keras_parity.md).

    python3 tests/torch_parity.py IN.json OUT.json

IN.json holds cases written by the C++ test: a model in sweep's canonical
layout (NCHW activations, conv kernels [F][C][KH][KW], dense kernels [U][F],
see src/model/model.h), its initial parameters, the samples, the batches of
each optimizer step, the dropout keep masks and the optimizer. For each case
this script computes, in float64 with PyTorch 1.13 doing the arithmetic and
autograd the derivatives:
  * eval-mode probabilities on the eval samples before the first step,
  * for each step: the training-mode loss sum and correct count of that
    batch, then the parameters after one optimizer step (trainable ones
    updated, BatchNorm moving statistics moved),
  * eval-mode probabilities after the last step,
  * for RMSprop and Adam, the parameters the optimizer formula sweep does NOT
    follow (epsilon outside the square root; PyTorch's Adam) would give, so
    the test can show it tells the two apart,
  * for sigmoid outputs, the loss sum TensorFlow's Keras computes when it
    uses the cached logits (softmax cross-entropy), for information.

Every formula is written out as Keras 3 (and Keras 2.11+) states it, not taken
from torch.nn where PyTorch's own layer or optimizer differs: 'same' padding
puts the odd pixel after (TensorFlow), BatchNormalization uses the biased batch
variance for normalising and for the moving variance with
moving = momentum * moving + (1 - momentum) * batch, the optimizers are
keras.optimizers.SGD / Adam / RMSprop's update_step.

Exit status 77: torch cannot be imported (the C++ test then tries the next
interpreter or skips). Any other failure: a traceback and status 1.
"""
import json
import math
import sys

EXIT_NO_TORCH = 77
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): the clip of the probability-path crossentropy


def same_padding(size, kernel, stride):
    """TensorFlow's 'same': output ceil(size/stride); the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def activation(torch, name, alpha, x):
    if name == "linear":
        return x
    if name == "relu":  # keras.activations.relu: max(x, 0)
        return torch.where(x > 0, x, torch.zeros_like(x))
    if name == "leaky_relu":  # keras.layers.LeakyReLU(negative_slope=alpha)
        return torch.where(x > 0, x, alpha * x)
    if name == "sigmoid":  # 1 / (1 + exp(-x))
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "elu":  # keras.activations.elu: x if x > 0 else alpha * (exp(x) - 1)
        # expm1 of min(x, 0): the branch not taken must not overflow (its gradient would be 0 * inf).
        return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))
    raise ValueError(f"activation {name!r} has no element-wise form here")


class Model:
    """The network of one case: layers as sweep describes them, parameters in canonical order."""

    def __init__(self, torch, case):
        self.torch = torch
        self.case = case
        self.layers = case["layers"]
        self.params = [torch.tensor(p["values"], dtype=torch.float64).reshape(p["shape"]) for p in case["params"]]
        self.trainable = [bool(p["trainable"]) for p in case["params"]]
        # Index of each layer's first parameter tensor.
        self.first = []
        cursor = 0
        for layer in self.layers:
            self.first.append(cursor)
            if layer["kind"] in ("conv2d", "dense"):
                cursor += 2 if layer["use_bias"] else 1
            elif layer["kind"] == "batchnorm":
                cursor += 4
        assert cursor == len(self.params), "parameter count does not match the layers"

    def forward(self, params, x, training, masks=None):
        """Logits [N, classes]; in training mode also the new BatchNorm moving statistics."""
        torch = self.torch
        F = torch.nn.functional
        moved = {}
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            kind = layer["kind"]
            p = self.first[i]
            fused = "linear" if i == last else layer["activation"]  # the output activation belongs to the loss
            if kind == "conv2d":
                kh, kw = layer["kernel"]
                sh, sw = layer["stride"]
                if layer["padding"] == "same":
                    top, bottom = same_padding(x.shape[2], kh, sh)
                    left, right = same_padding(x.shape[3], kw, sw)
                    x = F.pad(x, (left, right, top, bottom))
                bias = params[p + 1] if layer["use_bias"] else None
                x = F.conv2d(x, params[p], bias, stride=(sh, sw))  # cross-correlation, as Keras' Conv2D
                x = activation(torch, fused, layer["alpha"], x)
            elif kind in ("maxpool2d", "avgpool2d"):
                ph, pw = layer["pool"]
                sh, sw = layer["pool_stride"]
                sh, sw = sh or ph, sw or pw  # 0 = the pool size, as Keras' strides=None
                # 'valid' windows with floor: window (oy, ox) covers rows oy*sh .. oy*sh+ph-1.
                if kind == "maxpool2d":
                    x = F.max_pool2d(x, (ph, pw), stride=(sh, sw))
                else:
                    x = F.avg_pool2d(x, (ph, pw), stride=(sh, sw))
            elif kind == "batchnorm":
                gamma, beta, mean_m, var_m = params[p : p + 4]
                shape = (1, -1, 1, 1)
                eps, momentum = layer["epsilon"], layer["momentum"]
                if training:
                    mean = x.mean(dim=(0, 2, 3))
                    var = ((x - mean.reshape(shape)) ** 2).mean(dim=(0, 2, 3))  # biased, keras.ops.moments
                    x = gamma.reshape(shape) * (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps) + \
                        beta.reshape(shape)
                    moved[p + 2] = (momentum * mean_m + (1.0 - momentum) * mean).detach()
                    moved[p + 3] = (momentum * var_m + (1.0 - momentum) * var).detach()
                else:
                    x = gamma.reshape(shape) * (x - mean_m.reshape(shape)) / torch.sqrt(var_m.reshape(shape) + eps) + \
                        beta.reshape(shape)
            elif kind == "dropout":
                if training and layer["rate"] > 0:
                    keep = torch.tensor(masks[str(i)], dtype=torch.float64).reshape(x.shape)
                    x = x * keep / (1.0 - layer["rate"])  # inverted dropout: kept values scaled by 1/(1-rate)
            elif kind == "flatten":
                x = x.reshape(x.shape[0], -1, 1, 1)  # channel-major (C, H, W), sweep's documented order
            elif kind == "dense":
                bias = params[p + 1] if layer["use_bias"] else None
                y = x.reshape(x.shape[0], -1) @ params[p].t()
                if bias is not None:
                    y = y + bias
                x = activation(torch, fused, layer["alpha"], y.reshape(y.shape[0], -1, 1, 1))
            elif kind == "activation":
                x = activation(torch, layer["activation"], layer["alpha"], x)
            else:
                raise ValueError(f"layer kind {kind!r}")
        return x.reshape(x.shape[0], -1), moved


def per_sample_loss(torch, output, z, labels):
    """Keras' (sparse_)categorical_crossentropy of the output layer, per sample."""
    if output == "softmax":
        # Keras on TensorFlow hands a softmax output's cached logits to
        # softmax_cross_entropy_with_logits: logsumexp(z) - z_y, no clip.
        return torch.logsumexp(z, dim=1) - z.gather(1, labels[:, None])[:, 0]
    # Sigmoid outputs through the probability path of categorical_crossentropy:
    # normalise to sum one, clip to [eps, 1 - eps], -log of the label's entry.
    # The clip passes no gradient where it is active (tf.clip_by_value, torch.clamp).
    p = torch.sigmoid(z)
    q = p / p.sum(dim=1, keepdim=True)
    q_y = torch.clamp(q.gather(1, labels[:, None])[:, 0], KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    return -torch.log(q_y)


def probabilities(torch, output, z):
    if output == "softmax":
        return torch.softmax(z, dim=1)
    return torch.sigmoid(z)


class Optimizer:
    """keras.optimizers.SGD / Adam / RMSprop update_step, in float64; `variant`
    selects the formula sweep does not follow, to show the test tells them apart."""

    def __init__(self, spec, count, variant=None):
        self.spec = spec
        self.variant = variant
        self.slot1 = [None] * count
        self.slot2 = [None] * count

    def update(self, i, w, g, step):
        s = self.spec
        lr = s["learning_rate"]
        if self.slot1[i] is None:
            self.slot1[i] = w * 0.0
            self.slot2[i] = w * 0.0
        if s["kind"] == "sgd":
            if s["momentum"] == 0:
                return w - g * lr
            m = self.slot1[i] = self.slot1[i] * s["momentum"] - g * lr
            if s["nesterov"]:
                return w + (m * s["momentum"] - g * lr)
            return w + m
        if s["kind"] == "adam":
            b1, b2, eps = s["beta_1"], s["beta_2"], s["epsilon"]
            m = self.slot1[i] = self.slot1[i] + (g - self.slot1[i]) * (1.0 - b1)
            v = self.slot2[i] = self.slot2[i] + (g * g - self.slot2[i]) * (1.0 - b2)
            if self.variant == "torch":
                # torch.optim.Adam: bias-corrected moments, epsilon added to sqrt(v_hat).
                m_hat = m / (1.0 - b1**step)
                v_hat = v / (1.0 - b2**step)
                return w - lr * m_hat / (v_hat.sqrt() + eps)
            alpha = lr * math.sqrt(1.0 - b2**step) / (1.0 - b1**step)
            return w - (m * alpha) / (v.sqrt() + eps)  # epsilon "hat", outside the root
        if s["kind"] == "rmsprop":
            rho, eps, momentum = s["rho"], s["epsilon"], s["momentum"]
            a = self.slot1[i] = rho * self.slot1[i] + (1.0 - rho) * g * g
            if self.variant == "eps_outside":
                increment = lr * g / (a.sqrt() + eps)  # torch.optim.RMSprop, Keras before 2.11
            else:
                increment = lr * g / (a + eps).sqrt()  # Keras 2.11+ and 3
            if momentum > 0:
                mom = self.slot2[i] = momentum * self.slot2[i] + increment
                return w - mom
            return w - increment
        raise ValueError(f"optimizer {s['kind']!r}")


def run_case(torch, case, variant=None):
    model = Model(torch, case)
    shape = [-1] + list(case["input"])
    if "x_u8" in case:
        x_all = torch.tensor(case["x_u8"], dtype=torch.float64) / 255.0  # pixels scaled as the user would
    else:
        x_all = torch.tensor(case["x"], dtype=torch.float64)
    x_all = x_all.reshape(shape)
    labels_all = torch.tensor(case["labels"], dtype=torch.int64)
    output = case["output"]
    eval_rows = torch.tensor(case["eval"], dtype=torch.int64)
    params = [p.clone() for p in model.params]
    opt = Optimizer(case["optimizer"], len(params), variant)
    result = {"name": case["name"]}

    def predict():
        with torch.no_grad():
            z, _ = model.forward(params, x_all[eval_rows], training=False)
            return probabilities(torch, output, z).reshape(-1).tolist()

    if variant is None:
        result["probs_before"] = predict()
    steps = []
    for step, rows in enumerate(case["batches"], start=1):
        rows = torch.tensor(rows, dtype=torch.int64)
        x, y = x_all[rows], labels_all[rows]
        leaves = [p.clone().requires_grad_(t) for p, t in zip(params, model.trainable)]
        z, moved = model.forward(leaves, x, training=True, masks=case["masks"][step - 1])
        losses = per_sample_loss(torch, output, z, y)
        loss_mean = losses.mean()  # Keras' sum_over_batch_size reduction
        trainable = [leaf for leaf, t in zip(leaves, model.trainable) if t]
        grads = iter(torch.autograd.grad(loss_mean, trainable))
        new_params = []
        for i, (p, t) in enumerate(zip(params, model.trainable)):
            if t:
                new_params.append(opt.update(i, p, next(grads).detach(), step))
            else:
                new_params.append(moved.get(i, p))
        record = {"loss_sum": float(losses.sum()), "correct": int((z.argmax(dim=1) == y).sum())}
        if output == "sigmoid":
            tf_logits = torch.logsumexp(z, dim=1) - z.gather(1, y[:, None])[:, 0]
            record["loss_sum_tf_logits"] = float(tf_logits.sum())
        params = [p.detach() for p in new_params]
        record["params"] = [p.reshape(-1).tolist() for p in params]
        steps.append(record)
    result["steps"] = steps
    if variant is None:
        result["probs_after"] = predict()
    return result


def main():
    if len(sys.argv) != 3:
        print("usage: torch_parity.py IN.json OUT.json", file=sys.stderr)
        return 2
    try:
        import torch
    except Exception as error:  # ImportError, or a broken install
        print(f"torch_parity.py: cannot import torch: {error}", file=sys.stderr)
        return EXIT_NO_TORCH
    torch.set_num_threads(1)
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    out = {"torch": torch.__version__, "cases": []}
    for case in cases:
        result = run_case(torch, case)
        kind = case["optimizer"]["kind"]
        variant = {"rmsprop": "eps_outside", "adam": "torch"}.get(kind)
        if variant:
            result["other_formula"] = {"name": variant, "steps": run_case(torch, case, variant)["steps"]}
        out["cases"].append(result)
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
