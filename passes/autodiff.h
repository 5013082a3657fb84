/* autodiff.h - reverse-mode differentiation, shared by the autodiff pass,
 * its gradient rules (grad_rules.c) and the gradient checker.
 *
 * A gradient rule grad_<name> exists for every op marked G in ops.def; the
 * declarations below are generated from the table, so a G op without a
 * rule fails to link.  A rule receives the forward node, the adjoint dy of
 * its result and, per operand, whether that operand needs a gradient; it
 * builds ordinary IR (ir_node_checked) for each wanted operand gradient,
 * which must have exactly the operand's type.
 */
#ifndef DLC_PASSES_AUTODIFF_H
#define DLC_PASSES_AUTODIFF_H

#include <stdbool.h>

#include "../ir/ir.h"

/* What a gradient rule sees. */
typedef struct GradCtx {
    Graph *g;
    Node *n;            /* the forward node */
    Node *dy;           /* d loss / d n, typed like n */
    const bool *want;   /* want[i]: operand i needs a gradient */
    SrcLoc loc;         /* where the gradient nodes come from: n->loc */
    Node **batch_count; /* cache for autodiff_batch_count (per pass run) */
} GradCtx;

/* A rule sets dx[i] for each wanted operand i (dx[] starts all NULL). */
typedef void (*GradRule)(GradCtx *c, Node **dx);

#define GRAD_DECL_G(name) void grad_##name(GradCtx *c, Node **dx);
#define GRAD_DECL_Z(name)
#define GRAD_DECL__(name)
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) GRAD_DECL_##grad(name)
#include "../ir/ops.def"
#undef OP

/* Differentiates `loss` (a scalar node of g) with respect to each of
 * wrt[0..nwrt) (leaves of g), appending the backward graph to g.
 * grads[i] receives d loss / d wrt[i], or NULL when wrt[i] does not reach
 * the loss.  Reports a user error at the op's source position when the
 * path goes through an op without a gradient rule. */
void autodiff_graph(Graph *g, Node *loss, Node *const *wrt, int nwrt, Node **grads);

/* The run-time batch size n as a scalar node of dtype dt:
 * sum(broadcast_to(const 1, [N])), built once per autodiff run. */
Node *autodiff_batch_count(GradCtx *c, DType dt);

#endif
