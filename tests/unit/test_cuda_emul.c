/* test_cuda_emul.c - the CUDA generator's output, run on the host, against
 * the C generator's.
 *
 * No GPU is needed: the generated NAME.cu is compiled by the host C++
 * compiler with DLC_CUDA_EMUL defined, which makes runtime/cuda/dlrt_cuda.h
 * turn every kernel launch into a loop over blocks and threads around the
 * same kernel source, cuBLAS's sgemm into a column-major reference loop
 * (so the row-major operand swap is exercised), and device memory into
 * host memory.  Every generated kernel qualifies: no thread of a dlc kernel
 * reads what another writes.
 *
 * For small models covering the kernels (forward, losses, gradients, every
 * optimizer, dropout, broadcasting, reductions, shape ops) and for every
 * model under models/, in both modes:
 *   1. compile the source, run the pipeline with max batch 4, and emit both
 *      C and CUDA from the same planned graph;
 *   2. build each into a shared object (-Wall -Wextra -Werror: warning-free
 *      in both dialects) and dlopen them;
 *   3. init_params with the same seed (both draw on the host: identical);
 *   4. random inputs with n = 3: predict (infer mode), or eval_step and two
 *      train_steps (train mode), comparing the loss, the metrics and every
 *      parameter and optimizer slot after each step.
 * nvcc itself is run by the lit tests tests/lit/cuda/build_models.test
 * (every model of models/) and tests/lit/cuda/kernels.nn (the shape ops
 * and losses of train_losses_shapes) through `dlc build --target cuda`.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "codegen/cuda_emit.h"
#include "codegen/targets.h"
#include "frontend/frontend.h"
#include "passes/pass.h"
#include "runtime/dlrt.h"
#include "testutil.h"

#define SCRATCH DLC_BINARY_DIR "/test_cuda_emul.tmp"
#define RTOL 1e-3
#define ATOL 1e-4   /* GEMMs sum in another order; RMSprop amplifies that where a gradient cancels */
#define N_RUN 3

#if defined(__SANITIZE_ADDRESS__)
#define SAN_FLAGS "-fsanitize=address,undefined "
#else
#define SAN_FLAGS ""
#endif

static uint64_t rng_state = 4242;
static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

/* Compares n floats of the emulated CUDA build with the C build's. */
static void compare(const char *model, const char *what, const float *cuda, const float *c, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)cuda[i] - (double)c[i]) <= ATOL + RTOL * fabs((double)c[i])))
            ck_abort_msg("%s: %s[%lld]: CUDA (emulated) %.9g, C %.9g", model, what, (long long)i, (double)cuda[i],
                         (double)c[i]);
}

/* Emits the unit of `target` for g into SCRATCH/<name>_<c|cuda>/, builds a
 * shared object and loads it; *m receives the model. */
static void *build_so(Graph *g, const char *name, Target target, const dlrt_model **m)
{
    bool cuda = target == TARGET_CUDA;
    char dir[512], src[700], hpath[700], so[700], log[700], cmd[4096];
    snprintf(dir, sizeof dir, "%s/%s_%s", SCRATCH, name, cuda ? "cuda" : "c");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(src, sizeof src, "%s/%s.%s", dir, name, cuda ? "cu" : "c");
    snprintf(hpath, sizeof hpath, "%s/%s.h", dir, name);
    snprintf(so, sizeof so, "%s/%s.so", dir, name);
    snprintf(log, sizeof log, "%s/cc.log", dir);
    FILE *c = fopen(src, "w"), *h = fopen(hpath, "w");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(h);
    CodegenOptions co = {target, name, false, true};
    if (cuda) ck_assert_int_eq(cuda_codegen_emit(g, &co, c, h), 0);
    else ck_assert_int_eq(codegen_emit(g, &co, c, h), 0);
    fclose(c);
    fclose(h);
    if (cuda)
        snprintf(cmd, sizeof cmd,
                 "c++ -x c++ -std=c++17 -DDLC_CUDA_EMUL -O1 -Wall -Wextra -Werror -fPIC -shared " SAN_FLAGS
                 "-I'%s' -I" DLC_SOURCE_DIR "/runtime '%s' -x none " DLC_BINARY_DIR "/libdlrt.a -lz -lm -o '%s' > '%s' 2>&1",
                 dir, src, so, log);
    else
        snprintf(cmd, sizeof cmd,
                 "cc -std=c99 -O1 -Wall -Wextra -Werror -Wno-unknown-pragmas -fPIC -shared " SAN_FLAGS
                 "-I'%s' -I" DLC_SOURCE_DIR "/runtime -I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/include/openblas "
                 "'%s' " DLC_BINARY_DIR "/libdlrt.a -lopenblas -lz -lm -o '%s' > '%s' 2>&1",
                 dir, src, so, log);
    tu_compile(cmd, log, name, cuda ? "the generated CUDA (host emulation)" : "the generated C");
    void *hnd = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(hnd != NULL, "dlopen %s: %s", so, dlerror());
    char sym[256];
    snprintf(sym, sizeof sym, "%s_model", name);
    *m = (const dlrt_model *)dlsym(hnd, sym);
    ck_assert_msg(*m != NULL, "no symbol %s", sym);
    return hnd;
}

static int64_t tensor_numel(const dlrt_tensor *t)
{
    int64_t k = 1;
    for (int d = 0; d < t->rank; d++) k *= t->dims[d];
    return k;
}

/* Every persistent tensor of the two builds agrees. */
static void compare_tensors(const char *name, const dlrt_model *mc, const dlrt_model *mg, const char *when)
{
    ck_assert_int_eq(mc->nparams + mc->nstate, mg->nparams + mg->nstate);
    for (int k = 0; k < mc->nparams + mc->nstate; k++) {
        ck_assert_str_eq(mc->tensors[k].name, mg->tensors[k].name);
        if (mc->tensors[k].dtype != DLRT_F32) continue;
        char what[512];
        snprintf(what, sizeof what, "%s %s", when, mc->tensors[k].name);
        compare(name, what, mg->tensors[k].data, mc->tensors[k].data, tensor_numel(&mc->tensors[k]));
    }
}

/* The steps over a data set kept by the CUDA build (bind_data, then only
 * row numbers: train_step_rows, eval_step_rows) against the C build's
 * steps on the same samples gathered on the host: the training split as
 * bytes (read as byte / 255), the test split as floats. */
static void check_rows(const char *name, const dlrt_model *mc, const dlrt_model *mg, const void *labels)
{
    enum { COUNT = 5 };
    const int64_t rows_train[3] = {4, 1, 4}, rows_test[2] = {2, 0};
    int64_t in = mc->in_size, ls = mc->label_size;
    uint8_t *xb = malloc((size_t)(COUNT * in) + 1);
    float *xf = malloc(sizeof(float) * (size_t)(COUNT * in) + 1), *xg = malloc(sizeof(float) * (size_t)(3 * in) + 1);
    uint32_t yg[3 * 16];
    ck_assert_int_le(ls, 16);
    for (int64_t i = 0; i < COUNT * in; i++) {
        xb[i] = (uint8_t)(rnd() * 256);
        xf[i] = (float)(rnd() * 2 - 1);
    }
    ck_assert_int_eq(mg->bind_data(0, COUNT, xb, NULL, labels), 0);
    ck_assert_int_eq(mg->bind_data(1, COUNT, NULL, xf, labels), 0);
    const uint32_t *y = labels;
    float lc, lg, metc[16], metg[16];
    for (int k = 0; k < 3; k++) { /* the C build's batch, gathered as the runtime does */
        for (int64_t j = 0; j < in; j++) xg[k * in + j] = (float)xb[rows_train[k] * in + j] / 255.0f;
        for (int64_t j = 0; j < ls; j++) yg[k * ls + j] = y[rows_train[k] * ls + j];
    }
    mc->train_step(xg, yg, 3, dlrt_key(12, 1), &lc, metc);
    mg->train_step_rows(rows_train, 3, dlrt_key(12, 1), &lg, metg);
    compare(name, "train loss (bound bytes)", &lg, &lc, 1);
    compare(name, "train metrics (bound bytes)", metg, metc, mc->nmetrics);
    compare_tensors(name, mc, mg, "after a step over bound rows:");
    for (int k = 0; k < 2; k++) {
        memcpy(xg + k * in, xf + rows_test[k] * in, sizeof(float) * (size_t)in);
        for (int64_t j = 0; j < ls; j++) yg[k * ls + j] = y[rows_test[k] * ls + j];
    }
    mc->eval_step(xg, yg, 2, &lc, metc);
    mg->eval_step_rows(1, rows_test, 2, &lg, metg);
    compare(name, "eval loss (bound floats)", &lg, &lc, 1);
    compare(name, "eval metrics (bound floats)", metg, metc, mc->nmetrics);
    free(xb);
    free(xf);
    free(xg);
}

/* Runs the C and the emulated CUDA build of g side by side. */
static void check_graph(Graph *g, const char *name, double lo, double hi)
{
    const dlrt_model *mc, *mg;
    void *hc = build_so(g, name, TARGET_C, &mc);
    void *hg = build_so(g, name, TARGET_CUDA, &mg);
    ck_assert_int_eq(mc->setup(), 0);
    ck_assert_int_eq(mg->setup(), 0);
    mc->init_params(11);
    mg->init_params(11);
    compare_tensors(name, mc, mg, "init");

    /* 5 samples' worth of labels: check_rows binds them as a data set */
    int64_t nx = N_RUN * mc->in_size, ny = 5 * (mc->label_size > 0 ? mc->label_size : 1);
    float *x = calloc((size_t)nx, sizeof(float)), *yf = calloc((size_t)ny, sizeof(float));
    int32_t *yi = calloc((size_t)ny, sizeof(int32_t));
    int classes = mc->out_size > 1 ? (int)mc->out_size : 2;
    for (int64_t i = 0; i < nx; i++) x[i] = (float)(lo + (hi - lo) * rnd());
    for (int64_t i = 0; i < ny; i++) {
        yf[i] = (float)rnd();
        yi[i] = (int32_t)(rnd() * classes);
    }
    const void *yv = mc->label_dtype == DLRT_I32 ? (const void *)yi : (const void *)yf;

    if (mc->predict) {
        int64_t no = N_RUN * mc->out_size;
        float *oc = calloc((size_t)no, sizeof(float)), *og = calloc((size_t)no, sizeof(float));
        mc->predict(x, oc, N_RUN);
        mg->predict(x, og, N_RUN);
        compare(name, "predict", og, oc, no);
        free(oc);
        free(og);
    }
    if (mc->train_step) {
        float lc, lg, metc[16], metg[16];
        ck_assert_int_le(mc->nmetrics, 16);
        mc->eval_step(x, yv, N_RUN, &lc, metc);
        mg->eval_step(x, yv, N_RUN, &lg, metg);
        compare(name, "eval loss", &lg, &lc, 1);
        compare(name, "eval metrics", metg, metc, mc->nmetrics);
        for (uint64_t step = 1; step <= 2; step++) {
            mc->train_step(x, yv, N_RUN, dlrt_key(11, step), &lc, metc);
            mg->train_step(x, yv, N_RUN, dlrt_key(11, step), &lg, metg);
            compare(name, "train loss", &lg, &lc, 1);
            compare(name, "train metrics", metg, metc, mc->nmetrics);
            compare_tensors(name, mc, mg, step == 1 ? "after step 1:" : "after step 2:");
        }
        if (mc->set_learning_rate) {
            double lr = mc->learning_rate > 0 ? mc->learning_rate * 0.5 : 0.01;
            mc->set_learning_rate(lr);
            mg->set_learning_rate(lr);
            mc->train_step(x, yv, 2, dlrt_key(11, 3), &lc, metc); /* a second batch size */
            mg->train_step(x, yv, 2, dlrt_key(11, 3), &lg, metg);
            compare(name, "train loss (n=2, half the learning rate)", &lg, &lc, 1);
            compare_tensors(name, mc, mg, "after a step with n=2:");
        }
        check_rows(name, mc, mg, yv);
    }
    free(x);
    free(yf);
    free(yi);
    mc->teardown();
    mg->teardown();
    dlclose(hc);
    dlclose(hg);
}

/* Compiles .nn source through the whole pipeline, planned for batches of
 * up to 4. */
static Graph *compile_source(Arena *a, const char *name, const char *src, GraphMode mode, bool fuse)
{
    Graph *g = nn_compile(a, srcfile_from_string(a, name, src, strlen(src)), mode);
    PassOptions po = {0};
    target_pass_options(target_info(TARGET_CUDA), g, 4, &po); /* the C unit built from it ignores the launches */
    po.no_fuse = !fuse;
    pass_run_pipeline(g, &po, NULL);
    return g;
}

static void check_source(const char *name, const char *src, GraphMode mode, double lo, double hi, bool fuse)
{
    Arena a;
    arena_init(&a);
    check_graph(compile_source(&a, name, src, mode, fuse), name, lo, hi);
    arena_free(&a);
}

START_TEST(forward_elementwise)
{
    check_source("e_unary",
                 "model e_unary\ninput x: f32[N, 5]\n"
                 "output y = concat(neg(x), exp(x), abs(x), sign(x), square(x), tanh(x), sigmoid(x), relu(x),"
                 " leaky_relu(x), elu(x, alpha=0.5), gelu(x), log(abs(x) + 1), sqrt(abs(x)), axis=-1)\n",
                 MODE_INFER, -2.0, 2.0, true);
    check_source("e_binary",
                 "model e_binary\ninput x: f32[N, 3, 4]\n"
                 "param a: f32[4] = uniform(low=0.5, high=1.5)\nparam b: f32[3, 1] = uniform(low=0.5, high=1.5)\n"
                 "output y = concat(x + a, b - x, x * x, x / 2.5, a / (x * x + 1), pow(abs(x) + 0.5, 1.5),"
                 " maximum(x, a), x * b, axis=-1)\n",
                 MODE_INFER, -2.0, 2.0, true);
}
END_TEST

START_TEST(forward_reductions_shapes)
{
    check_source("e_reduce",
                 "model e_reduce\ninput x: f32[N, 3, 4]\n"
                 "output y = concat(sum(x, axes=[1]), mean(x, axes=[2]), flatten(max(x, axes=[1, 2], keepdims=true)),"
                 " sum(x, axes=[-1]), max(x, axes=[1]), axis=-1)\n",
                 MODE_INFER, -2.0, 2.0, true);
    /* over the batch: in the loss (an output may not combine samples) */
    check_source("e_reduce_batch",
                 "model e_reduce_batch\ninput x: f32[N, 3, 4]\ninput t: f32[N, 12]\n"
                 "param w: f32[12] = uniform(low=0.5, high=1.5)\noutput y = flatten(x) * w\n"
                 "loss = mean_squared_error((flatten(x) + flatten(mean(x, axes=[0], keepdims=true))) * w"
                 " + flatten(x) * sum(x), t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, -2.0, 2.0, true);
    check_source("e_shapes",
                 "model e_shapes\ninput x: f32[N, 3, 4]\n"
                 "output y = concat(flatten(transpose(x, perm=[0, 2, 1])), reshape(x, shape=[-1, 12]),"
                 " flatten(softmax(x, axis=1)), flatten(log_softmax(x)), axis=-1)\n",
                 MODE_INFER, -3.0, 3.0, true);
    check_source("e_mm",
                 "model e_mm\ninput x: f32[N, 6]\nparam w: f32[6, 5] = glorot_uniform()\n"
                 "param v: f32[5, 6] = glorot_uniform()\n"
                 "output y = concat(x @ w, matmul(x, v, trans_b=true), axis=-1)\n",
                 MODE_INFER, -1.0, 1.0, true);
}
END_TEST

START_TEST(train_classifiers)
{
    check_source("e_sce",
                 "model e_sce\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                 "h = dense(x, 5, activation=relu)\nlogits = dense(h, 3)\noutput probs = softmax(logits)\n"
                 "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                 "metric accuracy(probs, label)\ntrain {\n optimizer = adam(learning_rate=0.01)\n batch_size = 4\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_scep",
                 "model e_scep\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                 "output probs = softmax(dense(x, 4, activation=tanh))\n"
                 "loss = sparse_categorical_crossentropy(probs, label)\nmetric accuracy(probs, label)\n"
                 "train {\n optimizer = rmsprop(learning_rate=0.01, momentum=0.5, centered=1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_cce",
                 "model e_cce\ninput x: f32[N, 5]\ninput t: f32[N, 3]\n"
                 "logits = dense(x, 3)\noutput probs = softmax(logits)\n"
                 "loss = categorical_crossentropy(logits, t, from_logits=true)\nmetric accuracy(probs, t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.1, momentum=0.9, nesterov=1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_ccep",
                 "model e_ccep\ninput x: f32[N, 5]\ninput t: f32[N, 3]\n"
                 "output probs = softmax(dense(x, 3, activation=sigmoid))\n"
                 "loss = categorical_crossentropy(probs, t)\ntrain {\n optimizer = adagrad(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
}
END_TEST

START_TEST(train_regression_dropout)
{
    check_source("e_bce",
                 "model e_bce\ninput x: f32[N, 4]\ninput t: f32[N, 1]\n"
                 "logits = dense(x, 1)\noutput p = sigmoid(logits)\n"
                 "loss = binary_crossentropy(logits, t, from_logits=true)\nmetric accuracy(p, t)\n"
                 "train {\n optimizer = adagrad(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_mse",
                 "model e_mse\ninput x: f32[N, 3, 4]\ninput t: f32[N, 2]\n"
                 "param w: f32[4] = uniform(low=0.5, high=1.5)\nparam v: f32[3, 1] = uniform(low=-0.5, high=0.5)\n"
                 "param w2: f32[12, 2] = glorot_uniform()\n"
                 "z = tanh(x * w) + sigmoid(x - v) - exp(x / 4) + square(x) * 0.1 + sqrt(abs(x) + 1)\n"
                 "e = elu(z) * gelu(z) + leaky_relu(z) + relu(z) / (abs(z) + 1) + log(abs(z) + 1) + maximum(z, x)\n"
                 "m = max(e, axes=[2])\nk = transpose(e, perm=[0, 2, 1])\n"
                 "u = concat(softmax(m), log_softmax(m), mean(k, axes=[2]), sum(e, axes=[1]), flatten(x) @ w2, axis=-1)\n"
                 "output out = dense(u, 2)\nloss = mean_squared_error(out, t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.05)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_drop",
                 "model e_drop\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                 "h = dropout(dense(x, 16, activation=relu), rate=0.5)\nlogits = dense(h, 3)\n"
                 "output probs = softmax(logits)\n"
                 "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                 "metric accuracy(probs, label)\ntrain {\n optimizer = sgd(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_unfused",
                 "model e_unfused\ninput x: f32[N, 3, 4]\ninput t: f32[N, 1]\n"
                 "param w: f32[4] = uniform(low=0.5, high=1.5)\n"
                 "z = tanh(x * w) + sigmoid(x) - exp(x / 4) + square(x) * 0.1\n"
                 "output out = dense(flatten(elu(z) * gelu(z) + relu(z)), 1)\nloss = mean_squared_error(out, t)\n"
                 "train {\n optimizer = rmsprop(learning_rate=0.01)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, false);
}
END_TEST

/* Losses and shape ops beyond [N, C]: rank-3 losses (more rows than the
 * batch: the scratch slot is sized for them), concat and its slices along
 * a middle axis, transposes of parameters (the default permutation), max
 * and its gradient over a middle axis, over the batch axis, and over
 * groups with ties (sign(x) * w: +-w along the axis), whose dy must reach
 * the first maximum only;
 * binary crossentropy on probabilities, several losses in one. */
START_TEST(train_losses_shapes)
{
    check_source("e_seq",
                 "model e_seq\ninput x: f32[N, 3, 4]\ninput t: f32[N, 3, 5]\n"
                 "param a: f32[4, 3] = uniform(low=0.5, high=1.5)\nparam b: f32[3, 4] = uniform(low=-0.5, high=0.5)\n"
                 "h = x * transpose(a) + b\nc = concat(h, tanh(h), axis=1)\ne = h + max(c, axes=[1], keepdims=true)\n"
                 "z = concat(e, max(relu(e - 0.5), axes=[2], keepdims=true), axis=-1)\noutput probs = softmax(z)\n"
                 "loss = categorical_crossentropy(z, t, from_logits=true) + categorical_crossentropy(probs, t)\n"
                 "train {\n optimizer = adam(learning_rate=0.01)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
    check_source("e_seq2",
                 "model e_seq2\ninput x: f32[N, 3, 4]\ninput t: f32[N, 3, 4]\n"
                 "param a: f32[3, 4] = uniform(low=0.5, high=1.5)\nparam w: f32[3, 1] = uniform(low=0.5, high=1.5)\n"
                 "h = x * a + max(x * a, axes=[0]) + max(sign(x) * w, axes=[2], keepdims=true)\n"
                 "output p = sigmoid(h)\n"
                 "loss = binary_crossentropy(p, t) + binary_crossentropy(h, t, from_logits=true) + mean_squared_error(h, t)\n"
                 "metric mean_squared_error(p, t)\ntrain {\n optimizer = sgd(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, -1.0, 1.0, true);
}
END_TEST

/* ---- the training program end to end ------------------------------------ */

/* Writes an IDX file of unsigned bytes with the given dimensions. */
static void write_idx(const char *path, int rank, const int *dims, const uint8_t *data)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    uint8_t head[4] = {0, 0, 0x08, (uint8_t)rank};
    fwrite(head, 1, 4, f);
    size_t n = 1;
    for (int d = 0; d < rank; d++) {
        uint8_t be[4] = {(uint8_t)(dims[d] >> 24), (uint8_t)(dims[d] >> 16), (uint8_t)(dims[d] >> 8), (uint8_t)dims[d]};
        fwrite(be, 1, 4, f);
        n *= (size_t)dims[d];
    }
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Writes split `prefix` of count random 4x4 images with labels 0..2. */
static void write_split(const char *dir, const char *prefix, int count)
{
    uint8_t *img = malloc((size_t)count * 16), *lab = malloc((size_t)count);
    for (int i = 0; i < count * 16; i++) img[i] = (uint8_t)(rnd() * 256);
    for (int i = 0; i < count; i++) lab[i] = (uint8_t)(rnd() * 3);
    int dims[3] = {count, 4, 4};
    char path[600];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    write_idx(path, 3, dims, img);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    write_idx(path, 1, dims, lab);
    free(img);
    free(lab);
}

/* Stand-ins that fail the test if the runtime takes the path it must not. */
static void host_train_step(const float *x, const void *y, int64_t n, uint64_t k, float *l, float *m)
{
    (void)x, (void)y, (void)n, (void)k, (void)l, (void)m;
    ck_abort_msg("the runtime gathered a training batch on the host for a model that keeps the data");
}
static void host_eval_step(const float *x, const void *y, int64_t n, float *l, float *m)
{
    (void)x, (void)y, (void)n, (void)l, (void)m;
    ck_abort_msg("the runtime gathered an evaluation batch on the host for a model that keeps the data");
}
static int refuse_bind(int split, int64_t count, const uint8_t *xb, const float *x, const void *y)
{
    (void)split, (void)count, (void)xb, (void)x, (void)y;
    return -1;
}
static void rows_train_step(const int64_t *r, int64_t n, uint64_t k, float *l, float *m)
{
    (void)r, (void)n, (void)k, (void)l, (void)m;
    ck_abort_msg("the runtime passed rows of a data set the model refused");
}

/* Runs `prog train` of model m over the data in dir; returns the loss of
 * every step from its --trace (at most cap). */
static int run_train(const dlrt_model *m, const char *dir, const char *trace, double *loss, int cap)
{
    char *argv[] = {"prog", "train", "--data", (char *)dir, "--epochs", "2", "--seed", "5", "--quiet",
                    "--trace", (char *)trace, NULL};
    ck_assert_int_eq(dlrt_main(m, 11, argv), 0);
    FILE *f = fopen(trace, "r");
    ck_assert_ptr_nonnull(f);
    char head[64];
    ck_assert_ptr_nonnull(fgets(head, sizeof head, f));
    ck_assert_str_eq(head, "step,loss\n");
    int k = 0;
    long long step;
    while (k < cap && fscanf(f, "%lld,%lf", &step, &loss[k]) == 2) {
        ck_assert_int_eq(step, k + 1);
        k++;
    }
    fclose(f);
    return k;
}

/* The runtime's train command with the emulated CUDA build: the data sets
 * go to the model once (bind_data) and each step passes row numbers; the
 * losses match the C program's, and match exactly those of the same CUDA
 * build fed host batches (bind_data refused, or DLRT_HOST_DATA set). */
START_TEST(program_keeps_data)
{
    static const char src[] = "model e_prog\ninput x: f32[N, 4, 4]\ninput label: i32[N]\n"
                              "h = dense(flatten(x), 8, activation=relu)\nlogits = dense(h, 3)\n"
                              "output probs = softmax(logits)\n"
                              "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                              "metric accuracy(probs, label)\n"
                              "train {\n optimizer = sgd(learning_rate=0.1, momentum=0.9)\n batch_size = 4\n}\n";
    Arena a;
    arena_init(&a);
    Graph *g = compile_source(&a, "e_prog", src, MODE_TRAIN, true);
    const dlrt_model *mc, *mg;
    void *hc = build_so(g, "e_prog", TARGET_C, &mc);
    void *hg = build_so(g, "e_prog", TARGET_CUDA, &mg);
    char dir[512];
    tu_make_tmpdir(dir, sizeof dir, "cuda_emul_data");
    write_split(dir, "train", 22); /* 5 full batches and one of 2 */
    write_split(dir, "t10k", 9);
    enum { CAP = 64 };
    double lc[CAP], lg[CAP], lh[CAP];
    int nc = run_train(mc, dir, tu_path(dir, "c.trace"), lc, CAP);
    dlrt_model rows = *mg; /* must take the rows path */
    rows.train_step = host_train_step;
    rows.eval_step = host_eval_step;
    int ng = run_train(&rows, dir, tu_path(dir, "rows.trace"), lg, CAP);
    dlrt_model host = *mg; /* must take host batches */
    host.bind_data = refuse_bind;
    host.train_step_rows = rows_train_step;
    int nh = run_train(&host, dir, tu_path(dir, "host.trace"), lh, CAP);
    dlrt_model env = *mg; /* DLRT_HOST_DATA=1: host batches though the model could keep the data */
    env.train_step_rows = rows_train_step;
    ck_assert_int_eq(setenv("DLRT_HOST_DATA", "1", 1), 0);
    double le[CAP];
    int ne = run_train(&env, dir, tu_path(dir, "env.trace"), le, CAP);
    ck_assert_int_eq(unsetenv("DLRT_HOST_DATA"), 0);
    ck_assert_int_eq(nc, 12);
    ck_assert_int_eq(ng, nc);
    ck_assert_int_eq(nh, nc);
    ck_assert_int_eq(ne, nc);
    for (int i = 0; i < nc; i++) {
        float fg = (float)lg[i], fc = (float)lc[i];
        compare("e_prog", "step loss (CUDA rows vs C)", &fg, &fc, 1);
        ck_assert_msg(lg[i] == lh[i], "step %d: loss %.9g over bound rows, %.9g from host batches", i + 1, lg[i], lh[i]);
        ck_assert_msg(le[i] == lh[i], "step %d: loss %.9g with DLRT_HOST_DATA, %.9g from host batches", i + 1, le[i], lh[i]);
    }
    tu_remove_tmpdir(dir);
    dlclose(hc);
    dlclose(hg);
    arena_free(&a);
}
END_TEST

/* A caller's bug in a step over bound rows stops the program (exit 1)
 * before any copy or kernel goes out of bounds: _i picks the bug. */
START_TEST(rows_misuse)
{
    static const char src[] = "model e_misuse\ninput x: f32[N, 3]\ninput label: i32[N]\n"
                              "logits = dense(x, 2)\nloss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                              "train {\n optimizer = sgd(learning_rate=0.1)\n batch_size = 4\n}\n";
    Arena a;
    arena_init(&a);
    Graph *g = compile_source(&a, "e_misuse", src, MODE_TRAIN, true);
    char name[32];
    snprintf(name, sizeof name, "e_misuse%d", _i); /* one build folder per forked case */
    const dlrt_model *m;
    build_so(g, name, TARGET_CUDA, &m);
    ck_assert_int_eq(m->setup(), 0);
    uint8_t xb[6 * 3] = {0};
    int32_t y[6] = {0, 1, 0, 1, 0, 1};
    ck_assert_int_eq(m->bind_data(0, 6, xb, NULL, y), 0);
    int64_t rows[5] = {0, 1, 2, 3, 4};
    float loss, met[1];
    if (_i == 0) rows[2] = 6; /* past the end */
    if (_i == 1) rows[0] = -1;
    int64_t n = _i == 2 ? 5 : 3; /* above max_batch */
    if (_i == 3) m->eval_step_rows(1, rows, 3, &loss, met); /* split 1 was never bound */
    else if (_i == 4) m->eval_step_rows(7, rows, 3, &loss, met);
    else m->train_step_rows(rows, n, 1, &loss, met);
    ck_abort_msg("case %d: the bad call returned", _i);
}
END_TEST

/* Emulates one models/ file in inference and training modes. */
static void emulate_model(const TuModel *m, void *ctx)
{
    (void)ctx;
    for (int mode = 0; mode < 2; mode++) {
        char name[256];
        snprintf(name, sizeof name, "m_%s_%s", m->stem, mode ? "train" : "infer");
        Arena a;
        arena_init(&a);
        Graph *g = model_load(&a, m->path, mode ? MODE_TRAIN : MODE_INFER);
        PassOptions po = {0};
        target_pass_options(target_info(TARGET_CUDA), g, 4, &po);
        pass_run_pipeline(g, &po, NULL);
        check_graph(g, name, 0.0, 1.0);
        arena_free(&a);
    }
}

START_TEST(repository_models)
{
    tu_for_each_model(emulate_model, NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cuda_emul");
    TCase *tc = tcase_create("forward");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, forward_elementwise);
    tcase_add_test(tc, forward_reductions_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, train_classifiers);
    tcase_add_test(tc, train_regression_dropout);
    tcase_add_test(tc, train_losses_shapes);
    tcase_add_test(tc, program_keeps_data);
    tcase_add_loop_exit_test(tc, rows_misuse, 1, 0, 5);
    suite_add_tcase(s, tc);
    tc = tcase_create("models");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, repository_models);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
