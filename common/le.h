/* common/le.h — little-endian integers and doubles in byte buffers (prefix le_): the
 * checkpoint format, the trainer's state sections, TensorBoard records, the recorded
 * episodes (common/recfile.h) and the tests that
 * craft such files all read and write their numbers byte by byte through these, so a file
 * never depends on the compiler's padding or the host's byte order. Header-only (static
 * inline) so that a fuzz target or a test reader need link nothing for them. */
#ifndef RD_COMMON_LE_H
#define RD_COMMON_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t le_get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void le_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint32_t le_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le_get64(const uint8_t *p) {
    return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}

static inline void le_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void le_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A float as the little-endian u32 of its IEEE-754 binary32 bit pattern. */
static inline void le_put_f32(uint8_t *p, float f) {
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    le_put32(p, v);
}

static inline float le_get_f32(const uint8_t *p) {
    uint32_t v = le_get32(p);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

/* A double as the little-endian u64 of its IEEE-754 binary64 bit pattern. */
static inline void le_put_f64(uint8_t *p, double d) {
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    le_put64(p, v);
}

static inline double le_get_f64(const uint8_t *p) {
    uint64_t v = le_get64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

#endif
