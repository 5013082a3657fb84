/* plan_fit.h - the best-fit query of the memory planner (passes/plan.c),
 * answered from an index instead of a scan of every placed tensor.
 *
 * A placed storage is a rectangle: a lifetime [start, end] (schedule
 * positions) by a byte range [offset, offset + bytes).  A new storage goes
 * in the smallest free byte range (lowest offset on a tie) among those
 * left by the placed storages whose lifetimes overlap its own, at or above
 * `base`, else on top of them.  See plan_fit.c for how.
 */
#ifndef DLC_PASSES_PLAN_FIT_H
#define DLC_PASSES_PLAN_FIT_H

#include <stdint.h>

#include "../ir/arena.h"

typedef struct FitIndex FitIndex;

/* An empty index for schedule positions 0 .. npos-1; placements at or
 * above `base`.  Allocated in the arena. */
FitIndex *fit_new(Arena *a, int npos, int64_t base);
/* The best-fit offset for `bytes` (> 0) over the lifetime [start, end]. */
int64_t fit_find(FitIndex *f, int start, int end, int64_t bytes);
/* Records a placed storage. */
void fit_add(FitIndex *f, int start, int end, int64_t offset, int64_t bytes);

#endif
