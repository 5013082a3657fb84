/* sgemm_floor.c - the GEMM floor of one training epoch of models/mnist_mlp.nn.
 *
 * A training step of the 784-512-10 MLP at batch n does five matrix
 * products (row-major, as the generated code calls cblas_sgemm):
 *   forward    Z1 = X[n,784] W1[784,512]          M=n   N=512 K=784
 *              Z2 = H[n,512] W2[512,10]           M=n   N=10  K=512
 *   backward   dW1 = X^T[784,n] dZ1[n,512]        M=784 N=512 K=n   (A transposed)
 *              dW2 = H^T[512,n] dZ2[n,10]         M=512 N=10  K=n   (A transposed)
 *              dH  = dZ2[n,10] W2^T[10,512]       M=n   N=512 K=10  (B transposed)
 * (no input gradient is needed for X).  Everything else in a step is
 * elementwise and far cheaper, so no program can train an epoch faster than
 * the time OpenBLAS itself needs for these products: the floor.
 *
 * An epoch of Fashion-MNIST's 60000 samples at batch 128 is 468 full steps
 * and one of 96 (60000 = 468*128 + 96), so
 *     floor = 468 * T(128) + T(96),   T(n) = sum of the five GEMM times at n.
 * Each GEMM is timed by repeating it until ~30 ms have passed, seven
 * times; the median of the seven per-call times is used (the machine is
 * shared and noisy).  Inputs are filled with small pseudo-random values
 * (denormals would slow some kernels down).
 *
 * usage: sgemm_floor [THREADS]   (OpenBLAS threads; default: OpenBLAS's own)
 * prints one line per GEMM shape, then `floor_seconds <value>`.
 */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* openblas_set_num_threads is declared by OpenBLAS's cblas.h; redeclared
 * here so the file also builds against a reference cblas.h for reading. */
void openblas_set_num_threads(int num_threads);

typedef struct {
    const char *what;
    int m, n, k;   /* n/m == -1: replaced by the batch size */
    int ta, tb;    /* transpose A / B */
} Gemm;

enum { BATCH = 128, LAST = 96, FULL_STEPS = 468, TRIALS = 7 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fills p with values in [-0.5, 0.5) from a small LCG. */
static void fill(float *p, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
}

/* Median seconds per call of C[m,n] = op(A) op(B), op as the flags say. */
static double time_gemm(int m, int n, int k, int ta, int tb) {
    float *a = malloc(sizeof(float) * (size_t)m * k);
    float *b = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    if (!a || !b || !c) { fprintf(stderr, "sgemm_floor: out of memory\n"); exit(1); }
    fill(a, (size_t)m * k, 1);
    fill(b, (size_t)k * n, 2);
    memset(c, 0, sizeof(float) * (size_t)m * n);
    int lda = ta ? m : k, ldb = tb ? k : n;
    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    /* warm up and size the repetition count to ~30 ms */
    double t0 = now();
    long reps = 0;
    do {
        cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
        reps++;
    } while (now() - t0 < 0.03);
    double per[TRIALS];
    for (int t = 0; t < TRIALS; t++) {
        double s = now();
        for (long r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
        per[t] = (now() - s) / (double)reps;
    }
    qsort(per, TRIALS, sizeof per[0], cmp_double);
    free(a);
    free(b);
    free(c);
    return per[TRIALS / 2];
}

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && atoi(argv[1]) < 1)) {
        fprintf(stderr, "usage: sgemm_floor [THREADS]\n");
        return 2;
    }
    if (argc == 2) openblas_set_num_threads(atoi(argv[1]));
    static const Gemm gemms[] = {
        {"fwd   X W1     ", -1, 512, 784, 0, 0},
        {"fwd   H W2     ", -1, 10, 512, 0, 0},
        {"bwd   X^T dZ1  ", 784, 512, -1, 1, 0},
        {"bwd   H^T dZ2  ", 512, 10, -1, 1, 0},
        {"bwd   dZ2 W2^T ", -1, 512, 10, 0, 1},
    };
    const int ngemm = (int)(sizeof gemms / sizeof gemms[0]);
    double step[2] = {0, 0};
    const int batches[2] = {BATCH, LAST};
    for (int bi = 0; bi < 2; bi++) {
        for (int i = 0; i < ngemm; i++) {
            const Gemm *g = &gemms[i];
            int m = g->m < 0 ? batches[bi] : g->m;
            int k = g->k < 0 ? batches[bi] : g->k;
            double t = time_gemm(m, g->n, k, g->ta, g->tb);
            double gflops = 2.0 * m * g->n * k / t * 1e-9;
            printf("n=%-3d %s M=%-4d N=%-4d K=%-4d %9.2f us  %7.2f GFLOP/s\n", batches[bi], g->what, m, g->n,
                   k, t * 1e6, gflops);
            step[bi] += t;
        }
    }
    double floor_s = FULL_STEPS * step[0] + step[1];
    printf("step_seconds_128 %.6g\nstep_seconds_96 %.6g\n", step[0], step[1]);
    printf("floor_seconds %.6g\n", floor_s);
    return 0;
}
