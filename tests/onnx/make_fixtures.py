#!/usr/bin/python3
"""make_fixtures.py - builds the ONNX fixtures of dlc's importer tests.

usage: /usr/bin/python3 tests/onnx/make_fixtures.py [OUT_DIR]

Writes, for each model below, NAME.onnx (exported by torch.onnx with a
symbolic batch dimension), NAME.input.npy (4 samples, f32) and
NAME.expected.npy (PyTorch's outputs for them, f32 [4, ...]) into OUT_DIR
(default: tests/onnx/fixtures next to this script).  The files are
committed; run this script only to regenerate them (same seed, same
files up to the exporter's version).

  mlp        Linear-ReLU-Linear-Softmax (opset 9: Gemm, Relu, Softmax)
  cnn        Conv-BatchNorm-ReLU-MaxPool, Conv(stride 2)-BatchNorm-ReLU6
             (Clip), AveragePool (padded, count_include_pad=False), GlobalAveragePool, Flatten, Linear
             (opset 13), in eval mode with non-trivial running statistics
  resblock   LayerNorm(x + fc2(GELU(fc1(x)))), GELU, Linear, LogSoftmax
             (opset 17: GELU is exported decomposed - Div, Erf, Add, Mul,
             Mul - and LayerNorm as LayerNormalization)
  ops        grouped + dilated and strided convolutions, LeakyRelu, Elu,
             padded MaxPool, Sigmoid, Tanh, Exp, Abs, Neg, Sqrt, Pow, Log,
             ReduceMean, ReduceSum, Unsqueeze, Squeeze, Clip, Concat
             (opset 11: axes and bounds in their opset-11 forms)
"""
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 24)
        self.fc2 = nn.Linear(24, 16)
        self.head = nn.Linear(16, 6)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        h = self.norm(x + self.fc2(nn.functional.gelu(self.fc1(x))))
        return torch.log_softmax(self.head(nn.functional.gelu(h)), dim=-1)


class Ops(nn.Module):
    """The other ops: grouped and dilated convolution, strided 1x1
    convolution, activations, reductions, squeeze/unsqueeze, concat."""

    def __init__(self):
        super().__init__()
        self.conv_g = nn.Conv2d(4, 8, 3, groups=2, dilation=2, padding=2)
        self.conv_s = nn.Conv2d(8, 4, 1, stride=2, bias=False)

    def forward(self, x):
        h = nn.functional.leaky_relu(self.conv_g(x), 0.1)
        h = nn.functional.elu(self.conv_s(h))
        h = nn.functional.max_pool2d(h, 3, stride=1, padding=1)
        h = torch.sigmoid(h) * torch.tanh(h) - torch.exp(-torch.abs(h)) / 2
        h = torch.flatten(h, 1).unsqueeze(1).squeeze(1)
        m = h.mean(dim=1, keepdim=True)
        s = torch.sqrt(h.sum(dim=1, keepdim=True) ** 2 + 1)
        return torch.cat([h - m, torch.log(s), torch.clamp(h, -0.2, 0.3)], dim=1)


def models():
    mlp = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1))
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU6(),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))
    res = ResBlock()
    res.norm.weight.data.uniform_(0.5, 1.5)
    res.norm.bias.data.uniform_(-0.2, 0.2)
    for m in cnn.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return [("mlp", mlp, (20,), 9), ("cnn", cnn, (3, 12, 12), 13), ("resblock", res, (16,), 17),
            ("ops", Ops(), (4, 9, 9), 11)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    for name, model, shape, opset in models():
        model.eval()
        x = torch.randn(4, *shape)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(out, name + ".onnx")
        # PRESERVE (the models are in eval mode): the default EVAL export would
        # fold the batch norms into the convolutions.
        torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=opset,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                          training=torch.onnx.TrainingMode.PRESERVE)
        onnx.checker.check_model(onnx.load(path))
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".expected.npy"), y.numpy().astype(np.float32))
        print("wrote", path, [n.op_type for n in onnx.load(path).graph.node])


if __name__ == "__main__":
    main()
