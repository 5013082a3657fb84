/* c_kernels.c - the C launcher: wraps each op's kernel description
 * (codegen/kernels.c) in a C block with loops.
 *
 * kernels.c describes every op's kernel once (its iteration space and its
 * body through the shared printer); this file writes the C form of each
 * space: the rows of a row kernel as a loop over rows (and inner
 * positions), the elements of an elementwise loss gradient as a loop, the
 * terms of a loss accumulated in one double (a count for accuracy) and
 * divided by their number, reductions accumulated into y by a strided
 * loop nest (c_loops.c), copies as loop nests, matmul as a GEMM call
 * (c_gemm.c).  The convolution family, which only this target has, is in
 * c_kernels_conv.c.
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
 */
#include <string.h>

#include "kernels.h"

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

/* The body of an elementwise kernel at the nest's indices (kd_ew_body):
 * a conditional template (relu_grad: `$1 > 0 ? $0 : 0`) would read an
 * operand only on one branch, which keeps the compiler from turning the
 * loop into vector selects; loading every operand first makes all reads
 * unconditional. */
static void ew_body(CEmit *e, const char *const *idx, void *vctx)
{
    EwRegion *c = vctx;
    kd_ew_body(e, c, idx, kd_ew_conditional(c), false);
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

/* One step of a reduction nest: y[idx0] takes x0[idx1] (kd_reduce_step). */
static void red_body(CEmit *e, const char *const *idx, void *vn)
{
    kd_reduce_step(e, vn, arena_printf(e->a, "y[%s]", idx[0]), arena_printf(e->a, "x0[%s]", idx[1]));
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
    ln_emit(e, &l, red_body, (void *)n);
    if (mean) {
        cp_line(e->p, "const float scale = 1.0f / (float)(%s);", ext_str(e, count));
        cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", ext_str(e, ext_of(&n->type)));
        cp_line(e->p, "y[i] *= scale;");
        cp_close(e->p, "");
    }
    kend(e);
}

/* sum, mean, max, sum_to over kd_reduced_dims. */
static void ck_reduce(CEmit *e, const Node *n)
{
    bool red[DLC_MAX_RANK];
    kd_reduced_dims(n, red);
    reduce_into(e, n, red, n->op == OP_MAX, n->op == OP_MEAN);
}

/* max_grad(dy, x, y): dy goes to the first maximal element of each
 * reduced group; the loops run over kept dims outside, reduced inside. */
static void ck_max_grad(CEmit *e, const Node *n)
{
    const TensorType *t = &n->in[1]->type;
    bool red[DLC_MAX_RANK];
    kd_reduced_dims(n, red);
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

/* transpose, broadcast_to, slice: y[...] = x0[...] over ck_copy_nest. */
static void copy_kernel(CEmit *e, const Node *n)
{
    LoopNest l;
    ck_copy_nest(n, &l);
    kbegin(e, n, NULL);
    ln_emit(e, &l, kd_copy_body, NULL);
    kend(e);
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
        ln_emit(e, &l, kd_copy_body, (void *)arena_printf(e->a, "x%d", k));
        off += ck;
    }
    kend(e);
}

/* ---- rows, elements, terms: the described bodies in loops ---------------- */

/* The rows of a row kernel or loss (the batch axis cannot be one). */
static Rows kernel_rows(const Node *n)
{
    Rows r;
    if (!kd_rows(n, &r)) DLC_ICE("%s over the batch axis is not supported", op_info(n->op)->name);
    return r;
}

/* KS_ROWS: the setup, then the body in a loop over the rows. */
static void ck_rows(CEmit *e, const Node *n)
{
    const KernelDesc *d = kd_of(n->op);
    KCtx k = {.e = e, .n = n, .r = kernel_rows(n), .row = "r", .skip = "continue;"};
    k.at = at(e, k.r, "j");
    kbegin(e, n, NULL);
    if (d->setup) d->setup(&k);
    rows_open(e, k.r);
    d->body(&k);
    rows_close(e, k.r);
    kend(e);
}

/* KS_ELEMS: the setup, then the body in a loop over operand 0's elements. */
static void ck_elems(CEmit *e, const Node *n)
{
    const KernelDesc *d = kd_of(n->op);
    KCtx k = {.e = e, .n = n, .idx = "i"};
    kbegin(e, n, NULL);
    if (d->setup) d->setup(&k);
    cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", ext_str(e, ext_of(&n->in[0]->type)));
    d->body(&k);
    cp_close(e->p, "");
    kend(e);
}

/* KS_TERMS: the terms added into one double `total` (an integer `correct`
 * for accuracy) over the rows or elements, y[0] their mean. */
static void ck_terms(CEmit *e, const Node *n)
{
    const KernelDesc *d = kd_of(n->op);
    KCtx k = {.e = e, .n = n, .row = "r", .idx = "i", .acc = "total", .skip = "continue;"};
    kbegin(e, n, NULL);
    if (d->flags & KF_COUNT) {
        const TensorType *p = &n->in[0]->type;
        const char *rows = ext_str(e, p->rank >= 2 ? ext_dims(p, 0, p->rank - 1) : ext_of(p));
        k.acc = "correct";
        cp_line(e->p, "int64_t correct = 0;");
        cp_open(e->p, "for (int64_t r = 0; r < %s; r++)", rows);
        d->body(&k);
        cp_close(e->p, "");
        cp_line(e->p, "y[0] = (float)correct / (float)(%s);", rows);
    } else if (d->flags & KF_PER_ELEMENT) {
        const char *cnt = ext_str(e, ext_of(&n->in[0]->type));
        cp_line(e->p, "double total = 0;");
        cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", cnt);
        d->body(&k);
        cp_close(e->p, "");
        cp_line(e->p, "y[0] = (float)(total / (double)(%s));", cnt);
    } else {
        k.r = kernel_rows(n);
        k.at = at(e, k.r, "j");
        cp_line(e->p, "double total = 0;");
        rows_open(e, k.r);
        d->body(&k);
        rows_close(e, k.r);
        cp_line(e->p, "y[0] = (float)(total / (double)(%s));", ext_str(e, k.r.outer));
    }
    kend(e);
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

/* ---- the launcher ---------------------------------------------------------- */

/* The C function of a KS_C_ONLY op (c_kernels_conv.c). */
static KernelFn c_only(const Node *n)
{
    switch (n->op) {
    case OP_CONV2D: return ck_conv2d;
    case OP_MAX_POOL2D: return ck_max_pool2d;
    case OP_AVG_POOL2D: return ck_avg_pool2d;
    case OP_GLOBAL_AVG_POOL2D: return ck_global_avg_pool2d;
    case OP_MAX_POOL2D_GRAD: return ck_max_pool2d_grad;
    case OP_CONV2D_GRAD_INPUT: return ck_conv2d_grad_input;
    case OP_CONV2D_GRAD_FILTER: return ck_conv2d_grad_filter;
    case OP_AVG_POOL2D_GRAD: return ck_avg_pool2d_grad;
    case OP_BATCH_NORM: return ck_batch_norm;
    default: DLC_ICE("no C kernel for op '%s'", op_info(n->op)->name);
    }
}

/* How this target writes each space of kernels.h. */
static KernelFn launcher(const Node *n)
{
    switch (kd_of(n->op)->space) {
    case KS_EW: return ck_elementwise;
    case KS_ROWS: return ck_rows;
    case KS_ELEMS: return ck_elems;
    case KS_TERMS: return ck_terms;
    case KS_REDUCE: return ck_reduce;
    case KS_MAX_GRAD: return ck_max_grad;
    case KS_COPY: return copy_kernel;
    case KS_CONCAT: return ck_concat;
    case KS_GEMM: return ck_matmul;
    case KS_VIEW: return ck_reshape;
    case KS_ASSIGN: return ck_assign;
    case KS_RANDOM: return ck_dropout_mask;
    case KS_C_ONLY: return c_only(n);
    case KS_LEAF:
    case KS_NONE: break;
    }
    DLC_ICE("no kernel for op '%s'", op_info(n->op)->name);
}

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
    KernelFn fn = launcher(n);
    member_comments(e, n);
    ck_comment(e, n);
    fn(e, n);
}
