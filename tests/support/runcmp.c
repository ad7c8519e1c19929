/* tests/support/runcmp.c — see runcmp.h. */
#include "tests/support/runcmp.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ckpt.h"
#include "tests/support/orch_harness.h"

/* Compares the final training state (online, target, Adam) of two runs' checkpoints. */
void runcmp_expect_same_final(const char *a_dir, const char *b_dir, const char *name,
                              long episodes) {
    static const uint32_t tags[] = {CKPT_TAG_ONLINE, CKPT_TAG('T', 'R', 'G', 'T'),
                                    CKPT_TAG('A', 'D', 'A', 'M')};
    char pa[800], pb[800], err[512];
    snprintf(pa, sizeof pa, "%s/%s/checkpoints/ep_%07ld.ckpt", a_dir, name, episodes);
    snprintf(pb, sizeof pb, "%s/%s/checkpoints/ep_%07ld.ckpt", b_dir, name, episodes);
    ckpt_file *fa = ckpt_open(pa, 0, err, sizeof err);
    ck_assert_msg(fa, "%s", err);
    ckpt_file *fb = ckpt_open(pb, 0, err, sizeof err);
    ck_assert_msg(fb, "%s", err);
    ck_assert_int_eq(ckpt_file_header(fa)->steps, ckpt_file_header(fb)->steps);
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        uint64_t la = 0, lb = 0;
        const void *sa = ckpt_file_section(fa, tags[t], &la);
        const void *sb = ckpt_file_section(fb, tags[t], &lb);
        ck_assert_ptr_nonnull(sa);
        ck_assert_ptr_nonnull(sb);
        ck_assert_uint_eq(la, lb);
        ck_assert_msg(memcmp(sa, sb, la) == 0, "%s: section %zu differs after the resume", name, t);
    }
    ckpt_file_free(fa);
    ckpt_file_free(fb);
}

long runcmp_episode(const char *dir, const char *name) {
    char p[800];
    snprintf(p, sizeof p, "%s/%s/progress.json", dir, name);
    char *s = h_read(p);
    const char *e = strstr(s, "\"episode\":");
    long ep = e ? atol(e + 10) : 0;
    free(s);
    return ep;
}
