#!/usr/bin/env bash
# Checkpoints move between CPU and CUDA builds: weights trained by one
# evaluate to the same test loss and accuracy in the other (rtol 1e-4), and
# a CUDA run resumed from a CPU checkpoint continues training.
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp c "$t/cpu"
build mnist_mlp cuda "$t/gpu"
"$t/cpu" train --data "$data" --max-steps 40 --save "$t/cpu.safetensors" --quiet || fail "CPU training"
"$t/gpu" train --data "$data" --max-steps 40 --save "$t/gpu.safetensors" --quiet || fail "GPU training"
for w in cpu gpu; do
    a=$("$t/cpu" eval --data "$data" --weights "$t/$w.safetensors" --json) || fail "CPU eval of $w weights"
    b=$("$t/gpu" eval --data "$data" --weights "$t/$w.safetensors" --json) || fail "GPU eval of $w weights"
    echo "$w weights: CPU $a, GPU $b"
    la=$(echo "$a" | sed 's/.*"loss":\([^,}]*\).*/\1/') lb=$(echo "$b" | sed 's/.*"loss":\([^,}]*\).*/\1/')
    awk -v a="$la" -v b="$lb" 'BEGIN { d = a - b; if (d < 0) d = -d; exit (d <= 1e-4 * (a < 0 ? -a : a) + 1e-6) ? 0 : 1 }' ||
        fail "$w weights: test loss $la on the CPU, $lb on the GPU"
done
"$t/gpu" train --data "$data" --epochs 1 --resume "$t/cpu.safetensors" --quiet || fail "GPU resume of a CPU checkpoint"
echo "PASS"
