#!/usr/bin/env bash
# deps.sh - installs the Debian packages dlc needs, when they are missing.
# Run as root, it uses apt-get; otherwise it prints the exact command and
# stops with status 1.  Usage: scripts/deps.sh [build|test|demo|bench|all]
set -eu
what=${1:-build}
build_pkgs="cmake make gcc pkg-config check libsubunit-dev zlib1g-dev libopenblas-dev llvm-14-tools libclang-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
test_pkgs="$build_pkgs clang libclang-rt-14-dev python3 python3-torch python3-numpy python3-onnx dataset-fashion-mnist graphviz gcc-arm-none-eabi libnewlib-arm-none-eabi"
case "$what" in
    build) pkgs=$build_pkgs ;;
    test|all) pkgs=$test_pkgs ;;
    demo) pkgs="$build_pkgs dataset-fashion-mnist graphviz" ;;
    bench) pkgs="$build_pkgs time python3 python3-torch python3-numpy dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi" ;;
    *) echo "usage: $0 [build|test|demo|bench|all]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "deps.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps.sh: missing Debian packages. Run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
