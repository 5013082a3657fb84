/* test_gradcheck.c - finite-difference checks of every gradient rule.
 *
 * 1. Every op marked G in ops.def is checked alone (gradcheck_op) in f64 on
 *    small random shapes, broadcasting cases included; a test fails if a G
 *    op has no case here, so a new op cannot slip through unchecked.
 * 2. Whole models built with the builder - an MLP with relu and softmax
 *    cross-entropy, the same with dropout (masks held fixed), logistic
 *    regression, a regression whose loss is a mean over the batch - pass
 *    gradcheck_graph.
 * 3. The checker itself: a deliberately coarse step makes a nonlinear op's
 *    check fail, and the report names that op as the worst.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/gradcheck.h"
#include "testutil.h"

#define N DIM_N

/* One op case: operand types and attributes. */
typedef struct Case {
    OpCode op;
    int nin;
    TensorType in[3];
    Attr attrs[4];
    int nattrs;
} Case;

static TensorType T(int rank, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t d[3] = {d0, d1, d2};
    return tt_make(DT_F64, rank, d);
}

static TensorType LABELS(void)
{
    int64_t d[1] = {N};
    return tt_make(DT_I32, 1, d);
}

static const int64_t ax0[] = {0}, ax1[] = {1}, ax2[] = {2}, ax02[] = {0, 2}, ax12[] = {1, 2};
static const int64_t perm201[] = {2, 0, 1}, perm021[] = {0, 2, 1};
static const int64_t sh_n23[] = {-1, 2, 3}, sh_23[] = {2, 3}, sh_n4[] = {-1, 4}, sh_35[] = {3, 5}, sh_22[] = {2, 2};
static const int64_t sh_4[] = {4}, sh_31[] = {3, 1};

/* An NCHW f64 type [n, c, h, w]. */
static TensorType T4(int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t d[4] = {n, c, h, w};
    return tt_make(DT_F64, 4, d);
}

#define U(o) {o, 1, {T(2, N, 4, 0)}, {{0}}, 0}
#define B(o, ta, tb) {o, 2, {ta, tb}, {{0}}, 0}

static Case cases[200];
static int ncases;

static void add_case(Case c)
{
    if (ncases >= (int)(sizeof cases / sizeof cases[0])) {
        fprintf(stderr, "test_gradcheck: too many cases\n");
        exit(1);
    }
    cases[ncases++] = c;
}

/* Builds the case table (Attr constructors are functions, so at run time). */
static void build_cases(void)
{
    if (ncases) return;
    static const OpCode unary[] = {OP_NEG, OP_EXP, OP_LOG, OP_SQRT, OP_ABS, OP_SQUARE, OP_TANH, OP_SIGMOID,
                                   OP_RELU, OP_LEAKY_RELU, OP_ELU, OP_GELU};
    for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++) {
        add_case((Case)U(unary[i]));
        add_case((Case){unary[i], 1, {T(3, 2, 3, 2)}, {{0}}, 0});
    }
    add_case((Case){OP_LEAKY_RELU, 1, {T(2, N, 4, 0)}, {attr_float("alpha", 0.2)}, 1});
    add_case((Case){OP_ELU, 1, {T(2, N, 4, 0)}, {attr_float("alpha", 0.7)}, 1});

    static const OpCode binary[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MAXIMUM};
    for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++) {
        OpCode o = binary[i];
        add_case((Case)B(o, T(2, N, 4, 0), T(2, N, 4, 0)));   /* same shape */
        add_case((Case)B(o, T(2, N, 4, 0), T(1, 4, 0, 0)));   /* bias-like */
        add_case((Case)B(o, T(1, 4, 0, 0), T(2, N, 4, 0)));   /* broadcast on the left */
        add_case((Case)B(o, T(2, 3, 1, 0), T(2, 1, 4, 0)));   /* both stretch */
        add_case((Case)B(o, T(2, 2, 3, 0), T(0, 0, 0, 0)));   /* scalar */
        add_case((Case)B(o, T(3, N, 2, 3), T(3, 1, 2, 1)));   /* rank 3 */
    }

    add_case((Case){OP_MATMUL, 2, {T(2, N, 4, 0), T(2, 4, 5, 0)}, {{0}}, 0});
    add_case((Case){OP_MATMUL, 2, {T(2, 4, 3, 0), T(2, 4, 5, 0)}, {attr_bool("trans_a", 1)}, 1});
    add_case((Case){OP_MATMUL, 2, {T(2, N, 3, 0), T(2, N, 5, 0)}, {attr_bool("trans_a", 1)}, 1});
    add_case((Case){OP_MATMUL, 2, {T(2, N, 4, 0), T(2, 5, 4, 0)}, {attr_bool("trans_b", 1)}, 1});
    add_case((Case){OP_MATMUL, 2, {T(2, 4, 3, 0), T(2, 5, 4, 0)},
                    {attr_bool("trans_a", 1), attr_bool("trans_b", 1)}, 2});

    static const OpCode reduce[] = {OP_SUM, OP_MEAN, OP_MAX};
    for (size_t i = 0; i < sizeof reduce / sizeof reduce[0]; i++) {
        OpCode o = reduce[i];
        add_case((Case){o, 1, {T(3, N, 3, 4)}, {attr_ints("axes", ax1, 1)}, 1});
        add_case((Case){o, 1, {T(3, N, 3, 4)}, {{0}}, 0});                       /* all, N included */
        add_case((Case){o, 1, {T(3, N, 3, 4)}, {attr_ints("axes", ax0, 1)}, 1}); /* over N */
        add_case((Case){o, 1, {T(3, N, 3, 4)}, {attr_ints("axes", ax2, 1), attr_bool("keepdims", 1)}, 2});
        add_case((Case){o, 1, {T(3, N, 3, 4)}, {attr_ints("axes", ax02, 2), attr_bool("keepdims", 1)}, 2});
        add_case((Case){o, 1, {T(3, 2, 3, 4)}, {attr_ints("axes", ax12, 2)}, 1});
    }

    add_case((Case){OP_RESHAPE, 1, {T(2, N, 6, 0)}, {attr_ints("shape", sh_n23, 3)}, 1});
    add_case((Case){OP_RESHAPE, 1, {T(1, 6, 0, 0)}, {attr_ints("shape", sh_23, 2)}, 1});
    add_case((Case){OP_FLATTEN, 1, {T(3, N, 2, 3)}, {{0}}, 0});
    add_case((Case){OP_FLATTEN, 1, {T(1, N, 0, 0)}, {{0}}, 0});
    add_case((Case){OP_TRANSPOSE, 1, {T(3, 2, 3, 4)}, {attr_ints("perm", perm201, 3)}, 1});
    add_case((Case){OP_TRANSPOSE, 1, {T(3, N, 3, 4)}, {attr_ints("perm", perm021, 3)}, 1});
    add_case((Case){OP_TRANSPOSE, 1, {T(2, 3, 4, 0)}, {{0}}, 0});
    add_case((Case){OP_CONCAT, 2, {T(2, N, 2, 0), T(2, N, 3, 0)}, {{0}}, 0});
    add_case((Case){OP_CONCAT, 2, {T(2, 2, 3, 0), T(2, 4, 3, 0)}, {attr_int("axis", 0)}, 1});
    add_case((Case){OP_CONCAT, 3, {T(3, N, 1, 2), T(3, N, 3, 2), T(3, N, 2, 2)}, {attr_int("axis", 1)}, 1});
    add_case((Case){OP_SLICE, 1, {T(2, N, 6, 0)}, {attr_int("axis", 1), attr_int("start", 2), attr_int("size", 3)}, 3});
    add_case((Case){OP_SLICE, 1, {T(2, 5, 3, 0)}, {attr_int("axis", 0), attr_int("start", 0), attr_int("size", 2)}, 3});
    add_case((Case){OP_SLICE, 1, {T(2, N, 6, 0)}, {attr_int("axis", -1), attr_int("start", 4), attr_int("size", 2)}, 3});
    add_case((Case){OP_BROADCAST_TO, 1, {T(1, 4, 0, 0)}, {attr_ints("shape", sh_n4, 2)}, 1});
    add_case((Case){OP_BROADCAST_TO, 1, {T(2, 3, 1, 0)}, {attr_ints("shape", sh_35, 2)}, 1});
    add_case((Case){OP_BROADCAST_TO, 1, {T(0, 0, 0, 0)}, {attr_ints("shape", sh_22, 2)}, 1});
    add_case((Case){OP_SUM_TO, 1, {T(2, N, 4, 0)}, {attr_ints("shape", sh_4, 1)}, 1});
    add_case((Case){OP_SUM_TO, 1, {T(2, 3, 5, 0)}, {attr_ints("shape", sh_31, 2)}, 1});
    add_case((Case){OP_SUM_TO, 1, {T(2, 2, 3, 0)}, {attr_ints("shape", NULL, 0)}, 1});

    static const OpCode soft[] = {OP_SOFTMAX, OP_LOG_SOFTMAX};
    for (size_t i = 0; i < 2; i++) {
        add_case((Case){soft[i], 1, {T(2, N, 5, 0)}, {{0}}, 0});
        add_case((Case){soft[i], 1, {T(3, N, 3, 4)}, {attr_int("axis", 1)}, 1});
    }

    for (int logits = 0; logits <= 1; logits++) {
        add_case((Case){OP_SPARSE_CATEGORICAL_CROSSENTROPY, 2, {T(2, N, 5, 0), LABELS()},
                        {attr_bool("from_logits", logits)}, 1});
        add_case((Case){OP_CATEGORICAL_CROSSENTROPY, 2, {T(2, N, 4, 0), T(2, N, 4, 0)},
                        {attr_bool("from_logits", logits)}, 1});
        add_case((Case){OP_BINARY_CROSSENTROPY, 2, {T(2, N, 3, 0), T(2, N, 3, 0)},
                        {attr_bool("from_logits", logits)}, 1});
        add_case((Case){OP_BINARY_CROSSENTROPY, 2, {T(1, N, 0, 0), T(1, N, 0, 0)},
                        {attr_bool("from_logits", logits)}, 1});
    }
    add_case((Case){OP_MEAN_SQUARED_ERROR, 2, {T(2, N, 3, 0), T(2, N, 3, 0)}, {{0}}, 0});
    add_case((Case){OP_MEAN_SQUARED_ERROR, 2, {T(1, N, 0, 0), T(1, N, 0, 0)}, {{0}}, 0});

    add_case((Case){OP_GLOBAL_AVG_POOL2D, 1, {T4(N, 3, 4, 5)}, {{0}}, 0});
    add_case((Case){OP_GLOBAL_AVG_POOL2D, 1, {T4(2, 2, 1, 3)}, {{0}}, 0});
    static const int64_t k22[] = {2, 2}, k33[] = {3, 3}, k23[] = {2, 3}, s21[] = {2, 1}, s22[] = {2, 2};
    static const int64_t p1111[] = {1, 1, 1, 1}, p0110[] = {0, 1, 1, 0};
    static const OpCode pools[] = {OP_MAX_POOL2D, OP_AVG_POOL2D};
    for (size_t i = 0; i < 2; i++) {
        OpCode o = pools[i];
        add_case((Case){o, 1, {T4(N, 2, 4, 4)}, {attr_ints("kernel", k22, 2), attr_ints("strides", s22, 2)}, 2});
        add_case((Case){o, 1, {T4(N, 2, 5, 5)}, {attr_ints("kernel", k33, 2)}, 1}); /* overlapping, stride 1 */
        add_case((Case){o, 1, {T4(2, 1, 5, 6)},
                        {attr_ints("kernel", k33, 2), attr_ints("strides", s22, 2), attr_ints("pads", p1111, 4)}, 3});
        add_case((Case){o, 1, {T4(N, 2, 5, 4)},
                        {attr_ints("kernel", k23, 2), attr_ints("strides", s21, 2), attr_ints("pads", p0110, 4)}, 3});
    }
    add_case((Case){OP_AVG_POOL2D, 1, {T4(N, 2, 5, 6)},
                    {attr_ints("kernel", k33, 2), attr_ints("strides", s22, 2), attr_ints("pads", p1111, 4),
                     attr_bool("count_include_pad", 1)}, 4});

    /* conv2d: x, w and bias gradients (conv2d_grad_input, conv2d_grad_filter,
     * sum over [0, 2, 3]): plain; strides 2 with padding; dilation 2 with
     * one-sided padding; groups 2 with strides [2, 1] (no bias); depthwise
     * (groups = channels) with dilation 2 and padding. */
    static const int64_t d22[] = {2, 2};
    add_case((Case){OP_CONV2D, 3, {T4(N, 2, 5, 5), T4(3, 2, 3, 3), T(1, 3, 0, 0)}, {{0}}, 0});
    add_case((Case){OP_CONV2D, 3, {T4(N, 2, 6, 5), T4(3, 2, 3, 3), T(1, 3, 0, 0)},
                    {attr_ints("strides", s22, 2), attr_ints("pads", p1111, 4)}, 2});
    add_case((Case){OP_CONV2D, 3, {T4(2, 2, 7, 6), T4(2, 2, 2, 3), T(1, 2, 0, 0)},
                    {attr_ints("dilations", d22, 2), attr_ints("pads", p0110, 4)}, 2});
    add_case((Case){OP_CONV2D, 2, {T4(N, 4, 5, 5), T4(4, 2, 3, 2)},
                    {attr_int("group", 2), attr_ints("strides", s21, 2)}, 2});
    add_case((Case){OP_CONV2D, 3, {T4(N, 3, 4, 4), T4(3, 1, 3, 3), T(1, 3, 0, 0)},
                    {attr_int("group", 3), attr_ints("dilations", d22, 2), attr_ints("pads", p1111, 4)}, 3});
}

/* Every op with a gradient rule (G in ops.def) has at least one case. */
START_TEST(every_g_op_has_a_case)
{
    build_cases();
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_info((OpCode)op)->grad != GRAD_RULE) continue;
        bool found = false;
        for (int i = 0; i < ncases; i++) found |= cases[i].op == (OpCode)op;
        ck_assert_msg(found, "op '%s' has a gradient rule but no gradcheck case", op_info((OpCode)op)->name);
    }
}
END_TEST

/* Case _i, checked in f64 by central differences. */
START_TEST(op_gradients_match_finite_differences)
{
    build_cases();
    ck_assert_int_lt(_i, ncases);
    const Case *c = &cases[_i];
    GradcheckOptions o;
    gradcheck_default_options(&o);
    o.seed = 7 + (uint64_t)_i;
    o.max_elems = 0; /* all elements: the shapes are small */
    char *buf = NULL;
    size_t len = 0;
    FILE *rep = open_memstream(&buf, &len);
    GradcheckStat s = gradcheck_op(c->op, c->in, c->nin, c->attrs, c->nattrs, &o, rep);
    fclose(rep);
    ck_assert_msg(s.error == NULL, "case %d (%s): %s\n%s", _i, op_info(c->op)->name, s.error, buf);
    ck_assert_msg(s.checked > 0, "case %d (%s): nothing checked\n%s", _i, op_info(c->op)->name, buf);
    ck_assert_msg(s.failed == 0, "case %d (%s): %lld of %lld elements fail\n%s", _i, op_info(c->op)->name,
                  (long long)s.failed, (long long)s.checked, buf);
    free(buf);
}
END_TEST

/* ---- whole models -------------------------------------------------------- */

static Arena arena;

static Graph *new_graph(const char *name)
{
    arena_init(&arena);
    return ir_graph_new(&arena, name, MODE_TRAIN);
}

static TensorType F(int rank, int64_t d0, int64_t d1)
{
    int64_t d[2] = {d0, d1};
    return tt_make(DT_F32, rank, d);
}

static Node *param(Graph *g, const char *name, TensorType t, const char *init)
{
    Attr a = attr_str("init", init);
    return ir_param(g, name, t, &a, 1, SRCLOC_NONE);
}

static Node *op2(Graph *g, OpCode op, Node *a, Node *b) { return ir_binary(g, op, a, b, SRCLOC_NONE); }
static Node *op1(Graph *g, OpCode op, Node *a) { return ir_unary(g, op, a, SRCLOC_NONE); }

/* dense: x @ w + b with fresh params. */
static Node *dense(Graph *g, Node *x, int64_t in, int64_t out, const char *prefix)
{
    char k[64], b[64];
    snprintf(k, sizeof k, "%s.kernel", prefix);
    snprintf(b, sizeof b, "%s.bias", prefix);
    Node *w = param(g, k, F(2, in, out), "glorot_uniform");
    Node *bias = param(g, b, F(1, out, 0), "zeros");
    return op2(g, OP_ADD, op2(g, OP_MATMUL, x, w), bias);
}

static Node *loss_node(Graph *g, OpCode op, Node *x, Node *t, bool logits)
{
    Node *in[2] = {x, t};
    Attr a = attr_bool("from_logits", logits);
    return ir_node(g, op, in, 2, op == OP_MEAN_SQUARED_ERROR ? NULL : &a, op == OP_MEAN_SQUARED_ERROR ? 0 : 1,
                   SRCLOC_NONE);
}

/* Runs gradcheck_graph and asserts it passes, showing the report if not. */
static void expect_pass(Graph *g, int64_t batch)
{
    GradcheckOptions o;
    gradcheck_default_options(&o);
    o.batch = batch;
    char *buf = NULL;
    size_t len = 0;
    FILE *rep = open_memstream(&buf, &len);
    int fails = gradcheck_graph(g, &o, rep);
    fclose(rep);
    ck_assert_msg(fails == 0, "gradcheck failed:\n%s", buf);
    ck_assert_msg(strstr(buf, "parameters pass") != NULL, "report: %s", buf);
    free(buf);
    arena_free(&arena);
}

START_TEST(mlp_relu_softmax_ce)
{
    Graph *g = new_graph("mlp");
    Node *x = ir_input(g, "image", F(2, N, 6), SRCLOC_NONE);
    Node *y = ir_input(g, "label", tt_make(DT_I32, 1, (int64_t[]){N}), SRCLOC_NONE);
    Node *h = op1(g, OP_RELU, dense(g, x, 6, 5, "dense_1"));
    Node *logits = dense(g, h, 5, 3, "dense_2");
    g->loss = loss_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY, logits, y, true);
    expect_pass(g, 4);
}
END_TEST

START_TEST(mlp_softmax_probs_categorical_ce)
{
    Graph *g = new_graph("mlp_probs");
    Node *x = ir_input(g, "x", F(2, N, 4), SRCLOC_NONE);
    Node *t = ir_input(g, "target", F(2, N, 3), SRCLOC_NONE);
    Node *h = op1(g, OP_TANH, dense(g, x, 4, 6, "dense_1"));
    Node *probs = ir_node(g, OP_SOFTMAX, (Node *[]){dense(g, h, 6, 3, "dense_2")}, 1, NULL, 0, SRCLOC_NONE);
    g->loss = loss_node(g, OP_CATEGORICAL_CROSSENTROPY, probs, t, false);
    expect_pass(g, 3);
}
END_TEST

START_TEST(mlp_with_dropout)
{
    Graph *g = new_graph("mlp_dropout");
    Node *x = ir_input(g, "image", F(2, N, 6), SRCLOC_NONE);
    Node *y = ir_input(g, "label", tt_make(DT_I32, 1, (int64_t[]){N}), SRCLOC_NONE);
    Node *h = op1(g, OP_RELU, dense(g, x, 6, 8, "dense_1"));
    Attr rate = attr_float("rate", 0.5);
    Node *mask = ir_node(g, OP_DROPOUT_MASK, &h, 1, &rate, 1, SRCLOC_NONE);
    Node *hd = op2(g, OP_MUL, h, mask);
    Node *logits = dense(g, hd, 8, 3, "dense_2");
    g->loss = loss_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY, logits, y, true);
    expect_pass(g, 4);
}
END_TEST

START_TEST(logistic_regression)
{
    Graph *g = new_graph("logreg");
    Node *x = ir_input(g, "x", F(2, N, 4), SRCLOC_NONE);
    Node *t = ir_input(g, "y", F(2, N, 1), SRCLOC_NONE);
    Node *z = dense(g, x, 4, 1, "dense_1");
    g->loss = loss_node(g, OP_BINARY_CROSSENTROPY, z, t, true);
    expect_pass(g, 5);
}
END_TEST

/* A loss written with mean over all axes, N included: its gradient divides
 * by the run-time n through sum(broadcast_to(1, [N])). */
START_TEST(regression_with_mean_over_batch)
{
    Graph *g = new_graph("regress");
    Node *x = ir_input(g, "x", F(2, N, 3), SRCLOC_NONE);
    Node *t = ir_input(g, "t", F(2, N, 2), SRCLOC_NONE);
    Node *p = dense(g, x, 3, 2, "dense_1");
    Node *e = op1(g, OP_SQUARE, op2(g, OP_SUB, p, t));
    Attr ax = attr_ints("axes", (const int64_t[]){0}, 1);
    Node *m0 = ir_node(g, OP_MEAN, &e, 1, &ax, 1, SRCLOC_NONE); /* over N: f32[2] */
    g->loss = ir_node(g, OP_SUM, &m0, 1, NULL, 0, SRCLOC_NONE);
    expect_pass(g, 3);
}
END_TEST

/* A coarse step breaks the finite differences of exp but not of the
 * linear ops: the check fails and names exp as the worst op. */
START_TEST(attribution_names_the_worst_op)
{
    Graph *g = new_graph("coarse");
    Node *x = ir_input(g, "x", F(2, N, 3), SRCLOC_NONE);
    Node *w = param(g, "w", F(2, 3, 2), "glorot_uniform");
    Node *e = op1(g, OP_EXP, op2(g, OP_MATMUL, x, w));
    g->loss = ir_node(g, OP_MEAN, &e, 1, NULL, 0, SRCLOC_NONE);
    GradcheckOptions o;
    gradcheck_default_options(&o);
    o.eps = 0.5;
    char *buf = NULL;
    size_t len = 0;
    FILE *rep = open_memstream(&buf, &len);
    int fails = gradcheck_graph(g, &o, rep);
    fclose(rep);
    ck_assert_int_eq(fails, 1);
    ck_assert_msg(strstr(buf, "w f32[3,2]") && strstr(buf, "FAIL"), "report: %s", buf);
    ck_assert_msg(strstr(buf, "worst op: 'exp'") != NULL, "report: %s", buf);
    free(buf);
    arena_free(&arena);
}
END_TEST

int main(void)
{
    build_cases();
    Suite *s = suite_create("gradcheck");
    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, every_g_op_has_a_case);
    tcase_add_loop_test(ops, op_gradients_match_finite_differences, 0, ncases);
    suite_add_tcase(s, ops);
    TCase *models = tcase_create("models");
    tcase_set_timeout(models, 120);
    tcase_add_test(models, mlp_relu_softmax_ce);
    tcase_add_test(models, mlp_softmax_probs_categorical_ce);
    tcase_add_test(models, mlp_with_dropout);
    tcase_add_test(models, logistic_regression);
    tcase_add_test(models, regression_with_mean_over_batch);
    tcase_add_test(models, attribution_names_the_worst_op);
    suite_add_tcase(s, models);
    return tu_run_suite(s);
}
