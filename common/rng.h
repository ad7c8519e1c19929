/* common/rng.h — the one random number generator of the project (prefix rng_).
 *
 * xoshiro256** seeded through splitmix64. Everything random in training and in the
 * world draws from an rng_t that the caller owns, so a run is a pure function of its seed
 * and an rng_t can be saved in a checkpoint as its four words. Header-only: the calls are
 * on the trainer's hot path and must inline. */
#ifndef RD_COMMON_RNG_H
#define RD_COMMON_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_t;

static inline uint64_t rng__splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds r from a 64-bit seed; `stream` separates independent generators drawn from one
 * seed (the environment, exploration, replay sampling, weight init, ...). */
static inline void rng_seed(rng_t *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++) r->s[i] = rng__splitmix64(&x);
}

static inline uint64_t rng__rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t result = rng__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 24 bits, exactly representable as a float. */
static inline float rng_float(rng_t *r) {
    return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rng_double(rng_t *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n) for n > 0 (Lemire's multiply-shift; the bias is < n / 2^64). */
static inline uint32_t rng_below(rng_t *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

#endif
