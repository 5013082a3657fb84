/* interp.c - the reference interpreter: every op of ops.def in f64.
 *
 * interp_new() gives every node a buffer of doubles (its element count with
 * the batch dimension N bound to the run-time n), fills the leaves (params
 * and states from their initializers, hparams and consts with their value,
 * inputs with zeros) and interp_run() evaluates the non-leaf nodes in graph
 * order with plain loops.  Integer tensors (labels) are held as doubles.
 *
 * Dispatch: one kernel k_<name> per op, declared and tabulated by an
 * X-macro over ops.def, so an op added to the table without a kernel here
 * fails to build (a static function used but never defined).  The
 * elementwise ops share one kernel, k_elementwise, whose formulas are the
 * ew column of ops.def compiled here as C (in double) - the same text the
 * code generators expand - so no formula is written twice.
 *
 * Semantics the code generators must match (the executable specification):
 *  - Broadcasting is NumPy's (shapes aligned on the right, 1 stretches).
 *  - Reductions over `axes` (empty: all axes); mean divides by the number of
 *    reduced elements, so a mean over N divides by the run-time n.
 *  - matmul multiplies the last two axes, op(A)[M,K] @ op(B)[K,P], with
 *    leading (batch) axes broadcast; trans_a / trans_b read an operand
 *    transposed.
 *  - Losses are means: over the rows (all axes but the last) for the
 *    cross-entropies with classes, over all elements for binary CE and MSE.
 *    Probabilities (from_logits=false) are clipped to [1e-7, 1 - 1e-7] as in
 *    Keras; the gradient is zero where the clip is active.  The *_grad ops
 *    take (x, target, dloss) and return dloss * d loss / d x, 1/rows
 *    included.
 *  - dropout_mask: element j is 0 if u_j < rate else 1/(1-rate), where
 *    u_j = uniform01(key(key(seed, step), node id), j) with the runtime's
 *    counter-based generator (runtime/rng.c; reproduced below).
 *  - Params and states: element j of a param draws number j of the stream
 *    key(seed, fnv1a64(name)), with the runtime's uniform / normal /
 *    truncated-normal formulas.
 *  - accuracy: fraction of rows whose argmax (first maximum) equals the
 *    label (i32 labels) or the target's argmax (f32 [N,C] targets); with one
 *    output per row, a prediction > 0.5 matches a target > 0.5.
 *  - cast to f32 rounds to float; to an integer type truncates toward 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "interp.h"
#include "interp_conv.h"

struct Interp {
    const Graph *g;
    int64_t n;        /* the batch size N is bound to */
    uint64_t seed;
    uint64_t step;    /* keys the dropout masks */
    int nids;         /* buffers are indexed by node id, < nids */
    double **buf;
    int64_t *numel;
};

/* ---- the runtime's counter-based random numbers (runtime/rng.c) ------ */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_key(uint64_t a, uint64_t b)
{
    return mix64(mix64(a) ^ b);
}

static double uniform01(uint64_t key, uint64_t i)
{
    return (double)(rng_key(key, i) >> 11) * 0x1.0p-53;
}

static double normal01(uint64_t key, uint64_t i)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - uniform01(key, 2 * i);
    double u2 = uniform01(key, 2 * i + 1);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* Normal truncated at two standard deviations, redrawn from derived
 * streams as the runtime does. */
static double truncated01(uint64_t key, uint64_t i)
{
    for (uint64_t r = 0; r < 64; r++) {
        double t = normal01(r == 0 ? key : rng_key(key, r), i);
        if (fabs(t) <= 2.0) return t;
    }
    return 0.0;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* ---- shapes and indexing --------------------------------------------- */

#define IN(i) (it->buf[nd->in[(i)]->id])
#define OUT (it->buf[nd->id])
#define NUMEL(node) (it->numel[(node)->id])

/* The node's dims with N bound to n; returns the rank. */
static int bound_dims(const Interp *it, const TensorType *t, int64_t *d)
{
    for (int i = 0; i < t->rank; i++) d[i] = t->dims[i] == DIM_N ? it->n : t->dims[i];
    return t->rank;
}

/* Strides with which an operand of dims `in` is read when broadcast to
 * `out` (NumPy rules, aligned on the right): a stretched or missing axis
 * has stride 0. */
static void bcast_strides(const int64_t *in, int in_rank, const int64_t *out, int out_rank,
                          int64_t *strides)
{
    int64_t s = 1;
    for (int i = out_rank - 1; i >= 0; i--) {
        int j = i - (out_rank - in_rank);
        if (j < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (in[j] == 1 && out[i] != 1) ? 0 : s;
        s *= in[j];
    }
}

/* Offset of linear index `lin` of a tensor of dims `d` read with `strides`. */
static int64_t offset_of(int64_t lin, const int64_t *d, int rank, const int64_t *strides)
{
    int64_t off = 0;
    for (int i = rank - 1; i >= 0; i--) {
        if (d[i] == 0) return 0;
        off += (lin % d[i]) * strides[i];
        lin /= d[i];
    }
    return off;
}

/* Normalises a possibly negative axis. */
static int norm_axis(int64_t axis, int rank)
{
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= (rank ? rank : 1)) DLC_ICE("interp: axis %lld out of range", (long long)axis);
    return (int)axis;
}

/* Splits dims around `axis` into outer * len * inner. */
static void split_axis(const int64_t *d, int rank, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= d[i];
    *len = rank ? d[axis] : 1;
    for (int i = axis + 1; i < rank; i++) *inner *= d[i];
}

/* ---- kernels: one per op, declared from the op table ------------------ */

typedef void (*Kernel)(Interp *it, const Node *nd);

/* The elementwise ops share k_elementwise, driven by their ew formulas;
 * every other op has a kernel k_<name> of its own. */
#define K_FOR_OK_LEAF(name) k_##name
#define K_FOR_OK_UNARY(name) k_elementwise
#define K_FOR_OK_BINARY(name) k_elementwise
#define K_FOR_OK_EW(name) k_elementwise
#define K_FOR_OK_REDUCE(name) k_##name
#define K_FOR_OK_SHAPE(name) k_##name
#define K_FOR_OK_OTHER(name) k_##name

#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) \
    static void K_FOR_##kind(name)(Interp *it, const Node *nd);
#include "ops.def"
#undef OP

static const Kernel kernels[OP_COUNT] = {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) [OP_##e] = K_FOR_##kind(name),
#include "ops.def"
#undef OP
};

/* Leaves are filled by interp_new (and by the caller); running them is a no-op. */
static void k_input(Interp *it, const Node *nd) { (void)it; (void)nd; }
static void k_param(Interp *it, const Node *nd) { (void)it; (void)nd; }
static void k_state(Interp *it, const Node *nd) { (void)it; (void)nd; }
static void k_hparam(Interp *it, const Node *nd) { (void)it; (void)nd; }
static void k_const(Interp *it, const Node *nd) { (void)it; (void)nd; }

/* ---- elementwise ops: the ew column of ops.def ------------------------- */

#define EW_MAX_IN 4    /* most operands of an elementwise op */
#define EW_MAX_ATTRS 8 /* most float attributes of one */

/* A node's float attributes, defaults filled in, read once per node. */
typedef struct {
    int n;
    const char *name[EW_MAX_ATTRS];
    double value[EW_MAX_ATTRS];
} EwAttrs;

/* The value of float attribute `name` in at (a formula's ATTR(name)). */
static double ew_attr(const EwAttrs *at, const char *name)
{
    for (int k = 0; k < at->n; k++)
        if (strcmp(at->name[k], name) == 0) return at->value[k];
    DLC_ICE("interp: an ew formula reads '%s', not a float attribute of its op", name);
}

/* The ew formula of op at the operands' elements x[]: the column's tokens
 * compiled as they are, in double, X<k> naming x[k] and ATTR(a) attribute
 * a.  The code generators expand the same text (ops.c respells it as their
 * template), so the formula is written once. */
static double ew_value(OpCode op, const double *x, const EwAttrs *at)
{
#define X0 x[0]
#define X1 x[1]
#define X2 x[2]
#define X3 x[3]
#define ATTR(a) ew_attr(at, #a)
#define EW_CASE(e, ew) case OP_##e: return ew;
#define EW_CASE_OK_LEAF(e, ew)
#define EW_CASE_OK_UNARY EW_CASE
#define EW_CASE_OK_BINARY EW_CASE
#define EW_CASE_OK_EW EW_CASE
#define EW_CASE_OK_REDUCE(e, ew)
#define EW_CASE_OK_SHAPE(e, ew)
#define EW_CASE_OK_OTHER(e, ew)
    (void)at;
    switch (op) {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) EW_CASE_##kind(e, ew)
#include "ops.def"
#undef OP
    default: DLC_ICE("interp: '%s' has no ew formula", op_info(op)->name);
    }
#undef X0
#undef X1
#undef X2
#undef X3
#undef ATTR
}

/* Every elementwise op: y[i] is its formula at the operands' elements,
 * each operand read with NumPy broadcasting (straight through when it has
 * the result's shape, as unary and ew operands do).  Cast's formula is the
 * identity; its conversion is the store's: to f32 rounds to float, to an
 * integer type truncates toward 0. */
static void k_elementwise(Interp *it, const Node *nd)
{
    const OpInfo *info = op_info(nd->op);
    EwAttrs at = {0};
    for (int s = 0; s < info->nspecs; s++) {
        if (info->specs[s].kind != AK_FLOAT) continue;
        DLC_ASSERT(at.n < EW_MAX_ATTRS);
        at.name[at.n] = info->specs[s].name;
        at.value[at.n++] = node_attr_float(nd, info->specs[s].name);
    }
    int64_t od[DLC_MAX_RANK], xd[DLC_MAX_RANK], st[EW_MAX_IN][DLC_MAX_RANK];
    const double *p[EW_MAX_IN];
    bool straight[EW_MAX_IN];
    DLC_ASSERT(nd->nin <= EW_MAX_IN);
    int r = bound_dims(it, &nd->type, od);
    for (int k = 0; k < nd->nin; k++) {
        int rk = bound_dims(it, &nd->in[k]->type, xd);
        straight[k] = rk == r && memcmp(xd, od, sizeof(int64_t) * (size_t)r) == 0;
        bcast_strides(xd, rk, od, r, st[k]);
        p[k] = IN(k);
    }
    double x[EW_MAX_IN] = {0}, *y = OUT;
    int64_t m = NUMEL(nd);
    for (int64_t i = 0; i < m; i++) {
        for (int k = 0; k < nd->nin; k++) x[k] = p[k][straight[k] ? i : offset_of(i, od, r, st[k])];
        y[i] = ew_value(nd->op, x, &at);
    }
    if (nd->op != OP_CAST) return;
    DType to = (DType)node_attr_int(nd, "dtype");
    for (int64_t i = 0; i < m; i++) {
        if (to == DT_F32) y[i] = (double)(float)y[i];
        else if (to != DT_F64) y[i] = trunc(y[i]);
    }
}

/* matmul over the last two axes, leading axes broadcast. */
static void k_matmul(Interp *it, const Node *nd)
{
    int64_t od[DLC_MAX_RANK], ad[DLC_MAX_RANK], bd[DLC_MAX_RANK];
    int r = bound_dims(it, &nd->type, od);
    int ra = bound_dims(it, &nd->in[0]->type, ad);
    int rb = bound_dims(it, &nd->in[1]->type, bd);
    bool ta = node_attr_int(nd, "trans_a") != 0, tb = node_attr_int(nd, "trans_b") != 0;
    DLC_ASSERT(r >= 2 && ra >= 2 && rb >= 2);
    int64_t ar = ad[ra - 2], ac = ad[ra - 1], br = bd[rb - 2], bc = bd[rb - 1];
    int64_t M = ta ? ac : ar, K = ta ? ar : ac, P = tb ? br : bc;
    DLC_ASSERT((tb ? bc : br) == K && od[r - 2] == M && od[r - 1] == P);
    /* batch axes: broadcast strides in units of whole matrices */
    int64_t as[DLC_MAX_RANK], bs[DLC_MAX_RANK];
    bcast_strides(ad, ra - 2, od, r - 2, as);
    bcast_strides(bd, rb - 2, od, r - 2, bs);
    int64_t nb = 1;
    for (int i = 0; i < r - 2; i++) nb *= od[i];
    const double *A = IN(0), *B = IN(1);
    double *C = OUT;
    for (int64_t bi = 0; bi < nb; bi++) {
        const double *a = A + offset_of(bi, od, r - 2, as) * ar * ac;
        const double *b = B + offset_of(bi, od, r - 2, bs) * br * bc;
        double *c = C + bi * M * P;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < P; j++) {
                double s = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    double x = ta ? a[k * ac + i] : a[i * ac + k];
                    double y = tb ? b[j * bc + k] : b[k * bc + j];
                    s += x * y;
                }
                c[i * P + j] = s;
            }
    }
}

/* ---- reductions ------------------------------------------------------- */

/* For a reduction of `nd` (axes attribute) over its operand `src` (0 for
 * sum/mean/max, 1 for max_grad, whose operand 1 is the forward max's
 * operand): the operand's bound dims and, per operand axis, the stride of
 * the output (0 on reduced axes).  Returns the operand rank. */
static int reduce_map(Interp *it, const Node *nd, int src, int64_t *xd, int64_t *ostr)
{
    int rank = bound_dims(it, &nd->in[src]->type, xd);
    bool red[DLC_MAX_RANK] = {false};
    const int64_t *axes;
    int nax = node_attr_ints(nd, "axes", &axes);
    for (int i = 0; i < rank; i++) red[i] = nax == 0;
    for (int k = 0; k < nax; k++) red[norm_axis(axes[k], rank)] = true;
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        ostr[i] = red[i] ? 0 : s;
        if (!red[i]) s *= xd[i];
    }
    return rank;
}

/* sum / mean / max share one loop: mode 0 sum, 1 mean, 2 max. */
static void reduce(Interp *it, const Node *nd, int mode)
{
    int64_t xd[DLC_MAX_RANK], ostr[DLC_MAX_RANK];
    int rank = reduce_map(it, nd, 0, xd, ostr);
    const double *x = IN(0);
    double *y = OUT;
    int64_t m = NUMEL(nd), mx = NUMEL(nd->in[0]);
    for (int64_t i = 0; i < m; i++) y[i] = mode == 2 ? -INFINITY : 0.0;
    for (int64_t i = 0; i < mx; i++) {
        int64_t o = offset_of(i, xd, rank, ostr);
        if (mode == 2) y[o] = x[i] > y[o] || isnan(x[i]) ? x[i] : y[o];
        else y[o] += x[i];
    }
    if (mode == 1 && m > 0) {
        double count = (double)mx / (double)m;
        for (int64_t i = 0; i < m; i++) y[i] /= count;
    }
}

static void k_sum(Interp *it, const Node *nd) { reduce(it, nd, 0); }
static void k_mean(Interp *it, const Node *nd) { reduce(it, nd, 1); }
static void k_max(Interp *it, const Node *nd) { reduce(it, nd, 2); }

/* max_grad(dy, x, y): dy goes to the first element of x (in row-major
 * order) equal to the maximum y of its group; the others get 0. */
static void k_max_grad(Interp *it, const Node *nd)
{
    int64_t xd[DLC_MAX_RANK], ostr[DLC_MAX_RANK];
    int rank = reduce_map(it, nd, 1, xd, ostr);
    const double *dy = IN(0), *x = IN(1), *y = IN(2);
    double *dx = OUT;
    int64_t mx = NUMEL(nd), my = NUMEL(nd->in[2]);
    char *taken = calloc((size_t)(my ? my : 1), 1);
    if (!taken) DLC_ICE("interp: out of memory");
    for (int64_t i = 0; i < mx; i++) {
        int64_t o = offset_of(i, xd, rank, ostr);
        if (!taken[o] && x[i] == y[o]) {
            dx[i] = dy[o];
            taken[o] = 1;
        } else {
            dx[i] = 0.0;
        }
    }
    free(taken);
}

/* sum_to: sums the operand over the axes broadcast to reach it. */
static void k_sum_to(Interp *it, const Node *nd)
{
    int64_t xd[DLC_MAX_RANK], od[DLC_MAX_RANK], ostr[DLC_MAX_RANK];
    int rx = bound_dims(it, &nd->in[0]->type, xd);
    int ro = bound_dims(it, &nd->type, od);
    bcast_strides(od, ro, xd, rx, ostr);
    const double *x = IN(0);
    double *y = OUT;
    memset(y, 0, sizeof(double) * (size_t)NUMEL(nd));
    for (int64_t i = 0, m = NUMEL(nd->in[0]); i < m; i++) y[offset_of(i, xd, rx, ostr)] += x[i];
}

/* ---- shape manipulation ---------------------------------------------- */

static void copy_operand(Interp *it, const Node *nd)
{
    DLC_ASSERT(NUMEL(nd) == NUMEL(nd->in[0]));
    memcpy(OUT, IN(0), sizeof(double) * (size_t)NUMEL(nd));
}

static void k_reshape(Interp *it, const Node *nd) { copy_operand(it, nd); }
static void k_flatten(Interp *it, const Node *nd) { copy_operand(it, nd); }

static void k_broadcast_to(Interp *it, const Node *nd)
{
    int64_t xd[DLC_MAX_RANK], od[DLC_MAX_RANK], xs[DLC_MAX_RANK];
    int rx = bound_dims(it, &nd->in[0]->type, xd);
    int ro = bound_dims(it, &nd->type, od);
    bcast_strides(xd, rx, od, ro, xs);
    const double *x = IN(0);
    double *y = OUT;
    for (int64_t i = 0, m = NUMEL(nd); i < m; i++) y[i] = x[offset_of(i, od, ro, xs)];
}

/* transpose: output axis i is operand axis perm[i] (empty perm: reversed). */
static void k_transpose(Interp *it, const Node *nd)
{
    int64_t xd[DLC_MAX_RANK], od[DLC_MAX_RANK], xstr[DLC_MAX_RANK], rd[DLC_MAX_RANK];
    int r = bound_dims(it, &nd->in[0]->type, xd);
    bound_dims(it, &nd->type, od);
    const int64_t *perm;
    int np = node_attr_ints(nd, "perm", &perm);
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        xstr[i] = s;
        s *= xd[i];
    }
    for (int i = 0; i < r; i++) rd[i] = xstr[np ? norm_axis(perm[i], r) : r - 1 - i];
    const double *x = IN(0);
    double *y = OUT;
    for (int64_t i = 0, m = NUMEL(nd); i < m; i++) y[i] = x[offset_of(i, od, r, rd)];
}

static void k_concat(Interp *it, const Node *nd)
{
    int64_t od[DLC_MAX_RANK];
    int r = bound_dims(it, &nd->type, od);
    int axis = norm_axis(node_attr_int(nd, "axis"), r);
    int64_t outer, len, inner;
    split_axis(od, r, axis, &outer, &len, &inner);
    double *y = OUT;
    int64_t at = 0; /* position along the axis */
    for (int k = 0; k < nd->nin; k++) {
        int64_t xd[DLC_MAX_RANK], xo, xl, xi;
        bound_dims(it, &nd->in[k]->type, xd);
        split_axis(xd, r, axis, &xo, &xl, &xi);
        const double *x = IN(k);
        for (int64_t o = 0; o < outer; o++)
            memcpy(y + (o * len + at) * inner, x + o * xl * inner, sizeof(double) * (size_t)(xl * inner));
        at += xl;
    }
}

static void k_slice(Interp *it, const Node *nd)
{
    int64_t xd[DLC_MAX_RANK];
    int r = bound_dims(it, &nd->in[0]->type, xd);
    int axis = norm_axis(node_attr_int(nd, "axis"), r);
    int64_t start = node_attr_int(nd, "start"), size = node_attr_int(nd, "size");
    int64_t outer, len, inner;
    split_axis(xd, r, axis, &outer, &len, &inner);
    DLC_ASSERT(start >= 0 && start + size <= len);
    const double *x = IN(0);
    double *y = OUT;
    for (int64_t o = 0; o < outer; o++)
        memcpy(y + o * size * inner, x + (o * len + start) * inner, sizeof(double) * (size_t)(size * inner));
}

/* ---- softmax family (numerically stable) ------------------------------ */

/* The node's dims split around its `axis` attribute: outer * len * inner. */
static void along_axis(Interp *it, const Node *nd, int64_t *outer, int64_t *len, int64_t *inner)
{
    int64_t d[DLC_MAX_RANK];
    int r = bound_dims(it, &nd->type, d);
    int axis = norm_axis(node_attr_int(nd, "axis"), r);
    split_axis(d, r, axis, outer, len, inner);
}

static void softmax_common(Interp *it, const Node *nd, bool log_form)
{
    int64_t outer, len, inner;
    along_axis(it, nd, &outer, &len, &inner);
    const double *x = IN(0);
    double *y = OUT;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const double *xs = x + o * len * inner + in;
            double *ys = y + o * len * inner + in;
            double mx = -INFINITY, s = 0.0;
            for (int64_t k = 0; k < len; k++) mx = fmax(mx, xs[k * inner]);
            for (int64_t k = 0; k < len; k++) s += exp(xs[k * inner] - mx);
            for (int64_t k = 0; k < len; k++)
                ys[k * inner] = log_form ? xs[k * inner] - mx - log(s) : exp(xs[k * inner] - mx) / s;
        }
}

static void k_softmax(Interp *it, const Node *nd) { softmax_common(it, nd, false); }
static void k_log_softmax(Interp *it, const Node *nd) { softmax_common(it, nd, true); }

/* softmax_grad(dy, y) = y * (dy - sum(dy * y));
 * log_softmax_grad(dy, y) = dy - exp(y) * sum(dy). */
static void softmax_grad_common(Interp *it, const Node *nd, bool log_form)
{
    int64_t outer, len, inner;
    along_axis(it, nd, &outer, &len, &inner);
    const double *dy = IN(0), *y = IN(1);
    double *dx = OUT;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * len * inner + in;
            double s = 0.0;
            for (int64_t k = 0; k < len; k++)
                s += log_form ? dy[base + k * inner] : dy[base + k * inner] * y[base + k * inner];
            for (int64_t k = 0; k < len; k++) {
                int64_t q = base + k * inner;
                dx[q] = log_form ? dy[q] - exp(y[q]) * s : y[q] * (dy[q] - s);
            }
        }
}

static void k_softmax_grad(Interp *it, const Node *nd) { softmax_grad_common(it, nd, false); }
static void k_log_softmax_grad(Interp *it, const Node *nd) { softmax_grad_common(it, nd, true); }

/* ---- dropout ----------------------------------------------------------- */

static void k_dropout_mask(Interp *it, const Node *nd)
{
    double rate = node_attr_float(nd, "rate");
    double *y = OUT;
    uint64_t key = rng_key(rng_key(it->seed, it->step), (uint64_t)nd->id);
    for (int64_t j = 0, m = NUMEL(nd); j < m; j++) {
        if (rate <= 0.0) y[j] = 1.0;
        else if (rate >= 1.0) y[j] = 0.0;
        else y[j] = uniform01(key, (uint64_t)j) < rate ? 0.0 : 1.0 / (1.0 - rate);
    }
}

/* ---- losses ------------------------------------------------------------ */

#define CLIP_EPS 1e-7

static double clip_prob(double p)
{
    return p < CLIP_EPS ? CLIP_EPS : p > 1.0 - CLIP_EPS ? 1.0 - CLIP_EPS : p;
}

/* d clip(p) / dp: 1 inside the clip range, 0 where it is active. */
static double clip_slope(double p)
{
    return p >= CLIP_EPS && p <= 1.0 - CLIP_EPS ? 1.0 : 0.0;
}

/* Classes C (last axis) and rows (elements / C) of a loss operand. */
static void loss_rows(Interp *it, const Node *x, int64_t *rows, int64_t *classes)
{
    int64_t d[DLC_MAX_RANK];
    int r = bound_dims(it, &x->type, d);
    *classes = r ? d[r - 1] : 1;
    *rows = *classes ? NUMEL(x) / *classes : 0;
}

/* Row max and log-sum-exp of x[0..C). */
static double logsumexp(const double *x, int64_t C)
{
    double mx = -INFINITY, s = 0.0;
    for (int64_t k = 0; k < C; k++) mx = fmax(mx, x[k]);
    for (int64_t k = 0; k < C; k++) s += exp(x[k] - mx);
    return mx + log(s);
}

static int64_t label_at(const double *lab, int64_t i, int64_t C)
{
    double v = lab[i];
    if (!(v >= 0 && v < (double)C) || v != floor(v))
        dlc_error(SRCLOC_NONE, "label %g of row %lld is not a class index in [0, %lld)", v, (long long)i,
                  (long long)C);
    return (int64_t)v;
}

/* Sparse categorical cross-entropy (grad: dl = dloss, else NULL). */
static void sparse_ce(Interp *it, const Node *nd, const double *dl, double *out)
{
    int64_t rows, C;
    loss_rows(it, nd->in[0], &rows, &C);
    bool logits = node_attr_int(nd, "from_logits") != 0;
    const double *x = IN(0), *lab = IN(1);
    double total = 0.0, scale = dl && rows ? *dl / (double)rows : 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * C;
        int64_t c = label_at(lab, r, C);
        if (logits) {
            double lse = logsumexp(xr, C);
            total += lse - xr[c];
            if (dl)
                for (int64_t k = 0; k < C; k++) out[r * C + k] = scale * (exp(xr[k] - lse) - (k == c));
        } else {
            total += -log(clip_prob(xr[c]));
            if (dl)
                for (int64_t k = 0; k < C; k++)
                    out[r * C + k] = k == c ? -scale * clip_slope(xr[c]) / clip_prob(xr[c]) : 0.0;
        }
    }
    if (!dl) out[0] = rows ? total / (double)rows : 0.0;
}

/* Categorical cross-entropy with dense (one-hot or soft) targets. */
static void dense_ce(Interp *it, const Node *nd, const double *dl, double *out)
{
    int64_t rows, C;
    loss_rows(it, nd->in[0], &rows, &C);
    bool logits = node_attr_int(nd, "from_logits") != 0;
    const double *x = IN(0), *t = IN(1);
    double total = 0.0, scale = dl && rows ? *dl / (double)rows : 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * C, *tr = t + r * C;
        if (logits) {
            double lse = logsumexp(xr, C), ts = 0.0;
            for (int64_t k = 0; k < C; k++) {
                total += tr[k] * (lse - xr[k]);
                ts += tr[k];
            }
            if (dl)
                for (int64_t k = 0; k < C; k++) out[r * C + k] = scale * (exp(xr[k] - lse) * ts - tr[k]);
        } else {
            for (int64_t k = 0; k < C; k++) {
                total += -tr[k] * log(clip_prob(xr[k]));
                if (dl) out[r * C + k] = -scale * tr[k] * clip_slope(xr[k]) / clip_prob(xr[k]);
            }
        }
    }
    if (!dl) out[0] = rows ? total / (double)rows : 0.0;
}

/* Binary cross-entropy, mean over all elements. */
static void binary_ce(Interp *it, const Node *nd, const double *dl, double *out)
{
    int64_t m = NUMEL(nd->in[0]);
    bool logits = node_attr_int(nd, "from_logits") != 0;
    const double *x = IN(0), *t = IN(1);
    double total = 0.0, scale = dl && m ? *dl / (double)m : 0.0;
    for (int64_t i = 0; i < m; i++) {
        double xi = x[i], ti = t[i];
        if (logits) {
            total += fmax(xi, 0.0) - xi * ti + log1p(exp(-fabs(xi)));
            if (dl) out[i] = scale * (1.0 / (1.0 + exp(-xi)) - ti);
        } else {
            double p = clip_prob(xi);
            total += -(ti * log(p) + (1.0 - ti) * log(1.0 - p));
            if (dl) out[i] = scale * clip_slope(xi) * (-ti / p + (1.0 - ti) / (1.0 - p));
        }
    }
    if (!dl) out[0] = m ? total / (double)m : 0.0;
}

/* Mean squared error over all elements. */
static void mse(Interp *it, const Node *nd, const double *dl, double *out)
{
    int64_t m = NUMEL(nd->in[0]);
    const double *x = IN(0), *t = IN(1);
    double total = 0.0, scale = dl && m ? *dl / (double)m : 0.0;
    for (int64_t i = 0; i < m; i++) {
        double d = x[i] - t[i];
        total += d * d;
        if (dl) out[i] = scale * 2.0 * d;
    }
    if (!dl) out[0] = m ? total / (double)m : 0.0;
}

static void k_sparse_categorical_crossentropy(Interp *it, const Node *nd) { sparse_ce(it, nd, NULL, OUT); }
static void k_categorical_crossentropy(Interp *it, const Node *nd) { dense_ce(it, nd, NULL, OUT); }
static void k_binary_crossentropy(Interp *it, const Node *nd) { binary_ce(it, nd, NULL, OUT); }
static void k_mean_squared_error(Interp *it, const Node *nd) { mse(it, nd, NULL, OUT); }
static void k_sparse_categorical_crossentropy_grad(Interp *it, const Node *nd) { sparse_ce(it, nd, IN(2), OUT); }
static void k_categorical_crossentropy_grad(Interp *it, const Node *nd) { dense_ce(it, nd, IN(2), OUT); }
static void k_binary_crossentropy_grad(Interp *it, const Node *nd) { binary_ce(it, nd, IN(2), OUT); }
static void k_mean_squared_error_grad(Interp *it, const Node *nd) { mse(it, nd, IN(2), OUT); }

/* ---- metrics and state ------------------------------------------------- */

static int64_t argmax(const double *x, int64_t C)
{
    int64_t best = 0;
    for (int64_t k = 1; k < C; k++)
        if (x[k] > x[best]) best = k;
    return best;
}

static void k_accuracy(Interp *it, const Node *nd)
{
    int64_t rows, C;
    loss_rows(it, nd->in[0], &rows, &C);
    const double *p = IN(0), *t = IN(1);
    bool sparse = !dtype_is_float(nd->in[1]->type.dtype);
    int64_t correct = 0;
    if (nd->in[0]->type.rank <= 1 || C == 1) {
        /* one output per row: threshold both at 0.5 */
        int64_t m = NUMEL(nd->in[0]);
        for (int64_t i = 0; i < m; i++) correct += (p[i] > 0.5) == (t[i] > 0.5);
        rows = m;
    } else {
        for (int64_t r = 0; r < rows; r++) {
            /* a label outside [0, C) matches no class */
            int64_t want = !sparse ? argmax(t + r * C, C) : t[r] >= 0 && t[r] < (double)C ? (int64_t)t[r] : -1;
            correct += argmax(p + r * C, C) == want;
        }
    }
    OUT[0] = rows ? (double)correct / (double)rows : 0.0;
}

/* assign computes the new value; interp_apply_assigns stores it. */
static void k_assign(Interp *it, const Node *nd)
{
    DLC_ASSERT(NUMEL(nd) == NUMEL(nd->in[1]) || NUMEL(nd->in[1]) == 1);
    const double *v = IN(1);
    double *y = OUT;
    bool scalar = NUMEL(nd->in[1]) == 1;
    for (int64_t i = 0, m = NUMEL(nd); i < m; i++) y[i] = scalar ? v[0] : v[i];
}

/* ---- the convolution family: kernels in interp_conv.c ----------------- */

/* Hands the operands' and the result's buffers to interp_conv_kernel. */
static void conv_family(Interp *it, const Node *nd)
{
    const double *in[8];
    DLC_ASSERT(nd->nin <= 8);
    for (int k = 0; k < nd->nin; k++) in[k] = IN(k);
    interp_conv_kernel(nd, it->n, in, OUT, NUMEL(nd));
}
static void k_conv2d(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_max_pool2d(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_avg_pool2d(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_global_avg_pool2d(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_max_pool2d_grad(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_avg_pool2d_grad(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_conv2d_grad_input(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_conv2d_grad_filter(Interp *it, const Node *nd) { conv_family(it, nd); }
static void k_batch_norm(Interp *it, const Node *nd) { conv_family(it, nd); }

/* ---- the interpreter -------------------------------------------------- */

/* Fills a param or state from its initializer (see the file comment). */
static void init_leaf(Interp *it, const Node *nd)
{
    InitSpec spec;
    const char *err = init_resolve(nd, &spec);
    if (err) dlc_error(nd->loc, "%s", err);
    double *p = it->buf[nd->id];
    uint64_t key = rng_key(it->seed, fnv1a64(nd->name));
    for (int64_t j = 0, m = it->numel[nd->id]; j < m; j++) {
        switch (spec.dist) {
        case INIT_CONSTANT: p[j] = spec.a; break;
        case INIT_UNIFORM: p[j] = spec.a + (spec.b - spec.a) * uniform01(key, (uint64_t)j); break;
        case INIT_NORMAL: p[j] = spec.a + spec.b * normal01(key, (uint64_t)j); break;
        case INIT_TRUNCATED_NORMAL: p[j] = spec.a + spec.b * truncated01(key, (uint64_t)j); break;
        }
    }
}

Interp *interp_new(const Graph *g, int64_t n, uint64_t seed)
{
    DLC_ASSERT(n >= 1);
    Interp *it = calloc(1, sizeof *it);
    if (!it) DLC_ICE("interp: out of memory");
    it->g = g;
    it->n = n;
    it->seed = seed;
    it->nids = g->next_id;
    it->buf = calloc((size_t)(it->nids ? it->nids : 1), sizeof(double *));
    it->numel = calloc((size_t)(it->nids ? it->nids : 1), sizeof(int64_t));
    if (!it->buf || !it->numel) DLC_ICE("interp: out of memory");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *nd = g->nodes[i];
        DLC_ASSERT(nd->id >= 0 && nd->id < it->nids && !it->buf[nd->id]);
        int64_t m = tt_numel(&nd->type, n);
        it->numel[nd->id] = m;
        it->buf[nd->id] = calloc((size_t)(m ? m : 1), sizeof(double));
        if (!it->buf[nd->id]) DLC_ICE("interp: out of memory for %lld elements", (long long)m);
        if (nd->op == OP_PARAM || nd->op == OP_STATE) {
            init_leaf(it, nd);
        } else if (nd->op == OP_HPARAM || nd->op == OP_CONST) {
            double v = node_attr_float(nd, "value");
            for (int64_t j = 0; j < m; j++) it->buf[nd->id][j] = v;
        }
    }
    return it;
}

void interp_free(Interp *it)
{
    if (!it) return;
    for (int i = 0; i < it->nids; i++) free(it->buf[i]);
    free(it->buf);
    free(it->numel);
    free(it);
}

double *interp_buf(Interp *it, const Node *node)
{
    DLC_ASSERT(node->id >= 0 && node->id < it->nids && it->buf[node->id]);
    return it->buf[node->id];
}

int64_t interp_numel(Interp *it, const Node *node)
{
    DLC_ASSERT(node->id >= 0 && node->id < it->nids);
    return it->numel[node->id];
}

void interp_run(Interp *it)
{
    for (int i = 0; i < it->g->nnodes; i++) {
        const Node *nd = it->g->nodes[i];
        if (nd->dead) continue;
        Kernel k = kernels[nd->op];
        if (!k) DLC_ICE("interp: no reference kernel for '%s'", op_info(nd->op)->name);
        k(it, nd);
    }
}

void interp_apply_assigns(Interp *it)
{
    for (int i = 0; i < it->g->nnodes; i++) {
        const Node *nd = it->g->nodes[i];
        if (nd->dead || nd->op != OP_ASSIGN) continue;
        const Node *dst = nd->in[0];
        DLC_ASSERT(it->numel[dst->id] == it->numel[nd->id]);
        memcpy(it->buf[dst->id], it->buf[nd->id], sizeof(double) * (size_t)it->numel[nd->id]);
    }
}

void interp_set_step(Interp *it, uint64_t step)
{
    it->step = step;
}
