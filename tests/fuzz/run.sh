#!/usr/bin/env bash
# run.sh - builds the ONNX importer's libFuzzer harness with clang and runs
# a sanitizer smoke run (CTest `fuzz/onnx_import`, part of `make test`).
#
# usage: tests/fuzz/run.sh PB_DIR WORK_DIR [RUNS]
#   PB_DIR    the folder with the protoc-c output (BUILD/onnx_pb)
#   WORK_DIR  scratch folder for the binary and a copy of the corpus
#   RUNS      executions (default 10000)
#
# The harness and the sources it needs (ir/, the importer, the generated
# protobuf code) are compiled here with -fsanitize=fuzzer,address,undefined:
# libFuzzer needs clang, whatever compiler builds the rest.  The corpus is
# copied so that the run never writes into the source tree.  Exit 77 (CTest
# skip) when clang or its libFuzzer runtime is missing.
set -eu
pb=$1 work=$2 runs=${3:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then echo "run.sh: $cc not found; skipping the fuzz run"; exit 77; fi
if [ ! -f "$pb/onnx.pb-c.c" ]; then echo "run.sh: $pb/onnx.pb-c.c is missing (build dlc first)" >&2; exit 1; fi
mkdir -p "$work"
bin="$work/fuzz_onnx"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
    "$cc" -x c - -fsanitize=fuzzer -o "$work/probe" >/dev/null 2>&1; then
    echo "run.sh: $cc has no libFuzzer runtime; skipping the fuzz run"; exit 77
fi
"$cc" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root" -isystem "$pb" \
    "$root/tests/fuzz/fuzz_onnx.c" "$root"/frontend/onnx_import.c "$root"/frontend/onnx_ops.c \
    "$root"/ir/*.c "$pb/onnx.pb-c.c" -lprotobuf-c -lm -o "$bin"
rm -rf "$work/corpus"
cp -r "$root/tests/fuzz/corpus_onnx" "$work/corpus"
# -seed fixes the mutation sequence (reproducible); crashes land in $work.
"$bin" -runs="$runs" -seed=1 -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
    -dict="$root/tests/fuzz/onnx.dict" -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus"
