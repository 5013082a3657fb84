/* diag.h - the two error channels of the compiler.
 *
 * 1. User errors (bad model files, bad flags, bad data): reported with
 *    `file:line:col: error: message`, then the source line and a caret under
 *    the column (chibicc's error_tok, Lua's lexerror).  They end the command
 *    with exit status 1.  A SrcLoc with line == 0 has no position and prints
 *    as `file: error: message` (or `dlc: error: message` without a file).
 *
 * 2. Internal compiler errors (bugs in dlc): DLC_ICE / DLC_ASSERT print
 *    `dlc: internal error at FILE:LINE: message` and exit with status 3.
 *
 * Diagnostics go to stderr.  Tests may redirect them with diag_set_stream().
 * A caller that wants to survive a user error (the unit tests, a fuzzer) can
 * install a jmp_buf with diag_set_recover(): dlc_error then longjmps there
 * with value 1 instead of exiting.
 */
#ifndef DLC_IR_DIAG_H
#define DLC_IR_DIAG_H

#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>

/* A source file held in memory for the lifetime of the compilation. */
typedef struct SrcFile {
    const char *name; /* path as the user gave it */
    const char *text; /* contents (not necessarily NUL-free; len bytes) */
    size_t len;
} SrcFile;

/* A position in a source file; line and col are 1-based, col counts bytes. */
typedef struct SrcLoc {
    const SrcFile *file; /* NULL: no file */
    int line;            /* 0: no position */
    int col;
} SrcLoc;

#define SRCLOC_NONE ((SrcLoc){NULL, 0, 0})

#if defined(__GNUC__)
#define DLC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DLC_NORETURN __attribute__((noreturn))
#else
#define DLC_PRINTF(f, a)
#define DLC_NORETURN
#endif

/* Reports a user error at `loc` and ends the command (exit 1, or longjmp). */
DLC_NORETURN void dlc_error(SrcLoc loc, const char *fmt, ...) DLC_PRINTF(2, 3);
/* Prints a warning / note at `loc`; does not stop. */
void dlc_warning(SrcLoc loc, const char *fmt, ...) DLC_PRINTF(2, 3);
void dlc_note(SrcLoc loc, const char *fmt, ...) DLC_PRINTF(2, 3);

/* Internal compiler error: prints FILE:LINE and exits with status 3. */
DLC_NORETURN void dlc_ice_at(const char *file, int line, const char *fmt, ...) DLC_PRINTF(3, 4);
#define DLC_ICE(...) dlc_ice_at(__FILE__, __LINE__, __VA_ARGS__)
#define DLC_ASSERT(cond)                                                     \
    do {                                                                     \
        if (!(cond)) dlc_ice_at(__FILE__, __LINE__, "assertion failed: %s", #cond); \
    } while (0)

void diag_set_stream(FILE *f);     /* NULL restores stderr */
void diag_set_recover(jmp_buf *j); /* NULL: user errors exit(1) */
/* Formats `loc` as "file:line:col" (or "file" / "") into buf. */
void srcloc_format(SrcLoc loc, char *buf, size_t len);

#endif
