#!/usr/bin/python3
"""One epoch of write-up 000's CNN on MNIST in PyTorch, for bench/cpu_vs_pytorch.sh.

Same network as bench_train (Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-
Dense10, 3x3 'same', relu, Adam lr 1e-3 eps 1e-7, batch 64) on the same 54,000
fit images (the first 90% of the training set). Loads the IDX gz files itself.
Prints one line per memory format (contiguous NCHW and channels_last) with
images/s; the driver takes the faster.
"""
import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


def run(images, labels, batch, channels_last, bf16):
    torch.manual_seed(0)
    net = model()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n = images.shape[0]
    order = torch.randperm(n)
    start = time.perf_counter()
    cpu_start = time.process_time()
    total_loss = 0.0
    for b in range(0, n, batch):
        idx = order[b:b + batch]
        x = (images[idx].float() / 255.0).unsqueeze(1).contiguous(memory_format=fmt)
        y = labels[idx]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        total_loss += loss.item() * len(idx)
    seconds = time.perf_counter() - start
    return n / seconds, total_loss / n, time.process_time() - cpu_start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--limit", type=int, default=0,
                   help="use the first N training images before the 0.1 validation split, as bench_train (0 = all)")
    p.add_argument("--bf16", action="store_true", help="also time torch.autocast bf16")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    images = read_idx(f"{a.data_dir}/mnist/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{a.data_dir}/mnist/train-labels-idx1-ubyte.gz")
    total = len(images) if a.limit == 0 else min(a.limit, len(images))
    fit = total - int(total * 0.1)  # Keras' validation_split keeps the first 90%
    images = torch.from_numpy(images[:fit].copy())
    labels = torch.from_numpy(labels[:fit].astype(np.int64))
    variants = [(False, False), (True, False)] + ([(False, True), (True, True)] if a.bf16 else [])
    for channels_last, bf16 in variants:
        ips, loss, cpu = run(images, labels, a.batch, channels_last, bf16)
        print(f"pytorch={torch.__version__} format={'channels_last' if channels_last else 'nchw'} "
              f"precision={'bf16' if bf16 else 'fp32'} threads={torch.get_num_threads()} batch={a.batch} "
              f"images={fit} images_per_sec={ips:.1f} cpu_seconds={cpu:.3f} train_loss={loss:.4f}", flush=True)


if __name__ == "__main__":
    main()
