/* rewrite.h - small helpers shared by the simplification passes
 * (constfold, algebraic, gemm_fold, cse).
 *
 * The builder appends every new node at the end of the graph.  A
 * simplification that replaces node n (at position pos) by a new node must
 * put the new node where n was, so that every later reader still comes
 * after its operand: rw_put() moves the node just built into n's slot and
 * redirects n's uses to it.  rw_forward() redirects n's uses to an existing
 * earlier node and drops n.  Both keep the graph valid for the verifier.
 */
#ifndef DLC_PASSES_REWRITE_H
#define DLC_PASSES_REWRITE_H

#include "../ir/ir.h"

/* True if n is a `const` leaf (its value: rw_value). */
bool rw_is_const(const Node *n);
/* The value of a const leaf. */
double rw_value(const Node *n);
/* True if n is a const leaf whose value equals v (== comparison). */
bool rw_is_const_val(const Node *n, double v);

/* A new const leaf with value v and type t (a scalar broadcast to t), built
 * at the end of the graph; place it with rw_put. */
Node *rw_const(Graph *g, TensorType t, double v, SrcLoc loc);

/* Replaces the node at *pos by the value v broadcast to type t: a const
 * leaf when t holds one element (no N), else broadcast_to(const v : [], t)
 * with the scalar const inserted just before (*pos moves on by one), so no
 * tensor of the value is stored.  Returns the node now at *pos. */
Node *rw_put_uniform(Graph *g, int *pos, TensorType t, double v);

/* `repl` was just built (it is the last node of the graph); it takes the
 * place of g->nodes[pos], which must come after all of repl's operands:
 * the old node leaves the graph and its uses (operands, outputs, loss,
 * metrics, gradients) now read repl.  repl inherits the old node's .nn
 * variable name when it has none. */
void rw_put(Graph *g, int pos, Node *repl);

/* Redirects every use of g->nodes[pos] to x (a node placed earlier) and
 * marks the old node dead (call ir_compact at the end of the pass). */
void rw_forward(Graph *g, int pos, Node *x);

/* Moves `n`, just built (the last node of the graph), to position pos,
 * before the node that was there (which moves one slot on); n's operands
 * must come before pos. */
void rw_insert_before(Graph *g, int pos, Node *n);

/* Drops the last node of the graph: a node a pass built and then decided
 * not to use.  Nothing may refer to it yet. */
void rw_drop_last(Graph *g, Node *n);

#endif
