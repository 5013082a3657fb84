/* c_kernels.c - the C kernel of every op.
 *
 * The table `kernels` is generated from ir/ops.def with an X-macro: the
 * elementwise kinds (unary, binary, ew) share ck_elementwise, which
 * instantiates the op's `ew` template from ops.def inside a broadcasting
 * loop nest (c_loops.c); every other op binds to the function ck_<name>,
 * so an op added to ops.def without a kernel here fails to compile.
 *
 * Every kernel is a block:
 *
 *     /+ %3 = relu %2 : f32[N,512]   (mnist_mlp.nn:8 h) +/
 *     {
 *         const float *restrict x0 = T2;
 *         float *restrict y = T3;
 *         for (int64_t i = 0; i < n * 512; i++) {
 *             y[i] = (x0[i] > 0 ? x0[i] : 0);
 *         }
 *     }
 *
 * The restrict locals are sound because the memory plan never gives a
 * result storage that overlaps an operand live at the same time.  An
 * elementwise kernel also computes the members of its fused region (see
 * passes/plan.c), one `const float vK = ...;` local each, in the same loop.
 * The batch dimension is the run-time `n`.  Sums accumulate in float inside
 * vectorizable loops; the scalar losses accumulate in double.
 *
 * Semantics follow the reference interpreter (ir/interp.c): losses are
 * means over the batch (sparse / categorical crossentropy: over rows;
 * binary crossentropy and mean squared error: over all elements);
 * probabilities are clipped to [1e-7, 1 - 1e-7] before a log, as Keras
 * does; accuracy compares argmaxes (first maximum), or thresholds at 0.5
 * for a single column.  A sparse label outside [0, C) (which the
 * interpreter rejects) contributes no loss and no gradient here instead of
 * reading out of bounds.
 */
#include <string.h>

#include "c_emit.h"

#define PROB_EPS "1e-7f"

typedef void (*KernelFn)(CEmit *e, const Node *n);

/* ---- shared pieces ------------------------------------------------------ */

/* Name of the source line (basename:line) and .nn variable for comments. */
void ck_comment(CEmit *e, const Node *n)
{
    char buf[1024], ty[TT_FMT_LEN];
    size_t len = (size_t)snprintf(buf, sizeof buf, "/* %%%d = %s", e->num[n->id], op_info(n->op)->name);
    for (int k = 0; k < n->nin && len < sizeof buf - 64; k++) {
        const Node *a = n->in[k];
        if (e->num[a->id] < 0) len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %%%s", k ? "," : "", a->name);
        else len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %%%d", k ? "," : "", e->num[a->id]);
    }
    len += (size_t)snprintf(buf + len, sizeof buf - len, " : %s", tt_format(&n->type, ty, sizeof ty));
    if (n->loc.line > 0 && n->loc.file && len < sizeof buf - 64) {
        const char *f = n->loc.file->name, *slash = strrchr(f, '/');
        len += (size_t)snprintf(buf + len, sizeof buf - len, "   (%s:%d%s%s)", slash ? slash + 1 : f, n->loc.line,
                                n->var ? " " : "", n->var ? n->var : "");
    }
    /* Never let a name close the comment early. */
    for (char *s = strstr(buf, "*/"); s; s = strstr(s, "*/")) *s = '_';
    cp_line(e->p, "%s */", buf);
}

/* Opens the kernel block and declares the restrict locals: x<k> for each
 * operand (those with skip[k] set are left out) and y for the result. */
static void kbegin(CEmit *e, const Node *n, const bool *skip)
{
    const char *r = e->p->d->restrict_kw;
    cp_block(e->p);
    for (int k = 0; k < n->nin; k++) {
        if (skip && skip[k]) continue;
        cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(n->in[k]->type.dtype), r, k, ce_ref(e, n->in[k]));
    }
    cp_line(e->p, "%s *%s y = %s;", ce_ctype(n->type.dtype), r, ce_ref(e, n));
}

/* A single-precision math function as the dialect spells it (exp -> expf). */
static const char *fm(CEmit *e, const char *fn)
{
    return e->p->d->float_math ? arena_printf(e->a, "%sf", fn) : fn;
}

static void kend(CEmit *e)
{
    cp_close(e->p, "");
}

/* The rows of t around `axis` (the batch axis cannot be one). */
static Rows rows_of(const Node *n, const TensorType *t, int axis)
{
    Rows r;
    if (!rows_around(t, axis, &r)) DLC_ICE("%s over the batch axis is not supported", op_info(n->op)->name);
    return r;
}

/* Opens the loops over rows (and inner positions) and defines `b`, the
 * index of the row's first element; the row's j-th element is b + j*inner. */
static void rows_open(CEmit *e, Rows r)
{
    cp_open(e->p, "for (int64_t r = 0; r < %s; r++)", ext_str(e, r.outer));
    if (r.inner > 1) {
        cp_open(e->p, "for (int64_t q = 0; q < %lld; q++)", (long long)r.inner);
        cp_line(e->p, "const int64_t b = r * %lld + q;", (long long)(r.c * r.inner));
    } else {
        cp_line(e->p, "const int64_t b = r * %lld;", (long long)r.c);
    }
}

static void rows_close(CEmit *e, Rows r)
{
    if (r.inner > 1) cp_close(e->p, "");
    cp_close(e->p, "");
}

/* "b + j" or "b + j * inner". */
static const char *at(CEmit *e, Rows r, const char *j)
{
    if (r.inner == 1) return arena_printf(e->a, "b + %s", j);
    return arena_printf(e->a, "b + %s * %lld", j, (long long)r.inner);
}

/* Zero-fills y (numel of n's type). */
static void fill(CEmit *e, const Node *n, const char *value)
{
    cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", ext_str(e, ext_of(&n->type)));
    cp_line(e->p, "y[i] = %s;", value);
    cp_close(e->p, "");
}

/* ---- elementwise -------------------------------------------------------- */

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

static void ew_body(CEmit *e, const char *const *idx, void *vctx)
{
    EwRegion *c = vctx;
    /* A conditional template (relu_grad: `$1 > 0 ? $0 : 0`) would read an
       operand only on one branch, which keeps the compiler from turning the
       loop into vector selects; loading every operand first makes all
       reads unconditional. */
    bool hoist = false;
    for (int m = 0; m < c->nmem; m++) hoist |= strchr(op_info(c->mem[m]->op)->ew, '?') != NULL;
    if (hoist)
        for (int j = 0; j < c->nleaf; j++)
            cp_line(e->p, "const %s a%d = x%d[%s];", ce_ctype(c->leaf[j]->type.dtype), j, j, idx[j + 1]);
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
                ops[k] = arena_printf(e->a, "y[%s]", idx[0]); /* read before it is written */
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

/* An elementwise op, with the members of its fused region (passes/plan.c)
 * computed in the same loop.  Operands broadcast (NumPy); scalar constants
 * are inlined as literals.  When the plan computes the result in place of
 * an operand (an optimizer update: same type, so same index), that operand
 * is read through y itself, which keeps every pointer of the block
 * restrict-qualified honestly. */
static void ck_elementwise(CEmit *e, const Node *n)
{
    EwRegion c;
    LoopNest l;
    ck_ew_region(e, n, &c, &l);
    const char *r = e->p->d->restrict_kw;
    cp_block(e->p);
    for (int j = 0; j < c.nleaf; j++)
        cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(c.leaf[j]->type.dtype), r, j, ce_ref(e, c.leaf[j]));
    cp_line(e->p, "%s *%s y = %s;%s", ce_ctype(n->type.dtype), r, ce_ref(e, n), c.self ? "   /* in place */" : "");
    ln_emit(e, &l, ew_body, &c);
    kend(e);
}

/* ---- matmul ------------------------------------------------------------- */

/* One GEMM call (or the portable loops) for y = op(A) op(B) with the
 * given operand / result expressions (c_gemm.c). */
static void gemm(CEmit *e, bool ta, bool tb, const char *M, const char *P, const char *K, int64_t lda, int64_t ldb,
                 const char *A, const char *B, const char *C)
{
    cg_gemm(e, ta, tb, M, P, K, lda, ldb, A, B, C);
}

/* matmul of two matrices (the shape rule admits only 2-D operands; a
 * batched form would loop over GEMMs here). */
static void ck_matmul(CEmit *e, const Node *n)
{
    GemmDims d = cg_gemm_dims(e, n);
    kbegin(e, n, NULL);
    gemm(e, d.ta, d.tb, d.M, d.P, d.K, d.lda, d.ldb, "x0", "x1", "y");
    kend(e);
}

/* ---- reductions --------------------------------------------------------- */

/* Marks the reduced dims of a sum/mean/max (of max_grad: t is x's type). */
static void reduced_axes(const Node *n, const TensorType *t, bool *red)
{
    const int64_t *axes;
    int na = node_attr_ints(n, "axes", &axes);
    for (int d = 0; d < t->rank; d++) red[d] = na == 0;
    for (int k = 0; k < na; k++) red[ln_axis(n, axes[k], t->rank)] = true;
}

static void red_body(CEmit *e, const char *const *idx, void *vctx)
{
    const bool *max = vctx;
    if (*max) cp_line(e->p, "if (x0[%s] > y[%s]) y[%s] = x0[%s];", idx[1], idx[0], idx[0], idx[1]);
    else cp_line(e->p, "y[%s] += x0[%s];", idx[0], idx[1]);
}

/* Reduction of x0 into y over the dims flagged in red (input dims). */
static void reduce_into(CEmit *e, const Node *n, const bool *red, bool max, bool mean)
{
    const TensorType *t = &n->in[0]->type;
    LoopNest l;
    ln_init(&l, t);
    l.narr = 2;
    strides_of(t, l.stride[1]);
    int64_t acc = 1;
    Ext count = {1, false};
    for (int d = t->rank - 1; d >= 0; d--) {
        if (red[d]) {
            l.stride[0][d] = 0;
            if (t->dims[d] == DIM_N) count.has_n = true;
            else count.c *= t->dims[d];
        } else {
            l.stride[0][d] = acc;
            if (t->dims[d] != DIM_N) acc *= t->dims[d];
        }
    }
    ln_coalesce(&l);
    kbegin(e, n, NULL);
    fill(e, n, max ? "-INFINITY" : "0");
    ln_emit(e, &l, red_body, &max);
    if (mean) {
        cp_line(e->p, "const float scale = 1.0f / (float)(%s);", ext_str(e, count));
        cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", ext_str(e, ext_of(&n->type)));
        cp_line(e->p, "y[i] *= scale;");
        cp_close(e->p, "");
    }
    kend(e);
}

static void ck_sum(CEmit *e, const Node *n)
{
    bool red[DLC_MAX_RANK];
    reduced_axes(n, &n->in[0]->type, red);
    reduce_into(e, n, red, false, false);
}

static void ck_mean(CEmit *e, const Node *n)
{
    bool red[DLC_MAX_RANK];
    reduced_axes(n, &n->in[0]->type, red);
    reduce_into(e, n, red, false, true);
}

static void ck_max(CEmit *e, const Node *n)
{
    bool red[DLC_MAX_RANK];
    reduced_axes(n, &n->in[0]->type, red);
    reduce_into(e, n, red, true, false);
}

/* sum_to: the input dims absent from, or 1 in, the result are reduced. */
static void ck_sum_to(CEmit *e, const Node *n)
{
    const TensorType *t = &n->in[0]->type, *o = &n->type;
    bool red[DLC_MAX_RANK];
    int shift = t->rank - o->rank;
    for (int d = 0; d < t->rank; d++) {
        int od = d - shift;
        red[d] = od < 0 || (o->dims[od] == 1 && t->dims[d] != 1);
    }
    reduce_into(e, n, red, false, false);
}

/* max_grad(dy, x, y): dy goes to the first maximal element of each
 * reduced group; the loops run over kept dims outside, reduced inside. */
static void ck_max_grad(CEmit *e, const Node *n)
{
    const TensorType *t = &n->in[1]->type;
    bool red[DLC_MAX_RANK];
    reduced_axes(n, t, red);
    int64_t xs[DLC_MAX_RANK], os[DLC_MAX_RANK];
    strides_of(t, xs);
    int64_t acc = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        os[d] = red[d] ? 0 : acc;
        if (!red[d] && t->dims[d] != DIM_N) acc *= t->dims[d];
    }
    kbegin(e, n, NULL);
    fill(e, n, "0");
    /* kept dims first (outer), then the reduced ones */
    int order[DLC_MAX_RANK], no = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < t->rank; d++)
            if (red[d] == (pass == 1)) order[no++] = d;
    char xi[256] = "0", oi[256] = "0";
    size_t xl = 0, ol = 0;
    bool declared = false;
    for (int k = 0; k < no; k++) {
        int d = order[k];
        Ext x = {t->dims[d] == DIM_N ? 1 : t->dims[d], t->dims[d] == DIM_N};
        if (red[d] && !declared) {
            cp_line(e->p, "int found = 0;");
            declared = true;
        }
        cp_open(e->p, "for (int64_t i%d = 0; i%d < %s; i%d++)", d, d, ext_str(e, x), d);
        xl += (size_t)snprintf(xi + xl, sizeof xi - xl, "%si%d * %lld", xl ? " + " : "", d, (long long)xs[d]);
        if (os[d]) ol += (size_t)snprintf(oi + ol, sizeof oi - ol, "%si%d * %lld", ol ? " + " : "", d, (long long)os[d]);
    }
    if (!declared) cp_line(e->p, "int found = 0;");
    cp_open(e->p, "if (!found && x1[%s] == x2[%s])", xi, oi);
    cp_line(e->p, "y[%s] = x0[%s];", xi, oi);
    cp_line(e->p, "found = 1;");
    cp_close(e->p, "");
    for (int k = 0; k < no; k++) cp_close(e->p, "");
    kend(e);
}

/* ---- shape ops ---------------------------------------------------------- */

/* y[i] = src[j]; ctx names the source (NULL: x0). */
static void copy_body(CEmit *e, const char *const *idx, void *ctx)
{
    cp_line(e->p, "y[%s] = %s[%s];", idx[0], ctx ? (const char *)ctx : "x0", idx[1]);
}

/* reshape / flatten: nothing when the plan made them share storage. */
static void ck_reshape(CEmit *e, const Node *n)
{
    if (ce_is_alias(n)) {
        cp_line(e->p, "/* (shares the storage of its operand: no code) */");
        return;
    }
    kbegin(e, n, NULL);
    cp_line(e->p, "memcpy(y, x0, %s);", ce_bytes(e, n));
    kend(e);
}

static void ck_flatten(CEmit *e, const Node *n)
{
    ck_reshape(e, n);
}

/* The nest of a copying shape op (c_emit.h): the result's elements in
 * order, the operand's strides permuted (transpose), zero where broadcast
 * (broadcast_to), or a box at the slice's offset (slice). */
void ck_copy_nest(const Node *n, LoopNest *l)
{
    const TensorType *t = &n->in[0]->type;
    if (n->op == OP_SLICE) {
        int axis = ln_axis(n, node_attr_int(n, "axis"), t->rank);
        Rows r = rows_of(n, t, axis);
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

/* transpose, broadcast_to, slice: y[...] = x0[...] over ck_copy_nest. */
static void copy_kernel(CEmit *e, const Node *n)
{
    LoopNest l;
    ck_copy_nest(n, &l);
    kbegin(e, n, NULL);
    ln_emit(e, &l, copy_body, NULL);
    kend(e);
}

static void ck_transpose(CEmit *e, const Node *n)
{
    copy_kernel(e, n);
}

static void ck_broadcast_to(CEmit *e, const Node *n)
{
    copy_kernel(e, n);
}

static void ck_slice(CEmit *e, const Node *n)
{
    copy_kernel(e, n);
}

static void ck_concat(CEmit *e, const Node *n)
{
    int axis = ln_axis(n, node_attr_int(n, "axis"), n->type.rank);
    Rows r = rows_of(n, &n->type, axis);
    kbegin(e, n, NULL);
    int64_t off = 0;
    for (int k = 0; k < n->nin; k++) {
        int64_t ck = n->in[k]->type.dims[axis];
        LoopNest l;
        ln_box(&l, r.outer, ck, r.inner, r.c, off, ck, 0);
        ln_emit(e, &l, copy_body, (void *)arena_printf(e->a, "x%d", k));
        off += ck;
    }
    kend(e);
}

/* ---- softmax family ----------------------------------------------------- */

static Rows axis_rows(const Node *n, const TensorType *t)
{
    return rows_of(n, t, ln_axis(n, node_attr_int(n, "axis"), t->rank));
}

/* Opens a kernel over the rows of n's axis (softmax family); closes it. */
static Rows row_kernel_open(CEmit *e, const Node *n)
{
    Rows r = axis_rows(n, &n->type);
    kbegin(e, n, NULL);
    rows_open(e, r);
    return r;
}

static void row_kernel_close(CEmit *e, Rows r)
{
    rows_close(e, r);
    kend(e);
}

/* `m`, the largest x0 of the row (the shift that keeps exp finite). */
static void row_max(CEmit *e, Rows r)
{
    cp_line(e->p, "float m = x0[b];");
    cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) m = x0[%s] > m ? x0[%s] : m;", (long long)r.c, at(e, r, "j"), at(e, r, "j"));
}

static void ck_softmax(CEmit *e, const Node *n)
{
    Rows r = row_kernel_open(e, n);
    row_max(e, r);
    cp_line(e->p, "float s = 0;");
    cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)r.c);
    cp_line(e->p, "y[%s] = %s(x0[%s] - m);", at(e, r, "j"), fm(e, "exp"), at(e, r, "j"));
    cp_line(e->p, "s += y[%s];", at(e, r, "j"));
    cp_close(e->p, "");
    cp_line(e->p, "const float inv = 1.0f / s;");
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[%s] *= inv;", (long long)r.c, at(e, r, "j"));
    row_kernel_close(e, r);
}

static void ck_log_softmax(CEmit *e, const Node *n)
{
    Rows r = row_kernel_open(e, n);
    row_max(e, r);
    cp_line(e->p, "float s = 0;");
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) s += %s(x0[%s] - m);", (long long)r.c, fm(e, "exp"), at(e, r, "j"));
    cp_line(e->p, "const float lse = m + %s(s);", fm(e, "log"));
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x0[%s] - lse;", (long long)r.c, at(e, r, "j"), at(e, r, "j"));
    row_kernel_close(e, r);
}

/* softmax_grad(dy, y) = y * (dy - sum(dy * y)) along the axis. */
static void ck_softmax_grad(CEmit *e, const Node *n)
{
    Rows r = row_kernel_open(e, n);
    cp_line(e->p, "float dot = 0;");
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) dot += x0[%s] * x1[%s];", (long long)r.c, at(e, r, "j"), at(e, r, "j"));
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x1[%s] * (x0[%s] - dot);", (long long)r.c, at(e, r, "j"),
            at(e, r, "j"), at(e, r, "j"));
    row_kernel_close(e, r);
}

/* log_softmax_grad(dy, y) = dy - exp(y) * sum(dy) along the axis. */
static void ck_log_softmax_grad(CEmit *e, const Node *n)
{
    Rows r = row_kernel_open(e, n);
    cp_line(e->p, "float s = 0;");
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) s += x0[%s];", (long long)r.c, at(e, r, "j"));
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[%s] = x0[%s] - %s(x1[%s]) * s;", (long long)r.c, at(e, r, "j"),
            at(e, r, "j"), fm(e, "exp"), at(e, r, "j"));
    row_kernel_close(e, r);
}

/* ---- dropout ------------------------------------------------------------ */

/* A mask drawn from stream (rng_key, node id) in a training step; all ones
 * (no dropout) when evaluating or predicting. */
static void ck_dropout_mask(CEmit *e, const Node *n)
{
    kbegin(e, n, (const bool[]){true});
    if (e->entry == ENTRY_TRAIN) {
        char lit[CP_FLOAT_LEN];
        cp_line(e->p, "dlrt_dropout_mask(y, %s, %s, dlrt_key(rng_key, %d));", ext_str(e, ext_of(&n->type)),
                cp_float(e->p->d, node_attr_float(n, "rate"), lit, sizeof lit), n->id);
    } else {
        fill(e, n, "1.0f");
    }
    kend(e);
}

/* ---- losses ------------------------------------------------------------- */

/* Rows of a [.., C] operand: the last axis is the class axis. */
static Rows class_rows(const Node *n, const TensorType *t)
{
    return rows_of(n, t, t->rank - 1);
}

/* Writes the row's max m and log-sum-exp lse of x0 (a [rows, C] tensor). */
static void row_lse(CEmit *e, Rows r)
{
    row_max(e, r);
    cp_line(e->p, "double s = 0;");
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) s += exp((double)(x0[b + j] - m));", (long long)r.c);
    cp_line(e->p, "const double lse = m + log(s);");
}

static double lossflag(const Node *n)
{
    return (double)node_attr_int(n, "from_logits");
}

/* The losses are means: of per-row terms over the rows (the class-axis
 * losses) or of per-element terms over the elements.  These open a loss
 * kernel (`double total = 0;` and the loop) and close it (y[0] = the mean);
 * a gradient kernel opens with `g`, the upstream gradient over the count. */
static void row_loss_open(CEmit *e, const Node *n, Rows r)
{
    kbegin(e, n, NULL);
    cp_line(e->p, "double total = 0;");
    rows_open(e, r);
}

static void row_loss_close(CEmit *e, Rows r)
{
    rows_close(e, r);
    cp_line(e->p, "y[0] = (float)(total / (double)(%s));", ext_str(e, r.outer));
    kend(e);
}

static const char *elem_loss_open(CEmit *e, const Node *n)
{
    const char *cnt = ext_str(e, ext_of(&n->in[0]->type));
    kbegin(e, n, NULL);
    cp_line(e->p, "double total = 0;");
    cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", cnt);
    return cnt;
}

static void elem_loss_close(CEmit *e, const char *cnt)
{
    cp_close(e->p, "");
    cp_line(e->p, "y[0] = (float)(total / (double)(%s));", cnt);
    kend(e);
}

/* Opens a loss gradient kernel: g = upstream gradient / count. */
static void loss_grad_open(CEmit *e, const Node *n, const char *count, const char *factor)
{
    kbegin(e, n, NULL);
    cp_line(e->p, "const float g = %sx2[0] / (float)(%s);", factor, count);
}

static void ck_sparse_categorical_crossentropy(CEmit *e, const Node *n)
{
    Rows r = class_rows(n, &n->in[0]->type);
    row_loss_open(e, n, r);
    cp_line(e->p, "const int64_t t = x1[r];");
    cp_line(e->p, "if (t < 0 || t >= %lld) continue;   /* not a class: no loss (and no read out of bounds) */", (long long)r.c);
    if (lossflag(n)) {
        row_lse(e, r);
        cp_line(e->p, "total += lse - x0[b + t];");
    } else {
        cp_line(e->p, "const float p = x0[b + t] < %s ? %s : x0[b + t] > 1 - %s ? 1 - %s : x0[b + t];", PROB_EPS, PROB_EPS,
                PROB_EPS, PROB_EPS);
        cp_line(e->p, "total -= log((double)p);");
    }
    row_loss_close(e, r);
}

static void ck_sparse_categorical_crossentropy_grad(CEmit *e, const Node *n)
{
    Rows r = class_rows(n, &n->in[0]->type);
    loss_grad_open(e, n, ext_str(e, r.outer), "");
    rows_open(e, r);
    cp_line(e->p, "const int64_t t = x1[r];");
    cp_open(e->p, "if (t < 0 || t >= %lld)", (long long)r.c);
    cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = 0;", (long long)r.c);
    cp_line(e->p, "continue;");
    cp_close(e->p, "");
    if (lossflag(n)) {
        row_max(e, r);
        cp_line(e->p, "float s = 0;");
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)r.c);
        cp_line(e->p, "y[b + j] = %s(x0[b + j] - m);", fm(e, "exp"));
        cp_line(e->p, "s += y[b + j];");
        cp_close(e->p, "");
        cp_line(e->p, "const float gs = g / s;");
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[b + j] *= gs;", (long long)r.c);
        cp_line(e->p, "y[b + t] -= g;");
    } else {
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = 0;", (long long)r.c);
        cp_line(e->p, "const float p = x0[b + t];");
        cp_line(e->p, "if (p >= %s && p <= 1 - %s) y[b + t] = -g / p;", PROB_EPS, PROB_EPS);
    }
    row_kernel_close(e, r);
}

static void ck_categorical_crossentropy(CEmit *e, const Node *n)
{
    Rows r = class_rows(n, &n->in[0]->type);
    row_loss_open(e, n, r);
    if (lossflag(n)) {
        row_lse(e, r);
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) total += x1[b + j] * (lse - x0[b + j]);", (long long)r.c);
    } else {
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)r.c);
        cp_line(e->p, "const float p = x0[b + j] < %s ? %s : x0[b + j] > 1 - %s ? 1 - %s : x0[b + j];", PROB_EPS, PROB_EPS,
                PROB_EPS, PROB_EPS);
        cp_line(e->p, "total -= x1[b + j] * log((double)p);");
        cp_close(e->p, "");
    }
    row_loss_close(e, r);
}

static void ck_categorical_crossentropy_grad(CEmit *e, const Node *n)
{
    Rows r = class_rows(n, &n->in[0]->type);
    loss_grad_open(e, n, ext_str(e, r.outer), "");
    rows_open(e, r);
    if (lossflag(n)) {
        /* d/dx_j sum_c t_c (lse - x_c) = (sum_c t_c) softmax_j - t_j */
        cp_line(e->p, "float m = x0[b], s = 0, ts = 0;");
        cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) m = x0[b + j] > m ? x0[b + j] : m;", (long long)r.c);
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)r.c);
        cp_line(e->p, "y[b + j] = %s(x0[b + j] - m);", fm(e, "exp"));
        cp_line(e->p, "s += y[b + j];");
        cp_line(e->p, "ts += x1[b + j];");
        cp_close(e->p, "");
        cp_line(e->p, "const float k = ts / s;");
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) y[b + j] = g * (y[b + j] * k - x1[b + j]);", (long long)r.c);
    } else {
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)r.c);
        cp_line(e->p, "const float p = x0[b + j];");
        cp_line(e->p, "y[b + j] = p >= %s && p <= 1 - %s ? -g * x1[b + j] / p : 0;", PROB_EPS, PROB_EPS);
        cp_close(e->p, "");
    }
    row_kernel_close(e, r);
}

static void ck_binary_crossentropy(CEmit *e, const Node *n)
{
    const char *cnt = elem_loss_open(e, n);
    cp_line(e->p, "const double x = x0[i], t = x1[i];");
    if (lossflag(n)) {
        cp_line(e->p, "total += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));");
    } else {
        cp_line(e->p, "const double p = x < 1e-7 ? 1e-7 : x > 1 - 1e-7 ? 1 - 1e-7 : x;");
        cp_line(e->p, "total -= t * log(p) + (1 - t) * log(1 - p);");
    }
    elem_loss_close(e, cnt);
}

static void ck_binary_crossentropy_grad(CEmit *e, const Node *n)
{
    const char *cnt = ext_str(e, ext_of(&n->in[0]->type));
    loss_grad_open(e, n, cnt, "");
    cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", cnt);
    if (lossflag(n)) {
        cp_line(e->p, "y[i] = g * (1.0f / (1.0f + %s(-x0[i])) - x1[i]);", fm(e, "exp"));
    } else {
        cp_line(e->p, "const float p = x0[i], t = x1[i];");
        cp_line(e->p, "y[i] = p >= %s && p <= 1 - %s ? g * ((1 - t) / (1 - p) - t / p) : 0;", PROB_EPS, PROB_EPS);
    }
    cp_close(e->p, "");
    kend(e);
}

static void ck_mean_squared_error(CEmit *e, const Node *n)
{
    const char *cnt = elem_loss_open(e, n);
    cp_line(e->p, "const double d = (double)x0[i] - (double)x1[i];");
    cp_line(e->p, "total += d * d;");
    elem_loss_close(e, cnt);
}

static void ck_mean_squared_error_grad(CEmit *e, const Node *n)
{
    const char *cnt = ext_str(e, ext_of(&n->in[0]->type));
    loss_grad_open(e, n, cnt, "2.0f * ");
    cp_line(e->p, "for (int64_t i = 0; i < %s; i++) y[i] = g * (x0[i] - x1[i]);", cnt);
    kend(e);
}

/* ---- metrics ------------------------------------------------------------ */

static void ck_accuracy(CEmit *e, const Node *n)
{
    const TensorType *p = &n->in[0]->type, *t = &n->in[1]->type;
    int64_t c = p->rank >= 2 ? p->dims[p->rank - 1] : 1;
    Ext rows = p->rank >= 2 ? ext_dims(p, 0, p->rank - 1) : ext_of(p);
    kbegin(e, n, NULL);
    cp_line(e->p, "int64_t correct = 0;");
    cp_open(e->p, "for (int64_t r = 0; r < %s; r++)", ext_str(e, rows));
    if (c == 1) {
        cp_line(e->p, "correct += (x0[r] > 0.5f) == (x1[r] > 0.5f);");
    } else {
        cp_line(e->p, "const int64_t b = r * %lld;", (long long)c);
        cp_line(e->p, "int64_t best = 0;");
        cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) best = x0[b + j] > x0[b + best] ? j : best;", (long long)c);
        if (t->rank == p->rank && t->dtype != DT_I32) {
            cp_line(e->p, "int64_t want = 0;");
            cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) want = x1[b + j] > x1[b + want] ? j : want;", (long long)c);
            cp_line(e->p, "correct += best == want;");
        } else {
            cp_line(e->p, "correct += best == (int64_t)x1[r];");
        }
    }
    cp_close(e->p, "");
    cp_line(e->p, "y[0] = (float)correct / (float)(%s);", ext_str(e, rows));
    kend(e);
}

/* ---- assign ------------------------------------------------------------- */

/* state <- value; emitted at the end of the step (see emit_c.c). */
static void ck_assign(CEmit *e, const Node *n)
{
    const char *dst = ce_ref(e, n->in[0]), *src = ce_ref(e, n->in[1]);
    if (strcmp(dst, src) == 0) {
        cp_line(e->p, "/* (computed in place) */");
        return;
    }
    if (tt_numel(&n->in[1]->type, 1) == 1 && tt_numel(&n->type, 1) > 1) {
        cp_line(e->p, "for (int64_t i = 0; i < %s; i++) %s[i] = %s[0];", ext_str(e, ext_of(&n->type)), dst, src);
        return;
    }
    cp_line(e->p, "memcpy(%s, %s, %s);", dst, src, ce_bytes(e, n));
}

/* ---- the table ---------------------------------------------------------- */

#define CK_FOR_OK_LEAF(name) NULL
#define CK_FOR_OK_UNARY(name) ck_elementwise
#define CK_FOR_OK_BINARY(name) ck_elementwise
#define CK_FOR_OK_EW(name) ck_elementwise
#define CK_FOR_OK_REDUCE(name) ck_##name
#define CK_FOR_OK_SHAPE(name) ck_##name
#define CK_FOR_OK_OTHER(name) ck_##name

static const KernelFn kernels[OP_COUNT] = {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) [OP_##e] = CK_FOR_##kind(name),
#include "../ir/ops.def"
#undef OP
};

/* Writes the comments of the inlined members under n, operands first. */
static void member_comments(CEmit *e, const Node *n)
{
    for (int k = 0; k < n->nin; k++)
        if (ck_is_inlined(n->in[k])) {
            member_comments(e, n->in[k]);
            ck_comment(e, n->in[k]);
        }
}

void ck_emit_node(CEmit *e, const Node *n)
{
    KernelFn fn = kernels[n->op];
    if (!fn) DLC_ICE("no kernel for op '%s'", op_info(n->op)->name);
    member_comments(e, n);
    ck_comment(e, n);
    fn(e, n);
}
