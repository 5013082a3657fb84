/* cuda_emit.h - the CUDA code generator (--target cuda), and its internals.
 *
 *   emit_cuda.c     the translation unit NAME.cu and header NAME.h: the
 *                   managed arena, the tensor table, one __global__ kernel
 *                   per computing node, the host entry points that launch
 *                   them (a training step is one CUDA Graph per batch size)
 *   cuda_kernels.c  the CUDA launcher: each op's kernel description
 *                   (kernels.c) in a __global__ kernel, and how it runs
 *
 * It shares with the C generator (c_emit.h) what emit_common.c writes for
 * both (the naming of tensors, the model's shape, entry subsets, the tensor
 * macros and table, the initializers, the header's declarations), the
 * loop-nest and row geometry (c_loops.c), the C-like printer and the `ew`
 * template expander (cprint.c, here with the cdialect_cuda table), the
 * loop nests of the copying shape ops (ck_copy_nest), and, for an assign
 * that fills a tensor with a scalar (a single thread), the C kernel text
 * itself (ck_emit_node).
 */
#ifndef DLC_CODEGEN_CUDA_EMIT_H
#define DLC_CODEGEN_CUDA_EMIT_H

#include "c_emit.h"

/* Writes NAME.cu to `cu` and NAME.h to `h` for a planned graph (o->target
 * is TARGET_CUDA).  An op without a CUDA kernel is a user error naming it.
 * Returns 0. */
int cuda_codegen_emit(const Graph *g, const CodegenOptions *o, FILE *cu, FILE *h);

/* How the host runs a node's work. */
typedef enum {
    CL_NONE,   /* no code: aliases, assigns computed in place, inlined members */
    CL_GRID,   /* a kernel over `count` threads (DLRT_GRID(count) blocks) */
    CL_SINGLE, /* a kernel on one thread (the C kernel's loops, in order):
                  an assign filling a tensor with a scalar */
    CL_ROWS,   /* a kernel over `count` rows writing per-row terms to the
                  scratch slot (DLRT_SCRATCH), then one thread (kernel
                  <name>_sum) adding them up in row order */
    CL_HOST    /* host code that enqueues work: cuBLAS, copies */
} CudaLaunch;

/* Checks that node n has a CUDA kernel (else a user error at its line) and
 * says how it is launched; *count receives the thread count of CL_GRID. */
CudaLaunch cu_launch_kind(CEmit *e, const Node *n, const char **count);
/* Writes the __global__ kernel `name` of node n (CL_GRID, CL_SINGLE, and
 * for CL_ROWS also `name`_sum). */
void cu_emit_kernel(CEmit *e, const Node *n, const char *name);
/* The rows of the scratch slot (DLRT_SCRATCH: doubles, one per row of a
 * CL_ROWS kernel) that g's losses and metrics need at its max batch. */
int64_t cu_scratch_rows(const Graph *g);
/* Writes the host code of a CL_HOST node. */
void cu_emit_host(CEmit *e, const Node *n);

#endif
