/* c_emit.h - internals of the C emitter, shared by its files.
 *
 *   emit_c.c     the translation unit and header: tensors, entry points,
 *                the dlrt_model description (codegen_emit)
 *   c_kernels.c  one kernel per op, bound to the op table by an X-macro
 *   c_loops.c    extents with the run-time batch, and strided loop nests
 *                (broadcasting, reductions, transposes, copies)
 *
 * Conventions of the generated code: the batch dimension N is the run-time
 * `n` of each entry point; every tensor is referred to by the expression
 * in CEmit.refs (a macro naming its place in the arena, or an input
 * pointer); each kernel is a block that copies its tensors into restrict
 * qualified locals x0, x1, ... (operands) and y (result), which the memory
 * plan guarantees do not overlap.
 */
#ifndef DLC_CODEGEN_C_EMIT_H
#define DLC_CODEGEN_C_EMIT_H

#include "codegen.h"
#include "cprint.h"

/* Which entry point is being written (kernels differ slightly: dropout
 * draws masks only in a training step). */
typedef enum { ENTRY_TRAIN, ENTRY_EVAL, ENTRY_PREDICT } EntryKind;

typedef struct CEmit {
    const Graph *g;
    const CodegenOptions *o;
    CPrinter *p;
    Arena *a;              /* scratch strings (the graph's arena) */
    EntryKind entry;
    const char **refs;     /* by node id: C expression of the tensor's storage */
    int *num;              /* by node id: %K number as `dlc ir` prints it; -1 for named leaves */
} CEmit;

/* ---- c_loops.c ---------------------------------------------------------- */

/* An extent c * n (has_n) or c: element counts with the run-time batch. */
typedef struct Ext {
    int64_t c;
    bool has_n;
} Ext;

Ext ext_of(const TensorType *t);                 /* elements of a tensor */
Ext ext_dims(const TensorType *t, int from, int to); /* product of dims [from, to) */
/* "n * 512", "n", "512" (arena string). */
const char *ext_str(CEmit *e, Ext x);

#define LN_MAX_ARR 16

/* A loop nest over nd dimensions touching narr arrays with per-dimension
 * strides (0: broadcast / reduced) and a base offset. */
typedef struct LoopNest {
    int nd;
    Ext ext[DLC_MAX_RANK];
    int narr;
    int64_t stride[LN_MAX_ARR][DLC_MAX_RANK];
    int64_t base[LN_MAX_ARR];
} LoopNest;

/* Row-major strides of t (static: N only scales dimension 0). */
void strides_of(const TensorType *t, int64_t *s);
/* Strides of operand t broadcast (NumPy, right-aligned) to `out`. */
void strides_bcast(const TensorType *t, const TensorType *out, int64_t *s);
/* Starts a nest over the dims of `t`. */
void ln_init(LoopNest *l, const TensorType *t);
/* Drops unit dims and merges dims that are contiguous for every array. */
void ln_coalesce(LoopNest *l);
/* Writes the loops; `body` prints the innermost statements given the index
 * expression of each array. */
typedef void (*LoopBody)(CEmit *e, const char *const *idx, void *ctx);
void ln_emit(CEmit *e, LoopNest *l, LoopBody body, void *ctx);

/* ---- emit_c.c ----------------------------------------------------------- */

const char *ce_ctype(DType t);
/* The operand / result names in kernels. */
const char *ce_ref(CEmit *e, const Node *n);
/* Bytes of a tensor with N = n, as a C expression. */
const char *ce_bytes(CEmit *e, const Node *n);
/* True if the plan lets this reshape/flatten share its operand's storage. */
bool ce_is_alias(const Node *n);
/* For other emitters of whole units (emit_embed.c): fills e->num and
 * e->refs as codegen_emit names tensors; marks in need (by node id) what
 * the roots depend on; writes the kernels of the needed nodes in graph
 * order (assigns last). */
void ce_name_nodes(CEmit *e);
void ce_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need);
void ce_emit_kernels(CEmit *e, const bool *need);

/* ---- c_gemm.c ----------------------------------------------------------- */

/* Writes C = op(A) op(B) (row-major; op(A) is M x K, op(B) K x P; lda and
 * ldb are the stored row lengths; M, P, K and A, B, C are C expressions):
 * cblas_sgemm (cblas_sgemv when M is the run-time batch n and n == 1), or
 * with use_blas off portable loops that vectorize without reordering sums. */
void cg_gemm(CEmit *e, bool ta, bool tb, const char *M, const char *P, const char *K, int64_t lda, int64_t ldb,
             const char *A, const char *B, const char *C);

/* ---- c_kernels.c -------------------------------------------------------- */

/* Writes the kernel of one non-leaf node (its comment, then its block). */
void ck_emit_node(CEmit *e, const Node *n);
/* True for a node the plan inlined into its consumer's loop (no storage). */
bool ck_is_inlined(const Node *n);
/* Writes `/+ %3 = relu %2 : f32[N,512]   (model.nn:8 h) +/`. */
void ck_comment(CEmit *e, const Node *n);

/* ---- c_fused.c ---------------------------------------------------------- */

/* Writes the kernel of fused region G of fi (passes/fuse.h): the members
 * with need[id] set (all when need is NULL). */
struct FuseInfo;
void ck_emit_group(CEmit *e, const struct FuseInfo *fi, int G, const bool *need);

/* ---- c_kernels_conv.c: the convolution family ---------------------------- */

void ck_conv2d(CEmit *e, const Node *n);
void ck_max_pool2d(CEmit *e, const Node *n);
void ck_avg_pool2d(CEmit *e, const Node *n);
void ck_global_avg_pool2d(CEmit *e, const Node *n);
void ck_batch_norm(CEmit *e, const Node *n);

#endif
