/* tests/test_tb_events.c — TensorBoard event files read back by an independent reader.
 *
 * The reader below shares no code with trainer/tb.c: its CRC32C is the plain bitwise
 * definition and its protobuf decoder is a generic wire-format walker, so a bug in the
 * writer's encoding or framing cannot be hidden by the same bug in the check. */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainer/tb.h"

/* ---- independent reader ---- */

static uint32_t ref_crc32c(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static uint32_t ref_mask(uint32_t c) {
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

typedef struct {
    double wall_time;
    int64_t step;
    char file_version[64];
    char tag[1024];
    float value;
    bool has_wall, has_step, has_version, has_value;
    int n_values; /* Summary.value entries */
} event_t;

/* Reads a varint at *p (bounded by end); false when malformed. */
static bool rd_varint(const unsigned char **p, const unsigned char *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return false;
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Walks one message; calls back for each field. Wire types 0, 1, 2, 5 only. */
typedef bool (*field_cb)(void *ctx, int field, int wt, uint64_t num, const unsigned char *data,
                         size_t len);

static bool walk(const unsigned char *p, size_t n, field_cb cb, void *ctx) {
    const unsigned char *end = p + n;
    while (p < end) {
        uint64_t key, num = 0;
        if (!rd_varint(&p, end, &key)) return false;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        const unsigned char *data = NULL;
        size_t len = 0;
        switch (wt) {
            case 0:
                if (!rd_varint(&p, end, &num)) return false;
                break;
            case 1:
                if (end - p < 8) return false;
                num = get_le(p, 8);
                p += 8;
                break;
            case 5:
                if (end - p < 4) return false;
                num = get_le(p, 4);
                p += 4;
                break;
            case 2:
                if (!rd_varint(&p, end, &num) || num > (uint64_t)(end - p)) return false;
                data = p;
                len = (size_t)num;
                p += len;
                break;
            default:
                return false;
        }
        if (!cb(ctx, field, wt, num, data, len)) return false;
    }
    return true;
}

static bool value_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                     size_t len) {
    event_t *e = ctx;
    if (field == 1 && wt == 2 && len < sizeof e->tag) {
        memcpy(e->tag, d, len);
        e->tag[len] = '\0';
    } else if (field == 2 && wt == 5) {
        uint32_t bits = (uint32_t)num;
        memcpy(&e->value, &bits, 4);
        e->has_value = true;
    } else {
        return false;
    }
    return true;
}

static bool summary_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                       size_t len) {
    event_t *e = ctx;
    if (field != 1 || wt != 2) return false;
    e->n_values++;
    return walk(d, len, value_cb, e);
}

static bool event_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                     size_t len) {
    event_t *e = ctx;
    if (field == 1 && wt == 1) {
        memcpy(&e->wall_time, &num, 8);
        e->has_wall = true;
    } else if (field == 2 && wt == 0) {
        e->step = (int64_t)num;
        e->has_step = true;
    } else if (field == 3 && wt == 2 && len < sizeof e->file_version) {
        memcpy(e->file_version, d, len);
        e->file_version[len] = '\0';
        e->has_version = true;
    } else if (field == 5 && wt == 2) {
        return walk(d, len, summary_cb, e);
    } else {
        return false;
    }
    return true;
}

/* Reads every record of the file into events (at most max); returns the count, or -1 if a
 * length, CRC or protobuf is wrong or the file ends inside a record. */
static int read_events(const char *path, event_t *events, int max) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int n = 0;
    unsigned char hdr[12], crc[4];
    static unsigned char data[1 << 16];
    for (;;) {
        size_t got = fread(hdr, 1, 12, f);
        if (got == 0) break;
        if (got != 12) goto bad;
        uint64_t len = get_le(hdr, 8);
        if ((uint32_t)get_le(hdr + 8, 4) != ref_mask(ref_crc32c(hdr, 8))) goto bad;
        if (len > sizeof data || fread(data, 1, len, f) != len || fread(crc, 1, 4, f) != 4)
            goto bad;
        if ((uint32_t)get_le(crc, 4) != ref_mask(ref_crc32c(data, len))) goto bad;
        if (n >= max) goto bad;
        memset(&events[n], 0, sizeof events[n]);
        if (!walk(data, len, event_cb, &events[n])) goto bad;
        n++;
    }
    fclose(f);
    return n;
bad:
    fclose(f);
    return -1;
}

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

START_TEST(test_crc32c_vectors) {
    /* "123456789" is the standard check value; the 32-byte vectors are RFC 3720 B.4. */
    ck_assert_uint_eq(tb_crc32c("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(tb_crc32c("", 0), 0u);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(tb_crc32c(buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    ck_assert_uint_eq(tb_crc32c(buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
    ck_assert_uint_eq(tb_crc32c(buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
    ck_assert_uint_eq(tb_crc32c(buf, 32), 0x113FDB5Cu);
    /* Every length and alignment against the bitwise definition (the writer uses
     * slicing-by-8, whose tail handling is where bugs hide). */
    unsigned char big[300];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof big; n += 1 + n / 16)
            ck_assert_uint_eq(tb_crc32c(big + off, n), ref_crc32c(big + off, n));
    ck_assert_uint_eq(tb_masked_crc("123456789", 9), ref_mask(0xE3069283u));
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
    event_t ev[16];
    int got = read_events(paths[0], ev, 16);
    ck_assert_int_eq(got, n + 1);
    ck_assert(ev[0].has_version);
    ck_assert_str_eq(ev[0].file_version, "brain.Event:2");
    ck_assert(ev[0].has_wall && ev[0].wall_time > 1.6e9);
    ck_assert_int_eq(ev[0].n_values, 0);
    for (int i = 0; i < n; i++) {
        event_t *e = &ev[i + 1];
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
            static event_t mid[N + 1];
            ck_assert_int_eq(read_events(paths[0], mid, N + 1), 1235 + 1);
        }
    }
    tb_close(w);
    char paths[2][512];
    ck_assert_int_eq(list_event_files(dir, paths, 2), 1);
    static event_t ev[N + 1];
    ck_assert_int_eq(read_events(paths[0], ev, N + 1), N + 1);
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
        event_t ev[4];
        ck_assert_int_eq(read_events(paths[i], ev, 4), 2);
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
    event_t ev[4];
    ck_assert_int_eq(read_events(paths[0], ev, 4), 2);
    rm_tree(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_crc32c_vectors);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_many_and_flush);
    tcase_add_test(tc, test_two_writers_and_mkdir);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
