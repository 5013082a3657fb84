/* rewrite.h - small helpers shared by the simplification passes
 * (constfold, algebraic, gemm_fold, cse).
 *
 * Each of these passes is one sweep over the graph in order (a Sweep).  The
 * builder appends every new node at the end of the graph; a simplification
 * that replaces node n (at position pos) by a new node must put the new
 * node where n was, so that every later reader still comes after its
 * operand: rw_put() moves the node just built into n's slot.  rw_forward()
 * makes n's uses read an existing earlier node instead and drops n.
 *
 * Uses are redirected lazily, so that a pass stays linear in the graph's
 * size however many rewrites it makes: a replacement is recorded in a
 * forwarding table (old id -> new node), sw_visit() resolves a node's
 * operands through it just before the pass looks at the node (every reader
 * of a replaced node comes after it, so it is always visited later), and
 * sw_finish() resolves the outputs, loss, metrics and gradients and drops
 * the dead nodes.  sw_flush() resolves every operand at once, for a pass
 * that needs exact use counts mid-sweep.
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

/* The state of one sweep: the graph and the forwarding table. */
typedef struct Sweep {
    Graph *g;
    Node **fwd;   /* fwd[id]: the node that replaced node `id`, or NULL */
    int cap;      /* entries in fwd */
} Sweep;

void sw_begin(Sweep *s, Graph *g);
/* Redirects n's operands to their replacements (call before examining n). */
void sw_visit(Sweep *s, Node *n);
/* Redirects every operand and every root now. */
void sw_flush(Sweep *s);
/* Redirects the roots, drops the nodes marked dead, frees the table. */
void sw_finish(Sweep *s);

/* A new const leaf with value v and type t (a scalar broadcast to t), built
 * at the end of the graph; place it with rw_put. */
Node *rw_const(Graph *g, TensorType t, double v, SrcLoc loc);

/* Replaces the node at *pos by the value v broadcast to type t: a const
 * leaf when t holds one element (no N), else broadcast_to(const v : [], t)
 * with the scalar const inserted just before (*pos moves on by one), so no
 * tensor of the value is stored.  Returns the node now at *pos. */
Node *rw_put_uniform(Sweep *s, int *pos, TensorType t, double v);

/* `repl` was just built (it is the last node of the graph); it takes the
 * place of g->nodes[pos], which must come after all of repl's operands:
 * the old node leaves the graph and its uses (operands, outputs, loss,
 * metrics, gradients) will read repl.  repl inherits the old node's .nn
 * variable name when it has none. */
void rw_put(Sweep *s, int pos, Node *repl);

/* The uses of g->nodes[pos] will read x (a node placed earlier) instead;
 * the old node is marked dead (sw_finish drops it). */
void rw_forward(Sweep *s, int pos, Node *x);

/* Moves `n`, just built (the last node of the graph), to position pos,
 * before the node that was there (which moves one slot on); n's operands
 * must come before pos. */
void rw_insert_before(Graph *g, int pos, Node *n);

/* Drops the last node of the graph: a node a pass built and then decided
 * not to use.  Nothing may refer to it yet. */
void rw_drop_last(Graph *g, Node *n);

#endif
