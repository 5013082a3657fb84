/* rt_atomic.h - private to the runtime: atomic file replacement (atomic.c).
 *
 *     dlrt_atomic a;
 *     if (dlrt_atomic_open(&a, path, e)) return -1;
 *     fwrite(..., a.f);                      // any number of writes
 *     return dlrt_atomic_commit(&a, e);      // or dlrt_atomic_abort(&a)
 *
 * Readers of `path` see either the old file or the complete new one, never
 * a partial write; on failure the old file is untouched and no temporary
 * file is left behind.  A symbolic link is written through (its target is
 * replaced); a destination that is not a regular file, or is read-only, is
 * refused.  The rules and what a killed process can leave are at the top
 * of atomic.c.
 */
#ifndef DLRT_RT_ATOMIC_H
#define DLRT_RT_ATOMIC_H

#include <stdio.h>

#include "rt_err.h"

typedef struct dlrt_atomic {
    FILE *f;           /* write here */
    const char *path;  /* the destination as given (for messages) */
    char *dest;        /* the file replaced: path with symbolic links followed */
    char *tmp;         /* the temporary file's name, dest + ".tmp-XXXXXX" */
    int named;         /* tmp exists under that name (removed on failure) */
    int unnamed;       /* the data is in an O_TMPFILE file, named at commit */
} dlrt_atomic;

int dlrt_atomic_open(dlrt_atomic *a, const char *path, dlrt_err *e);
/* Flushes, fsyncs, closes and renames over the destination, then fsyncs
 * its folder.  Returns 0, or -1 (the temporary file removed) with a
 * message naming the file. */
int dlrt_atomic_commit(dlrt_atomic *a, dlrt_err *e);
/* Closes and removes the temporary file. */
void dlrt_atomic_abort(dlrt_atomic *a);

/* For tests: 0 makes dlrt_atomic_open use a named temporary file, as on a
 * file system without O_TMPFILE; 1 (the default) uses O_TMPFILE if it can. */
void dlrt_atomic_use_tmpfile(int use);

#endif
