/* fuzz_nn.c - libFuzzer harness for the .nn frontend, the whole pass
 * pipeline and the C code generator.
 *
 * Each input is the text of a .nn model ("fuzz.nn").  It is compiled in
 * train mode and in infer mode as `dlc build` does: nn_compile, the pass
 * pipeline with whole-region fusion (the C target's), then codegen_emit
 * writing the C source and header to /dev/null.  User errors longjmp back
 * here through diag_set_recover and the arena is freed, so ASan's leak
 * checker sees nothing.  Each mode must either produce code without a
 * diagnostic or stop with one error that names the model file
 * ("fuzz.nn:LINE:COL: error: ..." or "fuzz.nn: error: ..."); anything else
 * aborts, as a bug to fix.  So do crashes, sanitizer reports, leaks and
 * internal errors (DLC_ICE exits with status 3, which libFuzzer reports as
 * a crash, with the message: fuzz_diag.c).
 *
 * Built and run by tests/fuzz/run.sh over the .nn files of models/ and
 * tests/lit/ (the seed corpus, tests/fuzz/prepare.py).
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "fuzz_diag.h"
#include "passes/pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink; /* /dev/null: the generated code */

/* Compiles the input in one mode and checks the outcome. */
static void compile(const uint8_t *data, size_t size, GraphMode mode)
{
    Arena a;
    arena_init(&a);
    jmp_buf jb;
    fuzz_diag_begin();
    diag_set_recover(&jb);
    volatile int failed = 1;
    if (setjmp(jb) == 0) {
        Graph *g = nn_compile(&a, srcfile_from_string(&a, "fuzz.nn", (const char *)data, size), mode);
        PassOptions po = {0};
        po.fuse_regions = true;
        pass_run_pipeline(g, &po, NULL);
        CodegenOptions co = {TARGET_C, NULL, true, true};
        codegen_emit(g, &co, sink, sink);
        failed = 0;
    }
    diag_set_recover(NULL);
    size_t len;
    char *msg = fuzz_diag_end(&len);
    if (failed) {
        fuzz_diag_expect_error(msg, "fuzz.nn");
    } else if (len) {
        fprintf(stderr, "fuzz_nn: a compile that succeeded printed diagnostics:\n%s", msg);
        abort();
    }
    free(msg);
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink) sink = fopen("/dev/null", "w");
    if (!sink) abort();
    compile(data, size, MODE_TRAIN);
    compile(data, size, MODE_INFER);
    return 0;
}
