#!/usr/bin/env bash
# compile_scale.sh - how dlc's compile time grows with the model's size.
#
# Generates deep MLPs (bench/gen_deep_mlp.py: N dense layers of 64 units
# with relu, a softmax output, sparse categorical crossentropy, Adam) for
# each N in SIZES and times, for each, the wall time of
#   ir:   dlc ir MODEL --mode train --after plan   (frontend, shapes,
#         autodiff, optimizer, simplification, fusion, memory plan)
#   emit: dlc emit MODEL --mode train -o DIR       (the same, plus C codegen)
# as the median of REPS runs, and the ratio to the previous N.  The sizes
# double, so a compiler linear in its input shows ratios near 2 and a
# quadratic one near 4.
#
# With BASE=/path/to/another/dlc (e.g. a Release build of an older commit)
# the same runs are made with that binary too, interleaved with ours, and
# shown in the same table: before/after figures measured side by side.
# A run that takes longer than TIMEOUT seconds is cut off and shown as
# ">TIMEOUT"; that column is not run again for larger N ("-").
# Never a timed assertion: this reports, it does not judge.
#
# Environment: BUILD (dlc's build dir, default build/; use a Release
# build), OUT (scratch, default $BUILD/bench/compile_scale), SIZES (default
# "250 500 1000 2000 4000"), REPS (default 3), BASE (optional), TIMEOUT
# (default 120), PY (default /usr/bin/python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
OUT=${OUT:-$BUILD/bench/compile_scale}
SIZES=${SIZES:-250 500 1000 2000 4000}
REPS=${REPS:-3}
BASE=${BASE:-}
TIMEOUT=${TIMEOUT:-120}
PY=${PY:-/usr/bin/python3}
DLC=$BUILD/dlc
[ -x "$DLC" ] || { echo "compile_scale.sh: no $DLC: build dlc first (make build)" >&2; exit 2; }
[ -z "$BASE" ] || [ -x "$BASE" ] || { echo "compile_scale.sh: BASE=$BASE is not an executable" >&2; exit 2; }
mkdir -p "$OUT"

# Prints the wall seconds of one run of the command, or "timeout".
wall() {
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    timeout "$TIMEOUT" "$@" >/dev/null 2>"$OUT/stderr" || rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" = 124 ]; then echo timeout; return; fi
    if [ "$rc" != 0 ]; then
        echo "compile_scale.sh: failed (exit $rc): $*" >&2
        cat "$OUT/stderr" >&2
        exit 1
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'
}

# Median of its arguments ("timeout" if any run timed out).
median() {
    local v
    for v in "$@"; do [ "$v" = timeout ] && { echo timeout; return; }; done
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

# The command of a measurement: which binary (its tag: ours or base),
# which step, which model.
cmd() {
    local bin=$1 tag=$2 step=$3 model=$4
    if [ "$step" = ir ]; then echo "$bin ir $model --mode train --after plan"
    else echo "$bin emit $model --mode train -o $OUT/emit_$tag"; fi
}

cols="ir emit"
[ -z "$BASE" ] || cols="ir emit base_ir base_emit"
declare -A prev skip
printf '%-6s' "N"
for c in $cols; do printf ' | %10s %6s' "$c s" "ratio"; done
printf '\n'
for n in $SIZES; do
    model=$OUT/deep_mlp_$n.nn
    "$PY" "$root/bench/gen_deep_mlp.py" "$n" adam > "$model"
    declare -A runs=()
    for ((r = 0; r < REPS; r++)); do
        for c in $cols; do
            [ -z "${skip[$c]:-}" ] || continue
            bin=$DLC; tag=ours; step=$c
            case $c in base_*) bin=$BASE; tag=base; step=${c#base_} ;; esac
            # shellcheck disable=SC2046
            t=$(wall $(cmd "$bin" "$tag" "$step" "$model"))
            runs[$c]="${runs[$c]:-} $t"
            [ "$t" != timeout ] || skip[$c]=1 # no more runs of this column
        done
    done
    printf '%-6s' "$n"
    for c in $cols; do
        if [ -z "${runs[$c]:-}" ]; then printf ' | %10s %6s' "-" "-"; continue; fi
        # shellcheck disable=SC2086
        m=$(median ${runs[$c]})
        if [ "$m" = timeout ]; then
            printf ' | %10s %6s' ">$TIMEOUT" "-"
            continue
        fi
        ratio=-
        [ -z "${prev[$c]:-}" ] || ratio=$(awk -v a="$m" -v b="${prev[$c]}" 'BEGIN {printf "%.2f", a / b}')
        printf ' | %10.3f %6s' "$m" "$ratio"
        prev[$c]=$m
    done
    printf '\n'
done
