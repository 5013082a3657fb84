/* c_fused.c - the kernel of a fused region (passes/fuse.c) as generated C.
 *
 * A region is written where its root (last member) stands in graph order,
 * restricted to the members the entry point needs (eval_step and predict
 * compute subsets; the plan placed every member at the root's position, so
 * any subset is safe).  Two kinds:
 *
 * Loop regions: one loop nest over the region's type T.
 *
 *     /+ %1 = matmul ... +/ /+ %2 = add ... +/ /+ %3 = relu ... +/
 *     {
 *         dlrt_sgemm(0, 0, ..., T3);            GEMM into the primary output
 *         const float *restrict x0 = P_dense_1_bias;
 *         float *restrict y = T3;
 *         for (int64_t i0 = 0; i0 < n; i0++) {
 *             for (int64_t i1 = 0; i1 < 512; i1++) {
 *                 const float v1 = y[i0 * 512 + i1];      the product
 *                 const float a0 = x0[i1];
 *                 const float v2 = (v1 + a0);
 *                 const float v3 = (v2 > 0 ? v2 : 0);
 *                 y[i0 * 512 + i1] = v3;
 *             }
 *         }
 *     }
 *
 *   Every member is a local `vK`; stored members (read outside the region)
 *   are written at the end of the body, after every read, through y, y1,
 *   ...; sum_to members accumulate into r0, r1, ... (zeroed first) with
 *   stride 0 along the summed leading axis, in the same order as the
 *   unfused sum_to loop, so the sums are bit-identical.  A leaf stored
 *   where an output goes (an in-place update) is read through that output's
 *   pointer, so every pointer stays restrict-honest.  Loops over at least
 *   PAR_MIN_ELEMS elements without reductions get an OpenMP `parallel for`
 *   with a static schedule (each element is computed alike whatever the
 *   thread count: the results do not depend on it); without -fopenmp the
 *   pragma is compiled out.
 *
 * Row regions: per row of the logits x, the max, then the exponentials
 * (shared by softmax and the crossentropy gradient), the probabilities,
 * the argmax for accuracy, the loss (in double, as the unfused kernel),
 * dlogits and the bias gradient's column sums.  Each part repeats the
 * unfused kernel's arithmetic (c_kernels.c), so results are identical.
 */
#include <string.h>

#include "../passes/fuse.h"
#include "c_emit.h"

/* Loops over fewer elements stay on one thread: the fork/join costs more. */
#define PAR_MIN_ELEMS (1 << 17)

typedef struct Region {
    const Node *mem[FUSE_MAX_MEMBERS]; /* needed members, graph order */
    int nmem;
    int G;
} Region;

static bool in_region(const Region *r, const Node *n)
{
    for (int i = 0; i < r->nmem; i++)
        if (r->mem[i] == n) return true;
    return false;
}

static const Node *find_op(const Region *r, OpCode op)
{
    for (int i = 0; i < r->nmem; i++)
        if (r->mem[i]->op == op) return r->mem[i];
    return NULL;
}

/* ---- loop regions ------------------------------------------------------- */

typedef struct LoopCtx {
    Region *r;
    const Node *gemm;                  /* needed matmul member, or NULL */
    const Node *out[FUSE_MAX_ARRAYS];  /* stored elementwise members: y, y1, ... */
    int nout;
    const Node *leaf[FUSE_MAX_ARRAYS]; /* arrays read */
    int nleaf;
    int self[FUSE_MAX_ARRAYS];         /* leaf j is output self[j]'s storage, or -1 */
    const Node *red[FUSE_MAX_ARRAYS];  /* sum_to members: r0, r1, ... */
    int nred;
    bool hoist;
} LoopCtx;

static const char *out_name(CEmit *e, int k)
{
    return k == 0 ? "y" : arena_printf(e->a, "y%d", k);
}

static const char *local(CEmit *e, const Node *n)
{
    return arena_printf(e->a, "v%d", e->num[n->id]);
}

static void loop_body(CEmit *e, const char *const *idx, void *vctx)
{
    LoopCtx *c = vctx;
    int base_leaf = c->nout, base_red = c->nout + c->nleaf;
    /* the product first: y is about to be overwritten */
    if (c->gemm) cp_line(e->p, "const float %s = y[%s];", local(e, c->gemm), idx[0]);
    if (c->hoist)
        for (int j = 0; j < c->nleaf; j++)
            if (c->self[j] < 0)
                cp_line(e->p, "const %s a%d = x%d[%s];", ce_ctype(c->leaf[j]->type.dtype), j, j, idx[base_leaf + j]);
    for (int m = 0; m < c->r->nmem; m++) {
        const Node *n = c->r->mem[m];
        if (!op_is_elementwise(n->op)) continue;
        const char *ops[16];
        DLC_ASSERT(n->nin <= 16);
        for (int k = 0; k < n->nin; k++) {
            const Node *a = n->in[k];
            if (a->fuse_group == c->r->G && in_region(c->r, a)) {
                ops[k] = local(e, a);
            } else if (a->op == OP_CONST) {
                char lit[CP_FLOAT_LEN];
                ops[k] = arena_strdup(e->a, cp_float(e->p->d, node_attr_float(a, "value"), lit, sizeof lit));
            } else {
                int j = 0;
                while (c->leaf[j] != a) j++;
                if (c->self[j] >= 0) ops[k] = arena_printf(e->a, "%s[%s]", out_name(e, c->self[j]), idx[c->self[j]]);
                else if (c->hoist) ops[k] = arena_printf(e->a, "a%d", j);
                else ops[k] = arena_printf(e->a, "x%d[%s]", j, idx[base_leaf + j]);
            }
        }
        const char *expr = cp_expand(e->a, e->p->d, op_info(n->op)->ew, ops, n->nin, n);
        cp_line(e->p, "const %s %s = %s;", ce_ctype(n->type.dtype), local(e, n), expr);
    }
    /* every read is done: the stores */
    for (int k = 0; k < c->nout; k++) cp_line(e->p, "%s[%s] = %s;", out_name(e, k), idx[k], local(e, c->out[k]));
    for (int k = 0; k < c->nred; k++) cp_line(e->p, "r%d[%s] += %s;", k, idx[base_red + k], local(e, c->red[k]->in[0]));
}

/* The GEMM of the region's matmul into its target's storage. */
static void loop_gemm(CEmit *e, const Node *m, const Node *target)
{
    GemmDims d = cg_gemm_dims(e, m);
    cg_gemm(e, d.ta, d.tb, d.M, d.P, d.K, d.lda, d.ldb, ce_ref(e, m->in[0]), ce_ref(e, m->in[1]), ce_ref(e, target));
}

static void loop_region(CEmit *e, const FuseInfo *fi, Region *r)
{
    LoopCtx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    const TensorType *T = NULL;
    const Node *target = fi->target[r->G];
    for (int m = 0; m < r->nmem; m++) {
        const Node *n = r->mem[m];
        if (n->op == OP_MATMUL) {
            c.gemm = n;
        } else if (n->op == OP_SUM_TO) {
            c.red[c.nred++] = n;
        } else {
            DLC_ASSERT(op_is_elementwise(n->op));
            if (!T) T = &n->type;
            if (!fi->inlined[n->id]) c.out[c.nout++] = n;
        }
        if (strchr(op_info(n->op)->ew, '?')) c.hoist = true;
    }
    if (!T) DLC_ICE("region %d has no elementwise member", r->G);
    /* y is the region's result: the GEMM's buffer if there is a GEMM, else
       the last stored member; the others follow in graph order */
    const Node *primary = c.gemm ? target : c.nout ? c.out[c.nout - 1] : NULL;
    if (primary) {
        int t = 0;
        while (t < c.nout && c.out[t] != primary) t++;
        if (t == c.nout) DLC_ICE("region %d: the GEMM's buffer is not computed", r->G);
        for (; t > 0; t--) c.out[t] = c.out[t - 1];
        c.out[0] = primary;
    }
    /* the arrays read: operands from outside the region (not the GEMM's) */
    for (int m = 0; m < r->nmem; m++) {
        const Node *n = r->mem[m];
        if (!op_is_elementwise(n->op)) continue;
        for (int k = 0; k < n->nin; k++) {
            const Node *a = n->in[k];
            if (in_region(r, a) || a->op == OP_CONST) continue;
            bool seen = false;
            for (int j = 0; j < c.nleaf; j++) seen |= c.leaf[j] == a;
            if (seen) continue;
            if (c.nleaf + c.nout + c.nred >= LN_MAX_ARR || c.nleaf >= FUSE_MAX_ARRAYS)
                DLC_ICE("region %d reads too many tensors", r->G);
            c.self[c.nleaf] = -1;
            for (int k2 = 0; k2 < c.nout; k2++)
                if (strcmp(ce_ref(e, a), ce_ref(e, c.out[k2])) == 0) {
                    DLC_ASSERT(tt_equal(&a->type, T));
                    c.self[c.nleaf] = k2;
                }
            c.leaf[c.nleaf++] = a;
        }
    }
    DLC_ASSERT(c.nout + c.nleaf + c.nred <= LN_MAX_ARR);

    cp_block(e->p);
    if (c.gemm) loop_gemm(e, c.gemm, target);
    const char *rk = e->p->d->restrict_kw;
    for (int j = 0; j < c.nleaf; j++)
        if (c.self[j] < 0) cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(c.leaf[j]->type.dtype), rk, j, ce_ref(e, c.leaf[j]));
    for (int k = 0; k < c.nout; k++) {
        bool inplace = false;
        for (int j = 0; j < c.nleaf; j++) inplace |= c.self[j] == k;
        cp_line(e->p, "%s *%s %s = %s;%s", ce_ctype(c.out[k]->type.dtype), rk, out_name(e, k), ce_ref(e, c.out[k]),
                inplace ? "   /* in place */" : "");
    }
    for (int k = 0; k < c.nred; k++) {
        cp_line(e->p, "%s *%s r%d = %s;", ce_ctype(c.red[k]->type.dtype), rk, k, ce_ref(e, c.red[k]));
        cp_line(e->p, "for (int64_t i = 0; i < %s; i++) r%d[i] = 0;", ext_str(e, ext_of(&c.red[k]->type)), k);
    }

    LoopNest l;
    ln_init(&l, T);
    l.narr = c.nout + c.nleaf + c.nred;
    for (int k = 0; k < c.nout; k++) strides_of(T, l.stride[k]);
    for (int j = 0; j < c.nleaf; j++) strides_bcast(&c.leaf[j]->type, T, l.stride[c.nout + j]);
    for (int k = 0; k < c.nred; k++) {
        int64_t *s = l.stride[c.nout + c.nleaf + k];
        s[0] = 0; /* summed over the leading axis */
        int64_t rs[DLC_MAX_RANK];
        strides_of(&c.red[k]->type, rs);
        for (int d = 1; d < T->rank; d++) s[d] = rs[d - 1];
    }
    ln_coalesce(&l);
    Ext all = ext_of(T);
    int64_t most = all.c * (all.has_n ? e->g->max_batch : 1);
    if (c.nred == 0 && most >= PAR_MIN_ELEMS) {
        cp_line(e->p, "#ifdef _OPENMP");
        if (all.has_n) cp_line(e->p, "#pragma omp parallel for schedule(static) if (%s >= %d)", ext_str(e, all), PAR_MIN_ELEMS);
        else cp_line(e->p, "#pragma omp parallel for schedule(static)");
        cp_line(e->p, "#endif");
    }
    ln_emit(e, &l, loop_body, &c);
    cp_close(e->p, "");
}

/* ---- row regions -------------------------------------------------------- */

static void rows_region(CEmit *e, Region *r)
{
    const Node *S = find_op(r, OP_SOFTMAX), *L = find_op(r, OP_SPARSE_CATEGORICAL_CROSSENTROPY);
    const Node *D = find_op(r, OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD), *A = find_op(r, OP_ACCURACY);
    const Node *B = find_op(r, OP_SUM_TO);
    const Node *X = S ? S->in[0] : L ? L->in[0] : D ? D->in[0] : A ? A->in[0]->in[0] : NULL;
    if (!X) DLC_ICE("row region %d without logits", r->G);
    if (A && !S) DLC_ICE("row region %d: accuracy without its softmax", r->G);
    int64_t C = X->type.dims[1];
    const char *rows = ext_str(e, ext_dims(&X->type, 0, 1));
    const char *rk = e->p->d->restrict_kw;
    cp_block(e->p);
    cp_line(e->p, "const float *%s x = %s;", rk, ce_ref(e, X));
    if (S) cp_line(e->p, "float *%s ys = %s;", rk, ce_ref(e, S));
    if (L) {
        cp_line(e->p, "const int32_t *%s tl = %s;", rk, ce_ref(e, L->in[1]));
        cp_line(e->p, "double total = 0;");
    }
    if (A) {
        cp_line(e->p, "const int32_t *%s ta = %s;", rk, ce_ref(e, A->in[1]));
        cp_line(e->p, "int64_t correct = 0;");
    }
    if (D) {
        cp_line(e->p, "const int32_t *%s td = %s;", rk, ce_ref(e, D->in[1]));
        cp_line(e->p, "float *%s yd = %s;", rk, ce_ref(e, D));
        cp_line(e->p, "const float g = %s[0] / (float)(%s);", ce_ref(e, D->in[2]), rows);
    }
    if (B) {
        cp_line(e->p, "float *%s yb = %s;", rk, ce_ref(e, B));
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) yb[j] = 0;", (long long)C);
    }
    cp_open(e->p, "for (int64_t r = 0; r < %s; r++)", rows);
    cp_line(e->p, "const int64_t b = r * %lld;", (long long)C);
    cp_line(e->p, "float m = x[b];");
    cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) m = x[b + j] > m ? x[b + j] : m;", (long long)C);
    if (S || D) {
        /* the exponentials, shared by the probabilities and the gradient */
        cp_line(e->p, "float s = 0;");
        cp_open(e->p, "for (int64_t j = 0; j < %lld; j++)", (long long)C);
        cp_line(e->p, "const float ex = %s(x[b + j] - m);", e->p->d->float_math ? "expf" : "exp");
        if (S) cp_line(e->p, "ys[b + j] = ex;");
        if (D) cp_line(e->p, "yd[b + j] = ex;");
        cp_line(e->p, "s += ex;");
        cp_close(e->p, "");
    }
    if (S) {
        cp_line(e->p, "const float inv = 1.0f / s;");
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) ys[b + j] *= inv;", (long long)C);
    }
    if (A) {
        cp_line(e->p, "int64_t best = 0;");
        cp_line(e->p, "for (int64_t j = 1; j < %lld; j++) best = ys[b + j] > ys[b + best] ? j : best;", (long long)C);
        cp_line(e->p, "correct += best == (int64_t)ta[r];");
    }
    if (L) {
        cp_line(e->p, "const int64_t t = tl[r];");
        cp_line(e->p, "/* a label that is not a class: no loss (and no read out of bounds) */");
        cp_open(e->p, "if (t >= 0 && t < %lld)", (long long)C);
        cp_line(e->p, "double sd = 0;");
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) sd += exp((double)(x[b + j] - m));", (long long)C);
        cp_line(e->p, "const double lse = m + log(sd);");
        cp_line(e->p, "total += lse - x[b + t];");
        cp_close(e->p, "");
    }
    if (D) {
        cp_line(e->p, "const int64_t u = td[r];");
        cp_open(e->p, "if (u < 0 || u >= %lld)", (long long)C);
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) yd[b + j] = 0;", (long long)C);
        cp_close(e->p, " else {");
        e->p->indent++;
        cp_line(e->p, "const float gs = g / s;");
        cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) yd[b + j] *= gs;", (long long)C);
        cp_line(e->p, "yd[b + u] -= g;");
        cp_close(e->p, "");
    }
    if (B) cp_line(e->p, "for (int64_t j = 0; j < %lld; j++) yb[j] += yd[b + j];", (long long)C);
    cp_close(e->p, "");
    if (L) cp_line(e->p, "%s[0] = (float)(total / (double)(%s));", ce_ref(e, L), rows);
    if (A) cp_line(e->p, "%s[0] = (float)correct / (float)(%s);", ce_ref(e, A), rows);
    cp_close(e->p, "");
}

/* ---- entry -------------------------------------------------------------- */

void ck_emit_group(CEmit *e, const FuseInfo *fi, int G, const bool *need)
{
    Region r;
    r.G = G;
    r.nmem = 0;
    for (int i = fi->mfirst[G]; i < fi->mfirst[G + 1]; i++) {
        const Node *n = fi->members[i];
        if (need && !need[n->id]) continue;
        if (r.nmem >= FUSE_MAX_MEMBERS) DLC_ICE("region %d has too many members", G);
        r.mem[r.nmem++] = n;
    }
    if (r.nmem == 0) return;
    cp_line(e->p, "/* region %d: */", G);
    for (int i = 0; i < r.nmem; i++) ck_comment(e, r.mem[i]);
    if (fi->kind[G] == FUSE_ROWS) rows_region(e, &r);
    else loop_region(e, fi, &r);
}
