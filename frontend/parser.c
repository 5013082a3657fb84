/* parser.c - recursive-descent parser for the .nn language.
 *
 * Input is the token array from nn_lex(); output the Program tree of
 * parser.h.  The grammar (docs/dsl.md) is LL(2): a statement is chosen by its
 * first token (a keyword, or a name followed by '='), a call by a name
 * followed by '(', a keyword argument by a name followed by '='.
 * Expressions use precedence climbing in two levels, as in Python:
 *
 *     expr  = term  { ("+" | "-") term }           left-associative
 *     term  = unary { ("*" | "/" | "@") unary }    left-associative
 *     unary = "-" unary | primary
 *
 * Nesting is bounded (NN_MAX_NESTING) so that a hostile file cannot
 * overflow the C stack.  Each syntax error names what was expected and what
 * was found, at the found token.
 */
#include "parser.h"

#include <string.h>

#include "lexer.h"

typedef struct Parser {
    Arena *arena;
    const SrcFile *file;
    Token *toks;
    int ntoks;
    int pos;
    int depth; /* current expression nesting */
} Parser;

const char *stmt_kind_name(StmtKind k) {
    switch (k) {
    case ST_MODEL: return "model statement";
    case ST_INPUT: return "input";
    case ST_PARAM: return "param";
    case ST_ASSIGN: return "assignment";
    case ST_OUTPUT: return "output";
    case ST_LOSS: return "loss";
    case ST_METRIC: return "metric";
    case ST_TRAIN: return "train block";
    }
    return "statement";
}

static Token *peek(Parser *P) {
    return &P->toks[P->pos];
}

/* The token after the next one (EOF stays EOF). */
static Token *peek2(Parser *P) {
    return &P->toks[P->pos + 1 < P->ntoks ? P->pos + 1 : P->pos];
}

static Token *next(Parser *P) {
    Token *t = &P->toks[P->pos];
    if (t->kind != TK_EOF) P->pos++;
    return t;
}

static bool accept(Parser *P, TokKind k) {
    if (peek(P)->kind != k) return false;
    next(P);
    return true;
}

/* Reports "expected WHAT, got TOKEN" at the current token. */
DLC_NORETURN static void expected(Parser *P, const char *what) {
    char buf[96];
    dlc_error(peek(P)->loc, "expected %s, got %s", what, tok_describe(peek(P), buf, sizeof buf));
}

static Token *expect(Parser *P, TokKind k, const char *what) {
    if (peek(P)->kind != k) expected(P, what);
    return next(P);
}

static Expr *new_expr(Parser *P, ExprKind k, SrcLoc loc) {
    Expr *e = ARENA_NEW(P->arena, Expr);
    e->kind = k;
    e->loc = loc;
    e->start = loc;
    return e;
}

static Expr *parse_expr(Parser *P);

/* Enters one level of expression nesting, opened by the token at loc. */
static void enter(Parser *P, SrcLoc loc) {
    if (++P->depth > NN_MAX_NESTING)
        dlc_error(loc, "expression nested too deeply (the limit is %d levels)", NN_MAX_NESTING);
}

/* args = [ arg { "," arg } [","] ] ")"    arg = [ NAME "=" ] expr
 * The "(" has been consumed.  Keyword arguments follow positional ones and
 * appear at most once. */
static void parse_args(Parser *P, Expr *call) {
    int cap = 0;
    for (;;) {
        if (accept(P, TK_RPAREN)) break;
        if (call->nargs == NN_MAX_ARGS)
            dlc_error(peek(P)->loc, "too many arguments in one call (the limit is %d)", NN_MAX_ARGS);
        Arg a = {0};
        if (peek(P)->kind == TK_IDENT && peek2(P)->kind == TK_EQ) {
            Token *kw = next(P);
            next(P);
            a.kw = kw->str;
            a.kw_loc = kw->loc;
            for (int i = 0; i < call->nargs; i++)
                if (call->args[i].kw && strcmp(call->args[i].kw, a.kw) == 0)
                    dlc_error(kw->loc, "duplicate keyword argument '%s'", a.kw);
        } else if (call->nargs > 0 && call->args[call->nargs - 1].kw) {
            dlc_error(peek(P)->loc, "positional argument follows keyword argument");
        }
        a.value = parse_expr(P);
        if (call->nargs == cap) {
            int nc = cap ? cap * 2 : 4;
            call->args = arena_grow(P->arena, call->args, (size_t)cap, (size_t)nc, sizeof(Arg));
            cap = nc;
        }
        call->args[call->nargs++] = a;
        if (accept(P, TK_RPAREN)) break;
        if (!accept(P, TK_COMMA)) expected(P, "',' or ')' in the argument list");
    }
}

/* list = "[" [ expr { "," expr } [","] ] "]"; the "[" has been consumed. */
static void parse_list(Parser *P, Expr *list) {
    int cap = 0;
    for (;;) {
        if (accept(P, TK_RBRACKET)) break;
        Expr *e = parse_expr(P);
        if (list->nitems == cap) {
            int nc = cap ? cap * 2 : 4;
            list->items = arena_grow(P->arena, list->items, (size_t)cap, (size_t)nc, sizeof(Expr *));
            cap = nc;
        }
        list->items[list->nitems++] = e;
        if (accept(P, TK_RBRACKET)) break;
        if (!accept(P, TK_COMMA)) expected(P, "',' or ']' in the list");
    }
}

/* primary = NUMBER | STRING | "true" | "false" | NAME | NAME "(" args
 *         | "(" expr ")" | "[" list */
static Expr *parse_primary(Parser *P) {
    Token *t = peek(P);
    Expr *e;
    switch (t->kind) {
    case TK_INT:
    case TK_FLOAT:
        next(P);
        e = new_expr(P, EX_NUM, t->loc);
        e->num = t->fval;
        e->is_int = t->kind == TK_INT;
        e->ival = t->ival;
        return e;
    case TK_STRING:
        next(P);
        e = new_expr(P, EX_STR, t->loc);
        e->str = t->str;
        return e;
    case TK_KW_TRUE:
    case TK_KW_FALSE:
        next(P);
        e = new_expr(P, EX_BOOL, t->loc);
        e->bval = t->kind == TK_KW_TRUE;
        return e;
    case TK_IDENT:
        next(P);
        if (accept(P, TK_LPAREN)) {
            e = new_expr(P, EX_CALL, t->loc);
            e->str = t->str;
            enter(P, t->loc);
            parse_args(P, e);
            P->depth--;
            return e;
        }
        e = new_expr(P, EX_NAME, t->loc);
        e->str = t->str;
        return e;
    case TK_LPAREN:
        next(P);
        enter(P, t->loc);
        e = parse_expr(P);
        P->depth--;
        expect(P, TK_RPAREN, "')'");
        e->start = t->loc;
        return e;
    case TK_LBRACKET:
        next(P);
        e = new_expr(P, EX_LIST, t->loc);
        enter(P, t->loc);
        parse_list(P, e);
        P->depth--;
        return e;
    default:
        expected(P, "an expression");
    }
}

/* unary = "-" unary | primary */
static Expr *parse_unary(Parser *P) {
    Token *t = peek(P);
    if (t->kind != TK_MINUS) return parse_primary(P);
    next(P);
    enter(P, t->loc);
    Expr *e = new_expr(P, EX_NEG, t->loc);
    e->lhs = parse_unary(P);
    P->depth--;
    return e;
}

static Expr *binary(Parser *P, Token *op, Expr *lhs, Expr *rhs) {
    Expr *e = new_expr(P, EX_BINARY, op->loc);
    e->op = op->text[0];
    e->lhs = lhs;
    e->rhs = rhs;
    e->start = lhs->start;
    return e;
}

/* term = unary { ("*" | "/" | "@") unary } */
static Expr *parse_term(Parser *P) {
    Expr *e = parse_unary(P);
    for (;;) {
        TokKind k = peek(P)->kind;
        if (k != TK_STAR && k != TK_SLASH && k != TK_AT) return e;
        Token *op = next(P);
        e = binary(P, op, e, parse_unary(P));
    }
}

/* expr = term { ("+" | "-") term } */
static Expr *parse_expr(Parser *P) {
    Expr *e = parse_term(P);
    for (;;) {
        TokKind k = peek(P)->kind;
        if (k != TK_PLUS && k != TK_MINUS) return e;
        Token *op = next(P);
        e = binary(P, op, e, parse_term(P));
    }
}

/* type = DTYPE "[" [ dim { "," dim } ] "]"     dim = INT | "N"
 * Dims are positive and at most DLC_MAX_DIM, N only first, rank at most
 * DLC_MAX_RANK, and the element count at most DLC_MAX_DIM. */
static TypeSyntax parse_type(Parser *P) {
    TypeSyntax ts;
    memset(&ts, 0, sizeof ts);
    Token *dt = peek(P);
    if (dt->kind != TK_IDENT) expected(P, "an element type (f32, f64, i32 or u8)");
    next(P);
    if (!dtype_parse(dt->text, dt->len, &ts.type.dtype))
        dlc_error(dt->loc, "unknown element type '%s' (expected f32, f64, i32 or u8)", dt->str);
    ts.loc = dt->loc;
    expect(P, TK_LBRACKET, "'[' after the element type");
    int64_t numel = 1;
    if (!accept(P, TK_RBRACKET)) {
        for (;;) {
            Token *t = peek(P);
            int64_t d;
            if (ts.type.rank == DLC_MAX_RANK)
                dlc_error(t->loc, "too many dimensions (the limit is %d)", DLC_MAX_RANK);
            if (t->kind == TK_IDENT && strcmp(t->str, "N") == 0) {
                if (ts.type.rank != 0)
                    dlc_error(t->loc, "the batch dimension N may only be the first dimension");
                d = DIM_N;
            } else if (t->kind == TK_INT) {
                d = t->ival;
                if (d == 0) dlc_error(t->loc, "dimension must be positive, got 0");
                if (d > DLC_MAX_DIM)
                    dlc_error(t->loc, "dimension %lld is too large (the limit is %lld)", (long long)d,
                              (long long)DLC_MAX_DIM);
                numel *= d; /* both factors <= 2^40 after the check below */
                if (numel > DLC_MAX_DIM)
                    dlc_error(ts.loc, "tensor type has too many elements (the limit is %lld)",
                              (long long)DLC_MAX_DIM);
            } else if (t->kind == TK_MINUS && peek2(P)->kind == TK_INT) {
                dlc_error(t->loc, "dimension must be positive, got -%s", peek2(P)->str);
            } else if (t->kind == TK_FLOAT) {
                dlc_error(t->loc, "dimension must be an integer, got '%s'", t->str);
            } else {
                expected(P, "a dimension (a positive integer or N)");
            }
            next(P);
            ts.dim_locs[ts.type.rank] = t->loc;
            ts.type.dims[ts.type.rank++] = d;
            if (accept(P, TK_RBRACKET)) break;
            if (!accept(P, TK_COMMA)) expected(P, "',' or ']' in the dimensions");
        }
    }
    return ts;
}

/* Ends a statement: a newline (the lexer puts one before EOF). */
static void end_stmt(Parser *P) {
    if (!accept(P, TK_NEWLINE)) expected(P, "end of line after the statement");
}

static Token *expect_name(Parser *P, const char *what) {
    return expect(P, TK_IDENT, what);
}

/* train { KEY = expr ... }: one setting per line; the "{" may be followed
 * by the first setting and the "}" may end the last one's line. */
static void parse_train(Parser *P, Stmt *s) {
    expect(P, TK_LBRACE, "'{' after 'train'");
    int cap = 0;
    for (;;) {
        while (accept(P, TK_NEWLINE)) {
        }
        if (accept(P, TK_RBRACE)) break;
        if (peek(P)->kind != TK_IDENT) expected(P, "a setting name or '}' in the train block");
        Token *key = next(P);
        expect(P, TK_EQ, "'=' after the setting name");
        TrainEntry e = {key->str, key->loc, parse_expr(P)};
        if (s->nentries == cap) {
            int nc = cap ? cap * 2 : 4;
            s->entries = arena_grow(P->arena, s->entries, (size_t)cap, (size_t)nc, sizeof(TrainEntry));
            cap = nc;
        }
        s->entries[s->nentries++] = e;
        if (accept(P, TK_RBRACE)) break;
        if (peek(P)->kind != TK_NEWLINE) expected(P, "end of line or '}' after the setting");
    }
}

/* Parses the statement at the current token into *s. */
static void parse_stmt(Parser *P, Stmt *s) {
    Token *t = peek(P);
    s->loc = t->loc;
    switch (t->kind) {
    case TK_KW_MODEL:
        dlc_error(t->loc, "'model' may appear only once, as the first statement");
    case TK_KW_INPUT:
    case TK_KW_PARAM: {
        bool is_param = t->kind == TK_KW_PARAM;
        next(P);
        s->kind = is_param ? ST_PARAM : ST_INPUT;
        Token *n = expect_name(P, is_param ? "a parameter name after 'param'" : "an input name after 'input'");
        s->name = n->str;
        s->name_loc = n->loc;
        expect(P, TK_COLON, is_param ? "':' after the parameter name" : "':' after the input name");
        s->type = parse_type(P);
        if (is_param) {
            expect(P, TK_EQ, "'=' and an initializer after the parameter type");
            Token *init = peek(P);
            if (init->kind != TK_IDENT) expected(P, "an initializer such as glorot_uniform()");
            next(P);
            Expr *call = new_expr(P, EX_CALL, init->loc);
            call->str = init->str;
            if (accept(P, TK_LPAREN)) {
                enter(P, init->loc);
                parse_args(P, call);
                P->depth--;
            }
            s->value = call;
        }
        break;
    }
    case TK_KW_OUTPUT: {
        next(P);
        s->kind = ST_OUTPUT;
        Token *n = expect_name(P, "an output name after 'output'");
        s->name = n->str;
        s->name_loc = n->loc;
        if (accept(P, TK_EQ)) s->value = parse_expr(P);
        break;
    }
    case TK_KW_LOSS:
        next(P);
        s->kind = ST_LOSS;
        expect(P, TK_EQ, "'=' after 'loss'");
        s->value = parse_expr(P);
        break;
    case TK_KW_METRIC: {
        next(P);
        s->kind = ST_METRIC;
        Token *n = expect_name(P, "a metric name after 'metric'");
        s->name = n->str;
        s->name_loc = n->loc;
        if (accept(P, TK_LPAREN)) {
            Expr *call = new_expr(P, EX_CALL, n->loc);
            call->str = n->str;
            enter(P, n->loc);
            parse_args(P, call);
            P->depth--;
            s->value = call;
        } else if (accept(P, TK_EQ)) {
            s->value = parse_expr(P);
        } else {
            expected(P, "'(' or '=' after the metric name");
        }
        break;
    }
    case TK_KW_TRAIN:
        next(P);
        s->kind = ST_TRAIN;
        parse_train(P, s);
        break;
    case TK_IDENT:
        next(P);
        s->kind = ST_ASSIGN;
        s->name = t->str;
        s->name_loc = t->loc;
        if (peek(P)->kind != TK_EQ) {
            char buf[96];
            dlc_error(peek(P)->loc, "expected '=' after '%s' (a statement is NAME = EXPRESSION), got %s", t->str,
                      tok_describe(peek(P), buf, sizeof buf));
        }
        next(P);
        s->value = parse_expr(P);
        break;
    default:
        expected(P, "a statement");
    }
    end_stmt(P);
}

Program *nn_parse(Arena *a, const SrcFile *file) {
    TokenList tl = nn_lex(a, file);
    Parser P = {a, file, tl.toks, tl.ntoks, 0, 0};
    Program *prog = ARENA_NEW(a, Program);
    prog->file = file;
    prog->end = tl.toks[tl.ntoks - 1].loc;

    /* model NAME, first. */
    Token *t = peek(&P);
    if (t->kind != TK_KW_MODEL) expected(&P, "'model NAME' as the first statement");
    next(&P);
    Token *n = expect_name(&P, "a model name after 'model'");
    if (strchr(n->str, '.')) dlc_error(n->loc, "model name '%s' must not contain '.'", n->str);
    int cap = 16;
    prog->stmts = ARENA_NEW_N(a, Stmt, cap);
    Stmt *m = &prog->stmts[prog->nstmts++];
    m->kind = ST_MODEL;
    m->loc = t->loc;
    m->name = n->str;
    m->name_loc = n->loc;
    prog->name = n->str;
    end_stmt(&P);

    while (peek(&P)->kind != TK_EOF) {
        if (prog->nstmts == cap) {
            prog->stmts = arena_grow(a, prog->stmts, (size_t)cap, (size_t)cap * 2, sizeof(Stmt));
            cap *= 2;
        }
        parse_stmt(&P, &prog->stmts[prog->nstmts++]);
    }
    return prog;
}
