/* test_plan_fit.c - the planner's best-fit index (passes/plan_fit.c)
 * against the plain scan it replaces.
 *
 * The reference keeps every placed storage in a list and answers a query
 * the way plan.c used to: the placed storages whose lifetimes overlap the
 * query's, sorted by offset, walked once for the smallest gap that fits
 * (the lowest on a tie), else the top.  Random workloads (fixed seeds:
 * short and long lifetimes, sizes from a few multiples of 64, placed in
 * the planner's order of size, largest first) go through both; every
 * answer must be the same.  Also a few hand-made cases: an empty index,
 * a gap that fits exactly, touching neighbours, the base.
 */
#include <check.h>
#include <stdlib.h>

#include "passes/plan_fit.h"
#include "testutil.h"

typedef struct Rect {
    int start, end;
    int64_t offset, bytes;
} Rect;

static int cmp_offset(const void *pa, const void *pb)
{
    const Rect *a = *(Rect *const *)pa, *b = *(Rect *const *)pb;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* The scan: best fit among the placed rectangles overlapping [start, end]. */
static int64_t scan_fit(Rect *placed, int n, int start, int end, int64_t bytes, int64_t base)
{
    Rect **ov = malloc(sizeof *ov * (size_t)(n + 1));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (placed[i].start <= end && start <= placed[i].end) ov[k++] = &placed[i];
    qsort(ov, (size_t)k, sizeof *ov, cmp_offset);
    int64_t best = -1, best_gap = 0, cursor = base;
    for (int i = 0; i < k; i++) {
        int64_t gap = ov[i]->offset - cursor;
        if (gap >= bytes && (best < 0 || gap < best_gap)) {
            best = cursor;
            best_gap = gap;
        }
        if (ov[i]->offset + ov[i]->bytes > cursor) cursor = ov[i]->offset + ov[i]->bytes;
    }
    free(ov);
    return best >= 0 ? best : cursor;
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static int cmp_bytes_desc(const void *pa, const void *pb)
{
    const Rect *a = pa, *b = pb;
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    return a->start - b->start;
}

/* Places n random rectangles over npos positions through both. */
static void random_workload(uint64_t seed0, int n, int npos, int64_t base)
{
    uint64_t seed = seed0;
    Rect *r = malloc(sizeof *r * (size_t)n);
    for (int i = 0; i < n; i++) {
        int start = (int)(next_rand(&seed) % (uint64_t)npos);
        int len = next_rand(&seed) % 4 == 0 ? (int)(next_rand(&seed) % (uint64_t)npos) : (int)(next_rand(&seed) % 8);
        r[i].start = start;
        r[i].end = start + len < npos ? start + len : npos - 1;
        r[i].bytes = 64 * (int64_t)(1 + next_rand(&seed) % 6);
    }
    qsort(r, (size_t)n, sizeof *r, cmp_bytes_desc); /* the planner's order */
    Arena a;
    arena_init(&a);
    FitIndex *f = fit_new(&a, npos, base);
    for (int i = 0; i < n; i++) {
        int64_t want = scan_fit(r, i, r[i].start, r[i].end, r[i].bytes, base);
        int64_t got = fit_find(f, r[i].start, r[i].end, r[i].bytes);
        ck_assert_msg(got == want, "seed %llu, storage %d [%d,%d] %lld bytes: index %lld, scan %lld",
                      (unsigned long long)seed0, i, r[i].start, r[i].end, (long long)r[i].bytes, (long long)got,
                      (long long)want);
        r[i].offset = got;
        fit_add(f, r[i].start, r[i].end, r[i].offset, r[i].bytes);
    }
    arena_free(&a);
    free(r);
}

START_TEST(matches_the_scan)
{
    for (uint64_t seed = 1; seed <= 20; seed++) random_workload(seed, 600, 1 + (int)(seed * 37 % 300), (int64_t)(seed % 3) * 640);
    random_workload(99, 3000, 1000, 0);
}
END_TEST

START_TEST(hand_made_cases)
{
    Arena a;
    arena_init(&a);
    FitIndex *f = fit_new(&a, 10, 128);
    ck_assert_int_eq(fit_find(f, 0, 9, 64), 128); /* empty: the base */
    fit_add(f, 0, 4, 128, 64);
    fit_add(f, 0, 4, 320, 64);                    /* a 128-byte gap at 192 */
    fit_add(f, 2, 9, 384, 64);                    /* touches the one below */
    ck_assert_int_eq(fit_find(f, 3, 3, 128), 192); /* fits exactly */
    ck_assert_int_eq(fit_find(f, 3, 3, 192), 448); /* does not: the top */
    ck_assert_int_eq(fit_find(f, 5, 9, 64), 128);  /* only [384,448) overlaps */
    ck_assert_int_eq(fit_find(f, 6, 6, 256), 128); /* 256 free bytes below it */
    ck_assert_int_eq(fit_find(f, 6, 6, 320), 448);
    fit_add(f, 5, 5, 128, 64);
    ck_assert_int_eq(fit_find(f, 4, 5, 64), 192);  /* the smallest gap, lowest first */
    arena_free(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plan_fit");
    TCase *tc = tcase_create("plan_fit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_the_scan);
    tcase_add_test(tc, hand_made_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
