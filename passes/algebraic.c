/* algebraic.c - the `algebraic` pass: algebraic identities.
 *
 * Visits the nodes in graph order and rewrites each with the first rule that
 * applies, repeating on the same node until none does (a rule may expose
 * another: `add(x, neg(y))` becomes `sub(x, y)`, ...).  Operands are visited
 * before their readers, so one sweep simplifies whole chains.  A rewrite
 * either forwards the node to an existing value (its uses read that value
 * instead and the node is dropped) or builds a cheaper node in its place.
 * The result type never changes: a rule whose replacement would have
 * another type (a broadcast that the identity relied on) does not apply.
 *
 * Rules ("c" is a const leaf, x, y any values):
 *   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, pow(x, 1)      -> x
 *   0 - x, x * -1, -1 * x                                     -> neg(x)
 *   pow(x, 2)                                                 -> square(x)
 *   neg(neg(x))                                               -> x
 *   x + neg(y) -> x - y;  neg(x) + y -> y - x;  x - neg(y) -> x + y
 *   x * 0, 0 * x -> 0 (a const, or broadcast_to of one when larger than
 *                   a scalar), only when x cannot be NaN or inf (see below)
 *   reshape, flatten, broadcast_to, sum_to, slice, cast, one-operand
 *   concat, sum / mean / max whose result has the operand's type    -> x
 *   transpose with the identity permutation                  -> x
 *   transpose(transpose(x, p), q) -> x if q after p is the identity,
 *                                    else one transpose(x, q . p)
 *   reshape / flatten of a reshape / flatten of x back to x's type -> x
 *   binary(broadcast_to(s), y) -> binary(s, y) when the binary op's own
 *   broadcasting gives the same result type (the mean's gradient
 *   broadcasts 1/n before multiplying; the multiply can broadcast itself);
 *   likewise a const of a non-scalar type (what constfold makes of a
 *   broadcast const) is read as a scalar const: `mul(const 0.01 : f32[8,16],
 *   y)` -> `mul(const 0.01 : f32[], y)`, so no tensor of it is stored.
 *
 * Floating-point notes.  The rewrites are exact in IEEE arithmetic (pow(x, 2)
 * and x * x are both the correctly rounded square) except
 * x + 0 -> x for x = -0.0 (-0 + 0 is +0): the sign of a zero sum does not
 * matter to any op here but division by it, and every graph compiler we
 * know folds x + 0 the same way.  x * 0 is different: it is NaN when x is
 * NaN or infinite, and folding it to 0 would hide a diverged training run
 * (a NaN loss would give finite updates).  Keras (through XLA or Grappler
 * with aggressive settings) folds it; dlc does not, except where x is known
 * finite: an integer tensor, a dropout mask, a sign, or a finite const.
 * `x - x -> 0` is not applied for the same reason.  Constant operands are
 * folded by `constfold`, which runs first; `sum` over a broadcast const
 * with static shape is folded there too (to const * count).
 */
#include <math.h>
#include <string.h>

#include "pass.h"
#include "rewrite.h"

/* Bound on rewrites of one node (each makes the graph smaller or cheaper;
 * the bound only guards against a rule pair undoing each other). */
#define MAX_REWRITES_PER_NODE 8

/* True if x can hold neither NaN nor an infinity. */
static bool known_finite(const Node *x)
{
    if (!dtype_is_float(x->type.dtype)) return true;
    if (x->op == OP_DROPOUT_MASK || x->op == OP_SIGN) return true;
    return x->op == OP_CONST && isfinite(rw_value(x));
}

/* Replaces the node at pos by a new node op(in) (same attrs as given),
 * provided it has the same type; returns true if it did. */
static bool rebuild(Sweep *s, int pos, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs)
{
    Graph *g = s->g;
    Node *n = g->nodes[pos], *m;
    if (ir_node_try(g, op, in, nin, attrs, nattrs, n->loc, &m)) return false;
    if (!tt_equal(&m->type, &n->type)) {
        rw_drop_last(g, m);
        return false;
    }
    rw_put(s, pos, m);
    return true;
}

/* Forwards the node at pos to x when x has the node's type. */
static bool forward_if_same(Sweep *s, int pos, Node *x)
{
    Graph *g = s->g;
    if (!tt_equal(&x->type, &g->nodes[pos]->type)) return false;
    rw_forward(s, pos, x);
    return true;
}

/* The permutation of a transpose node of rank r (empty attribute: reversal). */
static void perm_of(const Node *n, int r, int64_t *p)
{
    const int64_t *perm;
    int np = node_attr_ints(n, "perm", &perm);
    for (int i = 0; i < r; i++) {
        int64_t v = np ? perm[i] : r - 1 - i;
        p[i] = v < 0 ? v + r : v;
    }
}

/* Rules for add, sub, mul, div, pow (*pos_io moves on when a rule inserts
 * a node before the one rewritten). */
static bool binary_rules(Sweep *s, int *pos_io)
{
    Graph *g = s->g;
    int pos = *pos_io;
    Node *n = g->nodes[pos], *a = n->in[0], *b = n->in[1];
    switch (n->op) {
    case OP_ADD:
        if (rw_is_const_val(b, 0) && forward_if_same(s, pos, a)) return true;
        if (rw_is_const_val(a, 0) && forward_if_same(s, pos, b)) return true;
        if (b->op == OP_NEG) {
            Node *in[2] = {a, b->in[0]};
            if (rebuild(s, pos, OP_SUB, in, 2, NULL, 0)) return true;
        }
        if (a->op == OP_NEG) {
            Node *in[2] = {b, a->in[0]};
            if (rebuild(s, pos, OP_SUB, in, 2, NULL, 0)) return true;
        }
        return false;
    case OP_SUB:
        if (rw_is_const_val(b, 0) && forward_if_same(s, pos, a)) return true;
        if (rw_is_const_val(a, 0) && rebuild(s, pos, OP_NEG, &b, 1, NULL, 0)) return true;
        if (b->op == OP_NEG) {
            Node *in[2] = {a, b->in[0]};
            if (rebuild(s, pos, OP_ADD, in, 2, NULL, 0)) return true;
        }
        return false;
    case OP_MUL:
        for (int k = 0; k < 2; k++) {
            Node *c = n->in[k], *x = n->in[1 - k];
            if (rw_is_const_val(c, 1) && forward_if_same(s, pos, x)) return true;
            if (rw_is_const_val(c, -1) && rebuild(s, pos, OP_NEG, &x, 1, NULL, 0)) return true;
            if (rw_is_const_val(c, 0) && known_finite(x)) {
                rw_put_uniform(s, pos_io, n->type, 0.0);
                return true;
            }
        }
        return false;
    case OP_DIV:
        return rw_is_const_val(b, 1) && forward_if_same(s, pos, a);
    case OP_POW:
        if (rw_is_const_val(b, 1) && forward_if_same(s, pos, a)) return true;
        return rw_is_const_val(b, 2) && rebuild(s, pos, OP_SQUARE, &a, 1, NULL, 0);
    default:
        return false;
    }
}

/* binary(broadcast_to(s), y) -> binary(s, y), and binary(c, y) with c a
 * const of a non-scalar type -> binary(c as a scalar, y), either side, when
 * the binary op's own broadcasting gives the same result type.  Returns
 * true if it rewrote; *pos follows the node when a const is inserted. */
static bool drop_broadcast(Sweep *s, int *pos)
{
    Graph *g = s->g;
    Node *n = g->nodes[*pos];
    for (int k = 0; k < 2; k++) {
        Node *in[2] = {n->in[0], n->in[1]}, *x = n->in[k];
        if (x->op == OP_BROADCAST_TO) {
            in[k] = x->in[0];
            if (rebuild(s, *pos, n->op, in, 2, n->attrs, n->nattrs)) return true;
        } else if (x->op == OP_CONST && x->type.rank > 0 && tt_equal(&in[1 - k]->type, &n->type)) {
            /* the scalar const goes just before the node; the old one is
               left to dce (it may have other readers) */
            in[k] = rw_const(g, tt_scalar(x->type.dtype), rw_value(x), x->loc);
            rw_insert_before(g, *pos, in[k]);
            (*pos)++;
            if (!rebuild(s, *pos, n->op, in, 2, n->attrs, n->nattrs))
                DLC_ICE("algebraic: %s with a scalar const changed type", op_info(n->op)->name);
            return true;
        }
    }
    return false;
}

/* Shape and reduction ops that are the identity when the result has the
 * operand's type. */
static bool noop_when_same_type(OpCode op)
{
    switch (op) {
    case OP_RESHAPE: case OP_FLATTEN: case OP_BROADCAST_TO: case OP_SUM_TO: case OP_SLICE:
    case OP_CAST: case OP_SUM: case OP_MEAN: case OP_MAX:
        return true;
    default:
        return false;
    }
}

/* transpose rules: identity permutation, transpose of a transpose. */
static bool transpose_rules(Sweep *s, int pos)
{
    Graph *g = s->g;
    Node *n = g->nodes[pos], *x = n->in[0];
    int r = n->type.rank;
    int64_t p[DLC_MAX_RANK], q[DLC_MAX_RANK], c[DLC_MAX_RANK];
    perm_of(n, r, q);
    bool ident = true;
    for (int i = 0; i < r; i++) ident &= q[i] == i;
    if (ident) return forward_if_same(s, pos, x);
    if (x->op != OP_TRANSPOSE) return false;
    /* y = transpose(x', p): y[i] = x'[p[i]]; z = transpose(y, q): z[i] =
       y[q[i]] = x'[p[q[i]]], so the composed permutation is p . q */
    perm_of(x, r, p);
    ident = true;
    for (int i = 0; i < r; i++) {
        c[i] = p[q[i]];
        ident &= c[i] == i;
    }
    if (ident) return forward_if_same(s, pos, x->in[0]);
    Attr a = attr_ints("perm", c, r);
    return rebuild(s, pos, OP_TRANSPOSE, &x->in[0], 1, &a, 1);
}

/* Applies the first rule that matches the node at *pos (which moves on
 * when a rule inserts a node before it); returns true if one did. */
static bool simplify_at(Sweep *s, int *pos_io)
{
    Graph *g = s->g;
    int pos = *pos_io;
    Node *n = g->nodes[pos];
    if (op_info(n->op)->kind == OK_BINARY) return binary_rules(s, pos_io) || drop_broadcast(s, pos_io);
    if (n->op == OP_NEG && n->in[0]->op == OP_NEG) return forward_if_same(s, pos, n->in[0]->in[0]);
    if (n->op == OP_TRANSPOSE) return transpose_rules(s, pos);
    if (n->op == OP_CONCAT && n->nin == 1) return forward_if_same(s, pos, n->in[0]);
    if (noop_when_same_type(n->op) && forward_if_same(s, pos, n->in[0])) return true;
    if ((n->op == OP_RESHAPE || n->op == OP_FLATTEN) &&
        (n->in[0]->op == OP_RESHAPE || n->in[0]->op == OP_FLATTEN))
        return forward_if_same(s, pos, n->in[0]->in[0]);
    return false;
}

void pass_algebraic(Graph *g, const PassOptions *o)
{
    if (o && o->no_simplify) return;
    Sweep s;
    sw_begin(&s, g);
    for (int i = 0; i < g->nnodes; i++) {
        sw_visit(&s, g->nodes[i]);
        for (int r = 0; r < MAX_REWRITES_PER_NODE; r++) {
            Node *n = g->nodes[i];
            if (n->dead || op_info(n->op)->kind == OK_LEAF) break;
            if (!simplify_at(&s, &i)) break;
        }
    }
    sw_finish(&s);
}
