/* test_interp.c - the reference interpreter's kernels against hand-computed
 * values, and the initializers (ir/init.c) against Keras' formulas and the
 * runtime's random streams.
 *
 * Each test builds a tiny graph with the builder, writes its inputs into
 * the interpreter's buffers, runs it and compares every output element.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/init.h"
#include "ir/interp.h"
#include "ir/ir.h"
#include "runtime/dlrt.h"
#include "testutil.h"

#define N DIM_N
#define TOL 1e-12

static Arena arena;
static Graph *g;

static void setup(void)
{
    arena_init(&arena);
    g = ir_graph_new(&arena, "t", MODE_TRAIN);
}

static void teardown(void)
{
    arena_free(&arena);
}

static TensorType T(DType dt, int rank, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t d[3] = {d0, d1, d2};
    return tt_make(dt, rank, d);
}

#define F64(...) T(DT_F64, __VA_ARGS__)

static Node *in(const char *name, TensorType t) { return ir_input(g, name, t, SRCLOC_NONE); }
static Node *op1(OpCode op, Node *a, const Attr *at, int na) { return ir_node(g, op, &a, 1, at, na, SRCLOC_NONE); }
static Node *op2(OpCode op, Node *a, Node *b, const Attr *at, int na)
{
    Node *x[2] = {a, b};
    return ir_node(g, op, x, 2, at, na, SRCLOC_NONE);
}
static Node *op3(OpCode op, Node *a, Node *b, Node *c, const Attr *at, int na)
{
    Node *x[3] = {a, b, c};
    return ir_node(g, op, x, 3, at, na, SRCLOC_NONE);
}

static void set(Interp *it, Node *n, const double *v)
{
    memcpy(interp_buf(it, n), v, sizeof(double) * (size_t)interp_numel(it, n));
}

/* Asserts node n holds exactly the m values want (within TOL). */
static void expect(Interp *it, Node *n, const double *want, int64_t m, double tol)
{
    ck_assert_int_eq(interp_numel(it, n), m);
    const double *got = interp_buf(it, n);
    for (int64_t i = 0; i < m; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "%s element %lld: got %.17g, want %.17g",
                      op_info(n->op)->name, (long long)i, got[i], want[i]);
}

#define EXPECT(it, n, tol, ...)                                                    \
    do {                                                                           \
        const double w_[] = {__VA_ARGS__};                                         \
        expect(it, n, w_, (int64_t)(sizeof w_ / sizeof w_[0]), tol);              \
    } while (0)

START_TEST(broadcasting_binary_ops)
{
    Node *a = in("a", F64(2, 2, 3, 0)), *b = in("b", F64(1, 3, 0, 0));
    Node *c = in("c", F64(2, 2, 1, 0)), *d = in("d", F64(2, 1, 3, 0));
    Node *s = in("s", F64(0, 0, 0, 0));
    Node *add = op2(OP_ADD, a, b, NULL, 0), *sub = op2(OP_SUB, c, d, NULL, 0);
    Node *mul = op2(OP_MUL, s, a, NULL, 0), *dv = op2(OP_DIV, a, b, NULL, 0);
    Node *pw = op2(OP_POW, b, s, NULL, 0), *mx = op2(OP_MAXIMUM, a, b, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    set(it, a, (double[]){1, 2, 3, 4, 5, 6});
    set(it, b, (double[]){10, 20, 30});
    set(it, c, (double[]){1, 2});
    set(it, d, (double[]){10, 20, 30});
    set(it, s, (double[]){2});
    interp_run(it);
    EXPECT(it, add, TOL, 11, 22, 33, 14, 25, 36);
    EXPECT(it, sub, TOL, -9, -19, -29, -8, -18, -28);
    EXPECT(it, mul, TOL, 2, 4, 6, 8, 10, 12);
    EXPECT(it, dv, TOL, 0.1, 0.1, 0.1, 0.4, 0.25, 0.2);
    EXPECT(it, pw, TOL, 100, 400, 900);
    EXPECT(it, mx, TOL, 10, 20, 30, 10, 20, 30);
    interp_free(it);
}
END_TEST

START_TEST(unary_and_activation_kernels)
{
    Node *x = in("x", F64(1, 4, 0, 0));
    Attr alpha = attr_float("alpha", 0.5);
    Node *relu = op1(OP_RELU, x, NULL, 0), *lrelu = op1(OP_LEAKY_RELU, x, &alpha, 1);
    Node *lrelu_default = op1(OP_LEAKY_RELU, x, NULL, 0);
    Node *elu = op1(OP_ELU, x, NULL, 0), *gelu = op1(OP_GELU, x, NULL, 0);
    Node *sig = op1(OP_SIGMOID, x, NULL, 0), *th = op1(OP_TANH, x, NULL, 0);
    Node *ab = op1(OP_ABS, x, NULL, 0), *sg = op1(OP_SIGN, x, NULL, 0), *sq = op1(OP_SQUARE, x, NULL, 0);
    Node *ng = op1(OP_NEG, x, NULL, 0), *ex = op1(OP_EXP, x, NULL, 0);
    Node *rg = op2(OP_RELU_GRAD, x, x, NULL, 0), *sgg = op2(OP_SIGMOID_GRAD, x, sig, NULL, 0);
    Node *tg = op2(OP_TANH_GRAD, x, th, NULL, 0), *eg = op2(OP_ELU_GRAD, x, x, NULL, 0);
    Node *lg = op2(OP_LEAKY_RELU_GRAD, x, x, &alpha, 1), *gg = op2(OP_GELU_GRAD, x, x, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){-2, -0.5, 0, 1});
    interp_run(it);
    EXPECT(it, relu, TOL, 0, 0, 0, 1);
    EXPECT(it, lrelu, TOL, -1, -0.25, 0, 1);
    EXPECT(it, lrelu_default, TOL, -0.6, -0.15, 0, 1);
    EXPECT(it, elu, TOL, exp(-2) - 1, exp(-0.5) - 1, 0, 1);
    EXPECT(it, gelu, 1e-9, -0.0455002638, -0.1542687694, 0, 0.8413447461);
    EXPECT(it, sig, TOL, 1 / (1 + exp(2)), 1 / (1 + exp(0.5)), 0.5, 1 / (1 + exp(-1)));
    EXPECT(it, th, TOL, tanh(-2), tanh(-0.5), 0, tanh(1));
    EXPECT(it, ab, TOL, 2, 0.5, 0, 1);
    EXPECT(it, sg, TOL, -1, -1, 0, 1);
    EXPECT(it, sq, TOL, 4, 0.25, 0, 1);
    EXPECT(it, ng, TOL, 2, 0.5, 0, -1);
    EXPECT(it, ex, TOL, exp(-2), exp(-0.5), 1, exp(1));
    /* gradients with dy = x */
    EXPECT(it, rg, TOL, 0, 0, 0, 1);
    EXPECT(it, lg, TOL, -1, -0.25, 0, 1);
    EXPECT(it, eg, TOL, -2 * exp(-2), -0.5 * exp(-0.5), 0, 1);
    double s1 = 1 / (1 + exp(-1.0));
    EXPECT(it, sgg, TOL, -2 * (1 / (1 + exp(2))) * (1 - 1 / (1 + exp(2))),
           -0.5 * (1 / (1 + exp(0.5))) * (1 - 1 / (1 + exp(0.5))), 0, s1 * (1 - s1));
    EXPECT(it, tg, TOL, -2 * (1 - tanh(2) * tanh(2)), -0.5 * (1 - tanh(0.5) * tanh(0.5)), 0, 1 - tanh(1) * tanh(1));
    /* gelu'(1) = Phi(1) + phi(1) */
    EXPECT(it, gg, 1e-9, -2 * (0.0227501319 - 2 * 0.0539909665), -0.5 * (0.3085375387 - 0.5 * 0.3520653268), 0,
           0.8413447461 + 0.2419707245);
    interp_free(it);
}
END_TEST

/* erf and clip, the elementwise ops of the convolution family, are their
 * ew formulas too, clip's two attributes read by name (and defaulting to
 * the f32 range). */
START_TEST(erf_and_clip)
{
    Node *x = in("x", F64(1, 4, 0, 0));
    Attr lim[2] = {attr_float("min", -0.5), attr_float("max", 0.75)};
    Node *cl = op1(OP_CLIP, x, lim, 2), *cl_max = op1(OP_CLIP, x, &lim[1], 1), *cl_none = op1(OP_CLIP, x, NULL, 0);
    Node *ef = op1(OP_ERF, x, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){-2, -0.25, 0.5, 1e39});
    interp_run(it);
    EXPECT(it, cl, 0, -0.5, -0.25, 0.5, 0.75);
    EXPECT(it, cl_max, 0, -2, -0.25, 0.5, 0.75);
    EXPECT(it, cl_none, 0, -2, -0.25, 0.5, 3.4028234663852886e38);
    EXPECT(it, ef, TOL, erf(-2), erf(-0.25), erf(0.5), 1);
    interp_free(it);
}
END_TEST

/* The ops flagged OPF_COMMUTATIVE in ops.def (cse matches their operands
 * in either order) give the same value with their operands swapped, at
 * points of mixed signs and a NaN. */
START_TEST(commutative_ops_commute)
{
    static const double a[] = {-2, -0.5, 0, 1, 3.25, NAN}, b[] = {0.75, -0.5, 1, -3, 2.5e-3, 1};
    int checked = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (!(op_info((OpCode)op)->flags & OPF_COMMUTATIVE)) continue;
        Node *x = in(arena_printf(&arena, "x%d", op), F64(1, 6, 0, 0));
        Node *y = in(arena_printf(&arena, "y%d", op), F64(1, 6, 0, 0));
        Node *xy = op2((OpCode)op, x, y, NULL, 0), *yx = op2((OpCode)op, y, x, NULL, 0);
        Interp *it = interp_new(g, 1, 0);
        set(it, x, a);
        set(it, y, b);
        interp_run(it);
        const double *p = interp_buf(it, xy), *q = interp_buf(it, yx);
        for (int i = 0; i < 6; i++)
            ck_assert_msg(p[i] == q[i] || (isnan(p[i]) && isnan(q[i])), "%s(%g, %g): %g, swapped %g",
                          op_info((OpCode)op)->name, a[i], b[i], p[i], q[i]);
        interp_free(it);
        checked++;
    }
    ck_assert_int_eq(checked, 3);
}
END_TEST

START_TEST(matmul_with_trans_flags)
{
    Node *a = in("a", F64(2, 2, 3, 0)), *b = in("b", F64(2, 3, 2, 0));
    Node *at = in("at", F64(2, 3, 2, 0)), *bt = in("bt", F64(2, 2, 3, 0));
    Attr ta = attr_bool("trans_a", 1), tb = attr_bool("trans_b", 1), both[2] = {ta, tb};
    Node *p = op2(OP_MATMUL, a, b, NULL, 0);
    Node *pa = op2(OP_MATMUL, at, b, &ta, 1);
    Node *pb = op2(OP_MATMUL, a, bt, &tb, 1);
    Node *pab = op2(OP_MATMUL, at, bt, both, 2);
    /* contraction over the batch: x^T @ dy with x [N,2], dy [N,3] */
    Node *x = in("x", F64(2, N, 2, 0)), *dy = in("dy", F64(2, N, 3, 0));
    Node *w = op2(OP_MATMUL, x, dy, &ta, 1);
    Interp *it = interp_new(g, 2, 0);
    set(it, a, (double[]){1, 2, 3, 4, 5, 6});
    set(it, b, (double[]){7, 8, 9, 10, 11, 12});
    set(it, at, (double[]){1, 4, 2, 5, 3, 6});    /* a transposed */
    set(it, bt, (double[]){7, 9, 11, 8, 10, 12}); /* b transposed */
    set(it, x, (double[]){1, 2, 3, 4});
    set(it, dy, (double[]){1, 0, 2, 0, 1, 1});
    interp_run(it);
    EXPECT(it, p, TOL, 58, 64, 139, 154);
    EXPECT(it, pa, TOL, 58, 64, 139, 154);
    EXPECT(it, pb, TOL, 58, 64, 139, 154);
    EXPECT(it, pab, TOL, 58, 64, 139, 154);
    EXPECT(it, w, TOL, 1, 3, 5, 2, 4, 8);
    interp_free(it);
}
END_TEST

START_TEST(reductions_bind_the_batch)
{
    Node *x = in("x", F64(2, N, 3, 0));
    Attr a0 = attr_ints("axes", (const int64_t[]){0}, 1), a1 = attr_ints("axes", (const int64_t[]){-1}, 1);
    Attr keep[2] = {a1, attr_bool("keepdims", 1)};
    Node *s0 = op1(OP_SUM, x, &a0, 1), *m0 = op1(OP_MEAN, x, &a0, 1), *mall = op1(OP_MEAN, x, NULL, 0);
    Node *mx1 = op1(OP_MAX, x, &a1, 1), *sk = op1(OP_SUM, x, keep, 2), *sall = op1(OP_SUM, x, NULL, 0);
    Interp *it = interp_new(g, 2, 0);
    set(it, x, (double[]){1, 2, 3, 4, 5, 6});
    interp_run(it);
    EXPECT(it, s0, TOL, 5, 7, 9);
    EXPECT(it, m0, TOL, 2.5, 3.5, 4.5);
    EXPECT(it, mall, TOL, 3.5);
    EXPECT(it, mx1, TOL, 3, 6);
    EXPECT(it, sk, TOL, 6, 15);
    EXPECT(it, sall, TOL, 21);
    interp_free(it);
    /* the same graph at n = 3 */
    it = interp_new(g, 3, 0);
    set(it, x, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    interp_run(it);
    EXPECT(it, m0, TOL, 4, 5, 6);
    EXPECT(it, mall, TOL, 5);
    interp_free(it);
}
END_TEST

START_TEST(max_grad_routes_to_the_first_maximum)
{
    Node *x = in("x", F64(2, 2, 3, 0));
    Attr a1 = attr_ints("axes", (const int64_t[]){1}, 1);
    Node *y = op1(OP_MAX, x, &a1, 1);
    Node *dy = in("dy", F64(1, 2, 0, 0));
    Node *dx = op3(OP_MAX_GRAD, dy, x, y, &a1, 1);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){1, 5, 5, 2, 0, 1});
    set(it, dy, (double[]){10, 20});
    interp_run(it);
    EXPECT(it, y, TOL, 5, 2);
    EXPECT(it, dx, TOL, 0, 10, 0, 20, 0, 0);
    interp_free(it);
}
END_TEST

/* max_pool2d_grad sends each window's dy to its first maximum in row-major
 * order (ties: the earlier position); avg_pool2d_grad divides as the
 * forward average does, by the positions inside the input or by kh*kw
 * with count_include_pad. */
START_TEST(pool_grads_route_and_spread)
{
    Node *x = in("x", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 2, 4}));
    Attr mx[2] = {attr_ints("kernel", (const int64_t[]){2, 2}, 2), attr_ints("strides", (const int64_t[]){2, 2}, 2)};
    Node *dym = in("dym", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 1, 2}));
    Node *dxm = op2(OP_MAX_POOL2D_GRAD, x, dym, mx, 2);
    Attr av[4] = {mx[0], mx[1], attr_ints("pads", (const int64_t[]){0, 1, 0, 1}, 4), attr_bool("count_include_pad", 0)};
    Node *dya = in("dya", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 1, 3}));
    Node *dxa = op2(OP_AVG_POOL2D_GRAD, x, dya, av, 4);
    av[3] = attr_bool("count_include_pad", 1);
    Node *dxp = op2(OP_AVG_POOL2D_GRAD, x, dya, av, 4);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){3, 1, 2, 2, 3, 0, 1, 2});
    set(it, dym, (double[]){10, 20});
    set(it, dya, (double[]){2, 4, 6});
    interp_run(it);
    EXPECT(it, dxm, TOL, 10, 0, 20, 0, 0, 0, 0, 0);
    EXPECT(it, dxa, TOL, 1, 1, 1, 3, 1, 1, 1, 3);
    EXPECT(it, dxp, TOL, 0.5, 1, 1, 1.5, 0.5, 1, 1, 1.5);
    interp_free(it);
}
END_TEST

/* conv2d_grad_input / conv2d_grad_filter on a hand-computed case: a 2x2
 * filter with strides 2 over a 3x3 image padded by one row and column at
 * the bottom and right (the padding's terms do not exist). */
START_TEST(conv2d_grads_transpose_and_correlate)
{
    Node *x = in("x", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 3, 3}));
    Node *w = in("w", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 2, 2}));
    Node *dy = in("dy", tt_make(DT_F64, 4, (const int64_t[]){1, 1, 2, 2}));
    Attr at[2] = {attr_ints("strides", (const int64_t[]){2, 2}, 2), attr_ints("pads", (const int64_t[]){0, 0, 1, 1}, 4)};
    Node *dx = op3(OP_CONV2D_GRAD_INPUT, x, w, dy, at, 2), *dw = op3(OP_CONV2D_GRAD_FILTER, x, w, dy, at, 2);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    set(it, w, (double[]){1, 2, 3, 4});
    set(it, dy, (double[]){1, 2, 3, 4});
    interp_run(it);
    EXPECT(it, dx, TOL, 1, 2, 2, 3, 4, 6, 3, 6, 4);
    EXPECT(it, dw, TOL, 64, 26, 16, 5);
    interp_free(it);
}
END_TEST

START_TEST(softmax_family_is_stable)
{
    Node *x = in("x", F64(2, 2, 3, 0));
    Node *sm = op1(OP_SOFTMAX, x, NULL, 0), *lsm = op1(OP_LOG_SOFTMAX, x, NULL, 0);
    Attr ax0 = attr_int("axis", 0);
    Node *sm0 = op1(OP_SOFTMAX, x, &ax0, 1);
    Node *y = in("y", F64(1, 3, 0, 0)), *dy = in("dy", F64(1, 3, 0, 0));
    Node *smg = op2(OP_SOFTMAX_GRAD, dy, y, NULL, 0);
    Node *ly = in("ly", F64(1, 3, 0, 0));
    Node *lsmg = op2(OP_LOG_SOFTMAX_GRAD, dy, ly, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){1, 2, 3, 1000, 1001, 1000});
    set(it, y, (double[]){0.2, 0.3, 0.5});
    set(it, ly, (double[]){log(0.2), log(0.3), log(0.5)});
    set(it, dy, (double[]){1, 0, 0});
    interp_run(it);
    double z = exp(-2) + exp(-1) + 1, w = 2 + exp(1);
    EXPECT(it, sm, TOL, exp(-2) / z, exp(-1) / z, 1 / z, 1 / w, exp(1) / w, 1 / w);
    EXPECT(it, lsm, 1e-9, -2 - log(z), -1 - log(z), -log(z), -log(w), 1 - log(w), -log(w));
    EXPECT(it, sm0, TOL, 0, 0, 0, 1, 1, 1);
    EXPECT(it, smg, TOL, 0.16, -0.06, -0.1);
    EXPECT(it, lsmg, TOL, 0.8, -0.3, -0.5);
    interp_free(it);
}
END_TEST

START_TEST(losses_and_their_gradients)
{
    Node *x = in("x", F64(2, N, 2, 0)), *lab = in("lab", T(DT_I32, 1, N, 0, 0));
    Node *one = in("one", F64(0, 0, 0, 0));
    Attr logits = attr_bool("from_logits", 1);
    Node *ce = op2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, x, lab, &logits, 1);
    Node *ceg = op3(OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, x, lab, one, &logits, 1);
    Node *p = in("p", F64(2, N, 2, 0));
    Node *cep = op2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, p, lab, NULL, 0);
    Node *cepg = op3(OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, p, lab, one, NULL, 0);
    Node *t = in("t", F64(2, N, 2, 0));
    Node *cce = op2(OP_CATEGORICAL_CROSSENTROPY, x, t, &logits, 1);
    Node *bce = op2(OP_BINARY_CROSSENTROPY, x, t, &logits, 1);
    Node *bceg = op3(OP_BINARY_CROSSENTROPY_GRAD, x, t, one, &logits, 1);
    Node *mse = op2(OP_MEAN_SQUARED_ERROR, x, t, NULL, 0);
    Node *mseg = op3(OP_MEAN_SQUARED_ERROR_GRAD, x, t, one, NULL, 0);
    Interp *it = interp_new(g, 2, 0);
    set(it, x, (double[]){0, 0, log(3.0), 0});
    set(it, lab, (double[]){0, 1});
    set(it, one, (double[]){1});
    set(it, p, (double[]){0.25, 0.75, 1.0, 0.0}); /* row 1: label 1 has p = 0, clipped to 1e-7 */
    set(it, t, (double[]){1, 0, 0, 1});
    interp_run(it);
    EXPECT(it, ce, TOL, 1.5 * log(2.0));
    EXPECT(it, ceg, TOL, -0.25, 0.25, 0.375, -0.375);
    EXPECT(it, cep, 1e-9, (-log(0.25) - log(1e-7)) / 2);
    EXPECT(it, cepg, TOL, -1 / (2 * 0.25), 0, 0, 0); /* zero where the clip is active */
    EXPECT(it, cce, TOL, 1.5 * log(2.0));
    /* bce from logits over 4 elements: x = 0 gives log 2 whatever t */
    double l3 = log1p(3.0) - log(3.0); /* x = log 3, t = 0: log(1 + e^x) - x*t = log 4 */
    EXPECT(it, bce, 1e-12, (log(2.0) * 3 + l3 + log(3.0)) / 4);
    EXPECT(it, bceg, TOL, (0.5 - 1) / 4, 0.5 / 4, 0.75 / 4, (0.5 - 1) / 4);
    EXPECT(it, mse, TOL, (1 + 0 + log(3.0) * log(3.0) + 1) / 4);
    EXPECT(it, mseg, TOL, -0.5, 0, log(3.0) / 2, -0.5);
    interp_free(it);
}
END_TEST

START_TEST(accuracy_argmax_and_threshold)
{
    Node *p = in("p", F64(2, N, 2, 0)), *lab = in("lab", T(DT_I32, 1, N, 0, 0));
    Node *t = in("t", F64(2, N, 2, 0));
    Node *acc = op2(OP_ACCURACY, p, lab, NULL, 0), *acc2 = op2(OP_ACCURACY, p, t, NULL, 0);
    Node *pb = in("pb", F64(1, N, 0, 0)), *tb = in("tb", F64(1, N, 0, 0));
    Node *acc3 = op2(OP_ACCURACY, pb, tb, NULL, 0);
    Interp *it = interp_new(g, 3, 0);
    set(it, p, (double[]){0.1, 0.9, 0.8, 0.2, 0.5, 0.5});
    set(it, lab, (double[]){1, 1, 0});
    set(it, t, (double[]){0, 1, 1, 0, 0, 1});
    set(it, pb, (double[]){0.7, 0.2, 0.6});
    set(it, tb, (double[]){1, 1, 0});
    interp_run(it);
    EXPECT(it, acc, TOL, 2.0 / 3); /* ties go to the first maximum */
    EXPECT(it, acc2, TOL, 2.0 / 3);
    EXPECT(it, acc3, TOL, 1.0 / 3);
    interp_free(it);
}
END_TEST

START_TEST(shape_ops)
{
    Node *x = in("x", F64(2, 2, 3, 0));
    Attr perm = attr_ints("perm", (const int64_t[]){1, 0}, 2);
    Node *tr = op1(OP_TRANSPOSE, x, &perm, 1), *trd = op1(OP_TRANSPOSE, x, NULL, 0);
    Node *y = in("y", F64(3, 2, 3, 2));
    Attr p201 = attr_ints("perm", (const int64_t[]){2, 0, 1}, 3);
    Node *tr3 = op1(OP_TRANSPOSE, y, &p201, 1);
    Node *cc = op2(OP_CONCAT, x, x, NULL, 0);
    Attr ax0 = attr_int("axis", 0);
    Node *cc0 = op2(OP_CONCAT, x, x, &ax0, 1);
    Attr sl[3] = {attr_int("axis", 1), attr_int("start", 1), attr_int("size", 2)};
    Node *slc = op1(OP_SLICE, x, sl, 3);
    Attr sh3 = attr_ints("shape", (const int64_t[]){3}, 1), sh21 = attr_ints("shape", (const int64_t[]){2, 1}, 2);
    Node *st = op1(OP_SUM_TO, x, &sh3, 1), *st21 = op1(OP_SUM_TO, x, &sh21, 1);
    Node *v = in("v", F64(1, 3, 0, 0));
    Attr sh23 = attr_ints("shape", (const int64_t[]){2, 3}, 2), sh32 = attr_ints("shape", (const int64_t[]){3, 2}, 2);
    Node *bt = op1(OP_BROADCAST_TO, v, &sh23, 1), *rs = op1(OP_RESHAPE, x, &sh32, 1);
    Node *fl = op1(OP_FLATTEN, y, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){1, 2, 3, 4, 5, 6});
    set(it, y, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    set(it, v, (double[]){7, 8, 9});
    interp_run(it);
    EXPECT(it, tr, TOL, 1, 4, 2, 5, 3, 6);
    EXPECT(it, trd, TOL, 1, 4, 2, 5, 3, 6);
    /* out[k][i][j] = y[i][j][k] */
    EXPECT(it, tr3, TOL, 1, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10, 12);
    EXPECT(it, cc, TOL, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
    EXPECT(it, cc0, TOL, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6);
    EXPECT(it, slc, TOL, 2, 3, 5, 6);
    EXPECT(it, st, TOL, 5, 7, 9);
    EXPECT(it, st21, TOL, 6, 15);
    EXPECT(it, bt, TOL, 7, 8, 9, 7, 8, 9);
    EXPECT(it, rs, TOL, 1, 2, 3, 4, 5, 6);
    EXPECT(it, fl, TOL, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    interp_free(it);
}
END_TEST

START_TEST(cast_and_consts)
{
    Node *x = in("x", F64(1, 3, 0, 0));
    Attr to_i = attr_dtype("dtype", DT_I32), to_f = attr_dtype("dtype", DT_F32);
    Node *ci = op1(OP_CAST, x, &to_i, 1), *cf = op1(OP_CAST, x, &to_f, 1);
    Node *k = ir_const(g, DT_F64, 2.5, SRCLOC_NONE);
    Node *h = ir_hparam(g, "learning_rate", 0.125, SRCLOC_NONE);
    Interp *it = interp_new(g, 1, 0);
    set(it, x, (double[]){2.7, -2.7, 0.1});
    interp_run(it);
    EXPECT(it, ci, 0, 2, -2, 0);
    EXPECT(it, cf, 0, (double)2.7f, (double)-2.7f, (double)0.1f);
    EXPECT(it, k, 0, 2.5);
    EXPECT(it, h, 0, 0.125);
    interp_free(it);
}
END_TEST

START_TEST(assign_updates_after_the_step)
{
    Attr z = attr_str("init", "zeros");
    Node *s = ir_state(g, "s", F64(1, 2, 0, 0), &z, 1, SRCLOC_NONE);
    Node *v = op2(OP_ADD, s, ir_const(g, DT_F64, 1.5, SRCLOC_NONE), NULL, 0);
    Node *as = op2(OP_ASSIGN, s, v, NULL, 0);
    Interp *it = interp_new(g, 1, 0);
    interp_run(it);
    EXPECT(it, as, TOL, 1.5, 1.5);
    EXPECT(it, s, TOL, 0, 0); /* not yet applied */
    interp_apply_assigns(it);
    interp_run(it);
    interp_apply_assigns(it);
    EXPECT(it, s, TOL, 3, 3);
    interp_free(it);
}
END_TEST

START_TEST(dropout_mask_is_deterministic_inverted_dropout)
{
    Node *x = in("x", F64(2, N, 500, 0));
    Attr rate = attr_float("rate", 0.25);
    Node *m = op1(OP_DROPOUT_MASK, x, &rate, 1);
    Interp *it = interp_new(g, 2, 99);
    interp_run(it);
    int64_t cnt = interp_numel(it, m), zeros = 0;
    double *first = malloc(sizeof(double) * (size_t)cnt);
    memcpy(first, interp_buf(it, m), sizeof(double) * (size_t)cnt);
    for (int64_t i = 0; i < cnt; i++) {
        ck_assert(first[i] == 0.0 || fabs(first[i] - 1 / 0.75) < TOL);
        zeros += first[i] == 0.0;
    }
    ck_assert_msg(zeros > 200 && zeros < 300, "%lld zeros of 1000 at rate 0.25", (long long)zeros);
    /* matches the runtime's mask for key(key(seed, step), node id) */
    float *rt = malloc(sizeof(float) * (size_t)cnt);
    dlrt_dropout_mask(rt, cnt, 0.25f, dlrt_key(dlrt_key(99, 0), (uint64_t)m->id));
    for (int64_t i = 0; i < cnt; i++) ck_assert(fabs(first[i] - rt[i]) < 1e-6);
    interp_run(it);
    expect(it, m, first, cnt, 0); /* same step, same mask */
    interp_set_step(it, 1);
    interp_run(it);
    int64_t differ = 0;
    for (int64_t i = 0; i < cnt; i++) differ += interp_buf(it, m)[i] != first[i];
    ck_assert_int_gt(differ, 100);
    free(first);
    free(rt);
    interp_free(it);
}
END_TEST

/* ---- initializers --------------------------------------------------------- */

static Node *param_with(const char *name, TensorType t, const char *init, const Attr *extra, int nextra)
{
    Attr at[4];
    at[0] = attr_str("init", init);
    for (int i = 0; i < nextra; i++) at[1 + i] = extra[i];
    return ir_param(g, name, t, at, 1 + nextra, SRCLOC_NONE);
}

static InitSpec resolve(const Node *n)
{
    InitSpec s;
    const char *err = init_resolve(n, &s);
    ck_assert_msg(err == NULL, "%s", err);
    return s;
}

START_TEST(initializers_follow_keras)
{
    TensorType dense = T(DT_F32, 2, 784, 512, 0);
    int64_t cd[4] = {3, 3, 16, 32};
    TensorType conv = tt_make(DT_F32, 4, cd);
    InitSpec s = resolve(param_with("a", dense, "glorot_uniform", NULL, 0));
    ck_assert_int_eq(s.dist, INIT_UNIFORM);
    ck_assert_double_eq_tol(s.b, sqrt(6.0 / (784 + 512)), 1e-15);
    ck_assert(s.a == -s.b);
    s = resolve(param_with("b", dense, "glorot_normal", NULL, 0));
    ck_assert_int_eq(s.dist, INIT_TRUNCATED_NORMAL);
    ck_assert_double_eq_tol(s.b, sqrt(2.0 / (784 + 512)) / 0.87962566103423978, 1e-15);
    s = resolve(param_with("c", conv, "he_normal", NULL, 0)); /* fan_in = 3*3*16 */
    ck_assert_double_eq_tol(s.b, sqrt(2.0 / 144) / 0.87962566103423978, 1e-15);
    s = resolve(param_with("d", conv, "he_uniform", NULL, 0));
    ck_assert_double_eq_tol(s.b, sqrt(6.0 / 144), 1e-15);
    s = resolve(param_with("e", conv, "glorot_uniform", NULL, 0)); /* fans 144, 288 */
    ck_assert_double_eq_tol(s.b, sqrt(6.0 / (144 + 288)), 1e-15);
    s = resolve(param_with("f", T(DT_F32, 1, 10, 0, 0), "lecun_uniform", NULL, 0));
    ck_assert_double_eq_tol(s.b, sqrt(3.0 / 10), 1e-15);
    s = resolve(param_with("g", dense, "lecun_normal", NULL, 0));
    ck_assert_double_eq_tol(s.b, sqrt(1.0 / 784) / 0.87962566103423978, 1e-15);
    s = resolve(param_with("h", dense, "zeros", NULL, 0));
    ck_assert(s.dist == INIT_CONSTANT && s.a == 0);
    s = resolve(param_with("i", dense, "ones", NULL, 0));
    ck_assert(s.dist == INIT_CONSTANT && s.a == 1);
    Attr v = attr_float("value", 0.5);
    s = resolve(param_with("j", dense, "constant", &v, 1));
    ck_assert(s.dist == INIT_CONSTANT && s.a == 0.5);
    s = resolve(param_with("k", dense, "uniform", NULL, 0));
    ck_assert(s.dist == INIT_UNIFORM && s.a == -0.05 && s.b == 0.05);
    Attr lh[2] = {attr_float("low", 0), attr_float("high", 2)};
    s = resolve(param_with("l", dense, "random_uniform", lh, 2));
    ck_assert(s.dist == INIT_UNIFORM && s.a == 0 && s.b == 2);
    s = resolve(param_with("m", dense, "normal", NULL, 0));
    ck_assert(s.dist == INIT_NORMAL && s.a == 0 && s.b == 0.05);
    Attr ms[2] = {attr_float("mean", 1), attr_float("stddev", 0.5)};
    s = resolve(param_with("n", dense, "truncated_normal", ms, 2));
    ck_assert(s.dist == INIT_TRUNCATED_NORMAL && s.a == 1 && s.b == 0.5);
    Attr sc = attr_float("scale", 3);
    s = resolve(param_with("o", T(DT_F32, 2, 4, 8, 0), "glorot_uniform", &sc, 1));
    ck_assert_double_eq_tol(s.b, sqrt(9.0 / 6), 1e-15);
    ck_assert(init_known("he_normal") && !init_known("orthogonal"));
}
END_TEST

START_TEST(unknown_initializer_is_named)
{
    Attr a = attr_str("init", "orthogonal");
    Node *p = ir_state(g, "p", T(DT_F32, 1, 3, 0, 0), &a, 1, SRCLOC_NONE);
    InitSpec s;
    const char *err = init_resolve(p, &s);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "'orthogonal'") != NULL, "%s", err);
}
END_TEST

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* The interpreter draws params exactly as generated code does:
 * dlrt_init_*(..., dlrt_key(seed, fnv1a64(name))). */
START_TEST(params_match_the_runtime_streams)
{
    Node *u = param_with("dense_1.kernel", T(DT_F32, 2, 20, 30, 0), "glorot_uniform", NULL, 0);
    Node *t = param_with("dense_2.kernel", T(DT_F32, 2, 30, 10, 0), "he_normal", NULL, 0);
    Attr ms[2] = {attr_float("mean", 1), attr_float("stddev", 0.5)};
    Node *nn = param_with("w", T(DT_F32, 1, 50, 0, 0), "normal", ms, 2);
    Interp *it = interp_new(g, 1, 42);
    float buf[600];
    InitSpec s = resolve(u);
    dlrt_init_uniform(buf, 600, (float)s.a, (float)s.b, dlrt_key(42, fnv1a64("dense_1.kernel")));
    for (int i = 0; i < 600; i++) {
        double v = interp_buf(it, u)[i];
        ck_assert(v >= s.a && v < s.b);
        ck_assert_double_eq_tol(v, buf[i], 1e-6);
    }
    s = resolve(t);
    dlrt_init_truncated_normal(buf, 300, 0.0f, (float)s.b, dlrt_key(42, fnv1a64("dense_2.kernel")));
    for (int i = 0; i < 300; i++) {
        double v = interp_buf(it, t)[i];
        ck_assert(fabs(v) <= 2 * s.b + 1e-12);
        ck_assert_double_eq_tol(v, buf[i], 1e-6);
    }
    dlrt_init_normal(buf, 50, 1.0f, 0.5f, dlrt_key(42, fnv1a64("w")));
    for (int i = 0; i < 50; i++) ck_assert_double_eq_tol(interp_buf(it, nn)[i], buf[i], 1e-6);
    interp_free(it);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("interp");
    TCase *k = tcase_create("kernels");
    tcase_add_checked_fixture(k, setup, teardown);
    tcase_add_test(k, broadcasting_binary_ops);
    tcase_add_test(k, unary_and_activation_kernels);
    tcase_add_test(k, erf_and_clip);
    tcase_add_test(k, commutative_ops_commute);
    tcase_add_test(k, matmul_with_trans_flags);
    tcase_add_test(k, reductions_bind_the_batch);
    tcase_add_test(k, max_grad_routes_to_the_first_maximum);
    tcase_add_test(k, pool_grads_route_and_spread);
    tcase_add_test(k, conv2d_grads_transpose_and_correlate);
    tcase_add_test(k, softmax_family_is_stable);
    tcase_add_test(k, losses_and_their_gradients);
    tcase_add_test(k, accuracy_argmax_and_threshold);
    tcase_add_test(k, shape_ops);
    tcase_add_test(k, cast_and_consts);
    tcase_add_test(k, assign_updates_after_the_step);
    tcase_add_test(k, dropout_mask_is_deterministic_inverted_dropout);
    suite_add_tcase(s, k);
    TCase *i = tcase_create("init");
    tcase_add_checked_fixture(i, setup, teardown);
    tcase_add_test(i, initializers_follow_keras);
    tcase_add_test(i, unknown_initializer_is_named);
    tcase_add_test(i, params_match_the_runtime_streams);
    suite_add_tcase(s, i);
    return tu_run_suite(s);
}
