/* threads.c - how many threads a generated program uses.
 *
 * Generated kernels use two thread pools that never run at the same time:
 * OpenBLAS's (the GEMMs) and OpenMP's (large fused loops, when the program
 * was compiled with -fopenmp).  Both get the same count, so one kernel at a
 * time keeps every core busy and none is oversubscribed.  The count is the
 * program's --threads N, else $OMP_NUM_THREADS, else $OPENBLAS_NUM_THREADS
 * (so that a benchmark setting those gets what it asked for), else the
 * number of online cores.  The generated setup() applies it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "dlrt.h"

static int chosen; /* --threads, 0: not given */

void dlrt_set_threads(int n)
{
    chosen = n > 0 ? n : 0;
}

/* A positive integer from the environment variable, or 0. */
static int env_count(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (*end == '\0' && v > 0 && v <= 4096) ? (int)v : 0;
}

int dlrt_threads(void)
{
    if (chosen > 0) return chosen;
    int n = env_count("OMP_NUM_THREADS");
    if (!n) n = env_count("OPENBLAS_NUM_THREADS");
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 && c <= 4096 ? (int)c : 1;
    }
    return n;
}
