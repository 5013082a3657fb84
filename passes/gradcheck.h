/* gradcheck.h - finite-difference checks of the gradients autodiff builds.
 *
 * Everything runs on the reference interpreter (ir/interp.h) in f64: the
 * checker rebuilds the graph with every f32 tensor made f64, binds random
 * inputs (labels are valid class indices) and parameters, differentiates
 * with autodiff_graph() and compares each analytic gradient element with
 * the central difference (L(p + eps) - L(p - eps)) / (2 eps), passing when
 * |analytic - numeric| <= atol + rtol * |numeric| (PyTorch gradcheck's
 * rule and defaults: eps 1e-6, atol 1e-5, rtol 1e-3).
 *
 * `dlc gradcheck MODEL` calls gradcheck_graph(); the unit tests also call
 * gradcheck_op() for every differentiable op.
 */
#ifndef DLC_PASSES_GRADCHECK_H
#define DLC_PASSES_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../ir/ir.h"

typedef struct GradcheckOptions {
    uint64_t seed;      /* random inputs, parameters, sampled elements */
    int64_t batch;      /* the n the batch dimension N is bound to */
    double eps;         /* finite-difference step */
    double atol, rtol;  /* pass when |a - n| <= atol + rtol * |n| */
    int64_t max_elems;  /* elements checked per tensor (sampled when more); <= 0: all */
    bool attribute;     /* on a failure, check each op locally and name the worst */
} GradcheckOptions;

/* The outcome of checking one tensor's gradient. */
typedef struct GradcheckStat {
    int64_t checked;    /* elements compared */
    int64_t failed;     /* elements outside the tolerance */
    double max_abs_err; /* max |analytic - numeric| */
    double max_ratio;   /* max |a - n| / (atol + rtol |n|); > 1 fails */
    int64_t worst;      /* element index of max_ratio */
    double worst_analytic, worst_numeric;
    const char *error;  /* set (and nothing checked) when the check could not run */
} GradcheckStat;

/* seed 1, batch 3, eps 1e-6, atol 1e-5, rtol 1e-3, max_elems 64, attribute on. */
void gradcheck_default_options(GradcheckOptions *o);

/* Checks d loss / d p for every parameter p of g (which must have a loss;
 * nodes that do not feed the loss are ignored, so a graph after autodiff
 * or optimizer works too).  Writes one line per parameter and a summary to
 * `report` (may be NULL).  Returns the number of parameters that fail. */
int gradcheck_graph(const Graph *g, const GradcheckOptions *o, FILE *report);

/* Checks the gradient rule of one op: builds y = op(x0, x1, ...) over
 * inputs of the given types (f64 for floats; N bound to o->batch) with the
 * given attributes, and compares d sum(y * w) / d x_i (w random) for every
 * floating-point operand the op differentiates (not the targets of the
 * cross-entropies).  Operands take random values in the op's domain (log's
 * positive, probabilities in (0, 1), labels in [0, C), values away from
 * kinks).  The returned stat merges all operands; `report` gets a line per
 * operand. */
GradcheckStat gradcheck_op(OpCode op, const TensorType *in, int nin, const Attr *attrs, int nattrs,
                           const GradcheckOptions *o, FILE *report);

#endif
