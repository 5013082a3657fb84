/* pass.h - the pass manager.
 *
 * A pass is a named function that rewrites a Graph in place.  The pipeline
 * for each mode is a plain list of pass names (passes/pipeline.c); the
 * manager runs them in order, runs the verifier after each (a failure there
 * is an internal error naming the pass), and can print the graph after any
 * pass or after all of them (`dlc ir --after PASS`, `--print-after-all`).
 */
#ifndef DLC_PASSES_PASS_H
#define DLC_PASSES_PASS_H

#include <stdbool.h>
#include <stdio.h>

#include "../ir/ir.h"

/* Options every pass may read. */
typedef struct PassOptions {
    bool no_fuse;        /* skip fusion (for comparing fused/unfused builds) */
    bool no_optimizer;   /* train mode without the update rules (gradcheck) */
    int64_t max_batch;   /* batch the memory plan is made for; 0: the model's */
    bool no_simplify;    /* skip constfold, algebraic, gemm_fold and cse (for
                            comparing simplified and unsimplified graphs) */
    bool external_leaves; /* plan: inputs, params, states, hparams and consts live
                            outside the arena (embeddable inference: the
                            caller's input, const weights); they get offset -1 */
    bool fuse_regions;   /* fuse: whole regions (GEMM epilogues, loops with several
                            results or column sums, softmax+loss rows) for emitters
                            that write region kernels (the C target); else only
                            chains of single-reader elementwise ops */
    bool launch_groups;  /* launch: number the CUDA target's kernel launches per
                            entry point, merging static elementwise kernels
                            into launch groups (passes/launch.c); else a no-op */
} PassOptions;

typedef void (*PassFn)(Graph *g, const PassOptions *o);

typedef struct Pass {
    const char *name;    /* as given to --after */
    const char *help;    /* one line for `dlc ir --help` */
    PassFn run;
    bool train_only;     /* skipped in infer mode */
} Pass;

/* All passes in pipeline order; *n receives the count. */
const Pass *pass_list(int *n);
const Pass *pass_lookup(const char *name);

typedef enum { DUMP_TEXT, DUMP_DOT } DumpFormat;

/* What to print while running the pipeline. */
typedef struct DumpRequest {
    const char *after;   /* print after this pass and stop; NULL: run all */
    bool print_all;      /* print after every pass */
    DumpFormat format;
    FILE *out;           /* NULL: print nothing */
} DumpRequest;

/* Runs the pipeline for g->mode.  Returns false (after a user error message)
 * if `after` names no pass of this mode. */
bool pass_run_pipeline(Graph *g, const PassOptions *o, const DumpRequest *d);

/* Individual passes (one file each under passes/). */
void pass_shapes(Graph *g, const PassOptions *o);
void pass_autodiff(Graph *g, const PassOptions *o);
void pass_optimizer(Graph *g, const PassOptions *o);
void pass_constfold(Graph *g, const PassOptions *o);
void pass_algebraic(Graph *g, const PassOptions *o);
void pass_gemm_fold(Graph *g, const PassOptions *o);
void pass_cse(Graph *g, const PassOptions *o);
void pass_dce(Graph *g, const PassOptions *o);
void pass_plan(Graph *g, const PassOptions *o);
void pass_launch(Graph *g, const PassOptions *o);

/* Refuses (user error at the node that mixes samples) an output whose row i
 * depends on other samples than sample i (passes/batch_rows.c); the
 * `shapes` pass calls it in infer mode. */
void batch_rows_check(Graph *g);

#endif
