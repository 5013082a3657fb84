/* test_codegen.c - the C code generator against the reference interpreter.
 *
 * For each small model below (covering every op kernel, with and without
 * BLAS) and for every model under models/, in both modes:
 *   1. compile the .nn source and run the pipeline with max batch 4;
 *   2. emit C, compile it with cc (-Wall -Wextra -Werror, so the generated
 *      code must be warning-free) into a shared object linked with libdlrt
 *      and OpenBLAS, and dlopen it;
 *   3. check that init_params draws the same parameters as the interpreter
 *      (same counter-based streams), then give both the same values;
 *   4. feed both random inputs with n = 3 < max batch and compare in float
 *      tolerance: predict's output (infer mode), or eval_step's loss and
 *      metrics and, over two train_steps, the loss and every parameter and
 *      optimizer state after the updates (train mode: this checks the
 *      kernels of the gradient and optimizer ops too, dropout included).
 * Also: fused builds against unfused ones, bit for bit (every model and
 * the patterns of fused_patterns), and the CUDA generator's launch groups
 * on hand-placed storage (a partial overlap is a later launch).
 */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "codegen/cuda_emit.h"
#include "codegen/cprint.h"
#include "frontend/frontend.h"
#include "ir/interp.h"
#include "passes/launch.h"
#include "passes/pass.h"
#include "runtime/dlrt.h"
#include "testutil.h"

#define SCRATCH DLC_BINARY_DIR "/test_codegen.tmp"
#define RTOL 2e-3
#define ATOL 2e-4
#define N_RUN 3

#if defined(__SANITIZE_ADDRESS__)
#define SAN_FLAGS "-fsanitize=address,undefined "
#else
#define SAN_FLAGS ""
#endif

/* Small deterministic generator for test inputs. */
static uint64_t rng_state = 12345;
static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

static int close_enough(double got, double want)
{
    return fabs(got - want) <= ATOL + RTOL * fabs(want);
}

/* Compares n floats with the interpreter's doubles; fails naming `what`. */
static void compare(const char *model, const char *what, const float *got, const double *want, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!close_enough(got[i], want[i]))
            ck_abort_msg("%s: %s[%lld]: generated %.9g, interpreter %.9g", model, what, (long long)i, (double)got[i],
                         want[i]);
}

/* Emits C for g, compiles it into a shared object and loads it.  Returns
 * the dlopen handle; *m receives the model description. */
static void *build_so(Graph *g, const char *name, bool blas, const dlrt_model **m)
{
    char dir[512], cpath[600], hpath[600], so[600], log[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s/%s", SCRATCH, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cpath, sizeof cpath, "%s/%s.c", dir, name);
    snprintf(hpath, sizeof hpath, "%s/%s.h", dir, name);
    snprintf(so, sizeof so, "%s/%s.so", dir, name);
    snprintf(log, sizeof log, "%s/cc.log", dir);
    FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(h);
    CodegenOptions co = {TARGET_C, name, false, blas};
    ck_assert_int_eq(codegen_emit(g, &co, c, h), 0);
    fclose(c);
    fclose(h);
    snprintf(cmd, sizeof cmd,
             "cc -std=c99 -O1 -Wall -Wextra -Werror -fPIC -shared " SAN_FLAGS
             "-I'%s' -I" DLC_SOURCE_DIR "/runtime -I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/include/openblas "
             "'%s' " DLC_BINARY_DIR "/libdlrt.a -lopenblas -lz -lm -o '%s' > '%s' 2>&1",
             dir, cpath, so, log);
    tu_compile(cmd, log, name, "the generated C");
    void *hnd = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(hnd != NULL, "dlopen %s: %s", so, dlerror());
    char sym[256];
    snprintf(sym, sizeof sym, "%s_model", name);
    *m = (const dlrt_model *)dlsym(hnd, sym);
    ck_assert_msg(*m != NULL, "no symbol %s", sym);
    return hnd;
}

/* The persistent leaves in the model's tensor order (params, then states). */
static int persistent_nodes(const Graph *g, const Node **out)
{
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->nnodes; i++)
            if (g->nodes[i]->op == (pass == 0 ? OP_PARAM : OP_STATE)) out[k++] = g->nodes[i];
    return k;
}

/* Fills an input with random values (labels: class indices < classes). */
static void fill_input(Interp *it, const Node *in, float *f, int32_t *lab, double lo, double hi, int classes)
{
    int64_t cnt = interp_numel(it, in);
    double *d = interp_buf(it, in);
    for (int64_t i = 0; i < cnt; i++) {
        if (in->type.dtype == DT_I32) {
            lab[i] = (int32_t)(rnd() * classes);
            d[i] = lab[i];
        } else {
            f[i] = (float)(lo + (hi - lo) * rnd());
            d[i] = f[i];
        }
    }
}

/* The number of classes of a sparse label: the last dim of the loss's
 * first operand. */
static int label_classes(const Graph *g)
{
    if (!g->loss || g->loss->nin < 1) return 2;
    const TensorType *t = &g->loss->in[0]->type;
    return t->rank ? (int)t->dims[t->rank - 1] : 2;
}

/* The whole check for one compiled graph (see the file comment). */
static void check_graph(Graph *g, const char *name, bool blas, double lo, double hi)
{
    const dlrt_model *m;
    void *hnd = build_so(g, name, blas, &m);
    ck_assert_int_eq(m->setup(), 0);
    m->init_params(7);
    Interp *it = interp_new(g, N_RUN, 7);

    const Node *pers[512];
    int np = persistent_nodes(g, pers);
    ck_assert_int_eq(np, m->nparams + m->nstate);
    for (int k = 0; k < np; k++) {
        int64_t cnt = interp_numel(it, pers[k]);
        compare(name, pers[k]->name, m->tensors[k].data, interp_buf(it, pers[k]), cnt);
        /* start both from exactly the same values */
        for (int64_t i = 0; i < cnt; i++) interp_buf(it, pers[k])[i] = ((float *)m->tensors[k].data)[i];
    }

    const Node *x = NULL, *y = NULL;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_INPUT) {
            if (!x) x = g->nodes[i];
            else y = g->nodes[i];
        }
    ck_assert_ptr_nonnull(x);
    float *xf = calloc((size_t)interp_numel(it, x), sizeof(float));
    int64_t ny = y ? interp_numel(it, y) : 1;
    float *yf = calloc((size_t)ny, sizeof(float));
    int32_t *yi = calloc((size_t)ny, sizeof(int32_t));
    fill_input(it, x, xf, NULL, lo, hi, 0);
    if (y) fill_input(it, y, yf, yi, 0.0, 1.0, label_classes(g));
    const void *yv = y && y->type.dtype == DT_I32 ? (const void *)yi : (const void *)yf;

    if (g->mode == MODE_INFER || !m->train_step) {
        const Node *out = g->outputs[0].node;
        int64_t cnt = interp_numel(it, out);
        float *of = calloc((size_t)cnt, sizeof(float));
        interp_run(it);
        m->predict(xf, of, N_RUN);
        compare(name, "output", of, interp_buf(it, out), cnt);
        free(of);
    } else {
        float loss, metrics[16];
        ck_assert_int_le(g->nmetrics, 16);
        /* eval_step drops no units; the interpreter always applies the
           masks, so it is a reference for eval only without dropout */
        bool dropout = false;
        for (int i = 0; i < g->nnodes; i++) dropout |= g->nodes[i]->op == OP_DROPOUT_MASK;
        if (!dropout) {
            interp_set_step(it, 0);
            interp_run(it);
            m->eval_step(xf, yv, N_RUN, &loss, metrics);
            compare(name, "eval loss", &loss, interp_buf(it, g->loss), 1);
            for (int k = 0; k < g->nmetrics; k++)
                compare(name, g->metrics[k].name, &metrics[k], interp_buf(it, g->metrics[k].node), 1);
        }
        for (uint64_t step = 1; step <= 2; step++) {
            interp_set_step(it, step);
            interp_run(it);
            interp_apply_assigns(it);
            m->train_step(xf, yv, N_RUN, dlrt_key(7, step), &loss, metrics);
            compare(name, "train loss", &loss, interp_buf(it, g->loss), 1);
            for (int k = 0; k < np; k++) {
                compare(name, pers[k]->name, m->tensors[k].data, interp_buf(it, pers[k]), interp_numel(it, pers[k]));
                /* keep both on the same trajectory */
                for (int64_t i = 0; i < interp_numel(it, pers[k]); i++)
                    interp_buf(it, pers[k])[i] = ((float *)m->tensors[k].data)[i];
            }
        }
    }
    free(xf);
    free(yf);
    free(yi);
    interp_free(it);
    m->teardown();
    dlclose(hnd);
}

static bool no_fuse; /* plan without elementwise fusion */

/* Compiles .nn source text and checks it. */
static void check_source(const char *name, const char *src, GraphMode mode, bool blas, double lo, double hi)
{
    Arena a;
    arena_init(&a);
    SrcFile *f = srcfile_from_string(&a, name, src, strlen(src));
    Graph *g = nn_compile(&a, f, mode);
    PassOptions po = {0};
    po.max_batch = 4;
    po.no_fuse = no_fuse;
    po.fuse_regions = true;
    g->max_batch = 4;
    pass_run_pipeline(g, &po, NULL);
    check_graph(g, name, blas, lo, hi);
    arena_free(&a);
}

/* ---- the printer's template expander and literals -------------------- */

START_TEST(expand_templates)
{
    Arena a;
    arena_init(&a);
    Graph *g = ir_graph_new(&a, "t", MODE_INFER);
    int64_t dims[2] = {DIM_N, 4};
    Node *x = ir_input(g, "x", tt_make(DT_F32, 2, dims), SRCLOC_NONE);
    Attr alpha = attr_float("alpha", 0.25);
    Node *lr = ir_node(g, OP_LEAKY_RELU, &x, 1, &alpha, 1, SRCLOC_NONE);
    const char *ops[2] = {"a[i]", "b[i]"};
    const CDialect *d = &cdialect_c99;
    ck_assert_str_eq(cp_expand(&a, d, op_info(OP_LEAKY_RELU)->ew, ops, 1, lr), "(a[i] > 0 ? a[i] : 0.25f * a[i])");
    ck_assert_str_eq(cp_expand(&a, d, op_info(OP_GELU)->ew, ops, 1, lr),
                     "(0.5f * a[i] * (1 + erff(a[i] * 0.70710678118654752440f)))");
    ck_assert_str_eq(cp_expand(&a, d, op_info(OP_MAXIMUM)->ew, ops, 2, lr), "fmaxf(a[i], b[i])");
    ck_assert_str_eq(cp_expand(&a, d, "log1p($0) + x2 * 1e-3 + 3", ops, 1, lr), "log1pf(a[i]) + x2 * 1e-3f + 3");
    CDialect dbl = *d;
    dbl.float_math = false;
    dbl.float_suffix = "";
    ck_assert_str_eq(cp_expand(&a, &dbl, op_info(OP_ELU)->ew, ops, 1, lr), "(a[i] > 0 ? a[i] : 0.25 * (exp(a[i]) - 1))");
    char buf[CP_FLOAT_LEN];
    ck_assert_str_eq(cp_float(d, 0.5, buf, sizeof buf), "0.5f");
    ck_assert_str_eq(cp_float(d, -2, buf, sizeof buf), "(-2.0f)");
    ck_assert_str_eq(cp_float(d, 1e-7, buf, sizeof buf), "1e-07f");
    ck_assert_str_eq(cp_float(d, 0.1, buf, sizeof buf), "0.1f");
    ck_assert_str_eq(cp_float(d, 1.0 / 3.0, buf, sizeof buf), "0.33333333f");
    ck_assert_str_eq(cp_float(d, INFINITY, buf, sizeof buf), "INFINITY");
    arena_free(&a);
}
END_TEST

/* ---- forward kernels (infer mode, predict) ---------------------------- */

START_TEST(unary_positive)
{
    check_source("unary_pos",
                 "model unary_pos\ninput x: f32[N, 3]\n"
                 "output y = concat(neg(x), exp(x), log(x), sqrt(x), abs(x), sign(x), square(x), tanh(x), sigmoid(x),"
                 " relu(x), leaky_relu(x, alpha=0.2), elu(x), gelu(x), axis=-1)\n",
                 MODE_INFER, true, 0.2, 2.0);
}
END_TEST

START_TEST(unary_mixed)
{
    check_source("unary_mixed",
                 "model unary_mixed\ninput x: f32[N, 5]\n"
                 "output y = concat(neg(x), exp(x), abs(x), sign(x), square(x), tanh(x), sigmoid(x), relu(x),"
                 " leaky_relu(x), elu(x, alpha=0.5), gelu(x), cast(cast(x * 3, dtype=i32), dtype=f32), axis=-1)\n",
                 MODE_INFER, true, -2.0, 2.0);
}
END_TEST

START_TEST(binary_broadcast)
{
    check_source("binary",
                 "model binary\ninput x: f32[N, 3, 4]\n"
                 "param a: f32[4] = uniform(low=0.5, high=1.5)\nparam b: f32[3, 1] = uniform(low=0.5, high=1.5)\n"
                 "output y = concat(x + a, b - x, x * x, x / 2.5, a / (x * x + 1), pow(abs(x) + 0.5, 1.5),"
                 " maximum(x, a), x * b, axis=-1)\n",
                 MODE_INFER, true, -2.0, 2.0);
}
END_TEST

START_TEST(matmul_blas_and_loops)
{
    const char *src = "model mm\ninput x: f32[N, 6]\nparam w: f32[6, 5] = glorot_uniform()\n"
                      "param v: f32[5, 6] = glorot_uniform()\n"
                      "output y = concat(x @ w, matmul(x, v, trans_b=true), axis=-1)\n";
    check_source("mm_blas", src, MODE_INFER, true, -1.0, 1.0);
    check_source("mm_loops", src, MODE_INFER, false, -1.0, 1.0);
}
END_TEST

START_TEST(reductions)
{
    check_source("reduce",
                 "model reduce\ninput x: f32[N, 3, 4]\n"
                 "output y = concat(sum(x, axes=[1]), mean(x, axes=[2]), flatten(max(x, axes=[1, 2], keepdims=true)),"
                 " sum(x, axes=[-1]), max(x, axes=[1]), axis=-1)\n",
                 MODE_INFER, true, -2.0, 2.0);
    /* over the batch: the loss may combine samples (an output may not:
       predict runs in chunks, passes/batch_rows.c) */
    check_source("reduce_batch",
                 "model reduce_batch\ninput x: f32[N, 3, 4]\ninput t: f32[N, 12]\n"
                 "param w: f32[12] = uniform(low=0.5, high=1.5)\noutput y = flatten(x) * w\n"
                 "loss = mean_squared_error((flatten(x) + flatten(mean(x, axes=[0], keepdims=true))) * w"
                 " + flatten(x) * sum(x), t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, true, -2.0, 2.0);
}
END_TEST

START_TEST(shape_ops)
{
    check_source("shapes",
                 "model shapes\ninput x: f32[N, 3, 4]\n"
                 "output y = concat(flatten(transpose(x, perm=[0, 2, 1])), reshape(x, shape=[-1, 12]),"
                 " flatten(softmax(x, axis=1)), flatten(log_softmax(x)), axis=-1)\n",
                 MODE_INFER, true, -3.0, 3.0);
}
END_TEST

/* ---- backward kernels and updates (train mode) ----------------------- */

/* With BLAS and with the portable GEMM loops (the backward pass needs the
 * transposed forms). */
START_TEST(train_sparse_ce_adam)
{
    const char *src = "model t_sce\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                      "h = dense(x, 5, activation=relu)\nlogits = dense(h, 3)\noutput probs = softmax(logits)\n"
                      "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                      "metric accuracy(probs, label)\n"
                      "train {\n optimizer = adam(learning_rate=0.01)\n batch_size = 4\n}\n";
    check_source("t_sce", src, MODE_TRAIN, true, -1.0, 1.0);
    check_source("t_sce_loops", src, MODE_TRAIN, false, -1.0, 1.0);
}
END_TEST

START_TEST(train_sparse_ce_probs_rmsprop)
{
    check_source("t_scep",
                 "model t_scep\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                 "output probs = softmax(dense(x, 4, activation=tanh))\n"
                 "loss = sparse_categorical_crossentropy(probs, label)\nmetric accuracy(probs, label)\n"
                 "train {\n optimizer = rmsprop(learning_rate=0.01, momentum=0.5, centered=1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

START_TEST(train_categorical_ce)
{
    check_source("t_cce",
                 "model t_cce\ninput x: f32[N, 5]\ninput t: f32[N, 3]\n"
                 "logits = dense(x, 3)\noutput probs = softmax(logits)\n"
                 "loss = categorical_crossentropy(logits, t, from_logits=true)\nmetric accuracy(probs, t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.1, momentum=0.9, nesterov=1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
    check_source("t_ccep",
                 "model t_ccep\ninput x: f32[N, 5]\ninput t: f32[N, 3]\n"
                 "output probs = softmax(dense(x, 3, activation=sigmoid))\n"
                 "loss = categorical_crossentropy(probs, t)\n"
                 "train {\n optimizer = adagrad(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

START_TEST(train_binary_ce)
{
    check_source("t_bce",
                 "model t_bce\ninput x: f32[N, 4]\ninput t: f32[N, 1]\n"
                 "logits = dense(x, 1)\noutput p = sigmoid(logits)\n"
                 "loss = binary_crossentropy(logits, t, from_logits=true)\nmetric accuracy(p, t)\n"
                 "train {\n optimizer = adagrad(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
    check_source("t_bcep",
                 "model t_bcep\ninput x: f32[N, 4]\ninput t: f32[N, 2]\n"
                 "output p = sigmoid(dense(x, 2))\nloss = binary_crossentropy(p, t)\n"
                 "train {\n optimizer = adam(learning_rate=0.01, amsgrad=1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

START_TEST(train_mse_many_ops)
{
    check_source("t_mse",
                 "model t_mse\ninput x: f32[N, 3, 4]\ninput t: f32[N, 2]\n"
                 "param w: f32[4] = uniform(low=0.5, high=1.5)\nparam v: f32[3, 1] = uniform(low=-0.5, high=0.5)\n"
                 "param w2: f32[12, 2] = glorot_uniform()\n"
                 "z = tanh(x * w) + sigmoid(x - v) - exp(x / 4) + square(x) * 0.1 + sqrt(abs(x) + 1)\n"
                 "e = elu(z) * gelu(z) + leaky_relu(z) + relu(z) / (abs(z) + 1) + log(abs(z) + 1) + maximum(z, x)\n"
                 "m = max(e, axes=[2])\n"
                 "k = transpose(e, perm=[0, 2, 1])\n"
                 "u = concat(softmax(m), log_softmax(m), mean(k, axes=[2]), sum(e, axes=[1]), flatten(x) @ w2, axis=-1)\n"
                 "output out = dense(u, 2)\nloss = mean_squared_error(out, t)\n"
                 "train {\n optimizer = sgd(learning_rate=0.05)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

/* The pools and their gradients (max_pool2d_grad, avg_pool2d_grad and
 * global_avg_pool2d's broadcast): strides, overlapping windows, padding,
 * count_include_pad; two train steps of the C build against the
 * interpreter. */
START_TEST(train_pools)
{
    check_source("t_pools",
                 "model t_pools\ninput x: f32[N, 2, 6, 5]\ninput label: i32[N]\n"
                 "param s: f32[1, 2, 6, 5] = uniform(low=0.5, high=1.5)\n"
                 "h = tanh(x * s)\n"
                 "m1 = max_pool2d(h, kernel=[2, 2], strides=[2, 2])\n"
                 "m2 = max_pool2d(h, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])\n"
                 "a1 = avg_pool2d(h, kernel=[2, 3], strides=[2, 1], pads=[0, 1, 1, 0])\n"
                 "a2 = avg_pool2d(h, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=true)\n"
                 "g = global_avg_pool2d(h)\n"
                 "f = concat(flatten(m1), flatten(m2), flatten(a1), flatten(a2), flatten(g), axis=1)\n"
                 "logits = dense(f, 3)\noutput probs = softmax(logits)\n"
                 "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                 "train {\n optimizer = sgd(learning_rate=0.5)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

/* conv2d's gradients (conv2d_grad_input, conv2d_grad_filter, the bias's
 * sum): padding, strides 2, dilation 2, groups 2, depthwise, and a conv fed
 * by a conv so that the input gradient is used; two train steps of the C
 * build against the interpreter. */
START_TEST(train_conv)
{
    check_source("t_conv",
                 "model t_conv\ninput x: f32[N, 2, 6, 5]\ninput label: i32[N]\n"
                 "param w1: f32[4, 2, 3, 3] = glorot_uniform()\nparam b1: f32[4] = zeros()\n"
                 "param w2: f32[3, 2, 3, 3] = glorot_uniform()\nparam b2: f32[3] = zeros()\n"
                 "param w3: f32[2, 2, 2, 2] = glorot_uniform()\n"
                 "param w4: f32[4, 2, 3, 2] = glorot_uniform()\nparam b4: f32[4] = zeros()\n"
                 "param w5: f32[4, 1, 3, 3] = glorot_uniform()\n"
                 "h = tanh(conv2d(x, w1, b1, pads=[1, 1, 1, 1]))\n"
                 "c2 = conv2d(x, w2, b2, strides=[2, 2], pads=[1, 1, 1, 1])\n"
                 "c3 = conv2d(x, w3, dilations=[2, 2], pads=[0, 1, 1, 0])\n"
                 "c4 = conv2d(h, w4, b4, group=2, strides=[2, 1])\n"
                 "c5 = conv2d(h, w5, group=4, dilations=[2, 2], pads=[1, 1, 1, 1])\n"
                 "f = concat(flatten(c2), flatten(c3), flatten(c4), flatten(c5), axis=1)\n"
                 "logits = dense(f, 3)\noutput probs = softmax(logits)\n"
                 "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                 "train {\n optimizer = sgd(learning_rate=0.5)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

START_TEST(train_dropout)
{
    check_source("t_drop",
                 "model t_drop\ninput x: f32[N, 6]\ninput label: i32[N]\n"
                 "h = dropout(dense(x, 16, activation=relu), rate=0.5)\nlogits = dense(h, 3)\n"
                 "output probs = softmax(logits)\n"
                 "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                 "metric accuracy(probs, label)\n"
                 "train {\n optimizer = sgd(learning_rate=0.1)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
}
END_TEST

/* The same kernels one op per loop, without fusion or in-place updates. */
START_TEST(unfused)
{
    no_fuse = true;
    check_source("uf_mse",
                 "model uf_mse\ninput x: f32[N, 3, 4]\ninput t: f32[N, 1]\n"
                 "param w: f32[4] = uniform(low=0.5, high=1.5)\n"
                 "z = tanh(x * w) + sigmoid(x) - exp(x / 4) + square(x) * 0.1\n"
                 "output out = dense(flatten(elu(z) * gelu(z) + relu(z)), 1)\nloss = mean_squared_error(out, t)\n"
                 "train {\n optimizer = rmsprop(learning_rate=0.01)\n}\n",
                 MODE_TRAIN, true, -1.0, 1.0);
    no_fuse = false;
}
END_TEST

/* ---- CUDA launch groups (passes/launch.c) ------------------------------ */

/* Three static elementwise nodes with hand-placed storage, as the plan
 * could place them when A's bytes are free again for B: A = neg(p), C =
 * exp(A) (A's bytes, index to index: one thread runs A then C), then B =
 * abs(q) written at b_off (p, q, A, C: 128 bytes at 0, 128, 384, 640).  B must run after A and C wherever
 * its bytes meet A's: in their segment (thread i runs A, C, B at i) only
 * when they are the very same bytes, else in a later launch - a partial
 * overlap puts B's element i on A's element i + 16, which another thread
 * reads.  Apart, B is a segment of the same launch.  Sets B's launch
 * (*step) and segment (*seg, -1: a launch of its own) after checking A
 * and C's. */
static void cuda_group_of_b(int64_t b_off, int *b_step, int *b_seg)
{
    Arena a;
    arena_init(&a);
    Graph *g = ir_graph_new(&a, "groups", MODE_TRAIN);
    g->max_batch = 4;
    int64_t d32 = 32;
    TensorType t = tt_make(DT_F32, 1, &d32);
    Attr init = attr_str("init", "zeros");
    Node *p = ir_param(g, "p", t, &init, 1, SRCLOC_NONE), *q = ir_param(g, "q", t, &init, 1, SRCLOC_NONE);
    Node *A = ir_unary(g, OP_NEG, p, SRCLOC_NONE), *C = ir_unary(g, OP_EXP, A, SRCLOC_NONE);
    Node *B = ir_unary(g, OP_ABS, q, SRCLOC_NONE);
    p->offset = 0;
    q->offset = 128;
    A->offset = 384;
    C->offset = 640;
    B->offset = b_off;
    g->arena_bytes = 1024;
    bool *need = calloc((size_t)g->next_id + 1, sizeof *need);
    for (int i = 0; i < g->nnodes; i++) need[g->nodes[i]->id] = true;
    launch_plan_entry(g, need, IR_ENTRY_TRAIN);
    ck_assert_ptr_null(ir_verify(g));
    ck_assert_int_eq(A->launch[IR_ENTRY_TRAIN], 0);
    ck_assert_int_eq(A->launch_seg[IR_ENTRY_TRAIN], 0);
    ck_assert_int_eq(C->launch[IR_ENTRY_TRAIN], 0);
    ck_assert_int_eq(C->launch_seg[IR_ENTRY_TRAIN], 0);
    ck_assert_int_eq(A->launch[IR_ENTRY_EVAL], -1);
    *b_step = B->launch[IR_ENTRY_TRAIN];
    *b_seg = B->launch_seg[IR_ENTRY_TRAIN];
    free(need);
    arena_free(&a);
}

START_TEST(cuda_partial_overlap_is_a_new_launch)
{
    /* B at: A's bytes (A's segment); apart (a segment of the same launch);
       A's upper half, A's lower half (a launch after A and C's) */
    const int64_t off[4] = {384, 768, 448, 320};
    const int want_step[4] = {0, 0, 1, 1}, want_seg[4] = {0, 1, -1, -1};
    for (int k = 0; k < 4; k++) {
        int st, sg;
        cuda_group_of_b(off[k], &st, &sg);
        ck_assert_msg(st == want_step[k] && sg == want_seg[k], "B at %lld: launch %d segment %d, want %d %d",
                      (long long)off[k], st, sg, want_step[k], want_seg[k]);
    }
}
END_TEST

/* The verifier's checks of the launch numbers (ir/verify.c): A = neg(p)
 * and C = exp(A), one segment of launch 0, then each kind of inconsistency
 * written by hand, named in the message. */
START_TEST(cuda_launches_verified)
{
    static const struct {
        int a_launch, a_seg, c_launch, c_seg;
        const char *want;
    } cases[] = {
        {0, 0, 0, 0, NULL},
        {0, 0, 0, 1, "(launch 0 of entry 0) reads node #1 (neg), which launch 0 computes"},
        {1, -1, 0, -1, "node #2 (exp) (launch 0 of entry 0) reads node #1 (neg), which launch 1 computes"},
        {0, -1, 0, 0, "launch 0 of entry 0 mixes nodes of their own with a group, or has a group of one"},
        {0, -1, 2, -1, "launch 1 of entry 0 runs nothing"},
        {0, 3, 0, 3, "node #1 (neg) has segment 3 of launch 0 of entry 0, a group of 2"},
        {-1, 0, 0, -1, "node #1 (neg) has launch -1 segment 0 in entry 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Arena a;
        arena_init(&a);
        Graph *g = ir_graph_new(&a, "launches", MODE_TRAIN);
        int64_t d32 = 32;
        Attr init = attr_str("init", "zeros");
        Node *p = ir_param(g, "p", tt_make(DT_F32, 1, &d32), &init, 1, SRCLOC_NONE);
        Node *A = ir_unary(g, OP_NEG, p, SRCLOC_NONE), *C = ir_unary(g, OP_EXP, A, SRCLOC_NONE);
        p->offset = 0;
        A->offset = C->offset = 128;
        A->launch[IR_ENTRY_TRAIN] = cases[i].a_launch;
        A->launch_seg[IR_ENTRY_TRAIN] = cases[i].a_seg;
        C->launch[IR_ENTRY_TRAIN] = cases[i].c_launch;
        C->launch_seg[IR_ENTRY_TRAIN] = cases[i].c_seg;
        const char *err = ir_verify(g);
        if (!cases[i].want) ck_assert_ptr_null(err);
        else ck_assert_msg(err && strstr(err, cases[i].want), "case %zu: %s", i, err ? err : "(verified)");
        arena_free(&a);
    }
}
END_TEST

/* ---- every model of the repository ------------------------------------ */

/* Compiles and checks one models/ file in inference and training modes. */
static void codegen_model(const TuModel *m, void *ctx)
{
    (void)ctx;
    for (int mode = 0; mode < 2; mode++) {
        char name[256];
        snprintf(name, sizeof name, "m_%s_%s", m->stem, mode ? "train" : "infer");
        Arena a;
        arena_init(&a);
        Graph *g = model_load(&a, m->path, mode ? MODE_TRAIN : MODE_INFER);
        PassOptions po = {0};
        po.max_batch = 4;
        po.fuse_regions = true;
        g->max_batch = 4;
        pass_run_pipeline(g, &po, NULL);
        check_graph(g, name, true, 0.0, 1.0);
        arena_free(&a);
    }
}

START_TEST(repository_models)
{
    tu_for_each_model(codegen_model, NULL);
}
END_TEST

/* Builds the model at PATH in `mode` with fusion `fuse` (0 none, 1
 * chains, 2 regions) for batches of up to 8 and loads it. */
static void *build_model(const char *path, GraphMode mode, int fuse, const char *name, const dlrt_model **m)
{
    Arena a;
    arena_init(&a);
    Graph *g = model_load(&a, path, mode);
    PassOptions po = {0};
    po.max_batch = 8;
    po.no_fuse = fuse == 0;
    po.fuse_regions = fuse == 2;
    g->max_batch = 8;
    pass_run_pipeline(g, &po, NULL);
    void *hnd = build_so(g, name, true, m);
    arena_free(&a);
    return hnd;
}

/* Fused and unfused builds of every model compute the same bits: the
 * region kernels repeat the unfused kernels' arithmetic in the same order
 * (GEMM then epilogue, column sums row by row, the row kernel's softmax,
 * loss and gradient).  Three training steps (batches of 8, then 5), then
 * every parameter and optimizer slot, the losses, metrics and predict's
 * outputs must be equal.  fused_equal checks the model at PATH (built
 * under names starting with STEM); the tests check every model (at least
 * three) and the patterns of fused_patterns. */
static void fused_equal(const char *path, const char *stem)
{
    const dlrt_model *m[3];
    void *hnd[3];
    for (int fz = 0; fz < 3; fz++) {
        char name[256];
        snprintf(name, sizeof name, "eq_%s_%d", stem, fz);
        hnd[fz] = build_model(path, MODE_TRAIN, fz, name, &m[fz]);
    }
    int64_t in = m[0]->in_size, nl = m[0]->label_size;
    float *x = malloc(sizeof(float) * (size_t)(8 * in)), *out[3];
    int32_t *yi = malloc(sizeof(int32_t) * (size_t)(8 * nl));
    float *yf = malloc(sizeof(float) * (size_t)(8 * nl));
    for (int64_t i = 0; i < 8 * in; i++) x[i] = (float)rnd();
    for (int64_t i = 0; i < 8 * nl; i++) {
        yi[i] = (int32_t)(rnd() * 10) % 10;
        yf[i] = (float)(rnd() > 0.5);
    }
    const void *y = m[0]->label_dtype == DLRT_I32 ? (const void *)yi : (const void *)yf;
    float loss[3], met[3][16];
    for (int fz = 0; fz < 3; fz++) {
        ck_assert_int_eq(m[fz]->setup(), 0);
        m[fz]->init_params(11);
        for (int step = 0; step < 3; step++) m[fz]->train_step(x, y, step == 2 ? 5 : 8, dlrt_key(11, (uint64_t)step), &loss[fz], met[fz]);
        out[fz] = calloc((size_t)(8 * m[fz]->out_size) + 1, sizeof(float));
        m[fz]->predict(x, out[fz], 8);
    }
    for (int fz = 1; fz < 3; fz++) {
        const char *what = fz == 1 ? "chains" : "regions";
        ck_assert_msg(memcmp(&loss[fz], &loss[0], sizeof(float)) == 0, "%s (%s): loss %.9g, unfused %.9g", stem,
                      what, (double)loss[fz], (double)loss[0]);
        for (int k = 0; k < m[0]->nmetrics; k++)
            ck_assert_msg(memcmp(&met[fz][k], &met[0][k], sizeof(float)) == 0, "%s (%s): metric %d differs", stem,
                          what, k);
        for (int t = 0; t < m[0]->nparams + m[0]->nstate; t++) {
            const dlrt_tensor *a = &m[fz]->tensors[t], *b = &m[0]->tensors[t];
            int64_t cnt = 1;
            for (int dd = 0; dd < b->rank; dd++) cnt *= b->dims[dd];
            const float *pa = a->data, *pb = b->data;
            for (int64_t i = 0; i < cnt; i++)
                ck_assert_msg(memcmp(&pa[i], &pb[i], sizeof(float)) == 0, "%s (%s): %s[%lld] = %.9g, unfused %.9g",
                              stem, what, b->name, (long long)i, (double)pa[i], (double)pb[i]);
        }
        ck_assert_msg(memcmp(out[fz], out[0], sizeof(float) * (size_t)(8 * m[0]->out_size)) == 0,
                      "%s (%s): predict differs", stem, what);
    }
    for (int fz = 0; fz < 3; fz++) {
        m[fz]->teardown();
        dlclose(hnd[fz]);
        free(out[fz]);
    }
    free(x);
    free(yi);
    free(yf);
}

static void fused_model(const TuModel *tm, void *ctx)
{
    (void)ctx;
    fused_equal(tm->path, tm->stem);
}

START_TEST(fused_equals_unfused)
{
    ck_assert_int_ge(tu_for_each_model(fused_model, NULL), 3);
}
END_TEST

/* A dense layer's raw result z read by the loss and, through an
 * activation, by the output, in either order: predict needs the
 * activation, train_step and eval_step need z alone, so the GEMM of z's
 * region must write a buffer every entry computes (issue 11 #2: with the
 * output first, its activation was the GEMM's buffer and train_step's
 * region wrote nothing the GEMM could fill - an internal error).  The last
 * pattern forks: z feeds two activations, one per entry. */
static const char *const fused_patterns[][2] = {
    {"out_first_sigmoid_bce", "z = dense(x, 1)\noutput p = sigmoid(z)\n"
                              "loss = binary_crossentropy(z, y, from_logits=true)\n"},
    {"out_first_relu_mse", "z = dense(x, 1)\noutput p = relu(z)\nloss = mean_squared_error(z, y)\n"},
    {"out_first_tanh_hidden", "h = dense(x, 5, activation=relu)\nz = dense(h, 1)\noutput p = tanh(z)\n"
                              "loss = binary_crossentropy(z, y, from_logits=true)\n"},
    {"out_last_sigmoid_hidden", "h = dense(x, 5, activation=tanh)\nz = dense(h, 1)\n"
                                "loss = mean_squared_error(z, y)\noutput p = sigmoid(z)\n"},
    {"out_first_fork", "z = dense(x, 1)\noutput p = sigmoid(z)\nloss = mean_squared_error(tanh(z), y)\n"},
};

START_TEST(fused_patterns_equal_unfused)
{
    const char *name = fused_patterns[_i][0];
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%s", SCRATCH, name);
    snprintf(path, sizeof path, "%s/%s.nn", dir, name);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "model %s\ninput x: f32[N, 4]\ninput y: f32[N, 1]\n%s", name, fused_patterns[_i][1]);
    fprintf(f, "train {\n optimizer = adam(learning_rate=0.01)\n batch_size = 8\n}\n");
    fclose(f);
    fused_equal(path, name);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codegen");
    TCase *tc = tcase_create("printer");
    tcase_add_test(tc, expand_templates);
    suite_add_tcase(s, tc);
    tc = tcase_create("cuda_launch");
    tcase_add_test(tc, cuda_partial_overlap_is_a_new_launch);
    tcase_add_test(tc, cuda_launches_verified);
    suite_add_tcase(s, tc);
    tc = tcase_create("forward");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, unary_positive);
    tcase_add_test(tc, unary_mixed);
    tcase_add_test(tc, binary_broadcast);
    tcase_add_test(tc, matmul_blas_and_loops);
    tcase_add_test(tc, reductions);
    tcase_add_test(tc, shape_ops);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, train_sparse_ce_adam);
    tcase_add_test(tc, train_sparse_ce_probs_rmsprop);
    tcase_add_test(tc, train_categorical_ce);
    tcase_add_test(tc, train_binary_ce);
    tcase_add_test(tc, train_mse_many_ops);
    tcase_add_test(tc, train_dropout);
    tcase_add_test(tc, train_pools);
    tcase_add_test(tc, train_conv);
    tcase_add_test(tc, unfused);
    suite_add_tcase(s, tc);
    tc = tcase_create("models");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, repository_models);
    tcase_add_test(tc, fused_equals_unfused);
    suite_add_tcase(s, tc);
    tc = tcase_create("patterns");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, fused_patterns_equal_unfused, 0, (int)(sizeof fused_patterns / sizeof fused_patterns[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
