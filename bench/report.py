#!/usr/bin/python3
"""report.py - turns the raw results bench/run.sh leaves in OUT into one
Markdown table with the ratios (the part of the bench that reads numbers,
kept out of the shell script).

usage: report.py OUT ROUNDS THREADS...

Reads, for each thread count t and round r: floor_t_r.txt (sgemm_floor's
output), torch_train_t_r.json, torch_rss_t_r.txt, dlc_log_t_r.csv (the
program's --log history: its `seconds` column, the first epoch dropped as
the warm-up), dlc_rss_t_r.txt; for each round torch_latency_r.json and
dlc_latency_r.json.  Each time is the median over all rounds (and epochs);
each peak RSS the largest seen.  Missing dlc files (dlc not built yet, or
failing) leave those cells as "n/a".
"""
import csv
import json
import os
import platform
import statistics
import sys


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def floor_seconds(out, name):
    text = read(os.path.join(out, name))
    for line in (text or "").splitlines():
        if line.startswith("floor_seconds "):
            return float(line.split()[1])
    return None


def dlc_epochs(out, name):
    """The per-epoch `seconds` of the program's history, without the first
    (warm-up) epoch."""
    text = read(os.path.join(out, name))
    if not text:
        return []
    rows = list(csv.DictReader(text.splitlines()))
    return [float(r["seconds"]) for r in rows[1:] if r.get("seconds")]


def jget(out, name, key):
    text = read(os.path.join(out, name))
    try:
        return json.loads(text.strip().splitlines()[-1])[key] if text else None
    except (ValueError, KeyError, IndexError):
        return None


def rss_mib(out, name):
    text = read(os.path.join(out, name))
    try:
        return int(text.strip().splitlines()[-1]) / 1024.0 if text else None
    except (ValueError, IndexError):
        return None


def largest(xs):
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def fmt(x, spec="%.3f"):
    return "n/a" if x is None else spec % x


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rs = range(1, rounds + 1)
    rows = []
    best = {"dlc": None, "torch": None}
    for t in threads:
        d = median([e for r in rs for e in dlc_epochs(out, "dlc_log_%s_%d.csv" % (t, r))])
        p = median([jget(out, "torch_train_%s_%d.json" % (t, r), "epoch_seconds") for r in rs])
        f = median([floor_seconds(out, "floor_%s_%d.txt" % (t, r)) for r in rs])
        dr = largest([rss_mib(out, "dlc_rss_%s_%d.txt" % (t, r)) for r in rs])
        pr = largest([rss_mib(out, "torch_rss_%s_%d.txt" % (t, r)) for r in rs])
        rows.append((t, d, p, f, dr, pr))
        for k, v in (("dlc", d), ("torch", p)):
            if v is not None and (best[k] is None or v < best[k]):
                best[k] = v
    print("## dlc benchmarks (%s, %d CPUs, %s)" % (platform.node(), os.cpu_count() or 0, platform.processor() or platform.machine()))
    print()
    print("Training: models/mnist_mlp.nn (784-512-10, RMSprop, batch 128), Fashion-MNIST, "
          "seconds per epoch (median of %d interleaved rounds)." % rounds)
    print()
    print("| threads | dlc epoch s | torch epoch s | sgemm floor s | dlc / torch | dlc / floor | dlc peak RSS MiB | torch peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for t, d, p, f, dr, pr in rows:
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            t, fmt(d), fmt(p), fmt(f), fmt(ratio(d, p), "%.2f"), fmt(ratio(d, f), "%.2f"),
            fmt(dr, "%.0f"), fmt(pr, "%.0f")))
    print()
    print("Best of the thread counts: dlc %s s, torch %s s, dlc / torch best = %s" % (
        fmt(best["dlc"]), fmt(best["torch"]), fmt(ratio(best["dlc"], best["torch"]), "%.2f")))
    dl = median([jget(out, "dlc_latency_%d.json" % r, "latency_seconds") for r in rs])
    pl = median([jget(out, "torch_latency_%d.json" % r, "latency_seconds") for r in rs])
    print()
    print("Batch-1 predict latency (1 thread, median): dlc %s us, torch %s us, dlc / torch = %s" % (
        fmt(None if dl is None else dl * 1e6, "%.1f"), fmt(None if pl is None else pl * 1e6, "%.1f"),
        fmt(ratio(dl, pl), "%.2f")))
    bs = read(os.path.join(out, "dlc_build_seconds.txt"))
    if bs:
        print()
        print("dlc build (compile + link of the generated program): %s s" % bs.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
