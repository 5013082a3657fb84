/* bucket.h - grouping items by a small integer key (a counting sort).
 *
 * The passes and code generators build many "lists by key" from arrays:
 * the readers of each node, the members of each fusion group, the nodes of
 * each launch segment.  One stable counting sort serves them all: count
 * the items of each key, turn the counts into bounds by prefix sums, then
 * place the items in their original order.  O(n + nkeys).
 */
#ifndef DLC_IR_BUCKET_H
#define DLC_IR_BUCKET_H

#include "arena.h"

/* Groups items 0..n-1 by key[i] (0 <= key[i] < nkeys; an item with a
 * negative key is left out), keeping their order within each key.
 * Returns the items in key order (an arena array), and in *first the
 * nkeys + 1 bounds: key k's items are order[first[k]] .. order[first[k+1]-1]. */
int *bucket_by_key(Arena *a, const int *key, int n, int nkeys, int **first);

#endif
