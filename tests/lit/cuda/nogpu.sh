#!/usr/bin/env bash
# nogpu.sh DLC ROOT TMP - builds mnist_mlp for CUDA and runs it with every
# GPU hidden: it must say so and exit 1.  Needs nvcc (nogpu.test says
# `REQUIRES: nvcc`).
set -u
dlc=$1 root=$2 t=$3
rm -rf "$t" && mkdir -p "$t"
"$dlc" build "$root/models/mnist_mlp.nn" --target cuda -o "$t/mnist_mlp" || exit 1
CUDA_VISIBLE_DEVICES= "$t/mnist_mlp" --help | head -1
CUDA_VISIBLE_DEVICES= "$t/mnist_mlp" train --max-steps 1 --quiet 2>&1
echo "status $?"
