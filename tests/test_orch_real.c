/* tests/test_orch_real.c — run_demo with the real children (build/bin/trainer,
 * build/bin/server, and `npm run dev` when frontend/node_modules exists):
 *  - kill -9 of run_demo at a random instant after start: no descendant alive 1 s later
 *    (the test is a subreaper: the npm → node → esbuild chain would be counted too);
 *  - SIGINT at a random instant (during start, training, checkpointing): exit 130, the
 *    latest checkpoint loads, a resumed run continues at the saved episode and completes,
 *    nothing is left running.
 * Trials: RD_ORCH_KILL_TRIALS (default 3) and RD_ORCH_INT_TRIALS (default 4); the long
 * runs (20 and 50) are scripts/test.d/orchestrator.sh. Fails when the real programs are
 * not built, and when no SIGINT trial left a checkpoint to resume. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/policy.h"
#include "tests/support/orch_harness.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"

static int trials(const char *var, int dflt) {
    const char *v = getenv(var);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

static unsigned long long seed_rng = 0x9E3779B97F4A7C15ULL;
static long rnd(long n) {
    seed_rng ^= seed_rng << 13;
    seed_rng ^= seed_rng >> 7;
    seed_rng ^= seed_rng << 17;
    return (long)(seed_rng % (unsigned long long)n);
}

static pid_t start_real(const char *cfg, const char *dir, const char *frontend,
                        const char *episodes, bool exit_on_complete, int launch) {
    char name[32];
    snprintf(name, sizeof name, "out%d.txt", launch);
    h_path(h_out, sizeof h_out, name);
    h_args a;
    const char *extra[] = {"--episodes", episodes, exit_on_complete ? "--exit-on-complete" : NULL,
                           NULL};
    const char *const *argv = h_args_make(&a, cfg, frontend, dir, extra);
    return h_start(h_out, argv);
}

START_TEST(kill9_real_children_leave_nothing) {
    h_require_real();
    char nm[600];
    snprintf(nm, sizeof nm, "%s/frontend/node_modules", RD_SOURCE_DIR);
    bool dev = access(nm, F_OK) == 0;
    if (!dev) printf("NOTE: %s missing: kill -9 trials without the dev frontend\n", nm);
    int n = trials("RD_ORCH_KILL_TRIALS", 3);
    for (int t = 0; t < n; t++) {
        char dir[512], name[32];
        snprintf(name, sizeof name, "run%d", t);
        h_path(dir, sizeof dir, name);
        pid_t pid = start_real("level1.toml", dir, dev ? "dev" : "none", "100000", false, t);
        ck_assert_msg(h_wait_output(h_out, "All systems operational", 60000),
                      "trial %d: not operational", t);
        h_sleep_ms(rnd(1500));
        pid_t pids[256];
        int before = h_descendants(pids, 256);
        kill(pid, SIGKILL);
        h_wait(pid, 5000);
        int left = h_survivors(1000);
        if (left) {
            int k = h_descendants(pids, 256);
            for (int i = 0; i < k && i < 256; i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
                char *c = h_read(path);
                printf("survivor %d: %s\n", (int)pids[i], c);
                free(c);
            }
        }
        ck_assert_msg(left == 0, "trial %d: %d of %d processes survived kill -9 by 1 s", t, left,
                      before);
    }
    printf("kill -9 with real children%s: %d trials, 0 survivors\n", dev ? " and npm run dev" : "",
           n);
}
END_TEST

/* The newest checkpoint's episode in dir/checkpoints (after loading it fully), or -1. */
static long latest_loadable(const cfg_config *cfg, const char *dir) {
    char cdir[600], path[1024], err[512];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", dir);
    if (ckpt_resolve(cdir, "latest", path, sizeof path, err, sizeof err) != 0) return -1;
    policy_t *p = policy_create(cfg, 1, err, sizeof err);
    ck_assert_ptr_nonnull(p);
    ckpt_info info;
    int rc = ckpt_load_policy(path, cfg, p, &info, err, sizeof err);
    policy_free(p);
    ck_assert_msg(rc == 0, "latest checkpoint does not load: %s", err);
    return (long)info.episode;
}

START_TEST(sigint_at_random_instants_then_resume) {
    h_require_real();
    char cfgp[512], err[512];
    h_path(cfgp, sizeof cfgp, "fast.toml");
    /* Frequent checkpoints so that some interrupts land while one is written. */
    h_write(cfgp, "[training]\ncheckpoint_every = 3\nprogress_every = 1\n");
    cfg_config cfg;
    ck_assert_msg(cfg_load_file(&cfg, cfgp, err, sizeof err) == 0, "%s", err);
    int n = trials("RD_ORCH_INT_TRIALS", 4);
    int with_ckpt = 0;
    for (int t = 0; t < n; t++) {
        char dir[512], name[32];
        snprintf(name, sizeof name, "int%d", t);
        h_path(dir, sizeof dir, name);
        pid_t pid = start_real(cfgp, dir, "none", "100000", false, 2 * t);
        /* The first trial is interrupted well after the start (1-3 s), when a checkpoint
         * must exist; the others anywhere in 0-3 s, start-up included. */
        h_sleep_ms(t == 0 ? 1000 + rnd(2000) : rnd(3000));
        kill(pid, SIGINT);
        int st = h_wait(pid, 30000);
        char *out = h_read(h_out);
        ck_assert_msg(h_code(st) == 130, "trial %d: exit %d, want 130:\n%s", t, h_code(st), out);
        free(out);
        ck_assert_int_eq(h_survivors(1000), 0);
        long ep = latest_loadable(&cfg, dir);
        if (ep < 0) continue; /* interrupted before the first checkpoint: nothing to resume */
        with_ckpt++;
        char target[32], want[64];
        snprintf(target, sizeof target, "%ld", ep + 2);
        snprintf(want, sizeof want, "at episode %ld", ep);
        pid = start_real(cfgp, dir, "none", target, true, 2 * t + 1);
        st = h_wait(pid, 60000);
        out = h_read(h_out);
        ck_assert_msg(h_code(st) == 0, "trial %d resume: exit %d:\n%s", t, h_code(st), out);
        ck_assert_msg(strstr(out, "resumed from") && strstr(out, want),
                      "trial %d: resume did not continue %s:\n%s", t, want, out);
        free(out);
        ck_assert_int_eq(h_survivors(1000), 0);
        ck_assert_int_eq(latest_loadable(&cfg, dir), ep + 2);
    }
    ck_assert_msg(with_ckpt > 0, "no trial left a loadable checkpoint: nothing was resumed");
    printf("SIGINT at random instants: %d trials, exit 130 each, %d with a checkpoint, each "
           "loaded and resumed at its episode\n",
           n, with_ckpt);
}
END_TEST

/* The real trainer killed mid-run is restarted and resumes from its last checkpoint (its
 * own "resumed from" line, at an episode no earlier than the checkpoint seen). */
START_TEST(trainer_crash_restarts_and_resumes) {
    h_require_real();
    char cfgp[512], dir[512];
    h_path(cfgp, sizeof cfgp, "crash.toml");
    h_write(cfgp, "[training]\ncheckpoint_every = 5\n[processes.trainer]\nbackoff_initial = 0.1\n");
    h_path(dir, sizeof dir, "crashrun");
    pid_t pid = start_real(cfgp, dir, "none", "100000", false, 100);
    ck_assert(h_wait_output(h_out, "checkpoint ", 60000));
    /* The trainer process: a descendant whose command is bin/trainer. */
    pid_t pids[64], trainer = 0;
    int n = h_descendants(pids, 64);
    for (int i = 0; i < n && i < 64; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
        char *comm = h_read(path);
        if (!strncmp(comm, "trainer", 7)) trainer = pids[i];
        free(comm);
    }
    ck_assert_int_gt(trainer, 0);
    kill(trainer, SIGKILL);
    ck_assert(h_wait_output(h_out, "restarting in", 10000));
    /* The trainer's own line (the server's "trainer hello: ... resumed from 0" of the first
     * start must not count): it resumed from a checkpoint, at episode 5 or later. */
    ck_assert_msg(h_wait_output(h_out, "trainer: resumed from ", 30000),
                  "the restarted trainer did not resume from a checkpoint");
    kill(pid, SIGINT);
    int st = h_wait(pid, 30000);
    char *out = h_read(h_out);
    ck_assert_msg(h_code(st) == 130, "exit %d:\n%s", h_code(st), out);
    ck_assert_ptr_nonnull(strstr(out, "trainer exited (killed by signal 9"));
    const char *res = strstr(out, "trainer: resumed from ");
    const char *at = res ? strstr(res, " at episode ") : NULL;
    ck_assert_msg(at && atol(at + 12) >= 5, "resumed before the checkpoint it waited for:\n%s",
                  out);
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_real");
    TCase *tc = tcase_create("real");
    tcase_add_checked_fixture(tc, h_setup, h_cleanup);
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, kill9_real_children_leave_nothing);
    tcase_add_test(tc, sigint_at_random_instants_then_resume);
    tcase_add_test(tc, trainer_crash_restarts_and_resumes);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
