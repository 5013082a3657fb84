/* rt_atomic.h - private to the runtime: atomic file replacement (atomic.c).
 *
 *     dlrt_atomic a;
 *     if (dlrt_atomic_open(&a, path, e)) return -1;
 *     fwrite(..., a.f);                      // any number of writes
 *     return dlrt_atomic_commit(&a, e);      // or dlrt_atomic_abort(&a)
 *
 * Readers of `path` see either the old file or the complete new one, never
 * a partial write; on failure the old file is untouched and no temporary
 * file is left behind.
 */
#ifndef DLRT_RT_ATOMIC_H
#define DLRT_RT_ATOMIC_H

#include <stdio.h>

#include "rt_err.h"

typedef struct dlrt_atomic {
    FILE *f;           /* write here */
    char *tmp;         /* the temporary file, in the destination's folder */
    const char *path;  /* the destination */
} dlrt_atomic;

int dlrt_atomic_open(dlrt_atomic *a, const char *path, dlrt_err *e);
/* Flushes, fsyncs, closes and renames over the destination.  Returns 0, or
 * -1 (the temporary file removed) with a message. */
int dlrt_atomic_commit(dlrt_atomic *a, dlrt_err *e);
/* Closes and removes the temporary file. */
void dlrt_atomic_abort(dlrt_atomic *a);

#endif
