/* test_simplify.c - the simplification passes (constfold, algebraic,
 * gemm_fold, cse) keep every computed value.
 *
 * Each graph is built twice: once through the pipeline as it is, once with
 * PassOptions.no_simplify (the four passes skipped), both stopped after
 * `dce`.  The reference interpreter (ir/interp.h, f64) then runs both on
 * the same inputs (bound by name) and the same parameters (drawn from the
 * initializers by name, so equal in both), for three training steps with
 * the updates applied between them, and every output, metric, the loss,
 * every gradient (by parameter) and every assign's new value (by target)
 * must agree to rounding.  Dropout masks are keyed by node id, which the
 * passes preserve, so they agree too.
 *
 * Graphs: every model under models/ and the .nn files of tests/lit that
 * have a train block, in both modes; a hand-written graph that exercises
 * every rule, at two batch sizes, where the simplified node count is
 * checked as well; post-conditions on the simplified models (no two
 * equal consts, no node left that a rule would rewrite); and a fixed
 * point: a second round of the four passes changes nothing.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/interp.h"
#include "passes/pass.h"
#include "testutil.h"

/* Builds `path` (or the IR text `text` when non-NULL) and runs the pipeline
 * up to dce, simplifying or not. */
static Graph *build(Arena *a, const char *path, const char *text, GraphMode mode, bool simplify)
{
    Graph *g;
    if (text) g = ir_parse_text(a, srcfile_from_string(a, path, text, strlen(text)));
    else g = model_load(a, path, mode);
    PassOptions po = {0};
    po.no_simplify = !simplify;
    DumpRequest d = {0};
    d.after = "dce";
    d.out = NULL;
    pass_run_pipeline(g, &po, &d);
    return g;
}

/* Deterministic pseudo-random numbers in [0, 1). */
static double next_unit(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* Fills the inputs of g: floats uniform in [0, 1), integers (labels) 0 or 1. */
static void bind_inputs(Interp *it, const Graph *g, uint64_t seed)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_INPUT) continue;
        uint64_t s = seed;
        for (const char *c = n->name; *c; c++) s = s * 31 + (uint8_t)*c;
        double *b = interp_buf(it, n);
        bool fl = dtype_is_float(n->type.dtype);
        for (int64_t j = 0, m = interp_numel(it, n); j < m; j++) {
            double u = next_unit(&s);
            b[j] = fl ? u : (double)(u < 0.5);
        }
    }
}

static bool close_enough(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-12 + 1e-9 * fabs(b);
}

/* Compares the buffers of two nodes (of the two interpreters). */
static void compare(Interp *i0, const Node *n0, Interp *i1, const Node *n1, const char *what, const char *name,
                    int step)
{
    ck_assert_msg(n0 && n1, "%s: %s missing in one graph", what, name);
    int64_t m = interp_numel(i0, n0);
    ck_assert_msg(m == interp_numel(i1, n1), "%s: %s has %lld vs %lld elements", what, name, (long long)m,
                  (long long)interp_numel(i1, n1));
    const double *a = interp_buf(i0, n0), *b = interp_buf(i1, n1);
    /* ck_assert records its location on every call: test the elements
       first and assert only on a mismatch */
    for (int64_t j = 0; j < m; j++)
        if (!close_enough(b[j], a[j]))
            ck_abort_msg("%s, step %d: %s[%lld] is %.17g simplified, %.17g not", what, step, name, (long long)j,
                         b[j], a[j]);
}

/* The assign node of g that updates the leaf named `target`, or NULL. */
static const Node *assign_of(const Graph *g, const char *target)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_ASSIGN && strcmp(g->nodes[i]->in[0]->name, target) == 0) return g->nodes[i];
    return NULL;
}

/* Runs g0 (unsimplified) and g1 (simplified) side by side for `steps`
 * steps with batch n and requires equal results. */
static void same_values(Graph *g0, Graph *g1, int64_t n, int steps, const char *what)
{
    uint64_t seed = 7;
    Interp *i0 = interp_new(g0, n, seed), *i1 = interp_new(g1, n, seed);
    ck_assert_int_eq(g0->noutputs, g1->noutputs);
    ck_assert_int_eq(g0->nmetrics, g1->nmetrics);
    ck_assert_int_eq(g0->ngrads, g1->ngrads);
    ck_assert_int_eq(g0->loss != NULL, g1->loss != NULL);
    for (int step = 0; step < steps; step++) {
        interp_set_step(i0, (uint64_t)step);
        interp_set_step(i1, (uint64_t)step);
        bind_inputs(i0, g0, seed + (uint64_t)step);
        bind_inputs(i1, g1, seed + (uint64_t)step);
        interp_run(i0);
        interp_run(i1);
        for (int k = 0; k < g0->noutputs; k++)
            compare(i0, g0->outputs[k].node, i1, g1->outputs[k].node, what, g0->outputs[k].name, step);
        for (int k = 0; k < g0->nmetrics; k++)
            compare(i0, g0->metrics[k].node, i1, g1->metrics[k].node, what, g0->metrics[k].name, step);
        if (g0->loss) compare(i0, g0->loss, i1, g1->loss, what, "loss", step);
        for (int k = 0; k < g0->ngrads; k++) {
            const char *p = g0->grad_params[k]->name;
            int j = 0;
            while (j < g1->ngrads && strcmp(g1->grad_params[j]->name, p) != 0) j++;
            ck_assert_msg(j < g1->ngrads, "%s: no gradient of %s after simplification", what, p);
            compare(i0, g0->grads[k], i1, g1->grads[j], what, p, step);
        }
        int nassign = 0;
        for (int k = 0; k < g0->nnodes; k++) {
            const Node *a0 = g0->nodes[k];
            if (a0->op != OP_ASSIGN) continue;
            nassign++;
            compare(i0, a0, i1, assign_of(g1, a0->in[0]->name), what, a0->in[0]->name, step);
        }
        int nassign1 = 0;
        for (int k = 0; k < g1->nnodes; k++) nassign1 += g1->nodes[k]->op == OP_ASSIGN;
        ck_assert_int_eq(nassign, nassign1);
        interp_apply_assigns(i0);
        interp_apply_assigns(i1);
    }
    interp_free(i0);
    interp_free(i1);
}

/* Post-conditions of a simplified graph: no two equal consts (cse), no
 * node a rule of constfold or algebraic still applies to in the obvious
 * forms checked here. */
static void check_simplified(const Graph *g, const char *what)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_CONST)
            for (int j = 0; j < i; j++) {
                const Node *m = g->nodes[j];
                ck_assert_msg(!(m->op == OP_CONST && tt_equal(&m->type, &n->type) &&
                                node_attr_float(m, "value") == node_attr_float(n, "value")),
                              "%s: const %g appears twice", what, node_attr_float(n, "value"));
            }
        if (n->op == OP_NEG) ck_assert_msg(n->in[0]->op != OP_NEG, "%s: neg(neg(x)) left", what);
        if (n->op == OP_MUL)
            for (int k = 0; k < 2; k++)
                ck_assert_msg(!(n->in[k]->op == OP_CONST && node_attr_float(n->in[k], "value") == 1.0 &&
                                tt_equal(&n->in[1 - k]->type, &n->type)),
                              "%s: mul by 1 left", what);
        if (n->op == OP_MATMUL)
            for (int k = 0; k < 2; k++)
                ck_assert_msg(n->in[k]->op != OP_TRANSPOSE || n->in[k]->type.rank != 2,
                              "%s: transpose feeding a matmul left", what);
        if (op_info(n->op)->kind != OK_LEAF && n->op != OP_DROPOUT_MASK && n->op != OP_ASSIGN &&
            n->op != OP_SPARSE_CATEGORICAL_CROSSENTROPY && n->op != OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD &&
            n->op != OP_ACCURACY && n->type.rank == 0) {
            /* a scalar computed from consts only would have been folded
               (unless it is not finite) */
            bool all_const = n->nin > 0;
            for (int k = 0; k < n->nin; k++) all_const &= n->in[k]->op == OP_CONST && !tt_has_batch(&n->in[k]->type);
            ck_assert_msg(!all_const, "%s: %s of consts left unfolded", what, op_info(n->op)->name);
        }
    }
}

/* The text dump of g, malloc'd (through a temporary file: C11 has no
 * memory streams). */
static char *dump_text(const Graph *g)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ir_print_text(f, g);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    char *s = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fread(s, 1, (size_t)len, f), (size_t)len);
    s[len] = 0;
    fclose(f);
    return s;
}

/* Running the four passes (and dce) again on a simplified graph changes
 * nothing: each pass finds everything in its one sweep in graph order, and
 * the order of the passes leaves nothing for an earlier one. */
static void check_fixed_point(Graph *g, const char *what)
{
    char *before = dump_text(g);
    PassOptions po = {0};
    pass_constfold(g, &po);
    pass_algebraic(g, &po);
    pass_gemm_fold(g, &po);
    pass_cse(g, &po);
    pass_dce(g, &po);
    ck_assert_msg(ir_verify(g) == NULL, "%s: second simplification broke the graph", what);
    char *after = dump_text(g);
    ck_assert_msg(strcmp(before, after) == 0, "%s: a second round of simplification changed the graph:\n%s\n---\n%s",
                  what, before, after);
    free(before);
    free(after);
}

/* Builds a model both ways in both modes and compares. */
static void check_model(const char *path)
{
    for (int mode = 0; mode < 2; mode++) {
        char what[1200];
        snprintf(what, sizeof what, "%s (%s)", path, mode ? "train" : "infer");
        Arena a0, a1;
        arena_init(&a0);
        arena_init(&a1);
        Graph *g0 = build(&a0, path, NULL, mode ? MODE_TRAIN : MODE_INFER, false);
        Graph *g1 = build(&a1, path, NULL, mode ? MODE_TRAIN : MODE_INFER, true);
        ck_assert_msg(g1->nnodes <= g0->nnodes, "%s: simplification added nodes (%d > %d)", what, g1->nnodes,
                      g0->nnodes);
        check_simplified(g1, what);
        same_values(g0, g1, 3, 3, what);
        check_fixed_point(g1, what);
        arena_free(&a0);
        arena_free(&a1);
    }
}

/* Calls check_model for every .nn file in dir (that has a train block when
 * train_only); returns how many. */
static int check_folder(const char *dir, bool train_only)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *ent;
    int count = 0;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 4 || strcmp(ent->d_name + len - 3, ".nn") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (train_only) {
            /* lit .nn files that are error cases or lack a loss are skipped:
               only those whose RUN line builds a train graph qualify */
            FILE *f = fopen(path, "r");
            ck_assert_ptr_nonnull(f);
            char line[512];
            bool ok = false, bad = false;
            while (fgets(line, sizeof line, f)) {
                if (strstr(line, "RUN:") && strstr(line, "--mode train") && !strstr(line, "not ")) ok = true;
                if (strstr(line, "RUN:") && strstr(line, "not ")) bad = true;
            }
            fclose(f);
            if (!ok || bad) continue;
        }
        check_model(path);
        count++;
    }
    closedir(d);
    return count;
}

START_TEST(repository_models)
{
    ck_assert_int_gt(check_folder(DLC_SOURCE_DIR "/models", false), 0);
}
END_TEST

START_TEST(lit_models)
{
    int count = check_folder(DLC_SOURCE_DIR "/tests/lit/autodiff", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/optimizer", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/frontend", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/passes/constfold", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/passes/algebraic", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/passes/gemm_fold", true);
    count += check_folder(DLC_SOURCE_DIR "/tests/lit/passes/cse", true);
    ck_assert_int_gt(count, 8);
}
END_TEST

/* A graph with an instance of every rule.  Comments give what each line
 * becomes. */
static const char *const every_rule =
    "graph rules (train)\n"
    "  input %x : f32[N,3]\n"
    "  input %t : f32[N,4]\n"
    "  param %w : f32[3,4] = glorot_uniform()\n"
    "  param %v : f32[4,3] = glorot_uniform()\n"
    "  %0 = const 1 : f32[]\n"
    "  %1 = const 3 : f32[]\n"
    "  %2 = div %0, %1 : f32[]\n"                        /* const 1/3 */
    "  %3 = neg %2 : f32[]\n"                            /* const -1/3 */
    "  %4 = broadcast_to %0 {shape=[2,3]} : f32[2,3]\n"  /* const 1 : f32[2,3] */
    "  %5 = sum %4 : f32[]\n"                            /* const 6 */
    "  %6 = broadcast_to %0 {shape=[-1]} : f32[N]\n"     /* const 1 : f32[N] */
    "  %7 = sum %6 : f32[]\n"                            /* n: stays */
    "  %8 = mean %6 : f32[]\n"                           /* const 1 */
    "  %9 = const 0 : f32[]\n"
    "  %10 = add %x, %9 : f32[N,3]\n"                    /* x */
    "  %11 = mul %0, %10 : f32[N,3]\n"                   /* x */
    "  %12 = neg %11 : f32[N,3]\n"
    "  %13 = neg %12 : f32[N,3]\n"                       /* x */
    "  %14 = reshape %13 {shape=[-1,3]} : f32[N,3]\n"   /* x */
    "  %15 = transpose %w : f32[4,3]\n"
    "  %16 = matmul %14, %15 {trans_b=true} : f32[N,4]\n" /* matmul x, w */
    "  %17 = matmul %14, %w : f32[N,4]\n"                 /* same as %16: cse */
    "  %18 = add %16, %17 : f32[N,4]\n"
    "  %19 = div %18, %7 : f32[N,4]\n"
    "  %20 = broadcast_to %3 {shape=[-1,4]} : f32[N,4]\n"
    "  %21 = mul %19, %20 : f32[N,4]\n"                   /* mul %19, -1/3 */
    "  %22 = matmul %v, %w : f32[4,4]\n"
    "  %23 = transpose %22 : f32[4,4]\n"                  /* matmul w, v {ta, tb} */
    "  %24 = transpose %v {perm=[1,0]} : f32[3,4]\n"
    "  %25 = transpose %24 {perm=[1,0]} : f32[4,3]\n"     /* v */
    "  %26 = matmul %21, %25 : f32[N,3]\n"
    "  %27 = sub %9, %26 : f32[N,3]\n"                    /* neg %26 */
    "  %28 = add %x, %27 : f32[N,3]\n"                    /* sub x, %26 */
    "  %29 = mul %28, %8 : f32[N,3]\n"                    /* %28 */
    "  %30 = mul %29, %5 : f32[N,3]\n"
    "  %31 = sum %30 : f32[]\n"
    "  %32 = sum %23 : f32[]\n"
    "  %33 = add %31, %32 : f32[]\n"
    "  %34 = mean_squared_error %21, %t : f32[]\n"
    "  %35 = add %33, %34 : f32[]\n"
    "  %36 = transpose %v : f32[3,4]\n"
    "  %37 = matmul %36, %v : f32[3,3]\n"                 /* matmul v, v {trans_a} */
    "  %38 = sum %37 : f32[]\n"
    "  %39 = sub %28, %x : f32[N,3]\n"
    "  %40 = sub %x, %28 : f32[N,3]\n"                    /* not the same as %39 */
    "  %41 = mul %39, %40 : f32[N,3]\n"
    "  %42 = mul %40, %39 : f32[N,3]\n"                   /* the same as %41 */
    "  %43 = add %41, %42 : f32[N,3]\n"
    "  %44 = sum %43 : f32[]\n"
    "  %45 = add %35, %38 : f32[]\n"
    "  %46 = add %45, %44 : f32[]\n"
    "  output y = %29\n"
    "  loss = %46\n"
    "  train sgd(learning_rate=0.01) batch_size=4 epochs=1 seed=0\n";

START_TEST(every_rule_keeps_values)
{
    Arena a0, a1;
    arena_init(&a0);
    arena_init(&a1);
    Graph *g0 = build(&a0, "rules.ir", every_rule, MODE_TRAIN, false);
    Graph *g1 = build(&a1, "rules.ir", every_rule, MODE_TRAIN, true);
    check_simplified(g1, "rules.ir");
    same_values(g0, g1, 1, 2, "rules.ir, n=1");
    same_values(g0, g1, 5, 2, "rules.ir, n=5");
    int counts[2][OP_COUNT] = {{0}};
    for (int i = 0; i < g0->nnodes; i++) counts[0][g0->nodes[i]->op]++;
    for (int i = 0; i < g1->nnodes; i++) counts[1][g1->nodes[i]->op]++;
    /* every transpose is gone, and so are the double negation, the
       no-op reshape and the duplicated matmul */
    ck_assert_int_eq(counts[1][OP_TRANSPOSE], 0);
    ck_assert_int_eq(counts[1][OP_RESHAPE], 0);
    /* broadcasts left are folded constants (read by matmuls and sums) */
    for (int i = 0; i < g1->nnodes; i++)
        if (g1->nodes[i]->op == OP_BROADCAST_TO) {
            const Node *c = g1->nodes[i]->in[0];
            ck_assert_int_eq(c->op, OP_CONST);
            ck_assert_int_eq(c->type.rank, 0);
            for (int j = i + 1; j < g1->nnodes; j++)
                for (int k = 0; k < g1->nodes[j]->nin; k++)
                    if (g1->nodes[j]->in[k] == g1->nodes[i])
                        ck_assert_int_ne(op_info(g1->nodes[j]->op)->kind, OK_BINARY);
        }
    ck_assert_int_lt(counts[1][OP_MATMUL], counts[0][OP_MATMUL]); /* %16 and %17 merge */
    /* the sum over the batch (the run-time n) is the only sum of a const */
    int sum_of_const = 0;
    for (int i = 0; i < g1->nnodes; i++)
        sum_of_const += g1->nodes[i]->op == OP_SUM && g1->nodes[i]->in[0]->op == OP_BROADCAST_TO &&
                        g1->nodes[i]->in[0]->in[0]->op == OP_CONST;
    ck_assert_int_eq(sum_of_const, 1);
    ck_assert_int_lt(g1->nnodes, g0->nnodes);
    check_fixed_point(g1, "rules.ir");
    arena_free(&a0);
    arena_free(&a1);
}
END_TEST

/* Things the passes must leave alone: dropout masks (random), hparams,
 * states, assigns, x * 0 for a float x, non-uniform folds. */
START_TEST(left_alone)
{
    static const char *const text =
        "graph keep (infer)\n"
        "  input %x : f32[N,3]\n"
        "  hparam %lr : f32[] = 0.5\n"
        "  state %s : f32[3] = zeros()\n"
        "  state %s2 : f32[3] = zeros()\n"
        "  %0 = const 0 : f32[]\n"
        "  %1 = mul %x, %0 : f32[N,3]\n"
        "  %2 = dropout_mask %x {rate=0.5} : f32[N,3]\n"
        "  %3 = dropout_mask %x {rate=0.5} : f32[N,3]\n"
        "  %4 = add %2, %3 : f32[N,3]\n"
        "  %5 = mul %lr, %lr : f32[]\n"
        "  %6 = const 1 : f32[2]\n"
        "  %7 = const 2 : f32[2]\n"
        "  %8 = concat %6, %7 : f32[4]\n"
        "  %9 = sum %x {axes=[0]} : f32[3]\n"
        "  %10 = assign %s, %9 : f32[3]\n"
        "  %11 = assign %s2, %9 : f32[3]\n"
        "  output a = %1\n"
        "  output b = %4\n"
        "  output c = %5\n"
        "  output d = %8\n";
    Arena a;
    arena_init(&a);
    Graph *g = build(&a, "keep.ir", text, MODE_INFER, true);
    int counts[OP_COUNT] = {0};
    for (int i = 0; i < g->nnodes; i++) counts[g->nodes[i]->op]++;
    ck_assert_int_eq(counts[OP_DROPOUT_MASK], 2);
    ck_assert_int_eq(counts[OP_ASSIGN], 2);
    ck_assert_int_eq(counts[OP_CONCAT], 1);
    ck_assert_int_eq(counts[OP_MUL], 2); /* x * 0 and lr * lr */
    ck_assert_ptr_nonnull(ir_find_leaf(g, "lr"));
    arena_free(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("simplify");
    TCase *tc = tcase_create("simplify");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_rule_keeps_values);
    tcase_add_test(tc, left_alone);
    tcase_add_test(tc, repository_models);
    tcase_add_test(tc, lit_models);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
