#!/usr/bin/env bash
# 5 epochs of models/mnist_mlp.nn on the GPU reach at least 0.865 test
# accuracy on Fashion-MNIST.
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp cuda "$t/gpu"
out=$("$t/gpu" train --data "$data" --epochs 5 2>&1) || fail "training failed: $out"
echo "$out"
acc=$(echo "$out" | sed -n 's/^test - loss: [^ ]* - accuracy: \([0-9.]*\).*/\1/p' | tail -1)
[ -n "$acc" ] || fail "no test accuracy line"
awk -v a="$acc" 'BEGIN { exit (a >= 0.865) ? 0 : 1 }' || fail "test accuracy $acc < 0.865"
echo "PASS: test accuracy $acc"
