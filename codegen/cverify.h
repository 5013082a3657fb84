/* cverify.h - checks C source with libclang: clang's own diagnostics, and
 * optionally the rules for embeddable inference code (`dlc verify`).
 *
 * The file is parsed as C99 (-std=c99 -pedantic -Wall, plus the caller's
 * -I/-D) and every clang diagnostic is reported as
 *     FILE:LINE:COL: error|warning|note: message
 * With `embedded` set, the file and its own headers (quoted includes that
 * live in the same directory, transitively) must also:
 *   heap       call no malloc/calloc/realloc/free/aligned_alloc/
 *              posix_memalign/alloca
 *   stdio      use nothing of <stdio.h> (the include itself, printf & co.,
 *              FILE, stdout, ...)
 *   vla        declare no variable-length array type (objects, parameters,
 *              pointers to VLAs, typedefs, casts)
 *   recursion  contain no cycle in the call graph of the functions they
 *              define (direct or mutual; calls through pointers are not seen)
 *   include    include only <stdint.h>, <stddef.h>, <string.h>, <math.h>,
 *              <cblas.h> (unless no_blas) and their own headers
 *   blas       with no_blas, call no cblas_* function
 * Each violation is reported as
 *     FILE:LINE:COL: error: [embedded] RULE: DETAIL
 * sorted by file (the .c first, then its headers) and position.
 *
 * The library owns no global state; libclang is loaded with the program
 * (dlc_codegen links it).  No clang type appears in this interface.
 */
#ifndef DLC_CODEGEN_CVERIFY_H
#define DLC_CODEGEN_CVERIFY_H

#include <stdbool.h>
#include <stdio.h>

typedef struct CVerifyOptions {
    bool embedded;                   /* enforce the embedded rules */
    bool no_blas;                    /* with embedded: <cblas.h> not allowed */
    const char *const *include_dirs; /* -I directories, searched in order */
    int n_include_dirs;
    const char *const *defines;      /* -D macros, "NAME" or "NAME=VALUE" */
    int n_defines;
} CVerifyOptions;

/* What one check found. */
typedef struct CVerifyStats {
    int errors;     /* clang errors (fatal ones included) */
    int warnings;   /* clang warnings (reported, not counted as failures) */
    int violations; /* embedded-rule violations */
    int files;      /* files the embedded rules were applied to */
    int functions;  /* functions defined in those files */
} CVerifyStats;

/* Parses `path` and writes its diagnostics and violations to `report`.
 * Returns the number of clang errors plus violations (0: clean), or -1
 * when the file cannot be read or libclang cannot parse it at all (a
 * `dlc: error: ...` line says why).  `o` may be NULL (plain C99 check). */
int cverify_file(const char *path, const CVerifyOptions *o, FILE *report);

/* Same, also filling `stats` (which may be NULL). */
int cverify_file_stats(const char *path, const CVerifyOptions *o, FILE *report,
                       CVerifyStats *stats);

#endif
