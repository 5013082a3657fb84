/* shape.c - the shape rules of ops.def.
 *
 * Each rule reads its node's operands and attributes and sets n->type, or
 * returns a user-facing message (allocated in the graph's arena) that names
 * the offending types, e.g. "cannot broadcast f32[N,784] and f32[512]".
 * Frontends report these messages at the user's source position, so they
 * are written for people writing models, not for compiler developers.
 *
 * The batch dimension N (DIM_N) is only ever dims[0].  Broadcasting follows
 * NumPy (align from the right; 1 stretches), with N treated as a size that
 * is unknown until run time: N with 1 or N gives N, N with any other static
 * size is an error, and N must end up in dimension 0 of the result.
 */
#include <string.h>

#include "ir.h"
#include "shape.h"

#define T(i) (&n->in[(i)]->type)

static const char *opname(const Node *n) { return op_info(n->op)->name; }

const char *shape_fmt(Graph *g, const TensorType *t) {
    char buf[TT_FMT_LEN];
    return arena_strdup(g->arena, tt_format(t, buf, sizeof buf));
}

/* "[1,-1,3]" for an int list (messages). */
static const char *fmt_ints(Graph *g, const int64_t *v, int nv) {
    size_t cap = 4 + (size_t)nv * 22, pos = 0;
    char *buf = arena_alloc(g->arena, cap);
    buf[pos++] = '[';
    for (int i = 0; i < nv; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? "," : "", (long long)v[i]);
    snprintf(buf + pos, cap - pos, "]");
    return buf;
}

/* a * b, saturating at DLC_MAX_DIM + 1 (operands in [0, DLC_MAX_DIM+1]). */
static int64_t mul_sat(int64_t a, int64_t b) {
    if (a == 0 || b == 0) return 0;
    if (a > (DLC_MAX_DIM + 1) / b) return DLC_MAX_DIM + 1;
    int64_t p = a * b;
    return p > DLC_MAX_DIM ? DLC_MAX_DIM + 1 : p;
}

const char *shape_check_dims(Graph *g, const TensorType *t, const char *what) {
    if ((unsigned)t->dtype >= DT_COUNT) return arena_printf(g->arena, "%s: invalid dtype", what);
    if (t->rank < 0 || t->rank > DLC_MAX_RANK)
        return arena_printf(g->arena, "%s: rank %d is not supported (at most %d dimensions)", what, t->rank,
                            DLC_MAX_RANK);
    int64_t numel = 1;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i];
        if (d == DIM_N) {
            if (i != 0)
                return arena_printf(g->arena, "%s: the batch dimension N may only be the first dimension, in %s",
                                    what, shape_fmt(g, t));
            continue;
        }
        if (d < 0) return arena_printf(g->arena, "%s: negative dimension %lld", what, (long long)d);
        if (d > DLC_MAX_DIM)
            return arena_printf(g->arena, "%s: dimension %lld is too large (the limit is 2^40)", what, (long long)d);
        numel = mul_sat(numel, d);
    }
    if (numel > DLC_MAX_DIM)
        return arena_printf(g->arena, "%s: %s has too many elements (the limit is 2^40 per sample)", what,
                            shape_fmt(g, t));
    return NULL;
}

/* Normalises a possibly negative axis against `rank`; false if out of range. */
static bool norm_axis(int64_t axis, int rank, int *out) {
    if (axis < -(int64_t)rank || axis >= rank) return false;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

static const char *need_float(Graph *g, const Node *n, const TensorType *t) {
    if (dtype_is_float(t->dtype)) return NULL;
    return arena_printf(g->arena, "%s expects a floating-point operand, got %s", opname(n), shape_fmt(g, t));
}

/* Checks an `axis` attribute, if the op has one, against type t. */
static const char *check_axis_attr(Graph *g, const Node *n, const TensorType *t) {
    if (!op_attr_spec(n->op, "axis")) return NULL;
    int64_t axis = node_attr_int(n, "axis");
    int ax;
    if (!norm_axis(axis, t->rank, &ax))
        return arena_printf(g->arena, "%s: axis %lld is out of range for %s", opname(n), (long long)axis,
                            shape_fmt(g, t));
    return NULL;
}

/* ---- leaves ------------------------------------------------------------ */

/* Leaves carry the type they were created with; the rule validates it. */
const char *shape_leaf(Graph *g, Node *n) {
    const char *what = n->name ? arena_printf(g->arena, "%s %%%s", opname(n), n->name) : opname(n);
    const char *err = shape_check_dims(g, &n->type, what);
    if (err) return err;
    bool batched = tt_has_batch(&n->type);
    switch (n->op) {
    case OP_PARAM:
    case OP_STATE:
        if (batched)
            return arena_printf(g->arena, "%s: the batch dimension N is only allowed on inputs, got %s", what,
                                shape_fmt(g, &n->type));
        break;
    case OP_HPARAM:
        if (n->type.rank != 0 || !dtype_is_float(n->type.dtype))
            return arena_printf(g->arena, "%s: a hyperparameter must be a floating-point scalar, got %s", what,
                                shape_fmt(g, &n->type));
        break;
    default:
        break;
    }
    return NULL;
}

/* ---- elementwise ------------------------------------------------------- */

/* Float operand; the result has its type.  Also used by softmax-like ops
 * (checks their axis) and dropout_mask (checks its rate). */
const char *shape_unary_float(Graph *g, Node *n) {
    const char *err = need_float(g, n, T(0));
    if (!err) err = check_axis_attr(g, n, T(0));
    if (err) return err;
    if (op_attr_spec(n->op, "rate")) {
        double rate = node_attr_float(n, "rate");
        if (!(rate >= 0 && rate < 1))
            return arena_printf(g->arena, "%s: the rate must be in [0, 1), got %g", opname(n), rate);
    }
    n->type = *T(0);
    return NULL;
}

const char *shape_cast(Graph *g, Node *n) {
    int64_t dt = node_attr_int(n, "dtype");
    if (dt < 0 || dt >= DT_COUNT) return arena_printf(g->arena, "cast: invalid dtype %lld", (long long)dt);
    n->type = *T(0);
    n->type.dtype = (DType)dt;
    return NULL;
}

bool shape_broadcast_types(const TensorType *a, const TensorType *b, TensorType *out) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = a->dtype;
    t.rank = r;
    for (int p = 0; p < r; p++) {
        int ia = p - (r - a->rank), ib = p - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == DIM_N || db == DIM_N) {
            if (p != 0) return false; /* N would land off dimension 0 */
            int64_t other = da == DIM_N ? db : da;
            if (other != DIM_N && other != 1) return false;
            t.dims[p] = DIM_N;
        } else if (da == db || db == 1) {
            t.dims[p] = da;
        } else if (da == 1) {
            t.dims[p] = db;
        } else {
            return false;
        }
    }
    *out = t;
    return true;
}

/* NumPy broadcasting of two operands of one dtype. */
const char *shape_broadcast(Graph *g, Node *n) {
    const TensorType *a = T(0), *b = T(1);
    if (a->dtype != b->dtype)
        return arena_printf(g->arena, "dtype mismatch: %s and %s", shape_fmt(g, a), shape_fmt(g, b));
    if (!shape_broadcast_types(a, b, &n->type))
        return arena_printf(g->arena, "cannot broadcast %s and %s", shape_fmt(g, a), shape_fmt(g, b));
    return NULL;
}

/* Several float operands of exactly one type (activation gradients). */
const char *shape_ew_same(Graph *g, Node *n) {
    const char *err = need_float(g, n, T(0));
    if (err) return err;
    for (int i = 1; i < n->nin; i++)
        if (!tt_equal(T(0), T(i)))
            return arena_printf(g->arena, "%s: operand types differ: %s and %s", opname(n), shape_fmt(g, T(0)),
                                shape_fmt(g, T(i)));
    err = check_axis_attr(g, n, T(0));
    if (err) return err;
    n->type = *T(0);
    return NULL;
}

/* ---- matmul ------------------------------------------------------------ */

/* [M,K] @ [K,P] -> [M,P], either operand optionally read transposed.  A may
 * be batched ([N,K]); with trans_a, A = [N,M] and B = [N,P] contract over
 * the batch (the weight gradient x^T @ dy) and the result is static. */
const char *shape_matmul(Graph *g, Node *n) {
    const TensorType *a = T(0), *b = T(1);
    bool ta = node_attr_int(n, "trans_a") != 0, tb = node_attr_int(n, "trans_b") != 0;
    const char *sa = arena_printf(g->arena, "%s%s", shape_fmt(g, a), ta ? "^T" : "");
    const char *sb = arena_printf(g->arena, "%s%s", shape_fmt(g, b), tb ? "^T" : "");
    if (a->dtype != b->dtype) return arena_printf(g->arena, "matmul: dtype mismatch: %s @ %s", sa, sb);
    if (!dtype_is_float(a->dtype))
        return arena_printf(g->arena, "matmul expects floating-point operands, got %s @ %s", sa, sb);
    if (a->rank != 2 || b->rank != 2)
        return arena_printf(g->arena, "matmul: operands must be 2-D matrices: %s @ %s", sa, sb);
    int64_t m = ta ? a->dims[1] : a->dims[0], ka = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], p = tb ? b->dims[0] : b->dims[1];
    if (ka != kb) return arena_printf(g->arena, "matmul: inner dimensions differ: %s @ %s", sa, sb);
    if (p == DIM_N)
        return arena_printf(g->arena, "matmul: the batch dimension N cannot become a column dimension: %s @ %s",
                            sa, sb);
    int64_t dims[2] = {m, p};
    n->type = tt_make(a->dtype, 2, dims);
    return NULL;
}

/* ---- reductions -------------------------------------------------------- */

/* The type of reducing x over n's `axes` (empty: all) with `keepdims`. */
static const char *reduce_type(Graph *g, const Node *n, const TensorType *x, TensorType *out) {
    const int64_t *axes;
    int na = node_attr_ints(n, "axes", &axes);
    bool keep = node_attr_int(n, "keepdims") != 0;
    bool red[DLC_MAX_RANK] = {false};
    if (na == 0)
        for (int i = 0; i < x->rank; i++) red[i] = true;
    for (int i = 0; i < na; i++) {
        int ax;
        if (!norm_axis(axes[i], x->rank, &ax))
            return arena_printf(g->arena, "%s: axis %lld is out of range for %s", opname(n), (long long)axes[i],
                                shape_fmt(g, x));
        if (red[ax])
            return arena_printf(g->arena, "%s: axis %lld is listed twice", opname(n), (long long)axes[i]);
        red[ax] = true;
    }
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = x->dtype;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i])
            t.dims[t.rank++] = x->dims[i];
        else if (keep)
            t.dims[t.rank++] = 1;
    }
    *out = t;
    return NULL;
}

/* sum / mean / max over `axes`; reducing N is allowed (mean divides by the
 * run-time batch size). */
const char *shape_reduce(Graph *g, Node *n) {
    if (n->op == OP_MEAN) {
        const char *err = need_float(g, n, T(0));
        if (err) return err;
    }
    return reduce_type(g, n, T(0), &n->type);
}

/* (dy, x, y) of y = max(x): dy and y have the reduced type; result like x. */
const char *shape_max_grad(Graph *g, Node *n) {
    TensorType r;
    const char *err = reduce_type(g, n, T(1), &r);
    if (err) return err;
    if (!tt_equal(T(0), &r) || !tt_equal(T(2), &r))
        return arena_printf(g->arena, "max_grad: expected dy and y of type %s (max of %s), got %s and %s",
                            shape_fmt(g, &r), shape_fmt(g, T(1)), shape_fmt(g, T(0)), shape_fmt(g, T(2)));
    n->type = *T(1);
    return NULL;
}

/* ---- shape manipulation ------------------------------------------------ */

/* Reads a `shape` attribute as a type of dtype dt: -1 in dim 0 is N. */
static const char *shape_attr_type(Graph *g, const Node *n, DType dt, TensorType *out) {
    const int64_t *s;
    int ns = node_attr_ints(n, "shape", &s);
    if (ns > DLC_MAX_RANK)
        return arena_printf(g->arena, "%s: the shape %s has more than %d dimensions", opname(n), fmt_ints(g, s, ns),
                            DLC_MAX_RANK);
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = ns;
    for (int i = 0; i < ns; i++) {
        if (s[i] == -1 && i == 0)
            t.dims[i] = DIM_N;
        else if (s[i] < 0)
            return arena_printf(g->arena, "%s: invalid dimension %lld in the shape %s", opname(n),
                                (long long)s[i], fmt_ints(g, s, ns));
        else
            t.dims[i] = s[i];
    }
    const char *err = shape_check_dims(g, &t, opname(n));
    if (err) return err;
    *out = t;
    return NULL;
}

/* reshape to `shape`.  A batched operand keeps N: the target must start
 * with -1 and the per-sample element counts must agree.  An unbatched
 * operand may have one -1 anywhere, inferred as in NumPy. */
const char *shape_reshape(Graph *g, Node *n) {
    const TensorType *x = T(0);
    const int64_t *s;
    int ns = node_attr_ints(n, "shape", &s);
    const char *ts = fmt_ints(g, s, ns);
    if (ns > DLC_MAX_RANK)
        return arena_printf(g->arena, "reshape: the shape %s has more than %d dimensions", ts, DLC_MAX_RANK);
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = x->dtype;
    t.rank = ns;
    int infer = -1;
    int64_t prod = 1;
    bool batched = tt_has_batch(x);
    for (int i = 0; i < ns; i++) {
        if (s[i] == -1) {
            if (batched && i != 0)
                return arena_printf(g->arena,
                                    "reshape: only the first dimension may be -1 (the batch N) when reshaping %s, "
                                    "got %s",
                                    shape_fmt(g, x), ts);
            if (infer >= 0) return arena_printf(g->arena, "reshape: at most one dimension may be -1, got %s", ts);
            infer = i;
            continue;
        }
        if (s[i] < 0 || s[i] > DLC_MAX_DIM)
            return arena_printf(g->arena, "reshape: invalid dimension %lld in the shape %s", (long long)s[i], ts);
        t.dims[i] = s[i];
        prod = mul_sat(prod, s[i]);
    }
    int64_t have = tt_numel_per_sample(x);
    if (batched) {
        if (infer != 0)
            return arena_printf(g->arena,
                                "reshape: cannot reshape batched %s to the static shape %s; use -1 as the first "
                                "dimension to keep the batch dimension N",
                                shape_fmt(g, x), ts);
        t.dims[0] = DIM_N;
    } else if (infer >= 0) {
        if (prod == 0 || have % prod != 0)
            return arena_printf(g->arena, "reshape: cannot reshape %s to %s: %lld elements do not divide evenly",
                                shape_fmt(g, x), ts, (long long)have);
        t.dims[infer] = have / prod;
        prod = have;
    }
    if (prod != have)
        return arena_printf(g->arena, "reshape: cannot reshape %s to %s: the element counts differ (%lld and %lld)",
                            shape_fmt(g, x), ts, (long long)have, (long long)prod);
    n->type = t;
    return NULL;
}

/* [d0, d1, ..., dk] -> [d0, d1*...*dk] (rank 1: [d0, 1]). */
const char *shape_flatten(Graph *g, Node *n) {
    const TensorType *x = T(0);
    if (x->rank < 1)
        return arena_printf(g->arena, "flatten expects an operand of rank 1 or more, got %s", shape_fmt(g, x));
    int64_t prod = 1;
    for (int i = 1; i < x->rank; i++) prod = mul_sat(prod, x->dims[i]);
    int64_t dims[2] = {x->dims[0], prod};
    TensorType t = tt_make(x->dtype, 2, dims);
    const char *err = shape_check_dims(g, &t, "flatten");
    if (err) return err;
    n->type = t;
    return NULL;
}

/* Permutes the dims by `perm` (empty: reverse); N must stay first. */
const char *shape_transpose(Graph *g, Node *n) {
    const TensorType *x = T(0);
    const int64_t *perm;
    int np = node_attr_ints(n, "perm", &perm);
    int64_t p[DLC_MAX_RANK];
    if (np == 0) {
        for (int i = 0; i < x->rank; i++) p[i] = x->rank - 1 - i;
    } else {
        if (np != x->rank)
            return arena_printf(g->arena, "transpose: perm %s does not match the rank of %s", fmt_ints(g, perm, np),
                                shape_fmt(g, x));
        bool seen[DLC_MAX_RANK] = {false};
        for (int i = 0; i < np; i++) {
            if (perm[i] < 0 || perm[i] >= x->rank || seen[perm[i]])
                return arena_printf(g->arena, "transpose: perm %s is not a permutation of the axes of %s",
                                    fmt_ints(g, perm, np), shape_fmt(g, x));
            seen[perm[i]] = true;
            p[i] = perm[i];
        }
    }
    if (tt_has_batch(x) && (x->rank == 0 || p[0] != 0))
        return arena_printf(g->arena, "transpose: the batch dimension N of %s must stay first", shape_fmt(g, x));
    TensorType t = *x;
    for (int i = 0; i < x->rank; i++) t.dims[i] = x->dims[p[i]];
    n->type = t;
    return NULL;
}

/* Joins operands along `axis`; all other dims must agree. */
const char *shape_concat(Graph *g, Node *n) {
    const TensorType *a = T(0);
    if (a->rank < 1)
        return arena_printf(g->arena, "concat expects operands of rank 1 or more, got %s", shape_fmt(g, a));
    int64_t axis = node_attr_int(n, "axis");
    int ax;
    if (!norm_axis(axis, a->rank, &ax))
        return arena_printf(g->arena, "concat: axis %lld is out of range for %s", (long long)axis, shape_fmt(g, a));
    TensorType t = *a;
    int64_t sum = 0;
    for (int i = 0; i < n->nin; i++) {
        const TensorType *b = T(i);
        if (b->dtype != a->dtype)
            return arena_printf(g->arena, "concat: dtype mismatch: %s and %s", shape_fmt(g, a), shape_fmt(g, b));
        if (b->rank != a->rank)
            return arena_printf(g->arena, "concat: rank mismatch: %s and %s", shape_fmt(g, a), shape_fmt(g, b));
        for (int d = 0; d < a->rank; d++)
            if (d != ax && b->dims[d] != a->dims[d])
                return arena_printf(g->arena, "concat: %s and %s differ outside axis %d", shape_fmt(g, a),
                                    shape_fmt(g, b), ax);
        if (b->dims[ax] == DIM_N)
            return arena_printf(g->arena, "concat: cannot concatenate along the batch dimension N of %s",
                                shape_fmt(g, b));
        sum += b->dims[ax];
        if (sum > DLC_MAX_DIM) return arena_printf(g->arena, "concat: the result is too large");
    }
    t.dims[ax] = sum;
    const char *err = shape_check_dims(g, &t, "concat");
    if (err) return err;
    n->type = t;
    return NULL;
}

/* [start, start+size) of one static axis. */
const char *shape_slice(Graph *g, Node *n) {
    const TensorType *x = T(0);
    int64_t axis = node_attr_int(n, "axis"), start = node_attr_int(n, "start"), size = node_attr_int(n, "size");
    int ax;
    if (!norm_axis(axis, x->rank, &ax))
        return arena_printf(g->arena, "slice: axis %lld is out of range for %s", (long long)axis, shape_fmt(g, x));
    if (x->dims[ax] == DIM_N)
        return arena_printf(g->arena, "slice: cannot slice the batch dimension N of %s", shape_fmt(g, x));
    if (start < 0 || size < 0 || start > x->dims[ax] || size > x->dims[ax] - start)
        return arena_printf(g->arena, "slice: [%lld, %lld) is out of bounds for axis %d of %s", (long long)start,
                            (long long)start + (size > 0 && size < DLC_MAX_DIM ? size : 0), ax, shape_fmt(g, x));
    n->type = *x;
    n->type.dims[ax] = size;
    return NULL;
}

/* Broadcasts the operand to `shape` (the target must be the broadcast). */
const char *shape_broadcast_to(Graph *g, Node *n) {
    const TensorType *x = T(0);
    TensorType t, b;
    const char *err = shape_attr_type(g, n, x->dtype, &t);
    if (err) return err;
    if (!shape_broadcast_types(x, &t, &b) || !tt_equal(&b, &t))
        return arena_printf(g->arena, "broadcast_to: cannot broadcast %s to %s", shape_fmt(g, x), shape_fmt(g, &t));
    n->type = t;
    return NULL;
}

/* Sums the operand down to `shape`, which must broadcast to the operand. */
const char *shape_sum_to(Graph *g, Node *n) {
    const TensorType *x = T(0);
    TensorType t, b;
    const char *err = shape_attr_type(g, n, x->dtype, &t);
    if (err) return err;
    if (!shape_broadcast_types(&t, x, &b) || !tt_equal(&b, x))
        return arena_printf(g->arena, "sum_to: cannot reduce %s to %s", shape_fmt(g, x), shape_fmt(g, &t));
    n->type = t;
    return NULL;
}

/* ---- losses and metrics ------------------------------------------------ */

/* Sparse labels: logits/probs [B,C] float, labels i32[B]. */
static const char *check_sparse_pair(Graph *g, const Node *n, const TensorType *x, const TensorType *y) {
    if (!dtype_is_float(x->dtype))
        return arena_printf(g->arena, "%s expects floating-point logits or probabilities, got %s", opname(n),
                            shape_fmt(g, x));
    if (x->rank != 2)
        return arena_printf(g->arena, "%s expects logits or probabilities of shape [N,C], got %s", opname(n),
                            shape_fmt(g, x));
    if (y->dtype != DT_I32 || y->rank != 1 || y->dims[0] != x->dims[0]) {
        TensorType want = tt_make(DT_I32, 1, x->dims);
        return arena_printf(g->arena, "%s: the labels must be %s (class indices) for %s, got %s", opname(n),
                            shape_fmt(g, &want), shape_fmt(g, x), shape_fmt(g, y));
    }
    return NULL;
}

/* Dense targets: predictions and targets of one float type. */
static const char *check_dense_pair(Graph *g, const Node *n, const TensorType *x, const TensorType *y) {
    if (!dtype_is_float(x->dtype))
        return arena_printf(g->arena, "%s expects floating-point predictions, got %s", opname(n), shape_fmt(g, x));
    if (x->rank < 1)
        return arena_printf(g->arena, "%s expects a batch of predictions, got the scalar %s", opname(n),
                            shape_fmt(g, x));
    if (x->dtype != y->dtype)
        return arena_printf(g->arena, "%s: dtype mismatch: predictions %s and targets %s", opname(n),
                            shape_fmt(g, x), shape_fmt(g, y));
    if (!tt_equal(x, y))
        return arena_printf(g->arena, "%s: predictions %s and targets %s differ in shape", opname(n),
                            shape_fmt(g, x), shape_fmt(g, y));
    return NULL;
}

/* sparse_categorical_crossentropy: a scalar (the batch mean). */
const char *shape_loss_sparse(Graph *g, Node *n) {
    const char *err = check_sparse_pair(g, n, T(0), T(1));
    if (err) return err;
    n->type = tt_scalar(T(0)->dtype);
    return NULL;
}

/* categorical / binary crossentropy, mean squared error: a scalar. */
const char *shape_loss_dense(Graph *g, Node *n) {
    const char *err = check_dense_pair(g, n, T(0), T(1));
    if (err) return err;
    n->type = tt_scalar(T(0)->dtype);
    return NULL;
}

/* (x, target, dloss) -> d loss / d x, typed like x. */
const char *shape_loss_grad(Graph *g, Node *n) {
    const char *err = n->op == OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD ? check_sparse_pair(g, n, T(0), T(1))
                                                                       : check_dense_pair(g, n, T(0), T(1));
    if (err) return err;
    TensorType s = tt_scalar(T(0)->dtype);
    if (!tt_equal(T(2), &s))
        return arena_printf(g->arena, "%s: the loss gradient must be the scalar %s, got %s", opname(n),
                            shape_fmt(g, &s), shape_fmt(g, T(2)));
    n->type = *T(0);
    return NULL;
}

/* accuracy(probs, labels) -> f32[]: class indices i32[B] for probs [B,C],
 * or labels shaped like probs (one-hot, or binary targets). */
const char *shape_accuracy(Graph *g, Node *n) {
    const TensorType *p = T(0), *y = T(1);
    if (!dtype_is_float(p->dtype))
        return arena_printf(g->arena, "accuracy expects floating-point predictions, got %s", shape_fmt(g, p));
    if (p->rank < 1 || p->rank > 2)
        return arena_printf(g->arena, "accuracy expects predictions of shape [N,C] or [N], got %s", shape_fmt(g, p));
    bool sparse = p->rank == 2 && y->dtype == DT_I32 && y->rank == 1 && y->dims[0] == p->dims[0];
    bool same = y->rank == p->rank;
    for (int i = 0; same && i < p->rank; i++) same = y->dims[i] == p->dims[i];
    if (!sparse && !same) {
        TensorType want = tt_make(DT_I32, 1, p->dims);
        return arena_printf(g->arena, "accuracy: the labels %s do not fit the predictions %s (expected %s%s%s)",
                            shape_fmt(g, y), shape_fmt(g, p), p->rank == 2 ? shape_fmt(g, &want) : "",
                            p->rank == 2 ? " or " : "", shape_fmt(g, p));
    }
    n->type = tt_scalar(DT_F32);
    return NULL;
}

/* ---- state update ------------------------------------------------------ */

const char *shape_assign(Graph *g, Node *n) {
    const Node *target = n->in[0];
    if (target->op != OP_PARAM && target->op != OP_STATE)
        return arena_printf(g->arena, "assign: the target must be a param or state, got %s", opname(target));
    if (!tt_equal(T(1), &target->type))
        return arena_printf(g->arena, "assign: the value %s does not match %%%s %s", shape_fmt(g, T(1)),
                            target->name ? target->name : "?", shape_fmt(g, &target->type));
    n->type = target->type;
    return NULL;
}
