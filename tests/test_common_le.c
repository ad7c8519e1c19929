/* tests/test_common_le.c — common/le.h: the byte order written down literally, round trips,
 * and doubles as their IEEE-754 bit pattern. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/le.h"
#include "tests/support/runner.h"

START_TEST(bytes_in_order) {
    uint8_t b[8];
    le_put32(b, 0x11223344u);
    const uint8_t w32[4] = {0x44, 0x33, 0x22, 0x11};
    ck_assert_mem_eq(b, w32, 4);
    ck_assert_uint_eq(le_get32(w32), 0x11223344u);
    le_put64(b, 0x0102030405060708ull);
    const uint8_t w64[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    ck_assert_mem_eq(b, w64, 8);
    ck_assert_uint_eq(le_get64(w64), 0x0102030405060708ull);
    le_put16(b, 0xA1B2);
    const uint8_t w16[2] = {0xB2, 0xA1};
    ck_assert_mem_eq(b, w16, 2);
    ck_assert_uint_eq(le_get16(w16), 0xA1B2);
    /* 1.0f is 0x3F800000. */
    le_put_f32(b, 1.0f);
    const uint8_t onef[4] = {0, 0, 0x80, 0x3F};
    ck_assert_mem_eq(b, onef, 4);
    ck_assert(le_get_f32(onef) == 1.0f);
    /* 1.0 is 0x3FF0000000000000. */
    le_put_f64(b, 1.0);
    const uint8_t one[8] = {0, 0, 0, 0, 0, 0, 0xF0, 0x3F};
    ck_assert_mem_eq(b, one, 8);
}
END_TEST

START_TEST(round_trips) {
    uint8_t b[8];
    const uint64_t v[] = {0, 1, 0xFFFFFFFFull, 0x8000000000000000ull, ~0ull, 0xDEADBEEFCAFEF00Dull};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        le_put64(b, v[i]);
        ck_assert_uint_eq(le_get64(b), v[i]);
        le_put32(b, (uint32_t)v[i]);
        ck_assert_uint_eq(le_get32(b), (uint32_t)v[i]);
    }
    const double d[] = {0.0, -0.0, 1e-310, -3.25, 1e300, INFINITY};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        le_put_f64(b, d[i]);
        double r = le_get_f64(b);
        ck_assert_mem_eq(&r, &d[i], sizeof r); /* bit for bit, the sign of -0.0 included */
    }
    const float f[] = {0.0f, -0.0f, 1e-40f, -3.25f, 3e38f, INFINITY};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        le_put_f32(b, f[i]);
        float r = le_get_f32(b);
        ck_assert_mem_eq(&r, &f[i], sizeof r);
    }
    le_put_f64(b, NAN);
    ck_assert(isnan(le_get_f64(b)));
}
END_TEST

int main(void) {
    Suite *s = suite_create("common_le");
    TCase *tc = tcase_create("le");
    tcase_add_test(tc, bytes_in_order);
    tcase_add_test(tc, round_trips);
    suite_add_tcase(s, tc);
    return runner_run(s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
