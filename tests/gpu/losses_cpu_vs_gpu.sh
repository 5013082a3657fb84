#!/usr/bin/env bash
# CPU and GPU builds of models/mnist_mlp.nn agree on the loss of each of 50
# training steps (same seed, no shuffling) within rtol 1e-3.
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp c "$t/cpu"
build mnist_mlp cuda "$t/gpu"
"$t/cpu" train --data "$data" --no-shuffle --max-steps 50 --trace "$t/cpu.csv" --quiet || fail "CPU run"
"$t/gpu" train --data "$data" --no-shuffle --max-steps 50 --trace "$t/gpu.csv" --quiet || fail "GPU run"
paste -d, "$t/cpu.csv" "$t/gpu.csv" | awk -F, '
    NR == 1 { next }
    { n++; d = $2 - $4; if (d < 0) d = -d; a = $2 < 0 ? -$2 : $2
      if (d > 1e-3 * a + 1e-6) { printf "step %s: CPU %s, GPU %s\n", $1, $2, $4; bad++ } }
    END { printf "%d steps compared, %d differ beyond rtol 1e-3\n", n, bad; exit (n == 50 && bad == 0) ? 0 : 1 }' ||
    fail "losses differ"
echo "PASS"
