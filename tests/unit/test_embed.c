/* test_embed.c - the embeddable inference emitter (codegen/emit_embed.c)
 * against the reference interpreter, and its API's promises.
 *
 * Each case compiles a small .nn model in infer mode, plans it with
 * external leaves for a given max batch, gives it weights, emits the
 * embeddable unit, compiles it with cc -std=c99 -Wall -Wextra -pedantic
 * -Werror into a shared object (no runtime library: it must not need one)
 * and loads it with dlopen.  Then:
 *   - outputs of predict, predict_batch (n larger than the max batch, so
 *     chunked) and the reentrant variants agree with the interpreter (f64)
 *     on random inputs, with BLAS and with the portable loops;
 *   - the error codes: NULL pointers, n < 0, a misaligned arena; n = 0
 *     does nothing;
 *   - two caller arenas give bit-identical results (nothing else is shared);
 *   - weights written as literals read back bit-exactly (denormals, the
 *     largest float, values that need nine digits);
 *   - a weights blob is refused before it is set, with a wrong size, or
 *     with one byte changed, and once accepted gives the same outputs as
 *     the const-array build (also for BLAS, whose kernels are stored
 *     transposed);
 *   - the header states the planned arena and the lower bound.
 */
#include <check.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/embed.h"
#include "frontend/frontend.h"
#include "ir/interp.h"
#include "passes/pass.h"
#include "testutil.h"

#define SCRATCH DLC_BINARY_DIR "/test_embed.tmp"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_FLAGS "-fsanitize=address,undefined "
#else
#define SAN_FLAGS ""
#endif

typedef int (*PredictFn)(const float *, float *);
typedef int (*BatchFn)(const float *, float *, int);
typedef int (*PredictRFn)(void *, const float *, float *);
typedef int (*BatchRFn)(void *, const float *, float *, int);
typedef int (*SetWeightsFn)(const void *, size_t);

/* A loaded embedded build. */
typedef struct Built {
    void *so;
    PredictFn predict;
    BatchFn batch;
    PredictRFn predict_r;
    BatchRFn batch_r;
    SetWeightsFn set_weights;  /* weights-file builds only */
    char dir[512];
} Built;

static uint64_t rng_state = 99;
static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

/* Compiles .nn source in infer mode, planned for max_batch with external leaves. */
static Graph *compile(Arena *a, const char *name, const char *src, int64_t max_batch)
{
    SrcFile *f = srcfile_from_string(a, name, src, strlen(src));
    Graph *g = nn_compile(a, f, MODE_INFER);
    PassOptions po = {0};
    po.max_batch = max_batch;
    po.external_leaves = true;
    po.fuse_regions = true;
    g->max_batch = max_batch;
    pass_run_pipeline(g, &po, NULL);
    return g;
}

/* Weights: the initializers, then every value replaced by a random one
 * (biases included, so that they matter). */
static Weights *random_weights(const Graph *g)
{
    Weights *w = weights_init(g, 1);
    for (int i = 0; i < w->n; i++) {
        int64_t cnt = tt_numel(&w->leaf[i]->type, 1);
        for (int64_t k = 0; k < cnt; k++) w->data[i][k] = (float)(rnd() - 0.5);
    }
    return w;
}

static void *sym(void *so, const char *prefix, const char *name)
{
    char s[256];
    snprintf(s, sizeof s, "%s%s", prefix, name);
    return dlsym(so, s);
}

/* Emits, compiles (pedantic, warnings are errors) and loads. */
static Built build(const Graph *g, const Weights *w, const char *name, bool blas, bool weights_file)
{
    Built b;
    memset(&b, 0, sizeof b);
    char cpath[600], hpath[600], wpath[600], so[600], log[600], cmd[4096];
    snprintf(b.dir, sizeof b.dir, "%s/%s", SCRATCH, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", b.dir, b.dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cpath, sizeof cpath, "%s/%s.c", b.dir, name);
    snprintf(hpath, sizeof hpath, "%s/%s.h", b.dir, name);
    snprintf(wpath, sizeof wpath, "%s/%s.weights", b.dir, name);
    snprintf(so, sizeof so, "%s/%s.so", b.dir, name);
    snprintf(log, sizeof log, "%s/cc.log", b.dir);
    FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w"), *wf = weights_file ? fopen(wpath, "wb") : NULL;
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(h);
    EmbedOptions eo = {name, blas, weights_file, w};
    ck_assert_int_eq(codegen_emit_embed(g, &eo, c, h, wf), 0);
    fclose(c);
    fclose(h);
    if (wf) fclose(wf);
    snprintf(cmd, sizeof cmd,
             "cc -std=c99 -O1 -Wall -Wextra -pedantic -Werror -fPIC -shared " SAN_FLAGS
             "-I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/include/openblas '%s' %s -lm -o '%s' > '%s' 2>&1",
             cpath, blas ? "-lopenblas" : "", so, log);
    tu_compile(cmd, log, name, "the embedded C");
    b.so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(b.so != NULL, "dlopen %s: %s", so, dlerror());
    *(void **)&b.predict = sym(b.so, name, "_predict");
    *(void **)&b.batch = sym(b.so, name, "_predict_batch");
    *(void **)&b.predict_r = sym(b.so, name, "_predict_r");
    *(void **)&b.batch_r = sym(b.so, name, "_predict_batch_r");
    *(void **)&b.set_weights = sym(b.so, name, "_set_weights");
    ck_assert(b.predict && b.batch && b.predict_r && b.batch_r);
    ck_assert(weights_file == (b.set_weights != NULL));
    return b;
}

/* The interpreter's output 0 for n samples of x, with weights w. */
static double *interpret(const Graph *g, const Weights *w, const float *x, int64_t n)
{
    Interp *it = interp_new(g, n, 1);
    for (int i = 0; i < w->n; i++) {
        double *d = interp_buf(it, w->leaf[i]);
        for (int64_t k = 0; k < tt_numel(&w->leaf[i]->type, 1); k++) d[k] = w->data[i][k];
    }
    const Node *in = NULL;
    for (int i = 0; i < g->nnodes && !in; i++)
        if (g->nodes[i]->op == OP_INPUT) in = g->nodes[i];
    double *xi = interp_buf(it, in);
    for (int64_t k = 0; k < interp_numel(it, in); k++) xi[k] = x[k];
    interp_run(it);
    const Node *out = g->outputs[0].node;
    int64_t cnt = interp_numel(it, out);
    double *r = malloc(sizeof(double) * (size_t)cnt);
    memcpy(r, interp_buf(it, out), sizeof(double) * (size_t)cnt);
    interp_free(it);
    return r;
}

static void compare(const char *what, const float *got, const double *want, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-4 + 1e-3 * fabs(want[i]), "%s[%lld]: embedded %.9g, interpreter %.9g",
                      what, (long long)i, (double)got[i], want[i]);
}

static const char *const mlp_src =
    "model emb\n"
    "input x: f32[N, 3, 5]\n"
    "h = dense(flatten(x), 9, activation=relu)\n"
    "t = dense(h, 6, activation=tanh)\n"
    "logits = dense(t, 4)\n"
    "output probs = softmax(logits)\n";

/* predict, predict_batch (chunked), the _r variants against the interpreter. */
static void check_against_interpreter(bool blas, int64_t max_batch)
{
    Arena a;
    arena_init(&a);
    Graph *g = compile(&a, "emb.nn", mlp_src, max_batch);
    Weights *w = random_weights(g);
    char name[64];
    snprintf(name, sizeof name, "emb_%s_%lld", blas ? "blas" : "loops", (long long)max_batch);
    Built b = build(g, w, name, blas, false);
    enum { N = 7, IN = 15, OUT = 4 };
    float x[N * IN], y[N * OUT], y1[OUT];
    for (int i = 0; i < N * IN; i++) x[i] = (float)(2 * rnd() - 1);
    double *want = interpret(g, w, x, N);
    ck_assert_int_eq(b.batch(x, y, N), 0);
    compare("predict_batch", y, want, N * OUT);
    for (int s = 0; s < N; s++) {
        ck_assert_int_eq(b.predict(x + s * IN, y1), 0);
        compare("predict", y1, want + s * OUT, OUT);
    }
    float *arena = malloc((size_t)g->arena_bytes + 64);
    memset(y, 0, sizeof y);
    ck_assert_int_eq(b.batch_r(arena, x, y, N), 0);
    compare("predict_batch_r", y, want, N * OUT);
    ck_assert_int_eq(b.predict_r(arena, x + IN, y1), 0);
    compare("predict_r", y1, want + OUT, OUT);
    free(arena);
    free(want);
    dlclose(b.so);
    arena_free(&a);
}

START_TEST(loops_batch1)
{
    check_against_interpreter(false, 1);
}
END_TEST

START_TEST(loops_batch3)
{
    check_against_interpreter(false, 3);
}
END_TEST

START_TEST(blas_batch1)
{
    check_against_interpreter(true, 1);
}
END_TEST

START_TEST(blas_batch3)
{
    check_against_interpreter(true, 3);
}
END_TEST

/* Error codes, n = 0, and two arenas giving the same bits. */
START_TEST(api_errors_and_reentrancy)
{
    Arena a;
    arena_init(&a);
    Graph *g = compile(&a, "emb.nn", mlp_src, 2);
    Weights *w = random_weights(g);
    Built b = build(g, w, "emb_api", false, false);
    float x[3 * 15], y[3 * 4], z[3 * 4];
    for (int i = 0; i < 45; i++) x[i] = (float)rnd();
    ck_assert_int_eq(b.predict(NULL, y), -1);
    ck_assert_int_eq(b.predict(x, NULL), -1);
    ck_assert_int_eq(b.batch(x, y, -1), -2);
    ck_assert_int_eq(b.batch_r(NULL, x, y, 1), -1);
    float *arena1 = malloc((size_t)g->arena_bytes + 64), *arena2 = malloc((size_t)g->arena_bytes + 64);
    ck_assert_int_eq(b.predict_r((char *)arena1 + 1, x, y), -3);
    y[0] = 42;
    ck_assert_int_eq(b.batch(x, y, 0), 0);
    ck_assert(y[0] == 42); /* n = 0 writes nothing */
    ck_assert_int_eq(b.batch_r(arena1, x, y, 3), 0);
    memset(arena2, 0xff, (size_t)g->arena_bytes); /* garbage: the kernels must not read it before writing */
    ck_assert_int_eq(b.batch_r(arena2, x, z, 3), 0);
    ck_assert(memcmp(y, z, sizeof y) == 0);
    ck_assert_int_eq(b.batch(x, z, 3), 0);
    ck_assert(memcmp(y, z, sizeof y) == 0);
    free(arena1);
    free(arena2);
    dlclose(b.so);
    arena_free(&a);
}
END_TEST

/* Weights written as literals read back bit-exactly: y = x @ w with x one
 * of the unit vectors gives a row of w, exactly (0 * w + 1 * w). */
START_TEST(weight_literals_exact)
{
    static const char *src = "model lit\ninput x: f32[N, 4]\nparam w: f32[4, 3] = zeros()\noutput y = x @ w\n";
    Arena a;
    arena_init(&a);
    Graph *g = compile(&a, "lit.nn", src, 1);
    Weights *w = weights_init(g, 0);
    const float v[12] = {0.1f, 1.0f / 3.0f, FLT_MAX, FLT_MIN, 1e-45f, -2.5e-40f, 16777215.0f, -123456.789f,
                         0.3f, 3.14159274f, -FLT_MAX, 1.00000012f};
    memcpy(w->data[0], v, sizeof v);
    for (int blas = 0; blas < 2; blas++) {
        Built b = build(g, w, blas ? "lit_blas" : "lit", blas, false);
        for (int r = 0; r < 4; r++) {
            float x[4] = {0, 0, 0, 0}, y[3];
            x[r] = 1;
            ck_assert_int_eq(b.predict(x, y), 0);
            for (int j = 0; j < 3; j++)
                ck_assert_msg(memcmp(&y[j], &v[r * 3 + j], sizeof(float)) == 0, "w[%d][%d]: got %a, want %a", r, j,
                              (double)y[j], (double)v[r * 3 + j]);
        }
        dlclose(b.so);
    }
    arena_free(&a);
}
END_TEST

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 8);
    ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The blob: refused until set, refused when wrong, same outputs once set. */
START_TEST(weights_blob)
{
    Arena a;
    arena_init(&a);
    Graph *g = compile(&a, "emb.nn", mlp_src, 1);
    Weights *w = random_weights(g);
    Built lit = build(g, w, "emb_lit", false, false);
    Built b = build(g, w, "emb_blob", false, true);
    float x[15], y[4], z[4];
    for (int i = 0; i < 15; i++) x[i] = (float)rnd();
    ck_assert_int_eq(b.predict(x, y), -4);
    char path[700];
    snprintf(path, sizeof path, "%s/emb_blob.weights", b.dir);
    size_t len;
    unsigned char *blob = read_all(path, &len);
    ck_assert_int_eq(b.set_weights(NULL, len), -1);
    ck_assert_int_eq(b.set_weights(blob, len - 4), -4);
    blob[len - 1] ^= 1;
    ck_assert_int_eq(b.set_weights(blob, len), -4);
    ck_assert_int_eq(b.predict(x, y), -4);
    blob[len - 1] ^= 1;
    ck_assert_int_eq(b.set_weights(blob, len), 0);
    ck_assert_int_eq(b.predict(x, y), 0);
    ck_assert_int_eq(lit.predict(x, z), 0);
    ck_assert(memcmp(y, z, sizeof y) == 0);
    free(blob);
    /* the BLAS build's blob holds its kernels transposed: the same outputs
       as its const arrays (both within float rounding of the loops') */
    Built blit = build(g, w, "emb_blas_lit", true, false);
    Built bb = build(g, w, "emb_blas_blob", true, true);
    snprintf(path, sizeof path, "%s/emb_blas_blob.weights", bb.dir);
    blob = read_all(path, &len);
    ck_assert_int_eq(bb.set_weights(blob, len), 0);
    ck_assert_int_eq(bb.predict(x, y), 0);
    ck_assert_int_eq(blit.predict(x, z), 0);
    ck_assert(memcmp(y, z, sizeof y) == 0);
    double *want = interpret(g, w, x, 1);
    compare("BLAS blob predict", y, want, 4);
    free(want);
    free(blob);
    dlclose(bb.so);
    dlclose(blit.so);
    dlclose(b.so);
    dlclose(lit.so);
    arena_free(&a);
}
END_TEST

/* The header states the plan's arena and lower bound, and the sizes. */
START_TEST(header_sizes)
{
    Arena a;
    arena_init(&a);
    Graph *g = compile(&a, "emb.nn", mlp_src, 1);
    Weights *w = random_weights(g);
    Built b = build(g, w, "emb_hdr", false, false);
    char path[700], want[256];
    snprintf(path, sizeof path, "%s/emb_hdr.h", b.dir);
    size_t len;
    char *h = (char *)read_all(path, &len);
    h[len] = '\0';
    snprintf(want, sizeof want, "#define EMB_HDR_ARENA_BYTES %lld     /* activations, as planned (lower bound %lld) */",
             (long long)g->arena_bytes, (long long)g->arena_lower_bound);
    ck_assert_msg(strstr(h, want), "no '%s' in the header", want);
    ck_assert(strstr(h, "#define EMB_HDR_INPUT_SIZE 15 "));
    ck_assert(strstr(h, "#define EMB_HDR_OUTPUT_SIZE 4 "));
    ck_assert(strstr(h, "#define EMB_HDR_MACS 213 ")); /* 15*9 + 9*6 + 6*4 */
    ck_assert(strstr(h, "#define EMB_HDR_WEIGHT_BYTES 928 ")); /* (135+9 + 54+6 + 24+4) floats */
    /* activations only: the hidden layers and the logits, never the input */
    ck_assert_int_le(g->arena_bytes, 4 * 64);
    free(h);
    dlclose(b.so);
    arena_free(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("embed");
    TCase *t = tcase_create("embed");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, loops_batch1);
    tcase_add_test(t, loops_batch3);
    tcase_add_test(t, blas_batch1);
    tcase_add_test(t, blas_batch3);
    tcase_add_test(t, api_errors_and_reentrancy);
    tcase_add_test(t, weight_literals_exact);
    tcase_add_test(t, weights_blob);
    tcase_add_test(t, header_sizes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
