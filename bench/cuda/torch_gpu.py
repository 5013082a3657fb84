#!/usr/bin/python3
"""torch_gpu.py - the PyTorch (GPU) side of bench/cuda/run.sh.

Seconds per epoch of the same training as the dlc-built CUDA program:
models/mnist_mlp.nn's network (784-512-10, relu, sparse categorical
crossentropy from logits, RMSprop lr 0.001 rho 0.9 eps 1e-7, batch 128) or
bench/cuda/wide_mlp.nn's (784-4096-4096-10, SGD lr 0.01 momentum 0.9,
batch 1024), on Fashion-MNIST's 60000 training images, a fresh permutation
each epoch, then the loss and accuracy of the 10000 test images, as the
dlc program's epoch does.  The whole data set sits on the GPU as float
tensors before timing (the most favourable setting for PyTorch).  Modes:
eager, and torch.compile (`--compile`) where it works.  1 + --epochs epochs
run, the first a warm-up; prints one JSON line with the median.

usage: torch_gpu.py --model mlp|wide [--epochs 2] [--compile] [--data DIR]
Exits 3 with a message when torch has no CUDA device.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np


def read_idx(path):
    for p in (path + ".gz", path):
        if os.path.exists(p):
            with (gzip.open if p.endswith(".gz") else open)(p, "rb") as f:
                data = f.read()
            ndim = data[3]
            dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise FileNotFoundError(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["mlp", "wide"], default="mlp")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("torch_gpu.py: this PyTorch has no CUDA device (torch %s)" % torch.__version__, file=sys.stderr)
        sys.exit(3)
    torch.backends.cuda.matmul.allow_tf32 = False  # f32 GEMMs, as dlc's
    dev = torch.device("cuda")
    xtr = torch.tensor(read_idx(os.path.join(a.data, "train-images-idx3-ubyte")), device=dev).float().div_(255).reshape(-1, 784)
    ytr = torch.tensor(read_idx(os.path.join(a.data, "train-labels-idx1-ubyte")).astype(np.int64), device=dev)
    xte = torch.tensor(read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte")), device=dev).float().div_(255).reshape(-1, 784)
    yte = torch.tensor(read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64), device=dev)
    torch.manual_seed(0)
    if a.model == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).to(dev)
        opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
        batch = 128
    else:
        net = torch.nn.Sequential(torch.nn.Linear(784, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 4096), torch.nn.ReLU(),
                                  torch.nn.Linear(4096, 10)).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        batch = 1024
    lossf = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        logits = net(x)
        loss = lossf(logits, y)
        loss.backward()
        opt.step()
        return loss.detach(), (logits.argmax(1) == y).float().mean()

    def evaluate():
        with torch.no_grad():
            tl, tc = 0.0, 0
            for s in range(0, xte.shape[0], batch):
                lg = net(xte[s : s + batch])
                tl += float(lossf(lg, yte[s : s + batch])) * lg.shape[0]
                tc += int((lg.argmax(1) == yte[s : s + batch]).sum())
        return tl / xte.shape[0], tc / xte.shape[0]

    mode = "eager"
    if a.compile:
        try:
            step = torch.compile(step)
            mode = "compile"
        except Exception as ex:  # no compiler on this machine: say so
            print(json.dumps({"mode": "compile", "error": str(ex)[:200]}))
            return
    times = []
    n = xtr.shape[0]
    for ep in range(1 + a.epochs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            loss, acc = step(xtr[idx], ytr[idx])
        float(loss)
        vl, va = evaluate()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"model": a.model, "mode": mode, "epoch_s": statistics.median(times[1:]), "epochs": times,
                      "test_accuracy": va, "device": torch.cuda.get_device_name(0), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
