/* emit_c.c - the C code generator: a planned graph in, one C99 translation
 * unit and its header out (codegen_emit, codegen/codegen.h).
 *
 * Layout of the generated unit (docs/codegen.md shows an example):
 *
 *   1. includes; `static unsigned char *arena;` - the one buffer, allocated
 *      by setup() with the size the plan computed;
 *   2. one macro per tensor with storage, naming its planned place:
 *        #define T3 ((float *)(arena + 401600))   f32[N,512]
 *      parameters, states and hyperparameters are named after the leaf
 *      (P_dense_1_kernel, S_..., H_learning_rate); inputs have no macro:
 *      they are the caller's arrays (locals in_<name> of each entry point);
 *      a reshape/flatten the plan lets share its operand's storage, and an
 *      assign, are referred to by their operand's name;
 *   3. the persistent tensor table (params, then states) and metric names;
 *   4. the entry points of a dlrt_model: setup, teardown, init_params,
 *      train_step, eval_step, predict, set_learning_rate.  Each computation
 *      entry runs the subset of the graph its results need (found by
 *      walking operands back from its roots: loss and metrics, plus the
 *      assigns in a training step; output 0 for predict), in graph order,
 *      as straight-line kernels (c_kernels.c).  Assigns run at the end of
 *      the step, as the planner scheduled them.  All entries share the one
 *      memory plan, which is safe because a subset only reads what it wrote;
 *   5. the dlrt_model description and, for executables, main().
 *
 * The header has an include guard, the sizes as macros and the documented
 * entry points.
 */
#include <stdlib.h>
#include <string.h>

#include "../passes/fuse.h"
#include "c_emit.h"
#include "targets.h"

/* ---- the translation unit ----------------------------------------------- */

/* Writes the body of an entry point: the kernels of the needed nodes, in
 * graph order, assigns last. */
static void emit_kernels(CEmit *e, const bool *need)
{
    const Graph *g = e->g;
    const FuseInfo *fi = fuse_info(g);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        /* a region is one kernel, where its root stands (passes/fuse.c) */
        if (n->fuse_group) {
            int G = n->fuse_group;
            if (fi->root[G] != n) continue;
            /* a chain of inlined values under its root: the root's kernel */
            if (fi->simple[G]) {
                if (need[n->id]) ck_emit_node(e, n);
            } else {
                ck_emit_group(e, fi, G, need);
            }
            continue;
        }
        if (!need[n->id] || op_info(n->op)->kind == OK_LEAF || n->op == OP_ASSIGN || ck_is_inlined(n)) continue;
        ck_emit_node(e, n);
    }
    bool first = true;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!need[n->id] || n->op != OP_ASSIGN) continue;
        if (first) cp_line(e->p, "/* ---- updates: state <- value, at the end of the step ---- */");
        first = false;
        ck_emit_node(e, n);
    }
}

/* Declares the input locals an entry needs and silences unused parameters. */
static void bind_inputs(CEmit *e, const ModelInfo *m, const bool *need, bool has_y)
{
    if (m->x && need[m->x->id]) cp_line(e->p, "const float *%s = x;", ce_ref(e, m->x));
    else cp_line(e->p, "(void)x;");
    if (has_y) {
        if (m->y && need[m->y->id])
            cp_line(e->p, "const %s *%s = (const %s *)y;", ce_ctype(m->y->type.dtype), ce_ref(e, m->y),
                    ce_ctype(m->y->type.dtype));
        else cp_line(e->p, "(void)y;");
    }
}

/* True if some needed computation depends on the run-time batch size. */
static bool uses_n(const Graph *g, const bool *need)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!need[n->id] || op_info(n->op)->kind == OK_LEAF) continue;
        if (n->op == OP_ASSIGN || ce_is_alias(n)) continue;
        if (tt_has_batch(&n->type)) return true;
        for (int k = 0; k < n->nin; k++)
            if (tt_has_batch(&n->in[k]->type)) return true;
    }
    return false;
}

static bool has_dropout(const Graph *g, const bool *need)
{
    for (int i = 0; i < g->nnodes; i++)
        if (need[g->nodes[i]->id] && g->nodes[i]->op == OP_DROPOUT_MASK) return true;
    return false;
}

/* train_step (train = true) or eval_step. */
static void emit_step(CEmit *e, const ModelInfo *m, const char *pfx, bool train)
{
    const Graph *g = e->g;
    bool *need = ce_entry_need(e, m, train ? ENTRY_TRAIN : ENTRY_EVAL);
    e->entry = train ? ENTRY_TRAIN : ENTRY_EVAL;

    if (train) {
        cp_line(e->p, "/* One optimization step on n <= %s_MAX_BATCH samples. */", pfx);
        cp_open(e->p, "%svoid %s_train_step(const float *x, const void *y, int64_t n, uint64_t rng_key, float *loss, float *metrics)", e->p->d->fn_export, e->o->prefix);
    } else {
        cp_line(e->p, "/* Loss and metrics of n <= %s_MAX_BATCH samples; updates nothing. */", pfx);
        cp_open(e->p, "%svoid %s_eval_step(const float *x, const void *y, int64_t n, float *loss, float *metrics)", e->p->d->fn_export, e->o->prefix);
    }
    bind_inputs(e, m, need, true);
    if (!uses_n(g, need)) cp_line(e->p, "(void)n;");
    if (train && !has_dropout(g, need)) cp_line(e->p, "(void)rng_key;");
    if (g->nmetrics == 0) cp_line(e->p, "(void)metrics;");
    cp_blank(e->p);
    emit_kernels(e, need);
    cp_blank(e->p);
    cp_line(e->p, "*loss = %s[0];", ce_ref(e, g->loss));
    for (int i = 0; i < g->nmetrics; i++)
        cp_line(e->p, "metrics[%d] = %s[0];   /* %s */", i, ce_ref(e, g->metrics[i].node), g->metrics[i].name);
    cp_close(e->p, "");
    cp_blank(e->p);
}

static void emit_predict(CEmit *e, const ModelInfo *m, const char *pfx)
{
    const Graph *g = e->g;
    bool *need = ce_entry_need(e, m, ENTRY_PREDICT);
    e->entry = ENTRY_PREDICT;
    cp_line(e->p, "/* Inference: out receives n * %s_OUTPUT_SIZE floats (output '%s'). */", pfx, g->outputs[0].name);
    cp_open(e->p, "%svoid %s_predict(const float *x, float *out, int64_t n)", e->p->d->fn_export, e->o->prefix);
    bind_inputs(e, m, need, false);
    cp_blank(e->p);
    emit_kernels(e, need);
    cp_blank(e->p);
    const char *cnt = ext_str(e, ext_of(&m->out->type));
    if (m->out->type.dtype == DT_F32) cp_line(e->p, "memcpy(out, %s, %s * sizeof(float));", ce_ref(e, m->out), cnt);
    else cp_line(e->p, "for (int64_t i = 0; i < %s; i++) out[i] = (float)%s[i];", cnt, ce_ref(e, m->out));
    if (!tt_has_batch(&m->out->type)) cp_line(e->p, "(void)n;");
    cp_close(e->p, "");
    cp_blank(e->p);
}

/* setup, teardown, init_params, set_learning_rate. */
static void emit_lifecycle(CEmit *e, const ModelInfo *m, const char *pfx)
{
    const char *P = e->o->prefix;

    cp_line(e->p, "/* Allocates the arena, points the tensor table into it and writes the");
    cp_line(e->p, "   hyperparameters and constants.  Returns 0, or -1 without memory. */");
    cp_open(e->p, "%sint %s_setup(void)", e->p->d->fn_export, P);
    cp_line(e->p, "if (arena) return 0;");
    cp_line(e->p, "arena = dlrt_arena_alloc(%s_ARENA_BYTES);", pfx);
    cp_line(e->p, "if (!arena) return -1;");
    /* the thread count for OpenMP's loops and the runtime's pool, which
       never run at the same time (runtime/threads.c); OpenBLAS runs each
       of dlrt_sgemm's block calls on one thread, whatever the count, so
       that results do not depend on it (runtime/gemm.c) */
    cp_line(e->p, "#ifdef _OPENMP");
    cp_line(e->p, "omp_set_num_threads(dlrt_threads());");
    cp_line(e->p, "#endif");
    if (e->o->use_blas) {
        cp_line(e->p, "#ifdef OPENBLAS_VERSION");
        cp_line(e->p, "openblas_set_num_threads(1);");
        cp_line(e->p, "#endif");
    }
    ce_emit_setup_values(e);
    cp_line(e->p, "return 0;");
    cp_close(e->p, "");
    cp_blank(e->p);

    cp_line(e->p, "/* Frees the arena. */");
    cp_open(e->p, "%svoid %s_teardown(void)", e->p->d->fn_export, P);
    cp_line(e->p, "dlrt_arena_free(arena);");
    cp_line(e->p, "arena = NULL;");
    cp_line(e->p, "for (int i = 0; i < %d; i++) tensors[i].data = NULL;", m->nparams + m->nstate);
    cp_close(e->p, "");
    cp_blank(e->p);

    cp_line(e->p, "/* Draws the parameters from their initializers (the stream of a tensor");
    cp_line(e->p, "   is dlrt_key(seed, fnv1a64(its name))) and resets the optimizer state. */");
    cp_open(e->p, "%svoid %s_init_params(uint64_t seed)", e->p->d->fn_export, P);
    if (m->nparams + m->nstate == 0) cp_line(e->p, "(void)seed;");
    ce_emit_param_inits(e, true);
    cp_close(e->p, "");
    cp_blank(e->p);

    if (m->lr) {
        cp_line(e->p, "/* Sets the learning rate used by the following steps. */");
        cp_open(e->p, "%svoid %s_set_learning_rate(double lr)", e->p->d->fn_export, P);
        cp_line(e->p, "%s[0] = (float)lr;", ce_ref(e, m->lr));
        cp_close(e->p, "");
        cp_blank(e->p);
    }
}

static void emit_model(CEmit *e, const ModelInfo *m)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    cp_open(e->p, "const dlrt_model %s_model =", P);
    cp_line(e->p, ".name = \"%s\",", ce_cstr(e->a, g->name));
    if (m->x) {
        char dims[256] = "";
        size_t len = 0;
        int r = 0;
        for (int d = tt_has_batch(&m->x->type) ? 1 : 0; d < m->x->type.rank; d++, r++)
            len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", r ? ", " : "", (long long)m->x->type.dims[d]);
        cp_line(e->p, ".in_rank = %d,", r);
        if (r) cp_line(e->p, ".in_dims = {%s},", dims);
        cp_line(e->p, ".in_size = %lld,", (long long)tt_numel_per_sample(&m->x->type));
    }
    if (m->out) cp_line(e->p, ".out_size = %lld,", (long long)tt_numel_per_sample(&m->out->type));
    if (m->y) {
        cp_line(e->p, ".label_dtype = %s,", ce_dlrt_dtype(m->y->type.dtype));
        cp_line(e->p, ".label_size = %lld,", (long long)tt_numel_per_sample(&m->y->type));
        if (m->label_classes > 0) cp_line(e->p, ".label_classes = %lld,", (long long)m->label_classes);
        if (m->label_binary) cp_line(e->p, ".label_binary = 1,");
    } else {
        cp_line(e->p, ".label_dtype = DLRT_F32,");
        cp_line(e->p, ".label_size = 0,");
    }
    if (m->out_values) cp_line(e->p, ".out_values = 1,");
    if (m->out_mixes_rows) cp_line(e->p, ".out_mixes_rows = 1,");
    cp_line(e->p, ".max_batch = %lld,", (long long)g->max_batch);
    cp_line(e->p, ".batch_size = %lld,", (long long)m->batch_size);
    cp_line(e->p, ".epochs = %lld,", (long long)m->epochs);
    cp_line(e->p, ".seed = %lluu,", (unsigned long long)m->seed);
    cp_line(e->p, ".learning_rate = %.17g,", m->learning_rate);
    if (m->train && g->train.optimizer) cp_line(e->p, ".optimizer = \"%s\",", ce_cstr(e->a, g->train.optimizer));
    else cp_line(e->p, ".optimizer = NULL,");
    cp_line(e->p, ".nmetrics = %d,", m->train ? g->nmetrics : 0);
    cp_line(e->p, ".metric_names = %s,", m->train && g->nmetrics ? "metric_names" : "NULL");
    cp_line(e->p, ".nparams = %d,", m->nparams);
    cp_line(e->p, ".nstate = %d,", m->nstate);
    cp_line(e->p, ".tensors = tensors,");
    cp_line(e->p, ".setup = %s_setup,", P);
    cp_line(e->p, ".teardown = %s_teardown,", P);
    cp_line(e->p, ".init_params = %s_init_params,", P);
    cp_line(e->p, ".train_step = %s%s,", m->train ? P : "NULL", m->train ? "_train_step" : "");
    cp_line(e->p, ".eval_step = %s%s,", m->train ? P : "NULL", m->train ? "_eval_step" : "");
    cp_line(e->p, ".predict = %s%s,", m->out ? P : "NULL", m->out ? "_predict" : "");
    cp_line(e->p, ".set_learning_rate = %s%s,", m->lr ? P : "NULL", m->lr ? "_set_learning_rate" : "");
    cp_close(e->p, ";");
    if (e->o->with_main) {
        cp_blank(e->p);
        cp_open(e->p, "int main(int argc, char **argv)");
        cp_line(e->p, "return dlrt_main(&%s_model, argc, argv);", P);
        cp_close(e->p, "");
    }
}

static void emit_header(CEmit *e, const ModelInfo *m, const char *pfx, FILE *h)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    fprintf(h, "/* %s.h - generated by dlc from model '%s' (%s mode).  Do not edit.\n *\n", P, g->name,
            g->mode == MODE_TRAIN ? "train" : "infer");
    fprintf(h, " * Usage: call %s_setup() once (it allocates the %lld-byte arena), then\n"
               " * %s_init_params(seed) or load the parameters through %s_model.tensors,\n"
               " * then the entry points below; %s_teardown() frees the arena.  n is the\n"
               " * batch size of a call, 1 <= n <= %s_MAX_BATCH.  The functions are not\n"
               " * reentrant: they share the one arena.\n */\n",
            P, (long long)g->arena_bytes, P, P, P, pfx);
    fprintf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n#include \"dlrt.h\"\n\n", pfx, pfx);
    ce_header_sizes(e, m, pfx, h, -1);
    ce_header_entries(e, m, pfx, h, "Allocates the arena; returns 0, or -1 if memory could not be had.", "Frees the arena.");
    fprintf(h, "\n#endif\n");
}

int codegen_emit(const Graph *g, const CodegenOptions *o, FILE *c, FILE *h)
{
    if (o->target != TARGET_C) dlc_error(SRCLOC_NONE, "only the C target is implemented");
    CodegenOptions opts = *o;
    Arena *a = g->arena;
    opts.prefix = ce_sanitize(a, "", o->prefix ? o->prefix : g->name);
    const char *pfx = ce_upper(a, opts.prefix);

    CPrinter p;
    cp_init(&p, c, target_info(TARGET_C)->dialect);
    CEmit e = {g, &opts, &p, a, ENTRY_PREDICT, NULL, NULL, NULL, true};
    ce_name_nodes(&e, "in_");
    ModelInfo m;
    ce_model_info(g, &m, "C");

    cp_line(&p, "/* %s.c - generated by dlc from model '%s' (%s mode).  Do not edit.", opts.prefix, g->name,
            g->mode == MODE_TRAIN ? "train" : "infer");
    cp_line(&p, " *");
    cp_line(&p, " * Straight-line kernels over one arena of %lld bytes (lower bound %lld),", (long long)g->arena_bytes,
            (long long)g->arena_lower_bound);
    cp_line(&p, " * planned for batches of up to %lld; n is the batch size of each call.", (long long)g->max_batch);
    cp_line(&p, " * Each kernel names the IR node it implements (as `dlc ir` prints it) and");
    cp_line(&p, " * the model source line it came from.");
    cp_line(&p, " */");
    cp_line(&p, "#include \"%s.h\"", ce_cstr(a, o->prefix ? o->prefix : g->name)); /* the file stem */
    cp_line(&p, "#include \"dlrt.h\"");
    cp_blank(&p);
    if (opts.use_blas) cp_line(&p, "#include <cblas.h>");
    cp_line(&p, "#include <math.h>");
    cp_line(&p, "#ifdef _OPENMP");
    cp_line(&p, "#include <omp.h>");
    cp_line(&p, "#endif");
    cp_line(&p, "#include <stdint.h>");
    cp_line(&p, "#include <string.h>");
    cp_blank(&p);
    cp_line(&p, "/* The one buffer every tensor lives in; allocated by %s_setup(). */", opts.prefix);
    cp_line(&p, "static unsigned char *arena;");
    cp_blank(&p);
    ce_emit_tensor_macros(&e);
    cp_blank(&p);
    ce_emit_tensor_table(&e, &m);
    emit_lifecycle(&e, &m, pfx);
    if (m.train) {
        emit_step(&e, &m, pfx, true);
        emit_step(&e, &m, pfx, false);
    }
    if (m.out) emit_predict(&e, &m, pfx);
    emit_model(&e, &m);
    emit_header(&e, &m, pfx, h);
    return 0;
}

/* ---- shared with the embeddable emitter (emit_embed.c) ------------------ */

void ce_emit_kernels(CEmit *e, const bool *need)
{
    emit_kernels(e, need);
}
