/* optimizer.c - the `optimizer` pass: the train block's update rule as IR.
 *
 * For each (param p, gradient g) pair found by autodiff, the pass appends
 * the update of Keras' optimizer (the tf.keras 2 formulas, which PyTorch's
 * fixtures in tests/torch/ reproduce) and writes every new value with
 * assign(target, value), applied at the end of the step.  Hyperparameters
 * come from ir/optimizers.def (Keras' defaults, by X-macro), overridden by
 * the train block's keyword arguments (g->train.opt_args).
 *
 *   sgd(learning_rate, momentum, nesterov)
 *     momentum = 0:  p <- p - lr*g
 *     else:          v <- m*v - lr*g
 *                    p <- p + v                (nesterov: p <- p + m*v - lr*g,
 *                                               with the new v)
 *   rmsprop(learning_rate, rho, momentum, epsilon, centered)
 *     rms <- rho*rms + (1-rho)*g^2
 *     centered:  mg <- rho*mg + (1-rho)*g;  denom = sqrt(rms - mg^2) + eps
 *     else:      denom = sqrt(rms) + eps
 *     momentum = 0:  p <- p - lr*g/denom
 *     else:          mom <- momentum*mom + lr*g/denom;  p <- p - mom
 *   adagrad(learning_rate, initial_accumulator_value, epsilon)
 *     acc <- acc + g^2           (acc starts at initial_accumulator_value)
 *     p <- p - lr*g/(sqrt(acc) + eps)
 *   adam(learning_rate, beta_1, beta_2, epsilon, amsgrad)
 *     t <- t + 1
 *     m <- b1*m + (1-b1)*g;   v <- b2*v + (1-b2)*g^2
 *     lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
 *     p <- p - lr_t*m/(sqrt(v) + eps)
 *     amsgrad: vhat <- max(vhat, v), used in place of v
 *
 * Every right-hand side reads the values from before the step; the new
 * values of the slots feed the parameter update within the step (as above).
 *
 * Naming (checkpoints show these):
 *   learning_rate                         hparam f32[], the runtime can change it
 *   optimizer.iterations                  state f32[], the step count (adam)
 *   optimizer.<opt>.<param>.<slot>        state shaped like the param, slots:
 *     sgd: momentum   rmsprop: rms, momentum, mg   adagrad: accumulator
 *     adam: m, v, vhat
 * e.g. optimizer.rmsprop.dense_1.kernel.rms.  Other hyperparameters are
 * consts.  Slots start at zero, except adagrad's accumulator.
 *
 * A graph without a train block gets Keras' compile() default, rmsprop.
 * A graph that already holds assign nodes (an .ir dump made after this
 * pass, read back) is left unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "../ir/node_table.h"

typedef struct OptDef {
    const char *name;
    const char *defaults; /* "hyper=value,..." */
} OptDef;

static const OptDef optimizers[] = {
#define OPTIMIZER(name, defaults) {#name, defaults},
#include "../ir/optimizers.def"
#undef OPTIMIZER
};

#define NOPT ((int)(sizeof optimizers / sizeof optimizers[0]))

#define MAX_CONSTS 32

/* State of one run of the pass. */
typedef struct Opt {
    Graph *g;
    const OptDef *def;
    SrcLoc loc;    /* of the optimizer in the train block */
    Node *lr;      /* the learning_rate hparam */
    NodeTable leaves; /* the graph's named leaves by name, kept up to date */
    Node *consts[MAX_CONSTS]; /* scalar consts built so far, shared */
    int nconsts;
} Opt;

/* Looks `key` up in a defaults string; returns false if absent. */
static bool default_of(const char *defaults, const char *key, double *out)
{
    size_t klen = strlen(key);
    const char *s = defaults;
    while (*s) {
        const char *eq = strchr(s, '=');
        if (!eq) break;
        if ((size_t)(eq - s) == klen && strncmp(s, key, klen) == 0) {
            *out = strtod(eq + 1, NULL);
            return true;
        }
        const char *comma = strchr(eq, ',');
        if (!comma) break;
        s = comma + 1;
    }
    return false;
}

/* A hyperparameter: the train block's value, else the table's default. */
static double hyper(const Opt *o, const char *key)
{
    const TrainConfig *t = &o->g->train;
    for (int i = 0; i < t->nopt_args; i++) {
        const Attr *a = &t->opt_args[i];
        if (strcmp(a->name, key) != 0) continue;
        if (a->kind == AK_FLOAT) return a->f;
        if (a->kind == AK_INT || a->kind == AK_BOOL) return (double)a->i;
        dlc_error(o->loc, "%s: '%s' must be a number", o->def->name, key);
    }
    double v;
    if (!default_of(o->def->defaults, key, &v)) DLC_ICE("optimizer %s has no hyperparameter '%s'", o->def->name, key);
    return v;
}

/* Checks the train block's arguments against the table and ranges. */
static void check_args(const Opt *o)
{
    const TrainConfig *t = &o->g->train;
    for (int i = 0; i < t->nopt_args; i++) {
        double v;
        if (!default_of(o->def->defaults, t->opt_args[i].name, &v))
            dlc_error(o->loc, "optimizer '%s' has no hyperparameter '%s' (it takes: %s)", o->def->name,
                      t->opt_args[i].name, o->def->defaults);
    }
    static const char *const unit[] = {"momentum", "rho", "beta_1", "beta_2", NULL};
    for (int i = 0; unit[i]; i++) {
        double v;
        if (!default_of(o->def->defaults, unit[i], &v)) continue;
        v = hyper(o, unit[i]);
        if (!(v >= 0.0 && v <= 1.0))
            dlc_error(o->loc, "%s: %s must be in [0, 1], got %g", o->def->name, unit[i], v);
    }
    double lr = hyper(o, "learning_rate");
    if (!(lr >= 0.0)) dlc_error(o->loc, "%s: learning_rate must be >= 0, got %g", o->def->name, lr);
    double eps;
    if (default_of(o->def->defaults, "epsilon", &eps) && !(hyper(o, "epsilon") >= 0.0))
        dlc_error(o->loc, "%s: epsilon must be >= 0, got %g", o->def->name, hyper(o, "epsilon"));
}

/* ---- IR helpers ---------------------------------------------------------- */

/* A scalar const in like's dtype; each (dtype, value) is built once. */
static Node *cst(Opt *o, const Node *like, double v)
{
    DType dt = like->type.dtype;
    for (int i = 0; i < o->nconsts; i++)
        if (o->consts[i]->type.dtype == dt && node_attr_float(o->consts[i], "value") == v) return o->consts[i];
    Node *c = ir_const(o->g, dt, v, o->loc);
    if (o->nconsts < MAX_CONSTS) o->consts[o->nconsts++] = c;
    return c;
}

static Node *bin(Opt *o, OpCode op, Node *a, Node *b)
{
    return ir_binary(o->g, op, a, b, o->loc);
}

static Node *scale(Opt *o, double k, Node *x)
{
    return bin(o, OP_MUL, cst(o, x, k), x);
}

/* The learning rate in p's dtype. */
static Node *lr_for(Opt *o, const Node *p)
{
    if (o->lr->type.dtype == p->type.dtype) return o->lr;
    Attr a = attr_dtype("dtype", p->type.dtype);
    return ir_node_checked(o->g, OP_CAST, &o->lr, 1, &a, 1, o->loc);
}

/* A zero-initialised (or constant-initialised) state shaped like p. */
static Node *slot(Opt *o, const Node *p, const char *slot_name, double init)
{
    const char *name = arena_printf(o->g->arena, "optimizer.%s.%s.%s", o->def->name, p->name, slot_name);
    if (node_table_get(&o->leaves, name)) dlc_error(o->loc, "the name '%s' is already taken", name);
    Attr at[2];
    int na = 1;
    if (init == 0.0) {
        at[0] = attr_str("init", "zeros");
    } else {
        at[0] = attr_str("init", "constant");
        at[1] = attr_float("value", init);
        na = 2;
    }
    Node *n = ir_state(o->g, name, p->type, at, na, o->loc);
    node_table_put(o->g->arena, &o->leaves, n->name, n);
    return n;
}

static void assign(Opt *o, Node *target, Node *value)
{
    Node *in[2] = {target, value};
    ir_node_checked(o->g, OP_ASSIGN, in, 2, NULL, 0, o->loc);
}

/* old*k + x*(1-k): the exponential moving average update.  1-k is
 * rounded to 15 significant digits so that dumps show 0.1, not
 * 0.09999999999999998 (the difference is far below f32 precision). */
static Node *ema(Opt *o, double k, Node *old, Node *x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", 1.0 - k);
    return bin(o, OP_ADD, scale(o, k, old), scale(o, strtod(buf, NULL), x));
}

/* ---- the update rules ---------------------------------------------------- */

static void update_sgd(Opt *o, Node *p, Node *g)
{
    double m = hyper(o, "momentum");
    bool nesterov = hyper(o, "nesterov") != 0.0;
    Node *lr_g = bin(o, OP_MUL, lr_for(o, p), g);
    if (m == 0.0) {
        assign(o, p, bin(o, OP_SUB, p, lr_g));
        return;
    }
    Node *v = slot(o, p, "momentum", 0.0);
    Node *v_new = bin(o, OP_SUB, scale(o, m, v), lr_g);
    assign(o, v, v_new);
    if (nesterov) assign(o, p, bin(o, OP_ADD, p, bin(o, OP_SUB, scale(o, m, v_new), lr_g)));
    else assign(o, p, bin(o, OP_ADD, p, v_new));
}

static void update_rmsprop(Opt *o, Node *p, Node *g)
{
    double rho = hyper(o, "rho"), momentum = hyper(o, "momentum"), eps = hyper(o, "epsilon");
    bool centered = hyper(o, "centered") != 0.0;
    Node *rms = slot(o, p, "rms", 0.0);
    Node *rms_new = ema(o, rho, rms, ir_unary(o->g, OP_SQUARE, g, o->loc));
    assign(o, rms, rms_new);
    Node *var = rms_new;
    if (centered) {
        Node *mg = slot(o, p, "mg", 0.0);
        Node *mg_new = ema(o, rho, mg, g);
        assign(o, mg, mg_new);
        var = bin(o, OP_SUB, rms_new, ir_unary(o->g, OP_SQUARE, mg_new, o->loc));
    }
    Node *denom = bin(o, OP_ADD, ir_unary(o->g, OP_SQRT, var, o->loc), cst(o, p, eps));
    Node *incr = bin(o, OP_DIV, bin(o, OP_MUL, lr_for(o, p), g), denom);
    if (momentum != 0.0) {
        Node *mom = slot(o, p, "momentum", 0.0);
        Node *mom_new = bin(o, OP_ADD, scale(o, momentum, mom), incr);
        assign(o, mom, mom_new);
        incr = mom_new;
    }
    assign(o, p, bin(o, OP_SUB, p, incr));
}

static void update_adagrad(Opt *o, Node *p, Node *g)
{
    double eps = hyper(o, "epsilon");
    Node *acc = slot(o, p, "accumulator", hyper(o, "initial_accumulator_value"));
    Node *acc_new = bin(o, OP_ADD, acc, ir_unary(o->g, OP_SQUARE, g, o->loc));
    assign(o, acc, acc_new);
    Node *denom = bin(o, OP_ADD, ir_unary(o->g, OP_SQRT, acc_new, o->loc), cst(o, p, eps));
    assign(o, p, bin(o, OP_SUB, p, bin(o, OP_DIV, bin(o, OP_MUL, lr_for(o, p), g), denom)));
}

/* Adam's step-dependent learning rate lr*sqrt(1-b2^t)/(1-b1^t), from the
 * incremented counter t (built once, in p's dtype). */
static Node *adam_lr_t(Opt *o, const Node *p, Node *t_new)
{
    double b1 = hyper(o, "beta_1"), b2 = hyper(o, "beta_2");
    Node *t = t_new;
    if (t->type.dtype != p->type.dtype) {
        Attr a = attr_dtype("dtype", p->type.dtype);
        t = ir_node_checked(o->g, OP_CAST, &t, 1, &a, 1, o->loc);
    }
    Node *c1 = bin(o, OP_SUB, cst(o, p, 1.0), bin(o, OP_POW, cst(o, p, b1), t));
    Node *c2 = bin(o, OP_SUB, cst(o, p, 1.0), bin(o, OP_POW, cst(o, p, b2), t));
    return bin(o, OP_DIV, bin(o, OP_MUL, lr_for(o, p), ir_unary(o->g, OP_SQRT, c2, o->loc)), c1);
}

static void update_adam(Opt *o, Node *p, Node *g, Node *lr_t)
{
    double b1 = hyper(o, "beta_1"), b2 = hyper(o, "beta_2"), eps = hyper(o, "epsilon");
    bool amsgrad = hyper(o, "amsgrad") != 0.0;
    Node *m = slot(o, p, "m", 0.0), *v = slot(o, p, "v", 0.0);
    Node *m_new = ema(o, b1, m, g);
    Node *v_new = ema(o, b2, v, ir_unary(o->g, OP_SQUARE, g, o->loc));
    assign(o, m, m_new);
    assign(o, v, v_new);
    if (amsgrad) {
        Node *vhat = slot(o, p, "vhat", 0.0);
        Node *vhat_new = bin(o, OP_MAXIMUM, vhat, v_new);
        assign(o, vhat, vhat_new);
        v_new = vhat_new;
    }
    Node *denom = bin(o, OP_ADD, ir_unary(o->g, OP_SQRT, v_new, o->loc), cst(o, p, eps));
    assign(o, p, bin(o, OP_SUB, p, bin(o, OP_DIV, bin(o, OP_MUL, lr_t, m_new), denom)));
}

/* ---- the pass -------------------------------------------------------------- */

void pass_optimizer(Graph *g, const PassOptions *opts)
{
    if (opts && opts->no_optimizer) return;
    if (g->ngrads == 0) return;
    /* already lowered (an .ir dump made after this pass, read back) */
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_ASSIGN) return;
    Opt o = {g, NULL, g->train.optimizer_loc, NULL, ir_leaf_table(g), {NULL}, 0};
    const char *name = g->train.optimizer ? g->train.optimizer : "rmsprop";
    for (int i = 0; i < NOPT; i++)
        if (strcmp(optimizers[i].name, name) == 0) o.def = &optimizers[i];
    if (!o.def) dlc_error(o.loc, "unknown optimizer '%s' (known: sgd, rmsprop, adagrad, adam)", name);
    check_args(&o);

    o.lr = node_table_get(&o.leaves, "learning_rate");
    if (o.lr && o.lr->op != OP_HPARAM) dlc_error(o.lr->loc, "the name 'learning_rate' is reserved for the optimizer");
    if (!o.lr) {
        o.lr = ir_hparam(g, "learning_rate", hyper(&o, "learning_rate"), o.loc);
        node_table_put(g->arena, &o.leaves, o.lr->name, o.lr);
    }

    bool adam = strcmp(o.def->name, "adam") == 0;
    Node *t = NULL, *t_new = NULL;
    if (adam) {
        if (node_table_get(&o.leaves, "optimizer.iterations"))
            dlc_error(o.loc, "the name 'optimizer.iterations' is already taken");
        Attr z = attr_str("init", "zeros");
        t = ir_state(g, "optimizer.iterations", tt_scalar(DT_F32), &z, 1, o.loc);
        node_table_put(g->arena, &o.leaves, t->name, t);
        t_new = bin(&o, OP_ADD, t, cst(&o, t, 1.0));
    }
    Node *lr_t[DT_COUNT] = {NULL};
    int ngrads = g->ngrads;
    for (int i = 0; i < ngrads; i++) {
        Node *p = g->grad_params[i], *gr = g->grads[i];
        if (strcmp(o.def->name, "sgd") == 0) {
            update_sgd(&o, p, gr);
        } else if (strcmp(o.def->name, "rmsprop") == 0) {
            update_rmsprop(&o, p, gr);
        } else if (strcmp(o.def->name, "adagrad") == 0) {
            update_adagrad(&o, p, gr);
        } else if (adam) {
            DType dt = p->type.dtype;
            if (!lr_t[dt]) lr_t[dt] = adam_lr_t(&o, p, t_new);
            update_adam(&o, p, gr, lr_t[dt]);
        } else {
            DLC_ICE("optimizer '%s' is in optimizers.def but has no update rule", o.def->name);
        }
    }
    if (t) assign(&o, t, t_new);
}
