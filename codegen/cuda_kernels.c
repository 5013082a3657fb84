/* cuda_kernels.c - the CUDA launcher (--target cuda): wraps each op's
 * kernel description (codegen/kernels.c: its space and body, written once
 * for both targets) in a __global__ kernel with its thread count.
 *
 * Each computing node becomes one `__global__` function
 *
 *     __global__ void k5(unsigned char *arena, int64_t n)
 *
 * that reaches its tensors through the same arena macros as the C code
 * (T5, P_dense_1_bias: `arena` is the kernel's argument, the device
 * address of the planned buffer) and takes the run-time batch n.  How a
 * node runs (cu_launch_kind; an op with a kernel of its own has one entry,
 * kernel and thread count, in the table cuda_kernels at the end):
 *
 *  - elementwise (unary, binary, ew kinds of ops.def), with the members of
 *    its fused region (passes/plan.c): one thread per result element; the
 *    body is the C backend's, instantiated from the same `ew` templates by
 *    the same expander (cp_expand) with the CUDA dialect.  The thread's
 *    flat index is split into the coalesced loop-nest indices (c_loops.c)
 *    from which each operand's broadcast index is formed.  The body is a
 *    device function kK_at(arena, n, i), so that a launch group (the
 *    optimizer's updates of all parameters, emit_cuda.c) can call several;
 *  - transpose, slice, broadcast_to: one thread per result element, its
 *    operand's index from the C kernel's own loop nest (ck_copy_nest) the
 *    same way; concat: one thread per result element, which picks its
 *    operand from its position on the axis;
 *  - max_grad: one thread per element of x; it receives dy if it holds the
 *    maximum of its group and no element before it in the group (the C
 *    kernel's loop order) does: only such candidates scan their group;
 *  - the gradients of binary crossentropy and mean squared error: one
 *    thread per element, the C kernel's arithmetic;
 *  - sum / mean / max / sum_to: one thread per result element, looping
 *    over the reduced elements in a fixed order (no atomics: the same bits
 *    every run);
 *  - softmax, log_softmax and their gradients, the gradients of the
 *    (sparse) categorical crossentropy: one thread per row, the body of
 *    the C kernel's row loop (kernels.c);
 *  - dropout masks: one thread per element, drawing the runtime's
 *    counter-based stream on the device (the CPU program's bits);
 *  - matmul: cuBLAS (dlrt_cuda_sgemm, runtime/cuda/dlrt_cuda.h), from the
 *    host; so is a sum_to over the batch axis alone (a bias gradient: a
 *    row of ones times the operand), which one thread per column would
 *    leave most of the GPU idle for; copies (assign, a reshape with
 *    storage of its own) are enqueued from the host too;
 *  - the losses and accuracy (scalars: means over rows or elements): one
 *    thread per row writes the row's term (a double) to the scratch slot,
 *    then one thread adds the terms in row order (deterministic; the C
 *    program sums the same terms in the same order, only grouped by row);
 *    the rows are the class rows of the crossentropies, the rows of the
 *    last axis for binary crossentropy and mean squared error, the samples
 *    of accuracy (term_rows; cu_scratch_rows sizes the slot);
 *  - an assign that fills a tensor with a scalar: one thread running the C
 *    kernel (ck_emit_node) unchanged.
 *
 * No kernel has a thread read what another thread of the same launch
 * writes (the host emulation runs threads last first to catch that).  The
 * row kernels, the losses, accuracy and the elementwise loss gradients
 * take their bodies from kernels.c (KS_ROWS, KS_TERMS, KS_ELEMS), the
 * elementwise regions theirs from kd_ew_body, the copies theirs from
 * ck_copy_nest and kd_copy_body.  An op whose space has no CUDA launcher
 * (KS_C_ONLY: the convolution family) is a user error at emit time naming
 * it; tests/unit/test_kernels.c keeps that list exact.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_emit.h"
#include "kernels.h"

/* ---- which ops run how ------------------------------------------------- */

/* The rows of a row kernel or loss, kd_rows (the batch axis cannot be one). */
static Rows kernel_rows(const Node *n)
{
    Rows r;
    if (!kd_rows(n, &r)) dlc_error(n->loc, "%s over the batch axis has no CUDA kernel yet", op_info(n->op)->name);
    return r;
}

/* Threads of a row-wise kernel: outer * inner. */
static const char *row_count(CEmit *e, Rows r)
{
    Ext x = r.outer;
    x.c *= r.inner;
    return ext_str(e, x);
}

/* A sum_to over the batch axis alone ([N, ...] -> [...] or [1, ...], the
 * bias gradients): a GEMM of a row of ones with the operand, so cuBLAS
 * spreads the long reduction over the whole GPU (deterministically). */
static bool is_batch_sum(const Node *n)
{
    if (n->op != OP_SUM_TO) return false;
    const TensorType *t = &n->in[0]->type;
    if (t->rank < 2 || t->dims[0] != DIM_N) return false;
    bool red[DLC_MAX_RANK];
    kd_reduced_dims(n, red);
    for (int d = 0; d < t->rank; d++)
        if (red[d] != (d == 0)) return false;
    return true;
}

/* The rows of a loss or metric (CL_ROWS): one thread reduces each row of
 * *len consecutive elements of its operands to a term.  The class rows of
 * the crossentropies; the rows of the last axis of binary crossentropy and
 * mean squared error (each element a row for rank 1); the samples of
 * accuracy.  False for any other op. */
static bool term_rows(const Node *n, Ext *rows, int64_t *len)
{
    const TensorType *t = n->nin > 0 ? &n->in[0]->type : NULL;
    switch (n->op) {
    case OP_SPARSE_CATEGORICAL_CROSSENTROPY:
    case OP_CATEGORICAL_CROSSENTROPY: {
        Rows r = kernel_rows(n);
        *rows = r.outer;
        *len = r.c;
        return true;
    }
    case OP_BINARY_CROSSENTROPY:
    case OP_MEAN_SQUARED_ERROR:
    case OP_ACCURACY:
        if (t->rank >= 2) {
            *rows = ext_dims(t, 0, t->rank - 1);
            *len = t->dims[t->rank - 1];
        } else {
            *rows = ext_of(t);
            *len = 1;
        }
        return true;
    default: return false;
    }
}

int64_t cu_scratch_rows(const Graph *g)
{
    int64_t most = 1;
    for (int i = 0; i < g->nnodes; i++) {
        Ext rows;
        int64_t len;
        if (!term_rows(g->nodes[i], &rows, &len)) continue;
        int64_t k = rows.has_n ? rows.c * g->max_batch : rows.c;
        if (k > most) most = k;
    }
    return most;
}

/* ---- kernel frame -------------------------------------------------------- */

/* Opens `__global__ void NAME(unsigned char *arena, int64_t n)`; for a grid
 * kernel also `i`, the thread's index, returning past `count`. */
static void kopen(CEmit *e, const char *name, const char *count)
{
    cp_open(e->p, "__global__ void %s(unsigned char *arena, int64_t n)", name);
    cp_line(e->p, "(void)n;");
    if (count) {
        cp_line(e->p, "const int64_t i = DLRT_TID;");
        cp_line(e->p, "if (i >= %s) return;", count);
    } else {
        cp_line(e->p, "if (DLRT_TID != 0) return;");
    }
}

/* The restrict locals x0, x1, ... and y of a node. */
static void klocals(CEmit *e, const Node *n)
{
    const char *r = e->p->d->restrict_kw;
    for (int k = 0; k < n->nin; k++)
        cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(n->in[k]->type.dtype), r, k, ce_ref(e, n->in[k]));
    cp_line(e->p, "%s *%s y = %s;", ce_ctype(n->type.dtype), r, ce_ref(e, n));
}

/* ---- elementwise ------------------------------------------------------- */

/* Declares the nest indices i0, i1, ... of the flat index i and returns
 * each array's index expression (as ln_emit forms them). */
static void nest_indices(CEmit *e, const LoopNest *l, const char **idx)
{
    char var[DLC_MAX_RANK][16];
    if (l->nd <= 1) {
        strcpy(var[0], "i");
    } else {
        int64_t inner = 1;
        for (int d = l->nd - 1; d >= 0; d--) {
            snprintf(var[d], sizeof var[d], "i%d", d);
            if (d > 0 && l->ext[d].has_n) DLC_ICE("the batch dimension inside a loop nest");
            if (d == 0) cp_line(e->p, "const int64_t i0 = i / %lld;", (long long)inner);
            else if (inner == 1) cp_line(e->p, "const int64_t i%d = i %% %lld;", d, (long long)l->ext[d].c);
            else cp_line(e->p, "const int64_t i%d = (i / %lld) %% %lld;", d, (long long)inner, (long long)l->ext[d].c);
            inner *= l->ext[d].c;
        }
    }
    ln_indices(e, l, var, idx);
}

/* A fused elementwise region: one thread per element of the root. */
static void k_elementwise(CEmit *e, const Node *n, const char *name)
{
    EwRegion c;
    LoopNest l;
    ck_ew_region(e, n, &c, &l);

    /* the body, per element i, as a device function that launch groups
       (emit_cuda.c) call too; then the kernel over all elements */
    cp_open(e->p, "static __device__ __forceinline__ void %s_at(unsigned char *arena, int64_t n, int64_t i)", name);
    cp_line(e->p, "(void)n;");
    cp_line(e->p, "(void)i;");
    const char *r = e->p->d->restrict_kw;
    for (int j = 0; j < c.nleaf; j++)
        cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(c.leaf[j]->type.dtype), r, j, ce_ref(e, c.leaf[j]));
    cp_line(e->p, "%s *%s y = %s;%s", ce_ctype(n->type.dtype), r, ce_ref(e, n), c.self ? "   /* in place */" : "");
    const char *idx[LN_MAX_ARR];
    nest_indices(e, &l, idx);
    /* every operand is loaded once, unconditionally */
    kd_ew_body(e, &c, idx, true, true);
    cp_close(e->p, "");
    kopen(e, name, ext_str(e, ext_of(&n->type)));
    cp_line(e->p, "%s_at(arena, n, i);", name);
    cp_close(e->p, "");
}

/* ---- reductions -------------------------------------------------------- */

static const char *dim_str(CEmit *e, int64_t d)
{
    return d == DIM_N ? "n" : arena_printf(e->a, "%lld", (long long)d);
}

/* Splits `rest`, a row-major index over the dims d of t with red[d] ==
 * pick, into those dims, adding each one's index times its stride xs[d]
 * to `acc` (innermost first; the outermost takes what remains). */
static void split_index(CEmit *e, const TensorType *t, const int64_t *xs, const bool *red, bool pick, const char *acc)
{
    int outer = -1;
    for (int d = t->rank - 1; d >= 0; d--)
        if (red[d] == pick) outer = d;
    for (int d = t->rank - 1; d > outer; d--) {
        if (red[d] != pick) continue;
        const char *at = arena_printf(e->a, "(rest %% %s)", dim_str(e, t->dims[d]));
        cp_line(e->p, "%s += %s;", acc, xs[d] == 1 ? at : arena_printf(e->a, "%s * %lld", at, (long long)xs[d]));
        cp_line(e->p, "rest /= %s;", dim_str(e, t->dims[d]));
    }
    if (outer >= 0 && xs[outer] == 1) cp_line(e->p, "%s += rest;", acc);
    else if (outer >= 0) cp_line(e->p, "%s += rest * %lld;", acc, (long long)xs[outer]);
}

/* One thread per result element: it splits its index over the kept dims
 * (row-major, as the result is laid out), then loops over the reduced
 * dims in order. */
static void k_reduce(CEmit *e, const Node *n, const char *name)
{
    const TensorType *t = &n->in[0]->type;
    bool red[DLC_MAX_RANK];
    kd_reduced_dims(n, red);
    int64_t xs[DLC_MAX_RANK];
    strides_of(t, xs);
    bool max = n->op == OP_MAX, mean = n->op == OP_MEAN;
    kopen(e, name, ext_str(e, ext_of(&n->type)));
    klocals(e, n);
    bool kept = false;
    for (int d = 0; d < t->rank; d++) kept |= !red[d];
    if (!kept) {
        cp_line(e->p, "const int64_t base = 0;");
    } else {
        cp_line(e->p, "int64_t rest = i, base = 0;");
        split_index(e, t, xs, red, false, "base");
    }
    cp_line(e->p, "float acc = %s;", max ? "-INFINITY" : "0.0f");
    Ext count = {1, false};
    char off[512] = "base";
    size_t len = strlen(off);
    int open = 0;
    for (int d = 0; d < t->rank; d++) {
        if (!red[d]) continue;
        if (t->dims[d] == DIM_N) count.has_n = true;
        else count.c *= t->dims[d];
        cp_open(e->p, "for (int64_t r%d = 0; r%d < %s; r%d++)", d, d, dim_str(e, t->dims[d]), d);
        open++;
        if (xs[d] == 1) len += (size_t)snprintf(off + len, sizeof off - len, " + r%d", d);
        else len += (size_t)snprintf(off + len, sizeof off - len, " + r%d * %lld", d, (long long)xs[d]);
    }
    kd_reduce_step(e, n, "acc", arena_printf(e->a, "x0[%s]", off));
    for (; open > 0; open--) cp_close(e->p, "");
    if (mean) cp_line(e->p, "y[i] = acc * (1.0f / (float)(%s));", ext_str(e, count));
    else cp_line(e->p, "y[i] = acc;");
    cp_close(e->p, "");
}

/* ---- shape ops and max_grad -------------------------------------------- */

/* transpose, slice, broadcast_to: one thread per result element, the
 * operand's index from the C kernel's loop nest (ck_copy_nest). */
static void k_copy(CEmit *e, const Node *n, const char *name)
{
    LoopNest l;
    ck_copy_nest(n, &l);
    kopen(e, name, ext_str(e, ext_of(&n->type)));
    klocals(e, n);
    const char *idx[LN_MAX_ARR];
    nest_indices(e, &l, idx);
    kd_copy_body(e, idx, NULL);
    cp_close(e->p, "");
}

/* concat along an axis (outer x C x inner): one thread per result element;
 * its position j on the axis picks the operand, k, whose slab it lies in. */
static void k_concat(CEmit *e, const Node *n, const char *name)
{
    int axis = ln_axis(n, node_attr_int(n, "axis"), n->type.rank);
    Rows r;
    if (!rows_around(&n->type, axis, &r)) DLC_ICE("concat along the batch axis"); /* the shape rule refuses it */
    long long c = (long long)r.c, inner = (long long)r.inner;
    kopen(e, name, ext_str(e, ext_of(&n->type)));
    klocals(e, n);
    if (inner == 1) {
        cp_line(e->p, "const int64_t j = i %% %lld, o = i / %lld;", c, c);
    } else {
        cp_line(e->p, "const int64_t q = i %% %lld, j = (i / %lld) %% %lld, o = i / %lld;", inner, inner, c, c * inner);
    }
    long long off = 0;
    for (int k = 0; k < n->nin; k++) {
        long long ck = (long long)n->in[k]->type.dims[axis];
        const char *at = off ? arena_printf(e->a, "o * %lld + j - %lld", ck, off) : arena_printf(e->a, "o * %lld + j", ck);
        const char *src = inner == 1 ? at : arena_printf(e->a, "(%s) * %lld + q", at, inner);
        if (k + 1 < n->nin) cp_line(e->p, "%sif (j < %lld) y[i] = x%d[%s];", k ? "else " : "", off + ck, k, src);
        else cp_line(e->p, "%sy[i] = x%d[%s];", k ? "else " : "", k, src);
        off += ck;
    }
    cp_close(e->p, "");
}

/* "dD * s", or "dD" when s is 1. */
static const char *scaled(CEmit *e, int d, int64_t s)
{
    return s == 1 ? arena_printf(e->a, "d%d", d) : arena_printf(e->a, "d%d * %lld", d, (long long)s);
}

/* max_grad(dy, x, y): dy goes to the first maximal element of each group
 * of reduced elements, first in the C kernel's order (row-major over the
 * reduced dims).  One thread per element of x: an element equal to its
 * group's maximum scans the group's elements before it (most threads do
 * not scan at all; ties stop at the first earlier maximum). */
static void k_max_grad(CEmit *e, const Node *n, const char *name)
{
    const TensorType *t = &n->in[1]->type;
    bool red[DLC_MAX_RANK];
    kd_reduced_dims(n, red);
    int64_t xs[DLC_MAX_RANK];
    strides_of(t, xs);
    kopen(e, name, ext_str(e, ext_of(t)));
    klocals(e, n);
    /* the element's index on each dim, then the result's index o (kept
       dims, row-major), the group's first element g and the element's
       place p among the group's (reduced dims, row-major) */
    char o[512] = "0", g[512] = "0";
    size_t ol = 0, gl = 0;
    int64_t os = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        if (d == 0) cp_line(e->p, "const int64_t d0 = i / %lld;", (long long)xs[0]);
        else if (xs[d] == 1) cp_line(e->p, "const int64_t d%d = i %% %lld;", d, (long long)t->dims[d]);
        else cp_line(e->p, "const int64_t d%d = (i / %lld) %% %lld;", d, (long long)xs[d], (long long)t->dims[d]);
        if (red[d]) continue;
        ol += (size_t)snprintf(o + ol, sizeof o - ol, "%s%s", ol ? " + " : "", scaled(e, d, os));
        gl += (size_t)snprintf(g + gl, sizeof g - gl, "%s%s", gl ? " + " : "", scaled(e, d, xs[d]));
        if (t->dims[d] != DIM_N) os *= t->dims[d];
    }
    const char *p = NULL;
    for (int d = 0; d < t->rank; d++)
        if (red[d]) p = p ? arena_printf(e->a, "(%s) * %s + d%d", p, dim_str(e, t->dims[d]), d) : arena_printf(e->a, "d%d", d);
    cp_line(e->p, "const int64_t o = %s, g = %s, p = %s;", o, g, p ? p : "0");
    cp_line(e->p, "float v = 0;");
    cp_open(e->p, "if (x1[i] == x2[o])");
    cp_line(e->p, "int first = 1;");
    cp_open(e->p, "for (int64_t k = 0; k < p && first; k++)");
    cp_line(e->p, "int64_t rest = k, off = 0;");
    split_index(e, t, xs, red, true, "off");
    cp_line(e->p, "first = x1[g + off] != x2[o];");
    cp_close(e->p, "");
    cp_line(e->p, "if (first) v = x0[o];");
    cp_close(e->p, "");
    cp_line(e->p, "y[i] = v;");
    cp_close(e->p, "");
}

/* ---- row-wise kernels ------------------------------------------------------ */

/* Declares b, the index of the row's first element (row i / inner,
 * position i % inner), and returns the expression of element j. */
static const char *row_begin(CEmit *e, Rows r)
{
    if (r.inner == 1) {
        cp_line(e->p, "const int64_t b = i * %lld;", (long long)r.c);
        return "b + j";
    }
    cp_line(e->p, "const int64_t b = (i / %lld) * %lld + i %% %lld;", (long long)r.inner, (long long)(r.c * r.inner),
            (long long)r.inner);
    return arena_printf(e->a, "b + j * %lld", (long long)r.inner);
}

/* KS_ROWS: one thread per row (and inner position), the description's
 * setup and body (kernels.c); `return` ends a row's work. */
static void k_rows(CEmit *e, const Node *n, const char *name)
{
    const KernelDesc *d = kd_of(n->op);
    KCtx k = {.e = e, .n = n, .r = kernel_rows(n), .row = "i", .skip = "return;"};
    kopen(e, name, row_count(e, k.r));
    klocals(e, n);
    if (d->setup) d->setup(&k);
    k.at = row_begin(e, k.r);
    d->body(&k);
    cp_close(e->p, "");
}

/* KS_ELEMS: one thread per element of operand 0, the setup and body. */
static void k_elems(CEmit *e, const Node *n, const char *name)
{
    const KernelDesc *d = kd_of(n->op);
    KCtx k = {.e = e, .n = n, .idx = "i"};
    kopen(e, name, ext_str(e, ext_of(&n->in[0]->type)));
    klocals(e, n);
    if (d->setup) d->setup(&k);
    d->body(&k);
    cp_close(e->p, "");
}

/* A dropout mask: element i of stream dlrt_key(step key, node id) in a
 * training step (the key is in device memory: DLRT_STEP_KEY), ones else. */
static void k_dropout_mask(CEmit *e, const Node *n, const char *name)
{
    kopen(e, name, ext_str(e, ext_of(&n->type)));
    cp_line(e->p, "%s *%s y = %s;", ce_ctype(n->type.dtype), e->p->d->restrict_kw, ce_ref(e, n));
    if (e->entry == ENTRY_TRAIN) {
        char lit[CP_FLOAT_LEN];
        cp_line(e->p, "y[i] = dlrt_d_dropout(dlrt_d_key(DLRT_STEP_KEY[0], %d), i, %s);", n->id,
                cp_float(e->p->d, node_attr_float(n, "rate"), lit, sizeof lit));
    } else {
        cp_line(e->p, "y[i] = 1.0f;");
    }
    cp_close(e->p, "");
}

/* ---- losses and metrics over rows ------------------------------------------
 *
 * The kernel NAME has one thread per row (term_rows): thread i reduces the
 * row's elements b .. b + len - 1 to the row's term, a double, which it
 * writes to DLRT_SCRATCH[i]; then the kernel NAME_sum, one thread, adds
 * the terms in row order.  Deterministic, and the C program's summation
 * of the same terms, grouped by row. */

/* Opens the per-row kernel: x0, x1 and b. */
static void terms_open(CEmit *e, const Node *n, const char *name)
{
    Ext rows;
    int64_t len;
    DLC_ASSERT(term_rows(n, &rows, &len));
    kopen(e, name, ext_str(e, rows));
    const char *r = e->p->d->restrict_kw;
    cp_line(e->p, "const float *%s x0 = %s;", r, ce_ref(e, n->in[0]));
    cp_line(e->p, "const %s *%s x1 = %s;", ce_ctype(n->in[1]->type.dtype), r, ce_ref(e, n->in[1]));
    cp_line(e->p, "const int64_t b = i * %lld;", (long long)len);
}

/* Closes the per-row kernel and writes NAME_sum, which stores `result`
 * (an expression of `total`, the sum of the terms) in the node's scalar. */
static void terms_close(CEmit *e, const Node *n, const char *name, const char *result)
{
    Ext rows;
    int64_t len;
    DLC_ASSERT(term_rows(n, &rows, &len));
    cp_close(e->p, "");
    cp_blank(e->p);
    kopen(e, arena_printf(e->a, "%s_sum", name), NULL);
    cp_line(e->p, "double total = 0;");
    cp_line(e->p, "for (int64_t r = 0; r < %s; r++) total += DLRT_SCRATCH[r];", ext_str(e, rows));
    cp_line(e->p, "%s[0] = %s;", ce_ref(e, n), result);
    cp_close(e->p, "");
}

/* KS_TERMS: thread i adds the terms of its row (term_rows) into `term`:
 * the class row's (the crossentropies), each element's of the row of the
 * last axis (KF_PER_ELEMENT), or the sample's 0/1 (accuracy); the sum
 * kernel divides by the rows or the elements. */
static void k_terms(CEmit *e, const Node *n, const char *name)
{
    const KernelDesc *d = kd_of(n->op);
    Ext rows;
    int64_t len;
    DLC_ASSERT(term_rows(n, &rows, &len));
    KCtx k = {.e = e, .n = n, .row = "i", .idx = "b + j", .at = "b + j", .acc = "term",
              .skip = "{ DLRT_SCRATCH[i] = 0; return; }", .has_b = true};
    k.r.c = len;
    terms_open(e, n, name);
    cp_line(e->p, "double term = 0;");
    if (d->flags & KF_PER_ELEMENT) {
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)len);
        d->body(&k);
        cp_close(e->p, "");
    } else {
        d->body(&k);
    }
    cp_line(e->p, "DLRT_SCRATCH[i] = term;");
    const char *result;
    if (d->flags & KF_COUNT) /* the terms are 0 or 1: their double sum is the C kernel's count */
        result = arena_printf(e->a, "(float)total / (float)(%s)", ext_str(e, rows));
    else
        result = arena_printf(e->a, "(float)(total / (double)(%s))",
                              ext_str(e, d->flags & KF_PER_ELEMENT ? ext_of(&n->in[0]->type) : rows));
    terms_close(e, n, name, result);
}

/* One thread running the C kernel of the node (an assign that fills a
 * tensor with a scalar).  The C kernel is written to a memory stream
 * first so that host-only lines (`#pragma omp` of the C target's threaded
 * loops: one thread here) stay out of device code. */
static void k_single(CEmit *e, const Node *n, const char *name)
{
    kopen(e, name, NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) DLC_ICE("open_memstream failed");
    CPrinter sub = *e->p;
    sub.f = mem;
    CPrinter *saved = e->p;
    e->p = &sub;
    ck_emit_node(e, n);
    e->p = saved;
    fclose(mem);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        const char *t = line + strspn(line, " ");
        if (strncmp(t, "#pragma omp", 11) != 0) fprintf(e->p->f, "%s\n", line);
    }
    free(text);
    cp_close(e->p, "");
}

/* ---- the launcher -------------------------------------------------------------
 *
 * How each space of kernels.h runs on the device: a grid over the
 * elements or the rows, the rows of a loss's terms (CL_ROWS), host-side
 * work (cuBLAS, copies).  A space without a CUDA launcher (kd_cuda_ok:
 * the convolution family, C only) is a user error at emit time naming
 * the op; tests/unit/test_kernels.c keeps that list exact. */

CudaLaunch cu_launch_kind(CEmit *e, const Node *n, const char **count)
{
    *count = NULL;
    if (ck_is_inlined(n)) return CL_NONE;
    const char *elems = ext_str(e, ext_of(&n->type));
    switch (kd_of(n->op)->space) {
    case KS_REDUCE:
        if (is_batch_sum(n)) return CL_HOST;
        *count = elems;
        return CL_GRID;
    case KS_EW:
    case KS_MAX_GRAD:
    case KS_COPY:
    case KS_CONCAT:
    case KS_RANDOM: *count = elems; return CL_GRID;
    case KS_ELEMS: *count = ext_str(e, ext_of(&n->in[0]->type)); return CL_GRID;
    case KS_ROWS: *count = row_count(e, kernel_rows(n)); return CL_GRID;
    case KS_TERMS: {
        Ext rows;
        int64_t len;
        DLC_ASSERT(term_rows(n, &rows, &len));
        *count = ext_str(e, rows);
        return CL_ROWS;
    }
    case KS_GEMM: return CL_HOST;
    case KS_VIEW: return ce_is_alias(n) ? CL_NONE : CL_HOST;
    case KS_ASSIGN:
        if (strcmp(ce_ref(e, n->in[0]), ce_ref(e, n->in[1])) == 0) return CL_NONE;
        if (tt_numel(&n->in[1]->type, 1) == 1 && tt_numel(&n->type, 1) > 1) return CL_SINGLE; /* a broadcast fill */
        return CL_HOST;
    case KS_C_ONLY:
    case KS_LEAF:
    case KS_NONE: break;
    }
    dlc_error(n->loc, "op '%s' has no CUDA kernel yet (--target cuda); the C target supports it", op_info(n->op)->name);
}

void cu_emit_kernel(CEmit *e, const Node *n, const char *name)
{
    const char *count;
    CudaLaunch k = cu_launch_kind(e, n, &count);
    if (k == CL_SINGLE) {
        k_single(e, n, name);
        return;
    }
    switch (kd_of(n->op)->space) {
    case KS_EW: k_elementwise(e, n, name); return;
    case KS_REDUCE: k_reduce(e, n, name); return;
    case KS_MAX_GRAD: k_max_grad(e, n, name); return;
    case KS_COPY: k_copy(e, n, name); return;
    case KS_CONCAT: k_concat(e, n, name); return;
    case KS_RANDOM: k_dropout_mask(e, n, name); return;
    case KS_ROWS: k_rows(e, n, name); return;
    case KS_ELEMS: k_elems(e, n, name); return;
    case KS_TERMS: k_terms(e, n, name); return;
    default: DLC_ICE("no __global__ kernel for op '%s'", op_info(n->op)->name);
    }
}

/* ---- host-side work ------------------------------------------------------ */

void cu_emit_host(CEmit *e, const Node *n)
{
    if (n->op == OP_MATMUL) {
        GemmDims d = cg_gemm_dims(e, n);
        cp_line(e->p, "dlrt_cuda_sgemm(%d, %d, (int)(%s), (int)(%s), (int)(%s), %s, %lld, %s, %lld, %s);", d.ta, d.tb, d.M,
                d.P, d.K, ce_ref(e, n->in[0]), (long long)d.lda, ce_ref(e, n->in[1]), (long long)d.ldb, ce_ref(e, n));
        return;
    }
    if (is_batch_sum(n)) {
        int64_t cols = tt_numel(&n->type, 1);
        cp_line(e->p, "dlrt_cuda_sgemm(0, 0, 1, %lld, (int)(n), DLRT_ONES, (int)(n), %s, %lld, %s);   /* ones[1,n] @ x[n,%lld] */",
                (long long)cols, ce_ref(e, n->in[0]), (long long)cols, ce_ref(e, n), (long long)cols);
        return;
    }
    /* a copy: assign, or a reshape with its own storage */
    const Node *dst = n->op == OP_ASSIGN ? n->in[0] : n;
    const Node *src = n->op == OP_ASSIGN ? n->in[1] : n->in[0];
    cp_line(e->p, "dlrt_cuda_copy(%s, %s, %s);", ce_ref(e, dst), ce_ref(e, src), ce_bytes(e, n));
}
