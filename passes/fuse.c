/* fuse.c - the fusion pass (`fuse`): which nodes one kernel computes.
 *
 * A region (Node.fuse_group = G > 0) is a set of nodes that one kernel
 * computes, at the schedule position of the region's root, its last member
 * in graph order.  `dlc ir --after fuse` shows them as `group=G`.  Two kinds
 * (fuse.h, FuseKind):
 *
 *  - Loop regions: elementwise ops of one type T in one loop nest.  Inside
 *    the loop every member is a local value; a member is also stored
 *    (materialized) when something outside the region, an output, the loss
 *    or a metric reads it - so a region may write several tensors (RMSprop:
 *    the new slot and the new parameter in one pass).  A loop region may
 *    also hold
 *      - one matmul of type T read only by the region (a GEMM epilogue:
 *        cblas_sgemm writes the region's primary output, then the loop
 *        applies bias, activation, ... in place: x @ W + b -> relu is one
 *        GEMM and one pass), and
 *      - sum_to reductions of members over the leading axis (a bias
 *        gradient: column sums accumulated in the loop that computes
 *        relu_grad).
 *  - Row regions: softmax, sparse_categorical_crossentropy(from_logits),
 *    its gradient, the accuracy of that softmax and the sum_to of the
 *    gradient over the batch (the last layer's bias gradient), all over the
 *    same logits: one pass over the rows computes probabilities, loss,
 *    accuracy, dlogits and the bias gradient.
 *
 * How: one walk in graph order; at each node c the pass tries to join c
 * with the regions of its operands (a "join" moves those regions to c's
 * position, c becoming the root):
 *   - c elementwise: an elementwise operand of the same type (inlined if c
 *     is its only reader, else a further output of the loop); a matmul
 *     operand of the same type that c alone reads, if the region has none;
 *   - c sum_to over the leading axis of an elementwise operand (loop) or of
 *     a crossentropy gradient (rows);
 *   - c a row op: the row region of its logits.
 * A join is legal only if no node between the moved region's root and c
 * (other than an assign, which runs at the end of the step) reads one of
 * the moved region's members: that node would run before the values it
 * reads.  Regions are capped at FUSE_MAX_MEMBERS members and
 * FUSE_MAX_ARRAYS arrays.  Each region keeps a list of its members and
 * the legality and array checks visit the members and their readers
 * (ir_readers), so a join attempt costs the regions' size, not the
 * graph's: the pass is linear in the graph.  Finally a matmul leaves its
 * region when the region has no buffer for the GEMM to write: a stored
 * elementwise member that every entry point computing the product computes
 * too (the first stored member down the product's chain of only readers,
 * fuse_info; an entry point emits only the members it needs, so "any
 * stored member" would leave train_step writing into a buffer only
 * predict computes).  Then one-member regions are dissolved,
 * and regions are numbered 1, 2, ... in the order of their roots.
 * With PassOptions.no_fuse every fuse_group is 0.  Without
 * PassOptions.fuse_regions (emitters that only inline chains: CUDA, the
 * embeddable C) only the first rule applies, to an operand c alone reads,
 * with at most FUSE_SIMPLE_MEMBERS members: each region is a tree of
 * inlined values under one stored root.
 */
#include <stdlib.h>
#include <string.h>

#include "../ir/bucket.h"
#include "fuse.h"

#define FUSE_SIMPLE_MEMBERS 8

/* The ops a row region takes (with from_logits where it matters). */
static bool is_row_op(const Node *n)
{
    switch (n->op) {
    case OP_SOFTMAX:
    case OP_ACCURACY:
        return true;
    case OP_SPARSE_CATEGORICAL_CROSSENTROPY:
    case OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD:
        return node_attr_int(n, "from_logits") != 0;
    default:
        return false;
    }
}

/* True if sum_to node c sums its operand over the leading axis only. */
static bool sums_leading_axis(const Node *c)
{
    const TensorType *a = &c->in[0]->type, *t = &c->type;
    if (c->op != OP_SUM_TO || a->rank < 2 || t->rank != a->rank - 1) return false;
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] != a->dims[d + 1] || t->dims[d] == DIM_N) return false;
    return true;
}

/* ---- fuse_info: facts derived from the groups --------------------------- */

FuseInfo *fuse_info(const Graph *g)
{
    Arena *a = g->arena;
    int nn = g->nnodes, ng = 0;
    for (int i = 0; i < nn; i++)
        if (g->nodes[i]->fuse_group > ng) ng = g->nodes[i]->fuse_group;
    FuseInfo *fi = ARENA_NEW(a, FuseInfo);
    fi->ngroups = ng;
    fi->kind = ARENA_NEW_N(a, FuseKind, ng + 1);
    fi->root = ARENA_NEW_N(a, const Node *, ng + 1);
    fi->gemm = ARENA_NEW_N(a, const Node *, ng + 1);
    fi->target = ARENA_NEW_N(a, const Node *, ng + 1);
    fi->simple = ARENA_NEW_N(a, bool, ng + 1);
    fi->inlined = ARENA_NEW_N(a, bool, g->next_id + 1);
    int *uses = ARENA_NEW_N(a, int, g->next_id + 1);
    int *outside = ARENA_NEW_N(a, int, g->next_id + 1); /* uses by non-members */
    const Node **reader = ARENA_NEW_N(a, const Node *, g->next_id + 1); /* the reader, when uses is 1 */
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        int G = n->fuse_group;
        if (G > 0) {
            fi->root[G] = n;
            if (fi->kind[G] == FUSE_NONE) fi->kind[G] = FUSE_LOOP;
            if (is_row_op(n)) fi->kind[G] = FUSE_ROWS;
            if (n->op == OP_MATMUL) fi->gemm[G] = n;
        }
        for (int k = 0; k < n->nin; k++) {
            const Node *o = n->in[k];
            uses[o->id]++;
            reader[o->id] = n;
            if (o->fuse_group == 0 || o->fuse_group != G) outside[o->id]++;
        }
    }
    for (int k = 0; k < g->noutputs; k++) outside[g->outputs[k].node->id]++;
    for (int k = 0; k < g->nmetrics; k++) outside[g->metrics[k].node->id]++;
    if (g->loss) outside[g->loss->id]++;
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        int G = n->fuse_group;
        if (G > 0 && fi->kind[G] == FUSE_LOOP && (op_is_elementwise(n->op) || n->op == OP_MATMUL) && uses[n->id] > 0 &&
            outside[n->id] == 0)
            fi->inlined[n->id] = true;
    }
    /* simple regions: one stored elementwise root over a tree of inlined
       values (each read once) */
    for (int G = 1; G <= ng; G++) fi->simple[G] = fi->kind[G] == FUSE_LOOP && !fi->gemm[G] && op_is_elementwise(fi->root[G]->op);
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        int G = n->fuse_group;
        if (G > 0 && n != fi->root[G] && (!fi->inlined[n->id] || uses[n->id] != 1)) fi->simple[G] = false;
    }
    /* the GEMM's buffer (the loop reads the product at each index before
       it stores anything there): a stored elementwise member that every
       entry point computing the product also computes (the code
       generators emit the subset of a region an entry needs, and an entry
       needs the product only through its readers).  So: follow the
       product's only reader, and from an inlined member its only reader,
       to the first stored member; none if the chain forks before one (an
       inlined value read by two members each entry may need alone) */
    for (int G = 1; G <= ng; G++) {
        const Node *x = fi->gemm[G];
        if (!x || fi->kind[G] != FUSE_LOOP) continue;
        while (x && (x == fi->gemm[G] || fi->inlined[x->id]))
            x = uses[x->id] == 1 && reader[x->id]->fuse_group == G ? reader[x->id] : NULL;
        if (x && op_is_elementwise(x->op) && tt_equal(&x->type, &fi->gemm[G]->type)) fi->target[G] = x;
    }
    /* member lists: the grouped nodes by group (ungrouped ones left out) */
    int *key = ARENA_NEW_N(a, int, nn + 1);
    for (int i = 0; i < nn; i++) key[i] = g->nodes[i]->fuse_group > 0 ? g->nodes[i]->fuse_group : -1;
    int *order = bucket_by_key(a, key, nn, ng + 1, &fi->mfirst);
    fi->members = ARENA_NEW_N(a, const Node *, fi->mfirst[ng + 1] + 1);
    for (int j = 0; j < fi->mfirst[ng + 1]; j++) fi->members[j] = g->nodes[order[j]];
    return fi;
}

/* ---- the pass ----------------------------------------------------------- */

typedef struct Fuser {
    Graph *g;
    bool regions;        /* PassOptions.fuse_regions */
    int nn;
    int *index;          /* by node id: position in g->nodes */
    int *uses;           /* by index: operand slots reading it */
    int *rfirst;         /* by index: its readers are reader[rfirst[x] .. rfirst[x+1]) */
    int *reader;         /* indices of the readers, one per operand slot */
    bool *reported;      /* by index: an output, the loss or a metric */
    int *group;          /* by index: provisional group (0: none) */
    int *next;           /* by index: the next member of its group, -1 at the end */
    int ng;
    int *groot;          /* by group: index of the last member */
    int *head, *tail;    /* by group: first and last entry of its member list */
    int *nmem;           /* by group: members */
    FuseKind *kind;      /* by group */
    bool *has_mm;        /* by group: holds a matmul */
    int *rows_of;        /* by index of logits: row group or -(index+1) of a lone row op, 0: none */
    bool *mark;          /* scratch, by index; all false between calls */
    bool *seen;          /* scratch, by index; all false between calls */
} Fuser;

/* True if node index x is in the set "group G" (or the lone node `lone`
 * when G is 0). */
static bool in_set(const Fuser *f, int x, int G, int lone)
{
    return G ? f->group[x] == G : x == lone;
}

/* Writes the members of the set (group G, or node `lone` alone) to out
 * (room for FUSE_MAX_MEMBERS); returns their number.  A group's members
 * are its list, so this costs the set's size, not the graph's. */
static int members(const Fuser *f, int G, int lone, int *out)
{
    if (!G) {
        out[0] = lone;
        return 1;
    }
    int n = 0;
    for (int x = f->head[G]; x >= 0; x = f->next[x]) {
        DLC_ASSERT(n < FUSE_MAX_MEMBERS && f->group[x] == G);
        out[n++] = x;
    }
    return n;
}

/* Can the set (group G, or node j alone) move to position i?  No node
 * strictly between the set's root and i, outside the set and outside
 * group `keep`, may read a member of the set (assigns excepted: they run
 * at the end of the step).  Only the readers of the members can break
 * this, so those are the nodes looked at (not every node in between: an
 * operand computed early and read late would make that a walk over much
 * of the graph for each join tried). */
static bool can_move(const Fuser *f, int G, int j, int i, int keep)
{
    int from = G ? f->groot[G] : j;
    int mem[FUSE_MAX_MEMBERS];
    int nm = members(f, G, j, mem);
    for (int m = 0; m < nm; m++)
        for (int r = f->rfirst[mem[m]]; r < f->rfirst[mem[m] + 1]; r++) {
            int x = f->reader[r];
            if (x <= from || x >= i) continue;
            if (f->g->nodes[x]->op == OP_ASSIGN || in_set(f, x, G, j) || (keep && f->group[x] == keep)) continue;
            return false;
        }
    return true;
}

/* Arrays the loop of the union (group Ga or node a) + (group Gc or node c)
 * would touch: operands read from outside (constants are literals; the
 * matmul's operands belong to the GEMM), and an upper bound of the
 * results (members read from outside, reported, or reductions).  Looks at
 * the members, their operands and their readers only. */
static int loop_arrays(Fuser *f, int Ga, int a, int Gc, int c)
{
    int mem[2 * FUSE_MAX_MEMBERS];
    int nm = members(f, Ga, a, mem);
    nm += members(f, Gc, c, mem + nm);
    int narr = 0;
    for (int m = 0; m < nm; m++) f->mark[mem[m]] = true;
    for (int m = 0; m < nm; m++) {
        int x = mem[m];
        const Node *n = f->g->nodes[x];
        if (n->op == OP_MATMUL) continue;
        for (int k = 0; k < n->nin; k++) {
            int j = f->index[n->in[k]->id];
            if (f->mark[j] || f->seen[j] || n->in[k]->op == OP_CONST) continue;
            f->seen[j] = true;
            narr++;
        }
        if (n->op == OP_SUM_TO || f->reported[x]) {
            narr++;
            continue;
        }
        /* read by a node outside the union? */
        for (int r = f->rfirst[x]; r < f->rfirst[x + 1]; r++)
            if (!f->mark[f->reader[r]]) {
                narr++;
                break;
            }
    }
    for (int m = 0; m < nm; m++) f->mark[mem[m]] = false;
    for (int m = 0; m < nm; m++) {
        const Node *n = f->g->nodes[mem[m]];
        for (int k = 0; k < n->nin; k++) f->seen[f->index[n->in[k]->id]] = false;
    }
    return narr;
}

/* Puts node i in a group of its own if it has none; returns the group. */
static int ensure_group(Fuser *f, int i, FuseKind kind)
{
    if (f->group[i]) return f->group[i];
    int G = ++f->ng;
    f->group[i] = G;
    f->next[i] = -1;
    f->head[G] = f->tail[G] = i;
    f->groot[G] = i;
    f->nmem[G] = 1;
    f->kind[G] = kind;
    f->has_mm[G] = f->g->nodes[i]->op == OP_MATMUL;
    return G;
}

/* Moves the set (group Ga, or node a alone) into node c's group, made if
 * needed; c (index i) is the latest node, so it becomes the root.  The
 * set's member list is appended to the group's. */
static void join(Fuser *f, int Ga, int a, int i, FuseKind kind)
{
    int Gc = ensure_group(f, i, kind);
    if (Ga == Gc) return;
    if (Ga) {
        for (int x = f->head[Ga]; x >= 0; x = f->next[x]) f->group[x] = Gc;
        f->next[f->tail[Gc]] = f->head[Ga];
        f->tail[Gc] = f->tail[Ga];
        f->head[Ga] = f->tail[Ga] = -1;
    } else {
        DLC_ASSERT(f->group[a] == 0);
        f->group[a] = Gc;
        f->next[a] = -1;
        f->next[f->tail[Gc]] = a;
        f->tail[Gc] = a;
    }
    f->nmem[Gc] += Ga ? f->nmem[Ga] : 1;
    f->has_mm[Gc] |= Ga ? f->has_mm[Ga] : f->g->nodes[a]->op == OP_MATMUL;
    f->groot[Gc] = i;
}

/* Tries to join the set of operand index j into consumer i's loop region. */
static void try_loop_join(Fuser *f, int i, int j)
{
    int Ga = f->group[j], Gc = f->group[i];
    if (Ga && Ga == Gc) return;
    if ((Ga && f->kind[Ga] != FUSE_LOOP) || (Gc && f->kind[Gc] != FUSE_LOOP)) return;
    int na = Ga ? f->nmem[Ga] : 1, nc = Gc ? f->nmem[Gc] : 1;
    if (na + nc > (f->regions ? FUSE_MAX_MEMBERS : FUSE_SIMPLE_MEMBERS)) return;
    if (!f->regions && (f->uses[j] != 1 || f->reported[j] || !op_is_elementwise(f->g->nodes[j]->op) ||
                        !op_is_elementwise(f->g->nodes[i]->op)))
        return;
    bool mma = Ga ? f->has_mm[Ga] : f->g->nodes[j]->op == OP_MATMUL;
    bool mmc = Gc ? f->has_mm[Gc] : false;
    if (mma && mmc) return;
    if (!can_move(f, Ga, j, i, Gc)) return;
    if (loop_arrays(f, Ga, j, Gc, i) > FUSE_MAX_ARRAYS) return;
    join(f, Ga, j, i, FUSE_LOOP);
}

/* The logits a row op works on, or -1. */
static int row_key(const Fuser *f, const Node *c)
{
    if (!is_row_op(c)) return -1;
    const Node *x = c->in[0];
    if (c->op == OP_ACCURACY) {
        /* accuracy of a softmax: argmax over the probabilities the region computes */
        const TensorType *t = &c->in[1]->type;
        if (x->op != OP_SOFTMAX || t->dtype != DT_I32 || t->rank != 1) return -1;
        x = x->in[0];
    }
    const TensorType *xt = &x->type;
    if (xt->rank != 2 || xt->dims[1] < 2 || xt->dtype != DT_F32) return -1;
    if (c->op == OP_SOFTMAX || c->op == OP_ACCURACY) {
        const Node *s = c->op == OP_SOFTMAX ? c : c->in[0];
        int64_t axis = node_attr_int(s, "axis");
        if (axis != -1 && axis != 1) return -1;
    }
    if (c->op != OP_SOFTMAX && c->op != OP_ACCURACY && c->in[1]->type.dtype != DT_I32) return -1;
    return f->index[x->id];
}

/* Adds row op i to the row region of its logits kx. */
static void try_rows_join(Fuser *f, int i, int kx)
{
    int r = f->rows_of[kx];
    if (r == 0) {
        f->rows_of[kx] = -(i + 1); /* the first one waits for a partner */
        return;
    }
    int G = r > 0 ? r : 0, lone = r > 0 ? -1 : -r - 1;
    if (G && f->nmem[G] + 1 > FUSE_MAX_MEMBERS) return;
    if (!can_move(f, G, lone, i, 0)) return;
    join(f, G, lone, i, FUSE_ROWS);
    f->rows_of[kx] = f->group[i];
}

void pass_fuse(Graph *g, const PassOptions *o)
{
    int nn = g->nnodes;
    for (int i = 0; i < nn; i++) g->nodes[i]->fuse_group = 0;
    if (o && o->no_fuse) return;
    Arena *a = g->arena;
    Fuser f = {0};
    f.g = g;
    f.regions = o && o->fuse_regions;
    f.nn = nn;
    Readers rd = ir_readers(g);
    f.index = rd.index;
    f.rfirst = rd.first;
    f.reader = rd.reader;
    f.uses = ARENA_NEW_N(a, int, nn + 1);
    for (int i = 0; i < nn; i++) f.uses[i] = rd.first[i + 1] - rd.first[i];
    f.reported = ARENA_NEW_N(a, bool, nn + 1);
    f.group = ARENA_NEW_N(a, int, nn + 1);
    f.groot = ARENA_NEW_N(a, int, nn + 2);
    f.nmem = ARENA_NEW_N(a, int, nn + 2);
    f.kind = ARENA_NEW_N(a, FuseKind, nn + 2);
    f.has_mm = ARENA_NEW_N(a, bool, nn + 2);
    f.rows_of = ARENA_NEW_N(a, int, nn + 1);
    f.mark = ARENA_NEW_N(a, bool, nn + 1);
    f.seen = ARENA_NEW_N(a, bool, nn + 1);
    f.next = ARENA_NEW_N(a, int, nn + 1);
    f.head = ARENA_NEW_N(a, int, nn + 2);
    f.tail = ARENA_NEW_N(a, int, nn + 2);
    for (int k = 0; k < g->noutputs; k++) f.reported[f.index[g->outputs[k].node->id]] = true;
    for (int k = 0; k < g->nmetrics; k++) f.reported[f.index[g->metrics[k].node->id]] = true;
    if (g->loss) f.reported[f.index[g->loss->id]] = true;

    for (int i = 0; i < nn; i++) {
        Node *c = g->nodes[i];
        if (op_is_elementwise(c->op)) {
            for (int k = 0; k < c->nin; k++) {
                Node *x = c->in[k];
                int j = f.index[x->id];
                if (!tt_equal(&x->type, &c->type)) continue;
                if (op_is_elementwise(x->op)) try_loop_join(&f, i, j);
                else if (x->op == OP_MATMUL && f.uses[j] == 1 && !f.reported[j] && !f.group[j]) try_loop_join(&f, i, j);
            }
        } else if (!f.regions) {
            continue;
        } else if (c->op == OP_SUM_TO && sums_leading_axis(c)) {
            int j = f.index[c->in[0]->id];
            const Node *x = c->in[0];
            if (op_is_elementwise(x->op)) {
                try_loop_join(&f, i, j);
            } else if (x->op == OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD && f.group[j] && f.kind[f.group[j]] == FUSE_ROWS) {
                int G = f.group[j];
                if (f.nmem[G] < FUSE_MAX_MEMBERS && can_move(&f, G, -1, i, 0)) join(&f, G, -1, i, FUSE_ROWS);
            }
        } else {
            int kx = row_key(&f, c);
            if (kx >= 0) try_rows_join(&f, i, kx);
        }
    }

    /* provisional numbering, then drop matmuls whose value reaches no buffer */
    for (int i = 0; i < nn; i++) g->nodes[i]->fuse_group = f.group[i];
    FuseInfo *fi = fuse_info(g);
    for (int G = 1; G <= fi->ngroups; G++)
        if (fi->gemm[G] && !fi->target[G]) ((Node *)fi->gemm[G])->fuse_group = 0;

    /* dissolve one-member regions; number the rest by their roots */
    int *count = ARENA_NEW_N(a, int, nn + 2), *num = ARENA_NEW_N(a, int, nn + 2);
    for (int i = 0; i < nn; i++) count[g->nodes[i]->fuse_group]++;
    int next = 0;
    int *last = ARENA_NEW_N(a, int, nn + 2);
    for (int i = 0; i < nn; i++) last[g->nodes[i]->fuse_group] = i;
    for (int i = 0; i < nn; i++) {
        int G = g->nodes[i]->fuse_group;
        if (G && count[G] > 1 && last[G] == i) num[G] = ++next;
    }
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        n->fuse_group = n->fuse_group && count[n->fuse_group] > 1 ? num[n->fuse_group] : 0;
    }
}
