/* kernels.h - one kernel description per op, for the C and CUDA targets.
 *
 * codegen/kernels.c describes the kernel of every op once: its iteration
 * space (KSpace: elementwise over a shape, rows around an axis, elements
 * of an operand, the terms of a loss, a reduction, a copy nest, a GEMM
 * call, ...) and, where the space has one, the body written through the
 * shared printer (cprint.h) in the target's dialect.  Each target wraps a
 * description in its own launcher:
 *
 *   c_kernels.c     C: a block with restrict locals and loops around the
 *                   body (the rows, the elements), the accumulation of a
 *                   loss in one double;
 *   cuda_kernels.c  CUDA: a __global__ kernel with one thread per row or
 *                   per element around the same body, a loss's terms in
 *                   the scratch slot summed by one thread.
 *
 * The body sees where it is through KCtx: the launcher says how a row or
 * element is named and how a row's work ends early.  kd_cuda_ok() says
 * which spaces have a CUDA launcher; tests/unit/test_kernels.c checks the
 * table is complete (every op that is not a leaf has a description) and
 * that the ops without a CUDA kernel are exactly the listed ones.
 */
#ifndef DLC_CODEGEN_KERNELS_H
#define DLC_CODEGEN_KERNELS_H

#include "c_emit.h"

typedef enum KSpace {
    KS_NONE,     /* no description: a table bug (the consistency test) */
    KS_LEAF,     /* no kernel: inputs, params, states, hparams, consts */
    KS_EW,       /* elementwise over the result, with its fused region
                    (ck_ew_region; body kd_ew_body) */
    KS_ROWS,     /* per row (kd_rows): body with b, the row's first element,
                    and KCtx.at its j-th; setup once before all rows */
    KS_ELEMS,    /* per element of operand 0 (KCtx.idx); setup once */
    KS_TERMS,    /* a loss or metric: the mean of terms added into KCtx.acc,
                    per row (class rows) or per element (KF_PER_ELEMENT) */
    KS_REDUCE,   /* sum / mean / max / sum_to over kd_reduced_dims */
    KS_MAX_GRAD, /* dy to the first maximum of each group of kd_reduced_dims */
    KS_COPY,     /* y[idx0] = x0[idx1] over ck_copy_nest (kd_copy_body) */
    KS_CONCAT,   /* operands side by side along an axis */
    KS_GEMM,     /* matmul: a GEMM call (cg_gemm, cuBLAS) */
    KS_VIEW,     /* reshape / flatten: the operand's storage, or a copy */
    KS_ASSIGN,   /* state <- value at the end of a step */
    KS_RANDOM,   /* dropout mask: each target's counter-based RNG */
    KS_C_ONLY,   /* the convolution family (c_kernels_conv.c): no CUDA kernel yet */
} KSpace;

/* Flags of a description. */
enum {
    KF_PER_ELEMENT = 1, /* KS_TERMS: one term per element (mean over elements) */
    KF_COUNT = 2,       /* KS_TERMS: terms are 0/1 counts (accuracy), summed as integers in C */
};

/* Where a body is: filled by the launcher. */
typedef struct KCtx {
    CEmit *e;
    const Node *n;
    Rows r;           /* KS_ROWS, per-row KS_TERMS: the rows */
    const char *row;  /* the row's index: "r" (C loop) or "i" (CUDA thread) */
    const char *at;   /* element j of the row: "b + j" or "b + j * inner" */
    const char *idx;  /* KS_ELEMS, per-element terms: the element's index */
    const char *acc;  /* KS_TERMS: the accumulator ("total", "term") */
    const char *skip; /* statement ending this row's work ("continue;", "return;") */
    bool has_b;       /* b is declared already (CUDA terms) */
} KCtx;

typedef struct KernelDesc {
    KSpace space;
    void (*setup)(KCtx *k); /* optional: lines before the iteration */
    void (*body)(KCtx *k);  /* the per-row / per-element statements */
    int flags;
} KernelDesc;

/* The description of op (never NULL). */
const KernelDesc *kd_of(OpCode op);
/* True if the CUDA launcher wraps this space (all but KS_C_ONLY, KS_NONE). */
bool kd_cuda_ok(KSpace s);

/* The rows a KS_ROWS or per-row KS_TERMS kernel runs over: around the
 * axis attribute (softmax family) or the class axis, the last, of operand
 * 0 (the crossentropies and their gradients).  False if that axis is the
 * batch axis (each launcher reports it in its own terms). */
bool kd_rows(const Node *n, Rows *r);
/* The input dims a reduction reduces (of max_grad: the dims of x its max
 * reduced; of sum_to: those absent from, or 1 in, the result). */
void kd_reduced_dims(const Node *n, bool *red);
/* KS_REDUCE's step: folds the operand element x into the accumulator acc
 * (max: the larger, first one kept on ties; sum, mean, sum_to: added). */
void kd_reduce_step(CEmit *e, const Node *n, const char *acc, const char *x);
/* KS_COPY's body: y[idx[0]] = src[idx[1]] (src: "x0" when NULL). */
void kd_copy_body(CEmit *e, const char *const *idx, void *src);
/* KS_EW's body over a region (ck_ew_region) at the nest indices idx:
 * the members as locals, the root into y[idx[0]].  Operands are read as
 * a<j> locals (loaded first) when hoist is set, else in place; the leaf
 * computed in place of y is read as y[idx[0]], or, with self_local, as
 * a local `self` loaded after the operands. */
void kd_ew_body(CEmit *e, const EwRegion *c, const char *const *idx, bool hoist, bool self_local);
/* True if a member of the region has a conditional template (`?`): the C
 * launcher loads its operands first so the loop vectorizes. */
bool kd_ew_conditional(const EwRegion *c);

#endif
