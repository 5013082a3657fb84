#!/usr/bin/env bash
# CPU and GPU builds of models/mnist_mlp.nn agree on the loss of each of 50
# training steps (same seed, no shuffling) within rtol 1e-3, every loss a
# finite number, and on the parameters and optimizer state after them
# (relative L2 distance per tensor within 1e-3; tests/gpu/compare_runs.py).
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp c "$t/cpu"
build mnist_mlp cuda "$t/gpu"
"$t/cpu" train --data "$data" --no-shuffle --max-steps 50 --trace "$t/cpu.csv" --save "$t/cpu.safetensors" --quiet ||
    fail "CPU run"
"$t/gpu" train --data "$data" --no-shuffle --max-steps 50 --trace "$t/gpu.csv" --save "$t/gpu.safetensors" --quiet ||
    fail "GPU run"
compare losses "$t/cpu.csv" "$t/gpu.csv" --steps 1-50 || fail "losses differ"
compare weights "$t/cpu.safetensors" "$t/gpu.safetensors" --step 50 || fail "parameters differ"
echo "PASS"
