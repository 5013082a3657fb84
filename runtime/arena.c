/* arena.c - the planned arena's allocation: 64-byte aligned and zeroed.
 *
 * Generated code allocates its whole memory plan (parameters, gradients,
 * optimizer state, activations) as one buffer through these functions at
 * setup and frees it at teardown; nothing is allocated inside a step.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "dlrt.h"

/* Aligned (64-byte, a cache line and an AVX-512 vector) zeroed block of at
 * least `bytes` bytes (a zero-byte request still gets a valid block). */
void *dlrt_arena_alloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes) return NULL; /* overflow */
    if (rounded == 0) rounded = 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    memset(p, 0, rounded);
    return p;
}

void dlrt_arena_free(void *p)
{
    free(p);
}
