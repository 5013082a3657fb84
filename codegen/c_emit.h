/* c_emit.h - internals of the C emitter, shared by its files.
 *
 *   emit_c.c     the translation unit and header: tensors, entry points,
 *                the dlrt_model description (codegen_emit)
 *   emit_common.c what the C and CUDA units share: the kernels' helpers
 *                (ce_ref, ce_ctype, ce_bytes, ce_is_alias), names, the
 *                model's shape, entry subsets, tables, header declarations
 *   kernels.c    each op's kernel described once, for C and CUDA
 *                (kernels.h: its space and body; the region and copy
 *                nest helpers declared below)
 *   c_kernels.c  the C launcher: each description in a block with loops
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
    const bool *stored_t;  /* by node id, or NULL: a [K, P] param this unit stores transposed,
                              as [P, K], for the matmuls that read it as B (cg_gemm_dims) */
    bool rt_gemm;          /* BLAS matmuls through libdlrt's dlrt_sgemm (the program unit) rather
                              than direct cblas calls (the embeddable unit, which has no runtime) */
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
/* The index expression of each array of l over the index variables var[d]
 * (as ln_emit and the CUDA kernels, which derive the variables from one
 * thread index, form them): arena strings into idx. */
void ln_indices(CEmit *e, const LoopNest *l, char var[][16], const char **idx);

/* A box [outer, size, inner] copied from one tensor to another whose
 * axis (the middle dim) has extents cx and cy, at axis offsets ox and oy:
 * array 0 the destination, array 1 the source; coalesced. */
void ln_box(LoopNest *l, Ext outer, int64_t size, int64_t inner, int64_t cy, int64_t oy, int64_t cx, int64_t ox);

/* Normalizes an axis attribute (negative: counted from the end) against a
 * rank; out of range is dlc's bug (the type checker rejects it). */
int ln_axis(const Node *n, int64_t axis, int rank);

/* outer x C x inner around an axis of a tensor (the row-wise kernels:
 * softmax, losses over a class axis). */
typedef struct Rows {
    Ext outer;
    int64_t c, inner;
} Rows;

/* The rows of t around `axis`; false (r untouched) if that axis is the
 * batch dimension, which the callers report in their own terms. */
bool rows_around(const TensorType *t, int axis, Rows *r);

/* ---- emit_c.c ----------------------------------------------------------- */

/* For other emitters of whole units (emit_embed.c): writes the kernels of
 * the needed nodes in graph order (assigns last). */
void ce_emit_kernels(CEmit *e, const bool *need);

/* ---- emit_common.c: what the C and CUDA units share ---------------------- */

/* The helpers of every kernel file (below the emitters: no kernel file
 * includes a call into emit_c.c or emit_cuda.c). */
const char *ce_ctype(DType t);
/* The operand / result names in kernels. */
const char *ce_ref(CEmit *e, const Node *n);
/* Bytes of a tensor with N = n, as a C expression. */
const char *ce_bytes(CEmit *e, const Node *n);
/* True if the plan lets this reshape/flatten share its operand's storage. */
bool ce_is_alias(const Node *n);

/* The model's shape, as the entry points and the dlrt_model see it. */
typedef struct ModelInfo {
    const Node *x, *y;        /* first and second input (or NULL) */
    const Node *out;          /* output 0 (or NULL) */
    int nparams, nstate;
    int64_t nparam_elems;
    const Node *lr;           /* hparam learning_rate, or NULL */
    bool train;               /* train_step / eval_step exist */
    /* the dlrt_model's training defaults: the train block's, else 32
       samples a batch, 1 epoch, seed 0; the learning rate of a training
       model with an lr hparam (-1 otherwise) */
    int64_t batch_size, epochs;
    uint64_t seed;
    double learning_rate;
    /* what the runtime checks the labels against (dlrt_model.label_classes,
       label_binary) and how predict prints (out_values) */
    int64_t label_classes;
    bool label_binary;
    bool out_values;
    bool out_mixes_rows; /* output 0 combines samples: predict in one chunk */
} ModelInfo;

/* A C identifier `prefix` + s (other characters become '_'). */
char *ce_sanitize(Arena *a, const char *prefix, const char *s);
/* s in upper case (the header's macro prefix). */
char *ce_upper(Arena *a, const char *s);
/* The contents of a C string literal for s. */
const char *ce_cstr(Arena *a, const char *s);
/* "DLRT_F32", ... */
const char *ce_dlrt_dtype(DType t);
/* Fills e->num and e->refs as the units name tensors; inputs are
 * input_prefix + their name ("in_" locals in C, "IN_" slots in CUDA). */
void ce_name_nodes(CEmit *e, const char *input_prefix);
/* Fills m; `target` ("C", "CUDA") names the target in user errors (at most
 * two inputs, the first f32; an output needs an input: ce_no_input_error). */
void ce_model_info(const Graph *g, ModelInfo *m, const char *target);
/* The user error for a model whose output 0 depends on no input (an
 * unused input has been dropped by then): located at the output. */
DLC_NORETURN void ce_no_input_error(const Graph *g);
/* Marks in need (by node id) what the roots depend on. */
void ce_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need);
/* The needed set of an entry: loss and metrics (and the assigns in a
 * training step), or output 0 for predict. */
bool *ce_entry_need(CEmit *e, const ModelInfo *m, EntryKind k);
/* The tensor macros, one per storage with its type and lifetime (after a
 * heading line; no blank line after). */
void ce_emit_tensor_macros(CEmit *e);
/* The persistent tensor table (params, then states) and metric names. */
void ce_emit_tensor_table(CEmit *e, const ModelInfo *m);
/* In setup: points the tensor table into the arena and writes the
 * hyperparameters and constants that have storage. */
void ce_emit_setup_values(CEmit *e);
/* In init_params: draws every parameter and resets every state (a comment
 * naming each initializer when `comments`). */
void ce_emit_param_inits(CEmit *e, bool comments);
/* The header's size macros (NAME_DEVICE_BYTES too when device_bytes >= 0)
 * and the dlrt_model declaration. */
void ce_header_sizes(CEmit *e, const ModelInfo *m, const char *pfx, FILE *h, int64_t device_bytes);
/* The header's entry-point declarations, setup and teardown documented by
 * the given comment texts. */
void ce_header_entries(CEmit *e, const ModelInfo *m, const char *pfx, FILE *h, const char *setup_doc,
                       const char *teardown_doc);

/* ---- c_gemm.c ----------------------------------------------------------- */
/* The sizes of a matmul node's product as C expressions (M x K times
 * K x P, with the transposes and stored row lengths of its operands): the
 * C kernel, a fused GEMM epilogue and the CUDA host call all read them. */
typedef struct GemmDims {
    bool ta, tb;
    int64_t lda, ldb;
    const char *M, *P, *K;
} GemmDims;
GemmDims cg_gemm_dims(CEmit *e, const Node *matmul);


/* Writes C = op(A) op(B) (row-major; op(A) is M x K, op(B) K x P; lda and
 * ldb are the stored row lengths; M, P, K and A, B, C are C expressions):
 * dlrt_sgemm (CEmit.rt_gemm), else cblas_sgemm (cblas_sgemv when M is the
 * run-time batch n and n == 1), or with use_blas off portable loops that
 * vectorize without reordering sums. */
void cg_gemm(CEmit *e, bool ta, bool tb, const char *M, const char *P, const char *K, int64_t lda, int64_t ldb,
             const char *A, const char *B, const char *C);

/* ---- c_kernels.c -------------------------------------------------------- */

/* Writes the kernel of one non-leaf node (its comment, then its block). */
void ck_emit_node(CEmit *e, const Node *n);
/* Writes `/+ %3 = relu %2 : f32[N,512]   (model.nn:8 h) +/`. */
void ck_comment(CEmit *e, const Node *n);

/* ---- kernels.c: shared by the C and CUDA launchers ---------------------- */

/* True for a node the plan inlined into its consumer's loop (no storage). */
bool ck_is_inlined(const Node *n);

/* The loop nest of a copying shape op (transpose, broadcast_to, slice)
 * over its result, in the C kernel and the CUDA one: array 0 the result
 * (row-major), array 1 the operand; coalesced. */
void ck_copy_nest(const Node *n, LoopNest *l);

/* A fused elementwise region (the kernel of its root, in C or CUDA): its
 * members in evaluation order (operands first, the root last) and the
 * arrays it reads (constants are inlined as literals). */
typedef struct EwRegion {
    const Node *mem[64];
    int nmem;
    const Node *leaf[LN_MAX_ARR];  /* arrays 1.. of the nest */
    int nleaf;
    const Node *self;              /* a leaf stored where y is (in place), or NULL */
} EwRegion;
/* The region rooted at elementwise node n, and the loop nest over n's
 * elements: array 0 is the result, arrays 1.. the leaves (broadcast).
 * When the plan computes the result in place of a leaf (an optimizer
 * update: same type, so same index), that leaf is c->self, read through
 * the result rather than as an array of its own. */
void ck_ew_region(CEmit *e, const Node *n, EwRegion *c, LoopNest *l);

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
void ck_max_pool2d_grad(CEmit *e, const Node *n);
void ck_conv2d_grad_input(CEmit *e, const Node *n);
void ck_conv2d_grad_filter(CEmit *e, const Node *n);
void ck_avg_pool2d_grad(CEmit *e, const Node *n);
void ck_batch_norm(CEmit *e, const Node *n);

#endif
