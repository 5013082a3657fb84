#!/usr/bin/python3
"""st_tool.py - makes and inspects small safetensors files for the lit tests
(tests/lit/train/), so a test can build a checkpoint of the wrong model or
with wrong shapes in one RUN line.

usage:
  st_tool.py write OUT [--model NAME] [--meta KEY=VALUE]... [--fill X] NAME=DTYPE[D0,D1,...] ...
        writes tensors filled with X (default 0.01, or nan, inf); DTYPE f32|f64|i32|i64
        e.g. st_tool.py write w.st dense_1.kernel=f32[784,32] dense_1.bias=f32[32]
  st_tool.py list FILE
        prints `name dtype [shape]` per tensor, sorted, then the metadata
  st_tool.py set IN OUT NAME INDEX VALUE
        copies IN to OUT, metadata too, with element INDEX (counted over the
        flattened tensor) of tensor NAME set to VALUE (e.g. nan, -inf)
"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tensorio import read_safetensors, write_safetensors  # noqa: E402

DTYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}


def parse_spec(spec):
    m = re.fullmatch(r"([^=]+)=(f32|f64|i32|i64)\[([0-9, ]*)\]", spec)
    if not m:
        sys.exit("st_tool.py: bad tensor spec %r (want NAME=f32[D0,D1,...])" % spec)
    dims = tuple(int(d) for d in m.group(3).split(",") if d.strip())
    return m.group(1), DTYPES[m.group(2)], dims


def read_metadata(path):
    """The "__metadata__" object of a safetensors file, or None."""
    import json
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__")


def main(argv):
    if len(argv) >= 2 and argv[0] == "write":
        out, rest = argv[1], argv[2:]
        meta, fill, tensors = {}, 0.01, {}
        while rest and rest[0].startswith("--"):
            if rest[0] == "--model" and len(rest) > 1:
                meta["model"] = rest[1]
            elif rest[0] == "--meta" and len(rest) > 1 and "=" in rest[1]:
                k, v = rest[1].split("=", 1)
                meta[k] = v
            elif rest[0] == "--fill" and len(rest) > 1:
                fill = float(rest[1])
            else:
                sys.exit(__doc__)
            rest = rest[2:]
        for spec in rest:
            name, dt, dims = parse_spec(spec)
            tensors[name] = np.full(dims, fill, dtype=dt)
        write_safetensors(out, tensors, meta or None)
        return 0
    if len(argv) == 2 and argv[0] == "list":
        import json
        for name, a in sorted(read_safetensors(argv[1]).items()):
            print("%s %s %s" % (name, a.dtype, list(a.shape)))
        meta = read_metadata(argv[1])
        if meta:
            print("metadata %s" % json.dumps(meta, sort_keys=True))
        return 0
    if len(argv) == 6 and argv[0] == "set":
        tensors = read_safetensors(argv[1])
        a = tensors[argv[3]].copy()
        a.reshape(-1)[int(argv[4])] = float(argv[5])
        tensors[argv[3]] = a
        write_safetensors(argv[2], tensors, read_metadata(argv[1]))
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
