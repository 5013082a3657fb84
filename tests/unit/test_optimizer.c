/* test_optimizer.c - the optimizer pass's update rules, step by step.
 *
 * A small regression (loss = mse(x @ w + b, t)) is differentiated and
 * lowered with each optimizer; the reference interpreter then runs a few
 * training steps, and after each one every parameter must equal the
 * Keras formula (passes/optimizer.c's header), applied here in plain C to
 * the gradients the step computed.  Also: slot and hparam names, defaults
 * from optimizers.def, --no-optimizer, and the errors for bad arguments.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "testutil.h"

#define N DIM_N
#define STEPS 4

static Arena arena;
static Graph *g;
static Node *x, *t, *w, *b;

/* Builds the model and sets its train block to opt(args). */
static void build(const char *opt, const Attr *args, int nargs)
{
    arena_init(&arena);
    g = ir_graph_new(&arena, "reg", MODE_TRAIN);
    int64_t xd[2] = {N, 3}, td[2] = {N, 2}, wd[2] = {3, 2}, bd[1] = {2};
    x = ir_input(g, "x", tt_make(DT_F32, 2, xd), SRCLOC_NONE);
    t = ir_input(g, "t", tt_make(DT_F32, 2, td), SRCLOC_NONE);
    Attr gu = attr_str("init", "glorot_uniform"), on = attr_str("init", "ones");
    w = ir_param(g, "w", tt_make(DT_F32, 2, wd), &gu, 1, SRCLOC_NONE);
    b = ir_param(g, "b", tt_make(DT_F32, 1, bd), &on, 1, SRCLOC_NONE);
    Node *p = ir_binary(g, OP_ADD, ir_binary(g, OP_MATMUL, x, w, SRCLOC_NONE), b, SRCLOC_NONE);
    Node *in[2] = {p, t};
    g->loss = ir_node(g, OP_MEAN_SQUARED_ERROR, in, 2, NULL, 0, SRCLOC_NONE);
    g->train.present = true;
    g->train.optimizer = opt;
    g->train.opt_args = ARENA_NEW_N(&arena, Attr, nargs ? nargs : 1);
    if (nargs) memcpy(g->train.opt_args, args, sizeof(Attr) * (size_t)nargs);
    g->train.nopt_args = nargs;
}

/* The Keras update of one tensor, in C: the expected values. */
typedef struct Hyper {
    const char *opt;
    double lr, momentum, rho, eps, b1, b2, init_acc;
    bool nesterov, centered, amsgrad;
} Hyper;

typedef struct Slots {
    double v[8], m[8], ms[8], mg[8], vhat[8];
} Slots;

static void keras_update(const Hyper *h, double *p, const double *gr, int n, Slots *s, double step)
{
    for (int i = 0; i < n; i++) {
        double gi = gr[i];
        if (strcmp(h->opt, "sgd") == 0) {
            if (h->momentum == 0) {
                p[i] -= h->lr * gi;
            } else {
                s->v[i] = h->momentum * s->v[i] - h->lr * gi;
                p[i] += h->nesterov ? h->momentum * s->v[i] - h->lr * gi : s->v[i];
            }
        } else if (strcmp(h->opt, "rmsprop") == 0) {
            s->ms[i] = h->rho * s->ms[i] + (1 - h->rho) * gi * gi;
            double var = s->ms[i];
            if (h->centered) {
                s->mg[i] = h->rho * s->mg[i] + (1 - h->rho) * gi;
                var -= s->mg[i] * s->mg[i];
            }
            double inc = h->lr * gi / (sqrt(var) + h->eps);
            if (h->momentum != 0) {
                s->v[i] = h->momentum * s->v[i] + inc;
                inc = s->v[i];
            }
            p[i] -= inc;
        } else if (strcmp(h->opt, "adagrad") == 0) {
            s->ms[i] += gi * gi;
            p[i] -= h->lr * gi / (sqrt(s->ms[i]) + h->eps);
        } else { /* adam */
            s->m[i] = h->b1 * s->m[i] + (1 - h->b1) * gi;
            s->v[i] = h->b2 * s->v[i] + (1 - h->b2) * gi * gi;
            double lr_t = h->lr * sqrt(1 - pow(h->b2, step)) / (1 - pow(h->b1, step));
            double v = s->v[i];
            if (h->amsgrad) {
                s->vhat[i] = fmax(s->vhat[i], s->v[i]);
                v = s->vhat[i];
            }
            p[i] -= lr_t * s->m[i] / (sqrt(v) + h->eps);
        }
    }
}

/* Lowers with the given train block and checks STEPS steps against h. */
static void check_trajectory(const Hyper *h, const Attr *args, int nargs)
{
    build(h->opt, args, nargs);
    PassOptions o = {0};
    pass_autodiff(g, &o);
    pass_optimizer(g, &o);
    ck_assert_ptr_null(ir_verify(g));
    Interp *it = interp_new(g, 4, 3);
    double *xb = interp_buf(it, x), *tb = interp_buf(it, t);
    for (int i = 0; i < 12; i++) xb[i] = sin(1.0 + i);
    for (int i = 0; i < 8; i++) tb[i] = cos(2.0 * i);
    Slots sw, sb;
    memset(&sw, 0, sizeof sw);
    memset(&sb, 0, sizeof sb);
    for (int i = 0; i < 8; i++) sw.ms[i] = sb.ms[i] = h->init_acc;
    for (int step = 1; step <= STEPS; step++) {
        double pw[6], pb[2], gw[6], gb[2];
        memcpy(pw, interp_buf(it, w), sizeof pw);
        memcpy(pb, interp_buf(it, b), sizeof pb);
        interp_run(it);
        ck_assert_ptr_eq(g->grad_params[0], w);
        memcpy(gw, interp_buf(it, g->grads[0]), sizeof gw);
        memcpy(gb, interp_buf(it, g->grads[1]), sizeof gb);
        interp_apply_assigns(it);
        keras_update(h, pw, gw, 6, &sw, step);
        keras_update(h, pb, gb, 2, &sb, step);
        for (int i = 0; i < 6; i++)
            ck_assert_msg(fabs(interp_buf(it, w)[i] - pw[i]) <= 1e-12 * (1 + fabs(pw[i])),
                          "%s step %d: w[%d] = %.17g, Keras says %.17g", h->opt, step, i, interp_buf(it, w)[i], pw[i]);
        for (int i = 0; i < 2; i++)
            ck_assert_msg(fabs(interp_buf(it, b)[i] - pb[i]) <= 1e-12 * (1 + fabs(pb[i])),
                          "%s step %d: b[%d] = %.17g, Keras says %.17g", h->opt, step, i, interp_buf(it, b)[i], pb[i]);
        ck_assert(pw[0] != 0.0);
    }
    interp_free(it);
    arena_free(&arena);
}

START_TEST(sgd_plain)
{
    Hyper h = {.opt = "sgd", .lr = 0.01};
    check_trajectory(&h, NULL, 0);
}
END_TEST

START_TEST(sgd_momentum_and_nesterov)
{
    Hyper h = {.opt = "sgd", .lr = 0.05, .momentum = 0.9};
    Attr a[3] = {attr_float("learning_rate", 0.05), attr_float("momentum", 0.9), attr_bool("nesterov", 1)};
    check_trajectory(&h, a, 2);
    h.nesterov = true;
    check_trajectory(&h, a, 3);
}
END_TEST

START_TEST(rmsprop_variants)
{
    Hyper h = {.opt = "rmsprop", .lr = 0.001, .rho = 0.9, .eps = 1e-7};
    check_trajectory(&h, NULL, 0);
    Attr a[4] = {attr_float("rho", 0.8), attr_float("momentum", 0.5), attr_bool("centered", 1),
                 attr_float("epsilon", 1e-3)};
    Hyper hc = {.opt = "rmsprop", .lr = 0.001, .rho = 0.8, .momentum = 0.5, .centered = true, .eps = 1e-3};
    check_trajectory(&hc, a, 4);
}
END_TEST

START_TEST(adagrad)
{
    Hyper h = {.opt = "adagrad", .lr = 0.1, .eps = 1e-7, .init_acc = 0.1};
    Attr a = attr_float("learning_rate", 0.1);
    check_trajectory(&h, &a, 1);
}
END_TEST

START_TEST(adam_and_amsgrad)
{
    Hyper h = {.opt = "adam", .lr = 0.001, .b1 = 0.9, .b2 = 0.999, .eps = 1e-7};
    check_trajectory(&h, NULL, 0);
    Attr a[3] = {attr_float("learning_rate", 0.01), attr_float("beta_1", 0.5), attr_bool("amsgrad", 1)};
    Hyper h2 = {.opt = "adam", .lr = 0.01, .b1 = 0.5, .b2 = 0.999, .eps = 1e-7, .amsgrad = true};
    check_trajectory(&h2, a, 3);
}
END_TEST

START_TEST(names_of_slots_and_hyperparameters)
{
    build("adam", NULL, 0);
    PassOptions o = {0};
    pass_autodiff(g, &o);
    pass_optimizer(g, &o);
    Node *lr = ir_find_leaf(g, "learning_rate");
    ck_assert_ptr_nonnull(lr);
    ck_assert_int_eq(lr->op, OP_HPARAM);
    ck_assert_double_eq(node_attr_float(lr, "value"), 0.001);
    Node *it = ir_find_leaf(g, "optimizer.iterations");
    ck_assert(it && it->op == OP_STATE && it->type.rank == 0 && it->type.dtype == DT_F32);
    Node *m = ir_find_leaf(g, "optimizer.adam.w.m");
    ck_assert(m && m->op == OP_STATE && tt_equal(&m->type, &w->type));
    ck_assert_ptr_nonnull(ir_find_leaf(g, "optimizer.adam.b.v"));
    ck_assert_ptr_null(ir_find_leaf(g, "optimizer.adam.b.vhat"));
    int assigns = 0;
    for (int i = 0; i < g->nnodes; i++) assigns += g->nodes[i]->op == OP_ASSIGN;
    ck_assert_int_eq(assigns, 2 * 3 + 1); /* w, b and their m, v; the counter */
    arena_free(&arena);

    build("rmsprop", NULL, 0);
    pass_autodiff(g, &o);
    pass_optimizer(g, &o);
    ck_assert_ptr_nonnull(ir_find_leaf(g, "optimizer.rmsprop.w.rms"));
    ck_assert_ptr_null(ir_find_leaf(g, "optimizer.iterations"));
    arena_free(&arena);

    build("adagrad", NULL, 0);
    pass_autodiff(g, &o);
    pass_optimizer(g, &o);
    Node *acc = ir_find_leaf(g, "optimizer.adagrad.b.accumulator");
    ck_assert(acc && strcmp(node_attr_str(acc, "init"), "constant") == 0);
    ck_assert_double_eq(node_attr_float(acc, "value"), 0.1);
    arena_free(&arena);
}
END_TEST

START_TEST(no_optimizer_option_skips_the_pass)
{
    build("sgd", NULL, 0);
    PassOptions o = {.no_optimizer = true};
    pass_autodiff(g, &o);
    int before = g->nnodes;
    pass_optimizer(g, &o);
    ck_assert_int_eq(g->nnodes, before);
    ck_assert_ptr_null(ir_find_leaf(g, "learning_rate"));
    arena_free(&arena);
}
END_TEST

/* tu_capture_error callback: runs the optimizer pass on g with the
 * PassOptions *ctx. */
static void optimizer_cb(void *ctx)
{
    pass_optimizer(g, ctx);
}

/* Runs the optimizer pass expecting a user error; returns the message. */
static char *optimizer_error(const char *opt, const Attr *args, int nargs)
{
    static char msg[4096];
    build(opt, args, nargs);
    PassOptions o = {0};
    pass_autodiff(g, &o);
    char *buf = tu_capture_error(optimizer_cb, &o);
    arena_free(&arena);
    ck_assert_msg(buf != NULL, "optimizer pass succeeded, an error was expected");
    snprintf(msg, sizeof msg, "%s", buf);
    free(buf);
    return msg;
}

START_TEST(bad_arguments_are_errors)
{
    char *m = optimizer_error("adamw", NULL, 0);
    ck_assert_msg(strstr(m, "unknown optimizer 'adamw'") != NULL, "%s", m);
    Attr rho = attr_float("rho", 0.9);
    m = optimizer_error("sgd", &rho, 1);
    ck_assert_msg(strstr(m, "optimizer 'sgd' has no hyperparameter 'rho'") != NULL, "%s", m);
    Attr mom = attr_float("momentum", 1.5);
    m = optimizer_error("sgd", &mom, 1);
    ck_assert_msg(strstr(m, "sgd: momentum must be in [0, 1], got 1.5") != NULL, "%s", m);
    Attr lr = attr_float("learning_rate", -1);
    m = optimizer_error("adam", &lr, 1);
    ck_assert_msg(strstr(m, "adam: learning_rate must be >= 0, got -1") != NULL, "%s", m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optimizer");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, sgd_plain);
    tcase_add_test(tc, sgd_momentum_and_nesterov);
    tcase_add_test(tc, rmsprop_variants);
    tcase_add_test(tc, adagrad);
    tcase_add_test(tc, adam_and_amsgrad);
    tcase_add_test(tc, names_of_slots_and_hyperparameters);
    tcase_add_test(tc, no_optimizer_option_skips_the_pass);
    tcase_add_test(tc, bad_arguments_are_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
