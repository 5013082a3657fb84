/* test_parser.c - the .nn parser: statements, tensor types, expression
 * trees (precedence and associativity, shown as S-expressions), calls with
 * keyword arguments, train blocks, the locations the tree records, and
 * syntax errors with their messages and positions (frontend/parser.c).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "ir/ir.h"
#include "testutil.h"

static Arena arena;

static void setup(void) { arena_init(&arena); }
static void teardown(void) { arena_free(&arena); }

static Program *parse(const char *src) {
    return nn_parse(&arena, srcfile_from_string(&arena, "t.nn", src, strlen(src)));
}

/* tu_capture_error callback: parses the source *ctx (a const char *). */
static void parse_cb(void *ctx) { parse(*(const char **)ctx); }

/* Parses expecting a user error; returns "line:col: message". */
static char *parse_error(const char *src) {
    static char msg[512];
    char *buf = tu_capture_error(parse_cb, &src);
    ck_assert_msg(buf != NULL, "parsing succeeded, an error was expected: %s", src);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
    int line = 0, col = 0, n = 0;
    ck_assert_msg(sscanf(buf, "t.nn:%d:%d: error: %n", &line, &col, &n) == 2, "unexpected diagnostic: %s", buf);
    snprintf(msg, sizeof msg, "%d:%d: %s", line, col, buf + n);
    free(buf);
    return msg;
}

/* Writes an expression as an S-expression: (+ a (* b 2)), (neg x),
 * (call f a k=1), [1 2]. */
static void sexpr(const Expr *e, char *buf, size_t cap) {
    size_t n = strlen(buf);
    char *p = buf + n;
    size_t room = cap - n;
    switch (e->kind) {
    case EX_NUM:
        if (e->is_int)
            snprintf(p, room, "%lld", (long long)e->ival);
        else
            snprintf(p, room, "%g", e->num);
        return;
    case EX_STR: snprintf(p, room, "\"%s\"", e->str); return;
    case EX_BOOL: snprintf(p, room, "%s", e->bval ? "true" : "false"); return;
    case EX_NAME: snprintf(p, room, "%s", e->str); return;
    case EX_NEG:
        snprintf(p, room, "(neg ");
        sexpr(e->lhs, buf, cap);
        strncat(buf, ")", cap - strlen(buf) - 1);
        return;
    case EX_BINARY:
        snprintf(p, room, "(%c ", e->op);
        sexpr(e->lhs, buf, cap);
        strncat(buf, " ", cap - strlen(buf) - 1);
        sexpr(e->rhs, buf, cap);
        strncat(buf, ")", cap - strlen(buf) - 1);
        return;
    case EX_LIST:
        snprintf(p, room, "[");
        for (int i = 0; i < e->nitems; i++) {
            if (i) strncat(buf, " ", cap - strlen(buf) - 1);
            sexpr(e->items[i], buf, cap);
        }
        strncat(buf, "]", cap - strlen(buf) - 1);
        return;
    case EX_CALL:
        snprintf(p, room, "(call %s", e->str);
        for (int i = 0; i < e->nargs; i++) {
            strncat(buf, " ", cap - strlen(buf) - 1);
            if (e->args[i].kw) {
                strncat(buf, e->args[i].kw, cap - strlen(buf) - 1);
                strncat(buf, "=", cap - strlen(buf) - 1);
            }
            sexpr(e->args[i].value, buf, cap);
        }
        strncat(buf, ")", cap - strlen(buf) - 1);
        return;
    }
}

/* The S-expression of the value of `name = EXPR` in a one-statement model. */
static const char *expr_of(const char *expr) {
    static char buf[1024];
    char src[512];
    snprintf(src, sizeof src, "model m\ny = %s\n", expr);
    Program *p = parse(src);
    ck_assert_int_eq(p->nstmts, 2);
    ck_assert_int_eq(p->stmts[1].kind, ST_ASSIGN);
    buf[0] = '\0';
    sexpr(p->stmts[1].value, buf, sizeof buf);
    return buf;
}

START_TEST(test_precedence) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"a + b * c", "(+ a (* b c))"},
        {"a - b - c", "(- (- a b) c)"},
        {"a / b / c", "(/ (/ a b) c)"},
        {"x @ w + b", "(+ (@ x w) b)"},
        {"x @ w * 2", "(* (@ x w) 2)"},
        {"2 * x @ w", "(@ (* 2 x) w)"},
        {"x + x @ w * 2 - b / 4", "(- (+ x (* (@ x w) 2)) (/ b 4))"},
        {"-x @ w", "(@ (neg x) w)"},
        {"- - x", "(neg (neg x))"},
        {"a * -b", "(* a (neg b))"},
        {"(a + b) * c", "(* (+ a b) c)"},
        {"relu(x @ w1 + b1)", "(call relu (+ (@ x w1) b1))"},
        {"f(a, b=1.5, c=[1, -2], d=\"s\", e=true, g=relu)",
         "(call f a b=1.5 c=[1 (neg 2)] d=\"s\" e=true g=relu)"},
        {"f()", "(call f)"},
        {"f(a,)", "(call f a)"},
        {"[]", "[]"},
        {"dense_1.kernel * 0.5", "(* dense_1.kernel 0.5)"},
        {"g(f(x), y)", "(call g (call f x) y)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) ck_assert_str_eq(expr_of(cases[i].src), cases[i].want);
}
END_TEST

START_TEST(test_statements) {
    Program *p = parse("model mnist\n"
                       "input image: f32[N, 28, 28]\n"
                       "input label: i32[N]\n"
                       "param w: f64[784, 10] = uniform(low=-1, high=1)\n"
                       "param b: f32[10] = zeros\n"
                       "h = image\n"
                       "output probs = softmax(h)\n"
                       "output h\n"
                       "loss = mean(h)\n"
                       "metric accuracy(probs, label)\n"
                       "metric m2 = mean(h)\n"
                       "train {\n  optimizer = sgd(learning_rate=0.1)\n  epochs = 3\n}\n"
                       "input s: u8[]\n");
    ck_assert_str_eq(p->name, "mnist");
    ck_assert_int_eq(p->nstmts, 13);
    StmtKind kinds[] = {ST_MODEL,  ST_INPUT, ST_INPUT, ST_PARAM,  ST_PARAM,  ST_ASSIGN, ST_OUTPUT,
                        ST_OUTPUT, ST_LOSS,  ST_METRIC, ST_METRIC, ST_TRAIN, ST_INPUT};
    for (int i = 0; i < p->nstmts; i++) ck_assert_int_eq(p->stmts[i].kind, kinds[i]);

    const Stmt *s = &p->stmts[1];
    ck_assert_str_eq(s->name, "image");
    ck_assert_int_eq(s->name_loc.line, 2);
    ck_assert_int_eq(s->name_loc.col, 7);
    ck_assert_int_eq(s->type.type.dtype, DT_F32);
    ck_assert_int_eq(s->type.type.rank, 3);
    ck_assert(s->type.type.dims[0] == DIM_N);
    ck_assert_int_eq(s->type.type.dims[1], 28);
    ck_assert_int_eq(s->type.dim_locs[2].col, 25);
    ck_assert_int_eq(p->stmts[2].type.type.dtype, DT_I32);

    s = &p->stmts[3]; /* param with initializer arguments */
    ck_assert_int_eq(s->type.type.dtype, DT_F64);
    ck_assert_int_eq(s->value->kind, EX_CALL);
    ck_assert_str_eq(s->value->str, "uniform");
    ck_assert_int_eq(s->value->nargs, 2);
    ck_assert_str_eq(s->value->args[0].kw, "low");
    ck_assert_int_eq(s->value->args[0].value->kind, EX_NEG);
    ck_assert_str_eq(p->stmts[4].value->str, "zeros"); /* bare initializer name */
    ck_assert_int_eq(p->stmts[4].value->nargs, 0);

    ck_assert_ptr_nonnull(p->stmts[6].value); /* output probs = ... */
    ck_assert_ptr_null(p->stmts[7].value);    /* output h */
    ck_assert_str_eq(p->stmts[7].name, "h");

    s = &p->stmts[9]; /* metric accuracy(probs, label): the call is the value */
    ck_assert_str_eq(s->name, "accuracy");
    ck_assert_int_eq(s->value->kind, EX_CALL);
    ck_assert_str_eq(s->value->str, "accuracy");
    ck_assert_int_eq(s->value->nargs, 2);
    ck_assert_int_eq(p->stmts[10].value->kind, EX_CALL);
    ck_assert_str_eq(p->stmts[10].name, "m2");

    s = &p->stmts[11];
    ck_assert_int_eq(s->nentries, 2);
    ck_assert_str_eq(s->entries[0].key, "optimizer");
    ck_assert_int_eq(s->entries[0].key_loc.line, 13);
    ck_assert_int_eq(s->entries[0].key_loc.col, 3);
    ck_assert_str_eq(s->entries[1].key, "epochs");
    ck_assert_int_eq(s->entries[1].value->ival, 3);

    ck_assert_int_eq(p->stmts[12].type.type.rank, 0); /* u8[] is a scalar */
    ck_assert_int_eq(p->stmts[12].type.type.dtype, DT_U8);
}
END_TEST

/* Expressions record their operator / callee token and their first token. */
START_TEST(test_locations) {
    Program *p = parse("model m\nh = (a + b) @ relu(c)\n");
    const Expr *e = p->stmts[1].value;
    ck_assert_int_eq(e->kind, EX_BINARY);
    ck_assert_int_eq(e->loc.col, 13); /* '@' */
    ck_assert_int_eq(e->start.col, 5); /* '(' */
    ck_assert_int_eq(e->lhs->loc.col, 8); /* '+' */
    ck_assert_int_eq(e->rhs->loc.col, 15); /* relu */
    ck_assert_int_eq(e->rhs->args[0].value->loc.col, 20);
    ck_assert_int_eq(p->stmts[1].loc.col, 1);
    ck_assert_int_eq(p->end.line, 3);
}
END_TEST

/* Layout: train blocks on one line, blank lines, statements over lines. */
START_TEST(test_layout) {
    Program *p = parse("\n# c\nmodel m   # the name\n\n\ntrain { optimizer = adam }\nh = f(a,\n\n  b)\n");
    ck_assert_int_eq(p->nstmts, 3);
    ck_assert_int_eq(p->stmts[0].loc.line, 3);
    ck_assert_int_eq(p->stmts[1].nentries, 1);
    ck_assert_int_eq(p->stmts[1].entries[0].value->kind, EX_NAME);
    ck_assert_int_eq(p->stmts[2].value->nargs, 2);
    p = parse("model m\ntrain {\n}\n");
    ck_assert_int_eq(p->stmts[1].nentries, 0);
    p = parse("model m\ntrain {\n  epochs = 1 }\n");
    ck_assert_int_eq(p->stmts[1].nentries, 1);
    p = parse("model m");
    ck_assert_int_eq(p->nstmts, 1);
}
END_TEST

START_TEST(test_nesting_limit) {
    char src[4096];
    int depth = NN_MAX_NESTING;
    int n = snprintf(src, sizeof src, "model m\ny = ");
    for (int i = 0; i < depth; i++) src[n++] = '(';
    src[n++] = 'x';
    for (int i = 0; i < depth; i++) src[n++] = ')';
    src[n] = '\0';
    ck_assert_str_eq(expr_of("((((x))))"), "x");
    Program *p = parse(src); /* exactly at the limit: fine */
    ck_assert_int_eq(p->stmts[1].value->kind, EX_NAME);
    n = snprintf(src, sizeof src, "model m\ny = ");
    for (int i = 0; i <= depth; i++) src[n++] = '(';
    src[n++] = 'x';
    for (int i = 0; i <= depth; i++) src[n++] = ')';
    src[n] = '\0';
    ck_assert_str_eq(parse_error(src), "2:205: expression nested too deeply (the limit is 200 levels)");
}
END_TEST

START_TEST(test_argument_limit) {
    char src[4096];
    int n = snprintf(src, sizeof src, "model m\ny = f(");
    for (int i = 0; i < NN_MAX_ARGS; i++) n += snprintf(src + n, sizeof src - (size_t)n, "%sa", i ? "," : "");
    snprintf(src + n, sizeof src - (size_t)n, ")\n");
    ck_assert_int_eq(parse(src)->stmts[1].value->nargs, NN_MAX_ARGS);
    snprintf(src + n, sizeof src - (size_t)n, ",b)\n");
    ck_assert_str_eq(parse_error(src), "2:519: too many arguments in one call (the limit is 256)");
}
END_TEST

START_TEST(test_errors) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"", "1:1: expected 'model NAME' as the first statement, got end of file"},
        {"input x: f32[N]\n", "1:1: expected 'model NAME' as the first statement, got 'input'"},
        {"model\n", "1:6: expected a model name after 'model', got end of line"},
        {"model a.b\n", "1:7: model name 'a.b' must not contain '.'"},
        {"model m x\n", "1:9: expected end of line after the statement, got 'x'"},
        {"model m\nmodel n\n", "2:1: 'model' may appear only once, as the first statement"},
        {"model m\ninput x f32[N]\n", "2:9: expected ':' after the input name, got 'f32'"},
        {"model m\ninput x: [N]\n", "2:10: expected an element type (f32, f64, i32 or u8), got '['"},
        {"model m\ninput x: f16[N]\n", "2:10: unknown element type 'f16' (expected f32, f64, i32 or u8)"},
        {"model m\ninput x: f32\n", "2:13: expected '[' after the element type, got end of line"},
        {"model m\ninput x: f32[N N]\n", "2:16: expected ',' or ']' in the dimensions, got 'N'"},
        {"model m\ninput x: f32[3, N]\n", "2:17: the batch dimension N may only be the first dimension"},
        {"model m\ninput x: f32[0]\n", "2:14: dimension must be positive, got 0"},
        {"model m\ninput x: f32[-1]\n", "2:14: dimension must be positive, got -1"},
        {"model m\ninput x: f32[1.0]\n", "2:14: dimension must be an integer, got '1.0'"},
        {"model m\ninput x: f32[1099511627777]\n",
         "2:14: dimension 1099511627777 is too large (the limit is 1099511627776)"},
        {"model m\ninput x: f32[1048576, 1048577]\n",
         "2:10: tensor type has too many elements (the limit is 1099511627776)"},
        {"model m\ninput x: f32[1,1,1,1,1,1,1,1,1]\n", "2:30: too many dimensions (the limit is 8)"},
        {"model m\nparam w: f32[2]\n", "2:16: expected '=' and an initializer after the parameter type, got end of line"},
        {"model m\nparam w: f32[2] = 1\n", "2:19: expected an initializer such as glorot_uniform(), got '1'"},
        {"model m\nh =\n", "2:4: expected an expression, got end of line"},
        {"model m\nh = a +\n", "2:8: expected an expression, got end of line"},
        {"model m\nh = a b\n", "2:7: expected end of line after the statement, got 'b'"},
        {"model m\nh = f(a b)\n", "2:9: expected ',' or ')' in the argument list, got 'b'"},
        {"model m\nh = [a b]\n", "2:8: expected ',' or ']' in the list, got 'b'"},
        {"model m\nh = f(k=1, a)\n", "2:12: positional argument follows keyword argument"},
        {"model m\nh = f(k=1, k=2)\n", "2:12: duplicate keyword argument 'k'"},
        {"model m\nh = f(,)\n", "2:7: expected an expression, got ','"},
        {"model m\nh = ()\n", "2:6: expected an expression, got ')'"},
        {"model m\nf(x)\n", "2:2: expected '=' after 'f' (a statement is NAME = EXPRESSION), got '('"},
        {"model m\n= x\n", "2:1: expected a statement, got '='"},
        {"model m\nh = loss\n", "2:5: expected an expression, got 'loss'"},
        {"model m\noutput\n", "2:7: expected an output name after 'output', got end of line"},
        {"model m\nloss x\n", "2:6: expected '=' after 'loss', got 'x'"},
        {"model m\nmetric acc\n", "2:11: expected '(' or '=' after the metric name, got end of line"},
        {"model m\nmetric loss = x\n", "2:8: expected a metric name after 'metric', got 'loss'"},
        {"model m\ntrain\n", "2:6: expected '{' after 'train', got end of line"},
        {"model m\ntrain {\n  1 = 2\n}\n", "3:3: expected a setting name or '}' in the train block, got '1'"},
        {"model m\ntrain {\n  epochs 2\n}\n", "3:10: expected '=' after the setting name, got '2'"},
        {"model m\ntrain {\n  a = 1 b = 2\n}\n", "3:9: expected end of line or '}' after the setting, got 'b'"},
        {"model m\ntrain { a = 1 } x\n", "2:17: expected end of line after the statement, got 'x'"},
        {"model m\nh = \"s\" \"t\"\n", "2:9: expected end of line after the statement, got string \"t\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(parse_error(cases[i].src), cases[i].want);
}
END_TEST

Suite *parser_suite(void) {
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_statements);
    tcase_add_test(tc, test_locations);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_argument_limit);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tu_run_suite(parser_suite());
}
