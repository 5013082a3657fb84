/* clean.c - the shape of embeddable inference code: one static arena,
 * const weights, a predict function using <math.h>, its own header. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clean.h"

static float arena[CLEAN_ARENA_FLOATS];

static const float weights[CLEAN_IN * CLEAN_OUT] = {0.5f, -0.25f, 1.0f, 0.75f, -1.0f, 0.125f};
static const float bias[CLEAN_OUT] = {0.1f, -0.2f};

static void dense(const float *x, const float *w, const float *b, float *y, size_t n, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        float s = b[j];
        for (size_t i = 0; i < n; i++) s += x[i] * w[i * m + j];
        y[j] = s;
    }
}

static void softmax(float *y, size_t m)
{
    float mx = y[0], sum = 0.0f;
    for (size_t j = 1; j < m; j++) mx = y[j] > mx ? y[j] : mx;
    for (size_t j = 0; j < m; j++) sum += y[j] = expf(y[j] - mx);
    for (size_t j = 0; j < m; j++) y[j] /= sum;
}

int32_t clean_predict(const float *in, float *out)
{
    float *x = arena, *y = arena + CLEAN_IN;
    memcpy(x, in, sizeof(float) * CLEAN_IN);
    dense(x, weights, bias, y, CLEAN_IN, CLEAN_OUT);
    softmax(y, CLEAN_OUT);
    memcpy(out, y, sizeof(float) * CLEAN_OUT);
    return 0;
}
