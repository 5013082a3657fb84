# fuzz.mk - builds one libFuzzer harness; run by tests/fuzz/run.sh.
#
#   make -f fuzz.mk NAME=nn ROOT=REPO PB=BUILD/onnx_pb OBJ=BUILD/fuzz-obj WORK=BUILD/fuzz-nn CC=clang
#
# Every source is compiled once into OBJ (shared by the harnesses; run.sh
# holds a lock while make runs) with clang's sanitizer coverage, ASan and
# UBSan; -MMD dependency files make rebuilds incremental.  The objects a
# harness may need go into one archive in WORK, so the linker takes only
# those the harness reaches: the compiler's layers (ir, frontend, passes,
# codegen, the generated ONNX code) for onnx and nn, the runtime for idx,
# npy and safetensors.  codegen/cverify.c (libclang) is left out: no
# harness calls it.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer $(SAN) -fsanitize=fuzzer-no-link -MMD -MP \
          -I$(ROOT) -I$(ROOT)/runtime -isystem $(PB)

compiler_srcs := $(wildcard $(ROOT)/ir/*.c $(ROOT)/frontend/*.c $(ROOT)/passes/*.c) \
                 $(filter-out %/cverify.c,$(wildcard $(ROOT)/codegen/*.c)) $(ROOT)/tests/fuzz/fuzz_diag.c
runtime_srcs := $(wildcard $(ROOT)/runtime/*.c) $(ROOT)/tests/fuzz/fuzz_memfile.c

ifneq ($(filter $(NAME),onnx nn),)
lib_objs := $(patsubst $(ROOT)/%.c,$(OBJ)/%.o,$(compiler_srcs)) $(OBJ)/onnx_pb/onnx.pb-c.o
libs := -lprotobuf-c -lz -lm
else ifneq ($(filter $(NAME),idx npy safetensors),)
lib_objs := $(patsubst $(ROOT)/%.c,$(OBJ)/%.o,$(runtime_srcs))
libs := -lz -lm
else
$(error NAME must be onnx, nn, idx, npy or safetensors)
endif
harness := $(OBJ)/tests/fuzz/fuzz_$(NAME).o

$(WORK)/fuzz_$(NAME): $(harness) $(WORK)/lib.a
	$(CC) $(SAN) -fsanitize=fuzzer $(harness) $(WORK)/lib.a $(libs) -o $@

$(WORK)/lib.a: $(lib_objs)
	rm -f $@
	ar rcs $@ $^

$(OBJ)/onnx_pb/onnx.pb-c.o: $(PB)/onnx.pb-c.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -w -c $< -o $@

$(OBJ)/%.o: $(ROOT)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# a change of this file's flags rebuilds everything
$(lib_objs) $(harness): $(ROOT)/tests/fuzz/fuzz.mk

-include $(lib_objs:.o=.d) $(harness:.o=.d)
