/* parse_text.c - reads the IR text format back into a Graph.
 *
 * The format is line oriented (see print_text.c and docs/architecture.md):
 * a `graph NAME (mode)` header, then one definition per line - leaves
 * (`input|param|state|hparam %name : TYPE [= ...]`), nodes
 * (`%K = op operands {attrs} : TYPE`), and the footer lines (output, loss,
 * metric, grad, train).  `#` starts a comment that runs to the end of the
 * line; blank lines are ignored.
 *
 * The parser is a hand-written scanner over the bytes of the file with one
 * function per construct.  Values are found through a hash table keyed by
 * leaf name or by the decimal label K of `%K` (labels are any distinct
 * numbers; they need not be consecutive).  Nodes are built with the normal
 * builder, so the shape rule checks every node; the type written in the file
 * must then equal the one the rule computes.  Every error is a located user
 * error (file:line:col, exit 1).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ir.h"
#include "node_table.h"

/* ---- scanner ----------------------------------------------------------- */

typedef struct {
    Arena *arena;
    const SrcFile *file;
    const char *s;
    size_t len, pos;
    int line;
    size_t line_start;
    Graph *g;
    NodeTable values;
} Parser;

static SrcLoc here(const Parser *p) {
    SrcLoc l = {p->file, p->line, (int)(p->pos - p->line_start) + 1};
    return l;
}

static int peek(const Parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : EOF; }

/* Skips blanks and a comment, but not the newline. */
static void skip_ws(Parser *p) {
    for (;;) {
        int c = peek(p);
        if (c == ' ' || c == '\t' || c == '\r') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
        } else {
            return;
        }
    }
}

static bool at_eol(Parser *p) {
    skip_ws(p);
    return peek(p) == '\n' || peek(p) == EOF;
}

/* Moves past the newline ending the current line. */
static void next_line(Parser *p) {
    while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
    if (p->pos < p->len) {
        p->pos++;
        p->line++;
        p->line_start = p->pos;
    }
}

/* Describes the character at the cursor for "expected X, found Y". */
static const char *found(Parser *p) {
    int c = peek(p);
    if (c == EOF) return "the end of the file";
    if (c == '\n') return "the end of the line";
    if (c > 0x20 && c < 0x7F) return arena_printf(p->arena, "'%c'", c);
    return "an unexpected character";
}

static void expect_eol(Parser *p) {
    if (!at_eol(p)) dlc_error(here(p), "expected the end of the line, found %s", found(p));
}

static void expect_char(Parser *p, int c, const char *what) {
    skip_ws(p);
    if (peek(p) != c) dlc_error(here(p), "expected %s, found %s", what, found(p));
    p->pos++;
}

static bool accept_char(Parser *p, int c) {
    skip_ws(p);
    if (peek(p) != c) return false;
    p->pos++;
    return true;
}

static bool is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(int c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

/* An identifier [A-Za-z_][A-Za-z0-9_.]*; returns NULL if there is none. */
static const char *ident_opt(Parser *p) {
    skip_ws(p);
    if (!is_ident_start(peek(p))) return NULL;
    size_t start = p->pos;
    while (is_ident_char(peek(p))) p->pos++;
    return arena_strndup(p->arena, p->s + start, p->pos - start);
}

static const char *ident(Parser *p, const char *what) {
    skip_ws(p);
    const char *id = ident_opt(p);
    if (!id) dlc_error(here(p), "expected %s, found %s", what, found(p));
    return id;
}

/* Scans a number token (sign, digits, fraction, exponent, or inf / nan)
 * into buf; false if there is none. */
static bool number_token(Parser *p, char *buf, size_t cap) {
    skip_ws(p);
    size_t start = p->pos;
    if (peek(p) == '-' || peek(p) == '+') p->pos++;
    if (is_ident_start(peek(p))) {
        while (is_ident_char(peek(p))) p->pos++;
    } else {
        while ((peek(p) >= '0' && peek(p) <= '9') || peek(p) == '.') p->pos++;
        if (peek(p) == 'e' || peek(p) == 'E') {
            p->pos++;
            if (peek(p) == '-' || peek(p) == '+') p->pos++;
            while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
        }
    }
    size_t n = p->pos - start;
    if (n == 0 || n >= cap) {
        p->pos = start;
        return false;
    }
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    return true;
}

static double parse_float(Parser *p) {
    SrcLoc at = (skip_ws(p), here(p));
    char buf[64];
    if (!number_token(p, buf, sizeof buf)) dlc_error(at, "expected a number, found %s", found(p));
    const char *b = buf + (buf[0] == '-' || buf[0] == '+');
    bool word = is_ident_start((unsigned char)b[0]);
    if (word && strcmp(b, "inf") != 0 && strcmp(b, "nan") != 0) dlc_error(at, "expected a number, found '%s'", buf);
    char *end;
    double v = strtod(buf, &end);
    if (*end || end == buf) dlc_error(at, "malformed number '%s'", buf);
    if (isinf(v) && !word) dlc_error(at, "the number %s is out of range", buf);
    return v;
}

static int64_t parse_int(Parser *p) {
    SrcLoc at = (skip_ws(p), here(p));
    char buf[64];
    if (!number_token(p, buf, sizeof buf)) dlc_error(at, "expected an integer, found %s", found(p));
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || end == buf) dlc_error(at, "expected an integer, found '%s'", buf);
    if (errno == ERANGE) dlc_error(at, "the integer %s is out of range", buf);
    return (int64_t)v;
}

/* A string literal with the escapes the printer writes. */
static const char *parse_string(Parser *p) {
    SrcLoc at = (skip_ws(p), here(p));
    if (peek(p) != '"') dlc_error(at, "expected a string, found %s", found(p));
    p->pos++;
    size_t cap = 16, n = 0;
    char *out = arena_alloc(p->arena, cap);
    for (;;) {
        int c = peek(p);
        if (c == EOF || c == '\n') dlc_error(at, "unterminated string");
        p->pos++;
        if (c == '"') break;
        if (c == '\\') {
            int e = peek(p);
            p->pos++;
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == '"' || e == '\\') c = e;
            else if (e == 'x') {
                int v = 0;
                for (int k = 0; k < 2; k++) {
                    int h = peek(p);
                    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (d < 0) dlc_error(here(p), "bad \\x escape in a string");
                    v = v * 16 + d;
                    p->pos++;
                }
                if (v == 0) dlc_error(at, "strings may not contain NUL");
                c = v;
            } else {
                dlc_error(at, "unknown escape in a string");
            }
        }
        if (n + 1 >= cap) {
            out = arena_grow(p->arena, out, cap, cap * 2, 1);
            cap *= 2;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

/* TYPE: dtype '[' [dim {',' dim}] ']' where dim is N (first only) or an int. */
static TensorType parse_type(Parser *p) {
    skip_ws(p);
    SrcLoc at = here(p);
    const char *dt = ident(p, "a type such as f32[N,10]");
    TensorType t;
    memset(&t, 0, sizeof t);
    DType d;
    if (!dtype_parse(dt, strlen(dt), &d)) dlc_error(at, "unknown dtype '%s' (expected f32, f64, i32 or u8)", dt);
    t.dtype = d;
    expect_char(p, '[', "'[' after the dtype");
    if (accept_char(p, ']')) return t;
    do {
        skip_ws(p);
        SrcLoc dl = here(p);
        if (t.rank == DLC_MAX_RANK) dlc_error(dl, "too many dimensions (at most %d)", DLC_MAX_RANK);
        if (peek(p) == 'N') {
            p->pos++;
            if (t.rank != 0) dlc_error(dl, "the batch dimension N may only be the first dimension");
            t.dims[t.rank++] = DIM_N;
            continue;
        }
        if (!(peek(p) >= '0' && peek(p) <= '9')) dlc_error(dl, "expected a dimension (a size or N), found %s", found(p));
        int64_t v = parse_int(p);
        if (v > DLC_MAX_DIM) dlc_error(dl, "the dimension %lld is too large (the limit is 2^40)", (long long)v);
        t.dims[t.rank++] = v;
    } while (accept_char(p, ','));
    expect_char(p, ']', "',' or ']' in the type");
    return t;
}

/* `%name` or `%K`: returns the key ("name" or the decimal K). */
static const char *ref_key(Parser *p, bool *numbered) {
    skip_ws(p);
    SrcLoc at = here(p);
    if (peek(p) != '%') dlc_error(at, "expected a value (%%name or %%number), found %s", found(p));
    p->pos++;
    if (peek(p) >= '0' && peek(p) <= '9') {
        size_t start = p->pos;
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
        if (is_ident_char(peek(p))) dlc_error(at, "malformed value name");
        char *end;
        errno = 0;
        long long k = strtoll(p->s + start, &end, 10);
        if (errno == ERANGE || k > INT_MAX) dlc_error(at, "the value number is too large");
        *numbered = true;
        return arena_printf(p->arena, "%lld", k);
    }
    if (!is_ident_start(peek(p))) dlc_error(at, "expected a value name after '%%'");
    *numbered = false;
    return ident(p, "a value name");
}

/* A use of a value defined earlier. */
static Node *ref_use(Parser *p) {
    skip_ws(p);
    SrcLoc at = here(p);
    bool numbered;
    const char *key = ref_key(p, &numbered);
    Node *n = node_table_get(&p->values, key);
    if (!n) dlc_error(at, "undefined value %%%s", key);
    return n;
}

/* ---- attributes -------------------------------------------------------- */

/* A value of the kind the schema gives for `spec`. */
static Attr parse_attr_value(Parser *p, const AttrSpec *spec) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.name = spec->name;
    a.kind = spec->kind;
    skip_ws(p);
    SrcLoc at = here(p);
    switch (spec->kind) {
    case AK_INT: a.i = parse_int(p); break;
    case AK_FLOAT: a.f = parse_float(p); break;
    case AK_BOOL: {
        const char *w = ident_opt(p);
        if (w && strcmp(w, "true") == 0) a.i = 1;
        else if (w && strcmp(w, "false") == 0) a.i = 0;
        else if (!w && (peek(p) == '0' || peek(p) == '1')) a.i = parse_int(p);
        else dlc_error(at, "expected true or false for '%s'", spec->name);
        if (a.i != 0 && a.i != 1) dlc_error(at, "expected true or false for '%s'", spec->name);
        break;
    }
    case AK_INTS: {
        expect_char(p, '[', "'[' to start an integer list");
        int cap = 4;
        int64_t *v = ARENA_NEW_N(p->arena, int64_t, cap);
        if (!accept_char(p, ']')) {
            do {
                if (a.nints == cap) {
                    v = arena_grow(p->arena, v, (size_t)cap, (size_t)cap * 2, sizeof *v);
                    cap *= 2;
                }
                v[a.nints++] = parse_int(p);
            } while (accept_char(p, ','));
            expect_char(p, ']', "',' or ']' in the list");
        }
        a.ints = v;
        break;
    }
    case AK_STR: a.s = parse_string(p); break;
    case AK_DTYPE: {
        const char *w = ident(p, "a dtype");
        DType d;
        if (!dtype_parse(w, strlen(w), &d)) dlc_error(at, "unknown dtype '%s'", w);
        a.i = d;
        break;
    }
    }
    return a;
}

/* `name=value {, name=value}` up to `close`, checked against op's schema. */
static int parse_attr_list(Parser *p, OpCode op, int close, Attr **out) {
    int n = 0, cap = 4;
    Attr *attrs = ARENA_NEW_N(p->arena, Attr, cap);
    if (!accept_char(p, close)) {
        do {
            skip_ws(p);
            SrcLoc at = here(p);
            const char *name = ident(p, "an attribute name");
            const AttrSpec *spec = op_attr_spec(op, name);
            /* a param's or state's init is written before the parentheses */
            bool is_init = (op == OP_PARAM || op == OP_STATE) && strcmp(name, "init") == 0;
            if (!spec || is_init) dlc_error(at, "%s has no attribute '%s'", op_info(op)->name, name);
            for (int i = 0; i < n; i++)
                if (strcmp(attrs[i].name, spec->name) == 0) dlc_error(at, "attribute '%s' is given twice", name);
            expect_char(p, '=', "'=' after the attribute name");
            if (n == cap) {
                attrs = arena_grow(p->arena, attrs, (size_t)cap, (size_t)cap * 2, sizeof *attrs);
                cap *= 2;
            }
            attrs[n++] = parse_attr_value(p, spec);
        } while (accept_char(p, ','));
        expect_char(p, close, close == '}' ? "',' or '}' after an attribute" : "',' or ')' after an argument");
    }
    *out = attrs;
    return n;
}

/* ---- lines ------------------------------------------------------------- */

static void define(Parser *p, SrcLoc at, const char *key, bool numbered, Node *n) {
    if (node_table_get(&p->values, key))
        dlc_error(at, numbered ? "%%%s is defined twice" : "the name %%%s is defined twice", key);
    node_table_put(p->arena, &p->values, key, n);
}

/* Checks that the type written in the file is the node's computed type. */
static void check_written_type(Parser *p, SrcLoc at, const Node *n, const TensorType *t) {
    if (tt_equal(&n->type, t)) return;
    char a[TT_FMT_LEN], b[TT_FMT_LEN];
    (void)p;
    dlc_error(at, "%s gives %s here, but the type written is %s", op_info(n->op)->name,
              tt_format(&n->type, a, sizeof a), tt_format(t, b, sizeof b));
}

/* input|param|state|hparam %name : TYPE [= init(args) | = value] */
static void parse_leaf(Parser *p, SrcLoc at, OpCode op) {
    skip_ws(p);
    SrcLoc nl = here(p);
    bool numbered;
    const char *name = ref_key(p, &numbered);
    if (numbered) dlc_error(nl, "a %s needs a name (%%name), not a number", op_info(op)->name);
    if (node_table_get(&p->values, name)) dlc_error(nl, "the name %%%s is defined twice", name);
    expect_char(p, ':', "':' before the type");
    skip_ws(p);
    SrcLoc tl = here(p);
    TensorType t = parse_type(p);
    Node *n = NULL;
    if (op == OP_INPUT) {
        n = ir_input(p->g, name, t, at);
    } else if (op == OP_HPARAM) {
        expect_char(p, '=', "'=' and the value of the hyperparameter");
        double v = parse_float(p);
        n = ir_hparam(p->g, name, v, at);
        if (!tt_equal(&n->type, &t)) {
            char a[TT_FMT_LEN];
            dlc_error(tl, "a hyperparameter is a f32[] scalar, not %s", tt_format(&t, a, sizeof a));
        }
    } else {
        Attr *args = NULL;
        int nargs = 0;
        if (accept_char(p, '=')) {
            skip_ws(p);
            const char *init = peek(p) == '"' ? parse_string(p) : ident(p, "an initializer name");
            expect_char(p, '(', "'(' after the initializer");
            Attr *rest;
            int nrest = parse_attr_list(p, op, ')', &rest);
            args = ARENA_NEW_N(p->arena, Attr, nrest + 1);
            args[0] = attr_str("init", init);
            memcpy(args + 1, rest, sizeof(Attr) * (size_t)nrest);
            nargs = nrest + 1;
        }
        n = op == OP_PARAM ? ir_param(p->g, name, t, args, nargs, at) : ir_state(p->g, name, t, args, nargs, at);
    }
    expect_eol(p);
    define(p, nl, n->name, false, n);
}

/* %K = op operands {attrs} : TYPE      (const: %K = const VALUE : TYPE) */
static void parse_node(Parser *p) {
    skip_ws(p);
    SrcLoc at = here(p);
    bool numbered;
    const char *key = ref_key(p, &numbered);
    if (!numbered)
        dlc_error(at, "only input, param, state and hparam values have names; number other values %%0, %%1, ...");
    if (node_table_get(&p->values, key)) dlc_error(at, "%%%s is defined twice", key);
    expect_char(p, '=', "'='");
    skip_ws(p);
    SrcLoc ol = here(p);
    const char *opn = ident(p, "an op name");
    OpCode op;
    if (!op_lookup(opn, strlen(opn), &op)) dlc_error(ol, "unknown op '%s'", opn);
    if (op_info(op)->kind == OK_LEAF && op != OP_CONST)
        dlc_error(ol, "%s values are written '%s %%name : TYPE', not numbered", opn, opn);
    Node *n;
    if (op == OP_CONST) {
        double v = parse_float(p);
        expect_char(p, ':', "':' before the type");
        skip_ws(p);
        SrcLoc tl = here(p);
        TensorType t = parse_type(p);
        n = ir_const(p->g, t.dtype, v, at);
        n->type = t; /* a constant may be broadcast to any type */
        const char *err = ir_shape_infer(p->g, n);
        if (err) dlc_error(tl, "%s", err);
    } else {
        int cap = 4, nin = 0;
        Node **in = ARENA_NEW_N(p->arena, Node *, cap);
        skip_ws(p);
        if (peek(p) == '%') {
            do {
                if (nin == cap) {
                    in = arena_grow(p->arena, in, (size_t)cap, (size_t)cap * 2, sizeof *in);
                    cap *= 2;
                }
                in[nin++] = ref_use(p);
            } while (accept_char(p, ','));
        }
        Attr *attrs = NULL;
        int nattrs = 0;
        if (accept_char(p, '{')) nattrs = parse_attr_list(p, op, '}', &attrs);
        expect_char(p, ':', "':' before the type");
        skip_ws(p);
        SrcLoc tl = here(p);
        TensorType t = parse_type(p);
        const char *err = ir_node_try(p->g, op, in, nin, attrs, nattrs, at, &n);
        if (err) dlc_error(ol, "%s", err);
        check_written_type(p, tl, n, &t);
    }
    expect_eol(p);
    define(p, at, key, true, n);
}

/* Appends to a NamedValue array (outputs, metrics). */
static void push_named(Parser *p, NamedValue **arr, int *count, const char *name, Node *n, SrcLoc at) {
    for (int i = 0; i < *count; i++)
        if (strcmp((*arr)[i].name, name) == 0) dlc_error(at, "'%s' is declared twice", name);
    *arr = arena_grow(p->arena, *arr, (size_t)*count, (size_t)*count + 1, sizeof **arr);
    (*arr)[*count].name = name;
    (*arr)[*count].node = n;
    (*arr)[*count].loc = at;
    (*count)++;
}

/* grad %param = VALUE */
static void parse_grad(Parser *p) {
    skip_ws(p);
    SrcLoc pl = here(p);
    Node *param = ref_use(p);
    if (param->op != OP_PARAM) dlc_error(pl, "a gradient is taken with respect to a param");
    for (int i = 0; i < p->g->ngrads; i++)
        if (p->g->grad_params[i] == param) dlc_error(pl, "the gradient of %%%s is given twice", param->name);
    expect_char(p, '=', "'='");
    skip_ws(p);
    SrcLoc vl = here(p);
    Node *d = ref_use(p);
    if (!tt_equal(&d->type, &param->type)) {
        char a[TT_FMT_LEN], b[TT_FMT_LEN];
        dlc_error(vl, "the gradient of %%%s must have its type %s, not %s", param->name,
                  tt_format(&param->type, a, sizeof a), tt_format(&d->type, b, sizeof b));
    }
    Graph *g = p->g;
    g->grad_params = arena_grow(p->arena, g->grad_params, (size_t)g->ngrads, (size_t)g->ngrads + 1, sizeof(Node *));
    g->grads = arena_grow(p->arena, g->grads, (size_t)g->ngrads, (size_t)g->ngrads + 1, sizeof(Node *));
    g->grad_params[g->ngrads] = param;
    g->grads[g->ngrads++] = d;
}

/* train [optimizer(k=v, ...)] [batch_size=B] [epochs=E] [seed=S] */
static void parse_train(Parser *p, SrcLoc at) {
    TrainConfig *t = &p->g->train;
    if (t->present) dlc_error(at, "there is already a train line");
    t->present = true;
    t->loc = at;
    t->batch_size = 32;
    t->epochs = 1;
    t->seed = 0;
    skip_ws(p);
    SrcLoc kl = here(p);
    const char *word = ident_opt(p);
    if (word && accept_char(p, '(')) {
        t->optimizer = word;
        t->optimizer_loc = kl;
        int cap = 4;
        t->opt_args = ARENA_NEW_N(p->arena, Attr, cap);
        if (!accept_char(p, ')')) {
            do {
                skip_ws(p);
                SrcLoc al = here(p);
                const char *name = ident(p, "an optimizer argument");
                for (int i = 0; i < t->nopt_args; i++)
                    if (strcmp(t->opt_args[i].name, name) == 0) dlc_error(al, "'%s' is given twice", name);
                expect_char(p, '=', "'=' after the argument name");
                skip_ws(p);
                Attr a;
                const char *w = peek(p) == 't' || peek(p) == 'f' ? ident_opt(p) : NULL;
                if (w && strcmp(w, "true") == 0) a = attr_bool(name, true);
                else if (w && strcmp(w, "false") == 0) a = attr_bool(name, false);
                else if (w) dlc_error(al, "expected a number for '%s'", name);
                else a = attr_float(name, parse_float(p));
                if (t->nopt_args == cap) {
                    t->opt_args = arena_grow(p->arena, t->opt_args, (size_t)cap, (size_t)cap * 2, sizeof(Attr));
                    cap *= 2;
                }
                t->opt_args[t->nopt_args++] = a;
            } while (accept_char(p, ','));
            expect_char(p, ')', "',' or ')' after an optimizer argument");
        }
        kl = (skip_ws(p), here(p));
        word = ident_opt(p);
    }
    while (word) {
        expect_char(p, '=', "'='");
        int64_t v = parse_int(p);
        if (v < 0) dlc_error(kl, "'%s' must not be negative", word);
        if (strcmp(word, "batch_size") == 0) t->batch_size = v;
        else if (strcmp(word, "epochs") == 0) t->epochs = v;
        else if (strcmp(word, "seed") == 0) t->seed = v;
        else dlc_error(kl, "unknown train setting '%s' (expected batch_size, epochs or seed)", word);
        kl = (skip_ws(p), here(p));
        word = ident_opt(p);
    }
    expect_eol(p);
}

/* One line after the header. */
static void parse_line(Parser *p) {
    skip_ws(p);
    SrcLoc at = here(p);
    if (peek(p) == '%') {
        parse_node(p);
        return;
    }
    const char *kw = ident_opt(p);
    if (!kw) dlc_error(at, "expected a definition, found %s", found(p));
    OpCode op;
    Graph *g = p->g;
    if (op_lookup(kw, strlen(kw), &op) && op_info(op)->kind == OK_LEAF && op != OP_CONST) {
        parse_leaf(p, at, op);
    } else if (strcmp(kw, "output") == 0 || strcmp(kw, "metric") == 0) {
        skip_ws(p);
        SrcLoc nl = here(p);
        const char *name = ident(p, kw[0] == 'o' ? "an output name" : "a metric name");
        expect_char(p, '=', "'='");
        Node *n = ref_use(p);
        expect_eol(p);
        if (kw[0] == 'o') push_named(p, &g->outputs, &g->noutputs, name, n, nl);
        else push_named(p, &g->metrics, &g->nmetrics, name, n, nl);
    } else if (strcmp(kw, "loss") == 0) {
        if (g->loss) dlc_error(at, "there is already a loss");
        expect_char(p, '=', "'='");
        skip_ws(p);
        SrcLoc vl = here(p);
        Node *n = ref_use(p);
        if (n->type.rank != 0 || !dtype_is_float(n->type.dtype)) {
            char a[TT_FMT_LEN];
            dlc_error(vl, "the loss must be a float scalar, not %s", tt_format(&n->type, a, sizeof a));
        }
        expect_eol(p);
        g->loss = n;
        g->loss_loc = at;
    } else if (strcmp(kw, "grad") == 0) {
        parse_grad(p);
        expect_eol(p);
    } else if (strcmp(kw, "train") == 0) {
        parse_train(p, at);
    } else {
        dlc_error(at, "unknown definition '%s' (expected %%K = op ..., input, param, state, hparam, output, loss, "
                      "metric, grad or train)",
                  kw);
    }
}

/* Skips blank and comment-only lines; false at the end of the file. */
static bool skip_blank_lines(Parser *p) {
    for (;;) {
        skip_ws(p);
        if (peek(p) == EOF) return false;
        if (peek(p) != '\n') return true;
        next_line(p);
    }
}

Graph *ir_parse_text(Arena *a, const SrcFile *file) {
    Parser p;
    memset(&p, 0, sizeof p);
    p.arena = a;
    p.file = file;
    p.s = file->text;
    p.len = file->len;
    p.line = 1;
    if (!skip_blank_lines(&p)) dlc_error((SrcLoc){file, 1, 1}, "expected 'graph NAME (train|infer)', found an empty file");
    SrcLoc at = here(&p);
    const char *kw = ident_opt(&p);
    if (!kw || strcmp(kw, "graph") != 0) dlc_error(at, "expected 'graph NAME (train|infer)'");
    const char *name = ident(&p, "the graph name");
    expect_char(&p, '(', "'(' before the mode");
    skip_ws(&p);
    SrcLoc ml = here(&p);
    const char *mode = ident(&p, "train or infer");
    GraphMode gm;
    if (strcmp(mode, "train") == 0) gm = MODE_TRAIN;
    else if (strcmp(mode, "infer") == 0) gm = MODE_INFER;
    else dlc_error(ml, "expected train or infer, found '%s'", mode);
    expect_char(&p, ')', "')' after the mode");
    expect_eol(&p);
    p.g = ir_graph_new(a, name, gm);
    p.g->file = file;
    next_line(&p);
    while (skip_blank_lines(&p)) {
        parse_line(&p);
        next_line(&p);
    }
    /* as for .nn models, memory is planned for the training batch */
    if (p.g->train.present && p.g->train.batch_size > 0) p.g->max_batch = p.g->train.batch_size;
    const char *err = ir_verify(p.g);
    if (err) dlc_error((SrcLoc){file, 0, 0}, "%s", err);
    return p.g;
}
