/* builder.c - creating and rewriting graphs (see ir.h).
 *
 * Every node goes through ir_node_try: operand count and attributes are
 * checked against the op table, attributes are copied into the graph's
 * arena in schema order, and the op's shape rule gives the node its type.
 * Only then is the node appended and numbered (g->next_id++).  ir_node
 * turns a failure into a user error at the node's source position,
 * ir_node_checked into an internal error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "internal.h"
#include "ir.h"
#include "shape.h"

Graph *ir_graph_new(Arena *a, const char *name, GraphMode mode) {
    Graph *g = ARENA_NEW(a, Graph);
    g->arena = a;
    g->name = arena_strdup(a, name ? name : "model");
    g->mode = mode;
    g->train.batch_size = 32;
    g->train.epochs = 1;
    g->train.seed = 0;
    g->max_batch = 1;
    return g;
}

/* Appends n to the graph and gives it the next id. */
static void append(Graph *g, Node *n) {
    if (g->nnodes == g->cap) {
        int ncap = g->cap ? g->cap * 2 : 64;
        g->nodes = arena_grow(g->arena, g->nodes, (size_t)g->cap, (size_t)ncap, sizeof(Node *));
        g->cap = ncap;
    }
    n->id = g->next_id++;
    g->nodes[g->nnodes++] = n;
}

const char *ir_shape_infer(Graph *g, Node *n) {
    const OpInfo *info = op_info(n->op);
    const char *err = info->shape(g, n);
    if (!err) err = shape_check_dims(g, &n->type, info->name);
    return err;
}

static const char *kind_desc(AttrKind k) {
    switch (k) {
    case AK_INT: return "an integer";
    case AK_FLOAT: return "a number";
    case AK_BOOL: return "a boolean";
    case AK_INTS: return "a list of integers";
    case AK_STR: return "a string";
    case AK_DTYPE: return "a dtype";
    }
    return "?";
}

/* Converts a to the schema kind of spec, if compatible. */
static bool coerce(Attr *a, const AttrSpec *spec) {
    if (a->kind == spec->kind) return true;
    switch (spec->kind) {
    case AK_INT:
        if (a->kind == AK_BOOL) break;
        if (a->kind == AK_FLOAT && a->f == floor(a->f) && fabs(a->f) < 9e15) {
            a->i = (int64_t)a->f;
            break;
        }
        return false;
    case AK_FLOAT:
        if (a->kind == AK_INT || a->kind == AK_BOOL) {
            a->f = (double)a->i;
            break;
        }
        return false;
    case AK_BOOL:
        if (a->kind == AK_INT && (a->i == 0 || a->i == 1)) break;
        if (a->kind == AK_FLOAT && (a->f == 0 || a->f == 1)) {
            a->i = (int64_t)a->f;
            break;
        }
        return false;
    default:
        return false;
    }
    a->kind = spec->kind;
    return true;
}

const char *ir_attrs_normalize(Graph *g, OpCode op, const Attr *attrs, int nattrs, Attr **out, int *nout) {
    const OpInfo *info = op_info(op);
    *out = NULL;
    *nout = 0;
    if (nattrs == 0 && info->nspecs == 0) return NULL;
    Attr *slot = ARENA_NEW_N(g->arena, Attr, info->nspecs ? info->nspecs : 1);
    bool *set = ARENA_NEW_N(g->arena, bool, info->nspecs ? info->nspecs : 1);
    for (int i = 0; i < nattrs; i++) {
        int k = -1;
        for (int s = 0; s < info->nspecs; s++)
            if (attrs[i].name && strcmp(info->specs[s].name, attrs[i].name) == 0) k = s;
        if (k < 0)
            return arena_printf(g->arena, "%s has no attribute '%s'", info->name,
                                attrs[i].name ? attrs[i].name : "(null)");
        if (set[k]) return arena_printf(g->arena, "%s: attribute '%s' is given twice", info->name, attrs[i].name);
        Attr a = attrs[i];
        if (!coerce(&a, &info->specs[k]))
            return arena_printf(g->arena, "%s: attribute '%s' must be %s", info->name, attrs[i].name,
                                kind_desc(info->specs[k].kind));
        a.name = info->specs[k].name;
        if (a.kind == AK_INTS) {
            if (a.nints < 0 || (a.nints > 0 && !a.ints))
                return arena_printf(g->arena, "%s: attribute '%s' is a malformed list", info->name, a.name);
            int64_t *copy = a.nints ? ARENA_NEW_N(g->arena, int64_t, a.nints) : NULL;
            if (a.nints) memcpy(copy, a.ints, sizeof(int64_t) * (size_t)a.nints);
            a.ints = copy;
        } else if (a.kind == AK_STR) {
            a.s = arena_strdup(g->arena, a.s ? a.s : "");
        } else if (a.kind == AK_DTYPE && (a.i < 0 || a.i >= DT_COUNT)) {
            return arena_printf(g->arena, "%s: attribute '%s' is not a valid dtype", info->name, a.name);
        }
        slot[k] = a;
        set[k] = true;
    }
    int m = 0;
    for (int s = 0; s < info->nspecs; s++) {
        if (set[s])
            slot[m++] = slot[s];
        else if (info->specs[s].required)
            return arena_printf(g->arena, "%s requires the attribute '%s'", info->name, info->specs[s].name);
    }
    *out = m ? slot : NULL;
    *nout = m;
    return NULL;
}

/* Allocates a node with checked operands and attributes (not appended). */
static const char *make_node(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc,
                             Node **out) {
    DLC_ASSERT((unsigned)op < OP_COUNT);
    const OpInfo *info = op_info(op);
    Node *n = ARENA_NEW(g->arena, Node);
    n->id = -1;
    n->op = op;
    n->loc = loc;
    n->offset = -1;
    n->live_start = n->live_end = -1;
    for (int k = 0; k < IR_NENTRIES; k++) n->launch[k] = n->launch_seg[k] = -1;
    *out = n;
    if (nin < info->min_in || (info->max_in >= 0 && nin > info->max_in)) {
        if (info->min_in == info->max_in)
            return arena_printf(g->arena, "%s expects %d operand%s, got %d", info->name, info->min_in,
                                info->min_in == 1 ? "" : "s", nin);
        if (info->max_in < 0)
            return arena_printf(g->arena, "%s expects at least %d operand%s, got %d", info->name, info->min_in,
                                info->min_in == 1 ? "" : "s", nin);
        return arena_printf(g->arena, "%s expects %d to %d operands, got %d", info->name, info->min_in,
                            info->max_in, nin);
    }
    if (nin) {
        n->in = ARENA_NEW_N(g->arena, Node *, nin);
        for (int i = 0; i < nin; i++) {
            DLC_ASSERT(in[i] != NULL);
            n->in[i] = in[i];
        }
    }
    n->nin = nin;
    return ir_attrs_normalize(g, op, attrs, nattrs, &n->attrs, &n->nattrs);
}

const char *ir_node_try(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc,
                        Node **out) {
    Node *n;
    const char *err = make_node(g, op, in, nin, attrs, nattrs, loc, &n);
    if (!err) err = ir_shape_infer(g, n);
    *out = n;
    if (err) return err;
    append(g, n);
    return NULL;
}

Node *ir_node(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc) {
    Node *n;
    const char *err = ir_node_try(g, op, in, nin, attrs, nattrs, loc, &n);
    if (err) dlc_error(loc, "%s", err);
    return n;
}

Node *ir_node_checked(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc) {
    Node *n;
    const char *err = ir_node_try(g, op, in, nin, attrs, nattrs, loc, &n);
    if (err) DLC_ICE("ill-typed %s node built by a pass: %s", op_info(op)->name, err);
    return n;
}

/* Creates a leaf of the given type; a bad type is a user error at loc. */
static Node *leaf(Graph *g, OpCode op, const char *name, TensorType t, const Attr *attrs, int nattrs, SrcLoc loc) {
    Node *n;
    const char *err = make_node(g, op, NULL, 0, attrs, nattrs, loc, &n);
    n->name = name ? arena_strdup(g->arena, name) : NULL;
    n->type = t;
    if (!err) err = ir_shape_infer(g, n);
    if (err) dlc_error(loc, "%s", err);
    append(g, n);
    return n;
}

Node *ir_input(Graph *g, const char *name, TensorType t, SrcLoc loc) {
    return leaf(g, OP_INPUT, name, t, NULL, 0, loc);
}

Node *ir_param(Graph *g, const char *name, TensorType t, const Attr *init, int ninit, SrcLoc loc) {
    return leaf(g, OP_PARAM, name, t, init, ninit, loc);
}

Node *ir_state(Graph *g, const char *name, TensorType t, const Attr *init, int ninit, SrcLoc loc) {
    return leaf(g, OP_STATE, name, t, init, ninit, loc);
}

Node *ir_hparam(Graph *g, const char *name, double value, SrcLoc loc) {
    Attr v = attr_float("value", value);
    return leaf(g, OP_HPARAM, name, tt_scalar(DT_F32), &v, 1, loc);
}

Node *ir_const(Graph *g, DType dt, double value, SrcLoc loc) {
    Attr v = attr_float("value", value);
    return leaf(g, OP_CONST, NULL, tt_scalar(dt), &v, 1, loc);
}

/* ---- attribute constructors -------------------------------------------- */

Attr attr_int(const char *name, int64_t v) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_INT;
    a.i = v;
    return a;
}

Attr attr_bool(const char *name, bool v) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_BOOL;
    a.i = v;
    return a;
}

Attr attr_float(const char *name, double v) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_FLOAT;
    a.f = v;
    return a;
}

Attr attr_str(const char *name, const char *s) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_STR;
    a.s = s;
    return a;
}

Attr attr_ints(const char *name, const int64_t *v, int n) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_INTS;
    a.ints = v;
    a.nints = n;
    return a;
}

Attr attr_dtype(const char *name, DType t) {
    Attr a = {0};
    a.name = name;
    a.kind = AK_DTYPE;
    a.i = t;
    return a;
}

/* ---- attribute getters ------------------------------------------------- */

static const Attr *find_attr(const Node *n, const char *name) {
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

/* The schema entry for name; asking for an attribute the op does not have
 * is a bug in the caller. */
static const AttrSpec *spec_of(const Node *n, const char *name) {
    const AttrSpec *s = op_attr_spec(n->op, name);
    if (!s) DLC_ICE("op %s has no attribute '%s'", op_info(n->op)->name, name);
    return s;
}

int64_t node_attr_int(const Node *n, const char *name) {
    const AttrSpec *s = spec_of(n, name);
    const Attr *a = find_attr(n, name);
    if (a) {
        if (a->kind == AK_INT || a->kind == AK_BOOL || a->kind == AK_DTYPE) return a->i;
        DLC_ICE("attribute '%s' of %s is not an integer", name, op_info(n->op)->name);
    }
    if (s->required) DLC_ICE("required attribute '%s' of %s is missing", name, op_info(n->op)->name);
    if (s->kind == AK_DTYPE) {
        DType t;
        if (!dtype_parse(s->deflt, strlen(s->deflt), &t)) DLC_ICE("bad dtype default '%s'", s->deflt);
        return t;
    }
    if (s->kind != AK_INT && s->kind != AK_BOOL)
        DLC_ICE("attribute '%s' of %s is not an integer", name, op_info(n->op)->name);
    return strtoll(s->deflt, NULL, 10);
}

double node_attr_float(const Node *n, const char *name) {
    const AttrSpec *s = spec_of(n, name);
    const Attr *a = find_attr(n, name);
    if (a) {
        if (a->kind == AK_FLOAT) return a->f;
        if (a->kind == AK_INT || a->kind == AK_BOOL) return (double)a->i;
        DLC_ICE("attribute '%s' of %s is not a number", name, op_info(n->op)->name);
    }
    if (s->required) DLC_ICE("required attribute '%s' of %s is missing", name, op_info(n->op)->name);
    if (s->kind != AK_FLOAT && s->kind != AK_INT && s->kind != AK_BOOL)
        DLC_ICE("attribute '%s' of %s is not a number", name, op_info(n->op)->name);
    return strtod(s->deflt, NULL);
}

const char *node_attr_str(const Node *n, const char *name) {
    const AttrSpec *s = spec_of(n, name);
    const Attr *a = find_attr(n, name);
    if (s->kind != AK_STR) DLC_ICE("attribute '%s' of %s is not a string", name, op_info(n->op)->name);
    if (a) return a->s;
    if (s->required) DLC_ICE("required attribute '%s' of %s is missing", name, op_info(n->op)->name);
    return s->deflt;
}

int node_attr_ints(const Node *n, const char *name, const int64_t **out) {
    const AttrSpec *s = spec_of(n, name);
    const Attr *a = find_attr(n, name);
    if (s->kind != AK_INTS) DLC_ICE("attribute '%s' of %s is not an int list", name, op_info(n->op)->name);
    if (a && a->nints > 0) {
        *out = a->ints;
        return a->nints;
    }
    if (!a && s->required) DLC_ICE("required attribute '%s' of %s is missing", name, op_info(n->op)->name);
    *out = NULL;
    return 0;
}

bool node_has_attr(const Node *n, const char *name) { return find_attr(n, name) != NULL; }

/* ---- queries and rewrites ---------------------------------------------- */


Node *ir_unary(Graph *g, OpCode op, Node *a, SrcLoc loc) { return ir_node_checked(g, op, &a, 1, NULL, 0, loc); }

Node *ir_binary(Graph *g, OpCode op, Node *a, Node *b, SrcLoc loc) {
    Node *in[2] = {a, b};
    return ir_node_checked(g, op, in, 2, NULL, 0, loc);
}

Node *ir_find_leaf(const Graph *g, const char *name) {
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->name && op_info(n->op)->kind == OK_LEAF && strcmp(n->name, name) == 0) return n;
    }
    return NULL;
}

void ir_replace_uses(Graph *g, Node *from, Node *to) {
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n == to) continue; /* `to` may be built from `from` */
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i].node == from) g->outputs[i].node = to;
    for (int i = 0; i < g->nmetrics; i++)
        if (g->metrics[i].node == from) g->metrics[i].node = to;
    if (g->loss == from) g->loss = to;
    for (int i = 0; i < g->ngrads; i++)
        if (g->grads[i] == from) g->grads[i] = to;
}

void ir_compact(Graph *g) {
    int m = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead) g->nodes[m++] = g->nodes[i];
    g->nnodes = m;
}

void ir_use_counts(const Graph *g, int *counts) {
    memset(counts, 0, sizeof(int) * (size_t)g->next_id);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            DLC_ASSERT(n->in[k]->id >= 0 && n->in[k]->id < g->next_id);
            counts[n->in[k]->id]++;
        }
    }
    for (int i = 0; i < g->noutputs; i++) counts[g->outputs[i].node->id]++;
    for (int i = 0; i < g->nmetrics; i++) counts[g->metrics[i].node->id]++;
    if (g->loss) counts[g->loss->id]++;
    for (int i = 0; i < g->ngrads; i++)
        if (g->grads[i]) counts[g->grads[i]->id]++;
}

Readers ir_readers(const Graph *g) {
    int nn = g->nnodes;
    Readers r;
    r.index = ARENA_NEW_N(g->arena, int, g->next_id + 1);
    for (int i = 0; i < nn; i++) r.index[g->nodes[i]->id] = i;
    /* every operand slot, keyed by the node it reads, grouped in graph
       order (so each list is sorted) */
    int slots = 0;
    for (int i = 0; i < nn; i++) slots += g->nodes[i]->nin;
    int *key = ARENA_NEW_N(g->arena, int, slots + 1), *owner = ARENA_NEW_N(g->arena, int, slots + 1);
    slots = 0;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++, slots++) {
            key[slots] = r.index[g->nodes[i]->in[k]->id];
            owner[slots] = i;
        }
    int *order = bucket_by_key(g->arena, key, slots, nn, &r.first);
    r.reader = ARENA_NEW_N(g->arena, int, slots + 1);
    for (int j = 0; j < slots; j++) r.reader[j] = owner[order[j]];
    return r;
}
