/* test_runtime_rng.c - the runtime's arena, counter RNG, initializers,
 * dropout masks and shuffle: determinism, agreement with the algorithm
 * documented in runtime/rng.c (values computed independently in Python),
 * and distributions (mean / variance within tolerance). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dlrt.h"
#include "runtime/rt_data.h"
#include "runtime/rt_rng.h"
#include "testutil.h"

START_TEST(arena_aligned_zeroed)
{
    size_t sizes[] = {0, 1, 63, 64, 65, 1000, 1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        unsigned char *p = dlrt_arena_alloc(sizes[k]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        size_t nonzero = 0;
        for (size_t i = 0; i < sizes[k]; i++) nonzero += p[i] != 0;
        ck_assert_uint_eq(nonzero, 0);
        dlrt_arena_free(p);
    }
    ck_assert_ptr_null(dlrt_arena_alloc(SIZE_MAX - 10));
}
END_TEST

START_TEST(rng_matches_documented_algorithm)
{
    /* SplitMix64-based values, computed from the formula in rng.c's comment */
    ck_assert_uint_eq(dlrt_key(0, 0), 0xa706dd2f4d197e6full);
    ck_assert_uint_eq(dlrt_key(1, 2), 0xbcd9dbb49673066bull);
    ck_assert_uint_eq(dlrt_key(12345, 678), 0xa4d5361dbfa4de6aull);
    ck_assert_double_eq(dlrt_uniform01(42, 7), 0.08603176010658542);
    ck_assert_uint_ne(dlrt_key(1, 2), dlrt_key(2, 1));
}
END_TEST

START_TEST(rng_uniform_range_and_moments)
{
    const int n = 200000;
    double sum = 0, sum2 = 0;
    int outside = 0;
    for (int i = 0; i < n; i++) {
        double u = dlrt_uniform01(7, (uint64_t)i);
        outside += !(u >= 0.0 && u < 1.0);
        sum += u;
        sum2 += u * u;
    }
    ck_assert_int_eq(outside, 0);
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_double_eq_tol(mean, 0.5, 0.005);
    ck_assert_double_eq_tol(var, 1.0 / 12, 0.002);
    /* dlrt_below stays in range */
    for (int i = 0; i < 1000; i++) ck_assert_uint_lt(dlrt_below(3, (uint64_t)i, 7), 7);
}
END_TEST

/* Mean and variance of n floats. */
static void moments(const float *p, int64_t n, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        s += p[i];
        s2 += (double)p[i] * p[i];
    }
    *mean = s / (double)n;
    *var = s2 / (double)n - *mean * *mean;
}

START_TEST(init_distributions)
{
    const int64_t n = 100000;
    float *p = malloc(sizeof(float) * (size_t)n), *q = malloc(sizeof(float) * (size_t)n);
    double mean, var;

    int64_t bad = 0;
    dlrt_init_constant(p, n, 0.25f);
    for (int64_t i = 0; i < n; i++) bad += p[i] != 0.25f;
    ck_assert_int_eq(bad, 0);

    dlrt_init_uniform(p, n, -0.5f, 1.5f, dlrt_key(1, 1));
    for (int64_t i = 0; i < n; i++) bad += !(p[i] >= -0.5f && p[i] <= 1.5f);
    ck_assert_int_eq(bad, 0);
    moments(p, n, &mean, &var);
    ck_assert_double_eq_tol(mean, 0.5, 0.01);
    ck_assert_double_eq_tol(var, 4.0 / 12, 0.01);

    dlrt_init_normal(p, n, 1.0f, 2.0f, dlrt_key(1, 2));
    moments(p, n, &mean, &var);
    ck_assert_double_eq_tol(mean, 1.0, 0.03);
    ck_assert_double_eq_tol(var, 4.0, 0.08);

    dlrt_init_truncated_normal(p, n, -1.0f, 0.5f, dlrt_key(1, 3));
    moments(p, n, &mean, &var);
    for (int64_t i = 0; i < n; i++) bad += !(p[i] >= -2.0f - 1e-6f && p[i] <= 0.0f + 1e-6f);
    ck_assert_int_eq(bad, 0);
    ck_assert_double_eq_tol(mean, -1.0, 0.01);
    /* variance of a standard normal truncated at +-2: 0.7737 */
    ck_assert_double_eq_tol(var, 0.25 * 0.7737, 0.01);

    /* the same key gives the same bits, another key others */
    dlrt_init_normal(p, n, 0.0f, 1.0f, 99);
    dlrt_init_normal(q, n, 0.0f, 1.0f, 99);
    ck_assert_mem_eq(p, q, sizeof(float) * (size_t)n);
    dlrt_init_normal(q, n, 0.0f, 1.0f, 100);
    ck_assert(memcmp(p, q, sizeof(float) * (size_t)n) != 0);
    /* element j is draw j: a prefix is the same as the start of a longer fill */
    dlrt_init_uniform(q, 10, 0.0f, 1.0f, 5);
    dlrt_init_uniform(p, n, 0.0f, 1.0f, 5);
    ck_assert_mem_eq(p, q, sizeof(float) * 10);
    free(p);
    free(q);
}
END_TEST

START_TEST(dropout_mask_rate)
{
    const int64_t n = 100000;
    float *m = malloc(sizeof(float) * (size_t)n);
    dlrt_dropout_mask(m, n, 0.3f, 1234);
    int64_t zeros = 0, other = 0;
    for (int64_t i = 0; i < n; i++) {
        if (m[i] == 0.0f) zeros++;
        else other += fabsf(m[i] - 1.0f / 0.7f) > 1e-6f;
    }
    ck_assert_int_eq(other, 0);
    ck_assert_double_eq_tol((double)zeros / (double)n, 0.3, 0.01);
    dlrt_dropout_mask(m, 5, 0.0f, 1);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(m[i], 1.0f);
    dlrt_dropout_mask(m, 5, 1.0f, 1);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(m[i], 0.0f);
    free(m);
}
END_TEST

START_TEST(shuffle_is_a_reproducible_permutation)
{
    const int64_t n = 1000;
    int64_t a[1000], b[1000];
    int seen[1000] = {0};
    dlrt_shuffle(a, n, 42, 3);
    dlrt_shuffle(b, n, 42, 3);
    ck_assert_mem_eq(a, b, sizeof a);
    for (int64_t i = 0; i < n; i++) {
        ck_assert(a[i] >= 0 && a[i] < n);
        seen[a[i]]++;
    }
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(seen[i], 1);
    dlrt_shuffle(b, n, 42, 4); /* another epoch, another order */
    ck_assert(memcmp(a, b, sizeof a) != 0);
    int fixed = 0;
    for (int64_t i = 0; i < n; i++) fixed += a[i] == i;
    ck_assert_int_lt(fixed, 20); /* ~1 expected for a random permutation */
}
END_TEST

START_TEST(avg_weighted_by_batch)
{
    dlrt_avg a;
    ck_assert_int_eq(dlrt_avg_init(&a, 1), 0);
    double l, m;
    dlrt_avg_get(&a, &l, &m);
    ck_assert(isnan(l));
    float m1 = 1.0f, m2 = 0.0f;
    dlrt_avg_add(&a, 3, 2.0f, &m1);
    dlrt_avg_add(&a, 1, 6.0f, &m2);
    dlrt_avg_get(&a, &l, &m);
    ck_assert_double_eq_tol(l, 3.0, 1e-12);
    ck_assert_double_eq_tol(m, 0.75, 1e-12);
    dlrt_avg_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_rng");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, arena_aligned_zeroed);
    tcase_add_test(tc, rng_matches_documented_algorithm);
    tcase_add_test(tc, rng_uniform_range_and_moments);
    tcase_add_test(tc, init_distributions);
    tcase_add_test(tc, dropout_mask_rate);
    tcase_add_test(tc, shuffle_is_a_reproducible_permutation);
    tcase_add_test(tc, avg_weighted_by_batch);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
