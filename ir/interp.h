/* interp.h - reference interpreter for the IR, in f64.
 *
 * Evaluates a graph node by node with straightforward f64 loops, whatever
 * the graph's declared dtypes (integers are held as doubles).  It is the
 * executable specification of every op: the gradient checker, constant
 * folding and the code generators' tests compare against it.  It is not
 * fast and is never used by generated code.
 */
#ifndef DLC_IR_INTERP_H
#define DLC_IR_INTERP_H

#include <stdint.h>

#include "ir.h"

typedef struct Interp Interp;

/* Prepares to evaluate g with the batch dimension bound to n: one buffer
 * per node (numel of its type).  Leaves start zeroed, except params and
 * states, which are filled by their initializers from `seed`, hparams and
 * consts, which hold their values. */
Interp *interp_new(const Graph *g, int64_t n, uint64_t seed);
void interp_free(Interp *it);
/* The buffer of a node (tt_numel(&node->type, n) doubles). */
double *interp_buf(Interp *it, const Node *node);
int64_t interp_numel(Interp *it, const Node *node);
/* Evaluates every non-leaf node in order.  assign nodes only compute their
 * value; interp_apply_assigns copies them into their states afterwards. */
void interp_run(Interp *it);
void interp_apply_assigns(Interp *it);
/* Counter for dropout masks (like the runtime's step counter). */
void interp_set_step(Interp *it, uint64_t step);

#endif
