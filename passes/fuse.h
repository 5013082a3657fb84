/* fuse.h - the fusion pass (`fuse`) and what later stages read of its result.
 *
 * The pass (passes/fuse.c) sets Node.fuse_group: the nodes of one group
 * (a "region") are computed by one kernel, at the schedule position of the
 * group's root - its last member in graph order.  fuse_info() recomputes,
 * from the groups alone, the facts the planner and the code generators
 * need, so the IR stays the single source of truth.
 */
#ifndef DLC_PASSES_FUSE_H
#define DLC_PASSES_FUSE_H

#include "pass.h"

/* The most members of one region, and the most arrays (operands read,
 * results written) one loop region may touch. */
#define FUSE_MAX_MEMBERS 24
#define FUSE_MAX_ARRAYS 12

/* What a region is, for the planner and the code generators. */
typedef enum {
    FUSE_NONE = 0,
    FUSE_LOOP,   /* elementwise members of one type T in one loop, with at
                    most one matmul (the GEMM writes the primary output, the
                    loop then applies the epilogue in place) and sum_to
                    reductions of members over the leading axis */
    FUSE_ROWS    /* softmax, sparse crossentropy from logits, its gradient,
                    accuracy of the softmax and the bias gradient (sum_to)
                    of the crossentropy gradient, one pass over the rows of
                    the logits */
} FuseKind;

/* Per-graph facts derived from fuse_group; arrays are indexed by node id. */
typedef struct FuseInfo {
    int ngroups;
    FuseKind *kind;        /* by group (1..ngroups) */
    const Node **root;     /* by group: the last member in graph order */
    const Node **gemm;     /* by group: the matmul member, or NULL */
    const Node **target;   /* by group: the stored member the GEMM writes, or NULL;
                              every subset of the region that holds the
                              matmul holds it (fuse.c) */
    bool *simple;          /* by group: a loop whose only stored member is its root
                              (a tree of inlined elementwise values) */
    bool *inlined;         /* by node id: a loop-local value, no storage */
    const Node **members;  /* every node in a group, by group, then in graph order */
    int *mfirst;           /* by group (1..ngroups+1): group G's members are
                              members[mfirst[G]] .. members[mfirst[G+1]-1] */
} FuseInfo;

/* The pass: decides the regions (see fuse.c). */
void pass_fuse(Graph *g, const PassOptions *o);

/* Derives the FuseInfo of a graph whose fuse_group fields are set (all 0
 * when fusion was skipped).  Allocated in the graph's arena. */
FuseInfo *fuse_info(const Graph *g);

#endif
