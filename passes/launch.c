/* launch.c - the `launch` pass: the CUDA target's launch groups.
 *
 * The CUDA unit (codegen/emit_cuda.c) has an enqueue function per entry
 * point - a training step, an evaluation step, predict - that puts the
 * entry's work on the stream, one launch after another, in graph order
 * (assigns last).  This pass decides those launches and stores them on the
 * nodes: Node.launch[k] is the launch of entry k that runs the node (-1:
 * none - not needed by the entry, or no work of its own: a member of a
 * fused region computed in its root's kernel, a reshape that aliases its
 * operand, an assign whose value was computed in place), Node.launch_seg[k]
 * its segment within a launch group (-1: a launch of its own).  `dlc ir`
 * prints them as `launch=t5.1,e3` (launch 5 of the training step, segment
 * 1; launch 3 of the evaluation step, alone); the verifier checks them
 * (ir/verify.c).  Only the CUDA target asks for it
 * (PassOptions.launch_groups, from codegen/targets.c).
 *
 * Consecutive elementwise kernels over static extents (in a training step:
 * the optimizer's updates, a few per parameter) are merged into as few
 * launches as their dependencies allow:
 *
 *  - each node's storage accesses are known from the plan: it writes its
 *    result's bytes and reads its region's operands' bytes;
 *  - a node that conflicts (write/write, read after write, write after
 *    read) with the nodes of exactly one earlier segment, all of the same
 *    shape and all through exactly the same bytes (so thread i touches
 *    only element i), joins that segment: one thread runs both bodies, in
 *    graph order, at its index (RMSprop's slot, then its parameter);
 *  - any other conflict starts a segment one level above the segments it
 *    conflicts with; a node without conflicts starts a segment at level 0;
 *  - all segments of a level are one launch: thread ranges laid end to end.
 *
 * So the update of all parameters is one launch for SGD and RMSprop
 * (models/mnist_mlp.nn: four parameters, slot then parameter per thread),
 * whatever the number of parameters; Adam takes two, because every
 * parameter's update reads the bias-corrected step size, a scalar that the
 * first launch computes.  Any other node that launches work (a kernel of
 * its own, cuBLAS, a copy) is a launch of its own and ends the run of
 * groupable nodes before it.
 */
#include <stdlib.h>
#include <string.h>

#include "../ir/bucket.h"
#include "launch.h"

/* The most tensors a fused region's kernel reads (codegen's LN_MAX_ARR). */
#define MAX_READS 16

/* ---- which nodes launch what --------------------------------------------- */

/* A member of a fused region, computed inside its root's kernel. */
static bool is_inlined(const Node *n)
{
    return n->offset < 0 && n->fuse_group != 0;
}

/* A reshape the CUDA unit writes no code for: a view of its operand's
 * storage (codegen's ce_is_alias). */
static bool is_alias(const Node *n)
{
    if (n->op != OP_RESHAPE && n->op != OP_FLATTEN) return false;
    if (n->offset < 0 && n->in[0]->offset < 0 && n->fuse_group == 0) return true;
    return n->offset >= 0 && n->offset == n->in[0]->offset;
}

typedef enum {
    LAUNCH_NONE,      /* no work of its own */
    LAUNCH_GROUPABLE, /* an elementwise kernel over static extents: may share a launch */
    LAUNCH_OWN        /* a launch of its own (a kernel, cuBLAS, a copy) */
} LaunchRole;

/* How node n's work is launched; the CUDA emitter asserts that it agrees
 * (codegen/emit_cuda.c). */
static LaunchRole role_of(const Node *n)
{
    if (op_info(n->op)->kind == OK_LEAF || is_inlined(n) || is_alias(n)) return LAUNCH_NONE;
    if (n->op == OP_ASSIGN && n->in[1]->offset >= 0 && n->in[1]->offset == n->in[0]->offset)
        return LAUNCH_NONE; /* the value was computed in place */
    if (op_is_elementwise(n->op) && n->offset >= 0 && !tt_has_batch(&n->type)) return LAUNCH_GROUPABLE;
    return LAUNCH_OWN;
}

/* ---- conflicts between groupable nodes ----------------------------------- */

typedef struct Access {
    int64_t off, len;
    const TensorType *t;
} Access;

typedef struct Item {
    Node *n;
    int64_t count;
    Access w;
    Access r[MAX_READS];
    int nr;
    int seg;
} Item;

typedef struct Segment {
    int level;
    int64_t count;
} Segment;

static Access access_of(const Graph *g, const Node *n)
{
    Access a = {n->offset, tt_numel(&n->type, g->max_batch) * (int64_t)dtype_size(n->type.dtype), &n->type};
    return a;
}

static void leaf_reads(const Graph *g, const Node *n, Item *it)
{
    for (int k = 0; k < n->nin; k++) {
        const Node *a = n->in[k];
        if (is_inlined(a)) {
            leaf_reads(g, a, it);
            continue;
        }
        if (a->op == OP_CONST || a->offset < 0) continue; /* inlined literal; an input (never written) */
        if (it->nr >= MAX_READS) DLC_ICE("fused region of %%%d reads too many tensors", n->id);
        it->r[it->nr++] = access_of(g, a);
    }
}

static bool overlap(Access x, Access y)
{
    return x.off < y.off + y.len && y.off < x.off + x.len;
}

/* A conflict between accesses x and y; clears *same unless both are the
 * very same bytes viewed with the shape ty. */
static bool pair_conflict(Access x, Access y, const TensorType *ty, bool *same)
{
    if (!overlap(x, y)) return false;
    if (!(x.off == y.off && x.len == y.len && tt_equal(x.t, y.t) && tt_equal(x.t, ty))) *same = false;
    return true;
}

/* Does B (later) depend on A?  *same: only element-wise, index to index. */
static bool conflict(const Item *A, const Item *B, bool *same)
{
    *same = tt_equal(&A->n->type, &B->n->type);
    bool c = pair_conflict(A->w, B->w, &B->n->type, same);
    for (int k = 0; k < B->nr; k++) c |= pair_conflict(A->w, B->r[k], &B->n->type, same);
    for (int k = 0; k < A->nr; k++) c |= pair_conflict(A->r[k], B->w, &B->n->type, same);
    return c;
}

/* One byte range an item writes or reads, for the sweep in
 * conflict_candidates. */
typedef struct ByteSpan {
    int64_t lo, hi; /* [off, off + len], closed: a superset of overlap() */
    int item;
    bool write;
} ByteSpan;

/* Two items that may conflict, a < b. */
typedef struct ItemPair {
    int a, b;
} ItemPair;

static int cmp_span_lo(const void *pa, const void *pb)
{
    const ByteSpan *a = pa, *b = pb;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return a->item - b->item;
}

/* Drops the spans of list[0..*n) that end before `at`. */
static void drop_ended(const ByteSpan *sp, int *list, int *n, int64_t at)
{
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (sp[list[i]].hi >= at) list[m++] = list[i];
    *n = m;
}

/* The pairs (a, b), a < b, of items that may conflict: some write of one
 * overlaps a write or a read of the other.  A sweep over the spans sorted
 * by start, with the writes and the reads that are still open: each span
 * meets the open writes, and a write also the open reads (two reads never
 * conflict, so a tensor many nodes read is not paired with itself).  A
 * span leaves its list when a later start passes its end, so the work is
 * the spans plus the pairs found.  Returns the pairs bucketed by b:
 * first[b] .. first[b + 1] index into the returned array of a's. */
static int *conflict_candidates(Arena *ar, const Item *items, int ni, int **first_out)
{
    int nsp = 0;
    for (int b = 0; b < ni; b++) nsp += 1 + items[b].nr;
    ByteSpan *sp = ARENA_NEW_N(ar, ByteSpan, nsp + 1);
    nsp = 0;
    for (int b = 0; b < ni; b++) {
        sp[nsp++] = (ByteSpan){items[b].w.off, items[b].w.off + items[b].w.len, b, true};
        for (int k = 0; k < items[b].nr; k++)
            sp[nsp++] = (ByteSpan){items[b].r[k].off, items[b].r[k].off + items[b].r[k].len, b, false};
    }
    qsort(sp, (size_t)nsp, sizeof *sp, cmp_span_lo);
    int *open_w = ARENA_NEW_N(ar, int, nsp + 1), *open_r = ARENA_NEW_N(ar, int, nsp + 1);
    int nw = 0, nr = 0, np = 0, cap = 2 * nsp + 16;
    ItemPair *pairs = ARENA_NEW_N(ar, ItemPair, cap);
    for (int x = 0; x < nsp; x++) {
        for (int l = 0; l < (sp[x].write ? 2 : 1); l++) {
            int *list = l ? open_r : open_w, *n = l ? &nr : &nw;
            drop_ended(sp, list, n, sp[x].lo);
            for (int i = 0; i < *n; i++) {
                int a = sp[list[i]].item, b = sp[x].item;
                if (a == b) continue;
                if (np == cap) {
                    pairs = arena_grow(ar, pairs, (size_t)cap, 2 * (size_t)cap, sizeof *pairs);
                    cap *= 2;
                }
                pairs[np++] = (ItemPair){a < b ? a : b, a < b ? b : a};
            }
        }
        if (sp[x].write) open_w[nw++] = x;
        else open_r[nr++] = x;
    }
    int *by_b = ARENA_NEW_N(ar, int, np + 1);
    for (int p = 0; p < np; p++) by_b[p] = pairs[p].b;
    int *order = bucket_by_key(ar, by_b, np, ni, first_out);
    int *cand = ARENA_NEW_N(ar, int, np + 1);
    for (int q = 0; q < np; q++) cand[q] = pairs[order[q]].a;
    return cand;
}

/* ---- numbering the launches ---------------------------------------------- */

/* Numbers the launches of a run of groupable nodes (items[0..ni)) from
 * *next on: one per level, its segments in order of their first node.  A
 * level of one node is a launch of its own (segment -1).  Each node is
 * compared with the earlier nodes it may conflict with
 * (conflict_candidates), not with every earlier node of the run: the
 * optimizer's updates of a deep model are one run of thousands. */
static void plan_run(Graph *g, Item *items, int ni, IrEntry k, int *next)
{
    Arena *ar = g->arena;
    Segment *segs = ARENA_NEW_N(ar, Segment, ni + 1);
    int *first, *cand = conflict_candidates(ar, items, ni, &first);
    int *stamp = ARENA_NEW_N(ar, int, ni + 1); /* b + 1 once a was tried for b */
    int nseg = 0, maxlevel = -1;
    for (int b = 0; b < ni; b++) {
        int only = -1, level = 0;
        bool multiple = false, all_same = true;
        for (int q = first[b]; q < first[b + 1]; q++) {
            int a = cand[q];
            if (stamp[a] == b + 1) continue;
            stamp[a] = b + 1;
            bool same;
            if (!conflict(&items[a], &items[b], &same)) continue;
            all_same &= same;
            if (only < 0) only = items[a].seg;
            else if (only != items[a].seg) multiple = true;
            if (segs[items[a].seg].level + 1 > level) level = segs[items[a].seg].level + 1;
        }
        if (only >= 0 && !multiple && all_same && segs[only].count == items[b].count) {
            items[b].seg = only;
            continue;
        }
        segs[nseg].level = only < 0 ? 0 : level;
        segs[nseg].count = items[b].count;
        items[b].seg = nseg++;
        if (segs[nseg - 1].level > maxlevel) maxlevel = segs[nseg - 1].level;
    }
    /* the segments of each level in order, their nodes in order */
    int *key = ARENA_NEW_N(ar, int, (ni > nseg ? ni : nseg) + 1), *ifirst, *lfirst;
    for (int b = 0; b < ni; b++) key[b] = items[b].seg;
    int *byseg = bucket_by_key(ar, key, ni, nseg, &ifirst);
    for (int sg = 0; sg < nseg; sg++) key[sg] = segs[sg].level;
    int *bylevel = bucket_by_key(ar, key, nseg, maxlevel + 1, &lfirst);
    for (int lv = 0; lv <= maxlevel; lv++) {
        int s = (*next)++, nn = 0;
        for (int q = lfirst[lv]; q < lfirst[lv + 1]; q++) {
            int sg = bylevel[q];
            for (int i = ifirst[sg]; i < ifirst[sg + 1]; i++, nn++) {
                Node *n = items[byseg[i]].n;
                n->launch[k] = s;
                n->launch_seg[k] = q - lfirst[lv];
            }
        }
        if (nn == 1) items[byseg[ifirst[bylevel[lfirst[lv]]]]].n->launch_seg[k] = -1; /* alone: its own kernel */
    }
}

void launch_plan_entry(Graph *g, const bool *need, IrEntry k)
{
    Item *items = ARENA_NEW_N(g->arena, Item, g->nnodes + 1);
    int ni = 0, next = 0;
    for (int i = 0; i < g->nnodes; i++) g->nodes[i]->launch[k] = g->nodes[i]->launch_seg[k] = -1;
    for (int pass = 0; pass < 2; pass++) /* assigns last */
        for (int i = 0; i < g->nnodes; i++) {
            Node *n = g->nodes[i];
            if (!need[n->id] || (n->op == OP_ASSIGN) != (pass == 1)) continue;
            LaunchRole r = role_of(n);
            if (r == LAUNCH_NONE) continue;
            if (r == LAUNCH_GROUPABLE) {
                Item *it = &items[ni++];
                memset(it, 0, sizeof *it);
                it->n = n;
                it->count = tt_numel(&n->type, 1);
                it->w = access_of(g, n);
                leaf_reads(g, n, it);
                continue;
            }
            if (ni) plan_run(g, items, ni, k, &next);
            ni = 0;
            n->launch[k] = next++;
        }
    if (ni) plan_run(g, items, ni, k, &next);
}

void entry_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need)
{
    for (int i = 0; i < nroots; i++)
        if (roots[i]) need[roots[i]->id] = true;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        const Node *n = g->nodes[i];
        if (!need[n->id]) continue;
        for (int k = 0; k < n->nin; k++) need[n->in[k]->id] = true;
    }
}

void entry_need(const Graph *g, IrEntry k, bool *need)
{
    const Node **roots = ARENA_NEW_N(g->arena, const Node *, g->nnodes + g->nmetrics + 2);
    int nr = 0;
    if (k == IR_ENTRY_PREDICT) {
        if (g->noutputs > 0) roots[nr++] = g->outputs[0].node;
    } else {
        roots[nr++] = g->loss;
        for (int i = 0; i < g->nmetrics; i++) roots[nr++] = g->metrics[i].node;
        if (k == IR_ENTRY_TRAIN)
            for (int i = 0; i < g->nnodes; i++)
                if (g->nodes[i]->op == OP_ASSIGN) roots[nr++] = g->nodes[i];
    }
    entry_needed_set(g, roots, nr, need);
}

/* Numbers the launches of the entry points the CUDA unit has: a training
 * and an evaluation step when the graph trains (train mode, a loss),
 * predict when it has an output. */
void pass_launch(Graph *g, const PassOptions *o)
{
    if (!o || !o->launch_groups) return;
    bool train = g->mode == MODE_TRAIN && g->loss;
    for (int k = 0; k < IR_NENTRIES; k++) {
        bool *need = ARENA_NEW_N(g->arena, bool, g->next_id + 1);
        if (k == IR_ENTRY_PREDICT ? g->noutputs > 0 : train) entry_need(g, (IrEntry)k, need);
        launch_plan_entry(g, need, (IrEntry)k);
    }
}
