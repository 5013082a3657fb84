/* lower.c - lowering a parsed .nn Program to an IR Graph (nn_compile).
 *
 * Statements are lowered one by one, in source order, into a single graph:
 *
 *   input / param      create leaves and bind their names;
 *   NAME = expr        evaluates expr and binds NAME to the resulting node
 *                      (setting the node's `var` for dumps);
 *   output             records a named output;
 *   loss / metric      evaluate their expression and record it;
 *   train              is checked by train.c into a TrainConfig.
 *
 * Expressions evaluate to a Value: a tensor node, or a number literal that
 * has no dtype yet and becomes a scalar const when it meets a tensor (see
 * lower.h).  Arithmetic on two literals is folded.  A call resolves first
 * to the layer table (layers.c), then to the op table (ir/ops.def): the
 * positional arguments are the operands, the keyword arguments the op's
 * attributes, checked against its schema here so that each mistake is
 * reported at its own token.  Every node gets the location of its operator
 * or callee token.  Names live in one flat scope and are defined once.
 *
 * In infer mode the loss and metrics are lowered (so that they are checked
 * exactly as in train mode) and then removed again together with inputs
 * that nothing uses any more (the labels); parameters stay, so that both
 * modes have the same parameters in the same order.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../ir/init.h"
#include "frontend.h"
#include "lower.h"

/* ---- names ------------------------------------------------------------ */

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Slot of `name` in the table: its binding, or the empty slot for it. */
static Binding *slot_of(Binding *tab, int cap, const char *name) {
    uint32_t i = hash_str(name) & (uint32_t)(cap - 1);
    while (tab[i].name && strcmp(tab[i].name, name) != 0) i = (i + 1) & (uint32_t)(cap - 1);
    return &tab[i];
}

Binding *names_find(const NameTable *t, const char *name) {
    if (t->cap == 0) return NULL;
    Binding *b = slot_of(t->slots, t->cap, name);
    return b->name ? b : NULL;
}

void names_add(Arena *a, NameTable *t, Binding b) {
    if (2 * (t->n + 1) > t->cap) {
        int ncap = t->cap ? t->cap * 2 : 64;
        Binding *tab = ARENA_NEW_N(a, Binding, ncap);
        for (int i = 0; i < t->cap; i++)
            if (t->slots[i].name) *slot_of(tab, ncap, t->slots[i].name) = t->slots[i];
        t->slots = tab;
        t->cap = ncap;
    }
    Binding *slot = slot_of(t->slots, t->cap, b.name);
    DLC_ASSERT(slot->name == NULL);
    *slot = b;
    t->n++;
}

const Binding *lower_lookup(const Lower *L, const char *name) {
    return names_find(&L->scope, name);
}

void lower_define(Lower *L, const char *name, Value v, SrcLoc loc) {
    const Binding *old = lower_lookup(L, name);
    if (old) dlc_error(loc, "redefinition of '%s' (first defined at %d:%d)", name, old->loc.line, old->loc.col);
    names_add(L->arena, &L->scope, (Binding){name, v, loc});
}

/* ---- messages ----------------------------------------------------------- */

const char *name_list(Arena *a, const char *const *names) {
    int n = 0;
    while (names[n]) n++;
    if (n == 0) return "";
    char *s = arena_strdup(a, names[0]);
    for (int i = 1; i < n; i++) s = arena_printf(a, "%s%s%s", s, i == n - 1 ? " or " : ", ", names[i]);
    return s;
}

/* Edit distance of a and b counting insertions, deletions, substitutions
 * and transpositions of neighbours ("imgae" -> "image" is 1), capped:
 * returns `cap` once the distance is known to reach it. */
static int edit_distance(const char *a, const char *b, int cap) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 64 || lb > 64 || la - lb >= cap || lb - la >= cap) return cap;
    int d[65][65];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        int best = d[i][0];
        for (int j = 1; j <= lb; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < best) best = v;
        }
        if (best >= cap) return cap;
    }
    return d[la][lb] < cap ? d[la][lb] : cap;
}

const char *closest_name(const char *name, const char *const *cands, int ncands) {
    int len = (int)strlen(name);
    if (len <= 2) return NULL; /* 'y' for 'x' would be a guess, not a hint */
    int cap = len / 3 + 1;     /* accept up to cap-1 edits */
    const char *best = NULL;
    for (int i = 0; i < ncands; i++) {
        if (!cands[i]) continue;
        int d = edit_distance(name, cands[i], cap);
        if (d < cap) {
            cap = d;
            best = cands[i];
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "". */
static const char *did_you_mean(Arena *a, const char *s) {
    return s ? arena_printf(a, " (did you mean '%s'?)", s) : "";
}

/* ---- numbers ------------------------------------------------------------ */

static Value literal(double v, bool is_int, int64_t iv, SrcLoc loc) {
    Value r = {.node = NULL, .num = is_int ? (double)iv : v, .is_int = is_int, .ival = iv, .loc = loc};
    return r;
}

/* Arithmetic on two literals, Python-style: + - * of integers stay
 * integers (overflow is an error), / always gives a float. */
static Value fold(char op, Value a, Value b, SrcLoc loc) {
    if (op == '@') dlc_error(loc, "operands of '@' must be tensors, not numbers");
    if (a.is_int && b.is_int && op != '/') {
        int64_t r;
        bool ovf = op == '+' ? __builtin_add_overflow(a.ival, b.ival, &r)
                 : op == '-' ? __builtin_sub_overflow(a.ival, b.ival, &r)
                             : __builtin_mul_overflow(a.ival, b.ival, &r);
        if (ovf) dlc_error(loc, "integer overflow in constant expression");
        return literal(0, true, r, a.loc);
    }
    double r;
    switch (op) {
    case '+': r = a.num + b.num; break;
    case '-': r = a.num - b.num; break;
    case '*': r = a.num * b.num; break;
    default:
        if (b.num == 0) dlc_error(loc, "division by zero in constant expression");
        r = a.num / b.num;
        break;
    }
    if (!isfinite(r)) dlc_error(loc, "constant expression overflows");
    return literal(r, false, 0, a.loc);
}

static Value negate(Value a, SrcLoc loc) {
    if (a.is_int) {
        if (a.ival == INT64_MIN) dlc_error(loc, "integer overflow in constant expression");
        return literal(0, true, -a.ival, loc);
    }
    return literal(-a.num, false, 0, loc);
}

bool const_number(Lower *L, const Expr *e, Value *out) {
    Value a, b;
    switch (e->kind) {
    case EX_NUM:
        *out = literal(e->num, e->is_int, e->ival, e->loc);
        return true;
    case EX_NAME: {
        const Binding *bd = lower_lookup(L, e->str);
        if (!bd || bd->value.node) return false;
        *out = bd->value;
        out->loc = e->loc;
        return true;
    }
    case EX_NEG:
        if (!const_number(L, e->lhs, &a)) return false;
        *out = negate(a, e->loc);
        return true;
    case EX_BINARY:
        if (e->op == '@' || !const_number(L, e->lhs, &a) || !const_number(L, e->rhs, &b)) return false;
        *out = fold(e->op, a, b, e->loc);
        out->loc = e->start;
        return true;
    default:
        return false;
    }
}

/* Writes a literal for a message ("3", "0.5"). */
static const char *fmt_num(Arena *a, Value v) {
    return v.is_int ? arena_printf(a, "%lld", (long long)v.ival) : arena_printf(a, "%g", v.num);
}

Node *materialize(Lower *L, Value v, DType dt) {
    if (v.node) return v.node;
    if (!dtype_is_float(dt) && !v.is_int && v.num != floor(v.num))
        dlc_error(v.loc, "non-integer constant %s used with an %s tensor", fmt_num(L->arena, v), dtype_name(dt));
    double lo, hi; /* the values the element type holds */
    switch (dt) {
    case DT_I32: lo = -2147483648.0, hi = 2147483647.0; break;
    case DT_U8: lo = 0, hi = 255; break;
    case DT_F32: lo = -3.4028234663852886e38, hi = 3.4028234663852886e38; break;
    default: lo = -1.7976931348623157e308, hi = 1.7976931348623157e308; break;
    }
    if (v.num < lo || v.num > hi)
        dlc_error(v.loc, "constant %s is out of range for %s", fmt_num(L->arena, v), dtype_name(dt));
    return ir_const(L->g, dt, v.num, v.loc);
}

/* ---- calls of ops ------------------------------------------------------- */

/* Ops the model language may call: not leaves, not gradients, not the
 * ops only passes create.  (dropout_mask stays callable, for tests of the
 * passes; called directly it draws a mask in both modes, unlike dropout.) */
static bool op_callable(OpCode op) {
    static const char *const internal[] = {"assign", "sum_to", "broadcast_to", "slice"};
    const OpInfo *info = op_info(op);
    if (info->kind == OK_LEAF) return false;
    size_t n = strlen(info->name);
    if (n > 5 && strcmp(info->name + n - 5, "_grad") == 0) return false;
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
        if (strcmp(info->name, internal[i]) == 0) return false;
    return true;
}

/* Names that a call may use: layers, then callable ops; for suggestions. */
static const char *const *callable_names(Arena *a, int *n) {
    const char *const *layers = layer_names();
    int nl = 0;
    while (layers[nl]) nl++;
    const char **v = ARENA_NEW_N(a, const char *, nl + OP_COUNT + 1);
    int k = 0;
    for (int i = 0; i < nl; i++) v[k++] = layers[i];
    for (int op = 0; op < OP_COUNT; op++)
        if (op_callable((OpCode)op)) v[k++] = op_info((OpCode)op)->name;
    *n = k;
    return v;
}

static const char *kind_noun(AttrKind k) {
    switch (k) {
    case AK_INT: return "an integer";
    case AK_FLOAT: return "a number";
    case AK_BOOL: return "true or false";
    case AK_INTS: return "a list of integers such as [1, 2]";
    case AK_STR: return "a name or a string";
    case AK_DTYPE: return "an element type (f32, f64, i32 or u8)";
    }
    return "?";
}

/* Converts the keyword argument `a` of a call of `op` to the attribute
 * described by `spec`, reporting a value of the wrong kind at the value. */
static Attr op_attr(Lower *L, const OpInfo *info, const AttrSpec *spec, const Arg *a) {
    const Expr *e = a->value;
    Attr at;
    memset(&at, 0, sizeof at);
    at.name = spec->name;
    at.kind = spec->kind;
    Value v;
    switch (spec->kind) {
    case AK_INT:
        if (!const_number(L, e, &v) || !v.is_int) break;
        at.i = v.ival;
        return at;
    case AK_FLOAT:
        if (!const_number(L, e, &v)) break;
        at.f = v.num;
        return at;
    case AK_BOOL:
        if (e->kind != EX_BOOL) break;
        at.i = e->bval;
        return at;
    case AK_INTS: {
        if (const_number(L, e, &v) && v.is_int) {
            int64_t *one = ARENA_NEW(L->arena, int64_t);
            *one = v.ival;
            at.ints = one;
            at.nints = 1;
            return at;
        }
        if (e->kind != EX_LIST) break;
        int64_t *vals = ARENA_NEW_N(L->arena, int64_t, e->nitems ? e->nitems : 1);
        for (int i = 0; i < e->nitems; i++) {
            if (!const_number(L, e->items[i], &v) || !v.is_int)
                dlc_error(e->items[i]->start, "attribute '%s' of '%s' must be a list of integers", spec->name,
                          info->name);
            vals[i] = v.ival;
        }
        at.ints = vals;
        at.nints = e->nitems;
        return at;
    }
    case AK_STR:
        if (e->kind != EX_STR && e->kind != EX_NAME) break;
        at.s = e->str;
        return at;
    case AK_DTYPE: {
        if (e->kind != EX_STR && e->kind != EX_NAME) break;
        DType dt;
        if (!dtype_parse(e->str, strlen(e->str), &dt))
            dlc_error(e->loc, "unknown element type '%s' (expected f32, f64, i32 or u8)", e->str);
        at.i = dt;
        return at;
    }
    }
    dlc_error(e->start, "attribute '%s' of '%s' must be %s", spec->name, info->name, kind_noun(spec->kind));
}

/* "axis, keepdims" of an op's attribute schema. */
static const char *attr_list(Arena *a, const OpInfo *info) {
    const char **v = ARENA_NEW_N(a, const char *, info->nspecs + 1);
    for (int i = 0; i < info->nspecs; i++) v[i] = info->specs[i].name;
    return name_list(a, v);
}

/* Lowers `name(args)` where name is an op of the table. */
static Value lower_op_call(Lower *L, OpCode op, const Expr *call) {
    const OpInfo *info = op_info(op);
    int npos = 0;
    for (int i = 0; i < call->nargs; i++)
        if (!call->args[i].kw) npos++;
    if (npos < info->min_in || (info->max_in >= 0 && npos > info->max_in)) {
        if (info->min_in == info->max_in)
            dlc_error(call->loc, "'%s' takes %d operand%s, got %d", info->name, info->min_in,
                      info->min_in == 1 ? "" : "s", npos);
        if (info->max_in < 0)
            dlc_error(call->loc, "'%s' takes at least %d operand%s, got %d", info->name, info->min_in,
                      info->min_in == 1 ? "" : "s", npos);
        dlc_error(call->loc, "'%s' takes %d to %d operands, got %d", info->name, info->min_in, info->max_in, npos);
    }
    /* Operands, in order; literals take the dtype of the first tensor. */
    Value *vals = ARENA_NEW_N(L->arena, Value, npos ? npos : 1);
    DType dt = DT_F32;
    bool have_dt = false;
    for (int i = 0; i < npos; i++) {
        vals[i] = lower_expr(L, call->args[i].value);
        if (vals[i].node && !have_dt) {
            dt = vals[i].node->type.dtype;
            have_dt = true;
        }
    }
    Node **in = ARENA_NEW_N(L->arena, Node *, npos ? npos : 1);
    for (int i = 0; i < npos; i++) in[i] = materialize(L, vals[i], dt);
    /* Attributes. */
    int nkw = call->nargs - npos;
    Attr *attrs = ARENA_NEW_N(L->arena, Attr, nkw ? nkw : 1);
    for (int i = npos; i < call->nargs; i++) {
        const Arg *a = &call->args[i];
        const AttrSpec *spec = op_attr_spec(op, a->kw);
        if (!spec) {
            if (info->nspecs == 0) dlc_error(a->kw_loc, "'%s' takes no keyword arguments", info->name);
            dlc_error(a->kw_loc, "'%s' has no attribute '%s' (valid: %s)", info->name, a->kw,
                      attr_list(L->arena, info));
        }
        attrs[i - npos] = op_attr(L, info, spec, a);
    }
    for (int s = 0; s < info->nspecs; s++) {
        if (!info->specs[s].required) continue;
        bool given = false;
        for (int i = npos; i < call->nargs; i++) given |= strcmp(call->args[i].kw, info->specs[s].name) == 0;
        if (!given) dlc_error(call->loc, "'%s' requires the attribute '%s'", info->name, info->specs[s].name);
    }
    Node *n = ir_node(L->g, op, in, npos, attrs, nkw, call->loc);
    return (Value){n, 0, false, 0, call->loc};
}

/* Resolves and lowers a call: a layer, else an op. */
static Value lower_call(Lower *L, const Expr *call) {
    const LayerDef *layer = layer_lookup(call->str);
    if (layer) return lower_layer_call(L, layer, call);
    OpCode op;
    if (op_lookup(call->str, strlen(call->str), &op)) {
        if (!op_callable(op))
            dlc_error(call->loc, "'%s' is internal to the compiler and cannot be called in a model", call->str);
        return lower_op_call(L, op, call);
    }
    int n;
    const char *const *names = callable_names(L->arena, &n);
    dlc_error(call->loc, "unknown function '%s'%s", call->str,
              did_you_mean(L->arena, closest_name(call->str, names, n)));
}

/* ---- expressions -------------------------------------------------------- */

/* All names in scope, for suggestions. */
static const char *const *scope_names(Lower *L, int *n) {
    const char **v = ARENA_NEW_N(L->arena, const char *, L->scope.n + 1);
    int k = 0;
    for (int i = 0; i < L->scope.cap; i++)
        if (L->scope.slots[i].name) v[k++] = L->scope.slots[i].name;
    *n = k;
    return v;
}

Value lower_expr(Lower *L, const Expr *e) {
    Value a, b;
    switch (e->kind) {
    case EX_NUM:
        return literal(e->num, e->is_int, e->ival, e->loc);
    case EX_NAME: {
        const Binding *bd = lower_lookup(L, e->str);
        if (bd) {
            Value v = bd->value;
            if (!v.node) v.loc = e->loc;
            return v;
        }
        OpCode op;
        if (layer_lookup(e->str) || op_lookup(e->str, strlen(e->str), &op))
            dlc_error(e->loc, "'%s' is a function; call it as %s(...)", e->str, e->str);
        int n;
        const char *const *names = scope_names(L, &n);
        dlc_error(e->loc, "undefined name '%s'%s", e->str, did_you_mean(L->arena, closest_name(e->str, names, n)));
    }
    case EX_STR:
        dlc_error(e->loc, "a string cannot be used as a tensor");
    case EX_BOOL:
        dlc_error(e->loc, "'%s' cannot be used as a tensor", e->bval ? "true" : "false");
    case EX_LIST:
        dlc_error(e->loc, "a list cannot be used as a tensor");
    case EX_NEG:
        a = lower_expr(L, e->lhs);
        if (!a.node) return negate(a, e->loc);
        return (Value){ir_node(L->g, OP_NEG, &a.node, 1, NULL, 0, e->loc), 0, false, 0, e->loc};
    case EX_BINARY: {
        a = lower_expr(L, e->lhs);
        b = lower_expr(L, e->rhs);
        if (!a.node && !b.node) return fold(e->op, a, b, e->loc);
        if (e->op == '@' && (!a.node || !b.node))
            dlc_error(e->loc, "operands of '@' must be tensors, not numbers");
        DType dt = a.node ? a.node->type.dtype : b.node->type.dtype;
        Node *in[2] = {materialize(L, a, dt), materialize(L, b, dt)};
        OpCode op = e->op == '+' ? OP_ADD : e->op == '-' ? OP_SUB : e->op == '*' ? OP_MUL
                  : e->op == '/' ? OP_DIV : OP_MATMUL;
        return (Value){ir_node(L->g, op, in, 2, NULL, 0, e->loc), 0, false, 0, e->loc};
    }
    case EX_CALL:
        return lower_call(L, e);
    }
    DLC_ICE("bad expression kind %d", (int)e->kind);
}

Node *lower_tensor(Lower *L, const Expr *e, DType dt) {
    return materialize(L, lower_expr(L, e), dt);
}

/* ---- parameters --------------------------------------------------------- */

void check_initializer(Lower *L, const char *name, SrcLoc loc) {
    if (init_known(name)) return;
    const char *const *names = init_names();
    int n = 0;
    while (names[n]) n++;
    const char *near = closest_name(name, names, n);
    if (near) dlc_error(loc, "unknown initializer '%s' (did you mean '%s'?)", name, near);
    dlc_error(loc, "unknown initializer '%s' (valid: %s)", name, name_list(L->arena, names));
}

Node *lower_param(Lower *L, const char *name, TensorType t, const char *init, SrcLoc init_loc, const Attr *args,
                  int nargs, SrcLoc loc) {
    const Binding *old = lower_lookup(L, name);
    if (old) dlc_error(loc, "redefinition of '%s' (first defined at %d:%d)", name, old->loc.line, old->loc.col);
    check_initializer(L, init, init_loc);
    Attr *attrs = ARENA_NEW_N(L->arena, Attr, nargs + 1);
    attrs[0] = attr_str("init", init);
    for (int i = 0; i < nargs; i++) attrs[i + 1] = args[i];
    Node *p = ir_param(L->g, name, t, attrs, nargs + 1, loc);
    lower_define(L, name, (Value){p, 0, false, 0, loc}, loc);
    return p;
}

/* param NAME: TYPE = INIT(key=number, ...) */
static void lower_param_stmt(Lower *L, const Stmt *s) {
    const TensorType *t = &s->type.type;
    if (!dtype_is_float(t->dtype))
        dlc_error(s->type.loc, "a parameter must have a floating-point type, not %s", dtype_name(t->dtype));
    if (t->rank > 0 && t->dims[0] == DIM_N)
        dlc_error(s->type.dim_locs[0], "a parameter cannot have the batch dimension N");
    const Expr *call = s->value;
    Attr *args = ARENA_NEW_N(L->arena, Attr, call->nargs ? call->nargs : 1);
    for (int i = 0; i < call->nargs; i++) {
        const Arg *a = &call->args[i];
        if (!a->kw)
            dlc_error(a->value->start, "initializer arguments must be given by name, e.g. constant(value=0.5)");
        const AttrSpec *spec = op_attr_spec(OP_PARAM, a->kw);
        if (!spec || strcmp(a->kw, "init") == 0) {
            const OpInfo *info = op_info(OP_PARAM);
            const char **v = ARENA_NEW_N(L->arena, const char *, info->nspecs + 1);
            int k = 0;
            for (int j = 0; j < info->nspecs; j++)
                if (strcmp(info->specs[j].name, "init") != 0) v[k++] = info->specs[j].name;
            dlc_error(a->kw_loc, "initializers take no argument '%s' (valid: %s)", a->kw, name_list(L->arena, v));
        }
        Value v;
        if (!const_number(L, a->value, &v)) dlc_error(a->value->start, "initializer argument '%s' must be a number", a->kw);
        args[i] = attr_float(spec->name, v.num);
    }
    lower_param(L, s->name, *t, call->str, call->loc, args, call->nargs, s->name_loc);
}

/* ---- the program -------------------------------------------------------- */

/* Gives node n the variable name `var` for dumps, unless it is a leaf or
 * already named by an earlier assignment. */
static void name_node(Node *n, const char *var) {
    if (op_info(n->op)->kind != OK_LEAF && !n->var) n->var = var;
}

/* Marks for removal the nodes appended since index `from`, except params
 * (a layer in a loss still owns its parameters), then compacts. */
static void drop_nodes_since(Graph *g, int from) {
    for (int i = from; i < g->nnodes; i++)
        if (g->nodes[i]->op != OP_PARAM) g->nodes[i]->dead = true;
    ir_compact(g);
}

/* Removes inputs nothing uses (infer mode: the labels of the loss). */
static void drop_unused_inputs(Graph *g) {
    int *uses = ARENA_NEW_N(g->arena, int, g->next_id ? g->next_id : 1);
    ir_use_counts(g, uses);
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_INPUT && uses[g->nodes[i]->id] == 0) g->nodes[i]->dead = true;
    ir_compact(g);
}

/* Appends to a growing NamedValue array. */
static void push_named(Arena *a, NamedValue **v, int *n, int *cap, NamedValue nv) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        *v = arena_grow(a, *v, (size_t)*cap, (size_t)nc, sizeof(NamedValue));
        *cap = nc;
    }
    (*v)[(*n)++] = nv;
}

/* Lowers a loss or metric expression to a scalar float; `what` names it
 * in messages ("the loss", "metric 'accuracy'"). */
static Node *lower_scalar(Lower *L, const Expr *e, const char *what) {
    Node *n = lower_tensor(L, e, DT_F32);
    char buf[TT_FMT_LEN];
    if (n->type.rank != 0)
        dlc_error(e->start, "%s must be a scalar, got %s", what, tt_format(&n->type, buf, sizeof buf));
    if (!dtype_is_float(n->type.dtype))
        dlc_error(e->start, "%s must be floating-point, got %s", what, tt_format(&n->type, buf, sizeof buf));
    return n;
}

Graph *nn_compile(Arena *a, const SrcFile *file, GraphMode mode) {
    Program *prog = nn_parse(a, file);
    Graph *g = ir_graph_new(a, prog->name, mode);
    g->file = file;
    Lower L;
    memset(&L, 0, sizeof L);
    L.arena = a;
    L.g = g;
    L.prog = prog;
    L.mode = mode;

    Node *loss = NULL;
    const Stmt *loss_stmt = NULL, *train_stmt = NULL;
    NamedValue *outputs = NULL, *metrics = NULL;
    int noutputs = 0, capout = 0, nmetrics = 0, capmet = 0;
    NameTable output_names = {0}, metric_names = {0};
    TrainConfig cfg = g->train;

    for (int i = 1; i < prog->nstmts; i++) {
        const Stmt *s = &prog->stmts[i];
        switch (s->kind) {
        case ST_MODEL:
            DLC_ICE("model statement after the first");
        case ST_INPUT: {
            Node *n = ir_input(g, s->name, s->type.type, s->name_loc);
            lower_define(&L, s->name, (Value){n, 0, false, 0, s->name_loc}, s->name_loc);
            break;
        }
        case ST_PARAM:
            lower_param_stmt(&L, s);
            break;
        case ST_ASSIGN:
        case ST_OUTPUT: {
            Value v;
            if (s->value) {
                v = lower_expr(&L, s->value);
                if (s->kind == ST_OUTPUT) v.node = materialize(&L, v, DT_F32);
                if (v.node) name_node(v.node, s->name);
                lower_define(&L, s->name, v, s->name_loc);
            } else {
                const Binding *bd = lower_lookup(&L, s->name);
                if (!bd) {
                    int n;
                    const char *const *names = scope_names(&L, &n);
                    dlc_error(s->name_loc, "undefined name '%s'%s", s->name,
                              did_you_mean(a, closest_name(s->name, names, n)));
                }
                v = bd->value;
                v.node = materialize(&L, v, DT_F32);
            }
            if (s->kind == ST_ASSIGN) break;
            if (names_find(&output_names, s->name)) dlc_error(s->name_loc, "duplicate output '%s'", s->name);
            names_add(a, &output_names, (Binding){.name = s->name, .loc = s->name_loc});
            push_named(a, &outputs, &noutputs, &capout, (NamedValue){s->name, v.node, s->name_loc});
            break;
        }
        case ST_LOSS: {
            if (loss_stmt)
                dlc_error(s->loc, "duplicate loss (the loss is defined at %d:%d)", loss_stmt->loc.line,
                          loss_stmt->loc.col);
            int mark = g->nnodes;
            loss = lower_scalar(&L, s->value, "the loss");
            loss_stmt = s;
            if (mode == MODE_INFER) drop_nodes_since(g, mark);
            break;
        }
        case ST_METRIC: {
            if (names_find(&metric_names, s->name)) dlc_error(s->name_loc, "duplicate metric '%s'", s->name);
            names_add(a, &metric_names, (Binding){.name = s->name, .loc = s->name_loc});
            int mark = g->nnodes;
            Node *m = lower_scalar(&L, s->value, arena_printf(a, "metric '%s'", s->name));
            if (mode == MODE_INFER)
                drop_nodes_since(g, mark);
            push_named(a, &metrics, &nmetrics, &capmet, (NamedValue){s->name, m, s->name_loc});
            break;
        }
        case ST_TRAIN:
            if (train_stmt)
                dlc_error(s->loc, "duplicate train block (the first is at %d:%d)", train_stmt->loc.line,
                          train_stmt->loc.col);
            train_stmt = s;
            lower_train(&L, s, &cfg);
            break;
        }
    }
    if (train_stmt && !loss_stmt)
        dlc_error(train_stmt->loc, "a train block needs a loss to minimize (add 'loss = ...')");
    if (noutputs == 0 && !loss_stmt)
        dlc_error(prog->stmts[0].name_loc, "model '%s' has no output and no loss", prog->name);

    g->outputs = outputs;
    g->noutputs = noutputs;
    g->max_batch = cfg.batch_size;
    if (mode == MODE_TRAIN) {
        g->loss = loss;
        g->loss_loc = loss_stmt ? loss_stmt->loc : prog->stmts[0].name_loc; /* no loss: autodiff says so here */
        g->metrics = metrics;
        g->nmetrics = nmetrics;
        g->train = cfg;
    } else {
        drop_unused_inputs(g);
    }
    const char *err = ir_verify(g);
    if (err) DLC_ICE("the .nn lowering built an ill-formed graph: %s", err);
    return g;
}
