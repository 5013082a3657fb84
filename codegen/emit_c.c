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
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/init.h"
#include "../passes/fuse.h"
#include "c_emit.h"

/* ---- names -------------------------------------------------------------- */

const char *ce_ctype(DType t)
{
    switch (t) {
    case DT_F32: return "float";
    case DT_F64: return "double";
    case DT_I32: return "int32_t";
    case DT_U8: return "uint8_t";
    default: DLC_ICE("no C type for dtype %d", (int)t);
    }
}

static const char *dlrt_dtype_name(DType t)
{
    switch (t) {
    case DT_F32: return "DLRT_F32";
    case DT_F64: return "DLRT_F64";
    case DT_I32: return "DLRT_I32";
    case DT_U8: return "DLRT_U8";
    default: DLC_ICE("no runtime dtype for %d", (int)t);
    }
}

const char *ce_ref(CEmit *e, const Node *n)
{
    DLC_ASSERT(e->refs[n->id]);
    return e->refs[n->id];
}

bool ce_is_alias(const Node *n)
{
    if (n->op != OP_RESHAPE && n->op != OP_FLATTEN) return false;
    /* both outside the arena (PassOptions.external_leaves): a view of the
       caller's input or of const weights */
    if (n->offset < 0 && n->in[0]->offset < 0 && n->fuse_group == 0) return true;
    return n->offset >= 0 && n->offset == n->in[0]->offset;
}

const char *ce_bytes(CEmit *e, const Node *n)
{
    Ext x = ext_of(&n->type);
    x.c *= (int64_t)dtype_size(n->type.dtype);
    return ext_str(e, x);
}

/* A C identifier from a name: other characters become '_'. */
static char *sanitize(Arena *a, const char *prefix, const char *s)
{
    char *r = arena_printf(a, "%s%s", prefix, s);
    for (char *q = r; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '_') *q = '_';
    if (isdigit((unsigned char)r[0])) r = arena_printf(a, "_%s", r);
    return r;
}

/* The contents of a C string literal for s (quotes, backslashes and
 * control characters escaped). */
static const char *cstr(Arena *a, const char *s)
{
    size_t len = strlen(s);
    char *r = arena_alloc(a, 4 * len + 1), *q = r;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *q++ = '\\';
            *q++ = (char)c;
        } else if (c < 32 || c == 127) {
            q += sprintf(q, "\\%03o", c);
        } else {
            *q++ = (char)c;
        }
    }
    *q = '\0';
    return r;
}

static bool is_named_leaf(const Node *n)
{
    return n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_STATE || n->op == OP_HPARAM;
}

/* Fills e->num and e->refs for every node. */
static void name_nodes(CEmit *e)
{
    const Graph *g = e->g;
    e->num = ARENA_NEW_N(e->a, int, g->next_id + 1);
    e->refs = ARENA_NEW_N(e->a, const char *, g->next_id + 1);
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        e->num[n->id] = is_named_leaf(n) ? -1 : k++;
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const char *r;
        switch (n->op) {
        case OP_INPUT: r = sanitize(e->a, "in_", n->name); break;
        case OP_PARAM: r = sanitize(e->a, "P_", n->name); break;
        case OP_STATE: r = sanitize(e->a, "S_", n->name); break;
        case OP_HPARAM: r = sanitize(e->a, "H_", n->name); break;
        case OP_ASSIGN: r = e->refs[n->in[0]->id]; break;
        default:
            if (ck_is_inlined(n)) r = arena_printf(e->a, "v%d", e->num[n->id]); /* a loop-local value */
            else if (ce_is_alias(n)) r = e->refs[n->in[0]->id];
            else r = arena_printf(e->a, "T%d", e->num[n->id]);
        }
        /* two leaf names that sanitize alike get the node id appended */
        if (is_named_leaf(n))
            for (int j = 0; j < i; j++)
                if (is_named_leaf(g->nodes[j]) && strcmp(e->refs[g->nodes[j]->id], r) == 0) {
                    r = arena_printf(e->a, "%s_%d", r, n->id);
                    break;
                }
        e->refs[n->id] = r;
    }
    /* values the plan computes in place of the state they update */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_ASSIGN && n->in[1]->offset >= 0 && n->in[1]->offset == n->in[0]->offset)
            e->refs[n->in[1]->id] = e->refs[n->in[0]->id];
    }
}

/* True if the value is computed in place of the state an assign updates. */
static bool is_inplace_value(const Graph *g, const Node *v)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_ASSIGN && n->in[1] == v && v->offset == n->in[0]->offset) return true;
    }
    return false;
}

/* True if the node owns arena storage that gets a macro. */
static bool has_macro(const Graph *g, const Node *n)
{
    return n->op != OP_INPUT && n->op != OP_ASSIGN && !ce_is_alias(n) && !ck_is_inlined(n) && !is_inplace_value(g, n);
}

/* ---- the model's shape -------------------------------------------------- */

typedef struct ModelInfo {
    const Node *x, *y;        /* first and second input (or NULL) */
    const Node *out;          /* output 0 (or NULL) */
    int nparams, nstate;
    int64_t nparam_elems;
    const Node *lr;           /* hparam learning_rate, or NULL */
    bool train;               /* train_step / eval_step exist */
} ModelInfo;

static void model_info(const Graph *g, ModelInfo *m)
{
    memset(m, 0, sizeof *m);
    int ninputs = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_INPUT) {
            if (ninputs == 0) m->x = n;
            else if (ninputs == 1) m->y = n;
            else dlc_error(n->loc, "the C target supports at most two inputs (data and labels); '%s' is a third", n->name);
            ninputs++;
        } else if (n->op == OP_PARAM) {
            m->nparams++;
            m->nparam_elems += tt_numel(&n->type, 1);
        } else if (n->op == OP_STATE) {
            m->nstate++;
        } else if (n->op == OP_HPARAM && strcmp(n->name, "learning_rate") == 0) {
            m->lr = n;
        }
    }
    if (m->x && m->x->type.dtype != DT_F32)
        dlc_error(m->x->loc, "the first input '%s' must be f32 for the C target", m->x->name);
    m->out = g->noutputs > 0 ? g->outputs[0].node : NULL;
    m->train = g->mode == MODE_TRAIN && g->loss != NULL;
}

/* The learning rate of the train block: its argument, else the optimizer's
 * default from ir/optimizers.def; -1 if there is none. */
static double train_learning_rate(const Graph *g)
{
    if (!g->train.optimizer) return -1;
    for (int i = 0; i < g->train.nopt_args; i++) {
        const Attr *a = &g->train.opt_args[i];
        if (strcmp(a->name, "learning_rate") == 0) return a->kind == AK_FLOAT ? a->f : (double)a->i;
    }
    static const struct { const char *name, *hypers; } opts[] = {
#define OPTIMIZER(name, hypers) {#name, hypers},
#include "../ir/optimizers.def"
#undef OPTIMIZER
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (strcmp(opts[i].name, g->train.optimizer) != 0) continue;
        const char *s = strstr(opts[i].hypers, "learning_rate=");
        if (s) return strtod(s + strlen("learning_rate="), NULL);
    }
    return -1;
}

/* ---- the translation unit ----------------------------------------------- */

/* Marks in `need` (by node id) everything the roots depend on. */
static void needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need)
{
    for (int i = 0; i < nroots; i++)
        if (roots[i]) need[roots[i]->id] = true;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        const Node *n = g->nodes[i];
        if (!need[n->id]) continue;
        for (int k = 0; k < n->nin; k++) need[n->in[k]->id] = true;
    }
}

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
    bool *need = ARENA_NEW_N(e->a, bool, g->next_id + 1);
    const Node **roots = ARENA_NEW_N(e->a, const Node *, g->nnodes + g->nmetrics + 2);
    int nr = 0;
    roots[nr++] = g->loss;
    for (int i = 0; i < g->nmetrics; i++) roots[nr++] = g->metrics[i].node;
    if (train)
        for (int i = 0; i < g->nnodes; i++)
            if (g->nodes[i]->op == OP_ASSIGN) roots[nr++] = g->nodes[i];
    needed_set(g, roots, nr, need);
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
    bool *need = ARENA_NEW_N(e->a, bool, g->next_id + 1);
    const Node *roots[1] = {m->out};
    needed_set(g, roots, 1, need);
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

/* FNV-1a, 64 bits: a parameter's random stream is keyed by its name, so
 * adding a parameter does not change the others' values (the reference
 * interpreter, ir/interp.c, keys them the same way). */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* setup, teardown, init_params, set_learning_rate. */
static void emit_lifecycle(CEmit *e, const ModelInfo *m, const char *pfx)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    char lit[CP_FLOAT_LEN];

    cp_line(e->p, "/* Allocates the arena, points the tensor table into it and writes the");
    cp_line(e->p, "   hyperparameters and constants.  Returns 0, or -1 without memory. */");
    cp_open(e->p, "%sint %s_setup(void)", e->p->d->fn_export, P);
    cp_line(e->p, "if (arena) return 0;");
    cp_line(e->p, "arena = dlrt_arena_alloc(%s_ARENA_BYTES);", pfx);
    cp_line(e->p, "if (!arena) return -1;");
    /* one thread count for both pools (runtime/threads.c); they never run
       at the same time, so the cores are not oversubscribed */
    cp_line(e->p, "#ifdef _OPENMP");
    cp_line(e->p, "omp_set_num_threads(dlrt_threads());");
    cp_line(e->p, "#endif");
    if (e->o->use_blas) {
        cp_line(e->p, "#ifdef OPENBLAS_VERSION");
        cp_line(e->p, "openblas_set_num_threads(dlrt_threads());");
        cp_line(e->p, "#endif");
    }
    int t = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->nnodes; i++) {
            const Node *n = g->nodes[i];
            if (n->op == (pass == 0 ? OP_PARAM : OP_STATE)) cp_line(e->p, "tensors[%d].data = %s;", t++, ce_ref(e, n));
        }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_HPARAM && n->op != OP_CONST) continue;
        cp_float(e->p->d, node_attr_float(n, "value"), lit, sizeof lit);
        int64_t cnt = tt_numel(&n->type, g->max_batch);
        if (cnt == 1) cp_line(e->p, "%s[0] = %s;", ce_ref(e, n), lit);
        else cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) %s[i] = %s;", (long long)cnt, ce_ref(e, n), lit);
    }
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
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->nnodes; i++) {
            const Node *n = g->nodes[i];
            if (n->op != (pass == 0 ? OP_PARAM : OP_STATE)) continue;
            InitSpec sp;
            const char *err = init_resolve(n, &sp);
            if (err) dlc_error(n->loc, "%s", err);
            int64_t cnt = tt_numel(&n->type, 1);
            char a[CP_FLOAT_LEN], b[CP_FLOAT_LEN];
            cp_float(e->p->d, sp.a, a, sizeof a);
            cp_float(e->p->d, sp.b, b, sizeof b);
            const char *init = node_attr_str(n, "init");
            cp_line(e->p, "/* %s %%%s: %s */", pass == 0 ? "param" : "state", n->name, init ? init : "zeros");
            if (n->type.dtype != DT_F32) {
                if (sp.dist != INIT_CONSTANT)
                    dlc_error(n->loc, "'%s' is not f32: only constant initializers are supported", n->name);
                cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) %s[i] = %s;", (long long)cnt, ce_ref(e, n), a);
            } else if (sp.dist == INIT_CONSTANT) {
                cp_line(e->p, "dlrt_init_constant(%s, %lld, %s);", ce_ref(e, n), (long long)cnt, a);
            } else {
                const char *fn = sp.dist == INIT_UNIFORM ? "dlrt_init_uniform"
                                 : sp.dist == INIT_NORMAL ? "dlrt_init_normal"
                                                          : "dlrt_init_truncated_normal";
                cp_line(e->p, "%s(%s, %lld, %s, %s, dlrt_key(seed, 0x%016llxu));", fn, ce_ref(e, n), (long long)cnt, a, b,
                        (unsigned long long)fnv1a64(n->name));
            }
        }
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

/* The persistent tensor table. */
static void emit_tables(CEmit *e, const ModelInfo *m)
{
    const Graph *g = e->g;
    if (m->nparams + m->nstate == 0) {
        cp_line(e->p, "static dlrt_tensor *const tensors = NULL;");
    } else {
        cp_open(e->p, "static dlrt_tensor tensors[%d] =", m->nparams + m->nstate);
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < g->nnodes; i++) {
                const Node *n = g->nodes[i];
                if (n->op != (pass == 0 ? OP_PARAM : OP_STATE)) continue;
                if (tt_has_batch(&n->type)) DLC_ICE("persistent tensor '%s' has the batch dimension", n->name);
                char dims[256] = "";
                size_t len = 0;
                for (int d = 0; d < n->type.rank; d++)
                    len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", d ? ", " : "", (long long)n->type.dims[d]);
                cp_line(e->p, "{\"%s\", %s, %d, {%s}, NULL},", cstr(e->a, n->name), dlrt_dtype_name(n->type.dtype), n->type.rank,
                        len ? dims : "0");
            }
        cp_close(e->p, ";");
    }
    if (g->nmetrics > 0) {
        cp_open(e->p, "static const char *const metric_names[%d] =", g->nmetrics);
        for (int i = 0; i < g->nmetrics; i++) cp_line(e->p, "\"%s\",", cstr(e->a, g->metrics[i].name));
        cp_close(e->p, ";");
    }
    cp_blank(e->p);
}

static void emit_model(CEmit *e, const ModelInfo *m)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    cp_open(e->p, "const dlrt_model %s_model =", P);
    cp_line(e->p, ".name = \"%s\",", cstr(e->a, g->name));
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
        cp_line(e->p, ".label_dtype = %s,", dlrt_dtype_name(m->y->type.dtype));
        cp_line(e->p, ".label_size = %lld,", (long long)tt_numel_per_sample(&m->y->type));
    } else {
        cp_line(e->p, ".label_dtype = DLRT_F32,");
        cp_line(e->p, ".label_size = 0,");
    }
    cp_line(e->p, ".max_batch = %lld,", (long long)g->max_batch);
    cp_line(e->p, ".batch_size = %lld,", (long long)(g->train.batch_size > 0 ? g->train.batch_size : 32));
    cp_line(e->p, ".epochs = %lld,", (long long)(g->train.epochs > 0 ? g->train.epochs : 1));
    cp_line(e->p, ".seed = %lluu,", (unsigned long long)(g->train.seed > 0 ? g->train.seed : 0));
    double lr = m->train && m->lr ? train_learning_rate(g) : -1;
    if (m->train && m->lr && lr < 0) lr = node_attr_float(m->lr, "value");
    cp_line(e->p, ".learning_rate = %.17g,", lr);
    if (m->train && g->train.optimizer) cp_line(e->p, ".optimizer = \"%s\",", cstr(e->a, g->train.optimizer));
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

/* The tensor macros: one per storage, with its type and lifetime. */
static void emit_tensor_macros(CEmit *e)
{
    const Graph *g = e->g;
    cp_line(e->p, "/* ---- tensors: fixed places in the arena (the memory plan) ---- */");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!has_macro(g, n)) continue;
        if (n->offset < 0) DLC_ICE("node %%%d has no planned offset: run the `plan` pass first", n->id);
        char ty[TT_FMT_LEN];
        tt_format(&n->type, ty, sizeof ty);
        char def[160];
        snprintf(def, sizeof def, "#define %s ((%s *)(arena + %lld))", ce_ref(e, n), ce_ctype(n->type.dtype),
                 (long long)n->offset);
        cp_line(e->p, "%-52s /* %s live [%d,%d] */", def, ty, n->live_start, n->live_end);
    }
    cp_blank(e->p);
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
    fprintf(h, "#define %s_INPUT_SIZE %lld    /* floats per sample of input '%s' */\n", pfx,
            (long long)(m->x ? tt_numel_per_sample(&m->x->type) : 0), m->x ? m->x->name : "");
    fprintf(h, "#define %s_OUTPUT_SIZE %lld   /* floats per sample of output '%s' */\n", pfx,
            (long long)(m->out ? tt_numel_per_sample(&m->out->type) : 0), m->out ? g->outputs[0].name : "");
    fprintf(h, "#define %s_ARENA_BYTES %lld   /* planned arena (lower bound %lld) */\n", pfx, (long long)g->arena_bytes,
            (long long)g->arena_lower_bound);
    fprintf(h, "#define %s_MAX_BATCH %lld    /* largest n of a call */\n", pfx, (long long)g->max_batch);
    fprintf(h, "#define %s_PARAM_COUNT %lld   /* trainable scalars in %d tensors */\n", pfx, (long long)m->nparam_elems,
            m->nparams);
    fprintf(h, "#define %s_PARAM_TENSORS %d\n\n", pfx, m->nparams);
    fprintf(h, "/* The model as the runtime sees it (dlrt_main runs its command line). */\n");
    fprintf(h, "extern const dlrt_model %s_model;\n\n", P);
    fprintf(h, "/* Allocates the arena; returns 0, or -1 if memory could not be had. */\nint %s_setup(void);\n", P);
    fprintf(h, "/* Frees the arena. */\nvoid %s_teardown(void);\n", P);
    fprintf(h, "/* Fills the parameters from their initializers, keyed by seed. */\nvoid %s_init_params(uint64_t seed);\n", P);
    if (m->train) {
        fprintf(h, "/* One training step on n samples: x holds n * %s_INPUT_SIZE floats, y the\n"
                   "   labels; writes the mean loss and the metrics, then updates the parameters. */\n"
                   "void %s_train_step(const float *x, const void *y, int64_t n, uint64_t rng_key, float *loss, float *metrics);\n",
                pfx, P);
        fprintf(h, "/* Loss and metrics on n samples without updating anything. */\n"
                   "void %s_eval_step(const float *x, const void *y, int64_t n, float *loss, float *metrics);\n",
                P);
    }
    if (m->out)
        fprintf(h, "/* Inference on n samples: out receives n * %s_OUTPUT_SIZE floats. */\n"
                   "void %s_predict(const float *x, float *out, int64_t n);\n",
                pfx, P);
    if (m->lr) fprintf(h, "/* Sets the learning rate of the following training steps. */\nvoid %s_set_learning_rate(double lr);\n", P);
    fprintf(h, "\n#endif\n");
}

int codegen_emit(const Graph *g, const CodegenOptions *o, FILE *c, FILE *h)
{
    if (o->target != TARGET_C) dlc_error(SRCLOC_NONE, "only the C target is implemented");
    CodegenOptions opts = *o;
    Arena *a = g->arena;
    opts.prefix = sanitize(a, "", o->prefix ? o->prefix : g->name);
    char *pfx = arena_strdup(a, opts.prefix);
    for (char *q = pfx; *q; q++) *q = (char)toupper((unsigned char)*q);

    CPrinter p;
    cp_init(&p, c, &cdialect_c99);
    CEmit e = {g, &opts, &p, a, ENTRY_PREDICT, NULL, NULL};
    name_nodes(&e);
    ModelInfo m;
    model_info(g, &m);
    if (m.out && !m.x) dlc_error(SRCLOC_NONE, "model '%s' has an output but no input", g->name);

    cp_line(&p, "/* %s.c - generated by dlc from model '%s' (%s mode).  Do not edit.", opts.prefix, g->name,
            g->mode == MODE_TRAIN ? "train" : "infer");
    cp_line(&p, " *");
    cp_line(&p, " * Straight-line kernels over one arena of %lld bytes (lower bound %lld),", (long long)g->arena_bytes,
            (long long)g->arena_lower_bound);
    cp_line(&p, " * planned for batches of up to %lld; n is the batch size of each call.", (long long)g->max_batch);
    cp_line(&p, " * Each kernel names the IR node it implements (as `dlc ir` prints it) and");
    cp_line(&p, " * the model source line it came from.");
    cp_line(&p, " */");
    cp_line(&p, "#include \"%s.h\"", cstr(a, o->prefix ? o->prefix : g->name)); /* the file stem */
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
    emit_tensor_macros(&e);
    emit_tables(&e, &m);
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

void ce_name_nodes(CEmit *e)
{
    name_nodes(e);
}

void ce_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need)
{
    needed_set(g, roots, nroots, need);
}

void ce_emit_kernels(CEmit *e, const bool *need)
{
    emit_kernels(e, need);
}
