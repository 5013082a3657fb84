# Top-level convenience targets; the real build is CMake.
#   make        build dlc into build/ (build/dlc)
#   make test   build with ASan+UBSan (-Werror) into build/asan and run every test
#   make test-gpu  build without sanitizers (-Werror) into build/gpu and run the
#               GPU tests (ctest -L gpu; docs/cuda.md): CUDA and compute-sanitizer
#               as users run them, no ASan in between
#   make demo   compile models/mnist_mlp.nn, train it on Fashion-MNIST, evaluate
#   make bench  run the benchmarks in bench/ (TARGET=cuda: the GPU ones)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-gpu demo bench clean
all: build

deps:
	@bash scripts/deps.sh build

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

test:
	@bash scripts/deps.sh test
	@cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DDLC_SANITIZE=ON -DDLC_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build/asan -j $(JOBS)
	@cd build/asan && ctest -j $(JOBS) --output-on-failure --timeout 600

test-gpu:
	@bash scripts/deps.sh test
	@cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build/gpu -j $(JOBS) --target dlc
	@cd build/gpu && ctest -L gpu --output-on-failure --timeout 1800

demo:
	@bash scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	@bash scripts/demo.sh

bench:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bash bench/run.sh --target $(or $(TARGET),cpu)

clean:
	rm -rf build
