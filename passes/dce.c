/* dce.c - dead-code elimination.
 *
 * A node is live if a root needs it: the outputs, the loss, the metrics,
 * the gradients recorded by autodiff and every op with an effect
 * (OPF_EFFECT in ops.def: assign, a state update).  The pass marks live
 * nodes by walking operands backwards from the roots (one reverse sweep
 * suffices because the graph is in topological order), then drops the
 * others.  Extern leaves (OPF_EXTERN: inputs, params, states, hparams) are
 * kept even when unused: they are the model's interface and the contents
 * of its checkpoints.
 */
#include <stdlib.h>

#include "pass.h"

void pass_dce(Graph *g, const PassOptions *o)
{
    (void)o;
    bool *live = calloc((size_t)g->next_id + 1, sizeof *live);
    DLC_ASSERT(live);
    for (int i = 0; i < g->noutputs; i++) live[g->outputs[i].node->id] = true;
    for (int i = 0; i < g->nmetrics; i++) live[g->metrics[i].node->id] = true;
    if (g->loss) live[g->loss->id] = true;
    for (int i = 0; i < g->ngrads; i++) live[g->grads[i]->id] = true;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        if (op_info(n->op)->flags & (OPF_EFFECT | OPF_EXTERN)) live[n->id] = true;
        if (!live[n->id]) continue;
        for (int k = 0; k < n->nin; k++) live[n->in[k]->id] = true;
    }
    for (int i = 0; i < g->nnodes; i++)
        if (!live[g->nodes[i]->id]) g->nodes[i]->dead = true;
    free(live);
    ir_compact(g);
}
