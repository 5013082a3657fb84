/* latency.c - batch-1 latency of an embeddable build (dlc emit
 * --embed-weights), or of the reference it is measured against: two
 * single-threaded cblas_sgemv calls on the same weights.
 *
 * Build with the generated unit:
 *   cc -O2 -DHDR='"mnist_mlp.h"' -DPFX=mnist_mlp -DUPFX=MNIST_MLP -IDIR \
 *      bench/embed/latency.c DIR/mnist_mlp.c [-lopenblas] -lm
 * or, for the reference, with -DSGEMV_REF and -lopenblas (no unit):
 *   usage: latency [RUNS]                 (the embedded build)
 *          latency BLOB K1 K2 [RUNS] [rows]  (SGEMV_REF: the weights blob of a
 *              --weights-file --no-blas build of models/mnist_mlp.nn and
 *              the float offsets of dense_1.kernel and dense_2.kernel in
 *              it, [K, P] matrices: CblasTrans products; with `rows` the
 *              matrices are transposed first, [P, K], and the products are
 *              CblasNoTrans, the layout of the embeddable BLAS build)
 * The input is a fixed pseudo-random pattern in [0, 1), like a scaled
 * image.  Prints one JSON line with the median seconds per call over RUNS
 * calls after a warm-up.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef SGEMV_REF
#include <cblas.h>
#else
#include HDR
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define API(s) CAT(PFX, s)
#define M(s) CAT(UPFX, s)
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#ifdef SGEMV_REF
enum { IN = 784, HID = 512, OUT = 10 };
static float *w1, *w2;
static float h[HID];
static int rows; /* the matrices are stored [P, K] */

/* The two matrix-vector products of the network, nothing else. */
static void step(const float *x, float *y)
{
    if (rows) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, HID, IN, 1.0f, w1, IN, x, 1, 0.0f, h, 1);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, OUT, HID, 1.0f, w2, HID, h, 1, 0.0f, y, 1);
        return;
    }
    cblas_sgemv(CblasRowMajor, CblasTrans, IN, HID, 1.0f, w1, HID, x, 1, 0.0f, h, 1);
    cblas_sgemv(CblasRowMajor, CblasTrans, HID, OUT, 1.0f, w2, OUT, h, 1, 0.0f, y, 1);
}

/* A [k, p] matrix as [p, k] (a new array). */
static float *transposed(const float *w, int k, int p)
{
    float *t = malloc(sizeof(float) * (size_t)k * (size_t)p);
    if (!t) exit(1);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < p; j++) t[(size_t)j * (size_t)k + (size_t)i] = w[(size_t)i * (size_t)p + (size_t)j];
    return t;
}
#else
enum { IN = M(_INPUT_SIZE), OUT = M(_OUTPUT_SIZE) };
static void step(const float *x, float *y)
{
    if (API(_predict)(x, y) != M(_OK)) {
        fprintf(stderr, "latency: predict failed\n");
        exit(1);
    }
}
#endif

int main(int argc, char **argv)
{
    int a = 1;
#ifdef SGEMV_REF
    if (argc < 4) {
        fprintf(stderr, "usage: latency BLOB K1 K2 [RUNS]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    long k1 = atol(argv[2]), k2 = atol(argv[3]);
    static float blob[(64 + 4 * 420000) / 4];
    size_t got = f ? fread(blob, 1, sizeof blob, f) : 0;
    if (!f || got < 64 + 4 * (size_t)(k2 + HID * OUT) || got < 64 + 4 * (size_t)(k1 + IN * HID)) {
        fprintf(stderr, "latency: %s: not the weights blob of mnist_mlp\n", argv[1]);
        return 1;
    }
    fclose(f);
    w1 = blob + 16 + k1;
    w2 = blob + 16 + k2;
    a = 4;
    if (argc > 5 && argv[5][0] == 'r') {
        rows = 1;
        w1 = transposed(w1, IN, HID);
        w2 = transposed(w2, HID, OUT);
    }
#endif
    long runs = argc > a ? atol(argv[a]) : 20000;
    if (runs < 1) return 2;
    static float x[IN], y[OUT];
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!t) return 1;
    unsigned s = 12345;
    for (int i = 0; i < IN; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f;
    }
    for (int i = 0; i < 2000; i++) step(x, y);
    double sink = 0;
    for (long r = 0; r < runs; r++) {
        double t0 = now();
        step(x, y);
        t[r] = now() - t0;
        sink += y[0];
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    printf("{\"latency_seconds\": %.9g, \"runs\": %ld, \"checksum\": %.6g}\n", t[runs / 2], runs, sink);
    free(t);
    return 0;
}
