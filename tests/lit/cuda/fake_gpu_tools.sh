#!/usr/bin/env bash
# fake_gpu_tools.sh DIR - stand-ins for a GPU host's tools, for
# gpu_lib.test (tests/gpu/lib.sh's decision between SKIP and FAIL):
#   DIR/nvidia-smi-gpu    lists one GPU        DIR/nvidia-smi-none  lists none
#   DIR/nvcc-broken       cannot compile        DIR/nvcc-old-driver  builds a probe that
#   DIR/nvcc-ok           builds a probe that       fails as CUDA does with a driver
#                         finds "Fake GPU"          too old for the runtime
#   DIR/dev-none/         no device nodes       DIR/dev-gpu/nvidia0  one
#   DIR/data/             a (empty) Fashion-MNIST
#   DIR/require_gpu.sh DLC ROOT TMP   sources lib.sh, runs require_gpu, prints "GPU OK"
set -eu
d=$1
rm -rf "$d" && mkdir -p "$d/dev-none" "$d/dev-gpu" "$d/data"
touch "$d/dev-gpu/nvidia0" "$d/data/train-images-idx3-ubyte"
printf '#!/bin/sh\necho "GPU 0: NVIDIA Fake (UUID: GPU-0)"\n' > "$d/nvidia-smi-gpu"
printf '#!/bin/sh\necho "No devices were found"\nexit 6\n' > "$d/nvidia-smi-none"
printf '#!/bin/sh\necho "nvcc fatal   : Cannot find compiler cl.exe in PATH"\nexit 1\n' > "$d/nvcc-broken"
# nvcc -o OUT SRC: OUT is a shell script standing in for the probe
probe() {
    printf '#!/bin/sh\nout=$2\nprintf '"'"'#!/bin/sh\\necho "%s"\\nexit %s\\n'"'"' > "$out"\nchmod +x "$out"\n' "$2" "$3" > "$d/$1"
}
probe nvcc-old-driver "CUDA driver version is insufficient for CUDA runtime version" 1
probe nvcc-ok "Fake GPU (sm_90)" 0
printf '#!/usr/bin/env bash\n. "$2/tests/gpu/lib.sh"\nrequire_gpu\necho "GPU OK"\n' > "$d/require_gpu.sh"
chmod +x "$d"/nvidia-smi-* "$d"/nvcc-* "$d/require_gpu.sh"
