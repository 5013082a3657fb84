# lib.sh - shared by the GPU tests (tests/gpu/*.sh, CTest label `gpu`).
#
# Each test runs as `bash TEST.sh DLC ROOT TMPDIR`.  Without nvcc or
# without a visible CUDA device it prints a SKIP line and exits 77, which
# CTest reports as skipped (SKIP_RETURN_CODE), so `make test` stays green on
# machines without a GPU.  Programs are built from the repository's models
# with the dlc under test.
set -u
dlc=$1 root=$2 t=$3
data=${DLC_DATA:-/usr/share/datasets/fashion-mnist}
nvcc=${DLC_NVCC:-/usr/local/cuda/bin/nvcc}
[ -x "$nvcc" ] || nvcc=$(command -v nvcc || true)
rm -rf "$t" && mkdir -p "$t"

skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*"
    exit 1
}

# Skips unless nvcc works and cudaGetDeviceCount finds a device.
require_gpu() {
    [ -n "$nvcc" ] && [ -x "$nvcc" ] || skip "no nvcc (install the CUDA toolkit under /usr/local/cuda)"
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
    "$nvcc" -o "$t/probe" "$t/probe.cu" >/dev/null 2>&1 || skip "nvcc cannot build a probe program"
    local why
    why=$("$t/probe" 2>&1) || skip "no CUDA device ($why)"
    echo "device: $why"
    if ldd "$dlc" 2>/dev/null | grep -q libasan; then
        echo "note: this dlc is built with AddressSanitizer, so are the programs it builds; if CUDA fails"
        echo "      to initialize under ASan, run the gpu tests from a plain build (cmake -B build && ctest -L gpu)"
    fi
    [ -e "$data/train-images-idx3-ubyte.gz" ] || [ -e "$data/train-images-idx3-ubyte" ] ||
        skip "no Fashion-MNIST in $data (set DLC_DATA)"
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
