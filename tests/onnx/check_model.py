#!/usr/bin/python3
"""check_model.py - runs python3-onnx's checker (full check, with shape
inference) on an ONNX file and prints a one-line summary, the node types
and the initializers' names, for FileCheck.  Exits 1 if the checker rejects the model.

usage: check_model.py MODEL.onnx
"""
import sys

import onnx


def dims(vi):
    return ",".join(d.dim_param or str(d.dim_value) for d in vi.type.tensor_type.shape.dim)


def main():
    m = onnx.load(sys.argv[1])
    try:
        onnx.checker.check_model(m, full_check=True)
    except onnx.checker.ValidationError as e:
        print("checker rejected %s: %s" % (sys.argv[1], e))
        return 1
    print("checker ok: opset %d, inputs %s, outputs %s" % (
        m.opset_import[0].version,
        " ".join("%s[%s]" % (i.name, dims(i)) for i in m.graph.input),
        " ".join("%s[%s]" % (o.name, dims(o)) for o in m.graph.output)))
    print("nodes: " + " ".join(n.op_type for n in m.graph.node))
    print("initializers: " + " ".join(i.name for i in m.graph.initializer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
