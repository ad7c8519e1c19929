/* bench/bench_ckpt.c — checkpoint save and load times (median of several runs).
 *
 * Two replay layouts of 100,000 transitions: the observation-pair layout of a textbook DQN
 * (2 x 87 floats + reward + action + done: about 70 MB) and the trainer's compact layout
 * (trainer/replay.h: world states instead of observations). Besides them the level 1
 * networks (online, target, Adam's two moments) and RNG states, as the trainer saves.
 *   save:   ckpt_save() — write to a temporary file, fsync, rename, fsync the folder,
 *           pointers, retention;
 *   load:   ckpt_open() — read, whole-file and section CRCs (warm page cache);
 *   policy: ckpt_load_policy() — what the server does: header and ONLINE section only.
 * Usage: bench_ckpt [--runs N] [--dir DIR] */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/crc32c.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/policy.h"
#include "trainer/replay.h"
#include "tests/support/bstats.h"
#include "tests/support/tclock.h"

#define TRANSITIONS 100000

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        unlinkat(dirfd(d), de->d_name, 0);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static int run(const char *label, const char *dir, size_t replay_bytes, int runs) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    char err[1200];
    policy_t *p = policy_create(&cfg, 1, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench_ckpt: %s\n", err);
        return -1;
    }
    size_t wbytes = policy_num_params(p) * sizeof(float);
    uint8_t *replay = malloc(replay_bytes);
    uint8_t *nets = malloc(4 * wbytes);
    if (!replay || !nets) return -1;
    /* Non-constant contents so that nothing below can shortcut. */
    uint64_t x = 12345;
    for (size_t i = 0; i + 8 <= replay_bytes; i += 8) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        memcpy(replay + i, &x, 8);
    }
    for (int k = 0; k < 4; k++) memcpy(nets + k * wbytes, policy_params(p), wbytes);
    uint8_t rngs[4 * 32] = {1};
    ckpt_section s[] = {
        {CKPT_TAG_ONLINE, nets, wbytes},
        {CKPT_TAG('T', 'R', 'G', 'T'), nets + wbytes, wbytes},
        {CKPT_TAG('A', 'D', 'M', 'M'), nets + 2 * wbytes, wbytes},
        {CKPT_TAG('A', 'D', 'M', 'V'), nets + 3 * wbytes, wbytes},
        {CKPT_TAG('R', 'P', 'L', 'Y'), replay, replay_bytes},
        {CKPT_TAG('R', 'N', 'G', 'S'), rngs, sizeof rngs},
    };
    int n = (int)(sizeof s / sizeof s[0]);
    double save[64], load[64], pol[64];
    size_t file_bytes = 0;
    for (int r = 0; r < runs; r++) {
        ckpt_header h = {.cfg_hash = cfg_hash(&cfg), .episode = 1000 + r, .steps = 1, .score = -1};
        char name[32], path[2048];
        snprintf(name, sizeof name, "ep_%07d", 1000 + r);
        double t0 = tclock_now_s();
        if (ckpt_save(dir, name, &h, s, n, false, 2, err, sizeof err) != 0) {
            fprintf(stderr, "bench_ckpt: %s\n", err);
            return -1;
        }
        save[r] = tclock_now_s() - t0;
        snprintf(path, sizeof path, "%s/%s.ckpt", dir, name);
        t0 = tclock_now_s();
        ckpt_file *f = ckpt_open(path, cfg_hash(&cfg), err, sizeof err);
        uint64_t len = 0;
        if (!f || !ckpt_file_section(f, CKPT_TAG('R', 'P', 'L', 'Y'), &len)) {
            fprintf(stderr, "bench_ckpt: %s\n", err);
            return -1;
        }
        load[r] = tclock_now_s() - t0;
        ckpt_file_free(f);
        t0 = tclock_now_s();
        if (ckpt_load_policy(path, &cfg, p, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "bench_ckpt: %s\n", err);
            return -1;
        }
        pol[r] = tclock_now_s() - t0;
        struct stat st;
        if (stat(path, &st) == 0) file_bytes = (size_t)st.st_size;
    }
    double ms = bstats_median(save, runs) * 1e3, ml = bstats_median(load, runs) * 1e3;
    printf("%-34s file %6.1f MB  save %7.1f ms (%6.0f MB/s)  load %6.1f ms (%6.0f MB/s)  "
           "policy-only load %5.2f ms   [median of %d]\n",
           label, (double)file_bytes / 1e6, ms, (double)file_bytes / 1e3 / ms, ml,
           (double)file_bytes / 1e3 / ml, bstats_median(pol, runs) * 1e3, runs);
    free(replay);
    free(nets);
    policy_free(p);
    return 0;
}

int main(int argc, char **argv) {
    int runs = 5;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_ckpt [--runs N] [--dir DIR]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 64) runs = 5;
    log_init("bench_ckpt", false);

    /* CRC32C throughput, the floor under load and save times. */
    size_t nb = 64u << 20;
    uint8_t *buf = malloc(nb);
    memset(buf, 0xa5, nb);
    double c[64];
    uint32_t sink = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = tclock_now_s();
        sink ^= crc32c_update(0, buf, nb);
        c[r] = tclock_now_s() - t0;
    }
    printf("crc32c (%s)%*s %6.0f MB/s   [median of %d; %08x]\n",
           getenv("RD_CKPT_CRC") ? getenv("RD_CKPT_CRC") : "auto", 20, "",
           (double)nb / 1e6 / bstats_median(c, runs), runs, sink);
    free(buf);

    char dir[2048];
    snprintf(dir, sizeof dir, "%s/rd_bench_ckpt_XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = 0;
    size_t obs_pair = 2 * 87 * sizeof(float) + sizeof(float) + 2; /* s, s', reward, a, done */
    rc |= run("replay 100k x obs pairs (706 B)", dir, (size_t)TRANSITIONS * obs_pair, runs);
    char label[64];
    snprintf(label, sizeof label, "replay 100k x trainer layout (%zu B)",
             sizeof(replay_transition));
    rc |= run(label, dir, (size_t)TRANSITIONS * sizeof(replay_transition), runs);
    rm_dir(dir);
    return rc ? 1 : 0;
}
