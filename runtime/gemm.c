/* gemm.c - the generated C programs' matrix products: C = op(A) op(B)
 * through single-threaded BLAS calls over fixed blocks, run on the pool of
 * threads.c.
 *
 * Why not let OpenBLAS use its threads: its threaded sgemm cuts the K
 * (summed) axis into other chunks than its one-thread code does (0.3.21:
 * K = 784 is summed as 320 + 240 + 224 on one thread, 320 + 232 + 232 on
 * several), so a product's last bits, and after a few hundred steps the
 * whole training run, depend on the thread count.  Here the product is
 * cut into blocks of C, along M or P only (every element is summed over
 * all of K by one call), and the blocks are a function of the shape alone:
 * any number of threads makes exactly the same BLAS calls with the same
 * arguments, only on other threads.  A one-threaded BLAS is deterministic
 * for given arguments, so the result is identical for every thread count
 * (the generated setup() pins OpenBLAS to one thread).
 *
 * The blocks: the axis is the longer of M and P (each block repacks the
 * whole other operand, so cutting the longer axis repacks the smaller
 * one); the count is the largest power of two, at most GEMM_MAX_BLOCKS,
 * that leaves every block at least GEMM_BLOCK_MACS multiply-adds (about
 * 0.1 ms: the hand-off to another thread is noise) and at least
 * GEMM_MIN_UNITS units of GEMM_UNIT rows or columns (repacking the other
 * operand costs in proportion to 1 / width: 2-4% of a block's time at a
 * width of 128, measured); widths are whole units, differing by one unit
 * at most (the last may be partial).  Powers of two divide evenly among 2, 4, 8 ...
 * threads.
 *
 * One row (M == 1, A not transposed: batch-1 inference, a last batch of
 * one sample) is cblas_sgemv over blocks of outputs, by the same rule.
 */
#include <cblas.h>

#include "dlrt.h"

#define GEMM_UNIT 32
#define GEMM_MIN_UNITS 4
#define GEMM_BLOCK_MACS (1L << 23)
#define GEMM_MAX_BLOCKS 64

typedef struct Gemm {
    int ta, tb, M, P, K, lda, ldb;
    const float *A, *B;
    float *C;
    int split_p;      /* blocks along P (else along M) */
    int units, nblocks;
} Gemm;

/* The number of blocks for a product of M x P x K (see the file comment). */
static int block_count(long long M, long long P, long long K, int units)
{
    long long macs = M * P * K;
    int nb = 1;
    while (nb * 2 <= GEMM_MAX_BLOCKS && nb * 2 * GEMM_MIN_UNITS <= units && macs / (nb * 2) >= GEMM_BLOCK_MACS) nb *= 2;
    return nb;
}

/* Block i: units [i * units / nblocks, (i + 1) * units / nblocks) of the
 * split axis, one BLAS call. */
static void gemm_block(void *ctx, int i)
{
    const Gemm *g = ctx;
    int dim = g->split_p ? g->P : g->M;
    int lo = (int)((long long)i * g->units / g->nblocks) * GEMM_UNIT;
    int hi = (int)((long long)(i + 1) * g->units / g->nblocks) * GEMM_UNIT;
    if (hi > dim) hi = dim;
    const float *A = g->A, *B = g->B;
    float *C = g->C;
    int M = g->M, P = g->P;
    if (g->split_p) {
        B += g->tb ? (long long)lo * g->ldb : lo;
        C += lo;
        P = hi - lo;
    } else {
        A += g->ta ? lo : (long long)lo * g->lda;
        C += (long long)lo * g->P;
        M = hi - lo;
    }
    if (g->M == 1 && !g->ta) {
        /* y = x op(B): B^T x for B stored [K, P], B x for B stored [P, K] */
        if (g->tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, P, g->K, 1.0f, B, g->ldb, A, 1, 0.0f, C, 1);
        else cblas_sgemv(CblasRowMajor, CblasTrans, g->K, P, 1.0f, B, g->ldb, A, 1, 0.0f, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, M, P, g->K, 1.0f, A,
                g->lda, B, g->ldb, 0.0f, C, g->P);
}

void dlrt_sgemm(int ta, int tb, int M, int P, int K, const float *A, int lda, const float *B, int ldb, float *C)
{
    Gemm g = {ta, tb, M, P, K, lda, ldb, A, B, C, 0, 0, 1};
    g.split_p = M == 1 || P >= M;
    int dim = g.split_p ? P : M;
    g.units = (dim + GEMM_UNIT - 1) / GEMM_UNIT;
    g.nblocks = block_count(M, P, K, g.units);
    dlrt_parallel_for(g.nblocks, gemm_block, &g);
}
