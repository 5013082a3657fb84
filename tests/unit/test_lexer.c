/* test_lexer.c - the .nn lexer: token kinds, spellings, values, positions,
 * where newlines end statements, and every lexical error with its message
 * and position (frontend/lexer.c).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lexer.h"
#include "ir/ir.h"
#include "testutil.h"

static Arena arena;

static void setup(void) { arena_init(&arena); }
static void teardown(void) { arena_free(&arena); }

static TokenList lex(const char *src) {
    return nn_lex(&arena, srcfile_from_string(&arena, "t.nn", src, strlen(src)));
}

/* lex_error_n's source for lex_cb. */
typedef struct LexArgs {
    const char *src;
    size_t len;
} LexArgs;

/* tu_capture_error callback: lexes the LexArgs *ctx. */
static void lex_cb(void *ctx) {
    const LexArgs *l = ctx;
    nn_lex(&arena, srcfile_from_string(&arena, "t.nn", l->src, l->len));
}

/* Lexes `len` bytes expecting a user error; returns "line:col: message". */
static char *lex_error_n(const char *src, size_t len) {
    static char msg[512];
    LexArgs l = {src, len};
    char *buf = tu_capture_error(lex_cb, &l);
    ck_assert_msg(buf != NULL, "lexing succeeded, an error was expected: %s", src);
    /* "t.nn:L:C: error: MSG\n..." -> "L:C: MSG" */
    char *first = buf, *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
    ck_assert_msg(strncmp(first, "t.nn:", 5) == 0, "unexpected diagnostic: %s", first);
    int line = 0, col = 0, n = 0;
    ck_assert_int_eq(sscanf(first + 5, "%d:%d: error: %n", &line, &col, &n), 2);
    snprintf(msg, sizeof msg, "%d:%d: %s", line, col, first + 5 + n);
    free(buf);
    return msg;
}

static char *lex_error(const char *src) { return lex_error_n(src, strlen(src)); }

START_TEST(test_kinds_and_positions) {
    TokenList tl = lex("model m\ninput x: f32[N, 28]\n  h = x @ w * 2 - b / 4 + c\n");
    static const struct {
        TokKind kind;
        const char *text;
        int line, col;
    } want[] = {
        {TK_KW_MODEL, "model", 1, 1}, {TK_IDENT, "m", 1, 7},     {TK_NEWLINE, "", 1, 8},
        {TK_KW_INPUT, "input", 2, 1}, {TK_IDENT, "x", 2, 7},     {TK_COLON, ":", 2, 8},
        {TK_IDENT, "f32", 2, 10},     {TK_LBRACKET, "[", 2, 13}, {TK_IDENT, "N", 2, 14},
        {TK_COMMA, ",", 2, 15},       {TK_INT, "28", 2, 17},     {TK_RBRACKET, "]", 2, 19},
        {TK_NEWLINE, "", 2, 20},      {TK_IDENT, "h", 3, 3},     {TK_EQ, "=", 3, 5},
        {TK_IDENT, "x", 3, 7},        {TK_AT, "@", 3, 9},        {TK_IDENT, "w", 3, 11},
        {TK_STAR, "*", 3, 13},        {TK_INT, "2", 3, 15},      {TK_MINUS, "-", 3, 17},
        {TK_IDENT, "b", 3, 19},       {TK_SLASH, "/", 3, 21},    {TK_INT, "4", 3, 23},
        {TK_PLUS, "+", 3, 25},        {TK_IDENT, "c", 3, 27},    {TK_NEWLINE, "", 3, 28},
        {TK_EOF, "", 4, 1},
    };
    int n = (int)(sizeof want / sizeof want[0]);
    ck_assert_int_eq(tl.ntoks, n);
    for (int i = 0; i < n; i++) {
        const Token *t = &tl.toks[i];
        ck_assert_msg(t->kind == want[i].kind, "token %d: kind %s, want %s", i, tok_kind_name(t->kind),
                      tok_kind_name(want[i].kind));
        ck_assert_int_eq((int)t->len, (int)strlen(want[i].text));
        ck_assert(memcmp(t->text, want[i].text, t->len) == 0);
        ck_assert_int_eq(t->loc.line, want[i].line);
        ck_assert_int_eq(t->loc.col, want[i].col);
    }
    ck_assert_str_eq(tl.toks[1].str, "m");
    ck_assert_int_eq(tl.toks[10].ival, 28);
}
END_TEST

START_TEST(test_keywords_and_names) {
    TokenList tl = lex("model input param output loss metric train true false models dense_1.kernel _x9 a.b.c\n");
    TokKind want[] = {TK_KW_MODEL, TK_KW_INPUT,  TK_KW_PARAM, TK_KW_OUTPUT, TK_KW_LOSS,
                      TK_KW_METRIC, TK_KW_TRAIN, TK_KW_TRUE,  TK_KW_FALSE,  TK_IDENT,
                      TK_IDENT,     TK_IDENT,    TK_IDENT,    TK_NEWLINE,   TK_EOF};
    ck_assert_int_eq(tl.ntoks, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < tl.ntoks; i++) ck_assert_int_eq(tl.toks[i].kind, want[i]);
    ck_assert_str_eq(tl.toks[9].str, "models");
    ck_assert_str_eq(tl.toks[10].str, "dense_1.kernel");
    ck_assert_str_eq(tl.toks[12].str, "a.b.c");
}
END_TEST

START_TEST(test_numbers) {
    TokenList tl = lex("0 42 9223372036854775807 1.5 .25 2. 1e3 1E-3 6.02e+23\n");
    ck_assert_int_eq(tl.toks[0].kind, TK_INT);
    ck_assert_int_eq(tl.toks[0].ival, 0);
    ck_assert_int_eq(tl.toks[1].ival, 42);
    ck_assert_int_eq(tl.toks[2].kind, TK_INT);
    ck_assert(tl.toks[2].ival == INT64_MAX);
    double want[] = {1.5, 0.25, 2.0, 1000.0, 0.001, 6.02e23};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(tl.toks[3 + i].kind, TK_FLOAT);
        ck_assert_double_eq_tol(tl.toks[3 + i].fval, want[i], want[i] * 1e-15);
    }
    ck_assert_int_eq(tl.toks[4].loc.col, 30); /* ".25" starts at its dot */
    /* A minus sign is its own token: literals are never negative. */
    tl = lex("-3\n");
    ck_assert_int_eq(tl.toks[0].kind, TK_MINUS);
    ck_assert_int_eq(tl.toks[1].kind, TK_INT);
}
END_TEST

START_TEST(test_strings) {
    TokenList tl = lex("\"plain\" \"a\\\"b\\\\c\\n\\t\" \"caf\xc3\xa9\" \"\"\n");
    ck_assert_int_eq(tl.toks[0].kind, TK_STRING);
    ck_assert_str_eq(tl.toks[0].str, "plain");
    ck_assert_str_eq(tl.toks[1].str, "a\"b\\c\n\t");
    ck_assert_str_eq(tl.toks[2].str, "caf\xc3\xa9");
    ck_assert_str_eq(tl.toks[3].str, "");
    ck_assert_int_eq(tl.toks[1].loc.col, 9);
    ck_assert_int_eq((int)tl.toks[1].len, 13);
}
END_TEST

/* Newlines end statements only outside ( ) and [ ]; blank and comment
 * lines produce no tokens; CRLF counts as one line end; a file without a
 * final newline still ends its last statement. */
START_TEST(test_newlines) {
    TokenList tl = lex("\n\n# c\na = f(x,\n  y)  # tail\r\n\r\n  # more\nb = [1,\n2]\ntrain {\n}");
    TokKind want[] = {TK_IDENT,   TK_EQ,      TK_IDENT,  TK_LPAREN, TK_IDENT,    TK_COMMA,   TK_IDENT,
                      TK_RPAREN,  TK_NEWLINE, TK_IDENT,  TK_EQ,     TK_LBRACKET, TK_INT,     TK_COMMA,
                      TK_INT,     TK_RBRACKET, TK_NEWLINE, TK_KW_TRAIN, TK_LBRACE, TK_NEWLINE, TK_RBRACE,
                      TK_NEWLINE, TK_EOF};
    int n = (int)(sizeof want / sizeof want[0]);
    ck_assert_int_eq(tl.ntoks, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(tl.toks[i].kind == want[i], "token %d: %s, want %s", i, tok_kind_name(tl.toks[i].kind),
                      tok_kind_name(want[i]));
    ck_assert_int_eq(tl.toks[0].loc.line, 4);
    ck_assert_int_eq(tl.toks[6].loc.line, 5); /* y */
    ck_assert_int_eq(tl.toks[6].loc.col, 3);
    ck_assert_int_eq(tl.toks[9].loc.line, 8); /* b, after CRLF lines */
    ck_assert_int_eq(tl.toks[20].loc.line, 11);
}
END_TEST

START_TEST(test_empty_and_bom) {
    TokenList tl = lex("");
    ck_assert_int_eq(tl.ntoks, 1);
    ck_assert_int_eq(tl.toks[0].kind, TK_EOF);
    ck_assert_int_eq(tl.toks[0].loc.line, 1);
    tl = lex("# only\n# comments\n");
    ck_assert_int_eq(tl.ntoks, 1);
    ck_assert_int_eq(tl.toks[0].loc.line, 3);
    tl = lex("\xef\xbb\xbfmodel m");
    ck_assert_int_eq(tl.toks[0].kind, TK_KW_MODEL);
    ck_assert_int_eq(tl.toks[0].loc.col, 4); /* columns count bytes */
}
END_TEST

START_TEST(test_describe) {
    char buf[96];
    TokenList tl = lex("foo 12 \"s\" +\n");
    ck_assert_str_eq(tok_describe(&tl.toks[0], buf, sizeof buf), "'foo'");
    ck_assert_str_eq(tok_describe(&tl.toks[1], buf, sizeof buf), "'12'");
    ck_assert_str_eq(tok_describe(&tl.toks[2], buf, sizeof buf), "string \"s\"");
    ck_assert_str_eq(tok_describe(&tl.toks[3], buf, sizeof buf), "'+'");
    ck_assert_str_eq(tok_describe(&tl.toks[4], buf, sizeof buf), "end of line");
    ck_assert_str_eq(tok_describe(&tl.toks[5], buf, sizeof buf), "end of file");
    ck_assert_str_eq(tok_kind_name(TK_KW_TRAIN), "'train'");
}
END_TEST

START_TEST(test_errors) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"a = $", "1:5: unexpected character '$'"},
        {"a = b ! c", "1:7: unexpected character '!'"},
        {"x\n  \xc3\x97", "2:3: unexpected character '\xc3\x97' (U+00D7)"},
        {"a\x01", "1:2: unexpected control character 0x01"},
        {"a = \xff", "1:5: invalid UTF-8 byte 0xff"},
        {"# \xe2\x82", "1:3: invalid UTF-8 byte 0xe2"},    /* truncated sequence */
        {"# \xc0\xaf", "1:3: invalid UTF-8 byte 0xc0"},    /* overlong '/' */
        {"\"\xed\xa0\x80\"", "1:2: invalid UTF-8 byte 0xed"}, /* surrogate */
        {"# \xf4\x90\x80\x80", "1:3: invalid UTF-8 byte 0xf4"}, /* > U+10FFFF */
        {"a = \"abc", "1:5: unterminated string"},
        {"a = \"abc\nd\"", "1:5: unterminated string"},
        {"a = \"a\\z\"", "1:7: unknown escape sequence '\\z' in string"},
        {"f(x", "1:2: unclosed '('"},
        {"f(g[x)", "1:6: ')' does not match the '[' opened at 1:4"},
        {"a = x)", "1:6: unmatched ')'"},
        {"train {\n  a = [1,\n", "2:7: unclosed '['"},
        {"train {\n", "1:7: unclosed '{'"},
        {"x = 99999999999999999999", "1:5: integer literal '99999999999999999999' is too large"},
        {"x = 9223372036854775808", "1:5: integer literal '9223372036854775808' is too large"},
        {"x = 1e400", "1:5: floating-point literal '1e400' is out of range"},
        {"x = 1e", "1:6: malformed number: exponent has no digits"},
        {"x = 2.5e+z", "1:8: malformed number: exponent has no digits"},
        {"x = 3abc", "1:6: invalid character 'a' after number"},
        {"x = 1.2.3", "1:8: invalid character '.' after number"},
        {"x = a..b", "1:6: unexpected character '.'"},
        {"x = .", "1:5: unexpected character '.'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(lex_error(cases[i].src), cases[i].want);
    /* A NUL byte needs an explicit length. */
    ck_assert_str_eq(lex_error_n("ab\0c", 4), "1:3: unexpected NUL byte");
    /* The identifier limit. */
    char *id = malloc(NN_MAX_IDENT + 2);
    memset(id, 'a', NN_MAX_IDENT + 1);
    id[NN_MAX_IDENT + 1] = '\0';
    ck_assert_str_eq(lex_error(id), "1:1: identifier too long (256 bytes; the limit is 255)");
    id[NN_MAX_IDENT] = '\0';
    ck_assert_int_eq((int)lex(id).toks[0].len, NN_MAX_IDENT);
    free(id);
}
END_TEST

Suite *lexer_suite(void) {
    Suite *s = suite_create("lexer");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_kinds_and_positions);
    tcase_add_test(tc, test_keywords_and_names);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_newlines);
    tcase_add_test(tc, test_empty_and_bom);
    tcase_add_test(tc, test_describe);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tu_run_suite(lexer_suite());
}
