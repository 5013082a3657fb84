/* train.c - checking the train block of a .nn model into a TrainConfig.
 *
 *     train {
 *       optimizer  = rmsprop(learning_rate=0.001, rho=0.9)
 *       batch_size = 128
 *       epochs     = 5
 *       seed       = 42
 *     }
 *
 * Each setting may appear once; all but `optimizer` are optional (batch 32,
 * 1 epoch, seed 0).  The optimizer and its hyperparameters are checked
 * against ir/optimizers.def, the single list of optimizers that
 * passes/optimizer.c also lowers; only the hyperparameters written are
 * stored (the optimizer pass takes the table's defaults for the rest).
 */
#include <math.h>
#include <string.h>

#include "lower.h"

/* The optimizers, from the X-macro table. */
static const struct {
    const char *name;
    const char *hypers; /* "name=default,..." */
} optimizers[] = {
#define OPTIMIZER(n, h) {#n, h},
#include "../ir/optimizers.def"
#undef OPTIMIZER
};
#define NOPT ((int)(sizeof optimizers / sizeof optimizers[0]))

/* Largest batch a train block may ask for (the driver's --max-batch limit). */
#define MAX_BATCH ((int64_t)1 << 24)

/* The hyperparameter names of an optimizer, NULL-terminated. */
static const char **hyper_names(Arena *a, const char *hypers) {
    int n = 1;
    for (const char *p = hypers; *p; p++) n += *p == ',';
    const char **v = ARENA_NEW_N(a, const char *, n + 1);
    int k = 0;
    const char *p = hypers;
    while (*p) {
        const char *eq = strchr(p, '=');
        const char *comma = strchr(p, ',');
        if (!comma) comma = p + strlen(p);
        DLC_ASSERT(eq && eq < comma);
        v[k++] = arena_strndup(a, p, (size_t)(eq - p));
        p = *comma ? comma + 1 : comma;
    }
    v[k] = NULL;
    return v;
}

/* optimizer = NAME | NAME(key=value, ...) */
static void lower_optimizer(Lower *L, const Expr *e, TrainConfig *cfg) {
    if (e->kind != EX_NAME && e->kind != EX_CALL)
        dlc_error(e->start, "expected an optimizer such as rmsprop(learning_rate=0.001)");
    int k = -1;
    const char *names[NOPT + 1];
    for (int i = 0; i < NOPT; i++) {
        names[i] = optimizers[i].name;
        if (strcmp(optimizers[i].name, e->str) == 0) k = i;
    }
    names[NOPT] = NULL;
    if (k < 0) {
        const char *near = closest_name(e->str, names, NOPT);
        if (near) dlc_error(e->loc, "unknown optimizer '%s' (did you mean '%s'?)", e->str, near);
        dlc_error(e->loc, "unknown optimizer '%s' (valid: %s)", e->str, name_list(L->arena, names));
    }
    const char **hypers = hyper_names(L->arena, optimizers[k].hypers);
    int nargs = e->kind == EX_CALL ? e->nargs : 0;
    Attr *args = ARENA_NEW_N(L->arena, Attr, nargs ? nargs : 1);
    for (int i = 0; i < nargs; i++) {
        const Arg *a = &e->args[i];
        if (!a->kw)
            dlc_error(a->value->start, "optimizer arguments must be given by name, e.g. learning_rate=0.01");
        bool known = false;
        for (int h = 0; hypers[h]; h++) known |= strcmp(hypers[h], a->kw) == 0;
        if (!known)
            dlc_error(a->kw_loc, "'%s' has no hyperparameter '%s' (valid: %s)", e->str, a->kw,
                      name_list(L->arena, hypers));
        if (a->value->kind == EX_BOOL) {
            args[i] = attr_bool(a->kw, a->value->bval);
            args[i].f = a->value->bval;
            continue;
        }
        Value v;
        if (!const_number(L, a->value, &v))
            dlc_error(a->value->start, "hyperparameter '%s' must be a number", a->kw);
        if (!(v.num >= 0))
            dlc_error(a->value->start, "hyperparameter '%s' must not be negative, got %g", a->kw, v.num);
        args[i] = attr_float(a->kw, v.num);
        args[i].i = v.is_int ? v.ival : 0;
    }
    cfg->optimizer = optimizers[k].name;
    cfg->optimizer_loc = e->loc;
    cfg->opt_args = args;
    cfg->nopt_args = nargs;
}

/* An integer setting in [lo, hi]. */
static int64_t int_setting(Lower *L, const TrainEntry *t, int64_t lo, int64_t hi) {
    Value v;
    if (!const_number(L, t->value, &v) || !v.is_int)
        dlc_error(t->value->start, "%s must be an integer", t->key);
    if (v.ival < lo || v.ival > hi)
        dlc_error(t->value->start, "%s must be from %lld to %lld, got %lld", t->key, (long long)lo, (long long)hi,
                  (long long)v.ival);
    return v.ival;
}

void lower_train(Lower *L, const Stmt *s, TrainConfig *cfg) {
    static const char *const keys[] = {"optimizer", "batch_size", "epochs", "seed", NULL};
    cfg->present = true;
    cfg->loc = s->loc;
    for (int i = 0; i < s->nentries; i++) {
        const TrainEntry *t = &s->entries[i];
        int k = 0;
        while (keys[k] && strcmp(keys[k], t->key) != 0) k++;
        if (!keys[k]) {
            const char *near = closest_name(t->key, keys, 4);
            if (near) dlc_error(t->key_loc, "unknown train setting '%s' (did you mean '%s'?)", t->key, near);
            dlc_error(t->key_loc, "unknown train setting '%s' (valid: %s)", t->key, name_list(L->arena, keys));
        }
        /* Only known keys get here, so a repeat shows within 5 entries. */
        for (int j = 0; j < i; j++)
            if (strcmp(s->entries[j].key, t->key) == 0)
                dlc_error(t->key_loc, "duplicate train setting '%s' (first set at %d:%d)", t->key,
                          s->entries[j].key_loc.line, s->entries[j].key_loc.col);
        switch (k) {
        case 0: lower_optimizer(L, t->value, cfg); break;
        case 1: cfg->batch_size = int_setting(L, t, 1, MAX_BATCH); break;
        case 2: cfg->epochs = int_setting(L, t, 1, 1000000000); break;
        default: cfg->seed = int_setting(L, t, 0, INT64_MAX); break;
        }
    }
    if (!cfg->optimizer) dlc_error(s->loc, "the train block sets no optimizer (add 'optimizer = ...')");
}
