/* gradcheck.c - finite-difference gradient checks on the f64 interpreter.
 *
 * gradcheck_graph(g):
 *  1. Rebuilds, twice, the part of g that the loss depends on, with every
 *     f32 tensor made f64 (leaves are recreated with the wider type and the
 *     shape rules rerun on every other node; hparams become consts).  One
 *     copy stays forward-only (for the finite differences), the other gets
 *     the backward graph from autodiff_graph().  Both copies are built in
 *     the same order, so their node ids - which key the dropout masks -
 *     agree and each mask is held fixed.
 *  2. Binds random inputs, chosen by what consumes them (class indices for
 *     labels, probabilities for cross-entropy targets, normals otherwise),
 *     and parameters (their initializers plus a little noise, so that zero
 *     biases do not sit on symmetric points).
 *  3. For each parameter, compares its analytic gradient with central
 *     differences on up to max_elems sampled elements.
 *  4. If a parameter fails and o->attribute is set, checks every op on the
 *     differentiable path locally: a graph of that op alone over inputs
 *     holding the values it saw, loss sum(y * w) with a random w, checked
 *     the same way.  The op whose local check is worst is named, with its
 *     source position.
 *
 * gradcheck_op() is step 4 for one op over random operands in its domain.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/interp.h"
#include "autodiff.h"
#include "gradcheck.h"

void gradcheck_default_options(GradcheckOptions *o)
{
    o->seed = 1;
    o->batch = 3;
    o->eps = 1e-6;
    o->atol = 1e-5;
    o->rtol = 1e-3;
    o->max_elems = 64;
    o->attribute = true;
}

/* ---- random numbers (SplitMix64) ----------------------------------------- */

typedef struct Rng {
    uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unif(Rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_normal(Rng *r)
{
    double u1 = 1.0 - rng_unif(r), u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- operand domains ------------------------------------------------------ */

static bool attrs_bool(const Attr *attrs, int nattrs, const char *name)
{
    for (int i = 0; i < nattrs; i++)
        if (strcmp(attrs[i].name, name) == 0) return attrs[i].i != 0;
    return false;
}

/* The values operand i of op should take for its derivative to exist and
 * be well conditioned: the dom column of ops.def, read with the node's
 * from_logits attribute; integer operands are labels. */
static Domain domain_of(OpCode op, int i, const Attr *attrs, int nattrs, DType dt)
{
    if (!dtype_is_float(dt)) return DOM_LABEL;
    return op_domain(op, i, attrs_bool(attrs, nattrs, "from_logits"));
}

/* Fills m values of a tensor whose last dim is `last` (rows for the
 * simplex) from domain d (the ranges are those documented in ops.def);
 * labels take classes in [0, classes). */
static void fill(Rng *r, Domain d, double *x, int64_t m, int64_t last, int64_t classes)
{
    for (int64_t j = 0; j < m; j++) {
        double u = rng_unif(r);
        switch (d) {
        case DOM_NORMAL: x[j] = rng_normal(r); break;
        case DOM_POS: x[j] = 0.5 + 1.5 * u; break;
        case DOM_AWAY0: x[j] = (rng_unif(r) < 0.5 ? -1.0 : 1.0) * (0.2 + 1.3 * u); break;
        case DOM_PROB: x[j] = 0.05 + 0.9 * u; break;
        case DOM_UNIT: x[j] = u; break;
        case DOM_SIMPLEX: x[j] = 0.1 + u; break;
        case DOM_LABEL: x[j] = floor(u * (double)(classes > 0 ? classes : 1)); break;
        }
    }
    if (d == DOM_SIMPLEX && last > 0)
        for (int64_t row = 0; row + last <= m; row += last) {
            double s = 0.0;
            for (int64_t k = 0; k < last; k++) s += x[row + k];
            for (int64_t k = 0; k < last; k++) x[row + k] /= s;
        }
}

static int64_t last_dim(const TensorType *t, int64_t n)
{
    if (t->rank == 0) return 1;
    int64_t d = t->dims[t->rank - 1];
    return d == DIM_N ? n : d;
}

/* ---- comparing one tensor's gradient ------------------------------------------ */

static void stat_merge(GradcheckStat *into, const GradcheckStat *s)
{
    if (s->max_ratio > into->max_ratio || into->checked == 0) {
        into->max_ratio = s->max_ratio;
        into->worst = s->worst;
        into->worst_analytic = s->worst_analytic;
        into->worst_numeric = s->worst_numeric;
    }
    into->checked += s->checked;
    into->failed += s->failed;
    if (s->max_abs_err > into->max_abs_err) into->max_abs_err = s->max_abs_err;
    if (s->error && !into->error) into->error = s->error;
}

/* Central differences of the scalar `loss` of interpreter `it` with respect
 * to the buffer of `leaf`, against `analytic` (a copy of its gradient), on
 * up to o->max_elems sampled elements. */
static GradcheckStat check_tensor(Interp *it, const Node *loss, const Node *leaf, const double *analytic,
                                  const GradcheckOptions *o, Rng *r)
{
    GradcheckStat s = {0};
    double *x = interp_buf(it, leaf);
    int64_t m = interp_numel(it, leaf);
    bool all = o->max_elems <= 0 || m <= o->max_elems;
    int64_t count = all ? m : o->max_elems;
    for (int64_t k = 0; k < count; k++) {
        int64_t j = all ? k : (int64_t)(rng_unif(r) * (double)m);
        double keep = x[j];
        x[j] = keep + o->eps;
        interp_run(it);
        double lp = interp_buf(it, loss)[0];
        x[j] = keep - o->eps;
        interp_run(it);
        double lm = interp_buf(it, loss)[0];
        x[j] = keep;
        double num = (lp - lm) / (2.0 * o->eps), a = analytic[j];
        double err = fabs(a - num), ratio = err / (o->atol + o->rtol * fabs(num));
        if (isnan(ratio)) ratio = INFINITY;
        s.checked++;
        if (ratio > 1.0) s.failed++;
        if (err > s.max_abs_err || isnan(err)) s.max_abs_err = isnan(err) ? INFINITY : err;
        if (ratio > s.max_ratio || s.checked == 1) {
            s.max_ratio = ratio;
            s.worst = j;
            s.worst_analytic = a;
            s.worst_numeric = num;
        }
    }
    interp_run(it); /* leave the buffers consistent with the unperturbed point */
    return s;
}

static double *copy_buf(Interp *it, const Node *n)
{
    int64_t m = interp_numel(it, n);
    double *c = malloc(sizeof(double) * (size_t)(m ? m : 1));
    if (!c) DLC_ICE("gradcheck: out of memory");
    memcpy(c, interp_buf(it, n), sizeof(double) * (size_t)m);
    return c;
}

/* ---- one op, checked alone ------------------------------------------------------ */

static TensorType widen(TensorType t)
{
    if (t.dtype == DT_F32) t.dtype = DT_F64;
    return t;
}

/* Builds y = op(x0..) over inputs of types in[], loss = sum(y * w), and
 * checks d loss / d x_i for wrt[i].  values[i] (may be NULL, or NULL
 * entries) give the operands' values, else they are drawn from the op's
 * domain.  `what` names the check in the report. */
static GradcheckStat local_check(OpCode op, const TensorType *in, int nin, const Attr *attrs, int nattrs,
                                 const bool *wrt, double *const *values, const GradcheckOptions *o, Rng *r,
                                 FILE *report, const char *what)
{
    GradcheckStat total = {0};
    Arena arena;
    arena_init(&arena);
    Graph *g = ir_graph_new(&arena, "gradcheck_op", MODE_TRAIN);
    Node **leaves = ARENA_NEW_N(&arena, Node *, nin);
    Node **grads = ARENA_NEW_N(&arena, Node *, nin);
    Node **wl = ARENA_NEW_N(&arena, Node *, nin);
    int nw = 0;
    for (int i = 0; i < nin; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        leaves[i] = ir_input(g, name, widen(in[i]), SRCLOC_NONE);
        if (wrt[i]) wl[nw++] = leaves[i];
    }
    Node *y;
    const char *err = ir_node_try(g, op, leaves, nin, attrs, nattrs, SRCLOC_NONE, &y);
    if (err) {
        total.error = "the op's shape rule rejects these operands";
        if (report) fprintf(report, "  %s: cannot build the op alone: %s\n", what, err);
        arena_free(&arena);
        return total;
    }
    Node *w = ir_input(g, "w", y->type, SRCLOC_NONE);
    Node *loss = ir_node_checked(g, OP_SUM, (Node *[]){ir_binary(g, OP_MUL, y, w, SRCLOC_NONE)}, 1, NULL, 0,
                                 SRCLOC_NONE);
    g->loss = loss;
    autodiff_graph(g, loss, wl, nw, grads);

    Interp *it = interp_new(g, o->batch, o->seed);
    int64_t classes = nin > 0 ? last_dim(&in[0], o->batch) : 1;
    for (int i = 0; i < nin; i++) {
        double *x = interp_buf(it, leaves[i]);
        int64_t m = interp_numel(it, leaves[i]);
        if (values && values[i])
            memcpy(x, values[i], sizeof(double) * (size_t)m);
        else
            fill(r, domain_of(op, i, attrs, nattrs, in[i].dtype), x, m, last_dim(&in[i], o->batch), classes);
    }
    fill(r, DOM_NORMAL, interp_buf(it, w), interp_numel(it, w), 1, 1);
    interp_run(it);
    for (int i = 0, k = 0; i < nin; i++) {
        if (!wrt[i]) continue;
        Node *gk = grads[k++];
        GradcheckStat s = {0};
        if (!gk) {
            /* no path: the analytic gradient is zero */
            int64_t m = interp_numel(it, leaves[i]);
            double *zero = calloc((size_t)(m ? m : 1), sizeof(double));
            if (!zero) DLC_ICE("gradcheck: out of memory");
            s = check_tensor(it, loss, leaves[i], zero, o, r);
            free(zero);
        } else {
            double *a = copy_buf(it, gk);
            s = check_tensor(it, loss, leaves[i], a, o, r);
            free(a);
        }
        if (report) {
            char t[TT_FMT_LEN];
            fprintf(report, "  %s operand %d %s: %lld checked, max abs error %.3g%s", what, i,
                    tt_format(&leaves[i]->type, t, sizeof t), (long long)s.checked, s.max_abs_err,
                    s.failed ? "" : "  ok\n");
            if (s.failed)
                fprintf(report, "  FAIL at [%lld]: analytic %.9g, numeric %.9g\n", (long long)s.worst,
                        s.worst_analytic, s.worst_numeric);
        }
        stat_merge(&total, &s);
    }
    interp_free(it);
    arena_free(&arena);
    return total;
}

GradcheckStat gradcheck_op(OpCode op, const TensorType *in, int nin, const Attr *attrs, int nattrs,
                           const GradcheckOptions *o, FILE *report)
{
    Rng r = {o->seed * 0x2545F4914F6CDD1Dull + (uint64_t)op};
    bool *wrt = calloc((size_t)(nin ? nin : 1), sizeof(bool));
    if (!wrt) DLC_ICE("gradcheck: out of memory");
    bool ce = op == OP_SPARSE_CATEGORICAL_CROSSENTROPY || op == OP_CATEGORICAL_CROSSENTROPY ||
              op == OP_BINARY_CROSSENTROPY;
    for (int i = 0; i < nin; i++) wrt[i] = dtype_is_float(in[i].dtype) && !(ce && i == 1);
    GradcheckStat s = local_check(op, in, nin, attrs, nattrs, wrt, NULL, o, &r, report, op_info(op)->name);
    free(wrt);
    return s;
}

/* ---- whole graphs ------------------------------------------------------------- */

/* Rebuilds the nodes the loss depends on into a new graph over arena a,
 * f32 made f64; map[old id] receives each copy (NULL for nodes left out). */
static Graph *clone_f64(Arena *a, const Graph *g, Node **map)
{
    bool *keep = calloc((size_t)g->next_id, sizeof(bool));
    if (!keep) DLC_ICE("gradcheck: out of memory");
    keep[g->loss->id] = true;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        const Node *n = g->nodes[i];
        if (!keep[n->id]) continue;
        for (int k = 0; k < n->nin; k++) keep[n->in[k]->id] = true;
    }
    Graph *ng = ir_graph_new(a, g->name, MODE_TRAIN);
    ng->file = g->file;
    ng->max_batch = g->max_batch;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!keep[n->id] || n->dead) continue;
        TensorType t = widen(n->type);
        Node *c = NULL;
        switch (n->op) {
        case OP_INPUT: c = ir_input(ng, n->name, t, n->loc); break;
        case OP_PARAM: c = ir_param(ng, n->name, t, n->attrs, n->nattrs, n->loc); break;
        case OP_STATE: c = ir_state(ng, n->name, t, n->attrs, n->nattrs, n->loc); break;
        case OP_HPARAM:
        case OP_CONST:
            c = ir_const(ng, t.dtype, node_attr_float(n, "value"), n->loc);
            if (t.rank > 0) {
                int64_t *d = ARENA_NEW_N(a, int64_t, t.rank);
                for (int k = 0; k < t.rank; k++) d[k] = t.dims[k] == DIM_N ? -1 : t.dims[k];
                Attr s = attr_ints("shape", d, t.rank);
                c = ir_node_checked(ng, OP_BROADCAST_TO, &c, 1, &s, 1, n->loc);
            }
            break;
        default: {
            Node **in = ARENA_NEW_N(a, Node *, n->nin ? n->nin : 1);
            for (int k = 0; k < n->nin; k++) in[k] = map[n->in[k]->id];
            Attr *at = ARENA_NEW_N(a, Attr, n->nattrs ? n->nattrs : 1);
            for (int k = 0; k < n->nattrs; k++) {
                at[k] = n->attrs[k];
                if (at[k].kind == AK_DTYPE && at[k].i == DT_F32) at[k].i = DT_F64;
            }
            const char *err = ir_node_try(ng, n->op, in, n->nin, at, n->nattrs, n->loc, &c);
            if (err) dlc_error(n->loc, "gradcheck: cannot rebuild '%s' in f64: %s", op_info(n->op)->name, err);
            c->var = n->var;
        }
        }
        map[n->id] = c;
    }
    ng->loss = map[g->loss->id];
    ng->loss_loc = g->loss_loc;
    free(keep);
    return ng;
}

/* Random inputs by their first consumer's domain, and parameter noise.
 * Writes the same values into both interpreters (same graph order). */
static void bind_inputs(const Graph *gf, Interp *itf, Interp *itb, const GradcheckOptions *o, Rng *r)
{
    for (int i = 0; i < gf->nnodes; i++) {
        const Node *n = gf->nodes[i];
        if (n->op != OP_INPUT && n->op != OP_PARAM) continue;
        double *x = interp_buf(itf, n);
        int64_t m = interp_numel(itf, n);
        if (n->op == OP_PARAM) {
            for (int64_t j = 0; j < m; j++) x[j] += 0.1 * (rng_unif(r) - 0.5);
        } else {
            Domain d = dtype_is_float(n->type.dtype) ? DOM_NORMAL : DOM_LABEL;
            int64_t classes = 2;
            for (int k = i + 1; k < gf->nnodes; k++) {
                const Node *u = gf->nodes[k];
                int at = -1;
                for (int q = 0; q < u->nin && at < 0; q++)
                    if (u->in[q] == n) at = q;
                if (at < 0) continue;
                d = domain_of(u->op, at, u->attrs, u->nattrs, n->type.dtype);
                if (d == DOM_PROB) d = DOM_UNIT; /* an input used as probabilities */
                classes = last_dim(&u->in[0]->type, o->batch);
                break;
            }
            fill(r, d, x, m, last_dim(&n->type, o->batch), classes);
        }
        memcpy(interp_buf(itb, n), x, sizeof(double) * (size_t)m);
    }
}

/* Checks every op on the differentiable path to the loss alone, at the
 * values it saw (step 4 of the file comment), and names the worst. */
static void attribute(const Graph *gf, Interp *itf, const GradcheckOptions *o, Rng *r, FILE *report)
{
    bool *needs = calloc((size_t)gf->next_id, sizeof(bool));
    if (!needs) DLC_ICE("gradcheck: out of memory");
    for (int i = 0; i < gf->nnodes; i++) {
        const Node *n = gf->nodes[i];
        if (n->op == OP_PARAM) needs[n->id] = true;
        if (n->nin == 0 || op_info(n->op)->grad == GRAD_ZERO) continue;
        for (int k = 0; k < n->nin; k++)
            if (needs[n->in[k]->id]) needs[n->id] = true;
    }
    GradcheckOptions lo = *o;
    const Node *worst = NULL;
    double worst_ratio = -1.0;
    int nbad = 0;
    for (int i = 0; i < gf->nnodes; i++) {
        const Node *n = gf->nodes[i];
        if (n->nin == 0 || !needs[n->id] || op_info(n->op)->grad != GRAD_RULE) continue;
        TensorType *in = calloc((size_t)n->nin, sizeof(TensorType));
        bool *wrt = calloc((size_t)n->nin, sizeof(bool));
        double **vals = calloc((size_t)n->nin, sizeof(double *));
        if (!in || !wrt || !vals) DLC_ICE("gradcheck: out of memory");
        for (int k = 0; k < n->nin; k++) {
            in[k] = n->in[k]->type;
            wrt[k] = needs[n->in[k]->id];
            vals[k] = interp_buf(itf, n->in[k]);
        }
        char where[256], what[300];
        srcloc_format(n->loc, where, sizeof where);
        snprintf(what, sizeof what, "'%s'%s%s", op_info(n->op)->name, where[0] ? " at " : "", where);
        GradcheckStat s = local_check(n->op, in, n->nin, n->attrs, n->nattrs, wrt, vals, &lo, r, NULL, what);
        if (s.failed) {
            nbad++;
            if (report)
                fprintf(report, "  local check of %s: max abs error %.3g (analytic %.9g, numeric %.9g)\n", what,
                        s.max_abs_err, s.worst_analytic, s.worst_numeric);
        }
        if (s.checked && s.max_ratio > worst_ratio) {
            worst_ratio = s.max_ratio;
            worst = n;
        }
        free(in);
        free(wrt);
        free(vals);
    }
    if (report && worst) {
        char where[256];
        srcloc_format(worst->loc, where, sizeof where);
        fprintf(report, "  worst op: '%s'%s%s (%d local check%s failed)\n", op_info(worst->op)->name,
                where[0] ? " at " : "", where, nbad, nbad == 1 ? "" : "s");
    }
    free(needs);
}

int gradcheck_graph(const Graph *g, const GradcheckOptions *o, FILE *report)
{
    if (!g->loss) dlc_error(SRCLOC_NONE, "gradcheck: the model has no loss to differentiate");
    Arena af, ab;
    arena_init(&af);
    arena_init(&ab);
    Node **mapf = calloc((size_t)g->next_id, sizeof(Node *));
    Node **mapb = calloc((size_t)g->next_id, sizeof(Node *));
    if (!mapf || !mapb) DLC_ICE("gradcheck: out of memory");
    Graph *gf = clone_f64(&af, g, mapf);
    Graph *gb = clone_f64(&ab, g, mapb);
    DLC_ASSERT(gf->nnodes == gb->nnodes);

    /* autodiff on the second copy, with respect to every param in it */
    int np = 0;
    for (int i = 0; i < g->nnodes; i++) np += g->nodes[i]->op == OP_PARAM;
    Node **params = calloc((size_t)(np ? np : 1), sizeof(Node *));
    Node **grads = calloc((size_t)(np ? np : 1), sizeof(Node *));
    const Node **orig = calloc((size_t)(np ? np : 1), sizeof(Node *));
    if (!params || !grads || !orig) DLC_ICE("gradcheck: out of memory");
    int nw = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *p = g->nodes[i];
        if (p->op != OP_PARAM || !mapb[p->id]) continue;
        orig[nw] = p;
        params[nw++] = mapb[p->id];
    }
    autodiff_graph(gb, gb->loss, params, nw, grads);

    Rng r = {o->seed ^ 0x6a09e667f3bcc909ull};
    Interp *itf = interp_new(gf, o->batch, o->seed), *itb = interp_new(gb, o->batch, o->seed);
    bind_inputs(gf, itf, itb, o, &r);
    interp_run(itb);
    interp_run(itf);
    double loss = interp_buf(itf, gf->loss)[0];
    if (report)
        fprintf(report, "gradcheck %s: loss %.9g at n=%lld; eps %g, atol %g, rtol %g\n", g->name ? g->name : "",
                loss, (long long)o->batch, o->eps, o->atol, o->rtol);
    if (!isfinite(loss)) dlc_error(g->loss_loc, "gradcheck: the loss is %g at the random point", loss);

    int nfail = 0, nchecked = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *p = g->nodes[i];
        if (p->op != OP_PARAM) continue;
        int k = 0;
        while (k < nw && orig[k] != p) k++;
        char t[TT_FMT_LEN];
        tt_format(&p->type, t, sizeof t);
        if (k == nw || !grads[k]) {
            if (report) fprintf(report, "  %s %s: no gradient (does not affect the loss)\n", p->name, t);
            continue;
        }
        double *a = copy_buf(itb, grads[k]);
        GradcheckStat s = check_tensor(itf, gf->loss, mapf[p->id], a, o, &r);
        free(a);
        nchecked++;
        if (s.failed) nfail++;
        if (report) {
            fprintf(report, "  %s %s: %lld of %lld elements, max abs error %.3g", p->name, t, (long long)s.checked,
                    (long long)interp_numel(itf, mapf[p->id]), s.max_abs_err);
            if (s.failed)
                fprintf(report, "  FAIL (%lld elements); worst [%lld]: analytic %.9g, numeric %.9g\n",
                        (long long)s.failed, (long long)s.worst, s.worst_analytic, s.worst_numeric);
            else
                fprintf(report, "  ok\n");
        }
    }
    if (nfail && o->attribute) attribute(gf, itf, o, &r, report);
    if (report) {
        if (nfail) fprintf(report, "gradcheck: %d of %d parameters FAIL\n", nfail, nchecked);
        else fprintf(report, "gradcheck: all %d parameters pass\n", nchecked);
    }
    interp_free(itf);
    interp_free(itb);
    free(params);
    free(grads);
    free(orig);
    free(mapf);
    free(mapb);
    arena_free(&af);
    arena_free(&ab);
    return nfail;
}
