#!/usr/bin/env bash
# Two GPU runs with the same seed give bit-identical weights (and the same
# checkpoint bytes), finite ones: no atomics, fixed reduction orders, a fixed cuBLAS
# workspace and pedantic (non-TF32) math.
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_deep_mlp cuda "$t/gpu"
for r in 1 2; do
    "$t/gpu" train --data "$data" --epochs 1 --seed 3 --save "$t/w$r.safetensors" --quiet ||
        fail "run $r"
done
cmp "$t/w1.safetensors" "$t/w2.safetensors" || fail "the two runs' weights differ"
compare weights "$t/w1.safetensors" "$t/w2.safetensors" --rtol 0 --atol 0 || fail "non-finite weights"
echo "PASS: identical checkpoints"
