/* kernels.c - the one description of every op's kernel (kernels.h), for
 * the C launcher (c_kernels.c) and the CUDA one (cuda_kernels.c).
 *
 * It owns: the table `descs` (space, setup, body, flags per op, bound to
 * ir/ops.def by an X-macro, so an op added there without a description
 * fails to compile), the bodies of the row kernels (softmax, log_softmax
 * and their gradients, the crossentropy gradients), of the losses and
 * accuracy (terms), of the elementwise loss gradients, the elementwise
 * body of a fused region (also the optimizer updates), the copy body and
 * nest of the copying shape ops, and the geometry the launchers share
 * (rows, reduced dims).
 *
 * Semantics follow the reference interpreter (ir/interp.c): losses are
 * means over the batch (sparse / categorical crossentropy: over rows;
 * binary crossentropy and mean squared error: over all elements);
 * probabilities are clipped to [PROB_EPS, 1 - PROB_EPS] before a log, as
 * Keras does; accuracy compares argmaxes (first maximum), or thresholds at
 * 0.5 for a single column.  A sparse label outside [0, C) (which the
 * interpreter rejects) contributes no loss and no gradient instead of
 * reading out of bounds.  Sums of loss terms accumulate in double.
 */
#include <string.h>

#include "kernels.h"

/* The probability clip of the crossentropies (Keras' epsilon), as the
 * digits of a literal: PROB_EPS (double), PROB_EPS "f" (float). */
#define PROB_EPS "1e-7"
#define PROB_EPS_F PROB_EPS "f"

/* A single-precision math function as the dialect spells it (exp -> expf). */
static const char *fm(CEmit *e, const char *fn)
{
    return e->p->d->float_math ? arena_printf(e->a, "%sf", fn) : fn;
}

/* ---- geometry ------------------------------------------------------------ */

bool kd_rows(const Node *n, Rows *r)
{
    switch (n->op) {
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_SOFTMAX_GRAD:
    case OP_LOG_SOFTMAX_GRAD: {
        const TensorType *t = &n->type;
        return rows_around(t, ln_axis(n, node_attr_int(n, "axis"), t->rank), r);
    }
    default: {
        const TensorType *t = &n->in[0]->type;
        return rows_around(t, t->rank - 1, r);
    }
    }
}

void kd_reduced_dims(const Node *n, bool *red)
{
    const TensorType *t = &n->in[n->op == OP_MAX_GRAD ? 1 : 0]->type;
    if (n->op == OP_SUM_TO) {
        const TensorType *o = &n->type;
        int shift = t->rank - o->rank;
        for (int d = 0; d < t->rank; d++) {
            int od = d - shift;
            red[d] = od < 0 || (o->dims[od] == 1 && t->dims[d] != 1);
        }
        return;
    }
    const int64_t *axes;
    int na = node_attr_ints(n, "axes", &axes);
    for (int d = 0; d < t->rank; d++) red[d] = na == 0;
    for (int k = 0; k < na; k++) red[ln_axis(n, axes[k], t->rank)] = true;
}

void kd_reduce_step(CEmit *e, const Node *n, const char *acc, const char *x)
{
    if (n->op == OP_MAX) cp_line(e->p, "if (%s > %s) %s = %s;", x, acc, acc, x);
    else cp_line(e->p, "%s += %s;", acc, x);
}

/* ---- elementwise ---------------------------------------------------------- */

bool ck_is_inlined(const Node *n)
{
    return n->offset < 0 && n->fuse_group != 0;
}

/* Collects the members below n (post-order) and the leaves they read. */
static void ew_collect(EwRegion *c, const Node *n)
{
    for (int k = 0; k < n->nin; k++) {
        const Node *a = n->in[k];
        if (ck_is_inlined(a)) {
            ew_collect(c, a);
            continue;
        }
        if (a->op == OP_CONST) continue;
        bool seen = false;
        for (int j = 0; j < c->nleaf; j++) seen |= c->leaf[j] == a;
        if (seen) continue;
        if (c->nleaf + 1 >= LN_MAX_ARR) DLC_ICE("fused region of %%%d reads too many tensors", n->id);
        c->leaf[c->nleaf++] = a;
    }
    if (c->nmem >= 64) DLC_ICE("fused region too large");
    c->mem[c->nmem++] = n;
}

/* The region and its nest (c_emit.h). */
void ck_ew_region(CEmit *e, const Node *n, EwRegion *c, LoopNest *l)
{
    c->nmem = c->nleaf = 0;
    c->self = NULL;
    ew_collect(c, n);
    for (int j = 0; j < c->nleaf; j++)
        if (strcmp(ce_ref(e, c->leaf[j]), ce_ref(e, n)) == 0) {
            DLC_ASSERT(tt_equal(&c->leaf[j]->type, &n->type));
            c->self = c->leaf[j];
            c->leaf[j--] = c->leaf[--c->nleaf];
        }
    ln_init(l, &n->type);
    strides_of(&n->type, l->stride[0]);
    l->narr = 1 + c->nleaf;
    for (int j = 0; j < c->nleaf; j++) strides_bcast(&c->leaf[j]->type, &n->type, l->stride[j + 1]);
    ln_coalesce(l);
}

bool kd_ew_conditional(const EwRegion *c)
{
    bool cond = false;
    for (int m = 0; m < c->nmem; m++) cond |= strchr(op_info(c->mem[m]->op)->ew, '?') != NULL;
    return cond;
}

void kd_ew_body(CEmit *e, const EwRegion *c, const char *const *idx, bool hoist, bool self_local)
{
    if (hoist)
        for (int j = 0; j < c->nleaf; j++)
            cp_line(e->p, "const %s a%d = x%d[%s];", ce_ctype(c->leaf[j]->type.dtype), j, j, idx[j + 1]);
    const char *self = self_local ? "self" : arena_printf(e->a, "y[%s]", idx[0]);
    if (self_local && c->self) cp_line(e->p, "const %s self = y[%s];", ce_ctype(c->self->type.dtype), idx[0]);
    for (int m = 0; m < c->nmem; m++) {
        const Node *n = c->mem[m];
        const char *ops[16];
        DLC_ASSERT(n->nin <= 16);
        for (int k = 0; k < n->nin; k++) {
            const Node *a = n->in[k];
            if (ck_is_inlined(a)) {
                ops[k] = ce_ref(e, a);
            } else if (a->op == OP_CONST) {
                char lit[CP_FLOAT_LEN];
                ops[k] = arena_strdup(e->a, cp_float(e->p->d, node_attr_float(a, "value"), lit, sizeof lit));
            } else if (a == c->self) {
                ops[k] = self; /* read before it is written */
            } else {
                int j = 0;
                while (c->leaf[j] != a) j++;
                ops[k] = hoist ? arena_printf(e->a, "a%d", j) : arena_printf(e->a, "x%d[%s]", j, idx[j + 1]);
            }
        }
        const char *expr = cp_expand(e->a, e->p->d, op_info(n->op)->ew, ops, n->nin, n);
        if (m + 1 < c->nmem) cp_line(e->p, "const %s %s = %s;", ce_ctype(n->type.dtype), ce_ref(e, n), expr);
        else cp_line(e->p, "y[%s] = %s;", idx[0], expr);
    }
}

/* ---- copies --------------------------------------------------------------- */

void kd_copy_body(CEmit *e, const char *const *idx, void *src)
{
    cp_line(e->p, "y[%s] = %s[%s];", idx[0], src ? (const char *)src : "x0", idx[1]);
}

/* The nest of a copying shape op (c_emit.h): the result's elements in
 * order, the operand's strides permuted (transpose), zero where broadcast
 * (broadcast_to), or a box at the slice's offset (slice). */
void ck_copy_nest(const Node *n, LoopNest *l)
{
    const TensorType *t = &n->in[0]->type;
    if (n->op == OP_SLICE) {
        int axis = ln_axis(n, node_attr_int(n, "axis"), t->rank);
        Rows r;
        if (!rows_around(t, axis, &r)) DLC_ICE("slice over the batch axis is not supported");
        int64_t start = node_attr_int(n, "start"), size = node_attr_int(n, "size");
        ln_box(l, r.outer, size, r.inner, size, 0, r.c, start);
        return;
    }
    ln_init(l, &n->type);
    l->narr = 2;
    strides_of(&n->type, l->stride[0]);
    if (n->op == OP_BROADCAST_TO) {
        strides_bcast(t, &n->type, l->stride[1]);
    } else {
        DLC_ASSERT(n->op == OP_TRANSPOSE);
        const int64_t *perm;
        int np = node_attr_ints(n, "perm", &perm);
        int64_t xs[DLC_MAX_RANK];
        strides_of(t, xs);
        for (int d = 0; d < n->type.rank; d++) {
            int src = np ? ln_axis(n, perm[d], t->rank) : t->rank - 1 - d;
            l->stride[1][d] = xs[src];
        }
    }
    ln_coalesce(l);
}

/* ---- softmax family (KS_ROWS around the axis) ------------------------------ */

static long long row_c(KCtx *k)
{
    return (long long)k->r.c;
}

/* `m`, the largest x0 of the row (the shift that keeps exp finite). */
static void row_max(KCtx *k)
{
    cp_line(k->e->p, "float m = x0[b];");
    cp_line(k->e->p, "for (int64_t j = 1; j < %lld; j++) m = x0[%s] > m ? x0[%s] : m;", row_c(k), k->at, k->at);
}

static void softmax_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    row_max(k);
    cp_line(p, "float s = 0;");
    cp_open(p, "for (int64_t j = 0; j < %lld; j++)", row_c(k));
    cp_line(p, "y[%s] = %s(x0[%s] - m);", k->at, fm(k->e, "exp"), k->at);
    cp_line(p, "s += y[%s];", k->at);
    cp_close(p, "");
    cp_line(p, "const float inv = 1.0f / s;");
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[%s] *= inv;", row_c(k), k->at);
}

static void log_softmax_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    row_max(k);
    cp_line(p, "float s = 0;");
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) s += %s(x0[%s] - m);", row_c(k), fm(k->e, "exp"), k->at);
    cp_line(p, "const float lse = m + %s(s);", fm(k->e, "log"));
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x0[%s] - lse;", row_c(k), k->at, k->at);
}

/* softmax_grad(dy, y) = y * (dy - sum(dy * y)) along the axis. */
static void softmax_grad_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    cp_line(p, "float dot = 0;");
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) dot += x0[%s] * x1[%s];", row_c(k), k->at, k->at);
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x1[%s] * (x0[%s] - dot);", row_c(k), k->at, k->at, k->at);
}

/* log_softmax_grad(dy, y) = dy - exp(y) * sum(dy) along the axis. */
static void log_softmax_grad_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    cp_line(p, "float s = 0;");
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) s += x0[%s];", row_c(k), k->at);
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x0[%s] - %s(x1[%s]) * s;", row_c(k), k->at, k->at,
            fm(k->e, "exp"), k->at);
}

/* ---- loss gradients -------------------------------------------------------- */

static bool from_logits(const Node *n)
{
    return node_attr_int(n, "from_logits") != 0;
}

/* g, the upstream gradient over the loss's count (rows or elements). */
static void grad_setup_rows(KCtx *k)
{
    Rows r;
    if (!kd_rows(k->n, &r)) DLC_ICE("a loss over the batch axis");
    cp_line(k->e->p, "const float g = x2[0] / (float)(%s);", ext_str(k->e, r.outer));
}

static void grad_setup_elems(KCtx *k)
{
    const char *cnt = ext_str(k->e, ext_of(&k->n->in[0]->type));
    cp_line(k->e->p, "const float g = %sx2[0] / (float)(%s);", k->n->op == OP_MEAN_SQUARED_ERROR_GRAD ? "2.0f * " : "", cnt);
}

/* The class row's softmax, times gs (after `gs` is declared by `scale`). */
static void sparse_categorical_crossentropy_grad_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    long long c = row_c(k);
    cp_line(p, "const int64_t t = x1[%s];", k->row);
    cp_open(p, "if (t < 0 || t >= %lld)", c);
    cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = 0;", c);
    cp_line(p, "%s", k->skip);
    cp_close(p, "");
    if (from_logits(k->n)) {
        row_max(k);
        cp_line(p, "float s = 0;");
        cp_open(p, "for (int64_t j = 0; j < %lld; j++)", c);
        cp_line(p, "y[b + j] = %s(x0[b + j] - m);", fm(k->e, "exp"));
        cp_line(p, "s += y[b + j];");
        cp_close(p, "");
        cp_line(p, "const float gs = g / s;");
        cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[b + j] *= gs;", c);
        cp_line(p, "y[b + t] -= g;");
    } else {
        cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = 0;", c);
        cp_line(p, "const float p = x0[b + t];");
        cp_line(p, "if (p >= %s && p <= 1 - %s) y[b + t] = -g / p;", PROB_EPS_F, PROB_EPS_F);
    }
}

static void categorical_crossentropy_grad_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    long long c = row_c(k);
    if (from_logits(k->n)) {
        /* d/dx_j sum_c t_c (lse - x_c) = (sum_c t_c) softmax_j - t_j */
        cp_line(p, "float m = x0[b], s = 0, ts = 0;");
        cp_line(p, "for (int64_t j = 1; j < %lld; j++) m = x0[b + j] > m ? x0[b + j] : m;", c);
        cp_open(p, "for (int64_t j = 0; j < %lld; j++)", c);
        cp_line(p, "y[b + j] = %s(x0[b + j] - m);", fm(k->e, "exp"));
        cp_line(p, "s += y[b + j];");
        cp_line(p, "ts += x1[b + j];");
        cp_close(p, "");
        cp_line(p, "const float k = ts / s;");
        cp_line(p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = g * (y[b + j] * k - x1[b + j]);", c);
    } else {
        cp_open(p, "for (int64_t j = 0; j < %lld; j++)", c);
        cp_line(p, "const float p = x0[b + j];");
        cp_line(p, "y[b + j] = p >= %s && p <= 1 - %s ? -g * x1[b + j] / p : 0;", PROB_EPS_F, PROB_EPS_F);
        cp_close(p, "");
    }
}

static void binary_crossentropy_grad_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    const char *i = k->idx;
    if (from_logits(k->n)) {
        cp_line(p, "y[%s] = g * (1.0f / (1.0f + %s(-x0[%s])) - x1[%s]);", i, fm(k->e, "exp"), i, i);
    } else {
        cp_line(p, "const float p = x0[%s], t = x1[%s];", i, i);
        cp_line(p, "y[%s] = p >= %s && p <= 1 - %s ? g * ((1 - t) / (1 - p) - t / p) : 0;", i, PROB_EPS_F, PROB_EPS_F);
    }
}

static void mean_squared_error_grad_body(KCtx *k)
{
    cp_line(k->e->p, "y[%s] = g * (x0[%s] - x1[%s]);", k->idx, k->idx, k->idx);
}

/* ---- losses and accuracy (KS_TERMS) ---------------------------------------- */

/* Declares m and lse, the row's maximum and log-sum-exp (in double). */
static void row_lse(KCtx *k)
{
    row_max(k);
    cp_line(k->e->p, "double s = 0;");
    cp_line(k->e->p, "for (int64_t j = 0; j < %lld; j++) s += exp((double)(x0[b + j] - m));", row_c(k));
    cp_line(k->e->p, "const double lse = m + log(s);");
}

/* "x < eps ? eps : x > 1 - eps ? 1 - eps : x" with the float eps. */
static const char *clipped(CEmit *e, const char *x)
{
    return arena_printf(e->a, "%s < %s ? %s : %s > 1 - %s ? 1 - %s : %s", x, PROB_EPS_F, PROB_EPS_F, x, PROB_EPS_F,
                        PROB_EPS_F, x);
}

static void sparse_categorical_crossentropy_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    cp_line(p, "const int64_t t = x1[%s];", k->row);
    cp_line(p, "if (t < 0 || t >= %lld) %s   /* not a class: no loss (and no read out of bounds) */", row_c(k), k->skip);
    if (from_logits(k->n)) {
        row_lse(k);
        cp_line(p, "%s += lse - x0[b + t];", k->acc);
    } else {
        cp_line(p, "const float p = %s;", clipped(k->e, "x0[b + t]"));
        cp_line(p, "%s -= log((double)p);", k->acc);
    }
}

static void categorical_crossentropy_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    if (from_logits(k->n)) {
        row_lse(k);
        cp_line(p, "for (int64_t j = 0; j < %lld; j++) %s += x1[b + j] * (lse - x0[b + j]);", row_c(k), k->acc);
    } else {
        cp_open(p, "for (int64_t j = 0; j < %lld; j++)", row_c(k));
        cp_line(p, "const float p = %s;", clipped(k->e, "x0[b + j]"));
        cp_line(p, "%s -= x1[b + j] * log((double)p);", k->acc);
        cp_close(p, "");
    }
}

static void binary_crossentropy_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    cp_line(p, "const double x = x0[%s], t = x1[%s];", k->idx, k->idx);
    if (from_logits(k->n)) {
        cp_line(p, "%s += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));", k->acc);
    } else {
        cp_line(p, "const double p = x < %s ? %s : x > 1 - %s ? 1 - %s : x;", PROB_EPS, PROB_EPS, PROB_EPS, PROB_EPS);
        cp_line(p, "%s -= t * log(p) + (1 - t) * log(1 - p);", k->acc);
    }
}

static void mean_squared_error_body(KCtx *k)
{
    cp_line(k->e->p, "const double d = (double)x0[%s] - (double)x1[%s];", k->idx, k->idx);
    cp_line(k->e->p, "%s += d * d;", k->acc);
}

/* accuracy(probs, labels): 1 if the row's argmax (first maximum) is the
 * label's, or, for a single column, if both sides of 0.5 agree.  The rows
 * are the samples (all but the last axis; every element for rank 1). */
static void accuracy_body(KCtx *k)
{
    CPrinter *p = k->e->p;
    const TensorType *pt = &k->n->in[0]->type, *tt = &k->n->in[1]->type;
    long long c = pt->rank >= 2 ? (long long)pt->dims[pt->rank - 1] : 1;
    if (c == 1) {
        const char *at = k->has_b ? "b" : k->row;
        cp_line(p, "%s += (x0[%s] > 0.5f) == (x1[%s] > 0.5f);", k->acc, at, at);
        return;
    }
    if (!k->has_b) cp_line(p, "const int64_t b = %s * %lld;", k->row, c);
    cp_line(p, "int64_t best = 0;");
    cp_line(p, "for (int64_t j = 1; j < %lld; j++) best = x0[b + j] > x0[b + best] ? j : best;", c);
    if (tt->rank == pt->rank && tt->dtype != DT_I32) {
        cp_line(p, "int64_t want = 0;");
        cp_line(p, "for (int64_t j = 1; j < %lld; j++) want = x1[b + j] > x1[b + want] ? j : want;", c);
        cp_line(p, "%s += best == want;", k->acc);
    } else {
        cp_line(p, "%s += best == (int64_t)x1[%s];", k->acc, k->row);
    }
}

/* ---- the table -------------------------------------------------------------- */

#define SPACE(s) {s, NULL, NULL, 0}
static const KernelDesc kd_matmul = SPACE(KS_GEMM);
static const KernelDesc kd_sum = SPACE(KS_REDUCE), kd_mean = SPACE(KS_REDUCE), kd_max = SPACE(KS_REDUCE),
                        kd_sum_to = SPACE(KS_REDUCE);
static const KernelDesc kd_max_grad = SPACE(KS_MAX_GRAD);
static const KernelDesc kd_reshape = SPACE(KS_VIEW), kd_flatten = SPACE(KS_VIEW);
static const KernelDesc kd_transpose = SPACE(KS_COPY), kd_slice = SPACE(KS_COPY), kd_broadcast_to = SPACE(KS_COPY);
static const KernelDesc kd_concat = SPACE(KS_CONCAT);
static const KernelDesc kd_softmax = {KS_ROWS, NULL, softmax_body, 0};
static const KernelDesc kd_log_softmax = {KS_ROWS, NULL, log_softmax_body, 0};
static const KernelDesc kd_softmax_grad = {KS_ROWS, NULL, softmax_grad_body, 0};
static const KernelDesc kd_log_softmax_grad = {KS_ROWS, NULL, log_softmax_grad_body, 0};
static const KernelDesc kd_dropout_mask = SPACE(KS_RANDOM);
static const KernelDesc kd_sparse_categorical_crossentropy = {KS_TERMS, NULL, sparse_categorical_crossentropy_body, 0};
static const KernelDesc kd_categorical_crossentropy = {KS_TERMS, NULL, categorical_crossentropy_body, 0};
static const KernelDesc kd_binary_crossentropy = {KS_TERMS, NULL, binary_crossentropy_body, KF_PER_ELEMENT};
static const KernelDesc kd_mean_squared_error = {KS_TERMS, NULL, mean_squared_error_body, KF_PER_ELEMENT};
static const KernelDesc kd_sparse_categorical_crossentropy_grad = {KS_ROWS, grad_setup_rows,
                                                                   sparse_categorical_crossentropy_grad_body, 0};
static const KernelDesc kd_categorical_crossentropy_grad = {KS_ROWS, grad_setup_rows, categorical_crossentropy_grad_body, 0};
static const KernelDesc kd_binary_crossentropy_grad = {KS_ELEMS, grad_setup_elems, binary_crossentropy_grad_body, 0};
static const KernelDesc kd_mean_squared_error_grad = {KS_ELEMS, grad_setup_elems, mean_squared_error_grad_body, 0};
static const KernelDesc kd_accuracy = {KS_TERMS, NULL, accuracy_body, KF_COUNT};
static const KernelDesc kd_assign = SPACE(KS_ASSIGN);
static const KernelDesc kd_conv2d = SPACE(KS_C_ONLY), kd_max_pool2d = SPACE(KS_C_ONLY), kd_avg_pool2d = SPACE(KS_C_ONLY),
                        kd_global_avg_pool2d = SPACE(KS_C_ONLY), kd_max_pool2d_grad = SPACE(KS_C_ONLY),
                        kd_avg_pool2d_grad = SPACE(KS_C_ONLY), kd_conv2d_grad_input = SPACE(KS_C_ONLY),
                        kd_conv2d_grad_filter = SPACE(KS_C_ONLY), kd_batch_norm = SPACE(KS_C_ONLY);
static const KernelDesc kd_leaf = SPACE(KS_LEAF), kd_ew = SPACE(KS_EW), kd_none = SPACE(KS_NONE);

#define KD_FOR_OK_LEAF(name) &kd_leaf
#define KD_FOR_OK_UNARY(name) &kd_ew
#define KD_FOR_OK_BINARY(name) &kd_ew
#define KD_FOR_OK_EW(name) &kd_ew
#define KD_FOR_OK_REDUCE(name) &kd_##name
#define KD_FOR_OK_SHAPE(name) &kd_##name
#define KD_FOR_OK_OTHER(name) &kd_##name

static const KernelDesc *const descs[OP_COUNT] = {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) [OP_##e] = KD_FOR_##kind(name),
#include "../ir/ops.def"
#undef OP
};

const KernelDesc *kd_of(OpCode op)
{
    DLC_ASSERT((int)op >= 0 && op < OP_COUNT);
    return descs[op] ? descs[op] : &kd_none;
}

bool kd_cuda_ok(KSpace s)
{
    return s != KS_NONE && s != KS_C_ONLY;
}
