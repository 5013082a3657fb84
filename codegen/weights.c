/* weights.c - parameter values for code that carries its weights
 * (weights.h).
 *
 * weights_load describes the graph's params and states as the runtime's
 * dlrt_tensor table (name, dtype, shape, a buffer in the graph's arena) and
 * hands it to the runtime's checkpoint reader, dlrt_st_read
 * (runtime/safetensors.c): one safetensors parser in the project, with its
 * checks and messages.  weights_init runs the reference interpreter's
 * initialization (ir/interp.h) and rounds its values to float.
 */
#include <string.h>

#include "../ir/interp.h"
#include "../runtime/rt_ckpt.h"
#include "weights.h"

static bool is_persistent_leaf(const Node *n)
{
    return n->op == OP_PARAM || n->op == OP_STATE;
}

/* Collects the persistent leaves and gives each a zeroed buffer. */
static Weights *weights_new(const Graph *g)
{
    Arena *a = g->arena;
    Weights *w = ARENA_NEW(a, Weights);
    w->leaf = ARENA_NEW_N(a, const Node *, g->nnodes + 1);
    w->data = ARENA_NEW_N(a, float *, g->nnodes + 1);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!is_persistent_leaf(n)) continue;
        if (n->type.dtype != DT_F32)
            dlc_error(n->loc, "'%s' is %s: only f32 parameters can be embedded or exported", n->name,
                      dtype_name(n->type.dtype));
        if (tt_has_batch(&n->type)) DLC_ICE("persistent tensor '%s' has the batch dimension", n->name);
        w->leaf[w->n] = n;
        w->data[w->n] = ARENA_NEW_N(a, float, tt_numel(&n->type, 1) + 1);
        w->n++;
    }
    return w;
}

Weights *weights_load(const Graph *g, const char *path)
{
    Weights *w = weights_new(g);
    dlrt_tensor *t = ARENA_NEW_N(g->arena, dlrt_tensor, w->n + 1);
    for (int i = 0; i < w->n; i++) {
        const Node *n = w->leaf[i];
        if (n->type.rank > DLRT_MAX_RANK) dlc_error(n->loc, "'%s' has rank %d: checkpoints hold at most %d", n->name, n->type.rank, DLRT_MAX_RANK);
        t[i].name = n->name;
        t[i].dtype = DLRT_F32;
        t[i].rank = n->type.rank;
        for (int d = 0; d < n->type.rank; d++) t[i].dims[d] = n->type.dims[d];
        t[i].data = w->data[i];
    }
    dlrt_err err;
    if (dlrt_st_read(path, t, w->n, g->name, NULL, &err) != 0) dlc_error(SRCLOC_NONE, "%s", err.msg);
    /* the path goes into C comments: never let it close one */
    char *src = arena_strdup(g->arena, path);
    for (char *q = strstr(src, "*/"); q; q = strstr(q, "*/")) q[1] = '_';
    w->source = src;
    return w;
}

Weights *weights_init(const Graph *g, uint64_t seed)
{
    Weights *w = weights_new(g);
    Interp *it = interp_new(g, 1, seed);
    for (int i = 0; i < w->n; i++) {
        const double *v = interp_buf(it, w->leaf[i]);
        int64_t cnt = tt_numel(&w->leaf[i]->type, 1);
        for (int64_t k = 0; k < cnt; k++) w->data[i][k] = (float)v[k];
    }
    interp_free(it);
    w->source = arena_printf(g->arena, "initializers (seed %llu)", (unsigned long long)seed);
    return w;
}

const float *weights_of(const Weights *w, const Node *leaf)
{
    for (int i = 0; i < w->n; i++)
        if (w->leaf[i] == leaf) return w->data[i];
    return NULL;
}
