/* predict_latency.c - batch-1 inference latency of a dlc-generated model.
 *
 * Linked with the C source that `dlc emit MODEL --mode infer -o DIR` writes
 * (DIR/<name>.c, which describes itself with a dlrt_model called
 * <name>_model) and with libdlrt.  It sets the model up, fills the
 * parameters from their initializers (the values do not matter for timing;
 * initializers give the same magnitudes trained weights have, so no
 * denormals), and calls predict on one input, n = 1, in a loop: a warm-up,
 * then RUNS timed calls.  It prints the median seconds per call.
 *
 * The input is a fixed pseudo-random pattern in [0, 1), like a scaled image.
 *
 * Build (bench/run.sh does it):
 *   cc -O2 -march=native -DMODEL=mnist_mlp_model -IDIR -Iruntime bench/predict_latency.c \
 *      DIR/mnist_mlp.c libdlrt.a -lopenblas -lz -lm
 * usage: predict_latency [RUNS]
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dlrt.h"

#ifndef MODEL
#define MODEL mnist_mlp_model
#endif
extern const dlrt_model MODEL;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long runs = argc > 1 ? atol(argv[1]) : 5000;
    if (runs < 1) {
        fprintf(stderr, "usage: predict_latency [RUNS]\n");
        return 2;
    }
    const dlrt_model *m = &MODEL;
    if (m->setup() != 0) {
        fprintf(stderr, "predict_latency: setup failed\n");
        return 1;
    }
    if (m->init_params) m->init_params(m->seed);
    float *x = malloc(sizeof(float) * (size_t)m->in_size);
    float *out = malloc(sizeof(float) * (size_t)m->out_size);
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!x || !out || !t) {
        fprintf(stderr, "predict_latency: out of memory\n");
        return 1;
    }
    unsigned s = 12345;
    for (int64_t i = 0; i < m->in_size; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f;
    }
    for (int i = 0; i < 500; i++) m->predict(x, out, 1);
    double sink = 0;
    for (long r = 0; r < runs; r++) {
        double t0 = now();
        m->predict(x, out, 1);
        t[r] = now() - t0;
        sink += out[0];
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    printf("{\"latency_seconds\": %.9g, \"runs\": %ld, \"checksum\": %.6g}\n", t[runs / 2], runs, sink);
    m->teardown();
    free(x);
    free(out);
    free(t);
    return 0;
}
