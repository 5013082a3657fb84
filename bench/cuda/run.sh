#!/usr/bin/env bash
# bench/cuda/run.sh - dlc's CUDA benchmarks (`bash bench/cuda/run.sh`).
#
# On the GPU of this machine, now:
#   (a) seconds per Fashion-MNIST epoch (469 steps of batch 128, then the
#       test split's loss and accuracy) of models/mnist_mlp.nn built with
#       `dlc build --target cuda` (`prog train --epochs 1+E --log CSV`, the
#       first epoch a warm-up), against PyTorch on the same GPU, eager and
#       torch.compile (bench/cuda/torch_gpu.py; skipped with a message when
#       PyTorch has no CUDA).  Target: >= 10x faster than eager.  The same
#       program fed host batches (DLRT_HOST_DATA=1) shows what keeping the
#       data on the device gains;
#   (b) the same for bench/cuda/wide_mlp.nn (784-4096-4096-10, batch 1024),
#       against the cuBLAS floor: the GEMMs the generated code calls in one
#       epoch (taken from the generated train/eval entry points, one batch
#       size at a time) timed alone with cublasSgemm (cublas_floor.cu).
#       Target: within 1.3x of the floor.
# Prints a table (and writes it to $OUT/results.md) with the device.  Never
# a timed assertion: this reports, it does not judge.
#
# Environment: BUILD (dlc's build dir, default build/; built if missing),
# OUT (default $BUILD/bench-cuda), DATA (Fashion-MNIST), EPOCHS (timed
# epochs, default 2), PY (the Python with torch, default /usr/bin/python3),
# NVCC (default /usr/local/cuda/bin/nvcc).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$root/build}
OUT=${OUT:-$BUILD/bench-cuda}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-2}
PY=${PY:-/usr/bin/python3}
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
mkdir -p "$OUT"
say() { echo "cuda/run.sh: $*" >&2; }

[ -x "$NVCC" ] || { say "no nvcc at $NVCC: install the CUDA toolkit"; exit 1; }
if [ ! -x "$BUILD/dlc" ]; then
    say "building dlc in $BUILD"
    cmake -S "$root" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j "$(nproc)" --target dlc >/dev/null
fi
dlc=$BUILD/dlc

# ---- the device ------------------------------------------------------------------
cat > "$OUT/probe.cu" <<'CU'
#include <cstdio>
#include <cuda_runtime.h>
int main()
{
    int c = 0;
    if (cudaGetDeviceCount(&c) != cudaSuccess || c == 0) return 1;
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    std::printf("%s (sm_%d%d, %d SMs, %.0f GiB)\n", p.name, p.major, p.minor, p.multiProcessorCount,
                p.totalGlobalMem / 1073741824.0);
    return 0;
}
CU
"$NVCC" -o "$OUT/probe" "$OUT/probe.cu"
device=$("$OUT/probe") || { say "no CUDA device: nothing to measure"; exit 1; }
say "device: $device"
"$NVCC" -O2 -std=c++17 -o "$OUT/cublas_floor" "$root/bench/cuda/cublas_floor.cu" -lcublas

# Median per-epoch seconds of a dlc program's --log CSV, first epoch dropped.
epoch_median() {
    "$PY" -c 'import csv,statistics,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(statistics.median(float(x["seconds"]) for x in r[1:]))' "$1"
}

# ---- (a) mnist_mlp: dlc CUDA vs PyTorch ------------------------------------------------
say "mnist_mlp: dlc build --target cuda"
"$dlc" build "$root/models/mnist_mlp.nn" --target cuda -o "$OUT/mnist_mlp_cuda"
rm -f "$OUT/mlp.csv"
"$OUT/mnist_mlp_cuda" train --data "$DATA" --epochs $((1 + EPOCHS)) --log "$OUT/mlp.csv" --quiet
dlc_mlp=$(epoch_median "$OUT/mlp.csv")
say "mnist_mlp dlc: $dlc_mlp s/epoch"
rm -f "$OUT/mlp_host.csv" # the same program fed host batches every step
DLRT_HOST_DATA=1 "$OUT/mnist_mlp_cuda" train --data "$DATA" --epochs $((1 + EPOCHS)) --log "$OUT/mlp_host.csv" --quiet
dlc_mlp_host=$(epoch_median "$OUT/mlp_host.csv")
say "mnist_mlp dlc, host batches: $dlc_mlp_host s/epoch"
torch_eager=n/a torch_compile=n/a
if out=$("$PY" "$root/bench/cuda/torch_gpu.py" --model mlp --epochs "$EPOCHS" --data "$DATA" 2>"$OUT/torch.err"); then
    torch_eager=$(echo "$out" | tail -1 | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["epoch_s"])')
    say "mnist_mlp torch eager: $torch_eager s/epoch"
    if out=$("$PY" "$root/bench/cuda/torch_gpu.py" --model mlp --compile --epochs "$EPOCHS" --data "$DATA" 2>>"$OUT/torch.err"); then
        torch_compile=$(echo "$out" | tail -1 | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d.get("epoch_s", "n/a (" + d.get("error", "?")[:60] + ")"))')
    fi
else
    say "PyTorch skipped: $(tail -1 "$OUT/torch.err")"
fi

# ---- (b) wide MLP: dlc CUDA vs the cuBLAS floor ----------------------------------------
say "wide_mlp: dlc build --target cuda"
rm -rf "$OUT/wide_src"
"$dlc" build "$root/bench/cuda/wide_mlp.nn" --target cuda -o "$OUT/wide_cuda" --keep-source "$OUT/wide_src"
rm -f "$OUT/wide.csv"
"$OUT/wide_cuda" train --data "$DATA" --epochs $((1 + EPOCHS)) --log "$OUT/wide.csv" --quiet
dlc_wide=$(epoch_median "$OUT/wide.csv")
# The GEMMs of one train step and one eval chunk at batch size n.
gemms() { # ENTRY N
    sed -n "/^static void $1_enqueue/,/^}/p" "$OUT/wide_src/wide_mlp.cu" |
        sed -n 's/.*dlrt_cuda_sgemm(\([01]\), \([01]\), (int)(\([^)]*\)), (int)(\([^)]*\)), (int)(\([^)]*\)),.*/\1 \2 \3 \4 \5/p' |
        while read -r ta tb m p k; do echo "$ta $tb $((${m//n/$2})) $((${p//n/$2})) $((${k//n/$2}))"; done | tr '\n' ' '
}
floor_of() { "$OUT/cublas_floor" 20 $(gemms "$1" "$2") | cut -d' ' -f1; }
ft1024=$(floor_of train 1024) ft608=$(floor_of train 608) fe1024=$(floor_of eval 1024) fe784=$(floor_of eval 784)
floor=$("$PY" -c "print(58 * $ft1024 + $ft608 + 9 * $fe1024 + $fe784)")
say "wide_mlp dlc: $dlc_wide s/epoch; cuBLAS floor $floor s"

"$PY" - "$device" "$dlc_mlp" "$torch_eager" "$torch_compile" "$dlc_wide" "$floor" "$dlc_mlp_host" > "$OUT/results.md" <<'PY'
import sys
dev, dm, te, tc, dw, fl, dh = sys.argv[1:]
def ratio(a, b):
    try:
        return "%.2fx" % (float(a) / float(b))
    except ValueError:
        return "n/a"
print("device: %s\n" % dev)
print("| measurement | seconds/epoch | ratio |")
print("|---|---|---|")
print("| mnist_mlp, dlc CUDA | %.4f | |" % float(dm))
print("| mnist_mlp, dlc CUDA fed host batches (DLRT_HOST_DATA=1) | %.4f | %s of the above |" % (float(dh), ratio(dh, dm)))
print("| mnist_mlp, PyTorch eager (same GPU) | %s | dlc is %s faster (target >= 10x) |" % (te, ratio(te, dm)))
print("| mnist_mlp, PyTorch torch.compile | %s | dlc is %s faster |" % (tc, ratio(tc, dm)))
print("| wide_mlp (4096 wide, batch 1024), dlc CUDA | %.4f | %s the cuBLAS floor (target <= 1.3x) |" % (float(dw), ratio(dw, fl)))
print("| wide_mlp, cuBLAS floor (its GEMMs alone) | %.4f | |" % float(fl))
PY
cat "$OUT/results.md"
