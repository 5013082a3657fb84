/* layers.c - layer sugar of the .nn language: dense, dropout.
 *
 * A layer is a call that expands to several IR nodes and may create
 * parameters.  Each layer is one row of the table at the end of this file:
 * its name, its argument list (name, kind, required?) and the function that
 * lowers it.  A generic binder matches a call's positional and keyword
 * arguments against the row, Python-style, so every layer reports a missing,
 * unknown or repeated argument the same way; the lowering function then
 * reads its arguments through the typed getters below.
 *
 * Parameters get stable, Keras-like names: the layer's prefix (the `name=`
 * argument, else KIND_K with K counting the auto-named layers of that kind
 * from 1 in source order) plus ".kernel", ".bias", ...  Adding a layer
 * (conv2d, batch_norm, ...) means one lowering function and one table row.
 */
#include <string.h>

#include "lexer.h"
#include "lower.h"

typedef enum { LA_TENSOR, LA_INT, LA_FLOAT, LA_BOOL, LA_WORD, LA_STRING } LayerArgKind;

typedef struct LayerArg {
    const char *name;
    LayerArgKind kind;
    bool required;
} LayerArg;

/* A call's arguments matched to the layer's argument list: bound[i] is the
 * expression given for argument i, or NULL (use the default). */
typedef struct Bound {
    const LayerDef *def;
    const Expr *call;
    const Expr *arg[8];
} Bound;

struct LayerDef {
    const char *name;
    const LayerArg *args;
    int nargs;
    Value (*lower)(Lower *L, const Bound *b);
};

static int layer_index(const LayerDef *def);

/* ---- argument binding and typed getters ---------------------------------- */

static const char *arg_names(Arena *a, const LayerDef *def) {
    const char **v = ARENA_NEW_N(a, const char *, def->nargs + 1);
    for (int i = 0; i < def->nargs; i++) v[i] = def->args[i].name;
    return name_list(a, v);
}

/* Matches call's arguments to def's argument list. */
static void bind_args(Lower *L, const LayerDef *def, const Expr *call, Bound *b) {
    memset(b, 0, sizeof *b);
    b->def = def;
    b->call = call;
    int npos = 0;
    for (int i = 0; i < call->nargs; i++) {
        const Arg *a = &call->args[i];
        if (!a->kw) {
            if (npos == def->nargs)
                dlc_error(a->value->start, "'%s' takes at most %d arguments (%s), got %d", def->name, def->nargs,
                          arg_names(L->arena, def), call->nargs);
            b->arg[npos++] = a->value;
            continue;
        }
        int k = -1;
        for (int j = 0; j < def->nargs; j++)
            if (strcmp(def->args[j].name, a->kw) == 0) k = j;
        if (k < 0)
            dlc_error(a->kw_loc, "'%s' has no argument '%s' (valid: %s)", def->name, a->kw, arg_names(L->arena, def));
        if (b->arg[k]) dlc_error(a->kw_loc, "argument '%s' of '%s' is given twice", a->kw, def->name);
        b->arg[k] = a->value;
    }
    for (int j = 0; j < def->nargs; j++)
        if (def->args[j].required && !b->arg[j])
            dlc_error(call->loc, "'%s' requires the argument '%s'", def->name, def->args[j].name);
}

/* Argument i as a tensor (a number is not accepted: a layer needs a shape). */
static Node *arg_tensor(Lower *L, const Bound *b, int i) {
    DLC_ASSERT(b->def->args[i].kind == LA_TENSOR);
    const Expr *e = b->arg[i];
    Value v = lower_expr(L, e);
    if (!v.node)
        dlc_error(e->start, "argument '%s' of '%s' must be a tensor, not a number", b->def->args[i].name,
                  b->def->name);
    return v.node;
}

static Value arg_number(Lower *L, const Bound *b, int i, bool want_int) {
    DLC_ASSERT(b->def->args[i].kind == (want_int ? LA_INT : LA_FLOAT));
    const Expr *e = b->arg[i];
    Value v;
    if (!const_number(L, e, &v) || (want_int && !v.is_int))
        dlc_error(e->start, "argument '%s' of '%s' must be %s", b->def->args[i].name, b->def->name,
                  want_int ? "an integer" : "a number");
    return v;
}

static bool arg_bool(const Bound *b, int i, bool dflt) {
    DLC_ASSERT(b->def->args[i].kind == LA_BOOL);
    const Expr *e = b->arg[i];
    if (!e) return dflt;
    if (e->kind != EX_BOOL)
        dlc_error(e->start, "argument '%s' of '%s' must be true or false", b->def->args[i].name, b->def->name);
    return e->bval;
}

/* A word: a bare name (activation=relu) or a string ("relu"). */
static const char *arg_word(const Bound *b, int i, const char *dflt, SrcLoc *loc) {
    DLC_ASSERT(b->def->args[i].kind == LA_WORD);
    const Expr *e = b->arg[i];
    *loc = b->call->loc;
    if (!e) return dflt;
    if (e->kind != EX_NAME && e->kind != EX_STR)
        dlc_error(e->start, "argument '%s' of '%s' must be a name", b->def->args[i].name, b->def->name);
    *loc = e->loc;
    return e->str;
}

/* The `name` argument: a string that makes a valid identifier. */
static const char *arg_layer_name(const Bound *b, int i) {
    DLC_ASSERT(b->def->args[i].kind == LA_STRING);
    const Expr *e = b->arg[i];
    if (!e) return NULL;
    if (e->kind != EX_STR)
        dlc_error(e->start, "argument '%s' of '%s' must be a string", b->def->args[i].name, b->def->name);
    const char *s = e->str;
    size_t n = strlen(s);
    bool ok = n > 0 && n <= NN_MAX_IDENT - 16 && !(s[0] >= '0' && s[0] <= '9') && s[0] != '.' && s[n - 1] != '.';
    for (size_t k = 0; ok && k < n; k++) {
        char c = s[k];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             (c == '.' && s[k + 1] != '.');
    }
    if (!ok) dlc_error(e->loc, "invalid layer name \"%s\" (use letters, digits, '_' and '.')", s);
    return s;
}

/* The prefix of a layer's parameter names: name= if given, else KIND_K. */
static const char *layer_prefix(Lower *L, const Bound *b, int name_arg) {
    const char *given = arg_layer_name(b, name_arg);
    if (given) return given;
    int row = layer_index(b->def);
    DLC_ASSERT(row < (int)(sizeof L->layer_count / sizeof L->layer_count[0]));
    return arena_printf(L->arena, "%s_%d", b->def->name, ++L->layer_count[row]);
}

/* ---- activations ---------------------------------------------------------- */

/* Keras' activation names and the ops that implement them (NULL: none). */
static const struct {
    const char *name;
    const char *op;
} activations[] = {
    {"linear", NULL},   {"relu", "relu"}, {"sigmoid", "sigmoid"},         {"tanh", "tanh"},
    {"softmax", "softmax"}, {"log_softmax", "log_softmax"}, {"elu", "elu"}, {"gelu", "gelu"},
    {"leaky_relu", "leaky_relu"}, {"exponential", "exp"},
};
#define NACT ((int)(sizeof activations / sizeof activations[0]))

/* Applies the activation `name` (checked; error at loc) to x. */
static Node *apply_activation(Lower *L, const char *name, SrcLoc name_loc, Node *x, SrcLoc loc) {
    const char *cands[NACT + 1];
    for (int i = 0; i < NACT; i++) {
        cands[i] = activations[i].name;
        if (strcmp(name, activations[i].name) != 0) continue;
        if (!activations[i].op) return x;
        OpCode op;
        if (!op_lookup(activations[i].op, strlen(activations[i].op), &op))
            DLC_ICE("activation op '%s' missing from ops.def", activations[i].op);
        return ir_node(L->g, op, &x, 1, NULL, 0, loc);
    }
    cands[NACT] = NULL;
    const char *near = closest_name(name, cands, NACT);
    if (near) dlc_error(name_loc, "unknown activation '%s' (did you mean '%s'?)", name, near);
    dlc_error(name_loc, "unknown activation '%s' (valid: %s)", name, name_list(L->arena, cands));
}

/* ---- the layers ----------------------------------------------------------- */

enum { DENSE_X, DENSE_UNITS, DENSE_ACT, DENSE_USE_BIAS, DENSE_KINIT, DENSE_BINIT, DENSE_NAME };
static const LayerArg dense_args[] = {
    {"x", LA_TENSOR, true},
    {"units", LA_INT, true},
    {"activation", LA_WORD, false},
    {"use_bias", LA_BOOL, false},
    {"kernel_initializer", LA_WORD, false},
    {"bias_initializer", LA_WORD, false},
    {"name", LA_STRING, false},
};

/* dense(x: [B, in], units) = activation(x @ kernel[in, units] + bias[units]) */
static Value lower_dense(Lower *L, const Bound *b) {
    SrcLoc loc = b->call->loc;
    Node *x = arg_tensor(L, b, DENSE_X);
    char buf[TT_FMT_LEN];
    if (x->type.rank != 2)
        dlc_error(b->arg[DENSE_X]->start, "dense expects a 2-D input [batch, features], got %s%s",
                  tt_format(&x->type, buf, sizeof buf), x->type.rank > 2 ? " (flatten it first)" : "");
    if (!dtype_is_float(x->type.dtype))
        dlc_error(b->arg[DENSE_X]->start, "dense expects a floating-point input, got %s",
                  tt_format(&x->type, buf, sizeof buf));
    Value units = arg_number(L, b, DENSE_UNITS, true);
    if (units.ival <= 0)
        dlc_error(b->arg[DENSE_UNITS]->start, "units must be positive, got %lld", (long long)units.ival);
    if (units.ival > DLC_MAX_DIM)
        dlc_error(b->arg[DENSE_UNITS]->start, "units must be at most %lld, got %lld", (long long)DLC_MAX_DIM,
                  (long long)units.ival);
    SrcLoc act_loc, kinit_loc, binit_loc;
    const char *act = arg_word(b, DENSE_ACT, "linear", &act_loc);
    bool use_bias = arg_bool(b, DENSE_USE_BIAS, true);
    const char *kinit = arg_word(b, DENSE_KINIT, "glorot_uniform", &kinit_loc);
    const char *binit = arg_word(b, DENSE_BINIT, "zeros", &binit_loc);
    const char *prefix = layer_prefix(L, b, DENSE_NAME);

    /* Both parameters first, then the computation, as Keras' build() and
     * call() do: the graph then reads like the tensor-level form. */
    int64_t kdims[2] = {x->type.dims[1], units.ival};
    Node *kernel = lower_param(L, arena_printf(L->arena, "%s.kernel", prefix), tt_make(x->type.dtype, 2, kdims),
                               kinit, kinit_loc, NULL, 0, loc);
    Node *bias = NULL;
    if (use_bias)
        bias = lower_param(L, arena_printf(L->arena, "%s.bias", prefix), tt_make(x->type.dtype, 1, &units.ival),
                           binit, binit_loc, NULL, 0, loc);
    Node *in[2] = {x, kernel};
    Node *y = ir_node(L->g, OP_MATMUL, in, 2, NULL, 0, loc);
    if (bias) {
        in[0] = y;
        in[1] = bias;
        y = ir_node(L->g, OP_ADD, in, 2, NULL, 0, loc);
    }
    y = apply_activation(L, act, act_loc, y, loc);
    return (Value){.node = y, .loc = loc};
}

enum { DROPOUT_X, DROPOUT_RATE };
static const LayerArg dropout_args[] = {
    {"x", LA_TENSOR, true},
    {"rate", LA_FLOAT, true},
};

/* dropout(x, rate): x * dropout_mask(x){rate} in train mode, x in infer
 * mode.  The mask scales kept entries by 1/(1-rate). */
static Value lower_dropout(Lower *L, const Bound *b) {
    SrcLoc loc = b->call->loc;
    Node *x = arg_tensor(L, b, DROPOUT_X);
    Value rate = arg_number(L, b, DROPOUT_RATE, false);
    if (!(rate.num >= 0 && rate.num < 1))
        dlc_error(b->arg[DROPOUT_RATE]->start, "dropout rate must be in [0, 1), got %g", rate.num);
    if (!dtype_is_float(x->type.dtype)) {
        char buf[TT_FMT_LEN];
        dlc_error(b->arg[DROPOUT_X]->start, "dropout expects a floating-point input, got %s",
                  tt_format(&x->type, buf, sizeof buf));
    }
    if (L->mode == MODE_INFER) return (Value){.node = x, .loc = loc};
    Attr a = attr_float("rate", rate.num);
    Node *mask = ir_node(L->g, OP_DROPOUT_MASK, &x, 1, &a, 1, loc);
    Node *in[2] = {x, mask};
    return (Value){.node = ir_node(L->g, OP_MUL, in, 2, NULL, 0, loc), .loc = loc};
}

/* ---- the table ------------------------------------------------------------ */

#define ROW(n, args, fn) {#n, args, (int)(sizeof args / sizeof args[0]), fn}
static const LayerDef layers[] = {
    ROW(dense, dense_args, lower_dense),
    ROW(dropout, dropout_args, lower_dropout),
};
#define NLAYERS ((int)(sizeof layers / sizeof layers[0]))

/* Row of def in the table (indexes Lower.layer_count). */
static int layer_index(const LayerDef *def) {
    return (int)(def - layers);
}

const LayerDef *layer_lookup(const char *name) {
    for (int i = 0; i < NLAYERS; i++)
        if (strcmp(layers[i].name, name) == 0) return &layers[i];
    return NULL;
}

const char *const *layer_names(void) {
    static const char *names[NLAYERS + 1];
    for (int i = 0; i < NLAYERS; i++) names[i] = layers[i].name;
    return names;
}

Value lower_layer_call(Lower *L, const LayerDef *def, const Expr *call) {
    Bound b;
    DLC_ASSERT(def->nargs <= (int)(sizeof b.arg / sizeof b.arg[0]));
    bind_args(L, def, call, &b);
    return def->lower(L, &b);
}
