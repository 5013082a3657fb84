/* launch.h - the `launch` pass (passes/launch.c): how the CUDA target
 * groups its kernel launches, stored on the nodes (Node.launch,
 * Node.launch_seg, per entry point) for codegen/emit_cuda.c to read. */
#ifndef DLC_PASSES_LAUNCH_H
#define DLC_PASSES_LAUNCH_H

#include "pass.h"

/* Marks in need (by node id) the roots and what they depend on. */
void entry_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need);
/* Marks in need (by node id, g->next_id entries) what entry point k
 * computes: output 0 for predict; the loss and metrics, and for a training
 * step the assigns (the updates), for the others. */
void entry_need(const Graph *g, IrEntry k, bool *need);

/* Numbers the launches of entry point k that computes the nodes with
 * need[id] set: sets launch[k] and launch_seg[k] of each (-1 on the others).
 * The pass calls it for each entry point the graph has; tests call it
 * with a hand-made need set. */
void launch_plan_entry(Graph *g, const bool *need, IrEntry k);

#endif
