/* fuzz_onnx.c - libFuzzer harness for the ONNX importer.
 *
 * Each input is taken as the bytes of a .onnx file and imported in infer
 * mode with external data refused (onnx_import_bytes with no folder).  A
 * user error (the expected outcome for most inputs) longjmps back here
 * through diag_set_recover, and the arena - which holds the parsed
 * protobuf too - is freed, so ASan's leak checker sees nothing.  The error
 * must name the file ("fuzz.onnx: error: ..."; fuzz_diag.c).  A crash, a
 * sanitizer report, an internal error (exit 3, reported with its message)
 * or a leak is a bug.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,
 * undefined) over the seed corpus in tests/fuzz/corpus_onnx/; up to
 * 64 KiB per input (-max_len), enough for deeply nested subgraphs.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/onnx.h"
#include "fuzz_diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Arena a;
    arena_init(&a);
    SrcFile f = {"fuzz.onnx", (const char *)data, size};
    jmp_buf jb;
    fuzz_diag_begin();
    diag_set_recover(&jb);
    volatile int failed = 1;
    if (setjmp(jb) == 0) {
        OnnxWeights w;
        Graph *g = onnx_import_bytes(&a, &f, NULL, MODE_INFER, &w);
        /* every imported weight must be readable in full */
        volatile float acc = 0;
        for (int i = 0; i < w.n; i++) {
            int64_t m = tt_numel(&w.w[i].type, 1);
            for (int64_t j = 0; j < m; j += 97) acc += w.w[i].data[j];
        }
        (void)g;
        failed = 0;
    }
    diag_set_recover(NULL);
    size_t len;
    char *msg = fuzz_diag_end(&len);
    if (failed) fuzz_diag_expect_error(msg, "fuzz.onnx");
    free(msg);
    arena_free(&a);
    return 0;
}
