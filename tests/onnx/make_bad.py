#!/usr/bin/python3
"""make_bad.py - writes small ONNX models for dlc's importer tests.

usage: /usr/bin/python3 tests/onnx/make_bad.py CASE OUT.onnx

Each CASE is a model that is wrong in exactly one way (or, for the
`ok_*` cases, a valid model exercising one feature); the lit tests in
tests/lit/onnx/ run `dlc` on it and check the exact message.  External
data cases also write their data file(s) next to OUT (and, for the
symlink and hard link cases, a link to a file out of the folder).
"""
import os
import sys

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper, save


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_bad")


def relu_model(opset=13, extra_nodes=()):
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu1")] + list(extra_nodes),
                 [f32("x", ["N", 4])], [f32("y", ["N", 4])], opset=opset)


def external(out, location, data_dir=None):
    """A Gemm whose weight lives in external data at `location`."""
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "48")):
        e = w.external_data.add()
        e.key, e.value = k, v
    return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [f32("x", ["N", 4])],
                 [f32("y", ["N", 3])], [w])


def nested(levels, tail):
    """A Relu whose attribute holds a graph whose Relu holds a graph ...,
    `levels` graphs deep (built top-down: a linear-time walk).  Message
    depths: the model 1, its graph 2, a node 3, then +3 per level; `tail`
    adds to the innermost node an INT attribute (one level more) or a GRAPH
    attribute with an empty graph (two levels more)."""
    m = relu_model()
    nd = m.graph.node[0]
    for i in range(levels):
        a = nd.attribute.add()
        a.name, a.type = "body", AttributeProto.GRAPH
        a.g.name = "g%d" % i
        nd = a.g.node.add()
        nd.op_type = "Relu"
    a = nd.attribute.add()
    a.name = "tail"
    if tail == "int":
        a.type, a.i = AttributeProto.INT, 1
    else:
        a.type = AttributeProto.GRAPH
        a.g.SetInParent()
    return m


def prefix_inputs(n):
    """n graph inputs whose names share a 210-character prefix (longer than
    the 200 bytes dlc keeps of a name, so all n make the same identifier
    and need a numbered suffix); the output is the first one's Relu."""
    names = ["x" * 210 + "%d" % i for i in range(n)]
    return model([helper.make_node("Relu", [names[0]], ["y"], name="relu1")], [f32(v, ["N", 1]) for v in names],
                 [f32("y", ["N", 1])])


def build(case, out):
    d = os.path.dirname(os.path.abspath(out))
    if case == "unsupported_op":
        return model([helper.make_node("Hardmax", ["x"], ["y"], name="hm1")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 4])])
    if case == "unsupported_domain":
        return model([helper.make_node("Gelu", ["x"], ["y"], name="g1", domain="com.microsoft")],
                     [f32("x", ["N", 4])], [f32("y", ["N", 4])])
    if case == "opset_too_new":
        return relu_model(opset=18)
    if case == "opset_too_old":
        return relu_model(opset=8)
    if case == "wrong_tensor_type":
        w = helper.make_tensor("w", TensorProto.DOUBLE, [4, 3], np.zeros(12).tolist())
        return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 3])], [w])
    if case == "wrong_tensor_size":
        w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3], float_data=[0.0] * 11)
        return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 3])], [w])
    if case == "wrong_raw_size":
        w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3], raw_data=np.zeros(10, np.float32).tobytes())
        return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 3])], [w])
    if case == "int_input":
        return model([helper.make_node("Relu", ["x"], ["y"], name="relu1")],
                     [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])], [f32("y", ["N", 4])])
    if case == "symbolic_dim":
        return model([helper.make_node("Relu", ["x"], ["y"], name="relu1")], [f32("x", ["N", "F"])],
                     [f32("y", ["N", "F"])])
    if case == "dangling_input":
        return model([helper.make_node("Add", ["x", "nope"], ["y"], name="add1")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 4])])
    if case == "dangling_output":
        return model([helper.make_node("Relu", ["x"], ["h"], name="relu1")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 4])])
    if case == "shape_mismatch":
        w = numpy_helper.from_array(np.zeros((5, 3), np.float32), "w")
        return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 3])], [w])
    if case == "output_shape_mismatch":
        return model([helper.make_node("Relu", ["x"], ["y"], name="relu1")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 5])])
    if case == "conv_channels":
        w = numpy_helper.from_array(np.zeros((2, 4, 3, 3), np.float32), "w")
        return model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv1")], [f32("x", ["N", 3, 8, 8])],
                     [f32("y", ["N", 2, 6, 6])], [w])
    if case == "reshape_batch":
        s = numpy_helper.from_array(np.array([2, -1], np.int64), "s")
        return model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")], [f32("x", ["N", 4])],
                     [f32("y", [2, "M"])], [s])
    if case == "reshape_overflow":
        s = numpy_helper.from_array(np.array([0, 1 << 31, 1 << 34], np.int64), "s")
        return model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 1, 1])], [s])
    if case == "ok_fixed_batch":
        # exported with a fixed batch of 1: it still runs on any batch size
        s = numpy_helper.from_array(np.array([1, 2, 2], np.int64), "s")
        x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
        np.save(out + ".input.npy", x)
        np.save(out + ".expected.npy", np.maximum(x, 0).reshape(5, 2, 2))
        return model([helper.make_node("Relu", ["x"], ["h"], name="relu1"),
                      helper.make_node("Reshape", ["h", "s"], ["y"], name="rs")],
                     [f32("x", [1, 4])], [f32("y", [1, 2, 2])], [s])
    if case == "nested_64":  # the deepest nesting dlc reads: 3 + 3 * 20 + 1
        return nested(20, "int")
    if case == "nested_65":
        return nested(20, "graph")
    if case == "nested_deep":  # overflowed the stack in protobuf-c's unpacking
        return nested(3000, "int")
    if case.startswith("prefix_inputs_"):  # prefix_inputs_8000: quadratic renaming before
        return prefix_inputs(int(case[len("prefix_inputs_"):]))
    if case == "ext_absolute":
        return external(out, "/etc/passwd")
    if case == "ext_dotdot":
        return external(out, "sub/../../w.bin")
    if case == "ext_symlink":
        outside = os.path.join(d, "..", os.path.basename(out) + ".outside.bin")
        np.arange(12, dtype=np.float32).tofile(outside)
        link = os.path.join(d, "link.bin")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(outside), link)
        return external(out, "link.bin")
    if case == "ext_hardlink":  # accepted: a hard link is a regular file of the folder
        outside = os.path.join(d, "..", os.path.basename(out) + ".hardlink-target.bin")
        (np.arange(12, dtype=np.float32) * 10).tofile(outside)
        link = os.path.join(d, "hard.bin")
        if os.path.lexists(link):
            os.remove(link)
        os.link(outside, link)
        return external(out, "hard.bin")
    if case == "ext_ok":
        np.arange(12, dtype=np.float32).tofile(os.path.join(d, "weights.bin"))
        return external(out, "weights.bin")
    if case == "ext_short":
        np.arange(5, dtype=np.float32).tofile(os.path.join(d, "short.bin"))
        return external(out, "short.bin")
    if case == "dropout_mask":
        return model([helper.make_node("Dropout", ["x"], ["y", "mask"], name="drop1")], [f32("x", ["N", 4])],
                     [f32("y", ["N", 4])])
    raise SystemExit("make_bad.py: unknown case " + case)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    m = build(sys.argv[1], sys.argv[2])
    with open(sys.argv[2], "wb") as f:
        f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
