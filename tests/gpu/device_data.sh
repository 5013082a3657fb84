#!/usr/bin/env bash
# The data kept on the device (bind_data: bytes uploaded once, each batch
# gathered and converted on the GPU) trains to the same bits as host
# batches copied every step (DLRT_HOST_DATA=1): one epoch of each, same
# seed, byte-identical checkpoints of finite weights.
. "$(dirname "$0")/lib.sh"
require_gpu
build mnist_mlp cuda "$t/gpu"
"$t/gpu" train --data "$data" --epochs 1 --seed 5 --save "$t/device.safetensors" --quiet || fail "device data run"
DLRT_HOST_DATA=1 "$t/gpu" train --data "$data" --epochs 1 --seed 5 --save "$t/host.safetensors" --quiet ||
    fail "host batches run"
cmp "$t/device.safetensors" "$t/host.safetensors" || fail "device data and host batches trained different weights"
compare weights "$t/device.safetensors" "$t/host.safetensors" --rtol 0 --atol 0 || fail "non-finite weights"
echo "PASS: device data and host batches give identical checkpoints"
