/* lexer.c - the .nn lexer (see lexer.h and docs/dsl.md, "Lexical structure").
 *
 * A single left-to-right scan over the bytes of the file.  It keeps the
 * current line and column (1-based, columns count bytes), a stack of open
 * brackets (for the balance check and to know whether a newline ends a
 * statement), and appends tokens to a growing arena array.  Every byte of
 * the file is checked: the file must be UTF-8; outside comments and strings
 * only ASCII letters, digits, blanks and the operator characters may appear.
 */
#include "lexer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const tok_names[] = {
#define X(e, s) s,
    NN_TOKENS(X)
#undef X
};

const char *tok_kind_name(TokKind k) {
    DLC_ASSERT(k >= 0 && k < TK_COUNT);
    return tok_names[k];
}

const char *tok_describe(const Token *t, char *buf, size_t len) {
    switch (t->kind) {
    case TK_EOF:
    case TK_NEWLINE:
        snprintf(buf, len, "%s", tok_kind_name(t->kind));
        break;
    case TK_STRING:
        snprintf(buf, len, "string \"%.40s%s\"", t->str, strlen(t->str) > 40 ? "..." : "");
        break;
    default: {
        int n = t->len > 40 ? 40 : (int)t->len;
        snprintf(buf, len, "'%.*s%s'", n, t->text, t->len > 40 ? "..." : "");
        break;
    }
    }
    return buf;
}

/* Keywords; every other identifier is a name. */
static const struct {
    const char *word;
    TokKind kind;
} keywords[] = {
    {"model", TK_KW_MODEL},   {"input", TK_KW_INPUT}, {"param", TK_KW_PARAM},
    {"output", TK_KW_OUTPUT}, {"loss", TK_KW_LOSS},   {"metric", TK_KW_METRIC},
    {"train", TK_KW_TRAIN},   {"true", TK_KW_TRUE},   {"false", TK_KW_FALSE},
};

/* An open bracket waiting for its partner. */
typedef struct Open {
    char ch;
    SrcLoc loc;
} Open;

typedef struct Lexer {
    Arena *arena;
    const SrcFile *file;
    const unsigned char *s; /* file text */
    size_t len, pos;
    int line, col;
    Token *toks;
    int ntoks, cap;
    Open *opens;
    int nopens, opencap;
    int paren_depth; /* open ( and [ : newlines inside do not end statements */
} Lexer;

static SrcLoc here(const Lexer *L) {
    return (SrcLoc){L->file, L->line, L->col};
}

/* Moves over n bytes that contain no newline. */
static void advance(Lexer *L, size_t n) {
    L->pos += n;
    L->col += (int)n;
}

static Token *push(Lexer *L, TokKind k, SrcLoc loc, size_t start, size_t len) {
    if (L->ntoks == L->cap) {
        int nc = L->cap ? L->cap * 2 : 256;
        L->toks = arena_grow(L->arena, L->toks, (size_t)L->cap, (size_t)nc, sizeof(Token));
        L->cap = nc;
    }
    Token *t = &L->toks[L->ntoks++];
    t->kind = k;
    t->loc = loc;
    t->text = (const char *)L->s + start;
    t->len = len;
    return t;
}

/* Decodes one UTF-8 sequence at p (avail bytes).  Returns its length and
 * the code point, or 0 if the bytes are not well-formed UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF are rejected). */
static int utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp) {
    unsigned c = p[0];
    int n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)n > avail) return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

/* Checks the non-ASCII sequence at the current position (inside a comment
 * or string, where any character is allowed) and returns its length. */
static int utf8_skip(Lexer *L) {
    uint32_t cp;
    int n = utf8_decode(L->s + L->pos, L->len - L->pos, &cp);
    if (n == 0) dlc_error(here(L), "invalid UTF-8 byte 0x%02x", L->s[L->pos]);
    return n;
}

/* Reports the character at the current position as unexpected. */
DLC_NORETURN static void bad_char(Lexer *L) {
    unsigned c = L->s[L->pos];
    if (c == 0) dlc_error(here(L), "unexpected NUL byte");
    if (c >= 0x80) {
        uint32_t cp;
        int n = utf8_decode(L->s + L->pos, L->len - L->pos, &cp);
        if (n == 0) dlc_error(here(L), "invalid UTF-8 byte 0x%02x", c);
        dlc_error(here(L), "unexpected character '%.*s' (U+%04X)", n, (const char *)L->s + L->pos,
                  (unsigned)cp);
    }
    if (c < 0x20 || c == 0x7F) dlc_error(here(L), "unexpected control character 0x%02x", c);
    dlc_error(here(L), "unexpected character '%c'", (char)c);
}

static bool is_alpha(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* Identifier: a letter or '_', then letters, digits, '_', and single dots
 * each followed by a letter, digit or '_' ("dense_1.kernel"). */
static void lex_ident(Lexer *L) {
    SrcLoc loc = here(L);
    size_t start = L->pos, p = L->pos + 1;
    for (;;) {
        if (p < L->len && (is_alpha(L->s[p]) || is_digit(L->s[p]))) {
            p++;
        } else if (p + 1 < L->len && L->s[p] == '.' && (is_alpha(L->s[p + 1]) || is_digit(L->s[p + 1]))) {
            p += 2;
        } else {
            break;
        }
    }
    size_t len = p - start;
    if (len > NN_MAX_IDENT)
        dlc_error(loc, "identifier too long (%zu bytes; the limit is %d)", len, NN_MAX_IDENT);
    TokKind k = TK_IDENT;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].word) == len && memcmp(keywords[i].word, L->s + start, len) == 0) {
            k = keywords[i].kind;
            break;
        }
    }
    Token *t = push(L, k, loc, start, len);
    t->str = arena_strndup(L->arena, (const char *)L->s + start, len);
    advance(L, len);
}

/* Number: digits [ '.' digits ] [ ('e'|'E') ['+'|'-'] digits ], or the same
 * starting at the '.'.  Without '.' and exponent it is an INT (must fit in
 * int64); otherwise a FLOAT (must be finite as a double). */
static void lex_number(Lexer *L) {
    SrcLoc loc = here(L);
    size_t start = L->pos, p = L->pos;
    bool is_float = false;
    while (p < L->len && is_digit(L->s[p])) p++;
    if (p < L->len && L->s[p] == '.') {
        is_float = true;
        p++;
        while (p < L->len && is_digit(L->s[p])) p++;
    }
    if (p < L->len && (L->s[p] == 'e' || L->s[p] == 'E')) {
        is_float = true;
        size_t q = p + 1;
        if (q < L->len && (L->s[q] == '+' || L->s[q] == '-')) q++;
        if (q >= L->len || !is_digit(L->s[q])) {
            SrcLoc eloc = {L->file, L->line, L->col + (int)(p - start)};
            dlc_error(eloc, "malformed number: exponent has no digits");
        }
        p = q;
        while (p < L->len && is_digit(L->s[p])) p++;
    }
    size_t len = p - start;
    if (p < L->len && (is_alpha(L->s[p]) || L->s[p] == '.')) {
        SrcLoc sloc = {L->file, L->line, L->col + (int)len};
        dlc_error(sloc, "invalid character '%c' after number", L->s[p]);
    }
    Token *t;
    char *copy = arena_strndup(L->arena, (const char *)L->s + start, len);
    if (!is_float) {
        int64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            int d = copy[i] - '0';
            if (v > (INT64_MAX - d) / 10)
                dlc_error(loc, "integer literal '%.40s%s' is too large", copy, len > 40 ? "..." : "");
            v = v * 10 + d;
        }
        t = push(L, TK_INT, loc, start, len);
        t->ival = v;
        t->fval = (double)v;
    } else {
        double v = strtod(copy, NULL);
        if (isinf(v))
            dlc_error(loc, "floating-point literal '%.40s%s' is out of range", copy, len > 40 ? "..." : "");
        t = push(L, TK_FLOAT, loc, start, len);
        t->fval = v;
    }
    t->str = copy;
    advance(L, len);
}

/* String: "..." on one line; escapes \" \\ \n \t. */
static void lex_string(Lexer *L) {
    SrcLoc loc = here(L);
    size_t start = L->pos;
    advance(L, 1);
    size_t cap = 16, n = 0;
    char *buf = arena_alloc(L->arena, cap);
    for (;;) {
        if (L->pos >= L->len || L->s[L->pos] == '\n' || L->s[L->pos] == '\r')
            dlc_error(loc, "unterminated string");
        unsigned c = L->s[L->pos];
        int w = 1;
        bool esc = false;
        if (c == '"') {
            advance(L, 1);
            break;
        }
        if (c == '\\') {
            if (L->pos + 1 >= L->len) dlc_error(loc, "unterminated string");
            char e = (char)L->s[L->pos + 1];
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            default:
                if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7F) dlc_error(loc, "unterminated string");
                dlc_error(here(L), "unknown escape sequence '\\%c' in string", e);
            }
            w = 2;
            esc = true;
        } else if (c >= 0x80) {
            w = utf8_skip(L);
        } else if (c < 0x20 || c == 0x7F) {
            bad_char(L);
        }
        if (n + 4 >= cap) {
            buf = arena_grow(L->arena, buf, cap, cap * 2, 1);
            cap *= 2;
        }
        if (esc)
            buf[n++] = (char)c;
        else
            for (int i = 0; i < w; i++) buf[n++] = (char)L->s[L->pos + (size_t)i];
        advance(L, (size_t)w);
    }
    buf[n] = '\0';
    Token *t = push(L, TK_STRING, loc, start, L->pos - start);
    t->str = buf;
}

/* Ends the current line: emits a NEWLINE token unless inside ( or [, at the
 * start of the file, or right after another NEWLINE. */
static void newline(Lexer *L, size_t width) {
    if (L->paren_depth == 0 && L->ntoks > 0 && L->toks[L->ntoks - 1].kind != TK_NEWLINE)
        push(L, TK_NEWLINE, here(L), L->pos, 0);
    L->pos += width;
    L->line++;
    L->col = 1;
}

static void open_bracket(Lexer *L, char ch) {
    if (L->nopens == L->opencap) {
        int nc = L->opencap ? L->opencap * 2 : 16;
        L->opens = arena_grow(L->arena, L->opens, (size_t)L->opencap, (size_t)nc, sizeof(Open));
        L->opencap = nc;
    }
    L->opens[L->nopens++] = (Open){ch, here(L)};
    if (ch != '{') L->paren_depth++;
}

static void close_bracket(Lexer *L, char ch) {
    char want = ch == ')' ? '(' : ch == ']' ? '[' : '{';
    if (L->nopens == 0) dlc_error(here(L), "unmatched '%c'", ch);
    Open *o = &L->opens[L->nopens - 1];
    if (o->ch != want)
        dlc_error(here(L), "'%c' does not match the '%c' opened at %d:%d", ch, o->ch, o->loc.line, o->loc.col);
    L->nopens--;
    if (ch != '}') L->paren_depth--;
}

TokenList nn_lex(Arena *a, const SrcFile *file) {
    Lexer L = {0};
    L.arena = a;
    L.file = file;
    L.s = (const unsigned char *)file->text;
    L.len = file->len;
    L.line = 1;
    L.col = 1;
    /* A UTF-8 byte order mark is allowed and ignored. */
    if (L.len >= 3 && L.s[0] == 0xEF && L.s[1] == 0xBB && L.s[2] == 0xBF) advance(&L, 3);

    while (L.pos < L.len) {
        unsigned c = L.s[L.pos];
        SrcLoc loc = here(&L);
        switch (c) {
        case ' ': case '\t': case '\f': case '\v':
            advance(&L, 1);
            continue;
        case '\r':
            if (L.pos + 1 < L.len && L.s[L.pos + 1] == '\n')
                newline(&L, 2);
            else
                advance(&L, 1);
            continue;
        case '\n':
            newline(&L, 1);
            continue;
        case '#':
            while (L.pos < L.len && L.s[L.pos] != '\n' && L.s[L.pos] != '\r') {
                if (L.s[L.pos] >= 0x80)
                    advance(&L, (size_t)utf8_skip(&L));
                else if (L.s[L.pos] == 0)
                    bad_char(&L);
                else
                    advance(&L, 1);
            }
            continue;
        case '"':
            lex_string(&L);
            continue;
        case '.':
            if (L.pos + 1 < L.len && is_digit(L.s[L.pos + 1])) {
                lex_number(&L);
                continue;
            }
            bad_char(&L);
        default:
            break;
        }
        if (is_alpha((int)c)) {
            lex_ident(&L);
            continue;
        }
        if (is_digit((int)c)) {
            lex_number(&L);
            continue;
        }
        TokKind k;
        switch (c) {
        case '+': k = TK_PLUS; break;
        case '-': k = TK_MINUS; break;
        case '*': k = TK_STAR; break;
        case '/': k = TK_SLASH; break;
        case '@': k = TK_AT; break;
        case '=': k = TK_EQ; break;
        case ':': k = TK_COLON; break;
        case ',': k = TK_COMMA; break;
        case '(': k = TK_LPAREN; open_bracket(&L, '('); break;
        case '[': k = TK_LBRACKET; open_bracket(&L, '['); break;
        case '{': k = TK_LBRACE; open_bracket(&L, '{'); break;
        case ')': k = TK_RPAREN; close_bracket(&L, ')'); break;
        case ']': k = TK_RBRACKET; close_bracket(&L, ']'); break;
        case '}': k = TK_RBRACE; close_bracket(&L, '}'); break;
        default: bad_char(&L);
        }
        push(&L, k, loc, L.pos, 1);
        advance(&L, 1);
    }
    if (L.nopens > 0) {
        Open *o = &L.opens[L.nopens - 1];
        dlc_error(o->loc, "unclosed '%c'", o->ch);
    }
    if (L.ntoks > 0 && L.toks[L.ntoks - 1].kind != TK_NEWLINE) push(&L, TK_NEWLINE, here(&L), L.pos, 0);
    push(&L, TK_EOF, here(&L), L.pos, 0);
    return (TokenList){L.toks, L.ntoks};
}
