/* constfold.c - the `constfold` pass: constant folding.
 *
 * A node whose operands are all uniform constants - `const` leaves, or
 * broadcast_to of a const - is computed at compile time and replaced by
 * its value, provided that value is uniform (every element equal).  The
 * IR's const is one scalar broadcast to its type, so folding never
 * materialises a tensor: a result holding one element becomes a `const` of
 * its type, a larger one `broadcast_to(const v : [], its shape)` (the form
 * the frontend and autodiff write; a binary op reading it drops the
 * broadcast in `algebraic`, and the scalar is then inlined as a literal).
 * Nodes are visited in graph order and a folded node is replaced at once,
 * so chains fold in one sweep (`div(const 1, const 3)` -> `const
 * 0.333..`, then `neg` of it, ...).
 *
 * The value comes from the reference interpreter (ir/interp.h), so the
 * semantics of every op stay in one place: the node is rebuilt in a
 * scratch graph over const leaves of its operands' values and evaluated in
 * f64.  Elementwise ops (op_is_elementwise) are evaluated on scalars,
 * which gives the same value as on the full shape for uniform operands;
 * other ops are evaluated at their real shape (skipped above FOLD_MAX_ELEMS
 * elements).  When a type has the batch dimension N, the node is evaluated
 * with N bound to two different sizes and folded only if both give the same
 * uniform value: `sum(broadcast_to(const 1, [N]))` is the run-time batch
 * size and stays, `mean` of the same folds to 1.
 *
 * What is never folded (the flags column of ops.def): ops that are not
 * pure - extern leaves (inputs, params, states, and hparams, which the
 * runtime may change, e.g. the learning rate, so nothing computed from
 * them is constant), dropout masks (random) and assigns (an effect); ops
 * reading class labels (OPF_LABELS: sparse cross-entropy, accuracy),
 * whose label checks belong to run time; results that are not uniform
 * (`concat` of two different consts) or not finite (`div(1, 0)`, which is
 * left for run time rather than baked into a literal); and a broadcast_to
 * of a const, which is already in folded form.
 *
 * The folded value is the f64 result; code generators round it to the
 * node's dtype when they print the literal.
 */
#include <math.h>

#include "../ir/interp.h"
#include "pass.h"
#include "rewrite.h"

/* Largest element count evaluated for a non-elementwise node. */
#define FOLD_MAX_ELEMS ((int64_t)1 << 20)
/* Most operands of a folded node (concat is variadic). */
#define FOLD_MAX_IN 16

/* Two batch sizes the node is evaluated at when a type has N. */
static const int64_t fold_batches[2] = {1, 3};

/* True for ops that may be folded when their operands are constant: pure
 * ones with operands, except those whose label checks belong to run time. */
static bool foldable_op(OpCode op)
{
    const OpInfo *info = op_info(op);
    return info->kind != OK_LEAF && (info->flags & OPF_PURE) && !(info->flags & OPF_LABELS);
}

/* If x is a uniform constant (a const leaf, or broadcast_to of one), stores
 * its value in *v and returns true. */
static bool uniform_value(const Node *x, double *v)
{
    if (x->op == OP_BROADCAST_TO) x = x->in[0];
    if (x->op != OP_CONST) return false;
    *v = rw_value(x);
    return true;
}

/* Evaluates n (whose operands are all consts) in a scratch graph with N
 * bound to `batch`.  On success stores the uniform value in *v and returns
 * true; returns false if the result is not uniform or not finite, or the
 * node is too large to evaluate. */
static bool eval_at(const Node *n, bool scalar, int64_t batch, double *v)
{
    Arena a;
    arena_init(&a);
    Graph *t = ir_graph_new(&a, "constfold", MODE_INFER);
    Node *in[FOLD_MAX_IN];
    bool ok = true;
    for (int k = 0; k < n->nin && ok; k++) {
        const Node *c = n->in[k];
        double cv = 0;
        if (!uniform_value(c, &cv)) DLC_ICE("constfold: operand %d of node #%d is not constant", k, n->id);
        in[k] = ir_const(t, c->type.dtype, cv, c->loc);
        if (!scalar) {
            in[k]->type = c->type;
            ok = tt_numel(&c->type, batch) <= FOLD_MAX_ELEMS;
        }
    }
    Node *m = NULL;
    if (ok) {
        const char *err = ir_node_try(t, n->op, in, n->nin, n->attrs, n->nattrs, n->loc, &m);
        if (err) DLC_ICE("constfold: %s node #%d no longer type-checks: %s", op_info(n->op)->name, n->id, err);
        ok = tt_numel(&m->type, batch) <= FOLD_MAX_ELEMS;
    }
    if (ok) {
        Interp *it = interp_new(t, batch, 0);
        interp_run(it);
        const double *y = interp_buf(it, m);
        int64_t cnt = interp_numel(it, m);
        ok = cnt >= 1 && isfinite(y[0]);
        for (int64_t j = 1; j < cnt && ok; j++) ok = y[j] == y[0];
        if (ok) *v = y[0];
        interp_free(it);
    }
    arena_free(&a);
    return ok;
}

/* Computes the folded value of n; false if n must stay. */
static bool fold_value(const Node *n, double *v)
{
    bool scalar = op_is_elementwise(n->op);
    bool batched = tt_has_batch(&n->type);
    for (int k = 0; k < n->nin; k++) batched |= tt_has_batch(&n->in[k]->type);
    if (!eval_at(n, scalar, fold_batches[0], v)) return false;
    if (!batched || scalar) return true;
    double w;
    return eval_at(n, scalar, fold_batches[1], &w) && w == *v;
}

void pass_constfold(Graph *g, const PassOptions *o)
{
    if (o && o->no_simplify) return;
    Sweep s;
    sw_begin(&s, g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        sw_visit(&s, n);
        if (n->dead || !foldable_op(n->op) || n->nin > FOLD_MAX_IN) continue;
        if (n->op == OP_BROADCAST_TO && n->in[0]->op == OP_CONST) continue; /* folded form already */
        bool all_const = true;
        double v;
        for (int k = 0; k < n->nin; k++) all_const &= uniform_value(n->in[k], &v);
        if (!all_const || !fold_value(n, &v)) continue;
        rw_put_uniform(&s, &i, n->type, v);
    }
    sw_finish(&s);
}
