/* rewrite.c - helpers shared by the simplification passes (see rewrite.h).
 *
 * New nodes come from the builder, which appends them and gives them the
 * next id; the helpers here only move the freshly built node into the slot
 * of the node it replaces and redirect uses with ir_replace_uses, so ids
 * stay unique and the graph stays in topological order.
 */
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

Node *rw_const(Graph *g, TensorType t, double v, SrcLoc loc)
{
    Node *c = ir_const(g, t.dtype, v, loc);
    /* ir_const makes a scalar; a const may have any type (it is broadcast),
       which the verifier re-checks with the leaf shape rule */
    c->type = t;
    return c;
}

void rw_put(Graph *g, int pos, Node *repl)
{
    DLC_ASSERT(pos >= 0 && pos < g->nnodes - 1);
    DLC_ASSERT(g->nodes[g->nnodes - 1] == repl);
    Node *old = g->nodes[pos];
    g->nnodes--;
    g->nodes[pos] = repl;
    if (!repl->var) repl->var = old->var;
    ir_replace_uses(g, old, repl);
}

Node *rw_put_uniform(Graph *g, int *pos, TensorType t, double v)
{
    Node *old = g->nodes[*pos];
    if (!tt_has_batch(&t) && tt_numel(&t, 1) == 1) {
        Node *c = rw_const(g, t, v, old->loc);
        rw_put(g, *pos, c);
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
    rw_put(g, *pos, b);
    return b;
}

void rw_forward(Graph *g, int pos, Node *x)
{
    Node *old = g->nodes[pos];
    DLC_ASSERT(old != x && !old->dead);
    ir_replace_uses(g, old, x);
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
