"""prepare.py - writes the seed corpus and the dictionary of one fuzz harness.

usage: prepare.py NAME OUT_DIR
  NAME     onnx | nn | idx | npy | safetensors
  OUT_DIR  receives seeds/ (the seed corpus, emptied first) and NAME.dict

Seeds come from the repository or are generated here, never committed by
hand:
  onnx         the committed corpus tests/fuzz/corpus_onnx/ (files written
               by tests/onnx/make_fixtures.py and make_bad.py, plus fuzzer
               regressions)
  nn           every .nn file of models/ and tests/lit/
  idx          small IDX arrays, plain and gzip'd (tests/torch/tensorio.py)
  npy          small arrays of each supported dtype and versions 1.0-3.0,
               plus a Fortran-order and an unsupported one (numpy)
  safetensors  checkpoints holding the harness's "w" f32[2,3] and "b"
               f32[3] with and without metadata, with other dtypes, of
               another model, of other shapes, and an empty one
               (tensorio.py's writer)
The dictionary is tests/fuzz/NAME.dict; for nn, the words the frontend and
the passes know (keywords, layers, ops, attributes, optimizers,
initializers) are appended, scraped from frontend/, passes/, ir/init.c
and ir/ops.def so that the list never has to be kept in sync by hand.
"""
import gzip
import os
import re
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "torch"))
import tensorio  # noqa: E402


def seeds_onnx(out):
    src = os.path.join(HERE, "corpus_onnx")
    for name in sorted(os.listdir(src)):
        shutil.copy(os.path.join(src, name), os.path.join(out, name))


def seeds_nn(out):
    folders = [os.path.join(ROOT, "models"), os.path.join(ROOT, "tests", "lit")]
    for top in folders:
        for dirpath, _, files in sorted(os.walk(top)):
            for f in sorted(files):
                if f.endswith(".nn"):
                    rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
                    shutil.copy(os.path.join(ROOT, rel), os.path.join(out, rel.replace(os.sep, "_")))


def seeds_idx(out):
    rng = np.random.default_rng(0)
    arrays = {
        "labels": rng.integers(0, 10, size=5, dtype=np.uint8),
        "images": rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8),
        "rank4": np.arange(16, dtype=np.uint8).reshape(2, 2, 2, 2),
    }
    for name, a in arrays.items():
        path = os.path.join(out, name + ".idx")
        tensorio.write_idx(path, a)
        with open(path, "rb") as f:
            raw = f.read()
        with open(path + ".gz", "wb") as f:
            f.write(gzip.compress(raw, mtime=0))


def seeds_npy(out):
    rng = np.random.default_rng(0)
    arrays = {
        "f32": rng.standard_normal((2, 3)).astype("<f4"),
        "u8": np.arange(4, dtype="|u1"),
        "i32_scalar": np.array(7, dtype="<i4"),
        "f32_empty": np.zeros((2, 0, 3), dtype="<f4"),
        "f32_fortran": np.asfortranarray(rng.standard_normal((2, 3)).astype("<f4")),
        "f64_unsupported": np.zeros((2,), dtype="<f8"),
    }
    for name, a in arrays.items():
        np.save(os.path.join(out, name + ".npy"), a)
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(out, "i32_v%d.npy" % version[0]), "wb") as f:
            np.lib.format.write_array(f, np.arange(6, dtype="<i4").reshape(3, 2), version=version)


def seeds_safetensors(out):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    meta = {"model": "m", "epoch": 1, "step": 10, "seed": 0, "batch_size": 32, "learning_rate": 0.001}
    files = {
        "m": ({"w": w, "b": b}, meta),
        "plain": ({"w": w, "b": b}, None),
        "dtypes": ({"w": w, "b": b, "d": np.arange(2, dtype=np.float64), "i": np.array([3], dtype=np.int32),
                    "u": np.arange(3, dtype=np.uint8)}, {"model": "m", "note": "caf\u00e9 \U0001F600"}),
        "other_model": ({"w": w, "b": b}, {"model": "other"}),
        "other_shapes": ({"w": w.T.copy(), "b": b[:2].copy()}, None),
        "empty": ({}, None),
    }
    for name, (tensors, md) in files.items():
        tensorio.write_safetensors(os.path.join(out, name + ".safetensors"), tensors, md)


def nn_words():
    """Identifiers the .nn language and its passes know, from their sources:
    quoted words of frontend/, passes/ and ir/init.c (initializers), op
    and attribute names of ir/ops.def."""
    words = set()
    quoted = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"')
    files = [os.path.join(ROOT, "ir", "init.c")]
    for sub in ["frontend", "passes"]:
        files += [os.path.join(ROOT, sub, f) for f in sorted(os.listdir(os.path.join(ROOT, sub)))
                  if f.endswith(".c") and not f.startswith("onnx")]
    for path in files:
        with open(path, encoding="utf-8") as fh:
            words.update(quoted.findall(fh.read()))
    with open(os.path.join(ROOT, "ir", "ops.def"), encoding="utf-8") as fh:
        ops = fh.read()
    words.update(re.findall(r"^OP\(\s*\w+\s*,\s*(\w+)\s*,", ops, re.M))
    words.update(re.findall(r'[",](\w+):[a-z]', ops))
    return sorted(w for w in words if len(w) > 1)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("onnx", "nn", "idx", "npy", "safetensors"):
        sys.exit("usage: prepare.py onnx|nn|idx|npy|safetensors OUT_DIR")
    name, out = sys.argv[1], sys.argv[2]
    seeds = os.path.join(out, "seeds")
    shutil.rmtree(seeds, ignore_errors=True)
    os.makedirs(seeds)
    globals()["seeds_" + name](seeds)
    with open(os.path.join(HERE, name + ".dict"), encoding="utf-8") as fh:
        text = fh.read()
    if name == "nn":
        text += "# words scraped from frontend/, passes/, ir/init.c, ir/ops.def by prepare.py\n"
        text += "".join('"%s"\n' % w for w in nn_words())
    with open(os.path.join(out, name + ".dict"), "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
