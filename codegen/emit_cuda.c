/* emit_cuda.c - the CUDA code generator: a planned graph in, NAME.cu and
 * NAME.h out (cuda_codegen_emit, codegen/cuda_emit.h).
 *
 * The generated unit keeps the C unit's shape (docs/codegen.md) and its
 * memory plan; what changes is where things run (docs/cuda.md):
 *
 *   1. includes, among them runtime/cuda/dlrt_cuda.h (CUDA, cuBLAS, the
 *      launch macro, graphs; or their host emulation); `static unsigned
 *      char *arena`, now managed memory: the planned tensors, then staging
 *      slots for the batch's inputs and the step's RNG key, which kernels
 *      read from device memory so that a captured graph can be replayed;
 *   2. the tensor macros, exactly the C generator's `((float *)(arena + OFF))`:
 *      inside kernels `arena` is the kernel's argument (the same address);
 *   3. the persistent tensor table (params, then states: the runtime
 *      checkpoints them through these host-visible pointers);
 *   4. one __global__ kernel per computing node (cuda_kernels.c), named
 *      k<K> after the node's %K;
 *   5. per entry point an `enqueue` function that puts the entry's work on
 *      the stream in graph order (kernel launches, cuBLAS calls, copies);
 *      train_step and eval_step replay it as a CUDA Graph captured once per
 *      batch size, predict runs it directly;
 *   6. the entry points, with the C generator's signatures (host pointers
 *      in, host results out: inputs are copied into their slots, the loss
 *      and metrics back, and the program calls them exactly as it calls
 *      the C ones), setup / teardown / init_params / set_learning_rate,
 *      the dlrt_model description and, for executables, main();
 *   7. in training units, the data kept on the device: bind_data uploads a
 *      split once, train_step_rows / eval_step_rows copy only the batch's
 *      row numbers and replay graphs that begin with the gather kernel
 *      (dlrt_gather_rows) before the step's work.
 *
 * init_params draws on the host with the runtime's initializers, as the C
 * program does, so both start from the same bits.
 */
#include <stdlib.h>
#include <string.h>

#include "cuda_emit.h"
#include "targets.h"

/* ---- the model's shape ---------------------------------------------------- */

/* Bytes of the step header in the step slot (DLRT_STEP_HEADER of
 * runtime/cuda/dlrt_cuda.h; the generated unit checks they agree). */
#define STEP_HEADER_BYTES 64

/* The staging slots the CUDA unit keeps after the planned tensors. */
typedef struct CudaSlots {
    int64_t x_off, y_off, key_off, scratch_off, ones_off, total;
} CudaSlots;

static int64_t align64(int64_t v)
{
    return (v + 63) / 64 * 64;
}

/* The model's shape (as the C generator sees it, and output 0 must be
 * f32) and where the staging slots go. */
static void model_info(const Graph *g, ModelInfo *m, CudaSlots *sl)
{
    ce_model_info(g, m, "CUDA");
    if (m->out && m->out->type.dtype != DT_F32)
        dlc_error(m->out->loc, "output '%s' must be f32 for the CUDA target", g->outputs[0].name);
    sl->x_off = align64(g->arena_bytes);
    sl->y_off = align64(sl->x_off + (m->x ? tt_numel(&m->x->type, g->max_batch) * 4 : 0));
    sl->key_off = align64(sl->y_off + (m->y ? tt_numel(&m->y->type, g->max_batch) * (int64_t)dtype_size(m->y->type.dtype) : 0));
    /* the step header (dlrt_cuda_step: key, bound split), then in training
       the batch's row numbers */
    sl->scratch_off = sl->key_off + align64(STEP_HEADER_BYTES + (m->train ? g->max_batch * 8 : 0));
    sl->ones_off = sl->scratch_off + align64(cu_scratch_rows(g) * 8);
    sl->total = sl->ones_off + align64(g->max_batch * 4);
}

/* ---- kernel names ---------------------------------------------------------- */

/* The kernel name of a node in an entry (dropout masks differ between a
 * training step and the others). */
static const char *kname(CEmit *e, const Node *n, EntryKind k)
{
    if (n->op == OP_DROPOUT_MASK && k != ENTRY_TRAIN) return arena_printf(e->a, "k%d_ones", e->num[n->id]);
    return arena_printf(e->a, "k%d", e->num[n->id]);
}

/* ---- launch groups -------------------------------------------------------
 *
 * The `launch` pass (passes/launch.c) numbers each entry's launches on the
 * nodes: Node.launch[k], and Node.launch_seg[k] for the members of a launch
 * group (consecutive elementwise kernels over static extents merged into
 * one launch, their thread ranges laid end to end).  Here they are read
 * back into the launches of an entry, in order.
 */

_Static_assert(ENTRY_TRAIN == (int)IR_ENTRY_TRAIN && ENTRY_EVAL == (int)IR_ENTRY_EVAL &&
                   ENTRY_PREDICT == (int)IR_ENTRY_PREDICT,
               "codegen's EntryKind indexes Node.launch");

/* One launch of an entry: a node's own kernel (or host work), or a group. */
typedef struct LaunchStep {
    const Node *node;    /* NULL for a group */
    int nseg;
    const Node **nodes;  /* the group's nodes, segment after segment */
    int *seg_len;        /* nodes per segment */
    int64_t *seg_count;  /* threads per segment */
} LaunchStep;

typedef struct LaunchPlan {
    LaunchStep *steps;
    int nsteps;
} LaunchPlan;

/* The launches of entry k (computing `need`), as the `launch` pass
 * numbered them: nodes in graph order (assigns last), a group's nodes
 * segment after segment, each segment's in that order.  Checks that the
 * pass ran and agrees with cu_launch_kind on which nodes launch work. */
static LaunchPlan plan_launches(CEmit *e, const bool *need, EntryKind k)
{
    const Graph *g = e->g;
    LaunchPlan lp = {ARENA_NEW_N(e->a, LaunchStep, g->nnodes + 1), 0};
    const Node **order = ARENA_NEW_N(e->a, const Node *, g->nnodes + 1);
    int no = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->nnodes; i++) {
            const Node *n = g->nodes[i];
            if (!need[n->id] || op_info(n->op)->kind == OK_LEAF) continue;
            if ((n->op == OP_ASSIGN) != (pass == 1)) continue;
            const char *count;
            bool none = cu_launch_kind(e, n, &count) == CL_NONE;
            int s = n->launch[k];
            if (none != (s < 0))
                DLC_ICE("node %%%d (%s) %s a launch in entry %d: the `launch` pass did not run (PassOptions.launch_groups) "
                        "or disagrees with the CUDA emitter",
                        e->num[n->id], op_info(n->op)->name, none ? "has" : "has no", (int)k);
            if (none) continue;
            DLC_ASSERT(s < g->nnodes);
            if (s >= lp.nsteps) lp.nsteps = s + 1;
            LaunchStep *st = &lp.steps[s];
            if (n->launch_seg[k] < 0) {
                st->node = n;
                continue;
            }
            if (n->launch_seg[k] >= st->nseg) st->nseg = n->launch_seg[k] + 1;
            order[no++] = n;
        }
    for (int s = 0; s < lp.nsteps; s++) {
        LaunchStep *st = &lp.steps[s];
        if (!st->nseg) continue;
        st->seg_len = ARENA_NEW_N(e->a, int, st->nseg);
        st->seg_count = ARENA_NEW_N(e->a, int64_t, st->nseg);
    }
    for (int i = 0; i < no; i++) {
        LaunchStep *st = &lp.steps[order[i]->launch[k]];
        st->seg_len[order[i]->launch_seg[k]]++;
        st->seg_count[order[i]->launch_seg[k]] = ext_of(&order[i]->type).c;
    }
    /* each group's nodes at the start of their segment, then in order */
    int **at = ARENA_NEW_N(e->a, int *, lp.nsteps + 1);
    for (int s = 0; s < lp.nsteps; s++) {
        LaunchStep *st = &lp.steps[s];
        if (!st->nseg) continue;
        at[s] = ARENA_NEW_N(e->a, int, st->nseg);
        int total = 0;
        for (int sg = 0; sg < st->nseg; sg++) {
            at[s][sg] = total;
            total += st->seg_len[sg];
        }
        st->nodes = ARENA_NEW_N(e->a, const Node *, total);
    }
    for (int i = 0; i < no; i++) {
        int s = order[i]->launch[k];
        lp.steps[s].nodes[at[s][order[i]->launch_seg[k]]++] = order[i];
    }
    return lp;
}

/* The kernel of launch group `name`: the segments' thread ranges end to
 * end; each thread runs its segment's bodies at its index, in order. */
static void emit_group_kernel(CEmit *e, const LaunchStep *st, const char *name)
{
    cp_line(e->p, "/* launch group: %d segments, one thread per element of each */", st->nseg);
    cp_open(e->p, "__global__ void %s(unsigned char *arena, int64_t n)", name);
    cp_line(e->p, "int64_t i = DLRT_TID;");
    int k = 0;
    for (int sg = 0; sg < st->nseg; sg++) {
        cp_open(e->p, "if (i < %lld)", (long long)st->seg_count[sg]);
        for (int j = 0; j < st->seg_len[sg]; j++, k++) {
            const Node *n = st->nodes[k];
            char ty[TT_FMT_LEN];
            cp_line(e->p, "k%d_at(arena, n, i);   /* %%%d = %s : %s */", e->num[n->id], e->num[n->id], op_info(n->op)->name,
                    tt_format(&n->type, ty, sizeof ty));
        }
        cp_line(e->p, "return;");
        cp_close(e->p, "");
        if (sg + 1 < st->nseg) cp_line(e->p, "i -= %lld;", (long long)st->seg_count[sg]);
    }
    cp_line(e->p, "(void)n;");
    cp_close(e->p, "");
    cp_blank(e->p);
}

static int64_t group_threads(const LaunchStep *st)
{
    int64_t t = 0;
    for (int sg = 0; sg < st->nseg; sg++) t += st->seg_count[sg];
    return t;
}

static const char *const entry_tag[3] = {"t", "e", "p"};

/* Writes the kernels of every node some entry needs. */
static void emit_all_kernels(CEmit *e, bool *const *needs)
{
    const Graph *g = e->g;
    cp_line(e->p, "/* ---- kernels: one per computing node (k<K> computes %%K) ---- */");
    cp_blank(e->p);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (op_info(n->op)->kind == OK_LEAF) continue;
        bool any = false, other = false;
        for (int k = 0; k < 3; k++) {
            any |= needs[k] && needs[k][n->id];
            other |= k != ENTRY_TRAIN && needs[k] && needs[k][n->id];
        }
        if (!any) continue;
        const char *count;
        CudaLaunch l = cu_launch_kind(e, n, &count);
        if (l != CL_GRID && l != CL_SINGLE && l != CL_ROWS) continue;
        for (int v = 0; v < 2; v++) {
            EntryKind k = v == 0 ? ENTRY_TRAIN : ENTRY_EVAL;
            if (v == 1 && !(n->op == OP_DROPOUT_MASK && other)) continue;
            if (v == 0 && n->op == OP_DROPOUT_MASK && !(needs[ENTRY_TRAIN] && needs[ENTRY_TRAIN][n->id])) continue;
            e->entry = k;
            ck_comment(e, n);
            cu_emit_kernel(e, n, kname(e, n, k));
            cp_blank(e->p);
        }
    }
    for (int k = 0; k < 3; k++) {
        if (!needs[k]) continue;
        LaunchPlan lp = plan_launches(e, needs[k], (EntryKind)k);
        for (int s = 0; s < lp.nsteps; s++)
            if (!lp.steps[s].node) emit_group_kernel(e, &lp.steps[s], arena_printf(e->a, "g%s%d", entry_tag[k], s));
    }
}

/* static void <entry>_enqueue(int64_t n): the entry's work on the stream. */
static void emit_enqueue(CEmit *e, const char *fn, const bool *need, EntryKind k)
{
    cp_open(e->p, "static void %s(int64_t n)", fn);
    cp_line(e->p, "(void)n;");
    LaunchPlan lp = plan_launches(e, need, k);
    for (int s = 0; s < lp.nsteps; s++) {
        const LaunchStep *st = &lp.steps[s];
        if (!st->node) {
            cp_line(e->p, "DLRT_LAUNCH(g%s%d, DLRT_GRID(%lld), DLRT_BLOCK, arena, n);", entry_tag[k], s,
                    (long long)group_threads(st));
            continue;
        }
        const Node *n = st->node;
        const char *count;
        CudaLaunch l = cu_launch_kind(e, n, &count);
        const char *kn = kname(e, n, k);
        if (l == CL_ROWS) {
            cp_line(e->p, "DLRT_LAUNCH(%s, DLRT_GRID(%s), DLRT_BLOCK, arena, n);", kn, count);
            cp_line(e->p, "DLRT_LAUNCH(%s_sum, 1, 1, arena, n);", kn);
        } else if (l == CL_GRID) cp_line(e->p, "DLRT_LAUNCH(%s, DLRT_GRID(%s), DLRT_BLOCK, arena, n);", kn, count);
        else if (l == CL_SINGLE) cp_line(e->p, "DLRT_LAUNCH(%s, 1, 1, arena, n);", kn);
        else cu_emit_host(e, n);
    }
    cp_close(e->p, "");
    cp_blank(e->p);
}

/* Copies the batch into the input slots. */
static void stage_inputs(CEmit *e, const ModelInfo *m, bool has_y)
{
    if (m->x)
        cp_line(e->p, "dlrt_cuda_copy(%s, x, (size_t)(%s) * sizeof(float));", ce_ref(e, m->x), ext_str(e, ext_of(&m->x->type)));
    else cp_line(e->p, "(void)x;");
    if (has_y) {
        if (m->y)
            cp_line(e->p, "dlrt_cuda_copy(%s, y, (size_t)(%s) * %d);", ce_ref(e, m->y), ext_str(e, ext_of(&m->y->type)),
                    (int)dtype_size(m->y->type.dtype));
        else cp_line(e->p, "(void)y;");
    }
}

/* Queues the copies of the step's loss and metrics into the pinned results
 * buffer (asynchronous DMA, unlike copies into the caller's pageable
 * memory, each of which would wait for the step), waits for the step once,
 * then hands them over. */
static void emit_step_results(CEmit *e)
{
    const Graph *g = e->g;
    cp_line(e->p, "float *r = (float *)dlrt_cuda_results.p;");
    cp_line(e->p, "dlrt_cuda_copy(r, %s, sizeof(float));   /* loss */", ce_ref(e, g->loss));
    for (int i = 0; i < g->nmetrics; i++)
        cp_line(e->p, "dlrt_cuda_copy(r + %d, %s, sizeof(float));   /* %s */", i + 1, ce_ref(e, g->metrics[i].node),
                g->metrics[i].name);
    cp_line(e->p, "dlrt_cuda_sync();");
    cp_line(e->p, "*loss = r[0];");
    if (g->nmetrics == 0) cp_line(e->p, "(void)metrics;");
    else cp_line(e->p, "memcpy(metrics, r + 1, %d * sizeof(float));", g->nmetrics);
}

static void emit_step(CEmit *e, const ModelInfo *m, const char *pfx, bool train)
{
    const char *P = e->o->prefix, *X = e->p->d->fn_export;
    if (train) {
        cp_line(e->p, "/* One optimization step on n <= %s_MAX_BATCH samples (a CUDA Graph per n). */", pfx);
        cp_open(e->p, "%svoid %s_train_step(const float *x, const void *y, int64_t n, uint64_t rng_key, float *loss, float *metrics)", X, P);
    } else {
        cp_line(e->p, "/* Loss and metrics of n <= %s_MAX_BATCH samples; updates nothing. */", pfx);
        cp_open(e->p, "%svoid %s_eval_step(const float *x, const void *y, int64_t n, float *loss, float *metrics)", X, P);
    }
    stage_inputs(e, m, true);
    if (train) cp_line(e->p, "dlrt_cuda_copy(DLRT_STEP_KEY, &rng_key, sizeof rng_key);");
    cp_line(e->p, "DLRT_CUDA_GRAPH_RUN(&%s_graphs, n, %s_enqueue(n));", train ? "train" : "eval", train ? "train" : "eval");
    emit_step_results(e);
    cp_close(e->p, "");
    cp_blank(e->p);
}

/* The data kept on the device: bind_data, the batch gather, and the steps
 * over row numbers of a bound split (train_step_rows, eval_step_rows), which
 * replay graphs of their own: the gather, then the step's work. */
static void emit_data_entries(CEmit *e, const ModelInfo *m)
{
    const char *P = e->o->prefix, *X = e->p->d->fn_export;
    long long in_size = m->x ? (long long)tt_numel_per_sample(&m->x->type) : 0;
    long long label_size = m->y ? (long long)tt_numel_per_sample(&m->y->type) : 0;

    cp_line(e->p, "/* Keeps a copy of data set split 0 (training) or 1 (test) on the device. */");
    cp_open(e->p, "%sint %s_bind_data(int split, int64_t count, const uint8_t *xb, const float *x, const void *y)", X, P);
    cp_line(e->p, "if (split < 0 || split > 1 || !arena) return -1;");
    cp_line(e->p, "return dlrt_cuda_data_bind(&data_splits[split], count, %lld, %lld, %lld, xb, x, y);", in_size,
            label_size, (long long)e->g->max_batch);
    cp_close(e->p, "");
    cp_blank(e->p);

    cp_line(e->p, "/* The batch: the samples the step slot's rows name, from the bound split into the input slots. */");
    cp_open(e->p, "static void gather_enqueue(int64_t n)");
    cp_line(e->p, "DLRT_LAUNCH(dlrt_gather_rows, DLRT_GRID(n * %lld), DLRT_BLOCK, DLRT_STEP_SLOT, n, %lldll, %lldll, %s, %s);",
            in_size + label_size, in_size, label_size, m->x ? ce_ref(e, m->x) : "NULL",
            m->y ? arena_printf(e->a, "(uint32_t *)%s", ce_ref(e, m->y)) : "NULL");
    cp_close(e->p, "");
    cp_blank(e->p);

    for (int train = 1; train >= 0; train--) {
        const char *what = train ? "train" : "eval";
        if (train) {
            cp_line(e->p, "/* train_step on samples rows[0..n) of the bound training split. */");
            cp_open(e->p, "%svoid %s_train_step_rows(const int64_t *rows, int64_t n, uint64_t rng_key, float *loss, float *metrics)", X, P);
            cp_line(e->p, "dlrt_cuda_stage_rows(DLRT_STEP_SLOT, &data_splits[0], rows, n, %lld, rng_key, prog_name);",
                    (long long)e->g->max_batch);
        } else {
            cp_line(e->p, "/* eval_step on samples rows[0..n) of bound split `split`. */");
            cp_open(e->p, "%svoid %s_eval_step_rows(int split, const int64_t *rows, int64_t n, float *loss, float *metrics)", X, P);
            cp_line(e->p, "dlrt_cuda_stage_rows(DLRT_STEP_SLOT, split == 0 || split == 1 ? &data_splits[split] : NULL, rows, n, %lld, 0,",
                    (long long)e->g->max_batch);
            cp_line(e->p, "                     prog_name);");
        }
        cp_line(e->p, "DLRT_CUDA_GRAPH_RUN(&%s_rows_graphs, n, (gather_enqueue(n), %s_enqueue(n)));", what, what);
        emit_step_results(e);
        cp_close(e->p, "");
        cp_blank(e->p);
    }
}

static void emit_predict(CEmit *e, const ModelInfo *m, const char *pfx)
{
    const Graph *g = e->g;
    cp_line(e->p, "/* Inference: out receives n * %s_OUTPUT_SIZE floats (output '%s'). */", pfx, g->outputs[0].name);
    cp_open(e->p, "%svoid %s_predict(const float *x, float *out, int64_t n)", e->p->d->fn_export, e->o->prefix);
    stage_inputs(e, m, false);
    cp_line(e->p, "predict_enqueue(n);");
    cp_line(e->p, "dlrt_cuda_copy(out, %s, (size_t)(%s) * sizeof(float));", ce_ref(e, m->out), ext_str(e, ext_of(&m->out->type)));
    cp_line(e->p, "dlrt_cuda_sync();");
    cp_close(e->p, "");
    cp_blank(e->p);
}

/* setup, teardown, init_params, set_learning_rate. */
static void emit_lifecycle(CEmit *e, const ModelInfo *m, const char *pfx)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix, *X = e->p->d->fn_export;

    cp_line(e->p, "/* Finds the GPU (none: a message and exit 1), allocates the arena, points");
    cp_line(e->p, "   the tensor table into it and writes the hyperparameters and constants.");
    cp_line(e->p, "   Returns 0, or -1 without memory. */");
    cp_open(e->p, "%sint %s_setup(void)", X, P);
    cp_line(e->p, "if (arena) return 0;");
    cp_line(e->p, "dlrt_cuda_init(prog_name);");
    cp_line(e->p, "arena = (unsigned char *)dlrt_cuda_alloc(%s_DEVICE_BYTES);", pfx);
    cp_line(e->p, "if (!arena) return -1;");
    if (m->train) cp_line(e->p, "if (dlrt_cuda_pinned_reserve(&dlrt_cuda_results, %d * sizeof(float))) return -1;", e->g->nmetrics + 1);
    cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) DLRT_ONES[i] = 1.0f;", (long long)g->max_batch);
    ce_emit_setup_values(e);
    cp_line(e->p, "return 0;");
    cp_close(e->p, "");
    cp_blank(e->p);

    cp_line(e->p, "/* Frees the graphs, the arena and the device's handles. */");
    cp_open(e->p, "%svoid %s_teardown(void)", X, P);
    cp_line(e->p, "if (!arena) return;");
    cp_line(e->p, "dlrt_cuda_sync();");
    if (m->train) {
        cp_line(e->p, "dlrt_cuda_graphs_free(&train_graphs);");
        cp_line(e->p, "dlrt_cuda_graphs_free(&eval_graphs);");
        cp_line(e->p, "dlrt_cuda_graphs_free(&train_rows_graphs);");
        cp_line(e->p, "dlrt_cuda_graphs_free(&eval_rows_graphs);");
        cp_line(e->p, "dlrt_cuda_data_free(&data_splits[0]);");
        cp_line(e->p, "dlrt_cuda_data_free(&data_splits[1]);");
    }
    cp_line(e->p, "dlrt_cuda_free(arena);");
    cp_line(e->p, "arena = NULL;");
    cp_line(e->p, "dlrt_cuda_fini();");
    cp_line(e->p, "for (int i = 0; i < %d; i++) tensors[i].data = NULL;", m->nparams + m->nstate);
    cp_close(e->p, "");
    cp_blank(e->p);

    cp_line(e->p, "/* Draws the parameters on the host, as the C program does (the stream of a");
    cp_line(e->p, "   tensor is dlrt_key(seed, fnv1a64(its name))), and resets the state. */");
    cp_open(e->p, "%svoid %s_init_params(uint64_t seed)", X, P);
    if (m->nparams + m->nstate == 0) cp_line(e->p, "(void)seed;");
    cp_line(e->p, "dlrt_cuda_sync();");
    ce_emit_param_inits(e, false);
    cp_close(e->p, "");
    cp_blank(e->p);

    if (m->lr) {
        cp_line(e->p, "/* Sets the learning rate used by the following steps. */");
        cp_open(e->p, "%svoid %s_set_learning_rate(double lr)", X, P);
        cp_line(e->p, "const float v = (float)lr;");
        cp_line(e->p, "dlrt_cuda_copy(%s, &v, sizeof v);", ce_ref(e, m->lr));
        cp_line(e->p, "dlrt_cuda_sync();");
        cp_close(e->p, "");
        cp_blank(e->p);
    }
}

static void emit_model(CEmit *e, const ModelInfo *m)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    /* Filled field by field on a zeroed struct (C++ has no C-style
       designated initializers): the order of dlrt_model's fields does not
       matter, and fields the runtime adds later start as zero / NULL. */
    cp_line(e->p, "/* The model as the runtime sees it (built before main runs). */");
    cp_open(e->p, "static dlrt_model describe_model(void)");
    cp_line(e->p, "dlrt_model m;");
    cp_line(e->p, "memset(&m, 0, sizeof m);");
    cp_line(e->p, "m.name = \"%s\";", ce_cstr(e->a, g->name));
    if (m->x) {
        int r = 0;
        for (int d = tt_has_batch(&m->x->type) ? 1 : 0; d < m->x->type.rank; d++, r++)
            cp_line(e->p, "m.in_dims[%d] = %lld;", r, (long long)m->x->type.dims[d]);
        cp_line(e->p, "m.in_rank = %d;", r);
        cp_line(e->p, "m.in_size = %lld;", (long long)tt_numel_per_sample(&m->x->type));
    }
    if (m->out) cp_line(e->p, "m.out_size = %lld;", (long long)tt_numel_per_sample(&m->out->type));
    cp_line(e->p, "m.label_dtype = %s;", m->y ? ce_dlrt_dtype(m->y->type.dtype) : "DLRT_F32");
    cp_line(e->p, "m.label_size = %lld;", (long long)(m->y ? tt_numel_per_sample(&m->y->type) : 0));
    if (m->label_classes > 0) cp_line(e->p, "m.label_classes = %lld;", (long long)m->label_classes);
    if (m->label_binary) cp_line(e->p, "m.label_binary = 1;");
    if (m->out_values) cp_line(e->p, "m.out_values = 1;");
    if (m->out_mixes_rows) cp_line(e->p, "m.out_mixes_rows = 1;");
    cp_line(e->p, "m.max_batch = %lld;", (long long)g->max_batch);
    cp_line(e->p, "m.batch_size = %lld;", (long long)m->batch_size);
    cp_line(e->p, "m.epochs = %lld;", (long long)m->epochs);
    cp_line(e->p, "m.seed = %lluu;", (unsigned long long)m->seed);
    cp_line(e->p, "m.learning_rate = %.17g;", m->learning_rate);
    if (m->train && g->train.optimizer) cp_line(e->p, "m.optimizer = \"%s\";", ce_cstr(e->a, g->train.optimizer));
    if (m->train && g->nmetrics) {
        cp_line(e->p, "m.nmetrics = %d;", g->nmetrics);
        cp_line(e->p, "m.metric_names = metric_names;");
    }
    cp_line(e->p, "m.nparams = %d;", m->nparams);
    cp_line(e->p, "m.nstate = %d;", m->nstate);
    cp_line(e->p, "m.tensors = tensors;");
    cp_line(e->p, "m.setup = %s_setup;", P);
    cp_line(e->p, "m.teardown = %s_teardown;", P);
    cp_line(e->p, "m.init_params = %s_init_params;", P);
    if (m->train) {
        cp_line(e->p, "m.train_step = %s_train_step;", P);
        cp_line(e->p, "m.eval_step = %s_eval_step;", P);
        cp_line(e->p, "m.bind_data = %s_bind_data;", P);
        cp_line(e->p, "m.train_step_rows = %s_train_step_rows;", P);
        cp_line(e->p, "m.eval_step_rows = %s_eval_step_rows;", P);
    }
    if (m->out) cp_line(e->p, "m.predict = %s_predict;", P);
    if (m->lr) cp_line(e->p, "m.set_learning_rate = %s_set_learning_rate;", P);
    cp_line(e->p, "return m;");
    cp_close(e->p, "");
    cp_line(e->p, "%sconst dlrt_model %s_model = describe_model();", e->p->d->fn_export, P);
    if (e->o->with_main) {
        cp_blank(e->p);
        cp_line(e->p, "/* The program: the runtime's command line; GPU errors are named after it. */");
        cp_open(e->p, "int main(int argc, char **argv)");
        cp_line(e->p, "const char *slash = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;");
        cp_line(e->p, "if (argc > 0 && argv[0]) prog_name = slash ? slash + 1 : argv[0];");
        cp_line(e->p, "return dlrt_main(&%s_model, argc, argv);", P);
        cp_close(e->p, "");
    }
}

/* The tensor macros, then the staging slots' macros. */
static void emit_tensor_macros(CEmit *e, const ModelInfo *m, const CudaSlots *sl)
{
    ce_emit_tensor_macros(e);
    cp_line(e->p, "/* after the plan: the batch's inputs, the step's RNG key, scratch, ones */");
    if (m->x) cp_line(e->p, "#define %s ((float *)(arena + %lld))", ce_ref(e, m->x), (long long)sl->x_off);
    if (m->y) cp_line(e->p, "#define %s ((%s *)(arena + %lld))", ce_ref(e, m->y), ce_ctype(m->y->type.dtype), (long long)sl->y_off);
    cp_line(e->p, "#define DLRT_STEP_SLOT (arena + %lld)   /* dlrt_cuda_step, then the rows */", (long long)sl->key_off);
    cp_line(e->p, "static_assert(DLRT_STEP_HEADER == %d, \"dlrt_cuda.h and this unit disagree on the step slot\");",
            STEP_HEADER_BYTES);
    cp_line(e->p, "#define DLRT_STEP_KEY ((uint64_t *)(arena + %lld))", (long long)sl->key_off);
    cp_line(e->p, "#define DLRT_SCRATCH ((double *)(arena + %lld))   /* per-row terms of a loss or metric */",
            (long long)sl->scratch_off);
    cp_line(e->p, "#define DLRT_ONES ((float *)(arena + %lld))   /* max_batch ones (sums over the batch) */",
            (long long)sl->ones_off);
    cp_blank(e->p);
}

static void emit_header(CEmit *e, const ModelInfo *m, const CudaSlots *sl, const char *pfx, FILE *h)
{
    const Graph *g = e->g;
    const char *P = e->o->prefix;
    fprintf(h, "/* %s.h - generated by dlc from model '%s' (%s mode, CUDA).  Do not edit.\n *\n", P, g->name,
            g->mode == MODE_TRAIN ? "train" : "infer");
    fprintf(h, " * Usage: call %s_setup() once (it finds the GPU and allocates the\n"
               " * %lld-byte device arena), then %s_init_params(seed) or load the parameters\n"
               " * through %s_model.tensors (host-visible managed memory), then the entry\n"
               " * points below, which take and return host memory; %s_teardown() frees\n"
               " * everything.  n is the batch size of a call, 1 <= n <= %s_MAX_BATCH.  The\n"
               " * functions are not reentrant: they share the one arena.\n */\n",
            P, (long long)sl->total, P, P, P, pfx);
    fprintf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n#include \"dlrt.h\"\n\n", pfx, pfx);
    fprintf(h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    ce_header_sizes(e, m, pfx, h, sl->total);
    ce_header_entries(e, m, pfx, h,
                      "Finds the GPU (exits 1 with a message if there is none) and allocates\n"
                      "   the arena; returns 0, or -1 if memory could not be had.",
                      "Frees the arena and the GPU's handles.");
    if (m->train)
        fprintf(h, "/* The data set on the device: a copy of split 0 (training) or 1 (test),\n"
                   "   count samples of inputs as bytes xb (byte / 255) or floats x (the other\n"
                   "   NULL) and 4-byte labels y.  Returns 0, or -1 without device memory. */\n"
                   "int %s_bind_data(int split, int64_t count, const uint8_t *xb, const float *x, const void *y);\n"
                   "/* train_step / eval_step on samples rows[0..n) of a bound split: only the\n"
                   "   row numbers travel; the batch is gathered on the device. */\n"
                   "void %s_train_step_rows(const int64_t *rows, int64_t n, uint64_t rng_key, float *loss, float *metrics);\n"
                   "void %s_eval_step_rows(int split, const int64_t *rows, int64_t n, float *loss, float *metrics);\n",
                P, P, P);
    fprintf(h, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

int cuda_codegen_emit(const Graph *g, const CodegenOptions *o, FILE *cu, FILE *h)
{
    DLC_ASSERT(o->target == TARGET_CUDA);
    CodegenOptions opts = *o;
    opts.use_blas = true;
    Arena *a = g->arena;
    opts.prefix = ce_sanitize(a, "", o->prefix ? o->prefix : g->name);
    const char *pfx = ce_upper(a, opts.prefix);

    CPrinter p;
    cp_init(&p, cu, target_info(TARGET_CUDA)->dialect);
    CEmit e;
    memset(&e, 0, sizeof e); /* fields the C generator adds stay zero here */
    e.g = g;
    e.o = &opts;
    e.p = &p;
    e.a = a;
    e.entry = ENTRY_PREDICT;
    ce_name_nodes(&e, "IN_");
    ModelInfo m;
    CudaSlots sl;
    model_info(g, &m, &sl);
    bool *needs[3] = {NULL, NULL, NULL};
    if (m.train) {
        needs[ENTRY_TRAIN] = ce_entry_need(&e, &m, ENTRY_TRAIN);
        needs[ENTRY_EVAL] = ce_entry_need(&e, &m, ENTRY_EVAL);
    }
    if (m.out) needs[ENTRY_PREDICT] = ce_entry_need(&e, &m, ENTRY_PREDICT);
    /* every op must have a CUDA kernel: checked before anything is written */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const char *count;
        bool any = false;
        for (int k = 0; k < 3; k++) any |= needs[k] && needs[k][n->id];
        if (any && op_info(n->op)->kind != OK_LEAF) (void)cu_launch_kind(&e, n, &count);
    }

    cp_line(&p, "/* %s.cu - generated by dlc from model '%s' (%s mode, CUDA).  Do not edit.", opts.prefix, g->name,
            g->mode == MODE_TRAIN ? "train" : "infer");
    cp_line(&p, " *");
    cp_line(&p, " * One kernel per computing node over one managed arena of %lld bytes", (long long)sl.total);
    cp_line(&p, " * (the plan's %lld, then the input slots), planned for batches of up to", (long long)g->arena_bytes);
    cp_line(&p, " * %lld; n is the batch size of each call.  Each kernel names the IR node it", (long long)g->max_batch);
    cp_line(&p, " * implements (as `dlc ir` prints it) and the model source line it came from.");
    cp_line(&p, " */");
    cp_line(&p, "#include \"%s.h\"", ce_cstr(a, o->prefix ? o->prefix : g->name));
    cp_line(&p, "#include \"dlrt.h\"");
    cp_line(&p, "#include \"cuda/dlrt_cuda.h\"");
    cp_blank(&p);
    cp_line(&p, "#include <math.h>");
    cp_line(&p, "#include <stdint.h>");
    cp_line(&p, "#include <string.h>");
    cp_blank(&p);
    cp_line(&p, "/* The one buffer every tensor lives in (device-resident managed memory). */");
    cp_line(&p, "static unsigned char *arena;");
    cp_line(&p, "/* Names GPU errors: the program, or the model when embedded. */");
    cp_line(&p, "static const char *prog_name = \"%s\";", ce_cstr(a, g->name));
    if (m.train) {
        cp_line(&p, "static dlrt_cuda_graphs train_graphs, eval_graphs, train_rows_graphs, eval_rows_graphs;");
        cp_line(&p, "/* The data sets kept on the device (bind_data): 0 training, 1 test. */");
        cp_line(&p, "static dlrt_cuda_data data_splits[2];");
    }
    cp_blank(&p);
    emit_tensor_macros(&e, &m, &sl);
    ce_emit_tensor_table(&e, &m);
    emit_all_kernels(&e, needs);
    cp_line(&p, "/* ---- the entry points' work, in graph order (updates last) ---- */");
    cp_blank(&p);
    if (m.train) {
        emit_enqueue(&e, "train_enqueue", needs[ENTRY_TRAIN], ENTRY_TRAIN);
        emit_enqueue(&e, "eval_enqueue", needs[ENTRY_EVAL], ENTRY_EVAL);
    }
    if (m.out) emit_enqueue(&e, "predict_enqueue", needs[ENTRY_PREDICT], ENTRY_PREDICT);
    emit_lifecycle(&e, &m, pfx);
    if (m.train) {
        emit_step(&e, &m, pfx, true);
        emit_step(&e, &m, pfx, false);
        emit_data_entries(&e, &m);
    }
    if (m.out) emit_predict(&e, &m, pfx);
    emit_model(&e, &m);
    emit_header(&e, &m, &sl, pfx, h);
    return 0;
}
