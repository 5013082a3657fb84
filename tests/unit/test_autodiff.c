/* test_autodiff.c - the structure of what the autodiff pass builds.
 *
 * Gradients exist exactly for the params with a differentiable path to the
 * loss (none for inputs, none through Z ops such as dropout masks), in the
 * params' graph order, each typed like its param; the result verifies; a
 * `_` op on the path, a missing loss and a parameter-dependent target are
 * user errors with their messages; a value used twice accumulates; a mean
 * over the batch divides by the run-time n; maximum splits ties evenly.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "testutil.h"

#define N DIM_N

static Arena arena;
static Graph *g;
static const PassOptions opts = {0};

static void setup(void)
{
    arena_init(&arena);
    g = ir_graph_new(&arena, "t", MODE_TRAIN);
}

static void teardown(void)
{
    arena_free(&arena);
}

static TensorType F(int rank, int64_t d0, int64_t d1)
{
    int64_t d[2] = {d0, d1};
    return tt_make(DT_F32, rank, d);
}

static Node *param(const char *name, TensorType t)
{
    Attr a = attr_str("init", "glorot_uniform");
    return ir_param(g, name, t, &a, 1, SRCLOC_NONE);
}

static Node *in(const char *name, TensorType t) { return ir_input(g, name, t, SRCLOC_NONE); }
static Node *op2(OpCode op, Node *a, Node *b) { return ir_binary(g, op, a, b, SRCLOC_NONE); }
static Node *op1(OpCode op, Node *a, const Attr *at, int na) { return ir_node(g, op, &a, 1, at, na, SRCLOC_NONE); }

static Node *sce(Node *logits, Node *labels)
{
    Node *x[2] = {logits, labels};
    Attr a = attr_bool("from_logits", 1);
    return ir_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY, x, 2, &a, 1, SRCLOC_NONE);
}

/* tu_capture_error callback: differentiates g with opts. */
static void autodiff_cb(void *ctx)
{
    (void)ctx;
    pass_autodiff(g, &opts);
}

/* Runs pass_autodiff expecting a user error; returns its message. */
static char *autodiff_error(void)
{
    static char msg[4096];
    char *buf = tu_capture_error(autodiff_cb, NULL);
    ck_assert_msg(buf != NULL, "autodiff succeeded, an error was expected");
    snprintf(msg, sizeof msg, "%s", buf);
    free(buf);
    return msg;
}

START_TEST(mlp_gets_one_gradient_per_param)
{
    Node *x = in("image", F(2, N, 6)), *y = in("label", tt_make(DT_I32, 1, (int64_t[]){N}));
    Node *w1 = param("dense_1.kernel", F(2, 6, 5)), *b1 = param("dense_1.bias", F(1, 5, 0));
    Node *h = op1(OP_RELU, op2(OP_ADD, op2(OP_MATMUL, x, w1), b1), NULL, 0);
    Node *w2 = param("dense_2.kernel", F(2, 5, 3)), *b2 = param("dense_2.bias", F(1, 3, 0));
    Node *logits = op2(OP_ADD, op2(OP_MATMUL, h, w2), b2);
    g->loss = sce(logits, y);
    pass_autodiff(g, &opts);
    ck_assert_ptr_null(ir_verify(g));
    ck_assert_int_eq(g->ngrads, 4);
    Node *want[4] = {w1, b1, w2, b2};
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_eq(g->grad_params[i], want[i]);
        ck_assert(tt_equal(&g->grads[i]->type, &want[i]->type));
        ck_assert_int_ne(g->grads[i]->op, OP_INPUT);
    }
    /* the bias gradients sum the batch away; weight gradients use trans flags */
    ck_assert_int_eq(g->grads[1]->op, OP_SUM_TO);
    ck_assert_int_eq(g->grads[0]->op, OP_MATMUL);
    ck_assert(node_attr_int(g->grads[0], "trans_a"));
    /* no node computes an adjoint for the inputs: nothing transposes x back */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_MATMUL && n->in[1] == w1) ck_assert(!node_attr_int(n, "trans_b"));
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print_text(f, g);
    fclose(f);
    ck_assert_msg(strstr(buf, "grad %dense_1.kernel = %") != NULL, "%s", buf);
    free(buf);
}
END_TEST

START_TEST(params_off_the_path_get_none)
{
    Node *x = in("x", F(2, N, 4));
    Node *w = param("w", F(2, 4, 2)), *unused = param("unused", F(1, 2, 0));
    Node *gate = param("gate", F(2, 4, 4));
    /* gate reaches the loss only through a dropout mask (a Z op) */
    Attr rate = attr_float("rate", 0.5);
    Node *mask = op1(OP_DROPOUT_MASK, op2(OP_MATMUL, x, gate), &rate, 1);
    Node *z = op2(OP_MATMUL, op2(OP_MUL, x, mask), w);
    g->outputs = ARENA_NEW(&arena, NamedValue);
    g->outputs[0] = (NamedValue){"o", op2(OP_ADD, z, unused), SRCLOC_NONE};
    g->noutputs = 1;
    g->loss = op1(OP_MEAN, z, NULL, 0);
    pass_autodiff(g, &opts);
    ck_assert_ptr_null(ir_verify(g));
    ck_assert_int_eq(g->ngrads, 1);
    ck_assert_ptr_eq(g->grad_params[0], w);
    /* nothing differentiates through the mask: gate keeps its one use */
    int uses = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) uses += g->nodes[i]->in[k] == gate;
    ck_assert_int_eq(uses, 1);
}
END_TEST

START_TEST(op_without_rule_is_an_error)
{
    SrcFile *file = srcfile_from_string(&arena, "m.nn", "y = relu_grad(x, w)\n", 20);
    Node *x = in("x", F(2, N, 3)), *w = param("w", F(2, 1, 3));
    Node *wb = op2(OP_ADD, w, op2(OP_MUL, x, ir_const(g, DT_F32, 0, SRCLOC_NONE)));
    Node *xs[2] = {x, wb};
    Node *r = ir_node(g, OP_RELU_GRAD, xs, 2, NULL, 0, (SrcLoc){file, 1, 5});
    g->loss = op1(OP_SUM, r, NULL, 0);
    char *msg = autodiff_error();
    ck_assert_msg(strstr(msg, "m.nn:1:5: error: cannot differentiate through 'relu_grad'") != NULL, "%s", msg);
}
END_TEST

START_TEST(missing_loss_is_an_error)
{
    param("w", F(1, 3, 0));
    char *msg = autodiff_error();
    ck_assert_msg(strstr(msg, "training needs a loss") != NULL, "%s", msg);
}
END_TEST

START_TEST(parameter_dependent_target_is_an_error)
{
    Node *x = in("x", F(2, N, 3)), *w = param("w", F(2, 3, 3));
    Node *p = op2(OP_MATMUL, x, w);
    Node *xs[2] = {x, op1(OP_SOFTMAX, p, NULL, 0)};
    g->loss = ir_node(g, OP_CATEGORICAL_CROSSENTROPY, xs, 2, NULL, 0, SRCLOC_NONE);
    char *msg = autodiff_error();
    ck_assert_msg(strstr(msg, "cannot differentiate 'categorical_crossentropy' with respect to its targets"), "%s",
                  msg);
}
END_TEST

/* loss = sum(w * w): both uses contribute, d/dw = 2w. */
START_TEST(shared_operands_accumulate)
{
    Node *w = param("w", F(1, 4, 0));
    g->loss = op1(OP_SUM, op2(OP_MUL, w, w), NULL, 0);
    pass_autodiff(g, &opts);
    ck_assert_int_eq(g->ngrads, 1);
    ck_assert_int_eq(g->grads[0]->op, OP_ADD);
    Interp *it = interp_new(g, 1, 5);
    interp_run(it);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(interp_buf(it, g->grads[0])[i], 2 * interp_buf(it, w)[i], 1e-12);
    interp_free(it);
}
END_TEST

/* d mean(x * w) / dw over [N,3] is the column mean of x: the gradient must
 * divide by the n bound at run time, not by a number fixed at compile time. */
START_TEST(mean_over_batch_divides_by_runtime_n)
{
    Node *x = in("x", F(2, N, 3)), *w = param("w", F(1, 3, 0));
    Attr ax = attr_ints("axes", (const int64_t[]){0}, 1);
    Node *m = op1(OP_MEAN, op2(OP_MUL, x, w), &ax, 1);
    g->loss = op1(OP_SUM, m, NULL, 0);
    pass_autodiff(g, &opts);
    ck_assert_ptr_null(ir_verify(g));
    for (int64_t n = 1; n <= 4; n++) {
        Interp *it = interp_new(g, n, 1);
        double *xb = interp_buf(it, x);
        for (int64_t i = 0; i < 3 * n; i++) xb[i] = (double)(i + 1);
        interp_run(it);
        for (int j = 0; j < 3; j++) {
            double want = 0;
            for (int64_t r = 0; r < n; r++) want += xb[r * 3 + j];
            ck_assert_double_eq_tol(interp_buf(it, g->grads[0])[j], want / (double)n, 1e-12);
        }
        interp_free(it);
    }
}
END_TEST

/* d sum(maximum(a, b)) routes 1 to the larger operand and splits it evenly
 * on a tie (PyTorch's rule, docs/autodiff.md): exactly 0.5 each where
 * a == b, 1 and 0 elsewhere; over [N,4] against a broadcast [4], the
 * [4] operand's gradient sums its rows.  (gradcheck draws random points,
 * where ties do not happen.) */
START_TEST(maximum_splits_ties_evenly)
{
    Node *x = in("x", F(2, N, 4)), *a = param("a", F(1, 4, 0)), *b = param("b", F(1, 4, 0));
    g->loss = op2(OP_ADD, op1(OP_SUM, op2(OP_MAXIMUM, a, b), NULL, 0), op1(OP_SUM, op2(OP_MAXIMUM, x, a), NULL, 0));
    pass_autodiff(g, &opts);
    ck_assert_ptr_null(ir_verify(g));
    ck_assert_int_eq(g->ngrads, 2);
    Interp *it = interp_new(g, 3, 1);
    const double av[4] = {1, 2, 3, -4}, bv[4] = {1, 5, 0, -4};
    /* rows of x against a: a tie, below, above, a tie */
    const double xv[3][4] = {{1, 0, 3, -4}, {1, 2, 9, -5}, {1, 2, 3, 0}};
    for (int j = 0; j < 4; j++) {
        interp_buf(it, a)[j] = av[j];
        interp_buf(it, b)[j] = bv[j];
        for (int r = 0; r < 3; r++) interp_buf(it, x)[r * 4 + j] = xv[r][j];
    }
    interp_run(it);
    /* maximum(a, b): a ties b at 0 and 3; maximum(x, a): per row */
    const double da[4] = {0.5 + 1.5, 0 + 2.0, 1 + 1.0, 0.5 + 1.5}, db[4] = {0.5, 1, 0, 0.5};
    for (int j = 0; j < 4; j++) {
        ck_assert_double_eq(interp_buf(it, g->grads[0])[j], da[j]);
        ck_assert_double_eq(interp_buf(it, g->grads[1])[j], db[j]);
    }
    interp_free(it);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autodiff");
    TCase *t = tcase_create("structure");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, mlp_gets_one_gradient_per_param);
    tcase_add_test(t, params_off_the_path_get_none);
    tcase_add_test(t, op_without_rule_is_an_error);
    tcase_add_test(t, missing_loss_is_an_error);
    tcase_add_test(t, parameter_dependent_target_is_an_error);
    tcase_add_test(t, shared_operands_accumulate);
    tcase_add_test(t, mean_over_batch_divides_by_runtime_n);
    tcase_add_test(t, maximum_splits_ties_evenly);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}
