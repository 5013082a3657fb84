#!/usr/bin/python3
"""report.py - turns the raw results bench/run.sh leaves in OUT into one
Markdown table with the ratios (the part of the bench that reads numbers,
kept out of the shell script).

usage: report.py OUT THREADS...

Reads, for each thread count t: floor_t.txt (sgemm_floor's output),
torch_train_t.json, torch_rss_t.txt, dlc_log_t.csv (the program's --log
history: the median of its `seconds` column is the dlc epoch time),
dlc_rss_t.txt; and torch_latency.json, dlc_latency.json.  Missing dlc
files (dlc not built yet, or failing) leave those cells as "n/a".
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


def floor_seconds(out, t):
    text = read(os.path.join(out, "floor_%s.txt" % t))
    for line in (text or "").splitlines():
        if line.startswith("floor_seconds "):
            return float(line.split()[1])
    return None


def dlc_epoch(out, t):
    """Median of the per-epoch `seconds` column of the program's history."""
    text = read(os.path.join(out, "dlc_log_%s.csv" % t))
    if not text:
        return None
    rows = list(csv.DictReader(text.splitlines()))
    secs = [float(r["seconds"]) for r in rows if r.get("seconds")]
    return statistics.median(secs) if secs else None


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


def fmt(x, spec="%.3f"):
    return "n/a" if x is None else spec % x


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    out, threads = sys.argv[1], sys.argv[2:]
    rows = []
    best = {"dlc": None, "torch": None}
    for t in threads:
        d = dlc_epoch(out, t)
        p = jget(out, "torch_train_%s.json" % t, "epoch_seconds")
        f = floor_seconds(out, t)
        rows.append((t, d, p, f, rss_mib(out, "dlc_rss_%s.txt" % t), rss_mib(out, "torch_rss_%s.txt" % t)))
        for k, v in (("dlc", d), ("torch", p)):
            if v is not None and (best[k] is None or v < best[k]):
                best[k] = v
    print("## dlc benchmarks (%s, %d CPUs, %s)" % (platform.node(), os.cpu_count() or 0, platform.processor() or platform.machine()))
    print()
    print("Training: models/mnist_mlp.nn (784-512-10, RMSprop, batch 128), Fashion-MNIST, seconds per epoch (median).")
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
    dl = jget(out, "dlc_latency.json", "latency_seconds")
    pl = jget(out, "torch_latency.json", "latency_seconds")
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
