/* rewrite.c - helpers shared by the simplification passes (see rewrite.h).
 *
 * New nodes come from the builder, which appends them and gives them the
 * next id; the helpers here only move the freshly built node into the slot
 * of the node it replaces and record the replacement in the sweep's
 * forwarding table, so ids stay unique and the graph stays in topological
 * order.  Forwardings can chain (a node replaced, its replacement forwarded
 * again); resolving follows the chain and shortens it.
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

bool rw_is_const(const Node *n)
{
    return n->op == OP_CONST;
}

double rw_value(const Node *n)
{
    DLC_ASSERT(n->op == OP_CONST);
    return node_attr_float(n, "value");
}

bool rw_is_const_val(const Node *n, double v)
{
    return n->op == OP_CONST && node_attr_float(n, "value") == v;
}

void sw_begin(Sweep *s, Graph *g)
{
    s->g = g;
    s->cap = g->next_id + 64;
    s->fwd = calloc((size_t)s->cap, sizeof *s->fwd);
    DLC_ASSERT(s->fwd);
}

/* Records that `from` is replaced by `to`. */
static void record(Sweep *s, const Node *from, Node *to)
{
    if (from->id >= s->cap) {
        int ncap = s->cap * 2 > s->g->next_id ? s->cap * 2 : s->g->next_id + 64;
        s->fwd = realloc(s->fwd, sizeof *s->fwd * (size_t)ncap);
        DLC_ASSERT(s->fwd);
        memset(s->fwd + s->cap, 0, sizeof *s->fwd * (size_t)(ncap - s->cap));
        s->cap = ncap;
    }
    s->fwd[from->id] = to;
}

/* The node that now stands for n. */
static Node *resolve(Sweep *s, Node *n)
{
    Node *r = n;
    while (r->id < s->cap && s->fwd[r->id]) r = s->fwd[r->id];
    /* shorten the chain */
    while (n != r && n->id < s->cap && s->fwd[n->id]) {
        Node *next = s->fwd[n->id];
        s->fwd[n->id] = r;
        n = next;
    }
    return r;
}

void sw_visit(Sweep *s, Node *n)
{
    for (int k = 0; k < n->nin; k++) n->in[k] = resolve(s, n->in[k]);
}

/* Redirects the outputs, metrics, loss and gradients. */
static void resolve_roots(Sweep *s)
{
    Graph *g = s->g;
    for (int i = 0; i < g->noutputs; i++) g->outputs[i].node = resolve(s, g->outputs[i].node);
    for (int i = 0; i < g->nmetrics; i++) g->metrics[i].node = resolve(s, g->metrics[i].node);
    if (g->loss) g->loss = resolve(s, g->loss);
    for (int i = 0; i < g->ngrads; i++) g->grads[i] = resolve(s, g->grads[i]);
}

void sw_flush(Sweep *s)
{
    for (int i = 0; i < s->g->nnodes; i++) sw_visit(s, s->g->nodes[i]);
    resolve_roots(s);
}

void sw_finish(Sweep *s)
{
    sw_flush(s);
    ir_compact(s->g);
    free(s->fwd);
    s->fwd = NULL;
    s->cap = 0;
}

Node *rw_const(Graph *g, TensorType t, double v, SrcLoc loc)
{
    Node *c = ir_const(g, t.dtype, v, loc);
    /* ir_const makes a scalar; a const may have any type (it is broadcast),
       which the verifier re-checks with the leaf shape rule */
    c->type = t;
    return c;
}

void rw_put(Sweep *s, int pos, Node *repl)
{
    Graph *g = s->g;
    DLC_ASSERT(pos >= 0 && pos < g->nnodes - 1);
    DLC_ASSERT(g->nodes[g->nnodes - 1] == repl);
    Node *old = g->nodes[pos];
    g->nnodes--;
    g->nodes[pos] = repl;
    if (!repl->var) repl->var = old->var;
    record(s, old, repl);
}

Node *rw_put_uniform(Sweep *s, int *pos, TensorType t, double v)
{
    Graph *g = s->g;
    Node *old = g->nodes[*pos];
    if (!tt_has_batch(&t) && tt_numel(&t, 1) == 1) {
        Node *c = rw_const(g, t, v, old->loc);
        rw_put(s, *pos, c);
        return c;
    }
    Node *c = ir_const(g, t.dtype, v, old->loc);
    rw_insert_before(g, *pos, c);
    (*pos)++;
    int64_t shape[DLC_MAX_RANK];
    for (int i = 0; i < t.rank; i++) shape[i] = t.dims[i] == DIM_N ? -1 : t.dims[i];
    Attr a = attr_ints("shape", shape, t.rank);
    Node *b = ir_node_checked(g, OP_BROADCAST_TO, &c, 1, &a, 1, old->loc);
    DLC_ASSERT(tt_equal(&b->type, &t));
    rw_put(s, *pos, b);
    return b;
}

void rw_forward(Sweep *s, int pos, Node *x)
{
    Node *old = s->g->nodes[pos];
    DLC_ASSERT(old != x && !old->dead);
    record(s, old, x);
    old->dead = true;
}

void rw_insert_before(Graph *g, int pos, Node *n)
{
    DLC_ASSERT(pos >= 0 && pos < g->nnodes && g->nodes[g->nnodes - 1] == n);
    memmove(&g->nodes[pos + 1], &g->nodes[pos], sizeof(Node *) * (size_t)(g->nnodes - 1 - pos));
    g->nodes[pos] = n;
}

void rw_drop_last(Graph *g, Node *n)
{
    DLC_ASSERT(g->nnodes > 0 && g->nodes[g->nnodes - 1] == n);
    g->nnodes--;
}
