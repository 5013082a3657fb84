#!/usr/bin/env bash
# build_models.sh DLC ROOT TMP [MODEL...] - every model of models/ (or
# the MODELs given), in both modes, through `dlc build --target cuda`: nvcc
# must compile the generated source with -Werror all-warnings and link it.
# The tests that run it say `REQUIRES: nvcc` (tests/lit.sh skips them
# without one).
set -eu
dlc=$1 root=$2 t=$3
shift 3
if [ $# -eq 0 ]; then set -- "$root"/models/*.nn; fi
rm -rf "$t" && mkdir -p "$t"
for m in "$@"; do
    for mode in train infer; do
        name=$(basename "$m" .nn)_$mode
        "$dlc" build "$m" --target cuda --mode "$mode" -o "$t/$name"
        test -x "$t/$name"
        echo "ok: $name"
    done
done
