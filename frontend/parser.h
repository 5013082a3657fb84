/* parser.h - abstract syntax of the .nn language and its parser.
 *
 * nn_parse() lexes and parses a file into a Program: the list of its
 * statements in source order (docs/dsl.md gives the grammar).  The parser
 * checks only syntax and what the syntax alone decides (tensor types: the
 * dtype name, dims positive and in range, N only first); names, calls and
 * shapes are checked by the lowering (lower.c).  Every node of the tree
 * carries the source position its errors are reported at.
 */
#ifndef DLC_FRONTEND_PARSER_H
#define DLC_FRONTEND_PARSER_H

#include <stdbool.h>
#include <stdint.h>

#include "../ir/arena.h"
#include "../ir/diag.h"
#include "../ir/types.h"

/* Deepest nesting of expressions (parentheses, calls, lists, unary minus)
 * the parser accepts; deeper input is reported, not a stack overflow. */
#define NN_MAX_NESTING 200
/* Most arguments one call may have. */
#define NN_MAX_ARGS 256

typedef enum {
    EX_NUM,    /* number literal: num (and ival if is_int) */
    EX_STR,    /* string literal: str */
    EX_BOOL,   /* true / false: bval */
    EX_NAME,   /* a name: str */
    EX_LIST,   /* [a, b, ...]: items */
    EX_NEG,    /* unary minus: lhs */
    EX_BINARY, /* lhs op rhs, op one of + - * / @ */
    EX_CALL,   /* str(args) */
} ExprKind;

typedef struct Expr Expr;

/* One argument of a call: positional (kw == NULL) or keyword. */
typedef struct Arg {
    const char *kw;
    SrcLoc kw_loc;
    Expr *value;
} Arg;

struct Expr {
    ExprKind kind;
    SrcLoc loc;       /* the operator, the callee name, the literal or name */
    SrcLoc start;     /* first token of the whole expression */
    const char *str;  /* EX_STR contents, EX_NAME / EX_CALL name */
    double num;       /* EX_NUM */
    int64_t ival;     /* EX_NUM with is_int */
    bool is_int;      /* EX_NUM written without '.' or exponent */
    bool bval;        /* EX_BOOL */
    char op;          /* EX_BINARY: '+', '-', '*', '/', '@' */
    Expr *lhs, *rhs;  /* EX_NEG: lhs; EX_BINARY: both */
    Arg *args;        /* EX_CALL */
    int nargs;
    Expr **items;     /* EX_LIST */
    int nitems;
};

/* A tensor type as written: DTYPE[d0, d1, ...]. */
typedef struct TypeSyntax {
    TensorType type; /* validated: known dtype, dims in range, N only first */
    SrcLoc loc;      /* the dtype name */
    SrcLoc dim_locs[DLC_MAX_RANK];
} TypeSyntax;

typedef enum {
    ST_MODEL,  /* model NAME */
    ST_INPUT,  /* input NAME: TYPE */
    ST_PARAM,  /* param NAME: TYPE = INIT(args)   (value: an EX_CALL) */
    ST_ASSIGN, /* NAME = expr */
    ST_OUTPUT, /* output NAME [= expr]            (value NULL: an existing name) */
    ST_LOSS,   /* loss = expr */
    ST_METRIC, /* metric NAME(args) (value: the call) | metric NAME = expr */
    ST_TRAIN,  /* train { KEY = expr ... } */
} StmtKind;

/* KEY = value inside a train block. */
typedef struct TrainEntry {
    const char *key;
    SrcLoc key_loc;
    Expr *value;
} TrainEntry;

typedef struct Stmt {
    StmtKind kind;
    SrcLoc loc;        /* the keyword, or for ST_ASSIGN the name */
    const char *name;  /* model, input, param, assign, output, metric */
    SrcLoc name_loc;
    TypeSyntax type;   /* input, param */
    Expr *value;       /* see StmtKind */
    TrainEntry *entries; /* ST_TRAIN */
    int nentries;
} Stmt;

typedef struct Program {
    const SrcFile *file;
    const char *name; /* from the model statement */
    Stmt *stmts;      /* stmts[0] is the model statement */
    int nstmts;
    SrcLoc end;       /* end of file, for errors about what is missing */
} Program;

/* Lexes and parses `file`.  Syntax errors are user errors (dlc_error). */
Program *nn_parse(Arena *a, const SrcFile *file);

/* Name of a statement kind for messages ("input", "train block"...). */
const char *stmt_kind_name(StmtKind k);

#endif
