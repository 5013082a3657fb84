#!/usr/bin/python3
"""torch_mlp.py - the PyTorch (CPU) side of bench/run.sh.

Two measurements of models/mnist_mlp.nn's network (flatten 28x28 -> dense
512 relu -> dense 10; sparse categorical crossentropy from logits, mean over
the batch; RMSprop lr 0.001, rho 0.9, eps 1e-7 as Keras has it):

  train:   seconds per epoch of Fashion-MNIST's 60000 training images at
           batch 128 (469 steps, the last of 96), batches drawn from a fresh
           permutation each epoch as dlc's runtime does.  The data are read
           from the IDX .gz files with numpy and converted to float tensors
           (/255) once, before any timing.  1 + --epochs epochs run, each
           timed; the first is the warm-up (as bench/run.sh drops the dlc
           program's first epoch: both sides time the same epochs, which
           matters because the second epoch was measured ~15% slower than
           the first), and the median of the others is reported.
  latency: batch-1 predict (forward to softmax, torch.no_grad) on one test
           image, median over --runs calls after a warm-up.

usage: torch_mlp.py train --threads T [--epochs 1] [--data DIR]
       torch_mlp.py latency --threads T [--runs 2000] [--data DIR]
Prints one JSON object on the last line: the figures (seconds), the thread
count and the process's peak RSS (getrusage, KiB).
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import time

import numpy as np
import torch


def read_idx_gz(path):
    """An IDX file (gzip'd if named .gz) as a numpy u8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = struct.unpack(">%dI" % rank, raw[4:4 + 4 * rank])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data, split):
    x = read_idx_gz(os.path.join(data, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx_gz(os.path.join(data, "%s-labels-idx1-ubyte.gz" % split))
    xs = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / np.float32(255.0))
    ys = torch.from_numpy(y.astype(np.int64))
    return xs, ys


def make_model():
    """The 784-512-10 MLP with Keras' initializers (glorot_uniform, zeros)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return model


def train(a):
    xs, ys = load(a.data, "train")
    model = make_model()
    opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n = len(xs)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    times = []
    for _ in range(1 + a.epochs):  # the first epoch is the warm-up
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for b in range(0, n, 128):
            idx = perm[b:b + 128]
            loss = step(xs[idx], ys[idx])
        float(loss.detach())  # waits for the last step
        times.append(time.perf_counter() - t0)
    return {"epoch_seconds": statistics.median(times[1:]), "epoch_times": times}


def latency(a):
    xs, _ = load(a.data, "t10k")
    model = make_model().eval()
    x = xs[:1].clone()
    times = []
    with torch.no_grad():
        for _ in range(200):
            torch.softmax(model(x), dim=-1)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            torch.softmax(model(x), dim=-1)
            times.append(time.perf_counter() - t0)
    return {"latency_seconds": statistics.median(times)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["train", "latency"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = train(a) if a.what == "train" else latency(a)
    r["threads"] = a.threads
    r["torch"] = torch.__version__
    r["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(r))


if __name__ == "__main__":
    main()
