/* bucket.c - the counting sort of bucket.h. */
#include <string.h>

#include "bucket.h"
#include "diag.h"

int *bucket_by_key(Arena *a, const int *key, int n, int nkeys, int **first)
{
    int *f = ARENA_NEW_N(a, int, nkeys + 2);
    for (int i = 0; i < n; i++) {
        DLC_ASSERT(key[i] < nkeys);
        if (key[i] >= 0) f[key[i] + 1]++;
    }
    for (int k = 0; k < nkeys; k++) f[k + 1] += f[k];
    int *order = ARENA_NEW_N(a, int, f[nkeys] + 1);
    int *fill = ARENA_NEW_N(a, int, nkeys + 1);
    memcpy(fill, f, sizeof *fill * (size_t)nkeys);
    for (int i = 0; i < n; i++)
        if (key[i] >= 0) order[fill[key[i]]++] = i;
    *first = f;
    return order;
}
