#!/usr/bin/env bash
# run.sh - builds one of dlc's libFuzzer harnesses with clang and runs it
# under ASan + UBSan.  With the default run count it is the smoke run that
# CTest's fuzz/NAME tests do in `make test`; with more runs and libFuzzer
# flags, a long campaign (docs/fuzzing.md).
#
# usage: tests/fuzz/run.sh NAME BUILD_DIR [RUNS [LIBFUZZER_FLAG...]]
#   NAME       onnx | nn | idx | npy | safetensors (tests/fuzz/fuzz_NAME.c)
#   BUILD_DIR  a CMake build folder of dlc (its onnx_pb/ holds the protoc-c
#              output); the harness is built in BUILD_DIR/fuzz-NAME/
#   RUNS       executions (default 10000; -1: until stopped)
#   flags      passed to libFuzzer after run.sh's own, so they override
#              them (e.g. -seed=0 -jobs=2 -workers=2 -max_total_time=3600)
# environment:
#   FUZZ_CC      the compiler (default clang; libFuzzer needs clang)
#   FUZZ_CORPUS  a folder that keeps the inputs the run adds (a campaign's
#                corpus); default BUILD_DIR/fuzz-NAME/corpus, emptied first
#                so that the smoke run is reproducible
#
# The seed corpus and the dictionary are written by tests/fuzz/prepare.py
# into BUILD_DIR/fuzz-NAME/ (seeds/, NAME.dict); the run reads the corpus
# folder and seeds/ and adds new inputs to the corpus folder only, so it
# never writes into the source tree.  Crashes, leaks and timeouts are saved
# as BUILD_DIR/fuzz-NAME/crash-*, leak-*, timeout-* (-artifact_prefix).
# Exit 77 (CTest skip) when clang or its libFuzzer runtime is missing.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 onnx|nn|idx|npy|safetensors BUILD_DIR [RUNS [LIBFUZZER_FLAG...]]" >&2
    exit 2
fi
name=$1 build=$(cd "$2" && pwd) runs=${3:-10000}
shift $(($# < 3 ? $# : 3))
root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${FUZZ_CC:-clang}
case "$name" in
    onnx) max_len=65536 ;; # deeply nested subgraphs take ~30-50 KB (issue 11, item 1)
    nn|idx|npy|safetensors) max_len=16384 ;;
    *) echo "run.sh: unknown harness '$name' (onnx, nn, idx, npy, safetensors)" >&2; exit 2 ;;
esac
if ! command -v "$cc" >/dev/null 2>&1; then echo "run.sh: $cc not found; skipping the fuzz run"; exit 77; fi
pb=$build/onnx_pb
if [ ! -f "$pb/onnx.pb-c.c" ]; then echo "run.sh: $pb/onnx.pb-c.c is missing (build dlc first)" >&2; exit 1; fi
work=$build/fuzz-$name obj=$build/fuzz-obj
mkdir -p "$work" "$obj"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
    "$cc" -x c - -fsanitize=fuzzer -o "$work/probe" >/dev/null 2>&1; then
    echo "run.sh: $cc has no libFuzzer runtime; skipping the fuzz run"; exit 77
fi
# One build at a time in the shared object folder (CTest runs the harnesses
# in parallel); make rebuilds only what changed.
flock "$obj/.lock" make -s -j"${FUZZ_JOBS:-2}" -f "$root/tests/fuzz/fuzz.mk" \
    NAME="$name" ROOT="$root" PB="$pb" OBJ="$obj" WORK="$work" CC="$cc"
${PYTHON:-/usr/bin/python3} "$root/tests/fuzz/prepare.py" "$name" "$work"
corpus=${FUZZ_CORPUS:-$work/corpus}
if [ -z "${FUZZ_CORPUS:-}" ]; then rm -rf "$corpus"; fi
mkdir -p "$corpus"
corpus=$(cd "$corpus" && pwd)
# -seed fixes the mutation sequence (reproducible); -jobs writes its logs
# (fuzz-JOB.log) into the current folder, hence the cd.
cd "$work"
exec "$work/fuzz_$name" -runs="$runs" -seed=1 -max_len=$max_len -rss_limit_mb=2048 -timeout=10 \
    -dict="$work/$name.dict" -artifact_prefix="$work/" -print_final_stats=1 "$@" "$corpus" "$work/seeds"
