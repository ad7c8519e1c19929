/* tests/test_ckpt_trainer_kill.c — the real trainer (RD_BIN_DIR/trainer), SIGKILLed at
 * random instants 100 times in one run directory, checkpointing every episode.
 *
 * Each trial starts the trainer on the same run directory (so it resumes from what the
 * last one left) and kills it: odd trials at a random instant, even trials a few
 * milliseconds after a checkpoint's temporary file appeared (a write in progress). One
 * trial in ten sends SIGTERM instead, under a config without periodic checkpoints and
 * without grace (the same run: [agent] and [environment] unchanged): the trainer saves
 * the episode in progress (a mid-episode checkpoint, ep_N_sS) and exits 0, so both kinds
 * of checkpoint mix in the folder and the next trials resume from either. After each
 * kill:
 *   - once the folder holds a checkpoint, one loads (ckpt_open_newest with the config's
 *     hash), and never an older one than before by (episode, env steps) (the trainer
 *     resumes from the newest and only moves forward);
 *   - `latest` and `best`, when present, name files that verify.
 * At the end the trainer resumes once more and runs to a target episode: exit 0 and a
 * checkpoint at exactly that episode. scripts/soak-ckpt runs the same with more trials
 * (RD_CKPT_KILL_TRIALS). */
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
#include "common/cfg.h"
#include "common/log.h"
#include "common/rng.h"
#include "trainer/snapshot.h"
#include "trainer/trainer.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/tclock.h"

static char tmpdir[256], config_path[512], term_config_path[512], run_dir[512], ckpt_dir[600],
    log_path[512];

/* Level 1 with a replay large enough that a checkpoint grows to a few MB, and a
 * checkpoint after every episode, so that many kills land in or near a write. The network
 * and batch are small so that the sanitizer build (ten times slower at updates) still
 * finishes episodes between kills. */
static const char *config_text = "[agent]\n"
                                 "hidden = [32, 32]\n"
                                 "batch_size = 16\n"
                                 "learning_starts = 500\n"
                                 "replay_capacity = 60000\n"
                                 "[training]\n"
                                 "checkpoint_every = 1\n"
                                 "keep_checkpoints = 3\n"
                                 "eval_every = 4\n"
                                 "eval_episodes = 1\n"
                                 "progress_every = 1\n";

/* The SIGTERM trials: the same [agent] and [environment] (the same run), no periodic
 * checkpoint (the writes would take most of the time, so a signal would land between
 * episodes), and no grace, so that the signal suspends the episode and the trainer saves it
 * in progress. */
static const char *term_config_text = "[agent]\n"
                                      "hidden = [32, 32]\n"
                                      "batch_size = 16\n"
                                      "learning_starts = 500\n"
                                      "replay_capacity = 60000\n"
                                      "[training]\n"
                                      "checkpoint_every = 1000000\n"
                                      "keep_checkpoints = 3\n"
                                      "eval_every = 0\n"
                                      "stop_grace_seconds = 0\n";

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rd_ckpt_kill_XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    snprintf(config_path, sizeof config_path, "%s/kill.toml", tmpdir);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmpdir);
    snprintf(ckpt_dir, sizeof ckpt_dir, "%s/checkpoints", run_dir);
    snprintf(log_path, sizeof log_path, "%s/trainer.log", tmpdir);
    snprintf(term_config_path, sizeof term_config_path, "%s/term.toml", tmpdir);
    scratch_write(config_path, config_text);
    scratch_write(term_config_path, term_config_text);
}

static void teardown(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static pid_t spawn_trainer(const char *config, long episodes) {
    char bin[1024], eps[32];
    const char *dir = getenv("RD_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/trainer", dir ? dir : RD_BIN_DIR);
    snprintf(eps, sizeof eps, "%ld", episodes);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        unsetenv("RD_PARENT_PID");
        unsetenv("RD_TRAINER_TOKEN");
        execl(bin, "trainer", "--config", config, "--run-dir", run_dir, "--episodes", eps, "--seed",
              "11", "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void print_log_tail(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tail -n 15 '%s' >&2", log_path);
    if (system(cmd) != 0) fprintf(stderr, "(no trainer log)\n");
}

static bool tmp_present(void) {
    DIR *d = opendir(ckpt_dir);
    if (!d) return false;
    struct dirent *de;
    bool any = false;
    while ((de = readdir(d)) != NULL) any |= strstr(de->d_name, ".tmp.") != NULL;
    closedir(d);
    return any;
}

static void check_pointer(const char *which, uint64_t hash) {
    char path[1024], err[1200];
    snprintf(path, sizeof path, "%s/%s", ckpt_dir, which);
    if (access(path, F_OK) != 0) return;
    ck_assert_msg(ckpt_resolve(ckpt_dir, which, path, sizeof path, err, sizeof err) == 0, "%s",
                  err);
    ckpt_file *f = ckpt_open(path, hash, err, sizeof err);
    ck_assert_msg(f != NULL, "%s names a bad file: %s", which, err);
    ckpt_file_free(f);
}

START_TEST(trainer_killed_at_random_instants) {
    log_set_level(LOG_ERROR); /* stale files are refused with warnings along the way */
    cfg_config cfg;
    char err[1200];
    ck_assert_msg(cfg_load_file(&cfg, config_path, err, sizeof err) == 0, "%s", err);
    uint64_t hash = cfg_hash(&cfg);
    const char *env = getenv("RD_CKPT_KILL_TRIALS");
    int trials = env ? atoi(env) : 100;
    if (trials < 1) trials = 100;
    rng_t r;
    rng_seed(&r, (uint64_t)time(NULL), 3);
    int64_t newest = -1, newest_steps = -1;
    int mid_write = 0, loads = 0, terms = 0, mid_episode = 0;
    double t_start = tclock_now_s();
    for (int t = 0; t < trials; t++) {
        bool term = t % 10 == 5;
        pid_t pid = spawn_trainer(term ? term_config_path : config_path, 1000000);
        if (term) {
            tclock_sleep_s(0.1 + rng_double(&r) * 0.3);
        } else if (t % 2 == 0) {
            /* aimed: a few ms after a temporary file shows up (at most 3 s of waiting) */
            double until = tclock_now_s() + 3.0;
            while (!tmp_present() && tclock_now_s() < until) tclock_sleep_s(0.0005);
            tclock_sleep_s(rng_double(&r) * 0.005);
        } else {
            tclock_sleep_s(rng_double(&r) * 0.5);
        }
        kill(pid, term ? SIGTERM : SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        /* A SIGTERM may come before the trainer installed its handler: it dies of it then. */
        bool ok = term ? (WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
                             (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
                       : WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        if (!ok) {
            print_log_tail();
            ck_abort_msg("trial %d: unexpected end after %s (status %d)", t,
                         term ? "SIGTERM" : "SIGKILL", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        }
        terms += term && WIFEXITED(st);
        mid_write += tmp_present();

        bool any = false;
        char path[1024];
        ckpt_file *f = ckpt_open_newest(ckpt_dir, hash, path, sizeof path, &any, err, sizeof err);
        if (any || newest >= 0) {
            ck_assert_msg(f != NULL, "trial %d: no loadable checkpoint (newest was ep %lld): %s", t,
                          (long long)newest, err);
            int64_t ep = ckpt_file_header(f)->episode, steps = ckpt_file_header(f)->steps;
            ck_assert_msg(ep > newest || (ep == newest && steps >= newest_steps),
                          "trial %d: newest loadable went back from %lld (%lld steps) to %lld "
                          "(%lld steps)",
                          t, (long long)newest, (long long)newest_steps, (long long)ep,
                          (long long)steps);
            newest = ep;
            newest_steps = steps;
            mid_episode += ckpt_file_section(f, SNAPSHOT_TAG_EPISODE, NULL) != NULL;
            loads++;
        }
        ckpt_file_free(f);
        check_pointer("latest", hash);
        check_pointer("best", hash);
    }
    fprintf(stderr,
            "ckpt trainer kill: %d trials in %.1f s, %d kills during a checkpoint write, %d "
            "loads verified (%d of a mid-episode checkpoint), %d SIGTERM exits, reached "
            "episode %lld\n",
            trials, tclock_now_s() - t_start, mid_write, loads, mid_episode, terms,
            (long long)newest);
    ck_assert_msg(newest >= 5, "the trainer hardly progressed (episode %lld)", (long long)newest);
    ck_assert_int_ge(mid_write, 1);
    ck_assert_msg(terms == 0 || mid_episode >= 1,
                  "%d SIGTERM exits, none left a mid-episode checkpoint", terms);

    /* Resume to a target and finish normally. */
    long target = (long)newest + 3;
    pid_t pid = spawn_trainer(config_path, target);
    int st = 0;
    double until = tclock_now_s() + 120;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (tclock_now_s() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            ck_abort_msg("the resumed trainer did not finish");
        }
        tclock_sleep_s(0.01);
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) print_log_tail();
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "resumed trainer failed");
    char path[1024];
    bool any;
    ckpt_file *f = ckpt_open_newest(ckpt_dir, hash, path, sizeof path, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(ckpt_file_header(f)->episode, target);
    ckpt_file_free(f);
    ck_assert(!tmp_present()); /* the live writer cleared what the killed ones left */
}
END_TEST

int main(void) {
    Suite *s = suite_create("ckpt_trainer_kill");
    TCase *tc = tcase_create("kill");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, trainer_killed_at_random_instants);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
