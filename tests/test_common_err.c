/* tests/test_common_err.c — common/err.h: the message, the "WHERE: " form, truncation at
 * any buffer size without overrun, and NULL buffers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/support/runner.h"

/* A va_list caller, the way a module's own failure helper uses err_vat. */
static int fail_pos(char *err, size_t errlen, int line, const char *fmt, ...) {
    char where[32];
    snprintf(where, sizeof where, "f.toml:%d", line);
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(err, errlen, where, fmt, ap);
    va_end(ap);
    return rc;
}

START_TEST(messages) {
    char err[64];
    ck_assert_int_eq(err_set(err, sizeof err, "--port: '%s' is not a port", "x"), -1);
    ck_assert_str_eq(err, "--port: 'x' is not a port");
    ck_assert_int_eq(err_at(err, sizeof err, "/a/b.ckpt", "truncated (%d bytes)", 3), -1);
    ck_assert_str_eq(err, "/a/b.ckpt: truncated (3 bytes)");
    ck_assert_int_eq(fail_pos(err, sizeof err, 7, "unknown key '%s'", "k"), -1);
    ck_assert_str_eq(err, "f.toml:7: unknown key 'k'");
    ck_assert_int_eq(err_at(err, sizeof err, NULL, "no position %d", 1), -1);
    ck_assert_str_eq(err, "no position 1");
    ck_assert_int_eq(err_set(NULL, 0, "x"), -1);
    ck_assert_int_eq(err_at(NULL, 10, "w", "x"), -1);
    ck_assert_int_eq(err_at(err, 0, "w", "x"), -1);
}
END_TEST

START_TEST(truncation_never_overruns) {
    const char *full = "where: a reason";
    for (size_t cap = 1; cap <= strlen(full) + 2; cap++) {
        char buf[32];
        memset(buf, '#', sizeof buf);
        err_at(buf, cap, "where", "a %s", "reason");
        ck_assert_uint_eq(strlen(buf), cap - 1 < strlen(full) ? cap - 1 : strlen(full));
        ck_assert_int_eq(strncmp(buf, full, strlen(buf)), 0);
        for (size_t i = cap; i < sizeof buf; i++) ck_assert_int_eq(buf[i], '#');
        memset(buf, '#', sizeof buf);
        err_set(buf, cap, "%s", full);
        ck_assert_int_eq(strncmp(buf, full, strlen(buf)), 0);
        for (size_t i = cap; i < sizeof buf; i++) ck_assert_int_eq(buf[i], '#');
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("common_err");
    TCase *tc = tcase_create("err");
    tcase_add_test(tc, messages);
    tcase_add_test(tc, truncation_never_overruns);
    suite_add_tcase(s, tc);
    return runner_run(s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
