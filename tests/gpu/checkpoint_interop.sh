#!/usr/bin/env bash
# Checkpoints move between CPU and CUDA builds: weights trained by one
# evaluate to the same test loss and accuracy in the other (rtol 1e-4), 40
# steps train the same parameters on both, and a run resumed from the
# other's checkpoint continues it: steps 41 to 80, the same losses and
# parameters as the same resume on the other device, the checkpoint
# recording step 80.  Every value must be a finite number
# (tests/gpu/compare_runs.py).
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp c "$t/cpu"
build mnist_mlp cuda "$t/gpu"
"$t/cpu" train --data "$data" --max-steps 40 --save "$t/cpu.safetensors" --quiet || fail "CPU training"
"$t/gpu" train --data "$data" --max-steps 40 --save "$t/gpu.safetensors" --quiet || fail "GPU training"
compare weights "$t/cpu.safetensors" "$t/gpu.safetensors" --step 40 || fail "40 steps trained different parameters"
for w in cpu gpu; do
    "$t/cpu" eval --data "$data" --weights "$t/$w.safetensors" --json > "$t/$w.cpu.json" || fail "CPU eval of $w weights"
    "$t/gpu" eval --data "$data" --weights "$t/$w.safetensors" --json > "$t/$w.gpu.json" || fail "GPU eval of $w weights"
    echo "$w weights: CPU $(cat "$t/$w.cpu.json"), GPU $(cat "$t/$w.gpu.json")"
    compare eval "$t/$w.cpu.json" "$t/$w.gpu.json" || fail "$w weights evaluate differently on the CPU and the GPU"
done
for w in cpu gpu; do # each device resumes each checkpoint, to step 80
    for d in cpu gpu; do
        "$t/$d" train --data "$data" --resume "$t/$w.safetensors" --max-steps 80 --trace "$t/$w.$d.csv" \
            --save "$t/$w.$d.safetensors" --quiet || fail "$d resume of the $w checkpoint"
    done
    compare losses "$t/$w.cpu.csv" "$t/$w.gpu.csv" --steps 41-80 || fail "resumed from the $w checkpoint: losses"
    compare weights "$t/$w.cpu.safetensors" "$t/$w.gpu.safetensors" --step 80 ||
        fail "resumed from the $w checkpoint: parameters"
done
echo "PASS"
