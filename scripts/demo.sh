#!/usr/bin/env bash
# demo.sh - what `make demo` shows: the IR of the seed's network, its dot
# graph, then compiling it, training it for 5 epochs on Fashion-MNIST with
# the progress line, saving the weights and evaluating them.
set -eu
cd "$(dirname "$0")/.."
out=build/demo
mkdir -p "$out"
echo "== dlc ir models/mnist_mlp.nn"
build/dlc ir models/mnist_mlp.nn
build/dlc ir models/mnist_mlp.nn --format dot -o "$out/mnist_mlp.dot"
if command -v dot >/dev/null; then
    dot -Tsvg "$out/mnist_mlp.dot" -o "$out/mnist_mlp.svg"
    echo "== wrote $out/mnist_mlp.dot and $out/mnist_mlp.svg"
fi
echo "== dlc build models/mnist_mlp.nn -o $out/mnist_mlp"
build/dlc build models/mnist_mlp.nn -o "$out/mnist_mlp"
echo "== training (5 epochs, Fashion-MNIST)"
"$out/mnist_mlp" train --epochs 5 --save "$out/mnist_mlp.safetensors" --log "$out/history.csv"
echo "== evaluating the saved weights"
"$out/mnist_mlp" eval --weights "$out/mnist_mlp.safetensors"
