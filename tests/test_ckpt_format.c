/* tests/test_ckpt_format.c — the checkpoint container (common/ckpt.h): round trip, every
 * kind of damage refused with its exact reason, the fallback to the newest good file,
 * pointers, retention, listing and resolving.
 *
 * The tests encode the byte layout of docs/design/checkpoint.md themselves (offsets of
 * the version, the header CRC, ...) rather than asking the implementation, so a change of
 * layout that the document does not follow fails here. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/crc32c.h"
#include "common/rng.h"
#include "common/le.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

#define HASH_A 0x1122334455667788ULL
#define HASH_B 0x0badc0ffee000001ULL

/* ---- Helpers ---- */

static char tmpdir[256];

/* One root folder per run, made and removed by the runner process (unchecked fixture: it
 * runs even when a test fails or times out), and a fresh folder inside it per test. */
static char rootdir[128];

static void root_setup(void) {
    snprintf(rootdir, sizeof rootdir, "/tmp/rd_ckpt_test_XXXXXX");
    if (!mkdtemp(rootdir)) abort();
}

static void root_teardown(void) {
    scratch_rm_rf(rootdir);
}

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/t_XXXXXX", rootdir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
    scratch_rm_rf(tmpdir);
}

static void path_in(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s", tmpdir, name);
}

static bool exists(const char *name) {
    char p[1024];
    path_in(p, sizeof p, name);
    return access(p, F_OK) == 0;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_text(const char *name) {
    static char buf[512];
    char p[1024];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Recomputes every CRC of a (deliberately altered) file per the documented layout: the
 * section CRCs, the header CRC in the header's last 4 bytes, the whole-file CRC at the end. */
static void fix_crcs(uint8_t *b, size_t len, bool sections) {
    uint32_t hl = le_get32(b + 12);
    uint32_t n = le_get32(b + 80);
    for (uint32_t i = 0; sections && i < n && 88 + 24 * (i + 1) <= hl; i++) {
        uint8_t *e = b + 88 + 24 * i;
        uint64_t off = le_get64(e + 8), l = le_get64(e + 16);
        if (off <= len && l <= len - off) le_put32(e + 4, crc32c_update(0, b + off, l));
    }
    if (hl >= 8 && hl <= len) le_put32(b + hl - 4, crc32c_update(0, b, hl - 4));
    le_put32(b + len - 4, crc32c_update(0, b, len - 4));
}

/* A checkpoint with three sections (one empty) saved as `name`; returns the header. */
static ckpt_header sample_header(int64_t episode) {
    ckpt_header h = {.cfg_hash = HASH_A,
                     .episode = episode,
                     .steps = episode * 250,
                     .epsilon = 0.25,
                     .score = 123.5,
                     .best_score = 321.25,
                     .wall_time = 1700000000 + episode};
    return h;
}

static uint8_t sec_a[1000], sec_c[37];

static void fill_sections(void) {
    for (size_t i = 0; i < sizeof sec_a; i++) sec_a[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof sec_c; i++) sec_c[i] = (uint8_t)(255 - i);
}

/* A sample checkpoint `step` env steps into the episode after `episode` (0: at the
 * boundary), as the trainer's mid-episode checkpoints are. */
static void save_sample_at(const char *name, int64_t episode, int64_t step, bool best, int keep) {
    fill_sections();
    ckpt_header h = sample_header(episode);
    h.steps += step;
    ckpt_section s[3] = {{CKPT_TAG_ONLINE, sec_a, sizeof sec_a},
                         {CKPT_TAG('E', 'M', 'T', 'Y'), NULL, 0},
                         {CKPT_TAG('T', 'A', 'I', 'L'), sec_c, sizeof sec_c}};
    char err[512] = "";
    int rc = ckpt_save(tmpdir, name, &h, s, 3, best, keep, err, sizeof err);
    ck_assert_msg(rc == 0, "save failed: %s", err);
}

static void save_sample(const char *name, int64_t episode, bool best, int keep) {
    save_sample_at(name, episode, 0, best, keep);
}

static uint8_t *sample_bytes(size_t *len) {
    save_sample("ep_0000007", 7, false, 0);
    char p[1024];
    path_in(p, sizeof p, "ep_0000007.ckpt");
    return read_file(p, len);
}

/* Expects the buffer to be refused with exactly "NAME: reason". */
static void expect_refused(const uint8_t *b, size_t len, uint64_t hash, const char *reason) {
    char err[512] = "";
    ckpt_file *f = ckpt_open_buffer("X", b, len, hash, err, sizeof err);
    ck_assert_msg(f == NULL, "accepted a file that should say '%s'", reason);
    char want[512];
    snprintf(want, sizeof want, "X: %s", reason);
    ck_assert_str_eq(err, want);
}

/* ---- Round trip and layout ---- */

START_TEST(round_trip) {
    save_sample("ep_0000007", 7, true, 5);
    char p[1024], err[512] = "";
    path_in(p, sizeof p, "ep_0000007.ckpt");
    ckpt_file *f = ckpt_open(p, HASH_A, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const ckpt_header *h = ckpt_file_header(f);
    ck_assert_uint_eq(h->cfg_hash, HASH_A);
    ck_assert_int_eq(h->episode, 7);
    ck_assert_int_eq(h->steps, 7 * 250);
    ck_assert(h->epsilon == 0.25 && h->score == 123.5 && h->best_score == 321.25);
    ck_assert_int_eq(h->wall_time, 1700000007);
    uint64_t len = 99;
    const uint8_t *a = ckpt_file_section(f, CKPT_TAG_ONLINE, &len);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(len, sizeof sec_a);
    ck_assert_mem_eq(a, sec_a, sizeof sec_a);
    ck_assert_uint_eq((uintptr_t)a % 8, 0); /* sections are 8-aligned in the buffer too */
    const uint8_t *c = ckpt_file_section(f, CKPT_TAG('T', 'A', 'I', 'L'), &len);
    ck_assert_uint_eq(len, sizeof sec_c);
    ck_assert_mem_eq(c, sec_c, sizeof sec_c);
    ck_assert_ptr_nonnull(ckpt_file_section(f, CKPT_TAG('E', 'M', 'T', 'Y'), &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(ckpt_file_section(f, CKPT_TAG('N', 'O', 'N', 'E'), &len));
    ck_assert_uint_eq(len, 0);
    ckpt_file_free(f);
    /* expected hash 0 skips the config check */
    f = ckpt_open(p, 0, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ckpt_file_free(f);
    ck_assert_str_eq(read_text("latest"), "ep_0000007.ckpt\n");
    ck_assert_str_eq(read_text("best"), "ep_0000007.ckpt\n");
    ck_assert(!exists("ep_0000007.ckpt.tmp"));
}
END_TEST

START_TEST(documented_layout) {
    size_t len;
    uint8_t *b = sample_bytes(&len);
    ck_assert_mem_eq(b, "RDCKPT01", 8);
    ck_assert_uint_eq(le_get32(b + 8), 1);
    uint32_t hl = le_get32(b + 12);
    ck_assert_uint_eq(hl, 88 + 24 * 3 + 8);
    ck_assert_uint_eq(le_get64(b + 16), len);
    ck_assert_uint_eq(le_get64(b + 24), HASH_A);
    ck_assert_uint_eq(le_get64(b + 32), 7);
    ck_assert_uint_eq(le_get64(b + 40), 7 * 250);
    double eps;
    uint64_t bits = le_get64(b + 48);
    memcpy(&eps, &bits, 8);
    ck_assert(eps == 0.25);
    ck_assert_uint_eq(le_get32(b + 80), 3);
    ck_assert_uint_eq(le_get32(b + 84), 0);
    ck_assert_uint_eq(le_get32(b + 88), CKPT_TAG_ONLINE);
    ck_assert_mem_eq(b + 88, "ONLN", 4);
    uint64_t off0 = le_get64(b + 88 + 8);
    ck_assert_uint_eq(off0, hl);
    ck_assert_uint_eq(le_get64(b + 88 + 16), sizeof sec_a);
    ck_assert_uint_eq(le_get32(b + 88 + 4), crc32c_update(0, sec_a, sizeof sec_a));
    ck_assert_mem_eq(b + off0, sec_a, sizeof sec_a);
    uint64_t off2 = le_get64(b + 88 + 48 + 8);
    ck_assert_uint_eq(off2 % 8, 0);
    ck_assert_mem_eq(b + off2, sec_c, sizeof sec_c);
    ck_assert_uint_eq(len, ((off2 + sizeof sec_c + 7) & ~7ull) + 4);
    ck_assert_uint_eq(le_get32(b + hl - 8), 0);
    ck_assert_uint_eq(le_get32(b + hl - 4), crc32c_update(0, b, hl - 4));
    ck_assert_uint_eq(le_get32(b + len - 4), crc32c_update(0, b, len - 4));
    free(b);
}
END_TEST

/* ---- Damage ---- */

START_TEST(truncated_at_every_length) {
    size_t len;
    uint8_t *b = sample_bytes(&len);
    uint32_t hl = le_get32(b + 12);
    char reason[256];
    for (size_t n = 0; n < len; n++) {
        if (n < 32)
            snprintf(reason, sizeof reason, "truncated (%zu bytes, too short for a checkpoint)", n);
        else if (n < hl)
            snprintf(reason, sizeof reason, "truncated (%zu bytes, the header alone needs %u)", n,
                     hl);
        else
            snprintf(reason, sizeof reason, "truncated (%zu of %zu bytes)", n, len);
        expect_refused(b, n, HASH_A, reason);
    }
    /* The same through a real file, one length per class. */
    size_t cuts[] = {0, 5, 31, hl - 1, hl, len / 2, len - 4, len - 1};
    char p[1024], err[512];
    path_in(p, sizeof p, "cut.ckpt");
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(p, b, cuts[i]);
        ck_assert_ptr_null(ckpt_open(p, HASH_A, err, sizeof err));
        ck_assert_msg(strncmp(err, p, strlen(p)) == 0 && strstr(err, ": truncated ("), "%s", err);
    }
    /* Extra bytes after the trailer are refused as well. */
    uint8_t *longer = calloc(1, len + 8);
    memcpy(longer, b, len);
    snprintf(reason, sizeof reason, "%zu bytes, the header says %zu (trailing data)", len + 8, len);
    expect_refused(longer, len + 8, HASH_A, reason);
    free(longer);
    free(b);
}
END_TEST

/* The reason a flip at byte `pos` must produce, or NULL when several are right (the header
 * length field decides how much is read, so its flips have more than one fate). */
static const char *flip_reason(size_t pos, uint32_t hl) {
    if (pos < 8) return "not a checkpoint (bad magic)";
    if (pos >= 12 && pos < 16) return NULL;
    if (pos < hl) return "header CRC mismatch (file corrupt)";
    return "CRC mismatch (file corrupt or truncated)";
}

START_TEST(every_bit_flip_refused) {
    size_t len;
    uint8_t *b = sample_bytes(&len);
    uint32_t hl = le_get32(b + 12);
    char err[512];
    for (size_t pos = 0; pos < len; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            b[pos] ^= (uint8_t)(1u << bit);
            const char *r = flip_reason(pos, hl);
            if (r)
                expect_refused(b, len, HASH_A, r);
            else {
                ckpt_file *f = ckpt_open_buffer("X", b, len, HASH_A, err, sizeof err);
                ck_assert_msg(f == NULL, "flip at %zu bit %d accepted", pos, bit);
            }
            b[pos] ^= (uint8_t)(1u << bit);
        }
    }
    free(b);
}
END_TEST

START_TEST(random_bit_flips_in_a_large_file) {
    /* 1 MiB of sections; 2000 flips (single and multiple bits) at random positions. */
    size_t big = 1u << 20;
    uint8_t *data = malloc(big);
    rng_t r;
    rng_seed(&r, 42, 1);
    for (size_t i = 0; i < big; i++) data[i] = (uint8_t)rng_next(&r);
    ckpt_header h = sample_header(9);
    ckpt_section s[2] = {{CKPT_TAG_ONLINE, data, 4096}, {CKPT_TAG('R', 'P', 'L', 'Y'), data, big}};
    char err[512];
    ck_assert_int_eq(ckpt_save(tmpdir, "ep_0000009", &h, s, 2, false, 0, err, sizeof err), 0);
    char p[1024];
    path_in(p, sizeof p, "ep_0000009.ckpt");
    size_t len;
    uint8_t *b = read_file(p, &len);
    uint8_t *orig = malloc(len);
    memcpy(orig, b, len);
    uint32_t hl = le_get32(b + 12);
    for (int t = 0; t < 2000; t++) {
        int nflip = 1 + (int)rng_below(&r, 3);
        size_t pos[3];
        uint8_t mask[3];
        for (int k = 0; k < nflip; k++) {
            /* a third of the flips in the header, where the rules are finer */
            pos[k] = rng_below(&r, 3) == 0 ? rng_below(&r, hl) : rng_below(&r, (uint32_t)len);
            mask[k] = (uint8_t)(1u << rng_below(&r, 8));
            b[pos[k]] ^= mask[k];
        }
        ckpt_file *f = ckpt_open_buffer("X", b, len, HASH_A, err, sizeof err);
        /* Flips of the same bit may cancel out: then the file must load again. */
        bool restored = true;
        for (int k = 0; k < nflip; k++) restored &= b[pos[k]] == orig[pos[k]];
        if (restored) {
            ck_assert_ptr_nonnull(f);
            ckpt_file_free(f);
        } else {
            ck_assert_msg(f == NULL, "trial %d: %d flips accepted", t, nflip);
            if (nflip == 1) {
                const char *want = flip_reason(pos[0], hl);
                if (want) {
                    char full[512];
                    snprintf(full, sizeof full, "X: %s", want);
                    ck_assert_str_eq(err, full);
                }
            }
        }
        for (int k = nflip - 1; k >= 0; k--) b[pos[k]] ^= mask[k];
    }
    /* And the intact bytes still load. */
    ckpt_file *f = ckpt_open_buffer("X", b, len, HASH_A, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ckpt_file_free(f);
    free(orig);
    free(b);
    free(data);
}
END_TEST

START_TEST(other_format_version) {
    size_t len;
    uint8_t *b = sample_bytes(&len);
    le_put32(b + 8, 2);
    fix_crcs(b, len, false);
    expect_refused(b, len, HASH_A, "written by format version 2, this program reads version 1");
    /* A future version with a longer header: the prefix (magic, version, header length,
     * file size) and the header CRC in the header's last 4 bytes stay where they are, so
     * the message is still the version's. */
    size_t len2 = len + 64;
    uint8_t *b2 = calloc(1, len2);
    uint32_t hl = le_get32(b + 12);
    memcpy(b2, b, hl - 4);
    memcpy(b2 + hl + 64, b + hl, len - hl);
    le_put32(b2 + 12, hl + 64);
    le_put64(b2 + 16, len2);
    le_put32(b2 + 8, 2);
    fix_crcs(b2, len2, false);
    expect_refused(b2, len2, HASH_A, "written by format version 2, this program reads version 1");
    /* Version 0 (no such thing) too. */
    le_put32(b + 8, 0);
    fix_crcs(b, len, false);
    expect_refused(b, len, HASH_A, "written by format version 0, this program reads version 1");
    free(b2);
    free(b);
}
END_TEST

START_TEST(other_config) {
    size_t len;
    uint8_t *b = sample_bytes(&len);
    expect_refused(b, len, HASH_B,
                   "written under another config (hash 1122334455667788 != 0badc0ffee000001)");
    char p[1024], err[512], want[1200];
    path_in(p, sizeof p, "ep_0000007.ckpt");
    ck_assert_ptr_null(ckpt_open(p, HASH_B, err, sizeof err));
    snprintf(want, sizeof want,
             "%s: written under another config (hash 1122334455667788 != 0badc0ffee000001)", p);
    ck_assert_str_eq(err, want);
    free(b);
}
END_TEST

/* Crafted files with every CRC right: the table checks alone must hold the line. */
START_TEST(section_table_bounds) {
    size_t len;
    uint8_t *orig = sample_bytes(&len);
    uint8_t *b = malloc(len);
    uint32_t hl = le_get32(orig + 12);
    uint8_t *e0 = b + 88, *e1 = b + 88 + 24, *e2 = b + 88 + 48;
    struct {
        const char *reason;
        int which;
        uint64_t off, len;
    } cases[] = {
        {"corrupt section table (section 0 'ONLN': overlaps the header or the previous section)", 0,
         hl - 8, 1000},
        {"corrupt section table (section 0 'ONLN': unaligned offset)", 0, hl + 4, 1000},
        {"corrupt section table (section 2 'TAIL': extends past the end)", 2, 0, 1u << 20},
        {"corrupt section table (section 2 'TAIL': extends past the end)", 2, UINT64_MAX - 7, 16},
        {"corrupt section table (section 0 'ONLN': extends past the end)", 0, 0, UINT64_MAX - 64},
        {"corrupt section table (section 2 'TAIL': overlaps the header or the previous section)", 2,
         hl, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, orig, len);
        uint8_t *e = cases[i].which == 0 ? e0 : cases[i].which == 1 ? e1 : e2;
        if (cases[i].off) le_put64(e + 8, cases[i].off);
        le_put64(e + 16, cases[i].len);
        fix_crcs(b, len, false);
        expect_refused(b, len, HASH_A, cases[i].reason);
    }
    /* a duplicate tag */
    memcpy(b, orig, len);
    le_put32(e2, CKPT_TAG_ONLINE);
    fix_crcs(b, len, false);
    expect_refused(b, len, HASH_A, "corrupt section table (section 2 'ONLN': duplicate tag)");
    /* more sections than the header has room for */
    memcpy(b, orig, len);
    le_put32(b + 80, 4);
    fix_crcs(b, len, false);
    expect_refused(b, len, HASH_A, "corrupt header (4 sections in 168 bytes)");
    /* a section CRC that disagrees while the whole-file CRC agrees */
    memcpy(b, orig, len);
    le_put32(e1 + 4, 12345);
    fix_crcs(b, len, false);
    expect_refused(b, len, HASH_A, "CRC mismatch in section 'EMTY' (file corrupt)");
    free(b);
    free(orig);
}
END_TEST

/* A header shorter than version 1's fixed fields, with its CRC right: found by fuzzing,
 * when the header-only reader (ckpt_list, ckpt_load_policy) read past its buffer. */
START_TEST(short_header_with_valid_crc) {
    uint8_t b[40] = "RDCKPT01";
    le_put32(b + 8, 1);
    le_put32(b + 12, 32);
    le_put64(b + 16, sizeof b);
    fix_crcs(b, sizeof b, false);
    expect_refused(b, sizeof b, 0, "corrupt header (0 sections in 32 bytes)");
    char p[1024], err[1200];
    path_in(p, sizeof p, "ep_0000001.ckpt");
    write_file(p, b, sizeof b);
    ckpt_info info[2];
    ck_assert_int_eq(ckpt_list(tmpdir, info, 2, err, sizeof err), 0);
}
END_TEST

/* A FIFO in the folder must neither hang a reader nor be taken for a checkpoint. */
START_TEST(fifo_is_refused) {
    save_sample("ep_0000001", 1, false, 0);
    char p[1024], err[1200], path[1024];
    path_in(p, sizeof p, "ep_0000005.ckpt");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    ck_assert_ptr_null(ckpt_open(p, 0, err, sizeof err));
    ck_assert_msg(strstr(err, "ep_0000005.ckpt: not a regular file"), "%s", err);
    path_in(p, sizeof p, "best");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    ckpt_info info[4];
    ck_assert_int_eq(ckpt_list(tmpdir, info, 4, err, sizeof err), 1);
    bool any;
    ckpt_file *f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 1);
    ckpt_file_free(f);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "best", path, sizeof path, err, sizeof err), -1);
}
END_TEST

START_TEST(not_a_checkpoint) {
    char p[1024], err[1200];
    path_in(p, sizeof p, "nothing.ckpt");
    ck_assert_ptr_null(ckpt_open(p, 0, err, sizeof err));
    ck_assert_msg(strstr(err, "nothing.ckpt: No such file or directory") != NULL, "%s", err);
    const char text[] = "this is a text file, not a checkpoint at all.";
    expect_refused((const uint8_t *)text, sizeof text, 0, "not a checkpoint (bad magic)");
    ck_assert_ptr_null(ckpt_open(tmpdir, 0, err, sizeof err));
    ck_assert_msg(strstr(err, ": not a regular file") != NULL, "%s", err);
}
END_TEST

/* ---- The directory: fallback, pointers, retention ---- */

static void flip_byte_in(const char *name, long pos) {
    char p[1024];
    path_in(p, sizeof p, name);
    size_t len;
    uint8_t *b = read_file(p, &len);
    if (pos < 0) pos += (long)len;
    b[pos] ^= 0x40;
    write_file(p, b, len);
    free(b);
}

START_TEST(newest_good_is_loaded) {
    bool any = true;
    char path[1024], err[1200];
    ck_assert_ptr_null(ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err));
    ck_assert(!any);
    char missing[1024];
    path_in(missing, sizeof missing, "no/such/dir");
    any = true;
    ck_assert_ptr_null(ckpt_open_newest(missing, HASH_A, path, sizeof path, &any, err, sizeof err));
    ck_assert(!any);

    save_sample("ep_0000010", 10, false, 0);
    save_sample("ep_0000020", 20, true, 0);
    save_sample("ep_0000030", 30, false, 0);
    ckpt_file *f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert(any);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 30);
    ck_assert(strstr(path, "/ep_0000030.ckpt"));
    ckpt_file_free(f);

    /* latest (30) corrupt in its body: the next newest, 20, is loaded. */
    flip_byte_in("ep_0000030.ckpt", -100);
    f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 20);
    ck_assert(strstr(path, "/ep_0000020.ckpt"));
    ckpt_file_free(f);

    /* latest points at an older file: latest wins (it names what the writer chose). */
    char p[1024];
    path_in(p, sizeof p, "latest");
    write_file(p, "ep_0000010.ckpt\n", 16);
    f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 10);
    ckpt_file_free(f);

    /* a garbage pointer, a dangling one: ignored, newest good by episode */
    write_file(p, "../../etc/passwd\n", 17);
    f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 20);
    ckpt_file_free(f);
    write_file(p, "ep_0000099.ckpt\n", 16);
    f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_int_eq(ckpt_file_header(f)->episode, 20);
    ckpt_file_free(f);

    /* truncate 20, wrong config for 10: nothing loads; err tells the last refusal. */
    path_in(p, sizeof p, "ep_0000020.ckpt");
    ck_assert_int_eq(truncate(p, 100), 0);
    ck_assert_ptr_null(ckpt_open_newest(tmpdir, HASH_B, path, sizeof path, &any, err, sizeof err));
    ck_assert(any);
    ck_assert_msg(strstr(err, "ep_0000010.ckpt: written under another config"), "%s", err);
}
END_TEST

START_TEST(pointers_and_retention) {
    /* episodes 1..12, best at 2 and 5, keep 3 */
    for (int ep = 1; ep <= 12; ep++) {
        char name[32];
        snprintf(name, sizeof name, "ep_%07d", ep);
        save_sample(name, ep, ep == 2 || ep == 5, 3);
    }
    ck_assert_str_eq(read_text("latest"), "ep_0000012.ckpt\n");
    ck_assert_str_eq(read_text("best"), "ep_0000005.ckpt\n");
    for (int ep = 1; ep <= 12; ep++) {
        char name[32];
        snprintf(name, sizeof name, "ep_%07d.ckpt", ep);
        bool want = ep >= 10 || ep == 5;
        ck_assert_msg(exists(name) == want, "%s %s", name, want ? "missing" : "kept");
    }
    /* Files that are not ep_* are never touched by retention. */
    save_sample("final", 12, false, 1);
    ck_assert_str_eq(read_text("latest"), "final.ckpt\n");
    ck_assert(exists("final.ckpt") && exists("ep_0000012.ckpt") && exists("ep_0000005.ckpt"));
    ck_assert(!exists("ep_0000011.ckpt") && !exists("ep_0000010.ckpt"));
    /* Saving an older episode after newer ones (a resume from an older file): it is kept
     * because latest names it, even though it is not among the newest. */
    save_sample("ep_0000003", 3, false, 1);
    ck_assert(exists("ep_0000003.ckpt"));
    ck_assert_str_eq(read_text("latest"), "ep_0000003.ckpt\n");
    /* keep 0 keeps everything */
    save_sample("ep_0000013", 13, false, 0);
    ck_assert(exists("ep_0000003.ckpt") && exists("ep_0000013.ckpt"));
    /* No temporary file is left behind. */
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) ck_assert_msg(!strstr(de->d_name, ".tmp."), "%s", de->d_name);
    closedir(d);
}
END_TEST

/* Mid-episode checkpoints (ep_N_sS: S steps into episode N + 1) sort after the boundary
 * checkpoint at the same episode count, in retention (by name), in the listing and in the
 * fallback of ckpt_open_newest (by the header's env steps), and count towards `keep`. */
START_TEST(mid_episode_names_order_and_retention) {
    save_sample_at("ep_0000010", 10, 0, true, 3);
    save_sample_at("ep_0000010_s00040", 10, 40, false, 3);
    save_sample_at("ep_0000011", 11, 0, false, 3);
    save_sample_at("ep_0000011_s00300", 11, 300, false, 3);
    save_sample_at("ep_0000012", 12, 0, false, 3);
    ck_assert(exists("ep_0000012.ckpt") && exists("ep_0000011_s00300.ckpt") &&
              exists("ep_0000011.ckpt"));
    ck_assert(!exists("ep_0000010_s00040.ckpt"));
    ck_assert(exists("ep_0000010.ckpt")); /* best */
    ckpt_info info[8];
    char err[1024], path[1024];
    int n = ckpt_list(tmpdir, info, 8, err, sizeof err);
    ck_assert_int_eq(n, 4);
    const char *order[] = {"ep_0000012", "ep_0000011_s00300", "ep_0000011", "ep_0000010"};
    for (int i = 0; i < n; i++) ck_assert_str_eq(info[i].name, order[i]);
    ck_assert(info[0].is_latest && info[3].is_best);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "ep_0000011_s00300", path, sizeof path, err, sizeof err),
                     0);
    /* Without a usable `latest`, the newest file that verifies: of the two at episode 11,
     * the one with more steps (mtime and name would both pick the other). */
    char p[1024];
    path_in(p, sizeof p, "ep_0000012.ckpt");
    ck_assert_int_eq(unlink(p), 0);
    path_in(p, sizeof p, "latest");
    write_file(p, "garbage/\n", 9);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(tmpdir, HASH_A, path, sizeof path, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(ckpt_file_header(f)->steps, 11 * 250 + 300);
    ck_assert_ptr_nonnull(strstr(path, "ep_0000011_s00300.ckpt"));
    ckpt_file_free(f);
    /* A malformed suffix is no ep_* checkpoint for retention (never deleted by it). */
    save_sample_at("ep_0000005_sx", 5, 0, false, 1);
    save_sample_at("ep_0000013", 13, 0, false, 1);
    ck_assert(exists("ep_0000005_sx.ckpt"));
    ck_assert(!exists("ep_0000011_s00300.ckpt") && !exists("ep_0000011.ckpt"));
}
END_TEST

START_TEST(stale_temporaries_cleaned) {
    /* a writer that died: a pid that has been reaped */
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char name[128], p[1024];
    snprintf(name, sizeof name, "ep_0000001.ckpt.tmp.%d", (int)dead);
    path_in(p, sizeof p, name);
    write_file(p, "partial", 7);
    char live[128];
    snprintf(live, sizeof live, "ep_0000002.ckpt.tmp.%d", (int)getppid());
    path_in(p, sizeof p, live);
    write_file(p, "partial", 7);
    path_in(p, sizeof p, "notes.tmp.txt");
    write_file(p, "x", 1);
    save_sample("ep_0000003", 3, false, 0);
    ck_assert_msg(!exists(name), "%s of a dead writer kept", name);
    ck_assert_msg(exists(live), "%s of a live writer removed", live);
    ck_assert(exists("notes.tmp.txt"));
}
END_TEST

START_TEST(save_creates_dir_and_refuses_bad_input) {
    char sub[1024], err[1200];
    snprintf(sub, sizeof sub, "%s/a/b/checkpoints", tmpdir);
    ckpt_header h = sample_header(1);
    uint8_t x[16] = {1};
    ckpt_section s[2] = {{CKPT_TAG_ONLINE, x, sizeof x}, {CKPT_TAG_ONLINE, x, sizeof x}};
    ck_assert_int_eq(ckpt_save(sub, "ep_0000001", &h, s, 1, false, 3, err, sizeof err), 0);
    ck_assert_int_eq(ckpt_save(sub, "ep_0000002", &h, s, 2, false, 3, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "duplicate tag"), "%s", err);
    const char *bad[] = {"", "../x", "a/b", ".hidden", "latest", "best", "sp ace"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ckpt_save(sub, bad[i], &h, s, 1, false, 3, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "invalid checkpoint name"), "%s", err);
    }
    /* a folder we cannot create: the error names it */
    char blocked[1024];
    snprintf(blocked, sizeof blocked, "%s/file", tmpdir);
    write_file(blocked, "x", 1);
    snprintf(sub, sizeof sub, "%s/file/ckpts", tmpdir);
    ck_assert_int_eq(ckpt_save(sub, "ep_0000001", &h, s, 1, false, 3, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "file/ckpts: cannot create"), "%s", err);
}
END_TEST

/* A write that fails midway (here: the file size limit, as a full disk would) returns an
 * error and leaves the previous checkpoint, the pointers and no temporary file. */
START_TEST(failed_write_leaves_previous) {
    save_sample("ep_0000001", 1, true, 3);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        static uint8_t big[1 << 20];
        ckpt_header h = sample_header(2);
        ckpt_section s = {CKPT_TAG_ONLINE, big, sizeof big};
        char err[1200];
        int rc = ckpt_save(tmpdir, "ep_0000002", &h, &s, 1, true, 3, err, sizeof err);
        _exit(rc == -1 && strstr(err, ".tmp.") && strstr(err, ": write failed: File too large")
                  ? 0
                  : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "save did not fail as expected");
    ck_assert(!exists("ep_0000002.ckpt"));
    ck_assert_str_eq(read_text("latest"), "ep_0000001.ckpt\n");
    ck_assert_str_eq(read_text("best"), "ep_0000001.ckpt\n");
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) ck_assert_msg(!strstr(de->d_name, ".tmp."), "%s", de->d_name);
    closedir(d);
    char p[1024], err[1200];
    path_in(p, sizeof p, "ep_0000001.ckpt");
    ckpt_file *f = ckpt_open(p, HASH_A, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ckpt_file_free(f);
}
END_TEST

START_TEST(list_and_resolve) {
    ckpt_info info[8];
    char err[1200], path[1024];
    char missing[1024];
    path_in(missing, sizeof missing, "none");
    ck_assert_int_eq(ckpt_list(missing, info, 8, err, sizeof err), 0);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "latest", path, sizeof path, err, sizeof err), -1);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "best", path, sizeof path, err, sizeof err), -1);

    save_sample("ep_0000100", 100, true, 0);
    save_sample("ep_0000300", 300, false, 0);
    save_sample("ep_0000200", 200, false, 0); /* latest, though not the highest episode */
    save_sample("ep_0000400", 400, false, 0);
    path_in(path, sizeof path, "latest");
    write_file(path, "ep_0000200.ckpt\n", 16);
    flip_byte_in("ep_0000400.ckpt", 20); /* header damage: skipped by the listing */
    int n = ckpt_list(tmpdir, info, 8, err, sizeof err);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(info[0].name, "ep_0000300");
    ck_assert_str_eq(info[1].name, "ep_0000200");
    ck_assert_str_eq(info[2].name, "ep_0000100");
    ck_assert_int_eq(info[0].episode, 300);
    ck_assert_int_eq(info[0].steps, 300 * 250);
    ck_assert(info[0].score == 123.5 && info[0].best_score == 321.25);
    ck_assert(!info[0].is_latest && !info[0].is_best);
    ck_assert(info[1].is_latest && !info[1].is_best);
    ck_assert(!info[2].is_latest && info[2].is_best);
    ck_assert(strstr(info[2].path, "/ep_0000100.ckpt"));
    ck_assert_int_gt(info[2].mtime, 1600000000);
    ck_assert_int_eq(ckpt_list(tmpdir, info, 2, err, sizeof err), 2);

    ck_assert_int_eq(ckpt_resolve(tmpdir, "latest", path, sizeof path, err, sizeof err), 0);
    ck_assert(strstr(path, "/ep_0000200.ckpt"));
    ck_assert_int_eq(ckpt_resolve(tmpdir, "best", path, sizeof path, err, sizeof err), 0);
    ck_assert(strstr(path, "/ep_0000100.ckpt"));
    ck_assert_int_eq(ckpt_resolve(tmpdir, "ep_0000300", path, sizeof path, err, sizeof err), 0);
    ck_assert(strstr(path, "/ep_0000300.ckpt"));
    ck_assert_int_eq(ckpt_resolve(tmpdir, "ep_0000300.ckpt", path, sizeof path, err, sizeof err),
                     0);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "ep_0000999", path, sizeof path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no checkpoint 'ep_0000999.ckpt'"), "%s", err);
    const char *evil[] = {"../ep_0000300", "/etc/passwd", "..", ".latest", "a/b", ""};
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        ck_assert_int_eq(ckpt_resolve(tmpdir, evil[i], path, sizeof path, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "invalid model name"), "%s", err);
    }
    char small[8];
    ck_assert_int_eq(ckpt_resolve(tmpdir, "latest", small, sizeof small, err, sizeof err), -1);

    /* Without a latest pointer, "latest" is the newest file whose header verifies. */
    path_in(path, sizeof path, "latest");
    unlink(path);
    ck_assert_int_eq(ckpt_resolve(tmpdir, "latest", path, sizeof path, err, sizeof err), 0);
    ck_assert(strstr(path, "/ep_0000300.ckpt"));
}
END_TEST

Suite *ckpt_suite(void) {
    Suite *s = suite_create("ckpt_format");
    TCase *tc = tcase_create("format");
    tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120); /* several seconds each under ASan on a busy machine */
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, documented_layout);
    tcase_add_test(tc, truncated_at_every_length);
    tcase_add_test(tc, every_bit_flip_refused);
    tcase_add_test(tc, random_bit_flips_in_a_large_file);
    tcase_add_test(tc, other_format_version);
    tcase_add_test(tc, other_config);
    tcase_add_test(tc, section_table_bounds);
    tcase_add_test(tc, short_header_with_valid_crc);
    tcase_add_test(tc, fifo_is_refused);
    tcase_add_test(tc, not_a_checkpoint);
    tcase_add_test(tc, newest_good_is_loaded);
    tcase_add_test(tc, pointers_and_retention);
    tcase_add_test(tc, stale_temporaries_cleaned);
    tcase_add_test(tc, save_creates_dir_and_refuses_bad_input);
    tcase_add_test(tc, failed_write_leaves_previous);
    tcase_add_test(tc, list_and_resolve);
    tcase_add_test(tc, mid_episode_names_order_and_retention);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    int failed = runner_run(ckpt_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
