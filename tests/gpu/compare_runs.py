#!/usr/bin/python3
"""compare_runs.py - the comparisons of the GPU tests (tests/gpu/*.sh): a CPU
run against a GPU run of the same model, both untrusted.

usage:
  compare_runs.py losses A.csv B.csv [--steps FIRST-LAST] [--rtol R] [--atol A]
      Two `step,loss` traces (`PROG train --trace`): the same step numbers
      row by row (with --steps: exactly FIRST, FIRST+1, ..., LAST), every
      loss a finite number on both sides, |a - b| <= atol + rtol * |a|.
      Defaults: rtol 1e-3, atol 1e-6.
  compare_runs.py weights A.safetensors B.safetensors [--step N] [--rtol R] [--atol A]
      Two checkpoints (`PROG train --save`): the same tensors (parameters
      and optimizer state) with the same shapes, every element finite on
      both sides, and each tensor close as a whole:
      ||a - b||_2 <= rtol * ||a||_2 + atol * sqrt(size).  A relative norm,
      not an elementwise bound, because a few near-zero entries may differ
      by a float32 rounding amplified by RMSprop's division by a tiny rms;
      a wrong gradient or update moves the whole tensor.  With --step: the
      metadata "step" of both is N (the run took the steps it should).
      Defaults: rtol 1e-3, atol 1e-7.
  compare_runs.py eval A.json B.json [--rtol R] [--atol A]
      Two `PROG eval --json` lines: the same keys, every value a finite
      number (the runtime writes a non-finite value as null) on both sides,
      |a - b| <= atol + rtol * |a|.  Defaults: rtol 1e-4, atol 1e-6.

Python and numpy, not awk: in awk a NaN may compare equal to anything (mawk)
and a JSON null or any text reads as 0, so an all-NaN run would pass.
Prints one line per comparison; exits 0 when everything agrees, 1 on a
mismatch (a non-finite or non-numeric value included), 2 on bad usage or a
file that cannot be read.  Unit-tested without a GPU by
tests/lit/cuda/compare_runs.test.
"""
import argparse
import json
import math
import os
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
from compare import read_trace  # noqa: E402
from tensorio import read_safetensors  # noqa: E402


class Mismatch(Exception):
    """The runs disagree (exit 1)."""


def check_finite(what, path, steps, values):
    """Raises Mismatch at the first non-finite value of a trace."""
    bad = ~np.isfinite(values)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise Mismatch("%s: step %d: %s loss is %r" % (path, steps[i], what, float(values[i])))


def losses(a_path, b_path, steps, rtol, atol):
    """Compares two traces; returns the summary line."""
    try:
        sa, la = read_trace(a_path)
        sb, lb = read_trace(b_path)
    except ValueError as e:  # a row that is not `int,float`: null, text, a missing column
        raise Mismatch(str(e))
    if steps:
        first, last = steps
        want = np.arange(first, last + 1)
        for p, s in ((a_path, sa), (b_path, sb)):
            if len(s) != len(want) or np.any(s != want):
                raise Mismatch("%s: steps %s, expected %d to %d" % (p, describe_steps(s), first, last))
    if len(sa) == 0 or len(sb) == 0:
        raise Mismatch("%s: no steps" % (a_path if len(sa) == 0 else b_path))
    if len(sa) != len(sb) or np.any(sa != sb):
        raise Mismatch("the traces have different steps: %s in %s, %s in %s"
                       % (describe_steps(sa), a_path, describe_steps(sb), b_path))
    check_finite("first run's", a_path, sa, la)
    check_finite("second run's", b_path, sb, lb)
    allowed = atol + rtol * np.abs(la)
    diff = np.abs(la - lb)
    bad = np.nonzero(diff > allowed)[0]
    if len(bad):
        i = bad[0]
        raise Mismatch("%d of %d losses differ beyond rtol %g + atol %g; first at step %d: %.9g vs %.9g"
                       % (len(bad), len(la), rtol, atol, sa[i], la[i], lb[i]))
    k = int(np.argmax(np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1), 0)))
    return ("losses: %d steps (%d to %d) agree; worst at step %d: %.9g vs %.9g"
            % (len(sa), sa[0], sa[-1], sa[k], la[k], lb[k]))


def describe_steps(s):
    """`3 rows, 41..80` for messages."""
    if len(s) == 0:
        return "none"
    return "%d rows, %d..%d" % (len(s), s[0], s[-1])


def metadata(path):
    """The `__metadata__` object of a safetensors file ({} without one)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__") or {}


def weights(a_path, b_path, step, rtol, atol):
    """Compares two checkpoints; returns the summary line."""
    a, b = read_safetensors(a_path), read_safetensors(b_path)
    if step is not None:
        for p in (a_path, b_path):
            got = metadata(p).get("step")
            if got != str(step):
                raise Mismatch("%s: metadata step is %s, expected %d" % (p, got, step))
    if sorted(a) != sorted(b):
        raise Mismatch("the checkpoints hold different tensors: only in %s: %s; only in %s: %s"
                       % (a_path, sorted(set(a) - set(b)), b_path, sorted(set(b) - set(a))))
    if not a:
        raise Mismatch("%s: no tensors" % a_path)
    worst = (-1.0, "")
    for name in sorted(a):
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        if x.shape != y.shape:
            raise Mismatch("tensor %s: shape %s in %s, %s in %s" % (name, list(x.shape), a_path, list(y.shape), b_path))
        for p, v in ((a_path, x), (b_path, y)):
            bad = ~np.isfinite(v)
            if np.any(bad):
                idx = np.unravel_index(int(np.argmax(bad)), v.shape)
                raise Mismatch("%s: tensor %s%s is %r (%d non-finite of %d)"
                               % (p, name, list(idx), float(v[idx]), int(np.sum(bad)), v.size))
        dist = float(np.linalg.norm(x - y))
        allowed = rtol * float(np.linalg.norm(x)) + atol * math.sqrt(max(x.size, 1))
        if dist > allowed:
            raise Mismatch("tensor %s: ||a - b|| = %.3g, more than rtol %g * ||a|| (%.6g) + atol %g * sqrt(%d)"
                           % (name, dist, rtol, float(np.linalg.norm(x)), atol, x.size))
        ratio = dist / allowed if allowed > 0 else 0.0  # (allowed 0: dist is 0 too, or it failed above)
        if ratio > worst[0]:
            worst = (ratio, name)
    return ("weights: %d tensors agree%s; worst: %s at %.2g x the allowed distance"
            % (len(a), "" if step is None else " after step %d" % step, worst[1], worst[0]))


def eval_json(path):
    """The object of an `eval --json` line; every value a finite number."""
    with open(path) as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise Mismatch("%s: not JSON (%s): %r" % (path, e, text[:80]))
    if not isinstance(obj, dict) or not obj:
        raise Mismatch("%s: expected an object of metrics, got %r" % (path, text[:80]))
    for k, v in obj.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise Mismatch("%s: %s is %s, not a finite number" % (path, k, json.dumps(v)))
    return obj


def evals(a_path, b_path, rtol, atol):
    """Compares two `eval --json` results; returns the summary line."""
    a, b = eval_json(a_path), eval_json(b_path)
    if sorted(a) != sorted(b):
        raise Mismatch("different metrics: %s in %s, %s in %s" % (sorted(a), a_path, sorted(b), b_path))
    for k in sorted(a):
        if abs(a[k] - b[k]) > atol + rtol * abs(a[k]):
            raise Mismatch("%s: %.9g vs %.9g, beyond rtol %g + atol %g" % (k, a[k], b[k], rtol, atol))
    return "eval: %s agree" % ", ".join("%s %.9g vs %.9g" % (k, a[k], b[k]) for k in sorted(a))


def step_range(s):
    m = re.fullmatch(r"(\d+)-(\d+)", s)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise argparse.ArgumentTypeError("expected FIRST-LAST, e.g. 41-80, not %r" % s)
    return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description="compare a CPU run and a GPU run (tests/gpu)")
    ap.add_argument("kind", choices=["losses", "weights", "eval"])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--steps", type=step_range, help="losses: the steps both traces must hold, FIRST-LAST")
    ap.add_argument("--step", type=int, help="weights: the step count both checkpoints must record")
    ap.add_argument("--rtol", type=float)
    ap.add_argument("--atol", type=float)
    o = ap.parse_args()
    if o.steps and o.kind != "losses":
        ap.error("--steps goes with losses")
    if o.step is not None and o.kind != "weights":
        ap.error("--step goes with weights")
    rtol, atol = {"losses": (1e-3, 1e-6), "weights": (1e-3, 1e-7), "eval": (1e-4, 1e-6)}[o.kind]
    rtol = rtol if o.rtol is None else o.rtol
    atol = atol if o.atol is None else o.atol
    try:
        if o.kind == "losses":
            line = losses(o.a, o.b, o.steps, rtol, atol)
        elif o.kind == "weights":
            line = weights(o.a, o.b, o.step, rtol, atol)
        else:
            line = evals(o.a, o.b, rtol, atol)
    except Mismatch as e:
        print("compare_runs.py: MISMATCH: %s" % e)
        return 1
    except (OSError, ValueError, struct.error) as e:
        print("compare_runs.py: error: %s" % e)
        return 2
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
