/* test_plan.c - the memory planner (passes/plan.c) checked by an
 * independent checker.
 *
 * The checker recomputes, from the graph alone, what a valid plan must
 * satisfy, without looking at how the planner placed things:
 *   - the schedule: graph order with assigns moved to the end;
 *   - each node's lifetime: [definition, last read], outputs / loss /
 *     metrics to the end, inputs from 0, params / states / hparams / consts
 *     the whole schedule;
 *   - regions (`fuse`): the members of a group run at the position of
 *     the group's last member (its root), reading their operands there;
 *     a node without storage (offset -1) must be an elementwise op or a
 *     matmul in a group, read only by members of its group and not an
 *     output, loss or metric;
 *   - storages: a node that shares its operand's offset is accepted only
 *     where sharing is legal (reshape / flatten of the same bytes whose
 *     storage no assign writes, or an assign naming its state), and a value
 *     sharing the offset of the state its assign updates only if every
 *     other reader of the state reads before it or inside its region and
 *     no output, loss or metric depends on it;
 *     shared nodes form one storage with the union of their lifetimes;
 * and then requires: offsets 64-byte aligned; every storage inside
 * arena_bytes; no two storages whose lifetimes overlap overlapping in
 * bytes; persistent storages placed below all transient ones;
 * arena_lower_bound equal to the recomputed peak of live bytes; and
 * arena_bytes >= arena_lower_bound.
 *
 * Graphs: small hand-made ones in the IR text format (chains, a diamond, an
 * alias chain, assigns, a region set by hand around a state's update) and
 * every model under models/ in both modes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/pass.h"
#include "testutil.h"

static bool persistent(const Node *n)
{
    return n->op == OP_PARAM || n->op == OP_STATE || n->op == OP_HPARAM || n->op == OP_CONST;
}

static int64_t size_of(const Node *n, int64_t batch)
{
    int64_t b = tt_numel(&n->type, batch) * (int64_t)dtype_size(n->type.dtype);
    if (b < 1) b = 1;
    return (b + 63) / 64 * 64;
}

/* Checks the plan of g; `what` names it in messages. */
static void check_plan(const Graph *g, const char *what)
{
    int nn = g->nnodes;
    int *idx = calloc((size_t)g->next_id + 1, sizeof *idx);
    int *pos = calloc((size_t)nn + 1, sizeof *pos);
    int *start = calloc((size_t)nn + 1, sizeof *start), *end = calloc((size_t)nn + 1, sizeof *end);
    int *root = calloc((size_t)nn + 1, sizeof *root);
    bool *written = calloc((size_t)nn + 1, sizeof *written);
    for (int i = 0; i < nn; i++) idx[g->nodes[i]->id] = i;
    int p = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nn; i++)
            if ((g->nodes[i]->op == OP_ASSIGN) == (pass == 1)) pos[i] = p++;
    int last = nn - 1;
    /* readers, and the fused regions */
    int *nreaders = calloc((size_t)nn + 1, sizeof *nreaders), *reader = calloc((size_t)nn + 1, sizeof *reader);
    int *rpos = calloc((size_t)nn + 1, sizeof *rpos), *region = calloc((size_t)nn + 1, sizeof *region);
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int j = idx[n->in[k]->id];
            nreaders[j]++;
            reader[j] = i;
        }
    }
    int *groot = calloc((size_t)nn + 1, sizeof *groot); /* by group: index of its last member */
    for (int i = 0; i < nn; i++) {
        int G = g->nodes[i]->fuse_group;
        ck_assert_msg(G >= 0 && G <= nn, "%s: node %d has group %d", what, g->nodes[i]->id, G);
        if (G) groot[G] = i;
    }
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        int G = n->fuse_group;
        rpos[i] = G ? pos[groot[G]] : pos[i];
        region[i] = G ? -G : i;
        if (n->offset >= 0) continue;
        ck_assert_msg(G != 0 && (op_is_elementwise(n->op) || n->op == OP_MATMUL), "%s: node %d has no storage but is not fused", what,
                      n->id);
        ck_assert_msg(nreaders[i] >= 1, "%s: fused node %d has no reader", what, n->id);
        for (int r = i + 1; r < nn; r++)
            for (int k = 0; k < g->nodes[r]->nin; k++)
                if (g->nodes[r]->in[k] == n)
                    ck_assert_msg(g->nodes[r]->fuse_group == G, "%s: fused node %d is read by a node outside its region",
                                  what, n->id);
        for (int k = 0; k < g->noutputs; k++) ck_assert(g->outputs[k].node != n);
        for (int k = 0; k < g->nmetrics; k++) ck_assert(g->metrics[k].node != n);
        ck_assert(g->loss != n);
    }
    /* a region runs at its root: nothing outside it may read a member in between */
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_ASSIGN) continue;
        for (int k = 0; k < n->nin; k++) {
            int j = idx[n->in[k]->id];
            ck_assert_msg(rpos[j] <= rpos[i], "%s: node %d reads node %d before its region runs", what, n->id,
                          n->in[k]->id);
        }
    }
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        start[i] = (n->op == OP_INPUT || persistent(n)) ? 0 : rpos[i];
        end[i] = persistent(n) ? last : rpos[i];
    }
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int j = idx[n->in[k]->id];
            if (rpos[i] > end[j]) end[j] = rpos[i];
        }
        if (n->op == OP_ASSIGN) written[idx[n->in[0]->id]] = true;
    }
    for (int k = 0; k < g->noutputs; k++) end[idx[g->outputs[k].node->id]] = last;
    for (int k = 0; k < g->nmetrics; k++) end[idx[g->metrics[k].node->id]] = last;
    if (g->loss) end[idx[g->loss->id]] = last;

    /* what outputs, the loss and metrics depend on */
    bool *reported = calloc((size_t)nn + 1, sizeof *reported);
    for (int k = 0; k < g->noutputs; k++) reported[idx[g->outputs[k].node->id]] = true;
    for (int k = 0; k < g->nmetrics; k++) reported[idx[g->metrics[k].node->id]] = true;
    if (g->loss) reported[idx[g->loss->id]] = true;
    for (int i = nn - 1; i >= 0; i--)
        if (reported[i])
            for (int k = 0; k < g->nodes[i]->nin; k++) reported[idx[g->nodes[i]->in[k]->id]] = true;

    /* storages */
    for (int i = 0; i < nn; i++) {
        const Node *n = g->nodes[i];
        root[i] = i;
        if (n->offset < 0) {
            root[i] = -1;
            continue;
        }
        ck_assert_msg(n->offset % 64 == 0, "%s: node %d misaligned at %lld", what, n->id, (long long)n->offset);
        /* the value of an assign computed in place of its state */
        const Node *st = NULL;
        for (int k = i + 1; k < nn; k++)
            if (g->nodes[k]->op == OP_ASSIGN && g->nodes[k]->in[1] == n && g->nodes[k]->in[0]->offset == n->offset)
                st = g->nodes[k]->in[0];
        if (st && n->op != OP_ASSIGN) {
            int s = idx[st->id];
            ck_assert_msg(!reported[i], "%s: node %d is reported (output/loss/metric) but computed in place", what, n->id);
            ck_assert_msg(op_is_elementwise(n->op) && tt_equal(&n->type, &st->type), "%s: node %d in place of %s", what, n->id, st->name);
            for (int r = 0; r < nn; r++) {
                const Node *rn = g->nodes[r];
                if (rn->op == OP_ASSIGN) continue;
                for (int k = 0; k < rn->nin; k++)
                    if (rn->in[k] == st)
                        ck_assert_msg(r == i || rpos[r] < rpos[i] || (region[r] == region[i] && region[i] < 0 && op_is_elementwise(rn->op)),
                                      "%s: node %d overwrites %s in place before node %d reads it", what, n->id, st->name,
                                      rn->id);
            }
            root[i] = root[s];
            continue;
        }
        if (n->nin > 0 && n->offset == n->in[0]->offset) {
            int j = root[idx[n->in[0]->id]];
            bool ok = false;
            if (n->op == OP_ASSIGN) ok = true;
            if ((n->op == OP_RESHAPE || n->op == OP_FLATTEN) && !(persistent(g->nodes[j]) && written[j])) ok = true;
            ck_assert_msg(ok, "%s: node %d (%s) shares storage with its operand illegally", what, n->id,
                          op_info(n->op)->name);
            root[i] = j;
        } else if (n->op == OP_ASSIGN) {
            ck_abort_msg("%s: assign %d is not placed on its state", what, n->id);
        }
    }
    /* lifetimes of shared storages: the union over their members */
    for (int i = 0; i < nn; i++)
        if (root[i] >= 0 && root[i] != i) {
            int j = root[i];
            if (start[i] < start[j]) start[j] = start[i];
            if (end[i] > end[j]) end[j] = end[i];
        }
    int64_t max_persistent_end = 0, min_transient = INT64_MAX;
    for (int i = 0; i < nn; i++) {
        if (root[i] != i) continue;
        const Node *n = g->nodes[i];
        int64_t s = size_of(n, g->max_batch);
        ck_assert_msg(n->offset + s <= g->arena_bytes, "%s: node %d [%lld,+%lld) outside the arena of %lld", what, n->id,
                      (long long)n->offset, (long long)s, (long long)g->arena_bytes);
        if (persistent(n)) {
            if (n->offset + s > max_persistent_end) max_persistent_end = n->offset + s;
        } else if (n->offset < min_transient) {
            min_transient = n->offset;
        }
    }
    ck_assert_msg(max_persistent_end <= min_transient || min_transient == INT64_MAX,
                  "%s: a transient tensor lies in the persistent region", what);
    /* pairwise: overlapping lifetimes must not overlap in bytes */
    for (int i = 0; i < nn; i++) {
        if (root[i] != i) continue;
        const Node *a = g->nodes[i];
        int64_t sa = size_of(a, g->max_batch);
        for (int j = i + 1; j < nn; j++) {
            if (root[j] != j) continue;
            if (start[i] > end[j] || start[j] > end[i]) continue;
            const Node *b = g->nodes[j];
            int64_t sb = size_of(b, g->max_batch);
            bool disjoint = a->offset + sa <= b->offset || b->offset + sb <= a->offset;
            ck_assert_msg(disjoint, "%s: nodes %d [%lld,+%lld) live [%d,%d] and %d [%lld,+%lld) live [%d,%d] overlap", what,
                          a->id, (long long)a->offset, (long long)sa, start[i], end[i], b->id, (long long)b->offset,
                          (long long)sb, start[j], end[j]);
        }
    }
    /* the lower bound */
    int64_t peak = 0;
    for (int q = 0; q <= last; q++) {
        int64_t live = 0;
        for (int i = 0; i < nn; i++)
            if (root[i] == i && start[i] <= q && q <= end[i]) live += size_of(g->nodes[i], g->max_batch);
        if (live > peak) peak = live;
    }
    ck_assert_msg(g->arena_lower_bound == peak, "%s: lower bound %lld, recomputed %lld", what,
                  (long long)g->arena_lower_bound, (long long)peak);
    ck_assert_msg(g->arena_bytes >= g->arena_lower_bound, "%s: arena below the lower bound", what);
    free(idx);
    free(pos);
    free(start);
    free(end);
    free(root);
    free(written);
    free(reported);
    free(nreaders);
    free(reader);
    free(rpos);
    free(region);
    free(groot);
}

/* Parses IR text and runs the pipeline with fusion regions, or none;
 * returns the graph (in *a, which the caller frees). */
static Graph *run_text(Arena *a, const char *name, const char *text, int64_t max_batch, bool no_fuse)
{
    SrcFile *f = srcfile_from_string(a, name, text, strlen(text));
    Graph *g = ir_parse_text(a, f);
    PassOptions po = {0};
    po.max_batch = max_batch;
    po.no_fuse = no_fuse;
    po.fuse_regions = !no_fuse;
    pass_run_pipeline(g, &po, NULL);
    return g;
}

/* run_text with regions, then checks the plan. */
static Graph *plan_text(Arena *a, const char *name, const char *text, int64_t max_batch)
{
    Graph *g = run_text(a, name, text, max_batch, false);
    check_plan(g, name);
    return g;
}

static Node *leaf(Graph *g, const char *name)
{
    Node *n = ir_find_leaf(g, name);
    ck_assert_ptr_nonnull(n);
    return n;
}

#define CHAIN                                                                                      \
    "graph chain (infer)\n"                                                                        \
    "  input %x : f32[N,256]\n"                                                                    \
    "  %0 = relu %x : f32[N,256]\n"                                                                \
    "  %1 = neg %0 : f32[N,256]\n"                                                                 \
    "  %2 = exp %1 : f32[N,256]\n"                                                                 \
    "  %3 = tanh %2 : f32[N,256]\n"                                                                \
    "  %4 = relu %3 : f32[N,256]\n"                                                                \
    "  output y = %4\n"

START_TEST(chain_reuses_memory)
{
    Arena a;
    arena_init(&a);
    Graph *g = plan_text(&a, "chain", CHAIN, 8);
    /* fused: one loop from x to %4, only x and the result have storage */
    ck_assert_int_eq(g->arena_lower_bound, 2 * 8192);
    ck_assert_int_eq(g->arena_bytes, 2 * 8192);
    for (int i = 1; i < 5; i++) ck_assert_int_eq(g->nodes[i]->offset, -1);
    for (int i = 1; i < 6; i++) ck_assert_int_eq(g->nodes[i]->fuse_group, 1);
    arena_free(&a);

    /* unfused: each tensor is 8 KiB, at most two are live at once (x is
       live only until %0), so two slots suffice */
    Arena b;
    arena_init(&b);
    Graph *g2 = run_text(&b, "chain2", CHAIN, 8, true);
    check_plan(g2, "chain unfused");
    ck_assert_int_eq(g2->arena_lower_bound, 2 * 8192);
    ck_assert_int_eq(g2->arena_bytes, 2 * 8192);
    for (int i = 0; i < g2->nnodes; i++) ck_assert_int_ge(g2->nodes[i]->offset, 0);
    arena_free(&b);
}
END_TEST

START_TEST(diamond_and_batch)
{
    Arena a;
    arena_init(&a);
    const char *text = "graph diamond (infer)\n"
                       "  input %x : f32[N,100]\n"
                       "  param %w : f32[100] = ones()\n"
                       "  %0 = mul %x, %w : f32[N,100]\n"
                       "  %1 = exp %0 : f32[N,100]\n"
                       "  %2 = tanh %0 : f32[N,100]\n"
                       "  %3 = add %1, %2 : f32[N,100]\n"
                       "  %4 = sum %3 {axes=[1]} : f32[N]\n"
                       "  output y = %4\n";
    Graph *g = plan_text(&a, "diamond", text, 3);
    ck_assert_int_eq(g->max_batch, 3);
    int64_t small = g->arena_bytes;
    Arena b;
    arena_init(&b);
    Graph *g2 = plan_text(&b, "diamond64", text, 64);
    ck_assert_int_gt(g2->arena_bytes, small);
    /* the param is persistent: first, at offset 0 */
    ck_assert_int_eq(leaf(g2, "w")->offset, 0);
    arena_free(&a);
    arena_free(&b);
}
END_TEST

START_TEST(reshape_aliases)
{
    Arena a;
    arena_init(&a);
    Graph *g = plan_text(&a, "alias",
                         "graph alias (infer)\n"
                         "  input %x : f32[N,4,8]\n"
                         "  %0 = relu %x : f32[N,4,8]\n"
                         "  %1 = reshape %0 {shape=[-1,8,4]} : f32[N,8,4]\n"
                         "  %2 = flatten %1 : f32[N,32]\n"
                         "  %3 = neg %2 : f32[N,32]\n"
                         "  output y = %3\n",
                         2);
    const Node *r = g->nodes[2], *f = g->nodes[3];
    ck_assert_int_eq(r->op, OP_RESHAPE);
    ck_assert_int_eq(f->op, OP_FLATTEN);
    ck_assert_int_eq(r->offset, g->nodes[1]->offset);
    ck_assert_int_eq(f->offset, g->nodes[1]->offset);
    arena_free(&a);
}
END_TEST

START_TEST(assign_on_state_and_no_alias_of_written_param)
{
    Arena a;
    arena_init(&a);
    Graph *g = plan_text(&a, "assign",
                         "graph assign (train)\n"
                         "  input %x : f32[N,4]\n"
                         "  input %t : f32[N,4]\n"
                         "  param %w : f32[2,2] = ones()\n"
                         "  %0 = reshape %w {shape=[4]} : f32[4]\n"
                         "  %1 = mul %x, %0 : f32[N,4]\n"
                         "  %2 = mean_squared_error %1, %t : f32[]\n"
                         "  loss = %2\n"
                         "  train sgd(learning_rate=0.1) batch_size=4 epochs=1 seed=0\n",
                         4);
    const Node *w = leaf(g, "w");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_ASSIGN) ck_assert_int_eq(n->offset, n->in[0]->offset);
        /* w is updated by an assign: its reshape must not share its bytes */
        if (n->op == OP_RESHAPE && n->in[0] == w) ck_assert_int_ne(n->offset, w->offset);
    }
    arena_free(&a);
}
END_TEST

/* An update value is computed in place of its state unless something the
 * caller reads (output, loss, metric) depends on it. */
START_TEST(in_place_updates)
{
    const char *fmt = "graph upd (train)\n"
                      "  input %%x : f32[N,4]\n"
                      "  state %%s : f32[4] = zeros()\n"
                      "  %%0 = sum %%x {axes=[0]} : f32[4]\n"
                      "  %%1 = add %%s, %%0 : f32[4]\n"
                      "  %%2 = assign %%s, %%1 : f32[4]\n"
                      "  %%3 = mul %%%d, %%%d : f32[4]\n"
                      "  %%4 = sum %%3 : f32[]\n"
                      "  output y = %%3\n"
                      "  loss = %%4\n";
    char text[1024];
    for (int dep = 0; dep < 2; dep++) {
        snprintf(text, sizeof text, fmt, dep, dep);
        Arena a;
        arena_init(&a);
        Graph *g = plan_text(&a, dep ? "upd_reported" : "upd", text, 4);
        const Node *st = leaf(g, "s"), *v = g->nodes[3];
        ck_assert_int_eq(v->op, OP_ADD);
        if (dep) ck_assert_int_ne(v->offset, st->offset);
        else ck_assert_int_eq(v->offset, st->offset);
        arena_free(&a);
    }
}
END_TEST

/* A region runs its members at one position, so a member reading the
 * state s sees it when v is written: only an elementwise member reads
 * s[i] at v's own index i before the store, so only then may v be
 * computed in place of s.  The fuse pass never puts another reader of a
 * state with its update (the planner's rule is what keeps that safe if it
 * did): the test sets the groups itself.  s + transpose(s) reads s at the
 * mirrored index: with the transpose in the update's region, an in-place
 * store of v[i][j] would be read back as s[j][i] by a later index. */
START_TEST(in_place_refused_for_a_non_elementwise_member)
{
    const char *text = "graph upd_t (train)\n"
                       "  input %x : f32[N,3]\n"
                       "  state %s : f32[3,3] = zeros()\n"
                       "  %0 = sum %x {axes=[0]} : f32[3]\n"
                       "  %1 = transpose %s : f32[3,3]\n"
                       "  %2 = add %s, %1 : f32[3,3]\n"
                       "  %3 = add %2, %0 : f32[3,3]\n"
                       "  %4 = assign %s, %3 : f32[3,3]\n"
                       "  %5 = sum %x : f32[]\n"
                       "  loss = %5\n";
    /* groups of %1, %2, %3: none; the update alone (the transpose reads s
       before it); the transpose in the update's region */
    const int groups[3][3] = {{0, 0, 0}, {0, 1, 1}, {1, 1, 1}};
    for (int c = 0; c < 3; c++) {
        Arena a;
        arena_init(&a);
        Graph *g = run_text(&a, "upd_t", text, 4, true);
        const Node *st = leaf(g, "s"), *t = g->nodes[3], *v = g->nodes[5];
        ck_assert_int_eq(t->op, OP_TRANSPOSE);
        ck_assert_int_eq(v->op, OP_ADD);
        ck_assert_ptr_eq(v->in[0], g->nodes[4]);
        for (int k = 0; k < 3; k++) g->nodes[3 + k]->fuse_group = groups[c][k];
        pass_plan(g, NULL);
        char what[64];
        snprintf(what, sizeof what, "upd_t (groups %d %d %d)", groups[c][0], groups[c][1], groups[c][2]);
        check_plan(g, what);
        if (c < 2) ck_assert_msg(v->offset == st->offset, "%s: the update is not computed in place", what);
        else ck_assert_msg(v->offset != st->offset, "%s: the update is computed in place of s, which the transpose reads", what);
        arena_free(&a);
    }
}
END_TEST

/* Plans one models/ file in both modes, with each fusion setting (regions,
 * none, chains) and maximum batches 1, 16 and 256, and checks each plan. */
static void plan_model(const TuModel *m, void *ctx)
{
    (void)ctx;
    for (int mode = 0; mode < 6; mode++)
        for (int64_t mb = 1; mb <= 256; mb *= 16) {
            char what[1200];
            snprintf(what, sizeof what, "%s (%s, %s, max batch %lld)", m->file, mode & 1 ? "train" : "infer",
                     mode >> 1 == 1 ? "unfused" : mode >> 1 == 2 ? "chains" : "regions", (long long)mb);
            Arena a;
            arena_init(&a);
            Graph *g = model_load(&a, m->path, mode & 1 ? MODE_TRAIN : MODE_INFER);
            PassOptions po = {0};
            po.max_batch = mb;
            po.no_fuse = mode >> 1 == 1;
            po.fuse_regions = mode >> 1 == 0;
            pass_run_pipeline(g, &po, NULL);
            check_plan(g, what);
            arena_free(&a);
        }
}

START_TEST(repository_models)
{
    tu_for_each_model(plan_model, NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chain_reuses_memory);
    tcase_add_test(tc, diamond_and_batch);
    tcase_add_test(tc, reshape_aliases);
    tcase_add_test(tc, assign_on_state_and_no_alias_of_written_param);
    tcase_add_test(tc, in_place_updates);
    tcase_add_test(tc, in_place_refused_for_a_non_elementwise_member);
    tcase_add_test(tc, repository_models);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
