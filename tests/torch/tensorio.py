"""tensorio.py - the two file formats dlc programs read and write, in plain
Python (struct + json + numpy; no safetensors package):

  * safetensors: an 8-byte little-endian header length H, H bytes of JSON
    ({name: {"dtype", "shape", "data_offsets": [begin, end]}, optional
    "__metadata__"}), then the raw little-endian tensor bytes, offsets
    relative to the end of the header.  We write tensors in sorted name
    order and pad the header with spaces to a multiple of 8 so the files
    are byte-for-byte reproducible.
  * IDX (the MNIST format): magic 0x00000800 | type << 8 | rank, then rank
    big-endian u32 dims, then the data (u8 here).  Plain or gzip'd.

Used by make_trajectory.py (fixtures) and compare.py (checking dlc's output).
"""
import gzip
import json
import struct

import numpy as np

_ST_DTYPES = {
    "F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"), "U8": np.dtype("u1"),
}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: ndarray} to `path` in safetensors format, names sorted."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])  # (ascontiguousarray would make a scalar 1-d)
        key = np.dtype(a.dtype).newbyteorder("<") if a.dtype.itemsize > 1 else np.dtype(a.dtype)
        if key not in _ST_NAMES:
            raise ValueError("tensor %s: unsupported dtype %s" % (name, a.dtype))
        blob = a.astype(key).tobytes()
        header[name] = {"dtype": _ST_NAMES[key], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Reads a safetensors file; returns {name: ndarray}.  Raises ValueError
    with a message naming the file when it is malformed."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (hlen,) = struct.unpack("<Q", raw[:8])
    if 8 + hlen > len(raw):
        raise ValueError("%s: header length %d exceeds the file" % (path, hlen))
    try:
        header = json.loads(raw[8:8 + hlen].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("%s: bad safetensors header: %s" % (path, e))
    data = raw[8 + hlen:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _ST_DTYPES.get(info.get("dtype"))
        if dt is None:
            raise ValueError("%s: tensor %s has unsupported dtype %r" % (path, name, info.get("dtype")))
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * dt.itemsize or e > len(data):
            raise ValueError("%s: tensor %s: data offsets %r do not fit shape %r" % (path, name, (b, e), shape))
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(shape).copy()
    return out


def read_idx(path):
    """Reads an IDX file (gzip'd if the name ends in .gz) into an ndarray."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    if magic >> 16 != 0 or (magic >> 8) & 0xFF != 0x08:
        raise ValueError("%s: not a u8 IDX file (magic 0x%08x)" % (path, magic))
    rank = magic & 0xFF
    dims = struct.unpack(">%dI" % rank, raw[4:4 + 4 * rank])
    return np.frombuffer(raw[4 + 4 * rank:], dtype=np.uint8).reshape(dims)


def write_idx(path, array):
    """Writes a u8 ndarray as a plain (uncompressed) IDX file."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x00000800 | a.ndim))
        f.write(struct.pack(">%dI" % a.ndim, *a.shape))
        f.write(a.tobytes())
