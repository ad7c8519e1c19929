/* tests/test_ckpt_crash.c — a writer killed with SIGKILL at random instants never leaves
 * the checkpoint folder without a loadable checkpoint (docs/design/checkpoint.md, "Writing").
 *
 * Each trial forks a child that resumes like the trainer (the episode after the newest
 * loadable checkpoint) and saves checkpoints of several MiB in a loop, telling the parent
 * on a pipe when each save starts and when it returned. The parent kills it either at a
 * random instant after the fork, or a random fraction of a save's duration after a save
 * started — so that many kills land mid-write — then checks:
 *   - once any save returned, the newest loadable checkpoint exists and is at least as new
 *     as the last save that returned (a returned save is durable);
 *   - `latest` and `best`, when present, name files that verify;
 *   - the loaded sections hold exactly the bytes written for that episode.
 * The kills that found a temporary file (a write in progress) are counted, and the test
 * insists that some did, so that it cannot pass by always killing between saves. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/log.h"
#include "common/rng.h"
#include "tests/support/runner.h"
#include "tests/support/tclock.h"
#include "tests/support/scratch.h"

#define TRIALS     120
#define ONLN_BYTES (100u << 10)
#define RPLY_BYTES (6u << 20)
#define HASH       0x5eed5eed5eed5eedULL

static char tmpdir[256];

/* The bytes of a section for an episode: a cheap pattern that differs per episode, tag and
 * position, so that a file holding another save's bytes is caught. */
static void fill(uint8_t *p, size_t n, int64_t ep, uint32_t tag) {
    uint64_t x = (uint64_t)ep * 0x9e3779b97f4a7c15ULL ^ tag;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rng__splitmix64(&x);
        memcpy(p + i, &v, 8);
    }
}

static bool matches(const uint8_t *p, size_t n, int64_t ep, uint32_t tag, uint8_t *scratch) {
    fill(scratch, n, ep, tag);
    return memcmp(p, scratch, n) == 0;
}

/* The child: saves ep, ep+1, ... until killed. Messages on fd: 'S' + episode before a save,
 * 'D' + episode after it returned. */
static void writer(int fd, int64_t ep) {
    alarm(30); /* never outlive a broken parent */
    uint8_t *onln = malloc(ONLN_BYTES), *rply = malloc(RPLY_BYTES);
    if (!onln || !rply) _exit(2);
    for (;; ep++) {
        fill(onln, ONLN_BYTES, ep, CKPT_TAG_ONLINE);
        fill(rply, RPLY_BYTES, ep, CKPT_TAG('R', 'P', 'L', 'Y'));
        ckpt_header h = {.cfg_hash = HASH, .episode = ep, .steps = ep * 100, .score = (double)ep};
        ckpt_section s[2] = {{CKPT_TAG_ONLINE, onln, ONLN_BYTES},
                             {CKPT_TAG('R', 'P', 'L', 'Y'), rply, RPLY_BYTES}};
        char name[32], err[1024], msg[16];
        snprintf(name, sizeof name, "ep_%07lld", (long long)ep);
        msg[0] = 'S';
        memcpy(msg + 1, &ep, 8);
        if (write(fd, msg, 9) != 9) _exit(3);
        if (ckpt_save(tmpdir, name, &h, s, 2, ep % 3 == 0, 3, err, sizeof err) != 0) {
            fprintf(stderr, "writer: %s\n", err);
            _exit(4);
        }
        msg[0] = 'D';
        if (write(fd, msg, 9) != 9) _exit(3);
    }
}

static int count_tmp(void) {
    int n = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) n += strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

/* A pointer file must name a complete, verifying file. */
static void check_pointer(const char *which) {
    char path[1024], err[1200];
    snprintf(path, sizeof path, "%s/%s", tmpdir, which);
    if (access(path, F_OK) != 0) return;
    ck_assert_msg(ckpt_resolve(tmpdir, which, path, sizeof path, err, sizeof err) == 0, "%s: %s",
                  which, err);
    ckpt_file *f = ckpt_open(path, HASH, err, sizeof err);
    ck_assert_msg(f != NULL, "%s names a bad file: %s", which, err);
    ckpt_file_free(f);
}

START_TEST(sigkill_at_random_instants) {
    log_set_level(LOG_ERROR); /* refusals of stale files are expected here */
    rng_t r;
    rng_seed(&r, (uint64_t)time(NULL), 7);
    uint8_t *scratch = malloc(RPLY_BYTES);
    int64_t acked = -1;      /* newest episode whose save returned */
    double save_time = 0.05; /* seconds, refined from what the children report */
    int mid_write = 0, loads = 0;
    for (int t = 0; t < TRIALS; t++) {
        /* Resume point, as the trainer finds it. */
        char path[1024], err[1200];
        bool any = false;
        ckpt_file *f = ckpt_open_newest(tmpdir, HASH, path, sizeof path, &any, err, sizeof err);
        int64_t start = f ? ckpt_file_header(f)->episode + 1 : 0;
        ckpt_file_free(f);

        int pfd[2];
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            writer(pfd[1], start);
        }
        close(pfd[1]);
        bool targeted = t % 2 == 1;
        if (!targeted) {
            tclock_sleep_s(rng_double(&r) * 3 * save_time);
        } else {
            /* Wait for the start of the first or second save, then a random part of its
             * duration. */
            int want = 1 + (int)rng_below(&r, 2), seen = 0;
            char msg[9];
            while (seen < want && read(pfd[0], msg, 9) == 9) {
                int64_t ep;
                memcpy(&ep, msg + 1, 8);
                if (msg[0] == 'D' && ep > acked) acked = ep;
                if (msg[0] == 'S') seen++;
            }
            tclock_sleep_s(rng_double(&r) * save_time);
        }
        kill(pid, SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer failed on its own");
        mid_write += count_tmp() > 0;

        /* What the child reported before it died. */
        char msg[9];
        while (read(pfd[0], msg, 9) == 9) {
            int64_t ep;
            memcpy(&ep, msg + 1, 8);
            if (msg[0] == 'D' && ep > acked) acked = ep;
        }
        close(pfd[0]);

        f = ckpt_open_newest(tmpdir, HASH, path, sizeof path, &any, err, sizeof err);
        if (acked >= 0) {
            ck_assert_msg(f != NULL, "trial %d: no loadable checkpoint after ep %lld was saved: %s",
                          t, (long long)acked, err);
            int64_t ep = ckpt_file_header(f)->episode;
            ck_assert_msg(ep >= acked, "trial %d: newest loadable is ep %lld, ep %lld was saved", t,
                          (long long)ep, (long long)acked);
            uint64_t len;
            const uint8_t *a = ckpt_file_section(f, CKPT_TAG_ONLINE, &len);
            ck_assert(a && len == ONLN_BYTES && matches(a, len, ep, CKPT_TAG_ONLINE, scratch));
            const uint32_t rt = CKPT_TAG('R', 'P', 'L', 'Y');
            const uint8_t *b = ckpt_file_section(f, rt, &len);
            ck_assert(b && len == RPLY_BYTES && matches(b, len, ep, rt, scratch));
            loads++;
        }
        ckpt_file_free(f);
        check_pointer("latest");
        check_pointer("best");

        /* Learn how long a save takes, from a timed save of our own every 20 trials. */
        if (t % 20 == 0) {
            uint8_t *onln = malloc(ONLN_BYTES);
            fill(onln, ONLN_BYTES, 0, 0);
            ckpt_section s[2] = {{CKPT_TAG_ONLINE, onln, ONLN_BYTES},
                                 {CKPT_TAG('R', 'P', 'L', 'Y'), scratch, RPLY_BYTES}};
            ckpt_header h = {.cfg_hash = HASH, .episode = -1};
            char dir2[1100];
            snprintf(dir2, sizeof dir2, "%s/timing", tmpdir);
            double t0 = tclock_now_s();
            ck_assert_int_eq(ckpt_save(dir2, "ep_0000000", &h, s, 2, false, 1, err, sizeof err), 0);
            save_time = tclock_now_s() - t0;
            free(onln);
        }
    }
    fprintf(stderr,
            "ckpt crash: %d trials, %d kills during a write, %d loads verified, %lld saves "
            "completed, a save takes %.1f ms\n",
            TRIALS, mid_write, loads, (long long)acked + 1, save_time * 1e3);
    ck_assert_int_ge(loads, TRIALS / 2);
    ck_assert_msg(mid_write >= 10, "only %d of %d kills hit a write in progress", mid_write,
                  TRIALS);
    /* A save by a live writer clears what the dead ones left. */
    uint8_t small[8] = {0};
    ckpt_section s1 = {CKPT_TAG_ONLINE, small, sizeof small};
    ckpt_header h = {.cfg_hash = HASH, .episode = acked + 1000};
    char err[1200];
    ck_assert_int_eq(ckpt_save(tmpdir, "ep_9999999", &h, &s1, 1, false, 3, err, sizeof err), 0);
    ck_assert_int_eq(count_tmp(), 0);
    free(scratch);
}
END_TEST

/* Unchecked fixtures run in the runner's process, so the folder goes even when the test
 * fails. */
static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rd_ckpt_crash_XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
}

static void teardown(void) {
    scratch_rm_rf(tmpdir);
}

int main(void) {
    Suite *s = suite_create("ckpt_crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 240);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sigkill_at_random_instants);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
