#!/usr/bin/env bash
# run.sh - dlc's benchmarks, side by side in one run (`make bench` calls it).
#
# Measures, on this machine, now:
#   (a) PyTorch CPU training of models/mnist_mlp.nn's network (784-512-10,
#       RMSprop, batch 128) on Fashion-MNIST: median seconds per epoch with
#       1 and with 2 threads (bench/torch_mlp.py);
#   (b) the dlc-built program for models/mnist_mlp.nn: `prog train
#       --epochs 1+E --log CSV`, the per-epoch `seconds` column (the first
#       epoch is a warm-up and not counted),
#       with OpenBLAS limited to 1 and to 2 threads;
#   (c) the sgemm floor: 468 x T(128) + T(96), T(n) = OpenBLAS's time for the
#       five GEMMs of one step at batch n (bench/sgemm_floor.c), 1 and 2
#       threads;
#   (d) batch-1 predict latency: dlc (`dlc emit --mode infer`, compiled
#       -O2 -march=native as `dlc build` compiles, timed by
#       bench/predict_latency.c) against PyTorch (1 thread, no_grad);
#   (e) the peak RSS of both training runs (/usr/bin/time -f %M).
# Both sides get the same thread count through OPENBLAS_NUM_THREADS,
# OMP_NUM_THREADS and MKL_NUM_THREADS (and torch.set_num_threads).
# The measurements run in ROUNDS interleaved rounds (each round: every
# configuration once, back to back).  Then prints one table with the ratios
# (bench/report.py: medians over all rounds) and saves it in
# $OUT/results.md.  Medians throughout: the machine is shared and noisy.
# Never a timed assertion: this reports, it does not judge.
#
# Environment: BUILD (dlc's build dir, default build/), OUT (scratch and
# results, default $BUILD/bench), DATA (Fashion-MNIST, default
# /usr/share/datasets/fashion-mnist), ROUNDS (rounds of measurements,
# default 3), EPOCHS (timed epochs per run, default 1), THREADS (the thread
# counts to compare, default "1 2"), PY (the Python with torch, default
# /usr/bin/python3).
#
# `bench/run.sh --target cuda` (or `make bench TARGET=cuda`) runs the GPU
# benchmarks instead: bench/cuda/run.sh, same environment.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
    --target)
        case "${2:-}" in
            cuda) exec bash "$root/bench/cuda/run.sh" ;;
            cpu | c) ;;
            *) echo "bench/run.sh: --target takes cpu or cuda, not '${2:-}'" >&2; exit 2 ;;
        esac ;;
    "") ;;
    *) echo "usage: bench/run.sh [--target cpu|cuda]" >&2; exit 2 ;;
esac
BUILD=${BUILD:-$root/build}
OUT=${OUT:-$BUILD/bench}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-1}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1 2}
PY=${PY:-/usr/bin/python3}
CC=${CC:-cc}
mkdir -p "$OUT"
cblas_inc=""
for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas; do
    [ -f "$d/cblas.h" ] && { cblas_inc="-I$d"; break; }
done

say() { echo "run.sh: $*" >&2; }
# Runs a command under /usr/bin/time, its peak RSS (KiB) into file $1.
with_rss() { local f=$1; shift; /usr/bin/time -f %M -o "$f" "$@"; }

# ---- builds ------------------------------------------------------------------
say "building bench/sgemm_floor.c"
$CC -O2 -std=c11 $cblas_inc -o "$OUT/sgemm_floor" "$root/bench/sgemm_floor.c" -lopenblas
rm -f "$OUT"/floor_* "$OUT"/torch_* "$OUT"/dlc_*
dlc_ok=1
if [ ! -x "$BUILD/dlc" ]; then
    say "no $BUILD/dlc: build dlc first (make build); skipping the dlc rows"
    dlc_ok=0
fi
if [ $dlc_ok = 1 ]; then
    say "dlc build models/mnist_mlp.nn"
    /usr/bin/time -f %e -o "$OUT/dlc_build_seconds.txt" \
        "$BUILD/dlc" build "$root/models/mnist_mlp.nn" -o "$OUT/mnist_mlp" || dlc_ok=0
fi
lat_ok=$dlc_ok
if [ $lat_ok = 1 ]; then
    say "dlc emit --mode infer, predict_latency harness"
    rm -rf "$OUT/infer" && mkdir -p "$OUT/infer"
    if ! { "$BUILD/dlc" emit "$root/models/mnist_mlp.nn" --mode infer -o "$OUT/infer" &&
           $CC -O2 -march=native -std=c11 -DMODEL=mnist_mlp_model -I"$OUT/infer" -I"$root/runtime" $cblas_inc \
               -o "$OUT/predict_latency" "$root/bench/predict_latency.c" "$OUT/infer/mnist_mlp.c" \
               "$BUILD/libdlrt.a" -lopenblas -lz -lm -lpthread; }; then
        say "could not build the latency harness; skipping the dlc latency row"
        lat_ok=0
    fi
fi

# ---- the measurements, interleaved ------------------------------------------------
# Each round measures every configuration once, back to back, so that a
# burst of load from elsewhere hits both sides alike; report.py takes the
# median over the rounds.
for r in $(seq 1 "$ROUNDS"); do
    for t in $THREADS; do
        say "round $r/$ROUNDS, $t thread(s): sgemm floor"
        "$OUT/sgemm_floor" "$t" > "$OUT/floor_${t}_$r.txt"
        say "round $r/$ROUNDS, $t thread(s): PyTorch training, $EPOCHS epoch(s)"
        OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t \
            with_rss "$OUT/torch_rss_${t}_$r.txt" $PY "$root/bench/torch_mlp.py" train --threads "$t" \
            --epochs "$EPOCHS" --data "$DATA" | tail -n 1 > "$OUT/torch_train_${t}_$r.json"
        if [ $dlc_ok = 1 ]; then
            # one more epoch than timed: the first is the warm-up (report.py
            # drops it), as torch_mlp.py does
            say "round $r/$ROUNDS, $t thread(s): dlc training, 1 + $EPOCHS epoch(s)"
            OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t with_rss "$OUT/dlc_rss_${t}_$r.txt" \
                "$OUT/mnist_mlp" train --data "$DATA" --epochs $((EPOCHS + 1)) --log "$OUT/dlc_log_${t}_$r.csv" \
                --save "$OUT/dlc_weights.safetensors" --quiet > /dev/null ||
                { say "dlc training failed"; dlc_ok=0; lat_ok=0; }
        fi
    done
    say "round $r/$ROUNDS: batch-1 latency, 1 thread"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        $PY "$root/bench/torch_mlp.py" latency --threads 1 --data "$DATA" | tail -n 1 > "$OUT/torch_latency_$r.json"
    if [ $lat_ok = 1 ]; then
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$OUT/predict_latency" 5000 > "$OUT/dlc_latency_$r.json" ||
            { say "predict_latency failed"; lat_ok=0; }
    fi
done
[ $lat_ok = 1 ] || rm -f "$OUT"/dlc_latency_*.json
[ $dlc_ok = 1 ] || rm -f "$OUT"/dlc_log_*.csv "$OUT"/dlc_rss_*.txt

# ---- the table ------------------------------------------------------------------
$PY "$root/bench/report.py" "$OUT" "$ROUNDS" $THREADS | tee "$OUT/results.md"

# ---- embeddable inference (bench/embed/run.sh): latency against sgemv and
# PyTorch, arena, Cortex-M4 sizes; uses the weights the training run saved --
if [ -x "$BUILD/dlc" ]; then
    BUILD=$BUILD OUT=$OUT/embed ROUNDS=$ROUNDS PY=$PY CC=$CC DATA=$DATA bash "$root/bench/embed/run.sh" ||
        say "the embedded benchmark failed"
fi
