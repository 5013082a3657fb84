/* rng.c - the runtime's counter-based random numbers.
 *
 * There is no generator state: the i-th draw of stream `key` is a pure
 * function of (key, i), so any element of a tensor can be drawn
 * independently (threads can split the work any way) and a run is
 * reproducible from its seed alone.
 *
 * The mixing function is SplitMix64's finalizer (Steele, Lea, Flood 2014),
 * a bijection of 64-bit words with full avalanche:
 *     mix(z) = let z += 0x9E3779B97F4A7C15,
 *                  z = (z ^ z>>30) * 0xBF58476D1CE4E5B9,
 *                  z = (z ^ z>>27) * 0x94D049BB133111EB
 *              in z ^ z>>31
 * and
 *     dlrt_key(a, b)   = mix(mix(a) ^ b)
 *     bits(key, i)     = dlrt_key(key, i)
 *     uniform01(key,i) = (bits(key, i) >> 11) * 2^-53        in [0, 1)
 *     normal01(key, i) = sqrt(-2 ln(1 - u1)) * cos(2 pi u2)
 *                        with u1 = uniform01(key, 2i), u2 = uniform01(key, 2i+1)
 * Anyone (a reference interpreter, a test) can reproduce these bits from
 * this comment.
 */
#include <math.h>

#include "dlrt.h"
#include "rt_rng.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t dlrt_key(uint64_t a, uint64_t b)
{
    return mix64(mix64(a) ^ b);
}

uint64_t dlrt_bits(uint64_t key, uint64_t i)
{
    return dlrt_key(key, i);
}

double dlrt_uniform01(uint64_t key, uint64_t i)
{
    return (double)(dlrt_bits(key, i) >> 11) * 0x1.0p-53;
}

double dlrt_normal01(uint64_t key, uint64_t i)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - dlrt_uniform01(key, 2 * i); /* in (0, 1]: log is finite */
    double u2 = dlrt_uniform01(key, 2 * i + 1);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* Lemire's multiply-shift maps the top 32 random bits onto [0, bound) for
 * bounds below 2^32 (the bias, under bound / 2^32, is far too small to
 * matter for shuffling); larger bounds take the 64 bits modulo bound. */
uint64_t dlrt_below(uint64_t key, uint64_t i, uint64_t bound)
{
    uint64_t r = dlrt_bits(key, i);
    if (bound <= 0xFFFFFFFFull) return ((r >> 32) * bound) >> 32;
    return r % bound;
}
