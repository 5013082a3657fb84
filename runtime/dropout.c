/* dropout.c - dropout masks.  Element j is 0 when draw j of stream key is
 * below rate, else 1/(1-rate) (inverted dropout: the expected value of
 * x*mask is x, so inference needs no rescaling). */
#include "dlrt.h"

void dlrt_dropout_mask(float *mask, int64_t n, float rate, uint64_t key)
{
    if (rate <= 0.0f) {
        for (int64_t j = 0; j < n; j++) mask[j] = 1.0f;
        return;
    }
    if (rate >= 1.0f) {
        for (int64_t j = 0; j < n; j++) mask[j] = 0.0f;
        return;
    }
    float keep = (float)(1.0 / (1.0 - (double)rate));
    for (int64_t j = 0; j < n; j++)
        mask[j] = dlrt_uniform01(key, (uint64_t)j) < (double)rate ? 0.0f : keep;
}
