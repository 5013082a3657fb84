/* rt_rng.h - private to the runtime: derived draws of the counter RNG
 * (rng.c).  The public part (dlrt_key, dlrt_uniform01) is in dlrt.h. */
#ifndef DLRT_RT_RNG_H
#define DLRT_RT_RNG_H

#include <stdint.h>

/* The i-th 64 random bits of stream key. */
uint64_t dlrt_bits(uint64_t key, uint64_t i);
/* The i-th standard normal draw of stream key (Box-Muller on the uniform
 * draws 2i and 2i+1). */
double dlrt_normal01(uint64_t key, uint64_t i);
/* A uniform integer in [0, bound) from the i-th draw (bound >= 1). */
uint64_t dlrt_below(uint64_t key, uint64_t i, uint64_t bound);

#endif
