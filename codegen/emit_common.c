/* emit_common.c - what the C generator (emit_c.c) and the CUDA generator
 * (emit_cuda.c) write alike, so that the two units cannot drift apart:
 *
 *   - the helpers every kernel file uses (c_kernels.c, c_fused.c,
 *     cuda_kernels.c, ...): the C type of a dtype, a tensor's storage
 *     expression and byte size, whether a reshape aliases its operand;
 *     they live here, below the emitters, so that no kernel file calls
 *     back into emit_c.c;
 *   - names: C identifiers and string literals from model names, the
 *     runtime's dtype names, the name of every tensor (T<K> after the %K
 *     `dlc ir` prints, P_/S_/H_ for leaves, an input prefix per target);
 *   - the model's shape (ModelInfo: inputs, output 0, parameter counts,
 *     the learning rate) and the subset of the graph an entry point needs
 *     (walking operands back from its roots);
 *   - pieces of the unit that are the same text in both dialects: the
 *     tensor macros, the persistent tensor table, the parameter
 *     initializers, the writes of hyperparameters and constants in setup,
 *     and the size macros and entry-point declarations of the header.
 *
 * What differs between the targets (where the arena lives, how an entry
 * runs its kernels, the dlrt_model description) stays in each emitter.
 * The declarations are in c_emit.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/init.h"
#include "../ir/node_table.h"
#include "../passes/launch.h"
#include "c_emit.h"

/* ---- names -------------------------------------------------------------- */

/* The C type of a dtype's elements. */
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

/* The expression of a tensor's storage (e->refs, filled by ce_name_nodes). */
const char *ce_ref(CEmit *e, const Node *n)
{
    DLC_ASSERT(e->refs[n->id]);
    return e->refs[n->id];
}

/* True if the plan lets this reshape/flatten share its operand's storage. */
bool ce_is_alias(const Node *n)
{
    if (n->op != OP_RESHAPE && n->op != OP_FLATTEN) return false;
    /* both outside the arena (PassOptions.external_leaves): a view of the
       caller's input or of const weights */
    if (n->offset < 0 && n->in[0]->offset < 0 && n->fuse_group == 0) return true;
    return n->offset >= 0 && n->offset == n->in[0]->offset;
}

/* Bytes of a tensor with N = n, as a C expression. */
const char *ce_bytes(CEmit *e, const Node *n)
{
    Ext x = ext_of(&n->type);
    x.c *= (int64_t)dtype_size(n->type.dtype);
    return ext_str(e, x);
}

/* A C identifier from a name: other characters become '_'. */
char *ce_sanitize(Arena *a, const char *prefix, const char *s)
{
    char *r = arena_printf(a, "%s%s", prefix, s);
    for (char *q = r; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '_') *q = '_';
    if (isdigit((unsigned char)r[0])) r = arena_printf(a, "_%s", r);
    return r;
}

/* The upper-case form of a prefix, for the header's macros. */
char *ce_upper(Arena *a, const char *s)
{
    char *r = arena_strdup(a, s);
    for (char *q = r; *q; q++) *q = (char)toupper((unsigned char)*q);
    return r;
}

/* The contents of a C string literal for s (quotes, backslashes and
 * control characters escaped). */
const char *ce_cstr(Arena *a, const char *s)
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

const char *ce_dlrt_dtype(DType t)
{
    switch (t) {
    case DT_F32: return "DLRT_F32";
    case DT_F64: return "DLRT_F64";
    case DT_I32: return "DLRT_I32";
    case DT_U8: return "DLRT_U8";
    default: DLC_ICE("no runtime dtype for %d", (int)t);
    }
}

static bool is_named_leaf(const Node *n)
{
    return n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_STATE || n->op == OP_HPARAM;
}

/* Fills e->num and e->refs for every node: leaves after their names (two
 * that sanitize alike get the node id appended), inlined values as the
 * loop-local v<K>, aliases and assigns as their operand, values computed
 * in place of a state as that state, others as their macro T<K>. */
void ce_name_nodes(CEmit *e, const char *input_prefix)
{
    const Graph *g = e->g;
    e->num = ARENA_NEW_N(e->a, int, g->next_id + 1);
    e->refs = ARENA_NEW_N(e->a, const char *, g->next_id + 1);
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        e->num[n->id] = is_named_leaf(n) ? -1 : k++;
    }
    NodeTable leaf_refs = {0}; /* the refs of the named leaves so far */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const char *r;
        switch (n->op) {
        case OP_INPUT: r = ce_sanitize(e->a, input_prefix, n->name); break;
        case OP_PARAM: r = ce_sanitize(e->a, "P_", n->name); break;
        case OP_STATE: r = ce_sanitize(e->a, "S_", n->name); break;
        case OP_HPARAM: r = ce_sanitize(e->a, "H_", n->name); break;
        case OP_ASSIGN: r = e->refs[n->in[0]->id]; break;
        default:
            if (ck_is_inlined(n)) r = arena_printf(e->a, "v%d", e->num[n->id]); /* a loop-local value */
            else if (ce_is_alias(n)) r = e->refs[n->in[0]->id];
            else r = arena_printf(e->a, "T%d", e->num[n->id]);
        }
        if (is_named_leaf(n)) {
            if (node_table_get(&leaf_refs, r)) r = arena_printf(e->a, "%s_%d", r, n->id);
            node_table_put(e->a, &leaf_refs, r, (Node *)n);
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

/* True if the node owns arena storage that gets a macro; inplace[id]: the
 * value is computed in place of the state an assign updates. */
static bool has_macro(const Node *n, const bool *inplace)
{
    return n->op != OP_INPUT && n->op != OP_ASSIGN && !ce_is_alias(n) && !ck_is_inlined(n) && !inplace[n->id];
}

/* ---- the model's shape -------------------------------------------------- */

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

/* What the runtime must know of the labels and of output 0 (see
 * dlrt_model): the class count of every op that reads the label input as
 * class indices (a sparse crossentropy, its gradient, an accuracy over
 * [N,C] predictions, C > 1; the smallest if several), whether a binary
 * crossentropy reads it as targets in [0, 1], and whether a training
 * model is a classifier (a categorical crossentropy or an accuracy
 * anywhere: predict prints the argmax) or not (predict prints values).
 * Only the ops that read the label input directly are looked at: labels
 * transformed first (e.g. cast for a mean squared error) are values,
 * unchecked. */
static void runtime_rules(const Graph *g, ModelInfo *m)
{
    bool classifier = false;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        bool reads_y = m->y && n->nin >= 2 && n->in[1] == m->y;
        const TensorType *p = n->nin >= 1 ? &n->in[0]->type : NULL;
        int64_t classes = 0;
        switch (n->op) {
        case OP_SPARSE_CATEGORICAL_CROSSENTROPY:
        case OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD:
            classifier = true;
            if (reads_y && p->rank >= 1) classes = p->dims[p->rank - 1];
            break;
        case OP_CATEGORICAL_CROSSENTROPY: classifier = true; break;
        case OP_ACCURACY:
            classifier = true;
            /* over [N] or [N,1] it thresholds labels at 0.5: not indices */
            if (reads_y && m->y->type.dtype == DT_I32 && p->rank == 2 && p->dims[1] > 1) classes = p->dims[1];
            break;
        case OP_BINARY_CROSSENTROPY:
        case OP_BINARY_CROSSENTROPY_GRAD:
            if (reads_y) m->label_binary = true;
            break;
        default: break;
        }
        if (classes > 0 && (m->label_classes == 0 || classes < m->label_classes)) m->label_classes = classes;
    }
    m->out_values = m->train && !classifier;
    m->out_mixes_rows = g->output0_mixes_rows;
}

void ce_no_input_error(const Graph *g)
{
    dlc_error(g->outputs[0].loc, "output '%s' does not depend on any input (a program computes its output from input data)",
              g->outputs[0].name);
}

void ce_model_info(const Graph *g, ModelInfo *m, const char *target)
{
    memset(m, 0, sizeof *m);
    int ninputs = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_INPUT) {
            if (ninputs == 0) m->x = n;
            else if (ninputs == 1) m->y = n;
            else dlc_error(n->loc, "the %s target supports at most two inputs (data and labels); '%s' is a third", target, n->name);
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
        dlc_error(m->x->loc, "the first input '%s' must be f32 for the %s target", m->x->name, target);
    m->out = g->noutputs > 0 ? g->outputs[0].node : NULL;
    if (m->out && !m->x) ce_no_input_error(g);
    m->train = g->mode == MODE_TRAIN && g->loss != NULL;
    m->batch_size = g->train.batch_size > 0 ? g->train.batch_size : 32;
    m->epochs = g->train.epochs > 0 ? g->train.epochs : 1;
    m->seed = g->train.seed > 0 ? (uint64_t)g->train.seed : 0;
    m->learning_rate = m->train && m->lr ? train_learning_rate(g) : -1;
    if (m->train && m->lr && m->learning_rate < 0) m->learning_rate = node_attr_float(m->lr, "value");
    runtime_rules(g, m);
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

/* ---- entry subsets ------------------------------------------------------ */

void ce_needed_set(const Graph *g, const Node *const *roots, int nroots, bool *need)
{
    entry_needed_set(g, roots, nroots, need);
}

bool *ce_entry_need(CEmit *e, const ModelInfo *m, EntryKind k)
{
    (void)m; /* m->out is output 0, which entry_need roots predict at */
    bool *need = ARENA_NEW_N(e->a, bool, e->g->next_id + 1);
    entry_need(e->g, (IrEntry)k, need);
    return need;
}

/* ---- pieces of the unit ------------------------------------------------- */

void ce_emit_tensor_macros(CEmit *e)
{
    const Graph *g = e->g;
    cp_line(e->p, "/* ---- tensors: fixed places in the arena (the memory plan) ---- */");
    bool *inplace = ARENA_NEW_N(e->a, bool, g->next_id + 1);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_ASSIGN && n->in[1]->offset == n->in[0]->offset) inplace[n->in[1]->id] = true;
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!has_macro(n, inplace)) continue;
        if (n->offset < 0) DLC_ICE("node %%%d has no planned offset: run the `plan` pass first", n->id);
        char ty[TT_FMT_LEN];
        tt_format(&n->type, ty, sizeof ty);
        char def[160];
        snprintf(def, sizeof def, "#define %s ((%s *)(arena + %lld))", ce_ref(e, n), ce_ctype(n->type.dtype),
                 (long long)n->offset);
        cp_line(e->p, "%-52s /* %s live [%d,%d] */", def, ty, n->live_start, n->live_end);
    }
}

void ce_emit_tensor_table(CEmit *e, const ModelInfo *m)
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
                cp_line(e->p, "{\"%s\", %s, %d, {%s}, NULL},", ce_cstr(e->a, n->name), ce_dlrt_dtype(n->type.dtype),
                        n->type.rank, len ? dims : "0");
            }
        cp_close(e->p, ";");
    }
    if (g->nmetrics > 0) {
        cp_open(e->p, "static const char *const metric_names[%d] =", g->nmetrics);
        for (int i = 0; i < g->nmetrics; i++) cp_line(e->p, "\"%s\",", ce_cstr(e->a, g->metrics[i].name));
        cp_close(e->p, ";");
    }
    cp_blank(e->p);
}

void ce_emit_setup_values(CEmit *e)
{
    const Graph *g = e->g;
    int t = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->nnodes; i++) {
            const Node *n = g->nodes[i];
            if (n->op == (pass == 0 ? OP_PARAM : OP_STATE)) cp_line(e->p, "tensors[%d].data = %s;", t++, ce_ref(e, n));
        }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_HPARAM && n->op != OP_CONST) continue;
        if (n->op == OP_CONST && n->offset < 0) continue; /* an inlined literal: no storage */
        char lit[CP_FLOAT_LEN];
        cp_float(e->p->d, node_attr_float(n, "value"), lit, sizeof lit);
        int64_t cnt = tt_numel(&n->type, g->max_batch);
        if (cnt == 1) cp_line(e->p, "%s[0] = %s;", ce_ref(e, n), lit);
        else cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) %s[i] = %s;", (long long)cnt, ce_ref(e, n), lit);
    }
}

void ce_emit_param_inits(CEmit *e, bool comments)
{
    const Graph *g = e->g;
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
            if (comments) {
                const char *init = node_attr_str(n, "init");
                cp_line(e->p, "/* %s %%%s: %s */", pass == 0 ? "param" : "state", n->name, init ? init : "zeros");
            }
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
}

/* ---- the header --------------------------------------------------------- */

void ce_header_sizes(CEmit *e, const ModelInfo *m, const char *pfx, FILE *h, int64_t device_bytes)
{
    const Graph *g = e->g;
    fprintf(h, "#define %s_INPUT_SIZE %lld    /* floats per sample of input '%s' */\n", pfx,
            (long long)(m->x ? tt_numel_per_sample(&m->x->type) : 0), m->x ? m->x->name : "");
    fprintf(h, "#define %s_OUTPUT_SIZE %lld   /* floats per sample of output '%s' */\n", pfx,
            (long long)(m->out ? tt_numel_per_sample(&m->out->type) : 0), m->out ? g->outputs[0].name : "");
    fprintf(h, "#define %s_ARENA_BYTES %lld   /* planned arena (lower bound %lld) */\n", pfx, (long long)g->arena_bytes,
            (long long)g->arena_lower_bound);
    if (device_bytes >= 0)
        fprintf(h, "#define %s_DEVICE_BYTES %lld   /* the arena and the input slots, on the GPU */\n", pfx,
                (long long)device_bytes);
    fprintf(h, "#define %s_MAX_BATCH %lld    /* largest n of a call */\n", pfx, (long long)g->max_batch);
    fprintf(h, "#define %s_PARAM_COUNT %lld   /* trainable scalars in %d tensors */\n", pfx, (long long)m->nparam_elems,
            m->nparams);
    fprintf(h, "#define %s_PARAM_TENSORS %d\n\n", pfx, m->nparams);
    fprintf(h, "/* The model as the runtime sees it (dlrt_main runs its command line). */\n");
    fprintf(h, "extern const dlrt_model %s_model;\n\n", e->o->prefix);
}

void ce_header_entries(CEmit *e, const ModelInfo *m, const char *pfx, FILE *h, const char *setup_doc,
                       const char *teardown_doc)
{
    const char *P = e->o->prefix;
    fprintf(h, "/* %s */\nint %s_setup(void);\n", setup_doc, P);
    fprintf(h, "/* %s */\nvoid %s_teardown(void);\n", teardown_doc, P);
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
}
