/* cse.c - the `cse` pass: common-subexpression elimination.
 *
 * Two nodes with the same op, the same operands, the same attributes and
 * the same type compute the same value; the later one is redundant.  The
 * pass walks the graph in order with a hash table of the nodes kept so far:
 * a node equal to one in the table has its uses redirected there (and is
 * dropped), otherwise it enters the table.  Because operands come first,
 * each node's operands are already the canonical representatives, so one
 * walk merges whole duplicated chains (`mul(%13, %3)` computed twice by
 * the two contributions of `d * d` to d's adjoint).
 *
 * Equality: op, operand count, operands (pointers; for the ops flagged
 * OPF_COMMUTATIVE in ops.def - add, mul and maximum, commutative in IEEE
 * arithmetic too - the operand pair in either order), the result type,
 * and every attribute of the op's schema compared by value with defaults
 * filled in ({trans_a=false} equals no attribute).  Floats compare
 * bitwise, so -0 and 0 stay apart.
 *
 * Merged: only pure ops (OPF_PURE in ops.def).  So never dropout masks
 * (random: each draws its own numbers, keyed by the node id), assigns (an
 * effect: each is a separate state update), and leaves other than consts
 * (extern: every input, param, state and hparam is its own tensor); consts
 * with the same dtype, value and type do merge, which removes the many
 * `const 1` nodes autodiff and the optimizer lowering create.
 */
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "rewrite.h"

static bool commutative(OpCode op)
{
    return (op_info(op)->flags & OPF_COMMUTATIVE) != 0;
}

/* True if n may be merged with an equal node: its op is pure. */
static bool mergeable(const Node *n)
{
    return (op_info(n->op)->flags & OPF_PURE) != 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Hash of an attribute value of n (schema attribute s, default filled in). */
static uint64_t hash_attr(const Node *n, const AttrSpec *s)
{
    switch (s->kind) {
    case AK_INT: case AK_BOOL: case AK_DTYPE:
        return (uint64_t)node_attr_int(n, s->name);
    case AK_FLOAT:
        return bits_of(node_attr_float(n, s->name));
    case AK_INTS: {
        const int64_t *v;
        int k = node_attr_ints(n, s->name, &v);
        uint64_t h = (uint64_t)k;
        for (int i = 0; i < k; i++) h = mix(h, (uint64_t)v[i]);
        return h;
    }
    case AK_STR: {
        uint64_t h = 0xcbf29ce484222325ull;
        for (const char *c = node_attr_str(n, s->name); *c; c++) h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
        return h;
    }
    }
    return 0;
}

static uint64_t hash_node(const Node *n)
{
    const OpInfo *info = op_info(n->op);
    uint64_t h = mix(0, (uint64_t)n->op);
    h = mix(h, (uint64_t)n->nin);
    if (commutative(n->op) && n->nin == 2) {
        /* order-independent: combine the two ids symmetrically */
        uint64_t a = (uint64_t)n->in[0]->id, b = (uint64_t)n->in[1]->id;
        h = mix(h, a < b ? a : b);
        h = mix(h, a < b ? b : a);
    } else {
        for (int k = 0; k < n->nin; k++) h = mix(h, (uint64_t)n->in[k]->id);
    }
    h = mix(h, (uint64_t)n->type.dtype);
    h = mix(h, (uint64_t)n->type.rank);
    for (int i = 0; i < n->type.rank; i++) h = mix(h, (uint64_t)n->type.dims[i]);
    for (int s = 0; s < info->nspecs; s++) h = mix(h, hash_attr(n, &info->specs[s]));
    return h;
}

/* Equal attribute values (schema attribute s, defaults filled in). */
static bool same_attr(const Node *a, const Node *b, const AttrSpec *s)
{
    switch (s->kind) {
    case AK_INT: case AK_BOOL: case AK_DTYPE:
        return node_attr_int(a, s->name) == node_attr_int(b, s->name);
    case AK_FLOAT:
        return bits_of(node_attr_float(a, s->name)) == bits_of(node_attr_float(b, s->name));
    case AK_INTS: {
        const int64_t *va, *vb;
        int ka = node_attr_ints(a, s->name, &va), kb = node_attr_ints(b, s->name, &vb);
        return ka == kb && (ka == 0 || memcmp(va, vb, sizeof(int64_t) * (size_t)ka) == 0);
    }
    case AK_STR:
        return strcmp(node_attr_str(a, s->name), node_attr_str(b, s->name)) == 0;
    }
    return false;
}

static bool same_node(const Node *a, const Node *b)
{
    if (a->op != b->op || a->nin != b->nin || !tt_equal(&a->type, &b->type)) return false;
    bool same_in = true;
    for (int k = 0; k < a->nin; k++) same_in &= a->in[k] == b->in[k];
    if (!same_in && commutative(a->op) && a->nin == 2)
        same_in = a->in[0] == b->in[1] && a->in[1] == b->in[0];
    if (!same_in) return false;
    const OpInfo *info = op_info(a->op);
    for (int s = 0; s < info->nspecs; s++)
        if (!same_attr(a, b, &info->specs[s])) return false;
    return true;
}

void pass_cse(Graph *g, const PassOptions *o)
{
    if (o && o->no_simplify) return;
    /* open addressing, at most half full */
    size_t cap = 16;
    while (cap < 2 * (size_t)g->nnodes) cap *= 2;
    Node **table = calloc(cap, sizeof *table);
    DLC_ASSERT(table);
    Sweep s;
    sw_begin(&s, g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        sw_visit(&s, n); /* operands are their representatives from here on */
        if (n->dead || !mergeable(n)) continue;
        size_t slot = (size_t)hash_node(n) & (cap - 1);
        while (table[slot] && !same_node(table[slot], n)) slot = (slot + 1) & (cap - 1);
        if (table[slot]) rw_forward(&s, i, table[slot]);
        else table[slot] = n;
    }
    free(table);
    sw_finish(&s);
}
