/* pipeline.c - the pass manager: the pipeline as a plain list of passes.
 *
 * The list below is the whole compiler pipeline, in order.  Each entry names
 * a pass; pass_run_pipeline() runs the passes of the graph's mode one after
 * another, runs the verifier after each one (a failure there is dlc's bug,
 * reported as an internal error naming the pass), and prints the graph after
 * the pass the user asked for (`dlc ir --after PASS`) or after every pass
 * (`--print-after-all`), as in QBE's main.c or LLVM's -print-after-all.
 */
#include <string.h>

#include "fuse.h"
#include "pass.h"

static const Pass passes[] = {
    {"shapes",    "infer and check every node's type (infer mode: no output combines samples)", pass_shapes, false},
    {"autodiff",  "append the backward graph (reverse-mode gradients)", pass_autodiff, true},
    {"optimizer", "append the optimizer's update rules as IR", pass_optimizer, true},
    {"constfold", "fold nodes whose operands are constants into uniform consts", pass_constfold, false},
    {"algebraic", "algebraic identities (x*1, x+0, neg(neg(x)), no-op reshapes, ...)", pass_algebraic, false},
    {"gemm_fold", "fold 2-D transposes into matmul trans_a / trans_b flags", pass_gemm_fold, false},
    {"cse",       "merge nodes computing the same value (common subexpressions)", pass_cse, false},
    {"dce",       "remove nodes no output, loss, metric or update needs", pass_dce, false},
    {"fuse",      "group nodes into regions, one kernel each (elementwise loops, GEMM epilogues, softmax+loss rows)", pass_fuse, false},
    {"plan",      "schedule and place every tensor in one arena", pass_plan, false},
    {"launch",    "number the CUDA target's kernel launches, static elementwise ones in groups (--target cuda)", pass_launch, false},
};

const Pass *pass_list(int *n)
{
    *n = (int)(sizeof passes / sizeof passes[0]);
    return passes;
}

const Pass *pass_lookup(const char *name)
{
    int n;
    const Pass *p = pass_list(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0) return &p[i];
    return NULL;
}

/* Prints g in the requested format, preceded by a banner when printing
 * after every pass. */
static void dump(const Graph *g, const DumpRequest *d, const char *after, bool banner)
{
    if (!d || !d->out) return;
    if (banner && d->format == DUMP_TEXT) fprintf(d->out, "# *** IR after %s ***\n", after);
    if (d->format == DUMP_DOT) ir_print_dot(d->out, g);
    else ir_print_text(d->out, g);
}

bool pass_run_pipeline(Graph *g, const PassOptions *o, const DumpRequest *d)
{
    int n;
    const Pass *p = pass_list(&n);
    const char *stop = d ? d->after : NULL;
    if (stop) {
        const Pass *q = pass_lookup(stop);
        if (!q) {
            dlc_error(SRCLOC_NONE, "unknown pass '%s' (see `dlc ir --help` for the list)", stop);
        }
        if (q->train_only && g->mode != MODE_TRAIN)
            dlc_error(SRCLOC_NONE, "pass '%s' runs only in train mode (use --mode train)", stop);
    }
    const char *err = ir_verify(g);
    if (err) DLC_ICE("the frontend produced an invalid graph: %s", err);
    for (int i = 0; i < n; i++) {
        if (p[i].train_only && g->mode != MODE_TRAIN) continue;
        p[i].run(g, o);
        err = ir_verify(g);
        if (err) DLC_ICE("verifier failed after pass '%s': %s", p[i].name, err);
        if (d && d->print_all) dump(g, d, p[i].name, true);
        if (stop && strcmp(stop, p[i].name) == 0) {
            if (!d->print_all) dump(g, d, p[i].name, false);
            return true;
        }
    }
    return true;
}
