/* autodiff.c - the `autodiff` pass: reverse-mode gradients as ordinary IR.
 *
 * How it works (the textbook reverse sweep over a topologically ordered
 * DAG, as in Griewank & Walther, ch. 3):
 *
 *  1. Forward marking: needs[v] is true for the leaves we differentiate
 *     with respect to (the params) and for every node with a differentiable
 *     operand that needs it, except results of ops whose gradient column in
 *     ops.def is Z (integer ops, masks, metrics, assign): their operands
 *     get no gradient through them.  Inputs, states, hparams and consts
 *     never need a gradient.
 *  2. The loss's adjoint is seeded with `const 1`.  Walking the nodes from
 *     the loss back to the first, each node with an adjoint that needs a
 *     gradient calls its rule grad_<op> (grad_rules.c), which builds the
 *     operand gradients (vector-Jacobian products) from the adjoint.  An
 *     operand's adjoint is the sum (add) of its contributions.
 *  3. The adjoints of the params are the gradients: g->grad_params[i],
 *     g->grads[i], in the graph order of the params, for every param with a
 *     path to the loss.
 *
 * Every gradient is checked to have exactly its operand's type (an internal
 * error naming the op otherwise).  An op whose column is `_` on a path from
 * a param to the loss is a user error at the op's position:
 * "cannot differentiate through 'OP'".
 *
 * The rule table is generated from ops.def by an X-macro: G -> grad_<name>,
 * Z and _ -> no rule (distinguished by op_info()->grad).
 *
 * A graph that already lists gradients (read back from an .ir dump made
 * after autodiff) is left unchanged.
 */
#include <string.h>

#include "autodiff.h"
#include "pass.h"

#define GRAD_FN_G(name) grad_##name
#define GRAD_FN_Z(name) NULL
#define GRAD_FN__(name) NULL

static const GradRule grad_rules[OP_COUNT] = {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) [OP_##e] = GRAD_FN_##grad(name),
#include "../ir/ops.def"
#undef OP
};

Node *autodiff_batch_count(GradCtx *c, DType dt)
{
    Node **cache = &c->batch_count[dt];
    if (*cache) return *cache;
    int64_t *nshape = ARENA_NEW_N(c->g->arena, int64_t, 1);
    nshape[0] = -1; /* [N] */
    Node *one = ir_const(c->g, dt, 1.0, c->loc);
    Attr a = attr_ints("shape", nshape, 1);
    Node *ones = ir_node_checked(c->g, OP_BROADCAST_TO, &one, 1, &a, 1, c->loc);
    *cache = ir_node_checked(c->g, OP_SUM, &ones, 1, NULL, 0, c->loc);
    return *cache;
}

void autodiff_graph(Graph *g, Node *loss, Node *const *wrt, int nwrt, Node **grads)
{
    int nids = g->next_id, nfwd = g->nnodes;
    bool *needs = ARENA_NEW_N(g->arena, bool, nids);
    Node **adj = ARENA_NEW_N(g->arena, Node *, nids);
    Node *count_cache[DT_COUNT] = {NULL};
    for (int i = 0; i < nwrt; i++) {
        grads[i] = NULL;
        DLC_ASSERT(wrt[i]->id < nids);
        needs[wrt[i]->id] = true;
    }

    /* 1. forward marking, and the loss's position */
    int loss_at = -1;
    for (int i = 0; i < nfwd; i++) {
        Node *n = g->nodes[i];
        if (n == loss) loss_at = i;
        if (n->nin == 0 || op_info(n->op)->grad == GRAD_ZERO) continue;
        for (int k = 0; k < n->nin; k++)
            if (needs[n->in[k]->id]) needs[n->id] = true;
    }
    DLC_ASSERT(loss_at >= 0);
    if (loss->type.rank != 0 || !dtype_is_float(loss->type.dtype)) {
        char buf[TT_FMT_LEN];
        dlc_error(g->loss_loc, "the loss must be a floating-point scalar, got %s", tt_format(&loss->type, buf, sizeof buf));
    }
    if (!needs[loss->id]) return;

    /* 2. the reverse sweep */
    adj[loss->id] = ir_const(g, loss->type.dtype, 1.0, g->loss_loc);
    for (int i = loss_at; i >= 0; i--) {
        Node *n = g->nodes[i];
        Node *dy = adj[n->id];
        if (!dy || !needs[n->id] || n->nin == 0) continue;
        const OpInfo *info = op_info(n->op);
        if (info->grad == GRAD_NONE) dlc_error(n->loc, "cannot differentiate through '%s'", info->name);
        DLC_ASSERT(info->grad == GRAD_RULE && grad_rules[n->op]);
        bool *want = ARENA_NEW_N(g->arena, bool, n->nin);
        Node **dx = ARENA_NEW_N(g->arena, Node *, n->nin);
        for (int k = 0; k < n->nin; k++) want[k] = needs[n->in[k]->id];
        GradCtx c = {g, n, dy, want, n->loc, count_cache};
        grad_rules[n->op](&c, dx);
        for (int k = 0; k < n->nin; k++) {
            Node *x = n->in[k];
            if (!want[k]) {
                if (dx[k]) DLC_ICE("gradient rule of '%s' built an unwanted gradient for operand %d", info->name, k);
                continue;
            }
            if (!dx[k]) DLC_ICE("gradient rule of '%s' gave no gradient for operand %d", info->name, k);
            if (!tt_equal(&dx[k]->type, &x->type)) {
                char a[TT_FMT_LEN], b[TT_FMT_LEN];
                DLC_ICE("gradient rule of '%s' gave %s for operand %d of type %s", info->name,
                        tt_format(&dx[k]->type, a, sizeof a), k, tt_format(&x->type, b, sizeof b));
            }
            adj[x->id] = adj[x->id] ? ir_binary(g, OP_ADD, adj[x->id], dx[k], n->loc) : dx[k];
        }
    }

    /* 3. the gradients */
    for (int i = 0; i < nwrt; i++) grads[i] = adj[wrt[i]->id];
}

/* The pass: gradients of g->loss with respect to every param.  A graph
 * that already has gradients (an .ir file printed after autodiff and read
 * back) is left as it is, so that the pipeline can run on it again. */
void pass_autodiff(Graph *g, const PassOptions *o)
{
    (void)o;
    if (g->ngrads > 0) return;
    if (!g->loss) /* at the train block, else where the frontend put loss_loc (.nn: the model), else the file */
        dlc_error(g->train.present ? g->train.loc : g->loss_loc.line ? g->loss_loc : (SrcLoc){g->file, 0, 0},
                  "training needs a loss, and model '%s' has none: add a 'loss = ...' line, or compile it with "
                  "--mode infer to predict only",
                  g->name);
    int np = 0;
    for (int i = 0; i < g->nnodes; i++) np += g->nodes[i]->op == OP_PARAM;
    Node **params = ARENA_NEW_N(g->arena, Node *, np ? np : 1);
    Node **grads = ARENA_NEW_N(g->arena, Node *, np ? np : 1);
    np = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_PARAM) params[np++] = g->nodes[i];
    autodiff_graph(g, g->loss, params, np, grads);
    g->grad_params = ARENA_NEW_N(g->arena, Node *, np ? np : 1);
    g->grads = ARENA_NEW_N(g->arena, Node *, np ? np : 1);
    g->ngrads = 0;
    for (int i = 0; i < np; i++) {
        if (!grads[i]) continue;
        g->grad_params[g->ngrads] = params[i];
        g->grads[g->ngrads] = grads[i];
        g->ngrads++;
    }
}
