#!/usr/bin/env bash
# compute-sanitizer (memcheck, racecheck, initcheck) finds nothing in a few
# training steps and an evaluation of a CUDA build.  Given an ASan dlc (make
# test), it builds a plain one first (plain_dlc in lib.sh), so that
# compute-sanitizer runs in every configuration.
. "$(dirname "$0")/lib.sh"
require_gpu
cs=${COMPUTE_SANITIZER:-/usr/local/cuda/bin/compute-sanitizer}
[ -x "$cs" ] || cs=$(command -v compute-sanitizer || true)
[ -n "$cs" ] || fail "there is a GPU but no compute-sanitizer in /usr/local/cuda/bin (set COMPUTE_SANITIZER)"
plain_dlc # an ASan dlc builds ASan programs, which compute-sanitizer cannot run
build mnist_deep_mlp cuda "$t/gpu" --max-batch 64
for tool in memcheck racecheck initcheck; do
    "$cs" --tool "$tool" --error-exitcode 9 "$t/gpu" train --data "$data" --max-steps 3 --batch-size 64 \
        --save "$t/w.safetensors" --quiet > "$t/$tool.log" 2>&1 || { cat "$t/$tool.log"; fail "$tool"; }
    tail -1 "$t/$tool.log"
done
"$cs" --error-exitcode 9 "$t/gpu" eval --data "$data" --weights "$t/w.safetensors" > "$t/eval.log" 2>&1 ||
    { cat "$t/eval.log"; fail "memcheck eval"; }
echo "PASS"
