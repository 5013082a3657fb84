/* test_nn_fuzz.c - a deterministic mutation fuzzer for the .nn frontend.
 *
 * Takes the models of models/ and the frontend's golden tests, applies a
 * few random edits to each (delete a span, insert a token that often
 * breaks something, duplicate a span), and compiles every mutant in both
 * modes with user errors caught (diag_set_recover).  Each must either
 * compile to a graph that verifies, or fail with one located diagnostic
 * "t.nn:LINE:COL: error: ..." (or "t.nn: error: ..." for errors about
 * the whole file).  Crashes, sanitizer reports and internal errors (exit
 * 3) fail the test.  The seed is fixed, so a failure reproduces.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "testutil.h"

#define MUTANTS 20000

static const char *const sources[] = {
    DLC_SOURCE_DIR "/models/mnist_mlp.nn",
    DLC_SOURCE_DIR "/models/mnist_mlp_ops.nn",
    DLC_SOURCE_DIR "/models/mnist_deep_mlp.nn",
    DLC_SOURCE_DIR "/models/logistic_regression.nn",
    DLC_SOURCE_DIR "/tests/lit/frontend/layers.nn",
    DLC_SOURCE_DIR "/tests/lit/frontend/expressions.nn",
    DLC_SOURCE_DIR "/tests/lit/frontend/infer_mode.nn",
};

/* Insertions that tend to hit lexer, parser and lowering paths. */
static const char *const snippets[] = {
    "(", ")", "[", "]", "{", "}", "@", "-", "=", ",", ":", "N", "\n", "\"", "#", "0", "1e9", "1e999", ".5",
    "dense", "x", "relu(", "train {", "\xff", "\xc3", "99999999999999999999", ".", "..", "loss = ",
    "output ", "param p: f32[2] = zeros()\n", " ", "-1", "axis=", "[N]", "f32[", "\r", "\t", "true",
    "dropout(", "metric m = ", "input q: i32[N]\n", "name=\"a\"", "@ x", "* 0", "/ 0",
};

/* xorshift64: a small deterministic generator. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(uint64_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? rng_state % n : 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq((long)fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Applies 1-4 random edits to src (len bytes) into a new malloc'd buffer. */
static char *mutate(const char *src, size_t len, size_t *outlen) {
    size_t cap = len + 4096;
    char *s = malloc(cap);
    memcpy(s, src, len);
    size_t n = len;
    int edits = 1 + (int)rnd(4);
    for (int e = 0; e < edits; e++) {
        size_t p = (size_t)rnd(n + 1);
        uint64_t kind = rnd(10);
        if (kind < 3 && n > 0) { /* delete up to 8 bytes */
            size_t k = 1 + (size_t)rnd(8);
            if (p + k > n) k = n - p;
            memmove(s + p, s + p + k, n - p - k);
            n -= k;
        } else if (kind < 7) { /* insert a snippet */
            const char *ins = snippets[rnd(sizeof snippets / sizeof snippets[0])];
            size_t k = strlen(ins);
            if (n + k > cap) continue;
            memmove(s + p + k, s + p, n - p);
            memcpy(s + p, ins, k);
            n += k;
        } else { /* copy a span of the text elsewhere */
            size_t q = (size_t)rnd(n + 1), k = (size_t)rnd(24);
            if (q + k > n) k = n - q;
            if (n + k > cap) continue;
            char tmp[24];
            memcpy(tmp, s + q, k);
            memmove(s + p + k, s + p, n - p);
            memcpy(s + p, tmp, k);
            n += k;
        }
    }
    *outlen = n;
    return s;
}

/* Compiles one mutant; checks the outcome is a graph or one diagnostic. */
static void compile_one(const char *text, size_t len, GraphMode mode, int *ok, int *errors) {
    Arena a;
    arena_init(&a);
    char *msg = NULL;
    size_t msglen = 0;
    FILE *f = open_memstream(&msg, &msglen);
    jmp_buf jb;
    diag_set_stream(f);
    diag_set_recover(&jb);
    Graph *volatile g = NULL;
    if (setjmp(jb) == 0) g = nn_compile(&a, srcfile_from_string(&a, "t.nn", text, len), mode);
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    fclose(f);
    if (g) {
        ck_assert_ptr_null(ir_verify(g));
        ck_assert_uint_eq(msglen, 0);
        (*ok)++;
    } else {
        int line, col, n = 0;
        bool located = sscanf(msg, "t.nn:%d:%d: error: %n", &line, &col, &n) == 2 && n > 0;
        ck_assert_msg(located || strncmp(msg, "t.nn: error: ", 13) == 0, "unlocated diagnostic: %s", msg);
        ck_assert_msg(strstr(msg + 1, "error:") == strstr(msg, "error:"), "several errors: %s", msg);
        (*errors)++;
    }
    free(msg);
    arena_free(&a);
}

START_TEST(test_mutants) {
    size_t nsrc = sizeof sources / sizeof sources[0];
    char *text[sizeof sources / sizeof sources[0]];
    size_t len[sizeof sources / sizeof sources[0]];
    for (size_t i = 0; i < nsrc; i++) text[i] = read_file(sources[i], &len[i]);
    int ok = 0, errors = 0;
    for (int m = 0; m < MUTANTS; m++) {
        size_t i = (size_t)rnd(nsrc), n;
        char *s = mutate(text[i], len[i], &n);
        compile_one(s, n, MODE_TRAIN, &ok, &errors);
        compile_one(s, n, MODE_INFER, &ok, &errors);
        free(s);
    }
    /* The mutants exercise both outcomes. */
    ck_assert_int_gt(ok, MUTANTS / 20);
    ck_assert_int_gt(errors, MUTANTS / 2);
    for (size_t i = 0; i < nsrc; i++) free(text[i]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("nn_fuzz");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_mutants);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
