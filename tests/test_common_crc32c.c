/* tests/test_common_crc32c.c — CRC32C (common/crc32c.h) against its bit-at-a-time
 * definition at every length and alignment, the standard check values, the hardware and
 * the table paths, and crc32c_combine against the CRC of the concatenation. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "tests/support/runner.h"

static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

/* Compares crc32c_update against the bit-at-a-time definition at every length and alignment
 * up to 100 bytes, chained in two parts too. Returns the number of mismatches. */
static int crc_mismatches(void) {
    uint8_t buf[160];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 17);
    int bad = 0;
    for (size_t a = 0; a < 8; a++) {
        for (size_t n = 0; n <= 100; n++) {
            uint32_t want = crc_bitwise(buf + a, n);
            bad += crc32c_update(0, buf + a, n) != want;
            size_t half = n / 3;
            bad += crc32c_update(crc32c_update(0, buf + a, half), buf + a + half, n - half) != want;
        }
    }
    /* Lengths around the hardware path's three-lane stripes (3 x 8 KiB) and beyond. */
    size_t big = 200000;
    uint8_t *b = malloc(big + 8);
    for (size_t i = 0; i < big + 8; i++) b[i] = (uint8_t)(i * 2654435761u >> 13);
    const size_t lens[] = {24575, 24576, 24577, 24576 + 13, 49152, 73735, 200000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (size_t a = 0; a < 8; a += 3) {
            uint32_t want = crc_bitwise(b + a, lens[k]);
            bad += crc32c_update(0, b + a, lens[k]) != want;
            bad +=
                crc32c_update(crc32c_update(0, b + a, 1000), b + a + 1000, lens[k] - 1000) != want;
        }
    }
    free(b);
    return bad;
}

START_TEST(crc_known_values) {
    ck_assert_uint_eq(crc32c_update(0, "123456789", 9), 0xE3069283u);
    ck_assert_int_eq(crc_mismatches(), 0);
    /* The table path, as used on a CPU without SSE4.2: forced in a child process, since
     * the choice is made once per process. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("RD_CKPT_CRC", "sw", 1);
        _exit(crc32c_update(0, "123456789", 9) == 0xE3069283u && crc_mismatches() == 0 ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "software CRC32C differs");
}
END_TEST

START_TEST(crc_rfc3720_vectors) {
    /* RFC 3720 B.4: 32 bytes of zeros, of ones, ascending and descending. */
    uint8_t buf[32];
    ck_assert_uint_eq(crc32c_update(0, "", 0), 0u);
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(crc32c_update(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    ck_assert_uint_eq(crc32c_update(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
    ck_assert_uint_eq(crc32c_update(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(crc32c_update(0, buf, 32), 0x113FDB5Cu);
}
END_TEST

START_TEST(crc_combine_matches_concatenation) {
    size_t n = 70000;
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 2654435761u >> 11);
    const size_t cuts[] = {0, 1, 7, 8, 4096, 24577, 69999, 70000};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        size_t c = cuts[k];
        uint32_t a = crc32c_update(0, b, c), z = crc32c_update(0, b + c, n - c);
        ck_assert_uint_eq(crc32c_combine(a, z, n - c), crc32c_update(0, b, n));
    }
    free(b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("common_crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, crc_known_values);
    tcase_add_test(tc, crc_rfc3720_vectors);
    tcase_add_test(tc, crc_combine_matches_concatenation);
    suite_add_tcase(s, tc);
    return runner_run(s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
