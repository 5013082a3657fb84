/* test_scale.c - a very deep model goes through the whole compiler.
 *
 * A deep MLP (N dense layers of 64 units with relu, softmax, sparse
 * crossentropy, Adam; the same shape as bench/gen_deep_mlp.py writes) is
 * compiled in train mode through every pass and emitted as C.  The model
 * has about 45 IR nodes per layer, so a step that is quadratic in the
 * graph's size (a lookup by scanning the graph, a check per node that
 * rescans it) turns this test from well under two seconds (under ASan)
 * into minutes: the suite gets slow, it does not fail.  Nothing here is
 * timed.  bench/compile_scale.sh measures the growth; docs/performance.md
 * has the figures.  The test also checks what the compiler made: every
 * layer's parameters, gradients and Adam slots, a plan at least as large
 * as its own lower bound, and a kernel for the last layer in the C.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/pass.h"
#include "testutil.h"

#define LAYERS 1500

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

START_TEST(deep_mlp_compiles_and_emits)
{
    char *text = deep_mlp_source(LAYERS);
    Arena a;
    arena_init(&a);
    Graph *g = nn_compile(&a, srcfile_from_string(&a, "deep_mlp.nn", text, strlen(text)), MODE_TRAIN);
    PassOptions po = {0};
    po.fuse_regions = true;
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

    char *c = NULL, *h = NULL;
    size_t clen = 0, hlen = 0;
    FILE *cf = open_memstream(&c, &clen), *hf = open_memstream(&h, &hlen);
    ck_assert(cf && hf);
    CodegenOptions co = {TARGET_C, "deep_mlp", false, true};
    ck_assert_int_eq(codegen_emit(g, &co, cf, hf), 0);
    fclose(cf);
    fclose(hf);
    char last[64];
    snprintf(last, sizeof last, "P_dense_%d_kernel", LAYERS + 1);
    ck_assert_msg(strstr(c, last) != NULL, "no %s in the generated C", last);
    ck_assert_ptr_nonnull(strstr(c, "optimizer_adam_dense_1_kernel_m"));
    free(c);
    free(h);
    arena_free(&a);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scale");
    TCase *tc = tcase_create("scale");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, deep_mlp_compiles_and_emits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
