/* plan_fit.c - the planner's best-fit query from a segment tree over time.
 *
 * Best fit only depends on the union U of the byte ranges of the placed
 * storages whose lifetimes overlap the new one's: the candidates are the
 * gaps of U above `base` (each gap as wide as it is; the smallest that
 * fits wins, the lowest on a tie), else the top of U.  Scanning every
 * placed storage for overlap costs the number of placed storages per
 * query, quadratic over a deep model whose activations all live across the
 * middle of the step.  Instead:
 *
 * A segment tree over the schedule positions (bottom-up: leaves P..2P-1,
 * node v's children 2v and 2v+1).  Each node v keeps two sets of byte
 * ranges, each a sorted array of disjoint, non-touching spans (a union):
 *   full(v): storages whose lifetime covers all of v's positions and that
 *            were filed at v (v is one of the O(log P) nodes that tile the
 *            lifetime);
 *   sub(v):  storages that overlap v's positions: at least all of those
 *            filed at or below v (a storage is added to its tiles and to
 *            every node on the paths from the leaves of its start and
 *            end to the root, which hold every ancestor of its tiles and
 *            only nodes covering its start or its end).
 * A query [s, e] tiles [s, e] the same way.  A storage overlapping [s, e]
 * shares a position t with it; the node it was filed at and the query's
 * tile holding t both lie on t's path to the root, so either it is filed
 * at or below the tile (in sub(tile)) or above it (in full(ancestor)).
 * The ancestors of every tile lie on the paths from the leaves of s and e
 * to the root, and every node on those paths covers s or e, so taking
 * full() of all of them adds nothing that does not overlap.  The query
 * gathers those O(log P) sets, sorts their spans and walks them once, as
 * the scan did.  A set stays short when the placed ranges pack into few
 * runs, which best fit tends to produce; the answer is the scan's either
 * way, since it is a function of U alone.
 */
#include <stdlib.h>
#include <string.h>

#include "plan_fit.h"

typedef struct Span {
    int64_t lo, hi; /* [lo, hi) */
} Span;

/* A union of byte ranges: sorted, disjoint, not touching. */
typedef struct SpanSet {
    Span *s;
    int n, cap;
} SpanSet;

struct FitIndex {
    Arena *a;
    int P;              /* leaves: a power of two >= the number of positions */
    int64_t base;
    SpanSet *full, *sub; /* by node, 1 .. 2P-1 */
    Span *buf;          /* the query's gathered spans */
    int bufcap;
};

FitIndex *fit_new(Arena *a, int npos, int64_t base)
{
    FitIndex *f = ARENA_NEW(a, FitIndex);
    f->a = a;
    f->P = 1;
    while (f->P < npos) f->P *= 2;
    f->base = base;
    f->full = ARENA_NEW_N(a, SpanSet, 2 * f->P);
    f->sub = ARENA_NEW_N(a, SpanSet, 2 * f->P);
    return f;
}

/* Adds [lo, hi) to the union: the spans it overlaps or touches merge with
 * it into one. */
static void set_add(Arena *a, SpanSet *u, int64_t lo, int64_t hi)
{
    int i = 0, j = u->n;
    while (i < j) { /* first span with s.hi >= lo */
        int m = i + (j - i) / 2;
        if (u->s[m].hi < lo) i = m + 1;
        else j = m;
    }
    for (int l = i, r = u->n;; ) { /* first span with s.lo > hi */
        if (l >= r) {
            j = l;
            break;
        }
        int m = l + (r - l) / 2;
        if (u->s[m].lo <= hi) l = m + 1;
        else r = m;
    }
    if (i < j) {
        if (u->s[i].lo < lo) lo = u->s[i].lo;
        if (u->s[j - 1].hi > hi) hi = u->s[j - 1].hi;
    }
    if (u->n + 1 > u->cap) {
        int cap = u->cap ? 2 * u->cap : 4;
        Span *s = ARENA_NEW_N(a, Span, cap);
        if (u->n) memcpy(s, u->s, sizeof *s * (size_t)u->n);
        u->s = s;
        u->cap = cap;
    }
    memmove(u->s + i + 1, u->s + j, sizeof *u->s * (size_t)(u->n - j));
    u->s[i].lo = lo;
    u->s[i].hi = hi;
    u->n = u->n - (j - i) + 1;
}

void fit_add(FitIndex *f, int start, int end, int64_t offset, int64_t bytes)
{
    int64_t lo = offset, hi = offset + bytes;
    for (int l = start + f->P, r = end + f->P + 1; l < r; l /= 2, r /= 2) {
        if (l & 1) {
            set_add(f->a, &f->full[l], lo, hi);
            set_add(f->a, &f->sub[l++], lo, hi);
        }
        if (r & 1) {
            set_add(f->a, &f->full[--r], lo, hi);
            set_add(f->a, &f->sub[r], lo, hi);
        }
    }
    /* the tiles' ancestors: the paths from the leaves of start and end */
    for (int u = start + f->P, w = end + f->P; u >= 1; u /= 2, w /= 2) {
        set_add(f->a, &f->sub[u], lo, hi);
        if (w != u) set_add(f->a, &f->sub[w], lo, hi);
    }
}

/* Appends the spans of u to the query's buffer. */
static void gather(FitIndex *f, int *n, const SpanSet *u)
{
    if (!u->n) return;
    if (*n + u->n > f->bufcap) {
        int cap = f->bufcap ? f->bufcap : 64;
        while (cap < *n + u->n) cap *= 2;
        Span *b = ARENA_NEW_N(f->a, Span, cap);
        if (*n) memcpy(b, f->buf, sizeof *b * (size_t)*n);
        f->buf = b;
        f->bufcap = cap;
    }
    memcpy(f->buf + *n, u->s, sizeof *u->s * (size_t)u->n);
    *n += u->n;
}

static int cmp_span(const void *pa, const void *pb)
{
    const Span *a = pa, *b = pb;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return a->hi < b->hi ? -1 : a->hi > b->hi;
}

int64_t fit_find(FitIndex *f, int start, int end, int64_t bytes)
{
    int n = 0;
    for (int l = start + f->P, r = end + f->P + 1; l < r; l /= 2, r /= 2) {
        if (l & 1) gather(f, &n, &f->sub[l++]);
        if (r & 1) gather(f, &n, &f->sub[--r]);
    }
    for (int u = start + f->P, w = end + f->P; u >= 1; u /= 2, w /= 2) {
        gather(f, &n, &f->full[u]);
        if (w != u) gather(f, &n, &f->full[w]);
    }
    if (n > 1) qsort(f->buf, (size_t)n, sizeof *f->buf, cmp_span);
    /* the gaps of the union, lowest first: the smallest that fits wins */
    int64_t best = -1, best_gap = 0, cursor = f->base;
    for (int i = 0; i < n; i++) {
        int64_t gap = f->buf[i].lo - cursor;
        if (gap >= bytes && (best < 0 || gap < best_gap)) {
            best = cursor;
            best_gap = gap;
        }
        if (f->buf[i].hi > cursor) cursor = f->buf[i].hi;
    }
    return best >= 0 ? best : cursor;
}
