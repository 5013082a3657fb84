/* verify.c - the graph verifier, run between passes.
 *
 * One walk over the nodes in order, with a table from id to position:
 *  - ids are unique and below next_id; each node appears once;
 *  - every operand is a live node of this graph placed earlier (topological
 *    order, no dangling or dead operands);
 *  - operand count and attributes agree with the op table (names from the
 *    schema, right kinds, required ones present, no duplicates);
 *  - the node's type is exactly what its shape rule computes now;
 *  - leaves other than const have unique names, other nodes none;
 *  - outputs, metrics, loss and gradients point into the graph, the loss is
 *    a float scalar, gradients are typed like their params; assign targets
 *    are params or states.
 * The first problem found is returned as a message (arena-allocated).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ir.h"
#include "shape.h"

/* Position of node n in g, or -1 if it is not (live) in the graph. */
static int pos_of(const Graph *g, const int *pos, const Node *n) {
    if (!n || n->id < 0 || n->id >= g->next_id) return -1;
    int p = pos[n->id];
    return p >= 0 && g->nodes[p] == n ? p : -1;
}

/* "%5 (add)" or "%dense_1.kernel" for messages. */
static const char *desc(Graph *g, const Node *n) {
    if (n->name) return arena_printf(g->arena, "%%%s", n->name);
    return arena_printf(g->arena, "node #%d (%s)", n->id, op_info(n->op)->name);
}

static const char *check_attrs(Graph *g, const Node *n) {
    const OpInfo *info = op_info(n->op);
    for (int i = 0; i < n->nattrs; i++) {
        const Attr *a = &n->attrs[i];
        const AttrSpec *s = a->name ? op_attr_spec(n->op, a->name) : NULL;
        if (!s) return arena_printf(g->arena, "%s has attribute '%s', not in the schema of %s", desc(g, n),
                                    a->name ? a->name : "(null)", info->name);
        if (s->kind != a->kind) return arena_printf(g->arena, "%s: attribute '%s' has the wrong kind", desc(g, n), a->name);
        for (int j = 0; j < i; j++)
            if (strcmp(n->attrs[j].name, a->name) == 0)
                return arena_printf(g->arena, "%s: attribute '%s' appears twice", desc(g, n), a->name);
        if (a->kind == AK_INTS && a->nints > 0 && !a->ints)
            return arena_printf(g->arena, "%s: attribute '%s' is a malformed list", desc(g, n), a->name);
        if (a->kind == AK_STR && !a->s)
            return arena_printf(g->arena, "%s: attribute '%s' is a null string", desc(g, n), a->name);
    }
    for (int s = 0; s < info->nspecs; s++)
        if (info->specs[s].required && !node_has_attr(n, info->specs[s].name))
            return arena_printf(g->arena, "%s lacks the required attribute '%s'", desc(g, n), info->specs[s].name);
    return NULL;
}

/* Checks the node at position p; pos[] maps every id to its position. */
static const char *check_node(Graph *g, const int *pos, int p, const Node *n) {
    const OpInfo *info = op_info(n->op);
    if (n->nin < info->min_in || (info->max_in >= 0 && n->nin > info->max_in))
        return arena_printf(g->arena, "%s has %d operands", desc(g, n), n->nin);
    for (int k = 0; k < n->nin; k++) {
        const Node *in = n->in[k];
        int q = pos_of(g, pos, in);
        if (q < 0) return arena_printf(g->arena, "operand %d of %s is not in the graph", k, desc(g, n));
        if (q >= p)
            return arena_printf(g->arena, "operand %d of %s (%s) does not come before it", k, desc(g, n),
                                desc(g, in));
        if (in->dead && !n->dead)
            return arena_printf(g->arena, "%s uses %s, which is marked dead", desc(g, n), desc(g, in));
    }
    bool named_leaf = info->kind == OK_LEAF && n->op != OP_CONST;
    if (named_leaf && (!n->name || !n->name[0])) return arena_printf(g->arena, "a %s leaf has no name", info->name);
    if (!named_leaf && n->name) return arena_printf(g->arena, "%s has a name but is not a named leaf", desc(g, n));
    const char *err = check_attrs(g, n);
    if (err) return err;
    if (n->op == OP_ASSIGN && n->in[0]->op != OP_PARAM && n->in[0]->op != OP_STATE)
        return arena_printf(g->arena, "%s assigns to %s, which is not a param or state", desc(g, n),
                            desc(g, n->in[0]));
    Node copy = *n;
    err = ir_shape_infer(g, &copy);
    if (err) return arena_printf(g->arena, "%s: %s", desc(g, n), err);
    if (!tt_equal(&copy.type, &n->type))
        return arena_printf(g->arena, "%s has type %s but its shape rule gives %s", desc(g, n),
                            shape_fmt(g, &n->type), shape_fmt(g, &copy.type));
    if (n->fuse_group < 0) return arena_printf(g->arena, "%s has a negative fusion group", desc(g, n));
    return NULL;
}

static const char *check_ref(Graph *g, const int *pos, const Node *n, const char *what) {
    if (pos_of(g, pos, n) < 0) return arena_printf(g->arena, "%s does not point into the graph", what);
    if (n->dead) return arena_printf(g->arena, "%s points to a dead node", what);
    return NULL;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns a name two nodes share, or NULL: sorts the names (n log n, so
 * that a model with many thousands of layers verifies quickly). */
static const char *duplicate_name(Graph *g) {
    const char **names = ARENA_NEW_N(g->arena, const char *, g->nnodes > 0 ? g->nnodes : 1);
    int k = 0;
    for (int p = 0; p < g->nnodes; p++)
        if (g->nodes[p]->name) names[k++] = g->nodes[p]->name;
    qsort(names, (size_t)k, sizeof *names, cmp_name);
    for (int i = 1; i < k; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

/* True for a member of a fused region computed inside its root's kernel. */
static bool inlined(const Node *n) { return n->offset < 0 && n->fuse_group != 0; }

/* The launch of `a` (read by a node of launch s, segment seg, in entry k),
 * through inlined region members: an operand must be computed by an
 * earlier launch, or in the same launch by the same segment (one thread
 * runs the segment's bodies in order at its index). */
static const char *check_launch_operand(Graph *g, const Node *n, const Node *a, int k) {
    if (inlined(a)) {
        for (int j = 0; j < a->nin; j++) {
            const char *err = check_launch_operand(g, n, a->in[j], k);
            if (err) return err;
        }
        return NULL;
    }
    int s = n->launch[k], t = a->launch[k];
    if (t < 0 || t < s) return NULL;
    if (t == s && n->launch_seg[k] >= 0 && a->launch_seg[k] == n->launch_seg[k]) return NULL;
    return arena_printf(g->arena, "%s (launch %d of entry %d) reads %s, which launch %d computes", desc(g, n), s, k,
                        desc(g, a), t);
}

/* The CUDA launch grouping (passes/launch.c), per entry point: launch
 * numbers 0, 1, ... each used; a launch either one node's (segment -1) or
 * a group of at least two elementwise nodes over static extents with
 * storage, those of a segment of one element count; every operand computed
 * by an earlier launch or by the node's own segment. */
static const char *check_launches(Graph *g) {
    int nn = g->nnodes;
    int *own = ARENA_NEW_N(g->arena, int, nn + 1), *members = ARENA_NEW_N(g->arena, int, nn + 1);
    int64_t *count = ARENA_NEW_N(g->arena, int64_t, nn + 1);
    for (int k = 0; k < IR_NENTRIES; k++) {
        memset(own, 0, sizeof *own * (size_t)(nn + 1));
        memset(members, 0, sizeof *members * (size_t)(nn + 1));
        int top = -1;
        for (int p = 0; p < nn; p++) {
            const Node *n = g->nodes[p];
            int s = n->launch[k], sg = n->launch_seg[k];
            if (s < -1 || s >= nn || sg < -1 || (s < 0 && sg >= 0))
                return arena_printf(g->arena, "%s has launch %d segment %d in entry %d", desc(g, n), s, sg, k);
            if (s < 0) continue;
            if (s > top) top = s;
            if (sg < 0) {
                own[s]++;
                continue;
            }
            if (!op_is_elementwise(n->op) || n->offset < 0 || tt_has_batch(&n->type))
                return arena_printf(g->arena,
                                    "%s is in launch group %d of entry %d but is not elementwise over static "
                                    "extents with storage",
                                    desc(g, n), s, k);
            members[s]++;
        }
        for (int s = 0; s <= top; s++) {
            if (own[s] + members[s] == 0) return arena_printf(g->arena, "launch %d of entry %d runs nothing", s, k);
            if (own[s] > 1 || (own[s] && members[s]) || members[s] == 1)
                return arena_printf(g->arena,
                                    "launch %d of entry %d mixes nodes of their own with a group, or has a group "
                                    "of one",
                                    s, k);
        }
        for (int p = 0; p < nn; p++) {
            const Node *n = g->nodes[p];
            if (n->launch[k] < 0) continue;
            for (int j = 0; j < n->nin; j++) {
                const char *err = check_launch_operand(g, n, n->in[j], k);
                if (err) return err;
            }
        }
        /* each segment's element count, its first node's: the segments of
           launch s at base[s] + seg (own[] reused as base[]: the prefix
           sums of the group sizes; a group has at most as many segments
           as members) */
        for (int s = 0, b = 0; s <= top; s++) {
            own[s] = b;
            b += members[s];
        }
        for (int i = 0; i <= nn; i++) count[i] = -1;
        for (int p = 0; p < nn; p++) {
            const Node *n = g->nodes[p];
            int s = n->launch[k], sg = n->launch_seg[k];
            if (sg < 0) continue;
            if (sg >= members[s])
                return arena_printf(g->arena, "%s has segment %d of launch %d of entry %d, a group of %d", desc(g, n), sg,
                                    s, k, members[s]);
            int64_t *c = &count[own[s] + sg], e = tt_numel(&n->type, 1);
            if (*c < 0) *c = e;
            else if (*c != e)
                return arena_printf(g->arena, "%s is in segment %d of launch %d of entry %d, whose nodes have %lld elements",
                                    desc(g, n), sg, s, k, (long long)*c);
        }
    }
    return NULL;
}

const char *ir_verify(Graph *g) {
    if (g->nnodes < 0 || g->nnodes > g->cap || (g->nnodes && !g->nodes)) return "the node list is corrupt";
    int *pos = ARENA_NEW_N(g->arena, int, g->next_id > 0 ? g->next_id : 1);
    for (int i = 0; i < g->next_id; i++) pos[i] = -1;
    /* First pass: ids and positions, so operands placed later are told
     * apart from operands not in the graph at all. */
    for (int p = 0; p < g->nnodes; p++) {
        Node *n = g->nodes[p];
        if (!n) return arena_printf(g->arena, "node %d of the list is null", p);
        if ((unsigned)n->op >= OP_COUNT) return arena_printf(g->arena, "node #%d has an invalid op", n->id);
        if (n->id < 0 || n->id >= g->next_id)
            return arena_printf(g->arena, "%s has id %d outside [0, %d)", desc(g, n), n->id, g->next_id);
        if (pos[n->id] >= 0) return arena_printf(g->arena, "id %d is used twice", n->id);
        pos[n->id] = p;
    }
    for (int p = 0; p < g->nnodes; p++) {
        Node *n = g->nodes[p];
        const char *err = check_node(g, pos, p, n);
        if (err) return err;
    }
    const char *dup = duplicate_name(g);
    if (dup) return arena_printf(g->arena, "the name %%%s is defined twice", dup);
    const char *err;
    for (int i = 0; i < g->noutputs; i++)
        if ((err = check_ref(g, pos, g->outputs[i].node,
                             arena_printf(g->arena, "output '%s'", g->outputs[i].name ? g->outputs[i].name : "?"))))
            return err;
    for (int i = 0; i < g->nmetrics; i++)
        if ((err = check_ref(g, pos, g->metrics[i].node,
                             arena_printf(g->arena, "metric '%s'", g->metrics[i].name ? g->metrics[i].name : "?"))))
            return err;
    if (g->loss) {
        if ((err = check_ref(g, pos, g->loss, "the loss"))) return err;
        if (g->loss->type.rank != 0 || !dtype_is_float(g->loss->type.dtype))
            return arena_printf(g->arena, "the loss has type %s, not a float scalar", shape_fmt(g, &g->loss->type));
    }
    for (int i = 0; i < g->ngrads; i++) {
        const Node *p = g->grad_params ? g->grad_params[i] : NULL, *d = g->grads ? g->grads[i] : NULL;
        if ((err = check_ref(g, pos, p, arena_printf(g->arena, "gradient %d's parameter", i)))) return err;
        if (p->op != OP_PARAM) return arena_printf(g->arena, "gradient %d is taken with respect to a non-param", i);
        if ((err = check_ref(g, pos, d, arena_printf(g->arena, "the gradient of %%%s", p->name)))) return err;
        if (!tt_equal(&p->type, &d->type))
            return arena_printf(g->arena, "the gradient of %%%s has type %s, not %s", p->name,
                                shape_fmt(g, &d->type), shape_fmt(g, &p->type));
    }
    return check_launches(g);
}
