"""agree.py - compares the embedded build's outputs with the training
program's `predict -o` outputs for the same weights.

usage: agree.py REF.npy EMB.npy [TOL]
The predicted classes (argmax) must agree on every sample, except where the
reference's two largest scores differ by no more than TOL (float rounding:
the two builds sum the matrix products in different orders; default 1e-5,
scores being probabilities in [0, 1]).  Every score must also agree within
1e-4.  Prints one summary line; exits 1 on a disagreement.
"""
import sys

import numpy as np

ref = np.load(sys.argv[1]).astype(np.float64)
emb = np.load(sys.argv[2]).astype(np.float64)
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
if ref.shape != emb.shape:
    sys.exit("agree.py: shapes differ: %s vs %s" % (ref.shape, emb.shape))
top2 = np.sort(ref, axis=1)[:, -2:]
gap = top2[:, 1] - top2[:, 0]
differ = ref.argmax(axis=1) != emb.argmax(axis=1)
bad = differ & (gap > tol)
maxdiff = float(np.abs(ref - emb).max())
print("agree.py: %d samples, %d predicted classes differ (%d beyond rounding), max |diff| %.3g"
      % (len(ref), int(differ.sum()), int(bad.sum()), maxdiff))
if bad.any() or maxdiff > 1e-4:
    sys.exit(1)
