/* c_loops.c - extents and strided loop nests for the C kernels.
 *
 * Many kernels are "walk a box of indices and touch a few arrays at affine
 * offsets": elementwise ops with NumPy broadcasting, reductions (the result
 * has stride 0 along reduced dims), sum_to, broadcast_to, transpose (the
 * operand's strides permuted), slice and concat (a base offset).  A
 * LoopNest describes that box: extents (the outermost may scale with the
 * run-time batch n) and per array one stride per dim.
 *
 * ln_coalesce() first drops dims of extent 1, then merges dim d with d+1
 * when every array steps through them as one (stride[d] == stride[d+1] *
 * extent[d+1], which also holds when both are 0).  So a same-shape add
 * becomes one flat loop, a bias add [N,512] + [512] two loops whose inner
 * one is contiguous, and only genuinely strided patterns keep more loops.
 * ln_emit() prints the nest with `int64_t` indices i (one dim) or i0, i1...
 */
#include <string.h>

#include "c_emit.h"

Ext ext_dims(const TensorType *t, int from, int to)
{
    Ext x = {1, false};
    for (int d = from; d < to; d++) {
        if (t->dims[d] == DIM_N) x.has_n = true;
        else x.c *= t->dims[d];
    }
    return x;
}

Ext ext_of(const TensorType *t)
{
    return ext_dims(t, 0, t->rank);
}

const char *ext_str(CEmit *e, Ext x)
{
    if (!x.has_n) return arena_printf(e->a, "%lld", (long long)x.c);
    if (x.c == 1) return "n";
    return arena_printf(e->a, "n * %lld", (long long)x.c);
}

void strides_of(const TensorType *t, int64_t *s)
{
    int64_t acc = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        s[d] = acc;
        if (t->dims[d] != DIM_N) acc *= t->dims[d];
    }
}

void strides_bcast(const TensorType *t, const TensorType *out, int64_t *s)
{
    int64_t own[DLC_MAX_RANK];
    strides_of(t, own);
    int shift = out->rank - t->rank;
    for (int d = 0; d < out->rank; d++) {
        int od = d - shift;
        if (od < 0 || (t->dims[od] == 1 && out->dims[d] != 1)) s[d] = 0;
        else s[d] = own[od];
    }
}

void ln_init(LoopNest *l, const TensorType *t)
{
    memset(l, 0, sizeof *l);
    l->nd = t->rank;
    for (int d = 0; d < t->rank; d++) {
        l->ext[d].has_n = t->dims[d] == DIM_N;
        l->ext[d].c = l->ext[d].has_n ? 1 : t->dims[d];
    }
}

/* Removes dim d from the nest. */
static void ln_drop(LoopNest *l, int d)
{
    for (int k = d; k + 1 < l->nd; k++) {
        l->ext[k] = l->ext[k + 1];
        for (int a = 0; a < l->narr; a++) l->stride[a][k] = l->stride[a][k + 1];
    }
    l->nd--;
}

void ln_coalesce(LoopNest *l)
{
    for (int d = l->nd - 1; d >= 0; d--)
        if (l->ext[d].c == 1 && !l->ext[d].has_n) ln_drop(l, d);
    for (int d = l->nd - 2; d >= 0; d--) {
        if (l->ext[d + 1].has_n) continue;
        bool ok = true;
        for (int a = 0; a < l->narr; a++)
            if (l->stride[a][d] != l->stride[a][d + 1] * l->ext[d + 1].c) ok = false;
        if (!ok) continue;
        l->ext[d].c *= l->ext[d + 1].c;
        for (int a = 0; a < l->narr; a++) l->stride[a][d] = l->stride[a][d + 1];
        ln_drop(l, d + 1);
    }
}

/* Each array's index: the sum of var[d] * stride over the dims where its
 * stride is not 0, plus its base offset ("0" when all are absent). */
void ln_indices(CEmit *e, const LoopNest *l, char var[][16], const char **idx)
{
    for (int a = 0; a < l->narr; a++) {
        char buf[512];
        size_t len = 0;
        buf[0] = '\0';
        for (int d = 0; d < l->nd; d++) {
            int64_t s = l->stride[a][d];
            if (s == 0) continue;
            if (s == 1) len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? " + " : "", var[d]);
            else len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s * %lld", len ? " + " : "", var[d], (long long)s);
        }
        if (l->base[a] != 0)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", len ? " + " : "", (long long)l->base[a]);
        if (!len) strcpy(buf, "0");
        idx[a] = arena_strdup(e->a, buf);
    }
}

void ln_emit(CEmit *e, LoopNest *l, LoopBody body, void *ctx)
{
    char var[DLC_MAX_RANK][16];
    for (int d = 0; d < l->nd; d++) {
        if (l->nd == 1) strcpy(var[d], "i");
        else snprintf(var[d], sizeof var[d], "i%d", d);
    }
    const char *idx[LN_MAX_ARR];
    ln_indices(e, l, var, idx);
    for (int d = 0; d < l->nd; d++)
        cp_open(e->p, "for (int64_t %s = 0; %s < %s; %s++)", var[d], var[d], ext_str(e, l->ext[d]), var[d]);
    body(e, idx, ctx);
    for (int d = 0; d < l->nd; d++) cp_close(e->p, "");
}

/* A box [outer, size, inner] copied between two tensors (c_emit.h). */
void ln_box(LoopNest *l, Ext outer, int64_t size, int64_t inner, int64_t cy, int64_t oy, int64_t cx, int64_t ox)
{
    memset(l, 0, sizeof *l);
    l->nd = 3;
    l->narr = 2;
    l->ext[0] = outer;
    l->ext[1] = (Ext){size, false};
    l->ext[2] = (Ext){inner, false};
    int64_t sy[3] = {cy * inner, inner, 1}, sx[3] = {cx * inner, inner, 1};
    memcpy(l->stride[0], sy, sizeof sy);
    memcpy(l->stride[1], sx, sizeof sx);
    l->base[0] = oy * inner;
    l->base[1] = ox * inner;
    ln_coalesce(l);
}

/* Normalizes an axis against a rank (c_emit.h). */
int ln_axis(const Node *n, int64_t axis, int rank)
{
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) DLC_ICE("axis %lld out of range for %s", (long long)axis, op_info(n->op)->name);
    return (int)axis;
}

/* outer = dims before the axis, c = the axis, inner = dims after it. */
bool rows_around(const TensorType *t, int axis, Rows *r)
{
    if (t->dims[axis] == DIM_N) return false;
    r->outer = ext_dims(t, 0, axis);
    r->c = t->dims[axis];
    Ext in = ext_dims(t, axis + 1, t->rank);
    DLC_ASSERT(!in.has_n);
    r->inner = in.c;
    return true;
}
