/* tests/fuzz_ckpt.c — libFuzzer target for the checkpoint reader (common/ckpt.c).
 *
 * Random bytes rarely get past a CRC, which would leave the section-table checks behind it
 * unfuzzed. So the first input byte holds flags and the rest is the file:
 *   bit 0: recompute the CRCs (sections, header, whole file) per the documented layout
 *          before reading, so that the structural checks see crafted tables;
 *   bit 1: write the expected config hash into the header first;
 *   bit 2: also read it the server's way, ckpt_load_policy() on a memfd.
 * With RD_FUZZ_CKPT_SEEDS=DIR set, the target writes a few valid checkpoints there as seeds
 * (scripts/test.d/ckpt-fuzz.sh does this with -runs=0). */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/crc32c.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/policy.h"
#include "common/le.h"

static cfg_config cfg;
static uint64_t hash;
static policy_t *pol;
static volatile uint8_t sink; /* keeps the reads of verified sections */

/* Layout: docs/design/checkpoint.md. Only what lies inside the buffer is touched. */
static void fix_crcs(uint8_t *b, size_t len) {
    if (len < 96) return;
    uint32_t hl = le_get32(b + 12), n = le_get32(b + 80);
    for (uint32_t i = 0; i < n && i < 256 && 88 + 24 * (uint64_t)(i + 1) <= hl &&
                         88 + 24 * (uint64_t)(i + 1) <= len;
         i++) {
        uint8_t *e = b + 88 + 24 * i;
        uint64_t off = le_get64(e + 8), l = le_get64(e + 16);
        if (off <= len && l <= len - off) le_put32(e + 4, crc32c_update(0, b + off, l));
    }
    if (hl >= 8 && hl <= len) le_put32(b + hl - 4, crc32c_update(0, b, hl - 4));
    le_put32(b + len - 4, crc32c_update(0, b, len - 4));
}

/* Writes the 3 seed checkpoints into dir; 0, or -1 with a message on stderr (a fuzz run
 * without its seeds would search blind, so the script must know). */
static int write_seeds(const char *dir) {
    char tmp[] = "/tmp/rd_fuzz_ckpt_XXXXXX", err[1200];
    if (!mkdtemp(tmp)) {
        perror("fuzz_ckpt: mkdtemp");
        return -1;
    }
    int rc = 0;
    size_t wb = policy_num_params(pol) * sizeof(float);
    uint8_t *w = calloc(1, wb), extra[100] = {7};
    ckpt_header h = {.cfg_hash = hash, .episode = 500, .steps = 1000, .score = -1};
    ckpt_section s[3] = {{CKPT_TAG_ONLINE, w, wb},
                         {CKPT_TAG('R', 'P', 'L', 'Y'), extra, sizeof extra},
                         {CKPT_TAG('E', 'M', 'T', 'Y'), NULL, 0}};
    for (int v = 0; v < 3 && rc == 0; v++) {
        char name[32], path[1200], out[1200];
        snprintf(name, sizeof name, "ep_%07d", v);
        if (!w || ckpt_save(tmp, name, &h, s, v + 1, false, 0, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_ckpt: seed %d: %s\n", v, w ? err : "out of memory");
            rc = -1;
            break;
        }
        snprintf(path, sizeof path, "%s/%s.ckpt", tmp, name);
        FILE *in = fopen(path, "rb");
        snprintf(out, sizeof out, "%s/seed_%d", dir, v);
        FILE *o = fopen(out, "wb");
        if (in && o) {
            fputc(v == 0 ? 7 : 1, o); /* flags: fix CRCs (+ hash + policy load for v0) */
            int c;
            while ((c = fgetc(in)) != EOF) fputc(c, o);
        } else {
            fprintf(stderr, "fuzz_ckpt: seed %d: cannot copy %s to %s\n", v, path, out);
            rc = -1;
        }
        if (in) fclose(in);
        if (o && fclose(o) != 0) rc = -1;
        unlink(path);
    }
    char p[1200];
    snprintf(p, sizeof p, "%s/latest", tmp);
    unlink(p);
    rmdir(tmp);
    free(w);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    cfg_defaults(&cfg);
    hash = cfg_hash(&cfg);
    char err[256];
    pol = policy_create(&cfg, 1, err, sizeof err);
    if (!pol) abort();
    const char *seeds = getenv("RD_FUZZ_CKPT_SEEDS");
    if (seeds && write_seeds(seeds) != 0) exit(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);
    if (len) memcpy(b, data + 1, len);
    if ((flags & 2) && len >= 32) le_put64(b + 24, hash);
    if ((flags & 1) && len >= 4) fix_crcs(b, len);
    char err[512];
    ckpt_file *f = ckpt_open_buffer("fuzz", b, len, hash, err, sizeof err);
    if (f) {
        /* Whatever verified must be readable end to end. */
        const ckpt_header *h = ckpt_file_header(f);
        (void)h;
        uint64_t l;
        const uint8_t *p = ckpt_file_section(f, CKPT_TAG_ONLINE, &l);
        for (uint64_t i = 0; p && i < l; i += 4096) sink ^= p[i];
        if (p && l) sink ^= p[l - 1];
        ckpt_file_free(f);
    } else if (err[0] == '\0') {
        abort(); /* a refusal must say why */
    }
    if (flags & 4) {
        int fd = memfd_create("ckpt", 0);
        if (fd >= 0) {
            if (write(fd, b, len) == (ssize_t)len) {
                char path[64];
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                ckpt_load_policy(path, &cfg, pol, NULL, err, sizeof err);
            }
            close(fd);
        }
    }
    free(b);
    return 0;
}
