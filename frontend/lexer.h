/* lexer.h - tokens of the .nn model language (docs/dsl.md).
 *
 * nn_lex() turns a whole source file into an array of tokens ending with
 * TK_EOF.  It validates the file as it goes: UTF-8, characters, literals,
 * and bracket balance (an unclosed '(' is reported at the bracket itself,
 * before the parser could stumble over what follows).  Newlines are tokens
 * (statements end at them) except inside ( ) and [ ], where a statement may
 * continue over several lines as in Python.  Consecutive newlines collapse
 * into one TK_NEWLINE, and none precedes the first statement.
 */
#ifndef DLC_FRONTEND_LEXER_H
#define DLC_FRONTEND_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ir/arena.h"
#include "../ir/diag.h"

/* X-macro: TOKEN(ENUM, "spelling used in messages") */
#define NN_TOKENS(X)                  \
    X(EOF, "end of file")             \
    X(NEWLINE, "end of line")         \
    X(IDENT, "identifier")            \
    X(INT, "integer")                 \
    X(FLOAT, "number")                \
    X(STRING, "string")               \
    X(PLUS, "'+'")                    \
    X(MINUS, "'-'")                   \
    X(STAR, "'*'")                    \
    X(SLASH, "'/'")                   \
    X(AT, "'@'")                      \
    X(EQ, "'='")                      \
    X(COLON, "':'")                   \
    X(COMMA, "','")                   \
    X(LPAREN, "'('")                  \
    X(RPAREN, "')'")                  \
    X(LBRACKET, "'['")                \
    X(RBRACKET, "']'")                \
    X(LBRACE, "'{'")                  \
    X(RBRACE, "'}'")                  \
    X(KW_MODEL, "'model'")            \
    X(KW_INPUT, "'input'")            \
    X(KW_PARAM, "'param'")            \
    X(KW_OUTPUT, "'output'")          \
    X(KW_LOSS, "'loss'")              \
    X(KW_METRIC, "'metric'")          \
    X(KW_TRAIN, "'train'")            \
    X(KW_TRUE, "'true'")              \
    X(KW_FALSE, "'false'")

typedef enum {
#define X(e, s) TK_##e,
    NN_TOKENS(X)
#undef X
        TK_COUNT
} TokKind;

/* Longest identifier accepted, in bytes. */
#define NN_MAX_IDENT 255

/* One token.  `text`/`len` is its spelling in the source. */
typedef struct Token {
    TokKind kind;
    SrcLoc loc;        /* first byte of the token */
    const char *text;  /* points into the source file */
    size_t len;
    const char *str;   /* IDENT and keywords: NUL-terminated copy of the
                          name; STRING: the decoded contents */
    int64_t ival;      /* INT */
    double fval;       /* INT and FLOAT: the value as a double */
} Token;

typedef struct TokenList {
    Token *toks; /* ntoks tokens, the last one TK_EOF */
    int ntoks;
} TokenList;

/* Lexes the whole file.  A malformed file is a user error (dlc_error). */
TokenList nn_lex(Arena *a, const SrcFile *file);

/* "identifier", "'+'", ... for messages. */
const char *tok_kind_name(TokKind k);
/* Describes a token for a message ("'foo'", "end of line", "'+'", "123")
 * into buf, quoting and truncating long spellings; returns buf. */
const char *tok_describe(const Token *t, char *buf, size_t len);

#endif
