#!/usr/bin/env bash
# run.sh - the embeddable inference code of models/mnist_mlp.nn, measured
# side by side in one run (bench/run.sh calls it; it also runs alone):
#   (a) batch-1 latency (bench/embed/latency.c, median of interleaved
#       rounds) of the --no-blas build at -O2 and at -O2 -march=native (no
#       -ffast-math either way), of the BLAS build with OpenBLAS on 1 and 2
#       threads, of two cblas_sgemv calls on the same weights, stored
#       [K, P] (CblasTrans) and [P, K] (CblasNoTrans, the BLAS build's
#       layout), on 1 and 2 threads (the faster 1-thread layout is the
#       floor the portable loops are held to), and PyTorch's
#       batch-1 latency on 1 and 2 threads (bench/torch_mlp.py);
#   (b) the planned arena against its lower bound (the header's figures);
#   (c) Cortex-M4 sizes (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb
#       -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -c, arm-none-eabi-size):
#       the unit with const weights, and the --weights-file unit, whose
#       text is the code alone.
# Prints a table (bench/embed/report.py) and saves it in $OUT/results.md.
# Reports, never judges.
#
# Environment: BUILD (dlc's build dir, default build/), OUT (default
# $BUILD/bench/embed), WEIGHTS (a checkpoint of mnist_mlp; default: the one
# bench/run.sh's training run saved, else the initializers), ROUNDS
# (default 3), RUNS (timed calls per measurement, default 20000), PY, CC.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$root/build}
OUT=${OUT:-$BUILD/bench/embed}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-20000}
PY=${PY:-/usr/bin/python3}
CC=${CC:-cc}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
WEIGHTS=${WEIGHTS:-}
[ -z "$WEIGHTS" ] && [ -f "$OUT/../dlc_weights.safetensors" ] && WEIGHTS=$(cd "$OUT/.." && pwd)/dlc_weights.safetensors
say() { echo "embed/run.sh: $*" >&2; }
dlc=$BUILD/dlc
[ -x "$dlc" ] || { say "no $dlc: build dlc first (make build)"; exit 1; }
model=$root/models/mnist_mlp.nn
wflag=()
[ -n "$WEIGHTS" ] && wflag=(--weights "$WEIGHTS")
cblas_inc=""
for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas; do
    [ -f "$d/cblas.h" ] && { cblas_inc="-I$d"; break; }
done
rm -rf "$OUT" && mkdir -p "$OUT"/loops "$OUT"/blas "$OUT"/file

say "dlc emit (weights: ${WEIGHTS:-the initializers})"
"$dlc" emit "$model" --embed-weights "${wflag[@]}" --no-blas -o "$OUT/loops"
"$dlc" emit "$model" --embed-weights "${wflag[@]}" -o "$OUT/blas"
"$dlc" emit "$model" --weights-file "${wflag[@]}" --no-blas -o "$OUT/file"

say "compiling the latency harnesses"
def=(-DHDR='"mnist_mlp.h"' -DPFX=mnist_mlp -DUPFX=MNIST_MLP)
$CC -std=c99 -O2 "${def[@]}" -I"$OUT/loops" -o "$OUT/lat_loops_O2" "$root/bench/embed/latency.c" "$OUT/loops/mnist_mlp.c" -lm
$CC -std=c99 -O2 -march=native "${def[@]}" -I"$OUT/loops" -o "$OUT/lat_loops_native" "$root/bench/embed/latency.c" "$OUT/loops/mnist_mlp.c" -lm
$CC -std=c99 -O2 -march=native "${def[@]}" -I"$OUT/blas" $cblas_inc -o "$OUT/lat_blas" "$root/bench/embed/latency.c" "$OUT/blas/mnist_mlp.c" -lopenblas -lm
$CC -std=c99 -O2 -march=native -DSGEMV_REF $cblas_inc -o "$OUT/lat_sgemv" "$root/bench/embed/latency.c" -lopenblas -lm
k1=$(sed -n 's/^#define P_dense_1_kernel (weights + \([0-9]*\)).*/\1/p' "$OUT/file/mnist_mlp.c")
k2=$(sed -n 's/^#define P_dense_2_kernel (weights + \([0-9]*\)).*/\1/p' "$OUT/file/mnist_mlp.c")

m4=(-std=c99 -Wall -Wextra -pedantic -Werror -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -c)
if command -v arm-none-eabi-gcc > /dev/null; then
    say "Cortex-M4 cross-compile"
    arm-none-eabi-gcc "${m4[@]}" "$OUT/loops/mnist_mlp.c" -o "$OUT/m4_embed.o"
    arm-none-eabi-gcc "${m4[@]}" "$OUT/file/mnist_mlp.c" -o "$OUT/m4_file.o"
    arm-none-eabi-size "$OUT/m4_embed.o" | tail -n 1 > "$OUT/m4_embed.size"
    arm-none-eabi-size "$OUT/m4_file.o" | tail -n 1 > "$OUT/m4_file.size"
else
    say "no arm-none-eabi-gcc (Debian: gcc-arm-none-eabi): no Cortex-M4 sizes"
fi

for r in $(seq 1 "$ROUNDS"); do
    say "round $r/$ROUNDS"
    OPENBLAS_NUM_THREADS=1 "$OUT/lat_sgemv" "$OUT/file/mnist_mlp.weights" "$k1" "$k2" "$RUNS" > "$OUT/sgemv_$r.json"
    OPENBLAS_NUM_THREADS=1 "$OUT/lat_sgemv" "$OUT/file/mnist_mlp.weights" "$k1" "$k2" "$RUNS" rows > "$OUT/sgemv_rows_$r.json"
    OPENBLAS_NUM_THREADS=2 "$OUT/lat_sgemv" "$OUT/file/mnist_mlp.weights" "$k1" "$k2" "$RUNS" > "$OUT/sgemv2_$r.json"
    OPENBLAS_NUM_THREADS=2 "$OUT/lat_sgemv" "$OUT/file/mnist_mlp.weights" "$k1" "$k2" "$RUNS" rows > "$OUT/sgemv2_rows_$r.json"
    "$OUT/lat_loops_O2" "$RUNS" > "$OUT/loops_O2_$r.json"
    "$OUT/lat_loops_native" "$RUNS" > "$OUT/loops_native_$r.json"
    OPENBLAS_NUM_THREADS=1 "$OUT/lat_blas" "$RUNS" > "$OUT/blas_1_$r.json"
    OPENBLAS_NUM_THREADS=2 "$OUT/lat_blas" "$RUNS" > "$OUT/blas_2_$r.json"
    for t in 1 2; do
        OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t \
            $PY "$root/bench/torch_mlp.py" latency --threads "$t" --data "$DATA" | tail -n 1 > "$OUT/torch_${t}_$r.json" ||
            rm -f "$OUT/torch_${t}_$r.json"
    done
done
$PY "$root/bench/embed/report.py" "$OUT" "$ROUNDS" | tee "$OUT/results.md"
