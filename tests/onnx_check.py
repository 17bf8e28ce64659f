#!/usr/bin/env python3
"""Checks a model written by `sweep export` independently of sweep.

  onnx_check.py MODEL.onnx IMAGES.gz LIMIT PREDICTIONS.csv

1. onnx's own checker (full_check: also ONNX shape inference) accepts the file.
2. A numpy float64 interpreter of the graph's nodes (written here from the
   ONNX operator specification, sharing no code with sweep) runs the first
   LIMIT images of the IDX file (pixels / 255, as sweep trains on them).
3. Its probabilities match the ones `sweep predict --all` printed
   (PREDICTIONS.csv) within 1e-4, and so do the predicted classes wherever
   the top class leads by more than that.
Exit 0 when all hold; 1 (with the reason) otherwise. tests/test_cli_export.cpp
runs it where python3-onnx is installed (CI installs it).
"""
import csv
import gzip
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def read_images(path, limit):
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        count = min(count, limit)
        data = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return data.reshape(count, 1, rows, cols).astype(np.float64) / 255.0


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    sh, sw = a.get("strides", [1, 1])
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    m, c, kh, kw = w.shape
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], m, oh, ow))
    for p in range(kh):
        for q in range(kw):
            patch = x[:, :, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, p, q])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def pool(x, a, reduce):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    assert list(a.get("pads", [0, 0, 0, 0])) == [0, 0, 0, 0]
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    windows = [x[:, :, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] for p in range(kh) for q in range(kw)]
    return reduce(np.stack(windows), axis=0)


def run(model, x):
    values = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x
    for node in model.graph.node:
        i = [values[name] if name else None for name in node.input]
        a = attrs(node)
        op = node.op_type
        if op == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "MaxPool":
            y = pool(i[0], a, np.max)
        elif op == "AveragePool":
            y = pool(i[0], a, np.mean)
        elif op == "BatchNormalization":
            shape = (1, -1) + (1,) * (i[0].ndim - 2)
            scale, bias, mean, var = (v.reshape(shape) for v in i[1:5])
            y = scale * (i[0] - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) + bias
        elif op == "Flatten":
            y = i[0].reshape(i[0].shape[0], -1)
        elif op == "Gemm":
            b = i[1].T if a.get("transB", 0) else i[1]
            y = i[0] @ b + (i[2] if len(i) > 2 else 0)
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "LeakyRelu":
            y = np.where(i[0] >= 0, i[0], a.get("alpha", 0.01) * i[0])
        elif op == "Elu":
            y = np.where(i[0] >= 0, i[0], a.get("alpha", 1.0) * (np.exp(i[0]) - 1))
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-i[0]))
        elif op == "Tanh":
            y = np.tanh(i[0])
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif op == "Identity":
            y = i[0]
        else:
            raise SystemExit(f"onnx_check: no interpreter for op {op}")
        values[node.output[0]] = y
    return values[model.graph.output[0].name]


def main():
    model_path, images_path, limit, predictions = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    probs = run(model, read_images(images_path, limit))
    with open(predictions) as f:
        rows = list(csv.DictReader(f))
    classes = probs.shape[1]
    theirs = np.array([[float(r[f"p{c}"]) for c in range(classes)] for r in rows])
    if theirs.shape != probs.shape:
        raise SystemExit(f"onnx_check: sweep predicted {theirs.shape}, the ONNX graph gave {probs.shape}")
    diff = float(np.abs(theirs - probs).max())
    # Classes must agree wherever the ONNX graph's top class leads by more
    # than the tolerance (a saturated sigmoid output can tie at float32).
    top2 = np.sort(probs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    same_class = np.array([int(r["class"]) for r in rows]) == probs.argmax(axis=1)
    print(f"onnx_check: opset {model.opset_import[0].version}, ops {' '.join(ops)}; {len(rows)} images, "
          f"max |p_sweep - p_onnx| = {diff:.3g}, classes agree on {int(same_class[clear].sum())}/{int(clear.sum())} "
          f"images with a clear top class ({int((~clear).sum())} near-ties)")
    if diff > 1e-4 or not same_class[clear].all():
        raise SystemExit("onnx_check: the ONNX graph does not reproduce sweep's predictions")


if __name__ == "__main__":
    main()
