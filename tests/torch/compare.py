#!/usr/bin/python3
"""compare.py - checks a dlc training run against a PyTorch trajectory fixture.

usage: compare.py [--trace RUN.csv --expected traj_X.expected.csv]
                  [--weights RUN.safetensors --expected-weights traj_X.final.safetensors]
                  [--npy OUT.npy --expected-npy traj_X.predict.npy]
                  [--rtol 1e-4] [--atol 1e-6] [--loss-rtol 1e-4]

Losses: the run's trace (`step,loss` per step, as `prog train --trace`
writes it) must have as many rows as the expected CSV, and each loss must
satisfy |got - want| <= loss_rtol * |want|.  Rows are matched in order; the
step columns must agree too, up to one constant offset (so a 0-based and a
1-based numbering both pass, a skipped or repeated step does not).

Weights: every tensor of the expected checkpoint must be in the run's
checkpoint with the same shape, and each element must satisfy
|got - want| <= atol + rtol * |want| (numpy.isclose's rule; atol covers
entries near zero, where a relative bound means nothing).  Extra tensors in
the run's checkpoint (optimizer slots) are ignored.

Outputs (--npy): the run's .npy array (prog predict -o) must have the
expected shape and every element within atol + rtol * |want|, as weights.

Prints the worst mismatch of each kind (tensor, index, values) and exits 0
when everything is within tolerance, 1 on a mismatch, 2 on bad usage or an
unreadable file.
"""
import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tensorio import read_safetensors  # noqa: E402


def read_trace(path):
    """Returns (steps, losses) of a `step,loss` CSV with a header row."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0][:2]] != ["step", "loss"]:
        raise ValueError("%s: expected a `step,loss` header, got %r" % (path, rows[0] if rows else "nothing"))
    steps, losses = [], []
    for i, r in enumerate(rows[1:], start=2):
        if not r:
            continue
        try:
            steps.append(int(r[0]))
            losses.append(float(r[1]))
        except (ValueError, IndexError):
            raise ValueError("%s:%d: bad row %r" % (path, i, r))
    return np.array(steps), np.array(losses, dtype=np.float64)


def compare_losses(got_path, want_path, rtol):
    """Returns a list of failure messages (empty when the traces agree)."""
    gs, gl = read_trace(got_path)
    ws, wl = read_trace(want_path)
    if len(gl) != len(wl):
        return ["loss trace has %d steps, expected %d (%s vs %s)" % (len(gl), len(wl), got_path, want_path)]
    if len(wl) == 0:
        return ["expected trace %s is empty" % want_path]
    offs = gs - ws
    if np.any(offs != offs[0]):
        i = int(np.argmax(offs != offs[0]))
        return ["step numbers disagree: row %d is step %d, expected %d (+%d)" % (i + 1, gs[i], ws[i], offs[0])]
    if not np.all(np.isfinite(gl)):
        i = int(np.argmax(~np.isfinite(gl)))
        return ["step %d: loss is %r" % (gs[i], gl[i])]
    rel = np.abs(gl - wl) / np.abs(wl)
    i = int(np.argmax(rel))
    print("losses: %d steps, worst relative error %.3g at step %d (got %.9g, expected %.9g; rtol %g)"
          % (len(wl), rel[i], gs[i], gl[i], wl[i], rtol))
    bad = np.nonzero(rel > rtol)[0]
    if len(bad):
        return ["%d of %d losses differ by more than rtol %g; first at step %d: got %.9g, expected %.9g"
                % (len(bad), len(wl), rtol, gs[bad[0]], gl[bad[0]], wl[bad[0]])]
    return []


def compare_arrays(what, g, w, rtol, atol):
    """Elementwise check of g against w (numpy.isclose's rule); returns
    (failure messages, (worst ratio to the allowed error, description))."""
    g = g.astype(np.float64)
    w = w.astype(np.float64)
    if g.shape != w.shape:
        return ["%s has shape %s, expected %s" % (what, list(g.shape), list(w.shape))], None
    if not np.all(np.isfinite(g)):
        idx = np.unravel_index(int(np.argmax(~np.isfinite(g))), g.shape)
        return ["%s%s is %r" % (what, list(idx), g[idx])], None
    if g.size == 0:
        return [], None
    bound = atol + rtol * np.abs(w)
    ratio = np.abs(g - w) / bound
    k = int(np.argmax(ratio))
    idx = np.unravel_index(k, w.shape)
    worst = (float(ratio.flat[k]), "%s%s: got %.9g, expected %.9g (|diff| %.3g, allowed %.3g)"
             % (what, list(idx), g[idx], w[idx], abs(g[idx] - w[idx]), bound[idx]))
    nbad = int(np.sum(ratio > 1.0))
    if nbad:
        return ["%s: %d of %d elements outside atol %g + rtol %g; worst: %s"
                % (what, nbad, w.size, atol, rtol, worst[1])], worst
    return [], worst


def compare_weights(got_path, want_path, rtol, atol):
    """Returns a list of failure messages (empty when the weights agree)."""
    got = read_safetensors(got_path)
    want = read_safetensors(want_path)
    fails = []
    worst = None  # (ratio to the allowed error, description)
    for name in sorted(want):
        if name not in got:
            fails.append("tensor %s missing from %s (has: %s)" % (name, got_path, ", ".join(sorted(got))))
            continue
        f, w = compare_arrays("tensor " + name, got[name], want[name], rtol, atol)
        fails += f
        if w and (worst is None or w[0] > worst[0]):
            worst = w
    if worst:
        print("weights: %d tensors, worst mismatch %.3g x the allowed error at %s" % (len(want), worst[0], worst[1]))
    return fails


def compare_npy(got_path, want_path, rtol, atol):
    """Returns a list of failure messages (empty when the outputs agree)."""
    try:
        g = np.load(got_path, allow_pickle=False)
        w = np.load(want_path, allow_pickle=False)
    except ValueError as e:
        raise ValueError("%s / %s: %s" % (got_path, want_path, e))
    fails, worst = compare_arrays("output", g, w, rtol, atol)
    if worst:
        print("outputs: %s, worst mismatch %.3g x the allowed error at %s" % (list(w.shape), worst[0], worst[1]))
    return fails


def main():
    ap = argparse.ArgumentParser(description="compare a dlc training run with a PyTorch trajectory fixture")
    ap.add_argument("--trace", help="the run's `step,loss` CSV (prog train --trace)")
    ap.add_argument("--expected", help="the fixture's expected `step,loss` CSV")
    ap.add_argument("--weights", help="the run's saved checkpoint (prog train --save)")
    ap.add_argument("--expected-weights", help="the fixture's final parameters")
    ap.add_argument("--npy", help="the run's outputs (prog predict -o OUT.npy)")
    ap.add_argument("--expected-npy", help="the fixture's expected outputs")
    ap.add_argument("--loss-rtol", type=float, default=1e-4)
    ap.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance on weights")
    ap.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance on weights (near-zero entries)")
    a = ap.parse_args()
    for x, y in (("trace", "expected"), ("weights", "expected_weights"), ("npy", "expected_npy")):
        if (getattr(a, x) is None) != (getattr(a, y) is None):
            ap.error("--%s and --%s go together" % (x, y.replace("_", "-")))
    if a.trace is None and a.weights is None and a.npy is None:
        ap.error("nothing to compare")
    try:
        fails = []
        if a.trace:
            fails += compare_losses(a.trace, a.expected, a.loss_rtol)
        if a.npy:
            fails += compare_npy(a.npy, a.expected_npy, a.rtol, a.atol)
        if a.weights:
            fails += compare_weights(a.weights, a.expected_weights, a.rtol, a.atol)
    except (OSError, ValueError) as e:
        print("compare.py: error: %s" % e, file=sys.stderr)
        return 2
    if fails:
        for f in fails:
            print("compare.py: MISMATCH: %s" % f, file=sys.stderr)
        return 1
    print("compare.py: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
