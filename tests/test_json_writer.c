/* tests/test_json_writer.c — common/json.h: the writer escapes, repairs UTF-8, saturates
 * and writes null for non-finite numbers; the validator accepts RFC 8259 + UTF-8 exactly.
 * Every text the writer makes is checked by cJSON and by json_valid. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tests/support/runner.h"

static bool valid(const char *t) {
    return json_valid(t, strlen(t), 64);
}

/* The text parses with cJSON and the validator, and key k reads back as the string want. */
static void expect_roundtrip(const char *text, const char *k, const char *want) {
    ck_assert_msg(valid(text), "not valid: %s", text);
    cJSON *o = cJSON_Parse(text);
    ck_assert_msg(o != NULL, "cJSON refused: %s", text);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert(cJSON_IsString(v));
    ck_assert_str_eq(v->valuestring, want);
    cJSON_Delete(o);
}

START_TEST(escapes_quotes_backslashes_controls) {
    json_buf b;
    json_init_dyn(&b);
    json_obj_open(&b);
    json_kstr(&b, "run_dir", "/tmp/a\"b\\c");
    json_kstr(&b, "ctl", "\x01\x1f\n\t\b\f\r");
    json_obj_close(&b);
    ck_assert_int_ge(json_finish(&b), 0);
    expect_roundtrip(b.buf, "run_dir", "/tmp/a\"b\\c");
    expect_roundtrip(b.buf, "ctl", "\x01\x1f\n\t\b\f\r");
    ck_assert_ptr_nonnull(strstr(b.buf, "\\u0001"));
    json_free(&b);
}
END_TEST

START_TEST(invalid_utf8_replaced) {
    /* a cut 'é', a lone continuation byte, an overlong '/', a surrogate, 0xFF */
    const char *bad[] = {"ab\xC3", "\x80x", "\xC0\xAF", "\xED\xA0\x80", "\xFF", "ok \xC3\xA9"};
    const char *want[] = {"ab\xEF\xBF\xBD",
                          "\xEF\xBF\xBDx",
                          "\xEF\xBF\xBD\xEF\xBF\xBD",
                          "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
                          "\xEF\xBF\xBD",
                          "ok \xC3\xA9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[128];
        json_buf b;
        json_init_fixed(&b, out, sizeof out);
        json_obj_open(&b);
        json_kstr(&b, "s", bad[i]);
        json_obj_close(&b);
        ck_assert(json_ok(&b));
        expect_roundtrip(out, "s", want[i]);
    }
}
END_TEST

START_TEST(fixed_buffer_saturates) {
    char out[32];
    json_buf b;
    json_init_fixed(&b, out, sizeof out);
    json_obj_open(&b);
    char big[200];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = 0;
    json_kstr(&b, "e", big); /* 199 quotes: 398 bytes escaped */
    json_obj_close(&b);
    ck_assert(!json_ok(&b));
    ck_assert_int_eq(json_finish(&b), -1);
    ck_assert_uint_lt(strlen(out), sizeof out); /* terminated, never past the end */
    /* json_quote leaves a valid empty string when it cannot fit */
    char q[8];
    ck_assert_int_eq(json_quote("0123456789", q, sizeof q), -1);
    ck_assert_str_eq(q, "\"\"");
    ck_assert_int_eq(json_quote("ab", q, sizeof q), 4);
    ck_assert_str_eq(q, "\"ab\"");
}
END_TEST

START_TEST(non_finite_numbers_are_null) {
    json_buf b;
    json_init_dyn(&b);
    json_arr_open(&b);
    json_num(&b, NAN);
    json_num(&b, INFINITY);
    json_num_prec(&b, -INFINITY, 4);
    json_num(&b, 0.1);
    json_int(&b, -3);
    json_bool(&b, true);
    json_null(&b);
    json_arr_open(&b);
    json_arr_close(&b);
    json_obj_open(&b);
    json_obj_close(&b);
    json_arr_close(&b);
    ck_assert_str_eq(b.buf, "[null,null,null,0.10000000000000001,-3,true,null,[],{}]");
    ck_assert(valid(b.buf));
    json_free(&b);
}
END_TEST

START_TEST(validator_accepts_and_refuses) {
    const char *good[] = {"{}",
                          "[]",
                          " {\"a\":[1,-0.5e+3,true,false,null,\"\\u00e9\\ud83d\\ude00\"]} ",
                          "\"\xC3\xA9\"",
                          "0",
                          "-0",
                          "1E5",
                          "{\"a\":{\"b\":{}}}"};
    const char *bad[] = {"",        "{",           "{\"a\"}",     "{\"a\":1,}", "[1,]",  "nan",
                         "inf",     "-",           "01",          "1.",         ".5",    "\"\x01\"",
                         "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\xC3\"",   "{} {}", "[1 2]",
                         "tru",     "\"abc",       "{\"a\":NaN}", "\"\\u12\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(valid(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!valid(bad[i]), "accepted %s", bad[i]);
    /* depth bound */
    char deep[300];
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    ck_assert(!json_valid(deep, 300, 64));
    ck_assert(json_valid(deep, 300, 200));
    /* an embedded NUL is not JSON */
    ck_assert(!json_valid("\"a\0b\"", 5, 8));
}
END_TEST

START_TEST(clamp_counts) {
    ck_assert_int_eq(json_clamp_i64(1e308, 0, 1000000000), 1000000000);
    ck_assert_int_eq(json_clamp_i64(-1e308, 0, 10), 0);
    ck_assert_int_eq(json_clamp_i64(NAN, -1, 10), -1);
    ck_assert_int_eq(json_clamp_i64(42.9, 0, 100), 42);
}
END_TEST

int main(void) {
    Suite *s = suite_create("json_writer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, escapes_quotes_backslashes_controls);
    tcase_add_test(tc, invalid_utf8_replaced);
    tcase_add_test(tc, fixed_buffer_saturates);
    tcase_add_test(tc, non_finite_numbers_are_null);
    tcase_add_test(tc, validator_accepts_and_refuses);
    tcase_add_test(tc, clamp_counts);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
