/* tests/test_tb_trainer.c — the TensorBoard files the real trainer writes, read back by
 * the independent reader (tests/support/tbread.c): every file in run/tb is well framed,
 * starts with the file_version record, and "episode/steps" holds one scalar per episode
 * equal to that episode's "steps" in metrics.jsonl — across a resume, which adds a second
 * event file rather than touching the first. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tbread.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"

/* Few episodes: under ASan on a busy machine an episode can take a second. */
enum { EPISODES_1 = 8, EPISODES_2 = 14, MAX_EVENTS = 20000 };

static void run_trainer(const char *run_dir, int episodes) {
    char trainer[1024], config[1024], n[16];
    const char *bin = tpaths_bin_dir();
    const char *src = tpaths_source_dir();
    snprintf(trainer, sizeof trainer, "%s/trainer", bin);
    snprintf(config, sizeof config, "%s/configs/level1.toml", src);
    snprintf(n, sizeof n, "%d", episodes);
    ck_assert_msg(access(trainer, X_OK) == 0, "no trainer binary at %s", trainer);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        unsetenv("RD_PARENT_PID");
        execl(trainer, trainer, "--config", config, "--run-dir", run_dir, "--episodes", n, "--seed",
              "3", "--quiet", (char *)NULL);
        _exit(127);
    }
    /* A trainer that does not finish is a failure, not a hang: kill it after two minutes. */
    int status = 0;
    pid_t r = 0;
    for (int i = 0; i < 12000 && (r = waitpid(pid, &status, WNOHANG)) == 0; i++) usleep(10000);
    if (r == 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_abort_msg("the trainer did not finish %d episodes within two minutes", episodes);
    }
    ck_assert_int_eq(r, pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trainer status %d", status);
}

/* steps[e] for episodes 1..max from metrics.jsonl; returns the number of lines. */
static int read_metrics(const char *run_dir, int *steps, int max) {
    char path[256], line[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        int e = cJSON_GetObjectItemCaseSensitive(j, "episode")->valueint;
        ck_assert(e >= 1 && e <= max);
        steps[e] = cJSON_GetObjectItemCaseSensitive(j, "steps")->valueint;
        cJSON_Delete(j);
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(test_trainer_tb_files) {
    char dir[64], run_dir[128], tb_dir[160];
    snprintf(dir, sizeof dir, "/tmp/rd_test_tb_trainer.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(tb_dir, sizeof tb_dir, "%s/tb", run_dir);
    run_trainer(run_dir, EPISODES_1);
    sleep(1); /* a new second: the resumed run's file then sorts after the first */
    run_trainer(run_dir, EPISODES_2);

    int steps[EPISODES_2 + 1];
    memset(steps, -1, sizeof steps);
    ck_assert_int_eq(read_metrics(run_dir, steps, EPISODES_2), EPISODES_2);

    static tbread_event ev[MAX_EVENTS];
    int seen[EPISODES_2 + 1] = {0};
    int files = 0;
    DIR *d = opendir(tb_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "events.out.tfevents.", 20) != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tb_dir, de->d_name);
        int n = tbread_file(path, ev, MAX_EVENTS);
        ck_assert_msg(n >= 1, "%s: bad event file (%d)", path, n);
        ck_assert_str_eq(ev[0].file_version, "brain.Event:2");
        for (int i = 1; i < n; i++) {
            ck_assert_int_eq(ev[i].n_values, 1);
            if (strcmp(ev[i].tag, "episode/steps") != 0) continue;
            ck_assert(ev[i].step >= 1 && ev[i].step <= EPISODES_2);
            seen[ev[i].step]++;
            ck_assert_msg(ev[i].value == (float)steps[ev[i].step], "episode %lld: %g vs %d",
                          (long long)ev[i].step, ev[i].value, steps[ev[i].step]);
        }
        files++;
    }
    closedir(d);
    ck_assert_int_eq(files, 2);
    for (int e = 1; e <= EPISODES_2; e++) ck_assert_msg(seen[e] == 1, "episode %d: %d", e, seen[e]);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tb_trainer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, test_trainer_tb_files);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
