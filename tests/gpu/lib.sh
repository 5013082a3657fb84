# lib.sh - shared by the GPU tests (tests/gpu/*.sh, CTest label `gpu`).
#
# Each test runs as `bash TEST.sh DLC ROOT TMPDIR`.  Where there is no GPU
# at all (no /dev/nvidiaN device node and no GPU that `nvidia-smi -L`
# lists), or CUDA_VISIBLE_DEVICES is set empty, it prints a SKIP line and
# exits 77, which CTest reports as skipped (SKIP_RETURN_CODE), so `make
# test` stays green on machines without a GPU.  Where there is a GPU,
# anything else missing or broken - no nvcc, an nvcc that cannot build the
# probe, a driver CUDA cannot use, no data - is a failure: a GPU host with
# a broken setup must not go green.  Programs are built from the
# repository's models with the dlc under test.
#
# Environment: DLC_NVCC (the nvcc, as dlc uses it; no fallback when set),
# DLC_DATA (Fashion-MNIST); for tests of this file, DLC_DEV (the folder of
# device nodes, /dev) and DLC_NVIDIA_SMI (the nvidia-smi to ask).
set -u
dlc=$1 root=$2 t=$3
data=${DLC_DATA:-/usr/share/datasets/fashion-mnist}
if [ -n "${DLC_NVCC:-}" ]; then
    nvcc=$DLC_NVCC
else
    nvcc=/usr/local/cuda/bin/nvcc
    [ -x "$nvcc" ] || nvcc=$(command -v nvcc || true)
fi
rm -rf "$t" && mkdir -p "$t"

skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*"
    exit 1
}

# True when the machine has a GPU: a device node /dev/nvidiaN, or a
# `GPU N: ...` line from nvidia-smi -L.
gpu_present() {
    local f
    for f in "${DLC_DEV:-/dev}"/nvidia[0-9]*; do
        [ -e "$f" ] && return 0
    done
    "${DLC_NVIDIA_SMI:-nvidia-smi}" -L 2>/dev/null | grep -q '^GPU [0-9]'
}

# Skips without a GPU; with one, fails unless nvcc builds a probe that
# cudaGetDeviceCount runs in, and the data is there.
require_gpu() {
    if [ "${CUDA_VISIBLE_DEVICES+set}" = set ] && [ -z "$CUDA_VISIBLE_DEVICES" ]; then
        skip "CUDA_VISIBLE_DEVICES is empty: every GPU is hidden"
    fi
    gpu_present || skip "no GPU (no ${DLC_DEV:-/dev}/nvidia[0-9]* device, and nvidia-smi lists none)"
    [ -n "$nvcc" ] && [ -x "$nvcc" ] ||
        fail "there is a GPU but no nvcc${DLC_NVCC:+ (DLC_NVCC=$DLC_NVCC)} (install the CUDA toolkit under /usr/local/cuda, or set DLC_NVCC)"
    cat > "$t/probe.cu" <<'CU'
#include <cstdio>
#include <cuda_runtime.h>
int main()
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        std::printf("%s\n", e != cudaSuccess ? cudaGetErrorString(e) : "no device");
        return 1;
    }
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    std::printf("%s (sm_%d%d)\n", p.name, p.major, p.minor);
    return 0;
}
CU
    "$nvcc" -o "$t/probe" "$t/probe.cu" > "$t/probe.log" 2>&1 ||
        { cat "$t/probe.log"; fail "there is a GPU but $nvcc cannot build the CUDA probe program"; }
    local why
    why=$("$t/probe" 2>&1) || fail "there is a GPU but CUDA cannot use it: $why"
    echo "device: $why"
    if ldd "$dlc" 2>/dev/null | grep -q libasan; then
        echo "note: this dlc is built with AddressSanitizer, so are the programs it builds; if CUDA fails"
        echo "      to initialize under ASan, run the gpu tests from a plain build (make test-gpu)"
    fi
    [ -e "$data/train-images-idx3-ubyte.gz" ] || [ -e "$data/train-images-idx3-ubyte" ] ||
        fail "no Fashion-MNIST in $data (set DLC_DATA)"
}

# Makes $dlc a plain (not sanitized) build when it is an ASan one, for what
# cannot run under ASan (compute-sanitizer): configures and builds the dlc
# target of ROOT in $t/plain.
plain_dlc() {
    ldd "$dlc" 2>/dev/null | grep -q libasan || return 0
    echo "note: $dlc is built with AddressSanitizer; building a plain dlc in $t/plain"
    { cmake -S "$root" -B "$t/plain" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$t/plain" --target dlc -j "$(nproc 2>/dev/null || echo 2)"; } > "$t/plain.log" 2>&1 ||
        { tail -40 "$t/plain.log"; fail "cannot build a plain dlc (log: $t/plain.log)"; }
    dlc=$t/plain/dlc
}

# compare KIND A B [options...]: tests/gpu/compare_runs.py (losses,
# weights, eval), in Python: NaN, null and text fail there, unlike in awk.
compare() {
    /usr/bin/python3 "$root/tests/gpu/compare_runs.py" "$@"
}

# build MODEL TARGET OUT [dlc options...]
build() {
    local model=$1 target=$2 out=$3
    shift 3
    "$dlc" build "$root/models/$model.nn" --target "$target" -o "$out" "$@" || fail "dlc build $model --target $target"
}
