/* batch_rows.c - which values mix the samples of a batch, and the check
 * that no output of an inference graph does (called by the `shapes` pass).
 *
 * The generated programs run predict (and eval) over their inputs in
 * chunks of at most the max batch, and the embeddable code runs a large
 * batch the same way, so an output is well defined only if its row i
 * depends on sample i alone: an output that reduces over the batch axis N
 * (`mean(x, axes=[0])`), or is computed from such a value (`x -
 * mean(x, axes=[0])`), would get one value per chunk and change with the
 * chunking.  Training's loss and metrics reduce over the batch by design
 * and are not checked.  In train mode an output may mix the samples (a
 * batch statistic to monitor); the check then only records that output 0
 * does (Graph.output0_mixes_rows), and the program's predict refuses an
 * input larger than one chunk instead of splitting it.
 *
 * How: one walk in graph order with a state per node,
 *   - none:  the value depends on no batched input (params, constants,
 *            inputs without N, and what is computed from them only);
 *   - rows:  it has N first and its row i depends on sample i only;
 *   - mixed: it depends on several samples; the node where that first
 *            happens is kept for the message.
 * A node is mixed when an operand is mixed, or when it mixes rows itself:
 *   - an operand is per-row but the result has no batch axis: N can only be
 *     the first dimension and no op moves it elsewhere (the shape rules
 *     refuse a transpose moving N, a reshape merging it, a slice or concat
 *     along it), so dropping it means combining the rows: a reduction over
 *     N (sum, mean, max, with keepdims too: N becomes 1), sum_to to a
 *     shape without N, a matmul contracting over N (x^T @ y), a loss or a
 *     metric;
 *   - the result keeps N but each row reads other rows, or the batch size:
 *     softmax and log_softmax (and their gradients) along axis 0, and the
 *     gradients of the losses (they divide by the batch size).
 * Every other op keeps rows apart: elementwise ops broadcast a value
 * without N over the rows, shape ops keep N first and each sample's
 * elements together, convolutions and pools work per sample.  An op added
 * to ops.def that keeps N but combines rows must be added to mixes_rows().
 */
#include "pass.h"

typedef enum { ROWS_NONE = 0, ROWS_EACH, ROWS_MIXED } RowDep;

/* The axis attribute of a softmax-like node, normalized against rank. */
static int norm_axis_of(const Node *n, int rank)
{
    int64_t ax = node_attr_int(n, "axis");
    return (int)(ax < 0 ? ax + rank : ax);
}

/* True if n, whose operand 0 is per-row and which keeps the batch axis,
 * still combines rows (see the file comment). */
static bool mixes_rows(const Node *n)
{
    switch (n->op) {
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_SOFTMAX_GRAD:
    case OP_LOG_SOFTMAX_GRAD:
        return norm_axis_of(n, n->type.rank) == 0;
    case OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD:
    case OP_CATEGORICAL_CROSSENTROPY_GRAD:
    case OP_BINARY_CROSSENTROPY_GRAD:
    case OP_MEAN_SQUARED_ERROR_GRAD:
        return true;
    default:
        return false;
    }
}

/* What n does to the batch, in words, for the message. */
static const char *how(Graph *g, const Node *n)
{
    const char *op = op_info(n->op)->name;
    char t[TT_FMT_LEN], u[TT_FMT_LEN];
    tt_format(&n->in[0]->type, t, sizeof t);
    switch (n->op) {
    case OP_SUM:
    case OP_MEAN:
    case OP_MAX:
        return arena_printf(g->arena, "'%s' over the batch axis N of %s", op, t);
    case OP_MATMUL:
        return arena_printf(g->arena, "'matmul' contracting the batch axis N of %s and %s", t,
                            tt_format(&n->in[1]->type, u, sizeof u));
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_SOFTMAX_GRAD:
    case OP_LOG_SOFTMAX_GRAD:
        return arena_printf(g->arena, "'%s' along the batch axis N of %s", op, t);
    default:
        return arena_printf(g->arena, "'%s' of %s", op, t);
    }
}

void batch_rows_check(Graph *g)
{
    Arena *a = g->arena;
    RowDep *dep = ARENA_NEW_N(a, RowDep, g->next_id + 1);
    const Node **culprit = ARENA_NEW_N(a, const Node *, g->next_id + 1);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        bool batched = tt_has_batch(&n->type);
        if (n->op == OP_INPUT) {
            dep[n->id] = batched ? ROWS_EACH : ROWS_NONE;
            continue;
        }
        RowDep d = ROWS_NONE;
        for (int k = 0; k < n->nin; k++) {
            const Node *o = n->in[k];
            if (dep[o->id] == ROWS_MIXED && d != ROWS_MIXED) {
                d = ROWS_MIXED;
                culprit[n->id] = culprit[o->id];
            } else if (dep[o->id] == ROWS_EACH && d == ROWS_NONE) {
                d = ROWS_EACH;
            }
        }
        if (d == ROWS_EACH && (!batched || mixes_rows(n))) {
            d = ROWS_MIXED;
            culprit[n->id] = n;
        }
        dep[n->id] = d;
    }
    g->output0_mixes_rows = false;
    for (int k = 0; k < g->noutputs; k++) {
        const NamedValue *o = &g->outputs[k];
        if (dep[o->node->id] != ROWS_MIXED) continue;
        if (g->mode == MODE_TRAIN) {
            /* training may monitor a batch statistic; predict then runs
               output 0 in one chunk or refuses (dlrt_model.out_mixes_rows) */
            if (k == 0) g->output0_mixes_rows = true;
            continue;
        }
        const Node *c = culprit[o->node->id];
        dlc_error(c->loc.line ? c->loc : o->loc,
                  "output '%s' combines the samples of a batch (%s); predict runs the inputs in chunks of at "
                  "most the max batch, so its value would depend on the chunking",
                  o->name, how(g, c));
    }
}
