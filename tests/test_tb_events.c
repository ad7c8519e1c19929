/* tests/test_tb_events.c — TensorBoard event files read back by an independent reader
 * (tests/support/tbread.c, which shares no code with trainer/tb.c but the CRC32C of
 * common/crc32c.h, itself checked against its definition in tests/test_common_crc32c.c). */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/tbread.h"
#include "trainer/tb.h"
#include "tests/support/runner.h"

/* ---- helpers ---- */

static void make_tmpdir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/rd_test_tb.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Lists the event files in dir into paths (at most max); returns how many. */
static int list_event_files(const char *dir, char paths[][512], int max) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "events.out.tfevents.", 20) != 0) continue;
        if (n < max) snprintf(paths[n], 512, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void rm_tree(const char *dir) {
    char paths[16][512];
    int n = list_event_files(dir, paths, 16);
    for (int i = 0; i < n && i < 16; i++) unlink(paths[i]);
    rmdir(dir);
}

/* ---- tests ---- */

START_TEST(test_masked_crc) {
    /* TFRecord's mask of CRC32C (the CRC itself: tests/test_common_crc32c.c). */
    ck_assert_uint_eq(tb_masked_crc("123456789", 9), tbread_mask(0xE3069283u));
}
END_TEST

START_TEST(test_roundtrip) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    char err[256] = "";
    tb_writer *w = tb_open(dir, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    /* Steps that take 1, 2, 5, 9 and 10 varint bytes; a tag of 200 bytes takes a two-byte
     * length; values that must survive bit-exactly. */
    static const int64_t steps[] = {0, 1, 127, 128, 300, 1LL << 35, INT64_MAX, -1};
    char long_tag[201];
    memset(long_tag, 'x', 200);
    long_tag[200] = '\0';
    const char *tags[] = {"episode/reward", "train/loss", long_tag, "a"};
    int n = (int)(sizeof steps / sizeof steps[0]);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            tb_scalar(w, tags[i % 4], steps[i], 1700000000.25 + i, (float)i * -1.5f + 0.1f), 0);
    tb_close(w);

    char paths[4][512];
    ck_assert_int_eq(list_event_files(dir, paths, 4), 1);
    tbread_event ev[16];
    int got = tbread_file(paths[0], ev, 16);
    ck_assert_int_eq(got, n + 1);
    ck_assert(ev[0].has_version);
    ck_assert_str_eq(ev[0].file_version, "brain.Event:2");
    ck_assert(ev[0].has_wall && ev[0].wall_time > 1.6e9);
    ck_assert_int_eq(ev[0].n_values, 0);
    for (int i = 0; i < n; i++) {
        tbread_event *e = &ev[i + 1];
        ck_assert(e->has_wall && e->has_value && !e->has_version);
        ck_assert_int_eq(e->n_values, 1);
        /* proto3 may omit a zero step; ours always writes it, and a reader treats
         * absence as zero. */
        ck_assert_int_eq(e->has_step ? e->step : 0, steps[i]);
        ck_assert_double_eq(e->wall_time, 1700000000.25 + i);
        ck_assert_str_eq(e->tag, tags[i % 4]);
        float want = (float)i * -1.5f + 0.1f;
        ck_assert(memcmp(&e->value, &want, 4) == 0);
    }
    rm_tree(dir);
}
END_TEST

/* Many more records than the buffer holds: the flushes in the middle must keep records
 * whole and in order. tb_flush in between makes the file valid at that point. */
START_TEST(test_many_and_flush) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    char err[256] = "";
    tb_writer *w = tb_open(dir, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    enum { N = 5000 };
    char tag[32];
    for (int i = 0; i < N; i++) {
        snprintf(tag, sizeof tag, "series/%d", i % 7);
        ck_assert_int_eq(tb_scalar(w, tag, i, 1e9 + i, (float)i), 0);
        if (i == 1234) {
            ck_assert_int_eq(tb_flush(w), 0);
            char paths[2][512];
            ck_assert_int_eq(list_event_files(dir, paths, 2), 1);
            static tbread_event mid[N + 1];
            ck_assert_int_eq(tbread_file(paths[0], mid, N + 1), 1235 + 1);
        }
    }
    tb_close(w);
    char paths[2][512];
    ck_assert_int_eq(list_event_files(dir, paths, 2), 1);
    static tbread_event ev[N + 1];
    ck_assert_int_eq(tbread_file(paths[0], ev, N + 1), N + 1);
    for (int i = 0; i < N; i++) {
        snprintf(tag, sizeof tag, "series/%d", i % 7);
        ck_assert_str_eq(ev[i + 1].tag, tag);
        ck_assert_int_eq(ev[i + 1].step, i);
        ck_assert(ev[i + 1].value == (float)i);
    }
    rm_tree(dir);
}
END_TEST

/* Two writers opened in the same second (a quick restart) get two files, never one
 * shared or clobbered file; the tb/ folder itself is created when missing. */
START_TEST(test_two_writers_and_mkdir) {
    char parent[64], dir[128];
    make_tmpdir(parent, sizeof parent);
    snprintf(dir, sizeof dir, "%s/tb", parent);
    char err[256] = "";
    tb_writer *a = tb_open(dir, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    tb_writer *b = tb_open(dir, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(tb_scalar(a, "a", 1, 1.0, 1.0f), 0);
    ck_assert_int_eq(tb_scalar(b, "b", 2, 2.0, 2.0f), 0);
    tb_close(a);
    tb_close(b);
    char paths[4][512];
    ck_assert_int_eq(list_event_files(dir, paths, 4), 2);
    for (int i = 0; i < 2; i++) {
        tbread_event ev[4];
        ck_assert_int_eq(tbread_file(paths[i], ev, 4), 2);
    }
    rm_tree(dir);
    rmdir(parent);
}
END_TEST

START_TEST(test_errors) {
    char err[256] = "";
    ck_assert_ptr_null(tb_open("/nonexistent-rd-dir/sub/tb", err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent-rd-dir/sub/tb") != NULL, "err: %s", err);

    char dir[64];
    make_tmpdir(dir, sizeof dir);
    tb_writer *w = tb_open(dir, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    char huge[2000];
    memset(huge, 'y', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    ck_assert_int_eq(tb_scalar(w, huge, 1, 1.0, 1.0f), -1);
    ck_assert_int_eq(tb_scalar(w, "ok", 1, 1.0, 1.0f), 0);
    tb_close(w);
    tb_close(NULL);
    char paths[2][512];
    ck_assert_int_eq(list_event_files(dir, paths, 2), 1);
    tbread_event ev[4];
    ck_assert_int_eq(tbread_file(paths[0], ev, 4), 2);
    rm_tree(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_masked_crc);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_many_and_flush);
    tcase_add_test(tc, test_two_writers_and_mkdir);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
