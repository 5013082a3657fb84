#!/usr/bin/env bash
# ab_epoch.sh - two dlc builds side by side: the training epoch of the same
# model, compiled by each, timed in interleaved rounds (A then B in every
# round, for every thread count), medians and the ratio B/A.  For "does
# this change slow training down": build the old revision's dlc in a git
# worktree and compare it with the current one.
#
# usage: bench/ab_epoch.sh DLC_A DLC_B [MODEL]
#   MODEL     default models/mnist_mlp.nn
# Environment: DATA (default /usr/share/datasets/fashion-mnist), ROUNDS
# (default 5), THREADS (default "1 2"), OUT (scratch, default a mktemp dir).
# Each run trains 2 epochs with --log; the second epoch's `seconds` is the
# figure (the first is a warm-up).  Never a timed assertion: it reports.
#
# Example, the revision before a change against the working tree:
#   git worktree add --detach /tmp/old HEAD~1 &&
#   cmake -S /tmp/old -B /tmp/old/build -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/old/build --target dlc
#   bench/ab_epoch.sh /tmp/old/build/dlc build/dlc
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: bench/ab_epoch.sh DLC_A DLC_B [MODEL]" >&2; exit 2; }
dlc_a=$1 dlc_b=$2 model=${3:-$root/models/mnist_mlp.nn}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1 2}
OUT=${OUT:-$(mktemp -d)}
"$dlc_a" build "$model" -o "$OUT/prog_a"
"$dlc_b" build "$model" -o "$OUT/prog_b"
for r in $(seq "$ROUNDS"); do
    for t in $THREADS; do
        for side in a b; do
            "$OUT/prog_$side" train --data "$DATA" --epochs 2 --threads "$t" --quiet \
                --log "$OUT/log_${side}_${t}_$r.csv" > /dev/null
        done
    done
done
python3 - "$OUT" "$ROUNDS" $THREADS <<'EOF'
import csv, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def epoch2(side, t, r):
    with open(f"{out}/log_{side}_{t}_{r}.csv") as f:
        return float(list(csv.DictReader(f))[-1]["seconds"])
print("| threads | A s/epoch (median) | B s/epoch (median) | B/A |")
print("|---|---|---|---|")
for t in threads:
    a = statistics.median(epoch2("a", t, r) for r in range(1, rounds + 1))
    b = statistics.median(epoch2("b", t, r) for r in range(1, rounds + 1))
    print(f"| {t} | {a:.3f} | {b:.3f} | {b / a:.3f} |")
EOF
