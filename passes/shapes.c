/* shapes.c - the `shapes` pass: shape inference over the whole graph.
 *
 * The builder already types every node as it is created, so on a freshly
 * built graph this pass changes nothing; it exists to re-derive types after
 * something upstream changed (a leaf's type was refined, a pass rewired
 * operands) and as a checkpoint in `--print-after-all` dumps.  It walks the
 * nodes in order and re-runs each op's shape rule.  A node may get more
 * precise dims this way, but a rule failing, or a result whose dtype or rank
 * differs from the recorded type, means a pass built a broken graph: an
 * internal error.
 *
 * It also settles how many samples one call of the generated code takes:
 * a graph none of whose inputs has the batch dimension N computes exactly
 * one sample, so its max_batch is 1 whatever the train block says (else
 * the runtime would hand it several samples at once).
 *
 * In infer mode it also checks that each output's row i depends on sample
 * i alone (batch_rows.c): predict runs its inputs in chunks, so an output
 * that combines samples (a mean over N) is refused, a user error.
 */
#include "pass.h"

void pass_shapes(Graph *g, const PassOptions *o) {
    (void)o;
    bool batched = false, any_input = false;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        const OpInfo *info = op_info(n->op);
        Node copy = *n;
        const char *err = info->shape(g, &copy);
        if (err) DLC_ICE("shapes: %s node #%d no longer type-checks: %s", info->name, n->id, err);
        if (copy.type.dtype != n->type.dtype || copy.type.rank != n->type.rank) {
            char a[TT_FMT_LEN], b[TT_FMT_LEN];
            DLC_ICE("shapes: the type of %s node #%d changed from %s to %s", info->name, n->id,
                    tt_format(&n->type, a, sizeof a), tt_format(&copy.type, b, sizeof b));
        }
        n->type = copy.type;
        if (n->op == OP_INPUT) {
            any_input = true;
            batched |= tt_has_batch(&n->type);
        }
    }
    if (any_input && !batched) g->max_batch = 1;
    batch_rows_check(g);
}
