/* init.c - parameter initializers (dlrt_init_*), called by generated
 * init_params().  Element j of a tensor takes draw j of the stream `key`
 * (rng.c), so the result does not depend on how the loop is split. */
#include <math.h>

#include "dlrt.h"
#include "rt_rng.h"

void dlrt_init_constant(float *p, int64_t n, float value)
{
    for (int64_t j = 0; j < n; j++) p[j] = value;
}

void dlrt_init_uniform(float *p, int64_t n, float low, float high, uint64_t key)
{
    double lo = low, span = (double)high - (double)low;
    for (int64_t j = 0; j < n; j++) p[j] = (float)(lo + span * dlrt_uniform01(key, (uint64_t)j));
}

void dlrt_init_normal(float *p, int64_t n, float mean, float stddev, uint64_t key)
{
    for (int64_t j = 0; j < n; j++)
        p[j] = (float)((double)mean + (double)stddev * dlrt_normal01(key, (uint64_t)j));
}

/* Truncated at two standard deviations: element j tries normal draw j of
 * stream key, then of streams dlrt_key(key, 1), dlrt_key(key, 2), ...
 * until one lies within [-2, 2].  Each retry succeeds with probability
 * 0.954, so the cap of 64 attempts is never reached in practice (if it
 * were, the element would be the mean). */
void dlrt_init_truncated_normal(float *p, int64_t n, float mean, float stddev, uint64_t key)
{
    for (int64_t j = 0; j < n; j++) {
        double z = 0.0;
        for (uint64_t r = 0; r < 64; r++) {
            double t = dlrt_normal01(r == 0 ? key : dlrt_key(key, r), (uint64_t)j);
            if (fabs(t) <= 2.0) {
                z = t;
                break;
            }
        }
        p[j] = (float)((double)mean + (double)stddev * z);
    }
}
