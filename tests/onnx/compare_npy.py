#!/usr/bin/python3
"""compare_npy.py - checks a dlc program's outputs against a fixture's.

usage: compare_npy.py GOT.npy EXPECTED.npy [--rtol 1e-5] [--atol 1e-6]

GOT is what `PROG predict ... -o GOT.npy` wrote (f32 [n, out_size]);
EXPECTED is PyTorch's output for the same inputs, of any shape with the
same number of elements per sample.  Every element must satisfy
|got - want| <= atol + rtol * |want| (numpy.isclose's rule: rtol is the
relative bound; atol only covers entries near zero).  Prints the worst
element and exits 0 when all are within tolerance, 1 otherwise (a NaN or
an infinity on either side is a failure), 2 on bad usage or unreadable
files.
"""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("got")
    ap.add_argument("expected")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--atol", type=float, default=1e-6)
    a = ap.parse_args()
    try:
        got = np.load(a.got).astype(np.float64)
        want = np.load(a.expected).astype(np.float64)
    except (OSError, ValueError) as e:
        print("compare_npy: %s" % e, file=sys.stderr)
        return 2
    if got.size != want.size or got.shape[0] != want.shape[0]:
        print("compare_npy: shapes differ: got %s, expected %s" % (got.shape, want.shape))
        return 1
    got = got.reshape(want.shape)
    # a NaN would pass the check below (comparisons with it are false, and
    # argmax picks it as the worst element): non-finite values fail first
    for path, arr in ((a.got, got), (a.expected, want)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = np.unravel_index(int(np.argmax(bad)), arr.shape)
            print("compare_npy: %s: element %s is %r (%d of %d elements are not finite)"
                  % (path, tuple(int(k) for k in i), float(arr[i]), int(bad.sum()), arr.size))
            return 1
    if got.size == 0:
        print("compare_npy: no elements to compare")
        return 0
    err = np.abs(got - want) - (a.atol + a.rtol * np.abs(want))
    i = np.unravel_index(np.argmax(err), err.shape)
    print("worst element %s: got %.9g, expected %.9g (relative error %.3g)"
          % (tuple(int(k) for k in i), got[i], want[i], abs(got[i] - want[i]) / max(abs(want[i]), 1e-30)))
    if err[i] > 0:
        print("compare_npy: outside rtol=%g atol=%g" % (a.rtol, a.atol))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
