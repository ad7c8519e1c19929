/* tests/support/le.h — little-endian integers in byte buffers (prefix le_), for the tests
 * and fuzz targets that read or craft files byte by byte. Header-only so that a fuzz target
 * need not link rd_testsupport. */
#ifndef RD_TESTS_LE_H
#define RD_TESTS_LE_H

#include <stdint.h>

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

#endif
