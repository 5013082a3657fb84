/* grad_rules.c - the gradient rule of every differentiable op (G in ops.def).
 *
 * grad_<name>(c, dx) builds, as ordinary IR, the vector-Jacobian product of
 * the forward node c->n with its result's adjoint c->dy, for each operand i
 * with c->want[i].  Conventions:
 *
 *  - Broadcasting binary ops compute the gradient at the result's shape
 *    and reduce it back to the operand's with sum_to, only when they differ.
 *  - Activations go through their *_grad ops: relu, leaky_relu, elu and gelu
 *    take (dy, x); sigmoid and tanh take (dy, y).  softmax / log_softmax take
 *    (dy, y); losses take (x, target, dy) and include the 1/rows of the mean.
 *  - matmul uses the trans flags, never an explicit transpose.
 *  - Reductions broadcast dy back (after restoring the reduced axes with a
 *    reshape when keepdims is off); a mean also divides by the reduced
 *    count.  When the mean reduces the batch axis N the count is not static:
 *    the rule divides by the run-time n, expressed as
 *    sum(broadcast_to(const 1, [N])) (autodiff_batch_count).
 *  - Constants take the forward node's dtype, so the same rules serve f32
 *    graphs and the f64 graphs of the gradient checker.
 */
#include <string.h>

#include "autodiff.h"

/* ---- helpers ------------------------------------------------------------ */

static Node *cst(GradCtx *c, double v)
{
    return ir_const(c->g, c->n->type.dtype, v, c->loc);
}

static Node *un(GradCtx *c, OpCode op, Node *a)
{
    return ir_unary(c->g, op, a, c->loc);
}

static Node *bin(GradCtx *c, OpCode op, Node *a, Node *b)
{
    return ir_binary(c->g, op, a, b, c->loc);
}

static Node *node1(GradCtx *c, OpCode op, Node *a, const Attr *attrs, int nattrs)
{
    return ir_node_checked(c->g, op, &a, 1, attrs, nattrs, c->loc);
}

/* A `shape` attribute holding t's dims, N written as -1. */
static Attr shape_attr(GradCtx *c, const TensorType *t)
{
    int64_t *d = ARENA_NEW_N(c->g->arena, int64_t, t->rank ? t->rank : 1);
    for (int i = 0; i < t->rank; i++) d[i] = t->dims[i] == DIM_N ? -1 : t->dims[i];
    return attr_ints("shape", d, t->rank);
}

/* Sums a gradient computed at the result's shape down to operand x's. */
static Node *unbroadcast(GradCtx *c, Node *grad, const Node *x)
{
    if (tt_equal(&grad->type, &x->type)) return grad;
    Attr a = shape_attr(c, &x->type);
    return node1(c, OP_SUM_TO, grad, &a, 1);
}

/* Broadcasts a gradient to operand x's type (no-op when it has it). */
static Node *broadcast_like(GradCtx *c, Node *grad, const Node *x)
{
    if (tt_equal(&grad->type, &x->type)) return grad;
    Attr a = shape_attr(c, &x->type);
    return node1(c, OP_BROADCAST_TO, grad, &a, 1);
}

/* A zero tensor of type t (a broadcast const). */
static Node *zeros_of(GradCtx *c, const TensorType *t)
{
    Attr a = shape_attr(c, t);
    return node1(c, OP_BROADCAST_TO, cst(c, 0.0), &a, 1);
}

/* ---- unary elementwise -------------------------------------------------- */

void grad_neg(GradCtx *c, Node **dx)
{
    dx[0] = un(c, OP_NEG, c->dy);
}

/* d exp(x) = exp(x) dx: reuses the result. */
void grad_exp(GradCtx *c, Node **dx)
{
    dx[0] = bin(c, OP_MUL, c->dy, c->n);
}

void grad_log(GradCtx *c, Node **dx)
{
    dx[0] = bin(c, OP_DIV, c->dy, c->n->in[0]);
}

/* d sqrt(x) = dx / (2 sqrt(x)). */
void grad_sqrt(GradCtx *c, Node **dx)
{
    dx[0] = bin(c, OP_DIV, c->dy, bin(c, OP_MUL, cst(c, 2.0), c->n));
}

void grad_abs(GradCtx *c, Node **dx)
{
    dx[0] = bin(c, OP_MUL, c->dy, un(c, OP_SIGN, c->n->in[0]));
}

void grad_square(GradCtx *c, Node **dx)
{
    dx[0] = bin(c, OP_MUL, c->dy, bin(c, OP_MUL, cst(c, 2.0), c->n->in[0]));
}

/* Activation gradient op (dy, v) with the forward node's attributes. */
static Node *act_grad(GradCtx *c, OpCode op, Node *v)
{
    Node *in[2] = {c->dy, v};
    return ir_node_checked(c->g, op, in, 2, c->n->attrs, c->n->nattrs, c->loc);
}

void grad_tanh(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_TANH_GRAD, c->n); }
void grad_sigmoid(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_SIGMOID_GRAD, c->n); }
/* relu_grad reads relu's output y rather than its input x (y > 0 exactly
 * when x > 0): then x has relu as its only reader, so a bias add and the
 * relu fuse into one loop in training as in inference. */
void grad_relu(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_RELU_GRAD, c->n); }
void grad_leaky_relu(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_LEAKY_RELU_GRAD, c->n->in[0]); }
void grad_elu(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_ELU_GRAD, c->n->in[0]); }
void grad_gelu(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_GELU_GRAD, c->n->in[0]); }

/* ---- binary, with broadcasting ------------------------------------------ */

void grad_add(GradCtx *c, Node **dx)
{
    if (c->want[0]) dx[0] = unbroadcast(c, c->dy, c->n->in[0]);
    if (c->want[1]) dx[1] = unbroadcast(c, c->dy, c->n->in[1]);
}

void grad_sub(GradCtx *c, Node **dx)
{
    if (c->want[0]) dx[0] = unbroadcast(c, c->dy, c->n->in[0]);
    if (c->want[1]) dx[1] = un(c, OP_NEG, unbroadcast(c, c->dy, c->n->in[1]));
}

void grad_mul(GradCtx *c, Node **dx)
{
    Node *a = c->n->in[0], *b = c->n->in[1];
    if (c->want[0]) dx[0] = unbroadcast(c, bin(c, OP_MUL, c->dy, b), a);
    if (c->want[1]) dx[1] = unbroadcast(c, bin(c, OP_MUL, c->dy, a), b);
}

/* y = a / b: da = dy / b, db = -dy * y / b. */
void grad_div(GradCtx *c, Node **dx)
{
    Node *a = c->n->in[0], *b = c->n->in[1];
    if (c->want[0]) dx[0] = unbroadcast(c, bin(c, OP_DIV, c->dy, b), a);
    if (c->want[1]) dx[1] = unbroadcast(c, un(c, OP_NEG, bin(c, OP_MUL, c->dy, bin(c, OP_DIV, c->n, b))), b);
}

/* y = a^b: da = dy * b * a^(b-1), db = dy * y * log(a). */
void grad_pow(GradCtx *c, Node **dx)
{
    Node *a = c->n->in[0], *b = c->n->in[1];
    if (c->want[0]) {
        Node *p = bin(c, OP_POW, a, bin(c, OP_SUB, b, cst(c, 1.0)));
        dx[0] = unbroadcast(c, bin(c, OP_MUL, c->dy, bin(c, OP_MUL, b, p)), a);
    }
    if (c->want[1]) dx[1] = unbroadcast(c, bin(c, OP_MUL, c->dy, bin(c, OP_MUL, c->n, un(c, OP_LOG, a))), b);
}

/* maximum(a, b): dy goes to the larger operand, split evenly on a tie
 * (PyTorch's convention).  The mask is (sign(a - b) + 1) / 2. */
void grad_maximum(GradCtx *c, Node **dx)
{
    Node *a = c->n->in[0], *b = c->n->in[1];
    Node *m = bin(c, OP_MUL, bin(c, OP_ADD, un(c, OP_SIGN, bin(c, OP_SUB, a, b)), cst(c, 1.0)), cst(c, 0.5));
    if (c->want[0]) dx[0] = unbroadcast(c, bin(c, OP_MUL, c->dy, m), a);
    if (c->want[1]) dx[1] = unbroadcast(c, bin(c, OP_MUL, c->dy, bin(c, OP_SUB, cst(c, 1.0), m)), b);
}

/* ---- matmul ---------------------------------------------------------------- */

static Node *mm(GradCtx *c, Node *a, Node *b, bool ta, bool tb)
{
    Node *in[2] = {a, b};
    Attr at[2];
    int na = 0; /* only the flags that are set, so dumps stay short */
    if (ta) at[na++] = attr_bool("trans_a", true);
    if (tb) at[na++] = attr_bool("trans_b", true);
    return ir_node_checked(c->g, OP_MATMUL, in, 2, at, na, c->loc);
}

/* C = op(A) op(B).  With G = dC:
 *   plain        dA = G B^T        dB = A^T G
 *   trans_a      dA = B G^T        dB = A G
 *   trans_b      dA = G B          dB = G^T A
 *   both         dA = B^T G^T      dB = G^T A^T */
void grad_matmul(GradCtx *c, Node **dx)
{
    Node *A = c->n->in[0], *B = c->n->in[1], *G = c->dy;
    bool ta = node_attr_int(c->n, "trans_a") != 0, tb = node_attr_int(c->n, "trans_b") != 0;
    if (c->want[0]) {
        if (!ta && !tb) dx[0] = mm(c, G, B, false, true);
        else if (ta && !tb) dx[0] = mm(c, B, G, false, true);
        else if (!ta && tb) dx[0] = mm(c, G, B, false, false);
        else dx[0] = mm(c, B, G, true, true);
    }
    if (c->want[1]) {
        if (!ta && !tb) dx[1] = mm(c, A, G, true, false);
        else if (ta && !tb) dx[1] = mm(c, A, G, false, false);
        else if (!ta && tb) dx[1] = mm(c, G, A, true, false);
        else dx[1] = mm(c, G, A, true, true);
    }
}

/* ---- reductions ---------------------------------------------------------- */

/* Which axes of the operand a reduction reduces. */
static void reduced_axes(const Node *n, const TensorType *x, bool *red)
{
    const int64_t *axes;
    int na = node_attr_ints(n, "axes", &axes);
    for (int i = 0; i < x->rank; i++) red[i] = na == 0;
    for (int k = 0; k < na; k++) red[axes[k] < 0 ? axes[k] + x->rank : axes[k]] = true;
}

/* dy of a reduction broadcast back to the operand's type: first restore
 * the reduced axes as 1s (unless keepdims kept them), then broadcast. */
static Node *unreduce(GradCtx *c, Node *dy)
{
    const Node *x = c->n->in[0];
    bool red[DLC_MAX_RANK];
    reduced_axes(c->n, &x->type, red);
    if (!node_attr_int(c->n, "keepdims") && dy->type.rank > 0) {
        TensorType kt = x->type;
        for (int i = 0; i < kt.rank; i++)
            if (red[i]) kt.dims[i] = 1;
        Attr a = shape_attr(c, &kt);
        dy = node1(c, OP_RESHAPE, dy, &a, 1);
    }
    return broadcast_like(c, dy, x);
}

void grad_sum(GradCtx *c, Node **dx)
{
    dx[0] = unreduce(c, c->dy);
}

/* mean = sum / count; count = (static reduced dims) * (n if N is reduced). */
void grad_mean(GradCtx *c, Node **dx)
{
    const TensorType *xt = &c->n->in[0]->type;
    bool red[DLC_MAX_RANK];
    reduced_axes(c->n, xt, red);
    double count = 1.0;
    bool over_n = false;
    for (int i = 0; i < xt->rank; i++) {
        if (!red[i]) continue;
        if (xt->dims[i] == DIM_N) over_n = true;
        else count *= (double)xt->dims[i];
    }
    Node *g = c->dy;
    if (count != 1.0) g = bin(c, OP_DIV, g, cst(c, count));
    if (over_n) g = bin(c, OP_DIV, g, autodiff_batch_count(c, xt->dtype));
    dx[0] = unreduce(c, g);
}

/* max_grad(dy, x, y) routes dy to the first maximal element. */
void grad_max(GradCtx *c, Node **dx)
{
    Node *in[3] = {c->dy, c->n->in[0], c->n};
    dx[0] = ir_node_checked(c->g, OP_MAX_GRAD, in, 3, c->n->attrs, c->n->nattrs, c->loc);
}

/* sum_to's gradient broadcasts back; broadcast_to's sums back. */
void grad_sum_to(GradCtx *c, Node **dx)
{
    dx[0] = broadcast_like(c, c->dy, c->n->in[0]);
}

void grad_broadcast_to(GradCtx *c, Node **dx)
{
    dx[0] = unbroadcast(c, c->dy, c->n->in[0]);
}

/* ---- shape manipulation ---------------------------------------------------- */

/* Reshape dy back to the operand's shape. */
static Node *reshape_back(GradCtx *c)
{
    const Node *x = c->n->in[0];
    if (tt_equal(&c->dy->type, &x->type)) return c->dy;
    Attr a = shape_attr(c, &x->type);
    return node1(c, OP_RESHAPE, c->dy, &a, 1);
}

void grad_reshape(GradCtx *c, Node **dx) { dx[0] = reshape_back(c); }
void grad_flatten(GradCtx *c, Node **dx) { dx[0] = reshape_back(c); }

/* transpose by the inverse permutation (an empty perm reverses the axes
 * and is its own inverse). */
void grad_transpose(GradCtx *c, Node **dx)
{
    const int64_t *perm;
    int np = node_attr_ints(c->n, "perm", &perm);
    if (np == 0) {
        dx[0] = node1(c, OP_TRANSPOSE, c->dy, NULL, 0);
        return;
    }
    int64_t *inv = ARENA_NEW_N(c->g->arena, int64_t, np);
    for (int i = 0; i < np; i++) inv[perm[i]] = i;
    Attr a = attr_ints("perm", inv, np);
    dx[0] = node1(c, OP_TRANSPOSE, c->dy, &a, 1);
}

/* concat: each operand's gradient is its slice of dy. */
void grad_concat(GradCtx *c, Node **dx)
{
    int rank = c->n->type.rank;
    int64_t axis = node_attr_int(c->n, "axis");
    if (axis < 0) axis += rank;
    int64_t start = 0;
    for (int k = 0; k < c->n->nin; k++) {
        int64_t size = c->n->in[k]->type.dims[axis];
        if (c->want[k]) {
            Attr a[3] = {attr_int("axis", axis), attr_int("start", start), attr_int("size", size)};
            dx[k] = node1(c, OP_SLICE, c->dy, a, 3);
        }
        start += size;
    }
}

/* slice: dy padded with zeros before and after along the axis. */
void grad_slice(GradCtx *c, Node **dx)
{
    const Node *x = c->n->in[0];
    int rank = x->type.rank;
    int64_t axis = node_attr_int(c->n, "axis");
    if (axis < 0) axis += rank;
    int64_t start = node_attr_int(c->n, "start"), size = node_attr_int(c->n, "size");
    int64_t after = x->type.dims[axis] - start - size;
    Node *parts[3];
    int np = 0;
    if (start > 0) {
        TensorType t = x->type;
        t.dims[axis] = start;
        parts[np++] = zeros_of(c, &t);
    }
    parts[np++] = c->dy;
    if (after > 0) {
        TensorType t = x->type;
        t.dims[axis] = after;
        parts[np++] = zeros_of(c, &t);
    }
    if (np == 1) {
        dx[0] = c->dy;
        return;
    }
    Attr a = attr_int("axis", axis);
    dx[0] = ir_node_checked(c->g, OP_CONCAT, parts, np, &a, 1, c->loc);
}

/* ---- softmax family -------------------------------------------------------- */

void grad_softmax(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_SOFTMAX_GRAD, c->n); }
void grad_log_softmax(GradCtx *c, Node **dx) { dx[0] = act_grad(c, OP_LOG_SOFTMAX_GRAD, c->n); }

/* ---- losses -------------------------------------------------------------- */

/* loss_grad(x, target, dy), with the loss's attributes. */
static Node *loss_grad(GradCtx *c, OpCode op)
{
    Node *in[3] = {c->n->in[0], c->n->in[1], c->dy};
    return ir_node_checked(c->g, op, in, 3, c->n->attrs, c->n->nattrs, c->loc);
}

/* Cross-entropies: gradients flow to the predictions only; a target that
 * depends on a parameter is an error. */
static void ce_grad(GradCtx *c, Node **dx, OpCode op)
{
    if (c->want[1])
        dlc_error(c->loc, "cannot differentiate '%s' with respect to its targets", op_info(c->n->op)->name);
    if (c->want[0]) dx[0] = loss_grad(c, op);
}

void grad_sparse_categorical_crossentropy(GradCtx *c, Node **dx)
{
    ce_grad(c, dx, OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD);
}

void grad_categorical_crossentropy(GradCtx *c, Node **dx)
{
    ce_grad(c, dx, OP_CATEGORICAL_CROSSENTROPY_GRAD);
}

void grad_binary_crossentropy(GradCtx *c, Node **dx)
{
    ce_grad(c, dx, OP_BINARY_CROSSENTROPY_GRAD);
}

/* mean((x - t)^2) is antisymmetric in x and t: d/dt = -d/dx. */
void grad_mean_squared_error(GradCtx *c, Node **dx)
{
    Node *gx = loss_grad(c, OP_MEAN_SQUARED_ERROR_GRAD);
    if (c->want[0]) dx[0] = gx;
    if (c->want[1]) dx[1] = un(c, OP_NEG, gx);
}

/* ---- convolution -------------------------------------------------------- */

/* conv2d (x, w [, bias]) with its attributes: dx and dw are the ops
 * conv2d_grad_input / conv2d_grad_filter (x, w, dy), dbias is dy summed
 * over the batch and spatial axes [0, 2, 3]. */
void grad_conv2d(GradCtx *c, Node **dx)
{
    Node *in[3] = {c->n->in[0], c->n->in[1], c->dy};
    if (c->want[0]) dx[0] = ir_node_checked(c->g, OP_CONV2D_GRAD_INPUT, in, 3, c->n->attrs, c->n->nattrs, c->loc);
    if (c->want[1]) dx[1] = ir_node_checked(c->g, OP_CONV2D_GRAD_FILTER, in, 3, c->n->attrs, c->n->nattrs, c->loc);
    if (c->n->nin == 3 && c->want[2]) {
        int64_t *axes = ARENA_NEW_N(c->g->arena, int64_t, 3);
        axes[0] = 0, axes[1] = 2, axes[2] = 3;
        Attr a = attr_ints("axes", axes, 3);
        dx[2] = node1(c, OP_SUM, c->dy, &a, 1);
    }
}

/* ---- pooling ------------------------------------------------------------ */

/* The pools' gradient ops take (x, dy) and the forward attributes:
 * max_pool2d_grad routes each window's dy to its first maximal position,
 * avg_pool2d_grad spreads it over the window (ir/interp_conv.c). */
static Node *pool_grad(GradCtx *c, OpCode op)
{
    Node *in[2] = {c->n->in[0], c->dy};
    return ir_node_checked(c->g, op, in, 2, c->n->attrs, c->n->nattrs, c->loc);
}

void grad_max_pool2d(GradCtx *c, Node **dx) { dx[0] = pool_grad(c, OP_MAX_POOL2D_GRAD); }
void grad_avg_pool2d(GradCtx *c, Node **dx) { dx[0] = pool_grad(c, OP_AVG_POOL2D_GRAD); }

/* global_avg_pool2d: y[b,c] = mean over H x W of x[b,c], so every input
 * position gets dy[b,c] / (H*W): dy [N,C,1,1] divided by the static count
 * and broadcast to [N,C,H,W].  No op of its own. */
void grad_global_avg_pool2d(GradCtx *c, Node **dx)
{
    const Node *x = c->n->in[0];
    double count = (double)(x->type.dims[2] * x->type.dims[3]);
    dx[0] = broadcast_like(c, bin(c, OP_DIV, c->dy, cst(c, count)), x);
}
