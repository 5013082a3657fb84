/* cprint.h - a printer for C-like source, shared by the code generators.
 *
 * CPrinter writes indented lines to a FILE.  A CDialect says how the target
 * language differs from C99 where the kernels care: the spelling of single
 * precision math functions (expf for exp), of float literals (0.5f), of the
 * restrict keyword, and the qualifier of the exported functions.  The C
 * emitter uses cdialect_c99; a CUDA emitter would pass its own dialect to
 * the same printer and expression expander instead of growing a second
 * copy of them.
 *
 * cp_expand() instantiates the `ew` expression templates of ir/ops.def:
 * `$0`, `$1`, ... become the operand expressions, `$name` the node's float
 * attribute `name` as a literal, math functions and floating literals are
 * respelled for the dialect.
 */
#ifndef DLC_CODEGEN_CPRINT_H
#define DLC_CODEGEN_CPRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "../ir/ir.h"

typedef struct CDialect {
    const char *name;         /* "c99" */
    bool float_math;          /* math functions take the f suffix: expf */
    const char *float_suffix; /* suffix of float literals: "f" */
    const char *restrict_kw;  /* "restrict", "__restrict__" */
    const char *fn_export;    /* qualifier of the exported entry points, with a
                                 trailing space if not empty ("" in C) */
} CDialect;

extern const CDialect cdialect_c99;
extern const CDialect cdialect_cuda; /* CUDA C++: __restrict__, extern "C" entry points */

typedef struct CPrinter {
    FILE *f;
    const CDialect *d;
    int indent;               /* current depth, 4 spaces each */
} CPrinter;

void cp_init(CPrinter *p, FILE *f, const CDialect *d);
/* One indented line (a newline is added). */
void cp_line(CPrinter *p, const char *fmt, ...) DLC_PRINTF(2, 3);
/* A line ending in " {" (or just "{" for an empty fmt); indents. */
void cp_open(CPrinter *p, const char *fmt, ...) DLC_PRINTF(2, 3);
/* A bare "{" line opening a block; indents. */
void cp_block(CPrinter *p);
/* Dedents and writes "}" followed by `tail` (e.g. ";"). */
void cp_close(CPrinter *p, const char *tail);
/* An empty line. */
void cp_blank(CPrinter *p);

/* A float literal for the dialect into buf: "0.5f", "(-2.0f)", "INFINITY".
 * The digits read back to the same float. */
char *cp_float(const CDialect *d, double v, char *buf, size_t len);
#define CP_FLOAT_LEN 48

/* Expands an elementwise template (see above) into an arena string. */
char *cp_expand(Arena *a, const CDialect *d, const char *tmpl, const char *const *operands, int nops,
                const Node *n);

#endif
