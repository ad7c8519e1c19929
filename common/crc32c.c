/* common/crc32c.c — see crc32c.h. */
#include "common/crc32c.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/le.h"

/* SSE4.2 has an instruction for it (8 bytes a cycle or so); elsewhere slicing-by-8 tables.
 * RD_CKPT_CRC=sw forces the tables so that the tests cover both. */

static uint32_t crc_table[8][256];
static uint32_t (*crc_impl)(uint32_t, const uint8_t *, size_t);
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo = c ^ le_get32(p), hi = le_get32(p + 4);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
            crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
            crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

static uint32_t crc_multmodp(uint32_t a, uint32_t b);

#if defined(__x86_64__)
/* The crc32 instruction has a latency of 3 cycles and a throughput of 1: three
 * independent lanes over adjacent stripes keep it busy, and the lanes' registers are
 * joined with a multiplication by x^(8 * stripe) (crc_stripe_shift). */
#define CRC_STRIPE 8192
static uint32_t crc_stripe_shift;

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi(c, *p++);
        n--;
    }
    while (n >= 3 * CRC_STRIPE) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        for (size_t i = 0; i < CRC_STRIPE; i += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + CRC_STRIPE + i, 8);
            memcpy(&v2, p + 2 * CRC_STRIPE + i, 8);
            c0 = __builtin_ia32_crc32di(c0, v0);
            c1 = __builtin_ia32_crc32di(c1, v1);
            c2 = __builtin_ia32_crc32di(c2, v2);
        }
        c = crc_multmodp(crc_stripe_shift, (uint32_t)c0) ^ (uint32_t)c1;
        c = crc_multmodp(crc_stripe_shift, c) ^ (uint32_t)c2;
        p += 3 * CRC_STRIPE;
        n -= 3 * CRC_STRIPE;
    }
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--) c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

/* The CRC of a concatenation from the CRCs of its parts (zlib's crc32_combine, for the
 * Castagnoli polynomial): the checkpoint writer and ckpt_open() get the whole-file CRC from the
 * section CRCs instead of a second pass over tens of megabytes. crc_x2n[k] = x^(2^k)
 * modulo the polynomial, in the CRC's reflected bit order. */
static uint32_t crc_x2n[32];
static void crc_init(void);

static uint32_t crc_multmodp(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ 0x82F63B78u : b >> 1;
    }
    return p;
}

/* x^(n * 2^k) modulo the polynomial. */
static uint32_t crc_x2nmodp(uint64_t n, unsigned k) {
    uint32_t p = 1u << 31; /* x^0 */
    while (n) {
        if (n & 1) p = crc_multmodp(crc_x2n[k & 31], p);
        n >>= 1;
        k++;
    }
    return p;
}

uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2) {
    pthread_once(&crc_once, crc_init);
    return crc_multmodp(crc_x2nmodp(len2, 3), crc1) ^ crc2;
}

static void crc_init(void) {
    uint32_t x = 1u << 30; /* x^1 */
    crc_x2n[0] = x;
    for (int k = 1; k < 32; k++) crc_x2n[k] = x = crc_multmodp(x, x);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    crc_impl = crc_sw;
#if defined(__x86_64__)
    crc_stripe_shift = crc_x2nmodp(CRC_STRIPE, 3);
    const char *force = getenv("RD_CKPT_CRC");
    if (!(force && strcmp(force, "sw") == 0) && __builtin_cpu_supports("sse4.2")) crc_impl = crc_hw;
#endif
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len) {
    pthread_once(&crc_once, crc_init);
    if (len == 0) return crc;
    return ~crc_impl(~crc, data, len);
}
