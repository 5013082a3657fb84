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
 *
 * pass_plan runs one function per step, in this order: plan_schedule (1),
 * plan_regions (1b), plan_lifetimes (3), plan_inplace (the in-place
 * updates of 5), plan_storages (2, 5, 6b), plan_persistent (4), plan_place
 * (6), plan_results (7).
 */
#include <stdlib.h>
#include <string.h>

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

/* The planner's working state: arrays by node index (in g->nodes) unless
 * noted, filled step by step (the steps of the header, in the order
 * pass_plan runs them). */
typedef struct Plan {
    Graph *g;
    const PassOptions *o;
    Arena *a;
    int nn;            /* nodes */
    int end;           /* the last schedule position */
    int64_t batch;     /* N bound to it (step 2) */
    Readers rd;        /* each node's readers; rd.index: index by node id */
    int *pos;          /* schedule position (step 1) */
    FuseInfo *fi;      /* the regions (step 1b) */
    int *readpos;      /* when the node runs (reads its operands): its region root's position */
    bool *inl;         /* inlined into its region's loop: no storage */
    int *inplace;      /* state index the value is computed into, or -1 (step 5a) */
    int *last;         /* last use position (step 3) */
    bool *assigned;    /* persistent tensor an assign writes */
    int *owner;        /* storage index, -1: none (step 5) */
    Storage *st;       /* the storages, nst of them */
    int nst;
} Plan;

/* The state for planning g, with the planning batch: o->max_batch when
 * > 0, else the graph's (at least 1), which g->max_batch then records. */
static Plan plan_new(Graph *g, const PassOptions *o)
{
    Plan P;
    memset(&P, 0, sizeof P);
    P.g = g;
    P.o = o;
    P.a = g->arena;
    P.nn = g->nnodes;
    P.end = P.nn > 0 ? P.nn - 1 : 0;
    P.batch = (o && o->max_batch > 0) ? o->max_batch : g->max_batch;
    if (P.batch < 1) P.batch = 1;
    g->max_batch = P.batch;
    P.rd = ir_readers(g);
    int nn = P.nn;
    P.pos = ARENA_NEW_N(P.a, int, nn + 1);
    P.last = ARENA_NEW_N(P.a, int, nn + 1);
    P.owner = ARENA_NEW_N(P.a, int, nn + 1);
    P.assigned = ARENA_NEW_N(P.a, bool, nn + 1);
    P.st = ARENA_NEW_N(P.a, Storage, nn + 1);
    P.readpos = ARENA_NEW_N(P.a, int, nn + 1);
    P.inplace = ARENA_NEW_N(P.a, int, nn + 1);
    P.inl = ARENA_NEW_N(P.a, bool, nn + 1);
    return P;
}

/* 1. The schedule: graph order, assigns last. */
static void plan_schedule(Plan *P)
{
    int p = 0;
    for (int i = 0; i < P->nn; i++)
        if (P->g->nodes[i]->op != OP_ASSIGN) P->pos[i] = p++;
    for (int i = 0; i < P->nn; i++)
        if (P->g->nodes[i]->op == OP_ASSIGN) P->pos[i] = p++;
}

/* 1b. Regions: every member runs (reads its operands) at its root's
 * position; the members inlined into the region's loop are marked. */
static void plan_regions(Plan *P)
{
    P->fi = fuse_info(P->g);
    const FuseInfo *fi = P->fi;
    for (int i = 0; i < P->nn; i++) {
        Node *n = P->g->nodes[i];
        int G = n->fuse_group;
        P->readpos[i] = G ? P->pos[P->rd.index[fi->root[G]->id]] : P->pos[i];
        P->inl[i] = fi->inlined[n->id];
        P->inplace[i] = -1;
        if (G && fi->gemm[G] && !fi->target[G]) DLC_ICE("region %d: the matmul has no buffer to write", G);
    }
}

/* 3. Lifetimes of the nodes themselves: to their last reader's position;
 * outputs, the loss and metrics to the end.  Also marks the persistent
 * tensors an assign writes. */
static void plan_lifetimes(Plan *P)
{
    const Graph *g = P->g;
    const int *index = P->rd.index;
    for (int i = 0; i < P->nn; i++) P->last[i] = P->readpos[i];
    for (int i = 0; i < P->nn; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int j = index[n->in[k]->id];
            if (P->readpos[i] > P->last[j]) P->last[j] = P->readpos[i];
        }
        if (n->op == OP_ASSIGN) P->assigned[index[n->in[0]->id]] = true;
    }
    for (int k = 0; k < g->noutputs; k++) P->last[index[g->outputs[k].node->id]] = P->end;
    for (int k = 0; k < g->nmetrics; k++) P->last[index[g->metrics[k].node->id]] = P->end;
    if (g->loss) P->last[index[g->loss->id]] = P->end;
}

/* 5a. In-place updates: assign(s, v) with v computed into s.  Not for a
 * value an output, the loss or a metric depends on: eval_step and predict
 * compute those without the updates and must not write s. */
static void plan_inplace(Plan *P)
{
    const Graph *g = P->g;
    const int *index = P->rd.index;
    int nn = P->nn;
    bool *reported = ARENA_NEW_N(P->a, bool, nn + 1);
    for (int k = 0; k < g->noutputs; k++) reported[index[g->outputs[k].node->id]] = true;
    for (int k = 0; k < g->nmetrics; k++) reported[index[g->metrics[k].node->id]] = true;
    if (g->loss) reported[index[g->loss->id]] = true;
    for (int i = nn - 1; i >= 0; i--)
        if (reported[i])
            for (int k = 0; k < g->nodes[i]->nin; k++) reported[index[g->nodes[i]->in[k]->id]] = true;
    const FuseInfo *fi = P->fi;
    for (int i = 0; i < nn; i++) {
        Node *as = g->nodes[i];
        if (as->op != OP_ASSIGN) continue;
        int si = index[as->in[0]->id], vi = index[as->in[1]->id];
        Node *v = g->nodes[vi];
        int G = v->fuse_group;
        if (si > vi || reported[vi] || !op_is_elementwise(v->op) || P->inl[vi] || P->inplace[vi] >= 0 ||
            !tt_equal(&v->type, &as->in[0]->type) || (G && fi->kind[G] == FUSE_LOOP && fi->gemm[G]))
            continue;
        /* every other reader reads s before v is written, or in v's loop at
           the same index (an elementwise member: the loop's type is s's) */
        bool ok = true;
        for (int q = P->rd.first[si]; q < P->rd.first[si + 1] && ok; q++) {
            int r = P->rd.reader[q];
            Node *rn = g->nodes[r];
            if (r == i) continue;
            bool same_loop = r == vi || (G && rn->fuse_group == G && op_is_elementwise(rn->op));
            if (!(P->readpos[r] < P->readpos[vi] || same_loop)) ok = false;
        }
        if (ok) P->inplace[vi] = si;
    }
}

/* 5. Storages: aliases (in-place values, assigns, safe reshapes) join
 * their operand's storage; every other node with storage owns one of its
 * size (2), external with PassOptions.external_leaves (6b).  Sets the
 * nodes' own lifetimes. */
static void plan_storages(Plan *P)
{
    const int *index = P->rd.index;
    for (int i = 0; i < P->nn; i++) {
        Node *n = P->g->nodes[i];
        int start = (n->op == OP_INPUT || is_persistent_op(n->op)) ? 0 : P->readpos[i];
        int own_end = is_persistent_op(n->op) ? P->end : P->last[i];
        int alias = -1;
        if (P->inl[i]) {
            /* inlined into its region's loop: no storage */
            n->live_start = n->live_end = P->readpos[i];
            P->owner[i] = -1;
            continue;
        }
        if (P->inplace[i] >= 0) {
            alias = P->owner[P->inplace[i]];
        } else if (n->op == OP_ASSIGN) {
            alias = P->owner[index[n->in[0]->id]];
        } else if ((n->op == OP_RESHAPE || n->op == OP_FLATTEN) && n->in[0]->type.dtype == n->type.dtype) {
            int j = index[n->in[0]->id];
            Storage *s = &P->st[P->owner[j]];
            if (!s->persistent || !P->assigned[s->root]) alias = P->owner[j];
        }
        if (alias >= 0) {
            P->owner[i] = alias;
            if (start < P->st[alias].start) P->st[alias].start = start;
            if (own_end > P->st[alias].end) P->st[alias].end = own_end;
        } else {
            Storage *s = &P->st[P->nst];
            s->root = i;
            s->bytes = node_bytes(n, P->batch);
            s->start = start;
            s->end = own_end;
            s->persistent = is_persistent_op(n->op);
            s->external = P->o && P->o->external_leaves && (n->op == OP_INPUT || s->persistent);
            if (s->external) s->bytes = 0;
            s->offset = -1;
            P->owner[i] = P->nst++;
        }
        n->live_start = start;
        n->live_end = own_end;
    }
}

/* 4. The persistent region, from offset 0 in graph order; returns its end. */
static int64_t plan_persistent(Plan *P)
{
    int64_t base = 0;
    for (int k = 0; k < P->nst; k++)
        if (P->st[k].persistent && !P->st[k].external) {
            P->st[k].offset = base;
            P->st[k].placed = true;
            base += P->st[k].bytes;
        }
    return base;
}

/* 6. The transient storages, greedy by size with best fit above `base`;
 * returns the end of the highest. */
static int64_t plan_place(Plan *P, int64_t base)
{
    Storage **order = ARENA_NEW_N(P->a, Storage *, P->nn + 1);
    int nt = 0;
    for (int k = 0; k < P->nst; k++)
        if (!P->st[k].persistent && !P->st[k].external) order[nt++] = &P->st[k];
    qsort(order, (size_t)nt, sizeof *order, cmp_storage);
    int64_t top = base;
    FitIndex *fit = fit_new(P->a, P->end + 1, base);
    for (int k = 0; k < nt; k++) {
        Storage *s = order[k];
        s->offset = fit_find(fit, s->start, s->end, s->bytes);
        fit_add(fit, s->start, s->end, s->offset, s->bytes);
        s->placed = true;
        if (s->offset + s->bytes > top) top = s->offset + s->bytes;
    }
    return top;
}

/* 7. Results: the nodes' offsets, the arena's size (`top`) and the lower
 * bound, by a sweep over the schedule: each storage adds its bytes where
 * its lifetime starts and takes them back after it ends. */
static void plan_results(Plan *P, int64_t top)
{
    Graph *g = P->g;
    for (int i = 0; i < P->nn; i++)
        g->nodes[i]->offset = P->owner[i] >= 0 && !P->st[P->owner[i]].external ? P->st[P->owner[i]].offset : -1;
    int end = P->end;
    int64_t *delta = ARENA_NEW_N(P->a, int64_t, end + 2);
    for (int k = 0; k < P->nst; k++) {
        int lo = P->st[k].start > 0 ? P->st[k].start : 0, hi = P->st[k].end < end ? P->st[k].end : end;
        if (lo > hi) continue;
        delta[lo] += P->st[k].bytes;
        delta[hi + 1] -= P->st[k].bytes;
    }
    int64_t lower = 0, live = 0;
    for (int q = 0; q <= end; q++) {
        live += delta[q];
        if (live > lower) lower = live;
    }
    g->arena_bytes = top;
    g->arena_lower_bound = lower;
}

void pass_plan(Graph *g, const PassOptions *o)
{
    Plan P = plan_new(g, o);
    plan_schedule(&P);
    plan_regions(&P);
    plan_lifetimes(&P);
    plan_inplace(&P);
    plan_storages(&P);
    int64_t base = plan_persistent(&P);
    plan_results(&P, plan_place(&P, base));
}
