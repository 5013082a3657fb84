/* test_scale.c - a very deep model goes through the whole compiler.
 *
 * A deep MLP of LAYERS dense layers (64 units, relu; softmax, sparse
 * crossentropy, Adam: the shape bench/gen_deep_mlp.py writes) is compiled
 * in train mode through every pass and emitted as C, and again (with the
 * CUDA target's fusion) as CUDA.  The model has about 45 IR nodes per
 * layer, so a step that is quadratic in the graph's size (a lookup that
 * scans the graph, a check per node that rescans it) turns this test from
 * under two seconds under ASan into minutes (before the fixes this test
 * protects, the C alone took 10 s in a Release build): the suite gets
 * slow, it does not fail.  Nothing here is timed; bench/compile_scale.sh
 * measures the growth and docs/performance.md has the figures.  The test
 * also checks what the compiler made: every layer's parameters, gradients
 * and Adam slots, a plan at least as large as its own lower bound, the
 * last layer and the first Adam slot in the generated code.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/cuda_emit.h"
#include "codegen/targets.h"
#include "frontend/frontend.h"
#include "passes/pass.h"
#include "testutil.h"

#define LAYERS 1000

/* The .nn source of the deep MLP with n hidden layers (malloc'd). */
static char *deep_mlp_source(int n)
{
    size_t cap = 512 + (size_t)n * 64, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    len += (size_t)snprintf(s + len, cap - len, "model deep_mlp\ninput x: f32[N, 32]\ninput label: i32[N]\n");
    len += (size_t)snprintf(s + len, cap - len, "h1 = dense(x, 64, activation=relu)\n");
    for (int i = 2; i <= n; i++) len += (size_t)snprintf(s + len, cap - len, "h%d = dense(h%d, 64, activation=relu)\n", i, i - 1);
    len += (size_t)snprintf(s + len, cap - len,
                            "logits = dense(h%d, 10)\noutput probs = softmax(logits)\n"
                            "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                            "metric accuracy(probs, label)\n"
                            "train {\n  optimizer = adam(learning_rate=0.001)\n  batch_size = 32\n}\n",
                            n);
    ck_assert_uint_lt(len, cap);
    return s;
}

/* Compiles the deep MLP in train mode through every pass (fuse_regions:
 * the C target's whole regions, else the CUDA target's chains) and checks
 * what the passes made. */
static Graph *compile_deep_mlp(Arena *a, char **text, bool fuse_regions)
{
    *text = deep_mlp_source(LAYERS);
    Graph *g = nn_compile(a, srcfile_from_string(a, "deep_mlp.nn", *text, strlen(*text)), MODE_TRAIN);
    PassOptions po = {0};
    target_pass_options(target_info(fuse_regions ? TARGET_C : TARGET_CUDA), g, 0, &po);
    pass_run_pipeline(g, &po, NULL);
    ck_assert_ptr_null(ir_verify(g));
    int params = 0, slots = 0;
    for (int i = 0; i < g->nnodes; i++) {
        params += g->nodes[i]->op == OP_PARAM;
        slots += g->nodes[i]->op == OP_STATE && strstr(g->nodes[i]->name, "optimizer.adam.") != NULL;
    }
    ck_assert_int_eq(params, 2 * (LAYERS + 1));
    ck_assert_int_eq(g->ngrads, 2 * (LAYERS + 1));
    ck_assert_int_eq(slots, 2 * params); /* m and v */
    ck_assert(g->arena_lower_bound > 0 && g->arena_bytes >= g->arena_lower_bound);
    return g;
}

/* Emits g with the C or the CUDA emitter into memory and checks that the
 * last layer's kernel and the first layer's Adam slot are there. */
static void emit_and_check(const Graph *g, bool cuda)
{
    char *c = NULL, *h = NULL;
    size_t clen = 0, hlen = 0;
    FILE *cf = open_memstream(&c, &clen), *hf = open_memstream(&h, &hlen);
    ck_assert(cf && hf);
    CodegenOptions co = {cuda ? TARGET_CUDA : TARGET_C, "deep_mlp", false, true};
    ck_assert_int_eq(cuda ? cuda_codegen_emit(g, &co, cf, hf) : codegen_emit(g, &co, cf, hf), 0);
    fclose(cf);
    fclose(hf);
    char last[64];
    snprintf(last, sizeof last, "P_dense_%d_kernel", LAYERS + 1);
    ck_assert_msg(strstr(c, last) != NULL, "no %s in the generated code", last);
    ck_assert_ptr_nonnull(strstr(c, "optimizer_adam_dense_1_kernel_m"));
    free(c);
    free(h);
}

START_TEST(deep_mlp_to_c)
{
    Arena a;
    arena_init(&a);
    char *text;
    emit_and_check(compile_deep_mlp(&a, &text, true), false);
    arena_free(&a);
    free(text);
}
END_TEST

START_TEST(deep_mlp_to_cuda)
{
    Arena a;
    arena_init(&a);
    char *text;
    emit_and_check(compile_deep_mlp(&a, &text, false), true);
    arena_free(&a);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scale");
    TCase *tc = tcase_create("scale");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, deep_mlp_to_c);
    tcase_add_test(tc, deep_mlp_to_cuda);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
