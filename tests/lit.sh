#!/usr/bin/env bash
# lit.sh - runs one LLVM-style test file: every `RUN:` line in it is a shell
# command.  Substitutions:
#   %dlc        the dlc driver under test
#   %FileCheck  LLVM's FileCheck (also plain `FileCheck`)
#   %s          this test file        %S  its folder
#   %t          a scratch path unique to this test (files: %t.nn, dirs: %t.d)
#   %root       the source tree
#   %python     the Python with the reference packages (/usr/bin/python3)
# `not CMD` succeeds when CMD exits with a non-zero status; `not --status=N
# CMD` when it exits with exactly N.  A line ending in `\` continues on the
# next RUN line.  Each RUN line runs with `set -o pipefail`.
#
# A line `REQUIRES: FEATURE` (after an optional comment marker, at the start
# of the line) skips the test when the feature is missing: a SKIP line and
# exit status 77, which CTest reports as skipped (SKIP_RETURN_CODE,
# tests/tests.cmake), not as passed.  Features:
#   nvcc        the CUDA compiler dlc would run: $DLC_NVCC when set (and
#               executable), else /usr/local/cuda/bin/nvcc, else nvcc on PATH
#   cuobjdump   /usr/local/cuda/bin/cuobjdump or cuobjdump on PATH
set -u
test_file=$1 dlc=$2 filecheck=$3 tmpdir=$4
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$tmpdir"
name=$(echo "${test_file#"$root"/tests/lit/}" | tr '/' '_')
t="$tmpdir/$name.tmp"
rm -rf "$t" "$t".*

not() {
    local want=""
    if [[ "${1:-}" == --status=* ]]; then want=${1#--status=}; shift; fi
    "$@"
    local rc=$?
    if [ -n "$want" ]; then
        [ "$rc" -eq "$want" ] || { echo "not: expected exit status $want, got $rc: $*" >&2; return 1; }
        return 0
    fi
    [ "$rc" -ne 0 ] || { echo "not: command succeeded: $*" >&2; return 1; }
    return 0
}
export -f not

cmds=()
cur=""
while IFS= read -r line; do
    case "$line" in
        *RUN:*) ;;
        *) continue ;;
    esac
    body=${line#*RUN:}
    body=${body# }
    if [[ "$body" == *'\' ]]; then cur+="${body%\\} "; continue; fi
    cmds+=("$cur$body")
    cur=""
done < <(LC_ALL=C grep -a 'RUN:' "$test_file")

if [ ${#cmds[@]} -eq 0 ]; then echo "lit.sh: no RUN lines in $test_file" >&2; exit 1; fi

# has_feature NAME: true when the feature a REQUIRES line names is there.
has_feature() {
    case "$1" in
        nvcc)
            if [ -n "${DLC_NVCC:-}" ]; then [ -x "$DLC_NVCC" ]; return; fi
            [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null ;;
        cuobjdump) [ -x /usr/local/cuda/bin/cuobjdump ] || command -v cuobjdump >/dev/null ;;
        *) echo "lit.sh: $test_file: unknown feature '$1' in a REQUIRES line" >&2; exit 1 ;;
    esac
}
while IFS= read -r feature; do
    has_feature "$feature" || { echo "SKIP: $test_file: no $feature (REQUIRES: $feature)"; exit 77; }
done < <(LC_ALL=C sed -nE 's/^[[:space:]#;/]*REQUIRES:[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]*$/\1/p' "$test_file")

dir=$(dirname "$test_file")
for c in "${cmds[@]}"; do
    c=${c//%dlc/$dlc}
    c=${c//%FileCheck/$filecheck}
    c=${c//%root/$root}
    c=${c//%python//usr/bin/python3}
    c=${c//%s/$test_file}
    c=${c//%S/$dir}
    c=${c//%t/$t}
    c=$(sed -E "s#(^|[ |;(])FileCheck( )#\1$filecheck\2#g" <<<"$c")
    echo "RUN: $c"
    ( cd "$tmpdir" && set -o pipefail && eval "$c" ) || { echo "FAILED: $c" >&2; exit 1; }
done
exit 0
