/* tests/test_toml_parse.c — the TOML parser (common/toml.h): values, positions, and the
 * exact "line:col: message" of rejected documents. The full TOML 1.0 conformance corpus
 * runs separately (scripts/test.d/toml.sh); these tests pin down what the corpus does not:
 * where errors point and what they say. */
#include "common/toml.h"
#include "tests/support/runner.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static toml_value *parse_ok(const char *text) {
    char err[256] = "";
    toml_value *root = toml_parse(text, strlen(text), err, sizeof err);
    ck_assert_msg(root != NULL, "rejected %s: %s", text, err);
    return root;
}

static const toml_value *get(const toml_value *t, const char *key) {
    const toml_entry *e = toml_table_find(t, key);
    ck_assert_msg(e != NULL, "no key '%s'", key);
    return e->value;
}

START_TEST(test_scalars) {
    toml_value *r = parse_ok("s = \"a\\tb\\u00e9\\U0001F600\"\n"
                             "l = 'C:\\path'\n"
                             "i = -1_000\n"
                             "h = 0xDEAD_beef\n"
                             "o = 0o755\n"
                             "b = 0b1010\n"
                             "min = -9223372036854775808\n"
                             "f = 6.626e-34\n"
                             "pi = +3.141_5\n"
                             "ni = -inf\n"
                             "nn = nan\n"
                             "t = true\n");
    const toml_value *s = get(r, "s");
    ck_assert_int_eq(s->type, TOML_STRING);
    ck_assert_str_eq(s->u.s.ptr, "a\tb\xC3\xA9\xF0\x9F\x98\x80");
    ck_assert_str_eq(get(r, "l")->u.s.ptr, "C:\\path");
    ck_assert_int_eq(get(r, "i")->u.i, -1000);
    ck_assert_int_eq(get(r, "h")->u.i, 0xDEADBEEF);
    ck_assert_int_eq(get(r, "o")->u.i, 0755);
    ck_assert_int_eq(get(r, "b")->u.i, 10);
    ck_assert(get(r, "min")->u.i == INT64_MIN);
    ck_assert_int_eq(get(r, "f")->type, TOML_FLOAT);
    ck_assert(get(r, "f")->u.f == 6.626e-34);
    ck_assert(get(r, "pi")->u.f == 3.1415);
    ck_assert(isinf(get(r, "ni")->u.f) && get(r, "ni")->u.f < 0);
    ck_assert(isnan(get(r, "nn")->u.f));
    ck_assert_int_eq(get(r, "t")->type, TOML_BOOL);
    ck_assert(get(r, "t")->u.b);
    toml_free(r);
}
END_TEST

START_TEST(test_strings_multiline) {
    toml_value *r = parse_ok("a = \"\"\"\nline one\r\nline \\\n     two\"\"\"\"\n"
                             "b = '''\n'quoted' ''two'' '''\n"
                             "c = \"nul\\u0000inside\"\n");
    ck_assert_str_eq(get(r, "a")->u.s.ptr, "line one\nline two\"");
    ck_assert_str_eq(get(r, "b")->u.s.ptr, "'quoted' ''two'' ");
    const toml_value *c = get(r, "c");
    ck_assert_uint_eq(c->u.s.len, 10);
    ck_assert(memcmp(c->u.s.ptr, "nul\0inside", 10) == 0);
    toml_free(r);
}
END_TEST

START_TEST(test_datetimes) {
    toml_value *r = parse_ok("odt = 1979-05-27T07:32:00.999999-07:30\n"
                             "ldt = 1979-05-27 07:32:00\n"
                             "ld = 2000-02-29\n"
                             "lt = 00:32:00.5\n"
                             "z = 1979-05-27t07:32:00z\n");
    const toml_value *v = get(r, "odt");
    ck_assert_int_eq(v->type, TOML_DATETIME);
    ck_assert_int_eq(v->u.dt.year, 1979);
    ck_assert_int_eq(v->u.dt.minute, 32);
    ck_assert_int_eq(v->u.dt.nanosecond, 999999000);
    ck_assert_int_eq(v->u.dt.frac_digits, 6);
    ck_assert_int_eq(v->u.dt.offset_minutes, -450);
    ck_assert_int_eq(get(r, "ldt")->type, TOML_DATETIME_LOCAL);
    ck_assert_int_eq(get(r, "ld")->type, TOML_DATE_LOCAL);
    ck_assert_int_eq(get(r, "ld")->u.dt.day, 29);
    ck_assert_int_eq(get(r, "lt")->type, TOML_TIME_LOCAL);
    ck_assert_int_eq(get(r, "lt")->u.dt.nanosecond, 500000000);
    ck_assert_int_eq(get(r, "z")->u.dt.offset_sign, 'Z');
    toml_free(r);
}
END_TEST

START_TEST(test_tables_and_positions) {
    toml_value *r = parse_ok("# comment\n"
                             "top = 1\n"
                             "[server]\n"
                             "  port = 8766  # trailing comment\n"
                             "  a.\"b c\".d = [1, [2, 3], {x = 'y'}]\n"
                             "[[jobs]]\n"
                             "name = \"one\"\n"
                             "[[jobs]]\n"
                             "name = \"two\"\n"
                             "[jobs.sub]\n"
                             "k = 1\n");
    const toml_entry *e = toml_table_find(r, "top");
    ck_assert_int_eq(e->line, 2);
    ck_assert_int_eq(e->col, 1);
    ck_assert_int_eq(e->value->col, 7);
    const toml_value *server = get(r, "server");
    ck_assert_int_eq(server->line, 3);
    ck_assert_int_eq(server->col, 1);
    e = toml_table_find(server, "port");
    ck_assert_int_eq(e->line, 4);
    ck_assert_int_eq(e->col, 3);
    ck_assert_int_eq(e->value->col, 10);
    const toml_value *a = get(server, "a");
    e = toml_table_find(a, "b c");
    ck_assert_int_eq(e->line, 5);
    ck_assert_int_eq(e->col, 5); /* the quoted part of the dotted key */
    const toml_value *d = get(e->value, "d");
    ck_assert_int_eq(d->type, TOML_ARRAY);
    ck_assert_uint_eq(d->u.arr.len, 3);
    ck_assert_int_eq(d->u.arr.items[1]->u.arr.items[1]->u.i, 3);
    ck_assert_int_eq(d->u.arr.items[1]->u.arr.items[1]->col, 23);
    ck_assert_str_eq(get(d->u.arr.items[2], "x")->u.s.ptr, "y");
    const toml_value *jobs = get(r, "jobs");
    ck_assert_uint_eq(jobs->u.arr.len, 2);
    ck_assert_str_eq(get(jobs->u.arr.items[1], "name")->u.s.ptr, "two");
    ck_assert_int_eq(get(get(jobs->u.arr.items[1], "sub"), "k")->u.i, 1);
    ck_assert_ptr_null(toml_table_find(jobs->u.arr.items[0], "sub"));
    toml_free(r);
}
END_TEST

START_TEST(test_columns_count_characters) {
    char err[128];
    const char *doc = "a = \"\xC3\xA9\xC3\xA9\xC3\xA9\" x";
    ck_assert_ptr_null(toml_parse(doc, strlen(doc), err, sizeof err));
    ck_assert_str_eq(err, "1:11: expected the end of the line after the value, found 'x'");
}
END_TEST

START_TEST(test_bom_and_empty) {
    toml_value *r = parse_ok("\xEF\xBB\xBF"
                             "a = 1\n");
    ck_assert_int_eq(get(r, "a")->u.i, 1);
    toml_free(r);
    r = parse_ok("");
    ck_assert_uint_eq(r->u.tab.len, 0);
    toml_free(r);
}
END_TEST

/* Big tables use a hash index: every key must still be found, duplicates still caught. */
START_TEST(test_many_keys) {
    enum { N = 3000 };
    size_t cap = N * 24 + 64, len = 0;
    char *doc = malloc(cap);
    ck_assert_ptr_nonnull(doc);
    for (int i = 0; i < N; i++) len += (size_t)snprintf(doc + len, cap - len, "k%d = %d\n", i, i);
    toml_value *r = parse_ok(doc);
    ck_assert_uint_eq(r->u.tab.len, N);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(get(r, key)->u.i, i);
    }
    ck_assert_ptr_null(toml_table_find(r, "k3000"));
    toml_free(r);
    len += (size_t)snprintf(doc + len, cap - len, "k1234 = 0\n");
    char err[128];
    ck_assert_ptr_null(toml_parse(doc, len, err, sizeof err));
    ck_assert_str_eq(err, "3001:1: duplicate key 'k1234'");
    free(doc);
}
END_TEST

START_TEST(test_deep_nesting_rejected) {
    char doc[512] = "a = ";
    for (int i = 0; i < 200; i++) strcat(doc, "[");
    char err[128];
    ck_assert_ptr_null(toml_parse(doc, strlen(doc), err, sizeof err));
    ck_assert_str_eq(err, "1:105: arrays and inline tables nest too deep");
}
END_TEST

/* Rejected documents and the exact error each must give. */
static const struct {
    const char *doc, *err;
} bad[] = {
    {"a = 1\na = 2", "2:1: duplicate key 'a'"},
    {"a.b = 1\na = 2", "2:1: duplicate key 'a'"},
    {"[a]\n[a]", "2:1: table [a] is defined twice"},
    {"[a.b]\n[a]\nb = 1", "3:1: duplicate key 'b'"},
    {"a = {b=1}\na.c = 2", "2:1: cannot add keys to the inline table 'a'"},
    {"a = 1\na.b = 2", "2:1: cannot add keys to 'a': it is already an integer"},
    {"[a]\nb.c = 1\n[a.b]", "3:1: table [a.b] is already defined by dotted keys"},
    {"[a.b.c]\n[a]\nb.c.d = 1", "3:3: cannot add keys to table 'b.c' with dotted keys: it is "
                                "defined by a [header]"},
    {"[[a]]\n[a]", "2:1: cannot define table [a]: the key is already an array of tables"},
    {"a = [1]\n[[a]]", "2:1: cannot define array of tables [[a]]: the key is already an array"},
    {"a = [{b = 1}]\n[a.c]", "2:2: cannot define a table inside 'a': it is an array"},
    {"a = \"x", "1:5: unterminated string"},
    {"a = 'x", "1:5: unterminated string"},
    {"a = \"x\ny\"", "1:7: newline in a single-line string (use \"\"\" for multi-line)"},
    {"a = \"\"\"\n\"\"\"\"\"\"", "2:1: too many quotes: at most two may precede the closing "
                                 "delimiter"},
    {"a = \"\\q\"", "1:6: invalid escape sequence '\\q'"},
    {"a = \"\\x41\"", "1:6: invalid escape sequence '\\x'"},
    {"a = \"\\u00g0\"", "1:6: '\\u' needs 4 hexadecimal digits"},
    {"a = \"\\uD800\"", "1:6: escape '\\uD800' is not a Unicode scalar value"},
    {"a = \"\\U00110000\"", "1:6: escape '\\U00110000' is not a Unicode scalar value"},
    {"a = \"\xff\"", "1:6: invalid UTF-8"},
    {"a = \"\xC0\xAF\"", "1:6: invalid UTF-8"},     /* overlong '/' */
    {"a = \"\xED\xA0\x80\"", "1:6: invalid UTF-8"}, /* encoded surrogate */
    {"a = \"\x01\"", "1:6: control character U+0001 is not allowed"},
    {"# bell \x07\n", "1:8: control character U+0007 is not allowed"},
    {"a = 1\r", "1:6: carriage return not followed by a newline"},
    {"a = 9223372036854775808", "1:5: integer does not fit in 64 bits"},
    {"a = -9223372036854775809", "1:5: integer does not fit in 64 bits"},
    {"a = 0x8000000000000000", "1:5: integer does not fit in 64 bits"},
    {"a = 0x", "1:5: invalid hexadecimal integer"},
    {"a = 0o8", "1:5: invalid octal integer"},
    {"a = 0b102", "1:5: invalid binary integer"},
    {"a = +0x1", "1:5: a sign is not allowed on hex, octal or binary"},
    {"a = 1__2", "1:5: invalid number"},
    {"a = _1", "1:5: invalid value '_1'"},
    {"a = 1_", "1:5: invalid number"},
    {"a = 01", "1:5: leading zeros are not allowed"},
    {"a = 1.", "1:5: invalid float: digits expected after '.'"},
    {"a = .5", "1:5: invalid value '.5'"},
    {"a = 1e", "1:5: invalid float: bad exponent"},
    {"a = 1.5e_3", "1:5: invalid float: bad exponent"},
    {"a = Inf", "1:5: invalid value 'Inf'"},
    {"a = tru", "1:5: invalid value 'tru'"},
    {"a = 2021-02-29", "1:5: invalid date: 2021-02 has no day 29"},
    {"a = 2021-13-01", "1:5: invalid date: month 13"},
    {"a = 07:32", "1:5: invalid time: expected HH:MM:SS"},
    {"a = 24:00:00", "1:5: invalid time: 24:00:00 out of range"},
    {"a = 1979-05-27T07:32:00+25:00", "1:5: invalid time offset: out of range"},
    {"a = 07:32:00Z", "1:5: invalid date or time"},
    {"a = 1 b", "1:7: expected the end of the line after the value, found 'b'"},
    {"[a] b = 1", "1:5: expected the end of the line after the table header, found 'b'"},
    {"a = [1,,2]", "1:8: expected a value, found ','"},
    {"a = [1 2]", "1:8: expected ',' or ']' in an array, found '2'"},
    {"a = ", "1:5: expected a value, found end of input"},
    {"x = { a = 1, }", "1:14: a trailing comma is not allowed in an inline table"},
    {"a = { b = 1\n}", "1:12: expected ',' or '}' in an inline table, found end of line"},
    {"= 1", "1:1: expected a key, found '='"},
    {"a.  = 1", "1:5: expected a key, found '='"},
    {"a b = 1", "1:3: expected '=' after the key, found 'b'"},
    {"\"\"\"k\"\"\" = 1", "1:1: a key cannot be a multi-line string"},
    {"[a", "1:3: expected ']' to close the table header, found end of input"},
    {"[]", "1:2: expected a key, found ']'"},
    {"[[a] ]", "1:5: expected ']]' to close the array-of-tables header, found ' '"},
};

START_TEST(test_rejected) {
    char err[256] = "";
    const char *doc = bad[_i].doc;
    toml_value *r = toml_parse(doc, strlen(doc), err, sizeof err);
    if (r) toml_free(r);
    ck_assert_msg(r == NULL, "accepted: %s", doc);
    ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

START_TEST(test_small_error_buffer) {
    char err[8];
    ck_assert_ptr_null(toml_parse("a = 1\na = 2", 11, err, sizeof err));
    ck_assert_str_eq(err, "2:1: du");
    ck_assert_ptr_null(toml_parse("a =", 3, NULL, 0));
}
END_TEST

int main(void) {
    Suite *s = suite_create("toml");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_scalars);
    tcase_add_test(tc, test_strings_multiline);
    tcase_add_test(tc, test_datetimes);
    tcase_add_test(tc, test_tables_and_positions);
    tcase_add_test(tc, test_columns_count_characters);
    tcase_add_test(tc, test_bom_and_empty);
    tcase_add_test(tc, test_many_keys);
    tcase_add_test(tc, test_deep_nesting_rejected);
    tcase_add_loop_test(tc, test_rejected, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_small_error_buffer);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
