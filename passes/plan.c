/* plan.c - the memory planner (pass `plan`): one arena, one offset per tensor.
 *
 * Generated code keeps every tensor at a fixed byte offset in one buffer, the
 * arena.  This pass chooses those offsets.
 *
 * 1. Schedule.  The execution order is the graph order, except that assign
 *    nodes run at the very end of a step (their semantics: "state <- value
 *    at the end of the step"), in graph order.  Position p of the schedule is
 *    the p-th node executed.
 *
 * 1b. Regions (passes/fuse.c, `fuse`, which runs first).  The members of
 *    a region run in one kernel at the position of its root (the last
 *    member): they all define their values there and read their operands
 *    there, so operand lifetimes extend to the root's position.  Members
 *    inlined into the region's loop (fuse_info) get no storage (offset
 *    -1).  Without fusion (PassOptions.no_fuse) every node is its own
 *    kernel.
 *
 * 2. Sizes.  A tensor's size is its element count with the batch dimension N
 *    bound to the planning batch (o->max_batch when > 0, else g->max_batch),
 *    times the element size, rounded up to 64 bytes (a cache line: every
 *    tensor starts aligned, which the vectorized kernels like).
 *
 * 3. Lifetimes.  A tensor is live from the position that defines it to the
 *    last position that reads it.  Outputs, the loss and metrics live to the
 *    end of the schedule (the caller reads them after the step).  Inputs are
 *    live from position 0.  A node nobody reads lives only at its own
 *    position.
 *
 * 4. Persistent region.  Params, states, hparams and consts hold values
 *    across steps (or are filled once in setup), so they are laid out first,
 *    one after the other from offset 0, in graph order; this region is never
 *    reused, and the runtime's dlrt_tensor data pointers point into it.
 *
 * 5. Aliases.  Some nodes need no storage of their own:
 *    - assign(state, value) names the state itself (offset of operand 0);
 *      the value it copies is read at the assign's (final) position.
 *    - reshape and flatten only reinterpret their operand's elements, so
 *      they share its storage when that is safe.  In SSA form every
 *      transient tensor is written exactly once, at its definition, so
 *      sharing is safe whenever the storage is transient or an input: the
 *      shared buffer is then live for the union of both lifetimes.  Storage
 *      of a persistent tensor is shared only if no assign writes that
 *      tensor (else a reader of the alias after the update would see the
 *      new value).  Chains (flatten of a reshape) share one buffer.
 *    - in-place updates: the value v of assign(s, v) is computed directly
 *      into the storage of s when v is an elementwise root of the same type
 *      as s and every other reader of s reads before v runs or inside v's
 *      own fused loop (at the same index, before the write), and no
 *      output, loss or metric depends on v (eval and predict run without
 *      the updates and must leave s alone).  The final
 *      assign then has nothing to copy.  This turns an optimizer update
 *      into one pass over each parameter and slot.
 *    A buffer and all the nodes that alias it form one "storage" with the
 *    union of their lifetimes.
 *
 * 6. Placement: greedy by size with best fit (Pisarchyk & Lee, "Efficient
 *    Memory Management for Deep Neural Net Inference", 2020; TFLite's
 *    greedy-by-size planner).  The transient storages are sorted by size,
 *    largest first (ties: earlier definition first, then lower id).  Each is
 *    placed against the already placed storages whose lifetimes overlap its
 *    own: walking them by offset, the gaps between them (and the space after
 *    the last one) are candidate places; the smallest gap that fits wins
 *    (ties: the lowest offset).  Nothing below the persistent region is a
 *    candidate.  The gaps depend only on the union of the overlapping
 *    storages' byte ranges, which a segment tree over the schedule
 *    (plan_fit.c) assembles from O(log n) precomputed unions, so a deep
 *    model's many simultaneously live tensors are not rescanned for each
 *    placement.
 *
 * 6b. External leaves (PassOptions.external_leaves, for embeddable
 *    inference): inputs, params, states, hparams and consts are not in the
 *    arena at all (the caller's input, const weights); their storages and
 *    the reshapes sharing them take no bytes and get offset -1.
 *
 * 7. Results: node->offset, node->live_start/live_end (the node's own
 *    lifetime, not its storage's), g->arena_bytes (the end of the highest
 *    placed storage) and g->arena_lower_bound: the largest sum of the sizes
 *    of the storages live at one schedule position, persistent ones
 *    included.  No placement can use less, so arena_bytes / lower bound
 *    measures the planner's waste.
 */
#include <stdlib.h>

#include "fuse.h"
#include "plan_fit.h"

#define PLAN_ALIGN 64

/* One storage: a buffer and the nodes sharing it. */
typedef struct Storage {
    int root;          /* index (in g->nodes) of the node that owns the buffer */
    int64_t bytes;
    int start, end;    /* union of the members' lifetimes */
    int64_t offset;
    bool persistent;
    bool placed;
    bool external;     /* outside the arena (PassOptions.external_leaves) */
} Storage;

static bool is_persistent_op(OpCode op)
{
    return op == OP_PARAM || op == OP_STATE || op == OP_HPARAM || op == OP_CONST;
}

/* Bytes of a node's tensor with N bound to `batch`, aligned. */
static int64_t node_bytes(const Node *n, int64_t batch)
{
    int64_t b = tt_numel(&n->type, batch) * (int64_t)dtype_size(n->type.dtype);
    if (b <= 0) b = 1;
    return (b + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

/* Sort order of transient storages: size descending, then start, then root. */
static int cmp_storage(const void *pa, const void *pb)
{
    const Storage *a = *(Storage *const *)pa, *b = *(Storage *const *)pb;
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return a->root - b->root;
}

void pass_plan(Graph *g, const PassOptions *o)
{
    int nn = g->nnodes;
    int64_t batch = (o && o->max_batch > 0) ? o->max_batch : g->max_batch;
    if (batch < 1) batch = 1;
    g->max_batch = batch;

    /* Index of each node id in g->nodes. */
    Arena *a = g->arena;
    Readers rd = ir_readers(g);
    int *index = rd.index;
    int *pos = ARENA_NEW_N(a, int, nn + 1);            /* schedule position per index */
    int *last = ARENA_NEW_N(a, int, nn + 1);           /* last use position per index */
    int *owner = ARENA_NEW_N(a, int, nn + 1);          /* storage index per node index */
    bool *assigned = ARENA_NEW_N(a, bool, nn + 1);     /* persistent written by an assign */
    Storage *st = ARENA_NEW_N(a, Storage, nn + 1);
    Storage **order = ARENA_NEW_N(a, Storage *, nn + 1);

    /* 1. the schedule: graph order, assigns last. */
    int p = 0;
    for (int i = 0; i < nn; i++)
        if (g->nodes[i]->op != OP_ASSIGN) pos[i] = p++;
    for (int i = 0; i < nn; i++)
        if (g->nodes[i]->op == OP_ASSIGN) pos[i] = p++;
    int end = nn > 0 ? nn - 1 : 0;

    /* uses (operand slots, outputs, loss, metrics) and the last reader */
    /* 1b. regions: every member runs at its root's position */
    FuseInfo *fi = fuse_info(g);
    int *readpos = ARENA_NEW_N(a, int, nn + 1);      /* when the node runs (reads its operands) */
    int *inplace = ARENA_NEW_N(a, int, nn + 1);      /* state index v is computed into, or -1 */
    bool *inl = ARENA_NEW_N(a, bool, nn + 1);        /* inlined into its region's loop */
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        int G = n->fuse_group;
        readpos[i] = G ? pos[index[fi->root[G]->id]] : pos[i];
        inl[i] = fi->inlined[n->id];
        inplace[i] = -1;
        if (G && fi->gemm[G] && !fi->target[G]) DLC_ICE("region %d: the matmul has no buffer to write", G);
    }

    /* 3. lifetimes of the nodes themselves. */
    for (int i = 0; i < nn; i++) last[i] = readpos[i];
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int j = index[n->in[k]->id];
            if (readpos[i] > last[j]) last[j] = readpos[i];
        }
        if (n->op == OP_ASSIGN) assigned[index[n->in[0]->id]] = true;
    }
    for (int k = 0; k < g->noutputs; k++) last[index[g->outputs[k].node->id]] = end;
    for (int k = 0; k < g->nmetrics; k++) last[index[g->metrics[k].node->id]] = end;
    if (g->loss) last[index[g->loss->id]] = end;

    /* 5a. in-place updates: assign(s, v) with v computed into s.  Not for a
       value an output, the loss or a metric depends on: eval_step and
       predict compute those without the updates and must not write s. */
    bool *reported = ARENA_NEW_N(a, bool, nn + 1);
    for (int k = 0; k < g->noutputs; k++) reported[index[g->outputs[k].node->id]] = true;
    for (int k = 0; k < g->nmetrics; k++) reported[index[g->metrics[k].node->id]] = true;
    if (g->loss) reported[index[g->loss->id]] = true;
    for (int i = nn - 1; i >= 0; i--)
        if (reported[i])
            for (int k = 0; k < g->nodes[i]->nin; k++) reported[index[g->nodes[i]->in[k]->id]] = true;
    for (int i = 0; i < nn; i++) {
        Node *as = g->nodes[i];
        if (as->op != OP_ASSIGN) continue;
        int si = index[as->in[0]->id], vi = index[as->in[1]->id];
        Node *v = g->nodes[vi];
        int G = v->fuse_group;
        if (si > vi || reported[vi] || !op_is_elementwise(v->op) || inl[vi] || inplace[vi] >= 0 ||
            !tt_equal(&v->type, &as->in[0]->type) || (G && fi->kind[G] == FUSE_LOOP && fi->gemm[G]))
            continue;
        /* every other reader reads s before v is written, or in v's loop at
           the same index (an elementwise member: the loop's type is s's) */
        bool ok = true;
        for (int q = rd.first[si]; q < rd.first[si + 1] && ok; q++) {
            int r = rd.reader[q];
            Node *rn = g->nodes[r];
            if (r == i) continue;
            bool same_loop = r == vi || (G && rn->fuse_group == G && op_is_elementwise(rn->op));
            if (!(readpos[r] < readpos[vi] || same_loop)) ok = false;
        }
        if (ok) inplace[vi] = si;
    }

    /* 5. storages: aliases join their operand's storage. */
    int nst = 0;
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        int start = (n->op == OP_INPUT || is_persistent_op(n->op)) ? 0 : readpos[i];
        int own_end = is_persistent_op(n->op) ? end : last[i];
        int alias = -1;
        if (inl[i]) {
            /* inlined into its region's loop: no storage */
            n->live_start = n->live_end = readpos[i];
            owner[i] = -1;
            continue;
        }
        if (inplace[i] >= 0) {
            alias = owner[inplace[i]];
        } else if (n->op == OP_ASSIGN) {
            alias = owner[index[n->in[0]->id]];
        } else if ((n->op == OP_RESHAPE || n->op == OP_FLATTEN) && n->in[0]->type.dtype == n->type.dtype) {
            int j = index[n->in[0]->id];
            Storage *s = &st[owner[j]];
            if (!s->persistent || !assigned[s->root]) alias = owner[j];
        }
        if (alias >= 0) {
            owner[i] = alias;
            if (start < st[alias].start) st[alias].start = start;
            if (own_end > st[alias].end) st[alias].end = own_end;
        } else {
            Storage *s = &st[nst];
            s->root = i;
            s->bytes = node_bytes(n, batch);
            s->start = start;
            s->end = own_end;
            s->persistent = is_persistent_op(n->op);
            s->external = o && o->external_leaves && (n->op == OP_INPUT || s->persistent);
            if (s->external) s->bytes = 0;
            s->offset = -1;
            owner[i] = nst++;
        }
        n->live_start = start;
        n->live_end = own_end;
    }

    /* 4. the persistent region. */
    int64_t base = 0;
    for (int k = 0; k < nst; k++)
        if (st[k].persistent && !st[k].external) {
            st[k].offset = base;
            st[k].placed = true;
            base += st[k].bytes;
        }

    /* 6. greedy by size, best fit. */
    int nt = 0;
    for (int k = 0; k < nst; k++)
        if (!st[k].persistent && !st[k].external) order[nt++] = &st[k];
    qsort(order, (size_t)nt, sizeof *order, cmp_storage);
    int64_t top = base;
    FitIndex *fit = fit_new(a, end + 1, base);
    for (int k = 0; k < nt; k++) {
        Storage *s = order[k];
        s->offset = fit_find(fit, s->start, s->end, s->bytes);
        fit_add(fit, s->start, s->end, s->offset, s->bytes);
        s->placed = true;
        if (s->offset + s->bytes > top) top = s->offset + s->bytes;
    }

    /* 7. results and the lower bound. */
    for (int i = 0; i < nn; i++)
        g->nodes[i]->offset = owner[i] >= 0 && !st[owner[i]].external ? st[owner[i]].offset : -1;
    /* the lower bound by a sweep over the schedule: each storage adds its
       bytes where its lifetime starts and takes them back after it ends */
    int64_t *delta = ARENA_NEW_N(a, int64_t, end + 2);
    for (int k = 0; k < nst; k++) {
        int lo = st[k].start > 0 ? st[k].start : 0, hi = st[k].end < end ? st[k].end : end;
        if (lo > hi) continue;
        delta[lo] += st[k].bytes;
        delta[hi + 1] -= st[k].bytes;
    }
    int64_t lower = 0, live = 0;
    for (int q = 0; q <= end; q++) {
        live += delta[q];
        if (live > lower) lower = live;
    }
    g->arena_bytes = top;
    g->arena_lower_bound = lower;
}
