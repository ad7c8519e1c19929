/* tests/test_trainer_resume.c — the real trainer binary: determinism, exact resume (after
 * --episodes E/2 and after SIGTERM), SIGTERM writes a checkpoint and exits 0, a run
 * directory made with another config is refused with exit 2. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/config.h"
#include "trainer/trainer.h"
#include "tests/support/runner.h"

static char tmpdir[256];
static char config_path[512];

/* A small network and replay so that a run takes a fraction of a second even under ASan. */
static const char *config_text = "[agent]\n"
                                 "hidden = [16, 16]\n"
                                 "replay_capacity = 2000\n"
                                 "learning_starts = 100\n"
                                 "batch_size = 8\n"
                                 "target_update_every = 300\n"
                                 "[training]\n"
                                 "checkpoint_every = 15\n"
                                 "eval_every = 10\n"
                                 "eval_episodes = 2\n"
                                 "progress_every = 1\n";

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rd_test_trainer_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(config_path, sizeof config_path, "%s/small.toml", tmpdir);
    FILE *f = fopen(config_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(config_text, f);
    fclose(f);
}

static void teardown(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static pid_t spawn_trainer(const char *config, const char *run, int episodes) {
    char bin[1024], eps[32];
    const char *dir = getenv("RD_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/trainer", dir ? dir : RD_BIN_DIR);
    snprintf(eps, sizeof eps, "%d", episodes);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsetenv("RD_PARENT_PID");
        execl(bin, "trainer", "--config", config, "--run-dir", run, "--episodes", eps, "--seed",
              "7", "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits at most 120 s; returns the exit status or -1 (killed by a signal / timeout). */
static int wait_exit(pid_t pid) {
    for (int i = 0; i < 12000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int run_trainer(const char *config, const char *run, int episodes) {
    return wait_exit(spawn_trainer(config, run, episodes));
}

/* The online and target weights of the newest checkpoint of run, malloc'd. */
static void *load_weights(const char *run, size_t *len, int64_t *episode) {
    char dir[600], path[1024], err[1024];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(dir, 0, path, sizeof path, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "no checkpoint in %s: %s", dir, err);
    uint64_t on_len = 0, tg_len = 0;
    const void *on = ckpt_file_section(f, CKPT_TAG_ONLINE, &on_len);
    const void *tg = ckpt_file_section(f, TRAINER_TAG_TARGET, &tg_len);
    ck_assert_ptr_nonnull(on);
    ck_assert_ptr_nonnull(tg);
    *len = on_len + tg_len;
    char *out = malloc(*len);
    memcpy(out, on, on_len);
    memcpy(out + on_len, tg, tg_len);
    *episode = ckpt_file_header(f)->episode;
    ckpt_file_free(f);
    return out;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(test_resume_is_exact) {
    const int E = 30;
    char straight[512], split[512], again[512];
    snprintf(straight, sizeof straight, "%s/straight", tmpdir);
    snprintf(split, sizeof split, "%s/split", tmpdir);
    snprintf(again, sizeof again, "%s/again", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, straight, E), 0);
    ck_assert_int_eq(run_trainer(config_path, again, E), 0);
    ck_assert_int_eq(run_trainer(config_path, split, E / 2), 0);
    ck_assert_int_eq(run_trainer(config_path, split, E), 0);

    size_t la, lb, lc;
    int64_t ea, eb, ec;
    void *a = load_weights(straight, &la, &ea);
    void *b = load_weights(again, &lb, &eb);
    void *c = load_weights(split, &lc, &ec);
    ck_assert_int_eq(ea, E);
    ck_assert_int_eq(eb, E);
    ck_assert_int_eq(ec, E);
    ck_assert_uint_eq(la, lb);
    ck_assert_uint_eq(la, lc);
    ck_assert_msg(memcmp(a, b, la) == 0, "two runs with one seed differ");
    ck_assert_msg(memcmp(a, c, la) == 0, "resumed run differs from the straight one");
    free(a);
    free(b);
    free(c);
    char m[700];
    snprintf(m, sizeof m, "%s/metrics.jsonl", split);
    ck_assert_int_eq(count_lines(m), E);
}
END_TEST

static int read_progress_episode(const char *run) {
    char path[600];
    snprintf(path, sizeof path, "%s/progress.json", run);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\"episode\":");
    return p ? atoi(p + 10) : -1;
}

START_TEST(test_sigterm_checkpoints_and_resume_exact) {
    const int E = 80;
    char straight[512], split[512];
    snprintf(straight, sizeof straight, "%s/straight", tmpdir);
    snprintf(split, sizeof split, "%s/split", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, straight, E), 0);

    pid_t pid = spawn_trainer(config_path, split, E);
    /* Signal once a few episodes are done (not at a checkpoint boundary on purpose). */
    int ep = -1;
    for (int i = 0; i < 6000 && (ep = read_progress_episode(split)) < 5; i++) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid), 0);
    size_t l1;
    int64_t stopped_at;
    free(load_weights(split, &l1, &stopped_at));
    ck_assert_int_ge(stopped_at, 5);
    if (stopped_at >= E) fprintf(stderr, "note: the run finished before SIGTERM landed\n");

    ck_assert_int_eq(run_trainer(config_path, split, E), 0);
    size_t la, lc;
    int64_t ea, ec;
    void *a = load_weights(straight, &la, &ea);
    void *c = load_weights(split, &lc, &ec);
    ck_assert_int_eq(ec, E);
    ck_assert_uint_eq(la, lc);
    ck_assert_msg(memcmp(a, c, la) == 0, "run stopped by SIGTERM at %lld and resumed differs",
                  (long long)stopped_at);
    free(a);
    free(c);
}
END_TEST

START_TEST(test_config_mismatch_refused) {
    char run[512], other[512];
    snprintf(run, sizeof run, "%s/run", tmpdir);
    snprintf(other, sizeof other, "%s/other.toml", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, run, 3), 0);
    FILE *f = fopen(other, "w");
    fputs(config_text, f);
    fputs("[environment]\nmax_steps = 300\n", f);
    fclose(f);
    ck_assert_int_eq(run_trainer(other, run, 6), 2);
    /* The same config resumes fine. */
    ck_assert_int_eq(run_trainer(config_path, run, 6), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_resume");
    TCase *tc = tcase_create("binary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, test_resume_is_exact);
    tcase_add_test(tc, test_sigterm_checkpoints_and_resume_exact);
    tcase_add_test(tc, test_config_mismatch_refused);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
