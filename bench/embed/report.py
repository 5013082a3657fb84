"""report.py - the table of bench/embed/run.sh: medians over the rounds,
ratios against the targets of the embeddable code (docs/embedded.md).

usage: report.py OUT ROUNDS
"""
import json
import os
import re
import statistics
import sys

out, rounds = sys.argv[1], int(sys.argv[2])


def rounds_of(name):
    """Latencies (seconds) of OUT/name_R.json, one per round."""
    vals = []
    for r in range(1, rounds + 1):
        p = os.path.join(out, "%s_%d.json" % (name, r))
        if os.path.exists(p) and os.path.getsize(p) > 0:
            vals.append(json.load(open(p))["latency_seconds"])
    return vals


def median(name):
    """Median latency over the rounds, or None."""
    vals = rounds_of(name)
    return statistics.median(vals) if vals else None


def macro(path, name):
    m = re.search(r"#define MNIST_MLP_%s (\d+)" % name, open(path).read())
    return int(m.group(1)) if m else None


def size(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return None
    text, data, bss = open(p).read().split()[:3]
    return int(text), int(data), int(bss)


us = lambda s: "%.2f us" % (s * 1e6) if s is not None else "n/a"
ratio = lambda a, b: "%.2fx" % (a / b) if a is not None and b else "n/a"
sg_cols, sg_rows = median("sgemv"), median("sgemv_rows")
sg2_cols, sg2_rows = median("sgemv2"), median("sgemv2_rows")
sgemv = min([v for v in (sg_cols, sg_rows) if v is not None], default=None)  # the floor: the faster layout
lo2, lon, b1, b2 = median("loops_O2"), median("loops_native"), median("blas_1"), median("blas_2")
t1, t2 = median("torch_1"), median("torch_2")
tbest = min([t for t in (t1, t2) if t is not None], default=None)
hdr = os.path.join(out, "loops", "mnist_mlp.h")
arena, weights = macro(hdr, "ARENA_BYTES"), macro(hdr, "WEIGHT_BYTES")
lower = int(re.search(r"lower bound (\d+)", open(hdr).read()).group(1))

print("## Embeddable inference, models/mnist_mlp.nn (784-512-10), batch 1\n")
print("| build | latency | ratio | target |")
print("|---|---|---|---|")
print("| two cblas_sgemv calls, [K, P] (CblasTrans), 1 thread | %s | %s of the floor | |" % (us(sg_cols), ratio(sg_cols, sgemv)))
print("| two cblas_sgemv calls, [P, K] (CblasNoTrans), 1 thread | %s | %s of the floor | |" % (us(sg_rows), ratio(sg_rows, sgemv)))
print("| two cblas_sgemv calls, [K, P], 2 threads | %s | | |" % us(sg2_cols))
print("| two cblas_sgemv calls, [P, K], 2 threads | %s | | |" % us(sg2_rows))
print("| --no-blas, -O2 | %s | %s of the floor | |" % (us(lo2), ratio(lo2, sgemv)))
print("| --no-blas, -O2 -march=native | %s | %s of the floor | <= 1.2x |" % (us(lon), ratio(lon, sgemv)))
print("| BLAS, 1 thread | %s | %s of PyTorch | |" % (us(b1), ratio(b1, tbest)))
print("| BLAS, 2 threads | %s | %s of PyTorch | <= 0.25x |" % (us(b2), ratio(b2, tbest)))
b2min = min(rounds_of("blas_2"), default=None)
print("| BLAS, 2 threads, fastest round | %s | %s of PyTorch | |" % (us(b2min), ratio(b2min, tbest)))
print("| PyTorch, 1 thread | %s | | |" % us(t1))
print("| PyTorch, 2 threads | %s | | |" % us(t2))
print("\nThe floor is the faster 1-thread sgemv layout; PyTorch's figure in the ratios is its better thread count.  "
      "The BLAS build stores its kernels [P, K].  Medians of %d rounds." % rounds)
print("\n| memory | bytes | |")
print("|---|---|---|")
print("| arena (planned) | %d | %s of the lower bound %d |" % (arena, ratio(arena, lower), lower))
print("| weights | %d | |" % weights)
me, mf = size("m4_embed.size"), size("m4_file.size")
if me and mf:
    print("\n| Cortex-M4 (-O2, hard float) | text | data | bss |")
    print("|---|---|---|---|")
    print("| const weights (--embed-weights) | %d | %d | %d |" % me)
    print("| code alone (--weights-file) | %d | %d | %d |" % mf)
    print("\nCode without weights: %d bytes (const-weights text %d - weights %d); the --weights-file"
          " unit, with its blob check, %d bytes (target: under 4096)." % (me[0] - weights, me[0], weights, mf[0]))
