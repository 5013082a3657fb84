/* test_runtime_threads.c - the runtime's thread pool (dlrt_parallel_for)
 * and its blocked GEMM (dlrt_sgemm): every task runs exactly once, for any
 * thread count and with callers on several threads at once; products are
 * correct for every transpose, both split axes and the matrix-vector path,
 * and have the same bits for every thread count. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dlrt.h"
#include "testutil.h"

typedef struct {
    int hits[256];
} Counts;

static void count_hit(void *ctx, int i)
{
    ((Counts *)ctx)->hits[i]++;
}

START_TEST(parallel_for_runs_each_task_once)
{
    int threads[] = {1, 2, 3, 8};
    int counts[] = {0, 1, 2, 5, 64, 256};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        dlrt_set_threads(threads[t]);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            for (int round = 0; round < 20; round++) {
                Counts k;
                memset(&k, 0, sizeof k);
                dlrt_parallel_for(counts[c], count_hit, &k);
                for (int i = 0; i < 256; i++) ck_assert_int_eq(k.hits[i], i < counts[c] ? 1 : 0);
            }
        }
    }
    dlrt_set_threads(0);
}
END_TEST

/* A caller on its own thread: many jobs, each checked. */
static void *caller(void *arg)
{
    int *bad = arg;
    for (int round = 0; round < 300; round++) {
        Counts k;
        memset(&k, 0, sizeof k);
        dlrt_parallel_for(7, count_hit, &k);
        for (int i = 0; i < 7; i++) *bad += k.hits[i] != 1;
    }
    return NULL;
}

START_TEST(parallel_for_concurrent_callers)
{
    /* a second caller that finds the pool busy runs its tasks itself */
    dlrt_set_threads(3);
    pthread_t t[3];
    int bad[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, caller, &bad[i]), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(bad[i], 0);
    }
    dlrt_set_threads(0);
}
END_TEST

/* A deterministic fill in [-0.5, 0.5). */
static float *filled(long n, unsigned seed)
{
    float *p = malloc(sizeof(float) * (size_t)n);
    ck_assert_ptr_nonnull(p);
    for (long i = 0; i < n; i++) p[i] = (float)(dlrt_uniform01(seed, (uint64_t)i) - 0.5);
    return p;
}

/* Checks dlrt_sgemm on one shape: against a double reference (every 7th
 * element and the last row and column), and the same bits with 2, 3 and 5
 * threads as with 1. */
static void check_product(int ta, int tb, int M, int P, int K)
{
    long na = (long)M * K, nb = (long)K * P, nc = (long)M * P;
    float *A = filled(na, 1), *B = filled(nb, 2);
    float *C1 = calloc((size_t)nc, sizeof(float)), *C = calloc((size_t)nc, sizeof(float));
    ck_assert(C1 && C);
    int lda = ta ? M : K, ldb = tb ? K : P;
    dlrt_set_threads(1);
    dlrt_sgemm(ta, tb, M, P, K, A, lda, B, ldb, C1);
    for (long e = 0; e < nc; e++) {
        int i = (int)(e / P), j = (int)(e % P);
        if (e % 7 && i != M - 1 && j != P - 1) continue;
        double ref = 0, mag = 0;
        for (int k = 0; k < K; k++) {
            double a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
            double b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
            ref += a * b;
            mag += fabs(a * b);
        }
        if (fabs(C1[e] - ref) > 1e-5 * mag + 1e-30)
            ck_abort_msg("ta=%d tb=%d %dx%dx%d: C[%d][%d] = %.9g, not %.9g", ta, tb, M, P, K, i, j, C1[e], ref);
    }
    int threads[] = {2, 3, 5};
    for (int t = 0; t < 3; t++) {
        dlrt_set_threads(threads[t]);
        memset(C, 0xff, sizeof(float) * (size_t)nc);
        dlrt_sgemm(ta, tb, M, P, K, A, lda, B, ldb, C);
        if (memcmp(C, C1, sizeof(float) * (size_t)nc) != 0)
            ck_abort_msg("ta=%d tb=%d %dx%dx%d: other bits with %d threads than with 1", ta, tb, M, P, K, threads[t]);
    }
    dlrt_set_threads(0);
    free(A);
    free(B);
    free(C1);
    free(C);
}

START_TEST(sgemm_blocks_agree_with_reference_and_across_threads)
{
    openblas_set_num_threads(1); /* as the generated setup() does */
    check_product(0, 0, 128, 512, 784);  /* split along P, 4 blocks */
    check_product(1, 0, 784, 512, 128);  /* split along M, A transposed */
    check_product(0, 1, 128, 512, 256);  /* along P, B transposed */
    check_product(1, 1, 300, 200, 333);  /* along M, both transposed, a partial unit */
    check_product(0, 0, 517, 70, 1000);  /* along M */
    check_product(0, 0, 128, 10, 512);   /* one block */
    check_product(0, 0, 1, 4100, 4096);  /* one row: sgemv over 2 blocks of B [K, P] */
    check_product(0, 1, 1, 4100, 4096);  /* sgemv over B stored [P, K] */
    check_product(1, 0, 1, 300, 200);    /* one row of a transposed A: sgemm */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, parallel_for_runs_each_task_once);
    tcase_add_test(tc, parallel_for_concurrent_callers);
    tcase_add_test(tc, sgemm_blocks_agree_with_reference_and_across_threads);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
