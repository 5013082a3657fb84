/* emit_embed.c - embeddable inference code: a planned inference graph in,
 * one C99 unit that needs no runtime (and, with --no-blas, nothing but
 * libm) and its header out (codegen/embed.h; docs/embedded.md shows the
 * API).
 *
 * The graph is planned with PassOptions.external_leaves: the arena holds
 * the activations only; the caller's input array is read in place, and
 * the weights are data of the unit.  Layout of the unit:
 *
 *   1. the header, then only <cblas.h> (with BLAS), <math.h>, <stdint.h>,
 *      <string.h>: `dlc verify --embedded` checks that list;
 *   2. the weights: `static const float P_dense_1_kernel[401408] = {..};`
 *      with each value written in the shortest decimal that reads back as
 *      the same float; or, with --weights-file, macros naming places in
 *      the blob the caller hands to NAME_set_weights() (checked against
 *      its size, magic and FNV-1a hash); constants the kernels read from
 *      memory are small const arrays too;
 *   3. one macro per activation, `#define T1 ((float *)(arena + 0))`, the
 *      planned offset into whichever arena the call runs on;
 *   4. `static void run(unsigned char *arena, x, out, n)`: the kernels of
 *      what output 0 needs, written by the same kernel emitters as every
 *      other C unit (c_kernels.c, c_gemm.c), so the two cannot drift;
 *   5. the API: NAME_predict / _predict_batch on the one static arena, and
 *      NAME_predict_r / _predict_batch_r on the caller's arena (reentrant:
 *      no other state is written).  A batch larger than NAME_MAX_BATCH is
 *      run in chunks of NAME_MAX_BATCH.
 *
 * The kernels are written to a memory buffer first: the weights and
 * constants are then declared only if the kernels refer to them (an unused
 * static const array would be a warning under -Wall).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "c_emit.h"
#include "embed.h"

/* Floats per blob alignment unit: every tensor of the blob starts on a
 * 64-byte boundary relative to the data. */
#define BLOB_ALIGN_FLOATS 16

/* ---- small helpers ------------------------------------------------------ */

/* The shortest decimal literal (with the f suffix) that reads back as v,
 * since compilers convert a float literal correctly rounded, as strtof. */
static const char *float_lit(float v, char *buf, size_t len)
{
    if (isnan(v)) return "NAN";
    if (isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
    char num[40];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, (double)v);
        float back = strtof(num, NULL);
        if (memcmp(&back, &v, sizeof v) == 0) break;
    }
    snprintf(buf, len, "%s%sf", num, strpbrk(num, ".en") ? "" : ".0");
    return buf;
}

/* Writes `static const float NAME[cnt] = {...};`, values from v (or all
 * equal to *v when `same`), a few to a line. */
static void emit_array(CEmit *e, const char *name, const float *v, int64_t cnt, bool same)
{
    char lit[CP_FLOAT_LEN], line[1024];
    cp_open(e->p, "static const float %s[%lld] =", name, (long long)cnt);
    size_t len = 0;
    for (int64_t k = 0; k < cnt; k++) {
        const char *s = float_lit(same ? v[0] : v[k], lit, sizeof lit);
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s,", len ? " " : "", s);
        if (len > 100 || k + 1 == cnt) {
            cp_line(e->p, "%s", line);
            len = 0;
        }
    }
    cp_close(e->p, ";");
}

/* True if identifier `id` occurs in text as a whole word. */
static bool mentions(const char *text, const char *id)
{
    size_t n = strlen(id);
    for (const char *s = strstr(text, id); s; s = strstr(s + 1, id)) {
        bool before = s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '_');
        bool after = isalnum((unsigned char)s[n]) || s[n] == '_';
        if (!before && !after) return true;
    }
    return false;
}

static bool is_leaf_data(const Node *n)
{
    return n->op == OP_PARAM || n->op == OP_STATE || n->op == OP_HPARAM || n->op == OP_CONST;
}

static void put_u32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- what the model looks like to the API -------------------------------- */

typedef struct EmbedModel {
    const Node *x, *out;
    bool *need;              /* by node id: output 0 depends on it */
    int64_t in_size, out_size;
    int64_t macs;            /* multiply-accumulates of the matrix products, per sample */
    int64_t weight_floats;   /* values of the weights the code reads */
    int64_t blob_floats;     /* with the blob's alignment padding */
    int64_t *blob_off;       /* by node id: float offset in the blob's data */
    bool *stored_t;          /* by node id: a param stored transposed (transposed_params) */
} EmbedModel;

/* Marks the params the BLAS build stores transposed: a 2-D param read only
 * as the B operand of matmuls without trans_b, [K, P], is kept as [P, K]
 * and read with trans_b.  At batch 1 the product is then cblas_sgemv with
 * CblasNoTrans, whose rows (one output's weights each, contiguous) OpenBLAS
 * splits across its threads; the [K, P] form's CblasTrans product ran a
 * quarter slower on two threads here (bench/embed).  The portable loops
 * keep [K, P]: their axpy form vectorizes without reordering sums. */
static void transposed_params(const Graph *g, EmbedModel *m)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_PARAM && m->need[n->id] && n->type.rank == 2) m->stored_t[n->id] = true;
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!m->need[n->id]) continue;
        for (int k = 0; k < n->nin; k++) {
            bool as_b = n->op == OP_MATMUL && k == 1 && node_attr_int(n, "trans_b") == 0;
            if (!as_b) m->stored_t[n->in[k]->id] = false;
        }
    }
    for (int j = 0; j < g->noutputs; j++) m->stored_t[g->outputs[j].node->id] = false;
}

/* The values a leaf's array holds: the weights, transposed for a param
 * stored transposed. */
static const float *leaf_values(const Graph *g, const EmbedModel *m, const EmbedOptions *o, const Node *n)
{
    const float *v = weights_of(o->w, n);
    if (!v) DLC_ICE("no values for '%s'", n->name);
    if (!m->stored_t[n->id]) return v;
    int64_t K = n->type.dims[0], P = n->type.dims[1];
    float *t = ARENA_NEW_N(g->arena, float, K * P);
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < P; j++) t[j * K + k] = v[k * P + j];
    return t;
}

/* Checks that the graph fits the API (one f32 input and one output, both
 * with the batch dimension) and measures it. */
static void embed_model(const Graph *g, EmbedModel *m)
{
    memset(m, 0, sizeof *m);
    if (g->noutputs == 0) dlc_error(SRCLOC_NONE, "model '%s' has no output to embed", g->name);
    m->out = g->outputs[0].node;
    m->need = ARENA_NEW_N(g->arena, bool, g->next_id + 1);
    m->blob_off = ARENA_NEW_N(g->arena, int64_t, g->next_id + 1);
    m->stored_t = ARENA_NEW_N(g->arena, bool, g->next_id + 1);
    const Node *roots[1] = {m->out};
    ce_needed_set(g, roots, 1, m->need);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_INPUT) continue;
        if (!m->x) m->x = n;
        else if (m->need[n->id])
            dlc_error(n->loc, "embedded inference takes one input; output '%s' also needs '%s'", g->outputs[0].name,
                      n->name);
    }
    if (!m->x) ce_no_input_error(g);
    if (m->x->type.dtype != DT_F32) dlc_error(m->x->loc, "the input '%s' must be f32 for the C target", m->x->name);
    if (!tt_has_batch(&m->x->type))
        dlc_error(m->x->loc, "the input '%s' needs the batch dimension N for embedded inference", m->x->name);
    if (!tt_has_batch(&m->out->type))
        dlc_error(m->out->loc, "output '%s' needs the batch dimension N for embedded inference", g->outputs[0].name);
    m->in_size = tt_numel_per_sample(&m->x->type);
    m->out_size = tt_numel_per_sample(&m->out->type);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!m->need[n->id]) continue;
        if (n->op == OP_MATMUL) {
            const TensorType *A = &n->in[0]->type;
            bool ta = node_attr_int(n, "trans_a") != 0;
            int64_t k = ta ? A->dims[0] : A->dims[1];
            if (k == DIM_N) k = 1;
            m->macs += tt_numel(&n->type, 1) * k;
        }
        if (n->op == OP_PARAM || n->op == OP_STATE) {
            int64_t cnt = tt_numel(&n->type, 1);
            m->blob_off[n->id] = m->blob_floats;
            m->weight_floats += cnt;
            m->blob_floats += (cnt + BLOB_ALIGN_FLOATS - 1) / BLOB_ALIGN_FLOATS * BLOB_ALIGN_FLOATS;
        }
    }
}

/* ---- the unit ------------------------------------------------------------ */

/* The body of run(): the kernels, the output copy.  Written to a string. */
static char *run_body(CEmit *e, const EmbedModel *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) DLC_ICE("open_memstream: %s", strerror(errno));
    CPrinter p;
    cp_init(&p, f, e->p->d);
    p.indent = 1;
    CPrinter *outer = e->p;
    e->p = &p;
    if (m->need[m->x->id]) cp_line(&p, "const float *%s = x;", ce_ref(e, m->x));
    else cp_line(&p, "(void)x;");
    cp_blank(&p);
    ce_emit_kernels(e, m->need);
    cp_blank(&p);
    const char *cnt = ext_str(e, ext_of(&m->out->type));
    if (m->out->type.dtype == DT_F32) cp_line(&p, "memcpy(out, %s, %s * sizeof(float));", ce_ref(e, m->out), cnt);
    else cp_line(&p, "for (int64_t i = 0; i < %s; i++) out[i] = (float)%s[i];", cnt, ce_ref(e, m->out));
    e->p = outer;
    if (fclose(f) != 0) DLC_ICE("writing the kernels to memory failed");
    char *r = arena_strdup(e->a, text);
    free(text);
    return r;
}

/* The weights (const arrays or blob macros) and constants the body reads. */
static void emit_data(CEmit *e, const EmbedModel *m, const EmbedOptions *o, const char *body)
{
    const Graph *g = e->g;
    char ty[TT_FMT_LEN];
    if (o->weights_file) {
        cp_line(e->p, "/* ---- weights: in the blob given to %s_set_weights() (from %s) ---- */", o->prefix, o->w->source);
        cp_line(e->p, "static const float *weights;   /* NULL until %s_set_weights() accepts a blob */", o->prefix);
    } else {
        cp_line(e->p, "/* ---- weights, from %s ---- */", o->w->source);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!m->need[n->id] || !is_leaf_data(n) || !mentions(body, ce_ref(e, n))) continue;
        tt_format(&n->type, ty, sizeof ty);
        int64_t cnt = tt_numel(&n->type, g->max_batch);
        if (n->op == OP_PARAM || n->op == OP_STATE) {
            const char *layout = m->stored_t[n->id] ? ", stored transposed" : "";
            if (o->weights_file) { /* the values are in the blob (write_blob) */
                char def[200];
                snprintf(def, sizeof def, "#define %s (weights + %lld)", ce_ref(e, n), (long long)m->blob_off[n->id]);
                cp_line(e->p, "%-52s /* %s %s%s */", def, n->name, ty, layout);
                continue;
            }
            cp_line(e->p, "/* %s %s %s%s */", n->op == OP_PARAM ? "param" : "state", n->name, ty, layout);
            emit_array(e, ce_ref(e, n), leaf_values(g, m, o, n), cnt, false);
        } else {
            /* a constant or hyperparameter the kernels read from memory */
            if (n->type.dtype != DT_F32) dlc_error(n->loc, "embedded code supports f32 constants only");
            float v = (float)node_attr_float(n, "value");
            cp_line(e->p, "/* %s %s */", n->op == OP_CONST ? "const" : n->name, ty);
            emit_array(e, ce_ref(e, n), &v, cnt, true);
        }
    }
    cp_blank(e->p);
}

/* The activations' macros: planned offsets into the arena of the call. */
static void emit_tensor_macros(CEmit *e, const EmbedModel *m)
{
    const Graph *g = e->g;
    char ty[TT_FMT_LEN], def[200];
    cp_line(e->p, "/* ---- activations: fixed places in the arena (the memory plan) ---- */");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!m->need[n->id] || n->offset < 0 || op_info(n->op)->kind == OK_LEAF || ck_is_inlined(n) || ce_is_alias(n))
            continue;
        snprintf(def, sizeof def, "#define %s ((%s *)(arena + %lld))", ce_ref(e, n), ce_ctype(n->type.dtype),
                 (long long)n->offset);
        cp_line(e->p, "%-52s /* %s live [%d,%d] */", def, tt_format(&n->type, ty, sizeof ty), n->live_start, n->live_end);
    }
    cp_blank(e->p);
}

/* NAME_set_weights (weights-file builds). */
static void emit_set_weights(CEmit *e, const EmbedModel *m, const char *P, const char *U, uint32_t hash)
{
    cp_line(e->p, "/* Checks the blob (size, magic, float count, FNV-1a hash of the data) and");
    cp_line(e->p, "   makes it the weights of every later call. */");
    cp_open(e->p, "int %s_set_weights(const void *blob, size_t bytes)", P);
    cp_line(e->p, "const unsigned char *b = (const unsigned char *)blob;");
    cp_line(e->p, "uint32_t count, hash, h = 2166136261u;");
    cp_line(e->p, "if (!blob) return %s_ERR_NULL;", U);
    cp_line(e->p, "if ((uintptr_t)blob %% sizeof(float) != 0) return %s_ERR_ALIGN;", U);
    cp_line(e->p, "if (bytes != %s_WEIGHTS_FILE_BYTES || memcmp(b, \"%s\", 8) != 0) return %s_ERR_WEIGHTS;", U,
            EMBED_BLOB_MAGIC, U);
    cp_line(e->p, "count = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;");
    cp_line(e->p, "hash = (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;");
    cp_line(e->p, "if (count != %lldu || hash != 0x%08lxu) return %s_ERR_WEIGHTS;", (long long)m->blob_floats,
            (unsigned long)hash, U);
    cp_line(e->p, "for (size_t i = %d; i < bytes; i++) h = (h ^ b[i]) * 16777619u;", EMBED_BLOB_HEADER);
    cp_line(e->p, "if (h != hash) return %s_ERR_WEIGHTS;", U);
    cp_line(e->p, "weights = (const float *)(const void *)(b + %d);", EMBED_BLOB_HEADER);
    cp_line(e->p, "return %s_OK;", U);
    cp_close(e->p, "");
    cp_blank(e->p);
}

/* The API around run(). */
static void emit_api(CEmit *e, const EmbedOptions *o, const char *P, const char *U)
{
    cp_line(e->p, "/* Checks the arguments, then runs n samples in chunks of %s_MAX_BATCH. */", U);
    cp_open(e->p, "int %s_predict_batch_r(void *arena, const float *input, float *output, int n)", P);
    cp_line(e->p, "if (!arena || !input || !output) return %s_ERR_NULL;", U);
    cp_line(e->p, "if (n < 0) return %s_ERR_BATCH;", U);
    cp_line(e->p, "if ((uintptr_t)arena %% sizeof(float) != 0) return %s_ERR_ALIGN;", U);
    if (o->weights_file) cp_line(e->p, "if (!weights) return %s_ERR_WEIGHTS;", U);
    cp_open(e->p, "for (int i = 0; i < n; i += %s_MAX_BATCH)", U);
    cp_line(e->p, "const int m = n - i < %s_MAX_BATCH ? n - i : %s_MAX_BATCH;", U, U);
    cp_line(e->p, "run((unsigned char *)arena, input + (size_t)i * %s_INPUT_SIZE, output + (size_t)i * %s_OUTPUT_SIZE, m);",
            U, U);
    cp_close(e->p, "");
    cp_line(e->p, "return %s_OK;", U);
    cp_close(e->p, "");
    cp_blank(e->p);
    cp_open(e->p, "int %s_predict_r(void *arena, const float *input, float *output)", P);
    cp_line(e->p, "return %s_predict_batch_r(arena, input, output, 1);", P);
    cp_close(e->p, "");
    cp_blank(e->p);
    cp_open(e->p, "int %s_predict_batch(const float *input, float *output, int n)", P);
    cp_line(e->p, "return %s_predict_batch_r(static_arena, input, output, n);", P);
    cp_close(e->p, "");
    cp_blank(e->p);
    cp_open(e->p, "int %s_predict(const float *input, float *output)", P);
    cp_line(e->p, "return %s_predict_batch_r(static_arena, input, output, 1);", P);
    cp_close(e->p, "");
}

/* ---- the header ---------------------------------------------------------- */

static void emit_header(const Graph *g, const EmbedModel *m, const EmbedOptions *o, const char *P, const char *U, FILE *h)
{
    char xt[TT_FMT_LEN], ot[TT_FMT_LEN];
    tt_format(&m->x->type, xt, sizeof xt);
    tt_format(&m->out->type, ot, sizeof ot);
    fprintf(h, "/* %s.h - embeddable inference for model '%s', generated by dlc.  Do not edit.\n", P, g->name);
    fprintf(h,
            " *\n"
            " * Plain C99: no heap, no stdio, no runtime library%s.  Input '%s' %s,\n"
            " * output '%s' %s, per sample %lld and %lld floats, row after row.\n"
            " * Weights: %s (from %s).\n"
            " *\n"
            " *   float in[%s_INPUT_SIZE], out[%s_OUTPUT_SIZE];\n"
            " *   if (%s_predict(in, out) != %s_OK) { ... }\n"
            " *\n"
            " * %s_predict and %s_predict_batch use one static arena of\n"
            " * %s_ARENA_BYTES bytes: not reentrant.  The _r variants take the\n"
            " * caller's arena instead (%s_ARENA_BYTES bytes, aligned to a float at\n"
            " * least, to %s_ARENA_ALIGN for speed) and write nothing else, so calls on\n"
            " * different arenas may run at the same time.  A batch of n samples is run\n"
            " * %s_MAX_BATCH at a time.  Output must not overlap the input or the arena.\n",
            o->use_blas ? " (BLAS: cblas_sgemm / cblas_sgemv)" : " (libm only)", m->x->name, xt, g->outputs[0].name, ot,
            (long long)m->in_size, (long long)m->out_size,
            o->weights_file ? arena_printf(g->arena, "a separate blob, handed over with %s_set_weights()", P)
                            : "const arrays in the unit",
            o->w->source, U, U, P, U,
            P, P, U, U, U, U);
    if (o->weights_file) {
        fprintf(h, " * %s_set_weights(blob, bytes) must accept the blob (%s.weights, %s_WEIGHTS_FILE_BYTES\n"
                   " * bytes, float-aligned, kept alive) before any prediction.\n",
                P, P, U);
    }
    fprintf(h, " *\n * Every function returns %s_OK (0) or one of the negative %s_ERR_* codes.\n */\n", U, U);
    fprintf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n", U, U);
    fprintf(h, "#define %s_INPUT_SIZE %lld      /* floats per sample of input '%s' */\n", U, (long long)m->in_size, m->x->name);
    fprintf(h, "#define %s_OUTPUT_SIZE %lld     /* floats per sample of output '%s' */\n", U, (long long)m->out_size,
            g->outputs[0].name);
    fprintf(h, "#define %s_MAX_BATCH %lld       /* samples per run of the kernels (the arena's batch) */\n", U,
            (long long)g->max_batch);
    fprintf(h, "#define %s_ARENA_BYTES %lld     /* activations, as planned (lower bound %lld) */\n", U,
            (long long)g->arena_bytes, (long long)g->arena_lower_bound);
    fprintf(h, "#define %s_ARENA_ALIGN 64       /* alignment the plan assumes for speed (4 is enough) */\n", U);
    fprintf(h, "#define %s_WEIGHT_BYTES %lld    /* bytes of weight values (%lld floats) */\n", U,
            (long long)m->weight_floats * 4, (long long)m->weight_floats);
    if (o->weights_file)
        fprintf(h, "#define %s_WEIGHTS_FILE_BYTES %lld  /* size of %s.weights: %d-byte header, aligned tensors */\n", U,
                (long long)(EMBED_BLOB_HEADER + m->blob_floats * 4), P, EMBED_BLOB_HEADER);
    fprintf(h, "#define %s_MACS %lld            /* multiply-accumulates per sample (matrix products) */\n\n", U,
            (long long)m->macs);
    fprintf(h, "/* Return codes. */\n");
    fprintf(h, "#define %s_OK 0\n", U);
    fprintf(h, "#define %s_ERR_NULL (-1)        /* a pointer argument is NULL */\n", U);
    fprintf(h, "#define %s_ERR_BATCH (-2)       /* n < 0 */\n", U);
    fprintf(h, "#define %s_ERR_ALIGN (-3)       /* the arena (or blob) is not aligned to a float */\n", U);
    fprintf(h, "#define %s_ERR_WEIGHTS (-4)     /* no weights yet, or a blob that is not this model's */\n\n", U);
    if (o->weights_file)
        fprintf(h, "/* Makes blob (the contents of %s.weights) the weights of later calls. */\n"
                   "int %s_set_weights(const void *blob, size_t bytes);\n",
                P, P);
    fprintf(h, "/* One sample: input[%s_INPUT_SIZE] -> output[%s_OUTPUT_SIZE]. */\n"
               "int %s_predict(const float *input, float *output);\n", U, U, P);
    fprintf(h, "/* n >= 0 samples (n = 0 does nothing): n * %s_INPUT_SIZE floats in,\n"
               "   n * %s_OUTPUT_SIZE out. */\n"
               "int %s_predict_batch(const float *input, float *output, int n);\n", U, U, P);
    fprintf(h, "/* The same on the caller's arena (reentrant). */\n"
               "int %s_predict_r(void *arena, const float *input, float *output);\n"
               "int %s_predict_batch_r(void *arena, const float *input, float *output, int n);\n",
            P, P);
    fprintf(h, "\n#endif\n");
}

/* ---- the blob ------------------------------------------------------------ */

/* Writes the weights blob; returns the FNV-1a hash of its data. */
static uint32_t write_blob(const Graph *g, const EmbedModel *m, const EmbedOptions *o, FILE *blob)
{
    size_t bytes = (size_t)m->blob_floats * 4;
    unsigned char *data = calloc(bytes ? bytes : 1, 1);
    if (!data) DLC_ICE("out of memory for the weights blob (%zu bytes)", bytes);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!m->need[n->id] || (n->op != OP_PARAM && n->op != OP_STATE)) continue;
        const float *v = leaf_values(g, m, o, n);
        int64_t cnt = tt_numel(&n->type, 1);
        for (int64_t k = 0; k < cnt; k++) {
            uint32_t u;
            memcpy(&u, &v[k], 4);
            put_u32le(data + (size_t)(m->blob_off[n->id] + k) * 4, u);
        }
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < bytes; i++) h = (h ^ data[i]) * 16777619u;
    unsigned char head[EMBED_BLOB_HEADER] = {0};
    memcpy(head, EMBED_BLOB_MAGIC, 8);
    put_u32le(head + 8, (uint32_t)m->blob_floats);
    put_u32le(head + 12, h);
    if (blob) {
        fwrite(head, 1, sizeof head, blob);
        fwrite(data, 1, bytes, blob);
    }
    free(data);
    return h;
}

/* ---- entry --------------------------------------------------------------- */

int codegen_emit_embed(const Graph *g, const EmbedOptions *o, FILE *c, FILE *h, FILE *blob)
{
    Arena *a = g->arena;
    EmbedOptions opts = *o;
    if (!opts.prefix) opts.prefix = g->name;
    const char *P = opts.prefix;
    char *U = arena_strdup(a, P);
    for (char *q = U; *q; q++) *q = (char)toupper((unsigned char)*q);
    if (g->mode != MODE_INFER) DLC_ICE("embedded code from a graph not in infer mode");
    if (opts.weights_file && !blob) DLC_ICE("weights_file without a blob stream");
    if (g->max_batch > 1 << 24) DLC_ICE("max batch %lld out of range", (long long)g->max_batch);

    EmbedModel m;
    embed_model(g, &m);
    if (m.blob_floats > 0xffffffffll) dlc_error(SRCLOC_NONE, "the weights are too large for a blob (%lld floats)", (long long)m.blob_floats);

    CodegenOptions co = {TARGET_C, P, false, opts.use_blas};
    CPrinter p;
    cp_init(&p, c, &cdialect_c99);
    if (opts.use_blas) transposed_params(g, &m);
    CEmit e = {g, &co, &p, a, ENTRY_PREDICT, NULL, NULL, m.stored_t, false};
    ce_name_nodes(&e, "in_");
    char *body = run_body(&e, &m);
    uint32_t hash = opts.weights_file ? write_blob(g, &m, &opts, blob) : 0;

    cp_line(&p, "/* %s.c - embeddable inference for model '%s', generated by dlc.  Do not edit.", P, g->name);
    cp_line(&p, " *");
    cp_line(&p, " * C99, no heap, no stdio, no runtime; %s.", opts.use_blas ? "matrix products through BLAS" : "needs only libm");
    cp_line(&p, " * Straight-line kernels over an arena of %lld bytes (lower bound %lld) holding", (long long)g->arena_bytes,
            (long long)g->arena_lower_bound);
    cp_line(&p, " * the activations of up to %lld samples.  Each kernel names the IR node it implements", (long long)g->max_batch);
    cp_line(&p, " * (as `dlc ir` prints it) and the model source line it came from.");
    cp_line(&p, " */");
    cp_line(&p, "#include \"%s.h\"", P);
    cp_blank(&p);
    if (opts.use_blas) cp_line(&p, "#include <cblas.h>");
    cp_line(&p, "#include <math.h>");
    cp_line(&p, "#include <stdint.h>");
    cp_line(&p, "#include <string.h>");
    cp_blank(&p);
    emit_data(&e, &m, &opts, body);
    emit_tensor_macros(&e, &m);
    cp_line(&p, "/* The arena of %s_predict and %s_predict_batch. */", P, P);
    long long floats = (long long)((g->arena_bytes + 3) / 4);
    if (floats < 1) floats = 1; /* C has no empty arrays */
    cp_line(&p, "#if defined(__GNUC__)");
    cp_line(&p, "static float static_arena[%lld] __attribute__((aligned(64)));", floats);
    cp_line(&p, "#else");
    cp_line(&p, "static float static_arena[%lld];", floats);
    cp_line(&p, "#endif");
    cp_blank(&p);
    cp_line(&p, "/* Inference on n <= %s_MAX_BATCH samples with the activations in arena. */", U);
    cp_open(&p, "static void run(unsigned char *arena, const float *x, float *out, int64_t n)");
    cp_line(&p, "(void)arena;   /* (unused when the model needs no activations) */");
    cp_line(&p, "(void)n;");
    fputs(body, c);
    cp_close(&p, "");
    cp_blank(&p);
    if (opts.weights_file) emit_set_weights(&e, &m, P, U, hash);
    emit_api(&e, &opts, P, U);
    emit_header(g, &m, &opts, P, U, h);
    return 0;
}
