#!/usr/bin/python3
"""Optuna 3.1 driving PyTorch on the space of bench/search/run.sh, for a wall budget.

The network is what sweep's model.builder makes of the same values: conv_depth
blocks of Conv2d(filters, 3x3, 'same') + activation + MaxPool2d(2), Flatten,
Dense(64) + activation, Dense(10); Adam (eps 1e-7, as Keras), the first 90% of
the first --train-limit training images to fit, the last 10% to validate.
TPESampler(seed) and HyperbandPruner(1, max_epochs, 3) on val_accuracy,
reported after every epoch; a trial that completes is scored on the test set.
Prints one line per finished trial: its state, epochs, val and test accuracy,
and seconds since the study started.
"""
import argparse
import os
import sys
import time

import numpy as np
import optuna
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pytorch_bench import read_idx  # noqa: E402  (bench/pytorch_bench.py: the IDX reader)


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU}


def build(depth, filters, activation):
    layers, channels, size = [], 1, 28
    for _ in range(depth):
        layers += [nn.Conv2d(channels, filters, 3, padding=1), ACTIVATIONS[activation](), nn.MaxPool2d(2)]
        channels, size = filters, size // 2
    layers += [nn.Flatten(), nn.Linear(channels * size * size, 64), ACTIVATIONS[activation](), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def accuracy(net, x, y, batch=1000):
    net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(x), batch):
            correct += (net(x[b:b + batch]).argmax(1) == y[b:b + batch]).sum().item()
    net.train()
    return correct / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--train-limit", type=int, required=True)
    p.add_argument("--test-limit", type=int, required=True)
    p.add_argument("--max-epochs", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    images = read_idx(f"{a.data_dir}/mnist/train-images-idx3-ubyte.gz")[:a.train_limit]
    labels = read_idx(f"{a.data_dir}/mnist/train-labels-idx1-ubyte.gz")[:a.train_limit].astype(np.int64)
    fit = a.train_limit - int(a.train_limit * 0.1)
    to_x = lambda im: torch.from_numpy(im.astype(np.float32) / 255.0).unsqueeze(1)
    x_fit, y_fit = to_x(images[:fit]), torch.from_numpy(labels[:fit])
    x_val, y_val = to_x(images[fit:]), torch.from_numpy(labels[fit:])
    x_test = to_x(read_idx(f"{a.data_dir}/mnist/t10k-images-idx3-ubyte.gz")[:a.test_limit])
    y_test = torch.from_numpy(read_idx(f"{a.data_dir}/mnist/t10k-labels-idx1-ubyte.gz")[:a.test_limit].astype(np.int64))
    start = time.perf_counter()

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        batch = trial.suggest_categorical("batch_size", [32, 64, 128, 256])
        filters = trial.suggest_categorical("filters", [8, 16, 32, 64])
        depth = trial.suggest_int("conv_depth", 1, 3)
        activation = trial.suggest_categorical("activation", ["relu", "tanh", "sigmoid", "elu"])
        torch.manual_seed(trial.number)
        net = build(depth, filters, activation)
        opt = torch.optim.Adam(net.parameters(), lr=lr, eps=1e-7)
        loss_fn = nn.CrossEntropyLoss()
        val = 0.0
        for epoch in range(1, a.max_epochs + 1):
            order = torch.randperm(fit)
            for b in range(0, fit, batch):
                idx = order[b:b + batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(x_fit[idx]), y_fit[idx])
                loss.backward()
                opt.step()
            val = accuracy(net, x_val, y_val)
            trial.report(val, epoch)
            if trial.should_prune():
                print(f"optuna trial={trial.number} state=PRUNED epochs={epoch} val={val:.4f} test=nan "
                      f"t={time.perf_counter() - start:.2f}", flush=True)
                raise optuna.TrialPruned()
        test = accuracy(net, x_test, y_test)
        print(f"optuna trial={trial.number} state=COMPLETE epochs={a.max_epochs} val={val:.4f} test={test:.4f} "
              f"t={time.perf_counter() - start:.2f}", flush=True)
        return val

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=a.seed),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=a.max_epochs,
                                                                      reduction_factor=3))
    study.optimize(objective, timeout=a.timeout)
    print(f"optuna done trials={len(study.trials)} t={time.perf_counter() - start:.2f}", flush=True)


if __name__ == "__main__":
    main()
