/* tests/test_orch_cli.c — run_demo's command line and the checks made before anything
 * starts: --help/--version, bad flags and values (exit 2, one line naming the flag), a busy
 * port named with its holder, a missing npm for --frontend dev, --resume without a run,
 * an unwritable run directory, a bad config. Every refusal must leave nothing running. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/orch_harness.h"
#include "tests/support/runner.h"

/* Runs run_demo to its end; returns the exit code and the output in *out (caller frees). */
static int run(char **out, const char *const *env, const char *const *argv) {
    char path[512];
    h_path(path, sizeof path, "out.txt");
    pid_t pid = h_start_env(path, env, argv);
    int st = h_wait(pid, 20000);
    if (st < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    *out = h_read(path);
    return h_code(st);
}

START_TEST(help_lists_every_flag_with_default) {
    char *out;
    const char *argv[] = {"--help", NULL};
    ck_assert_int_eq(run(&out, NULL, argv), 0);
    static const char *const flags[] = {
        "--config",        "--episodes",         "--checkpoint-dir", "--resume",     "--port",
        "--frontend-port", "--frontend",         "--host",           "--no-browser", "--seed",
        "--color",         "--exit-on-complete", "--help",           "--version"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        ck_assert_msg(strstr(out, flags[i]), "--help lacks %s", flags[i]);
    ck_assert_int_ge(h_count(out, "default"), 10);
    free(out);
    const char *v[] = {"--version", NULL};
    ck_assert_int_eq(run(&out, NULL, v), 0);
    ck_assert_ptr_nonnull(strstr(out, "run_demo "));
    free(out);
}
END_TEST

/* Each bad command line: exit 2, exactly one line, naming the flag. */
static const struct {
    const char *args[4];
    const char *names;
} bad_lines[] = {
    {{"--port", "abc"}, "--port"},
    {{"--port", "70000"}, "--port"},
    {{"--frontend-port", "0"}, "--frontend-port"},
    {{"--frontend", "vue"}, "--frontend"},
    {{"--color", "purple"}, "--color"},
    {{"--episodes", "-5"}, "--episodes"},
    {{"--episodes", "many"}, "--episodes"},
    {{"--seed", "x1"}, "--seed"},
    {{"--bogus"}, "--bogus"},
    {{"--port"}, "--port"},
    {{"stray"}, "stray"},
    {{"--resume", "--checkpoint-dir", "/tmp/x"}, "--resume"},
    {{"--config", "no_such_level.toml"}, "no_such_level"},
};

START_TEST(bad_flags_exit_2_naming_the_flag) {
    char *out;
    const char *argv[6] = {NULL};
    for (int k = 0; k < 4 && bad_lines[_i].args[k]; k++) argv[k] = bad_lines[_i].args[k];
    ck_assert_int_eq(run(&out, NULL, argv), 2);
    ck_assert_msg(strstr(out, bad_lines[_i].names), "message '%s' does not name %s", out,
                  bad_lines[_i].names);
    ck_assert_int_eq(h_count(out, "\n"), 1);
    ck_assert_int_eq(h_survivors(0), 0);
    free(out);
}
END_TEST

START_TEST(busy_port_names_holder_and_flag) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    char ps[16], me[64], dir[512];
    snprintf(ps, sizeof ps, "%d", port);
    snprintf(me, sizeof me, "(pid %d)", (int)getpid());
    h_path(dir, sizeof dir, "run");
    const char *argv[] = {"--port", ps, "--frontend", "none", "--checkpoint-dir", dir, NULL};
    char *out;
    ck_assert_int_eq(run(&out, NULL, argv), 2);
    ck_assert_msg(strstr(out, ps) && strstr(out, "in use") && strstr(out, me) &&
                      strstr(out, "--port"),
                  "got: %s", out);
    /* Nothing started, nothing created. */
    struct stat st;
    ck_assert_int_ne(stat(dir, &st), 0);
    free(out);
    close(fd);
}
END_TEST

START_TEST(frontend_dev_without_npm_suggests_static) {
    char ps[16], dir[512];
    snprintf(ps, sizeof ps, "%d", h_free_port());
    h_path(dir, sizeof dir, "run");
    const char *env[] = {"PATH=/nonexistent", NULL};
    const char *argv[] = {"--port", ps, "--frontend", "dev", "--checkpoint-dir", dir, NULL};
    char *out;
    ck_assert_int_eq(run(&out, env, argv), 2);
    ck_assert_msg(strstr(out, "npm") && strstr(out, "--frontend static") &&
                      strstr(out, "--frontend none"),
                  "got: %s", out);
    free(out);
}
END_TEST

START_TEST(resume_without_a_run) {
    char ps[16], runs[512], env_runs[600];
    snprintf(ps, sizeof ps, "%d", h_free_port());
    h_path(runs, sizeof runs, "runs");
    snprintf(env_runs, sizeof env_runs, "RD_RUNS_DIR=%s", runs);
    const char *env[] = {env_runs, NULL};
    const char *argv[] = {"--port", ps, "--frontend", "none", "--resume", NULL};
    char *out;
    ck_assert_int_eq(run(&out, env, argv), 2);
    ck_assert_msg(strstr(out, "--resume") && strstr(out, "no earlier run"), "got: %s", out);
    free(out);
}
END_TEST

START_TEST(unwritable_run_dir) {
    char ps[16];
    snprintf(ps, sizeof ps, "%d", h_free_port());
    const char *argv[] = {"--port",           ps,           "--frontend", "none",
                          "--checkpoint-dir", "/proc/rd/x", NULL};
    char *out;
    ck_assert_int_eq(run(&out, NULL, argv), 2);
    ck_assert_msg(strstr(out, "/proc/rd/x") &&
                      (strstr(out, "writable") || strstr(out, "cannot create")),
                  "got: %s", out);
    free(out);
}
END_TEST

START_TEST(bad_config_names_file_and_line) {
    char cfg[512], ps[16];
    h_path(cfg, sizeof cfg, "bad.toml");
    h_write(cfg, "[training]\nepisods = 5\n");
    snprintf(ps, sizeof ps, "%d", h_free_port());
    const char *argv[] = {"--config", cfg, "--port", ps, "--frontend", "none", NULL};
    char *out;
    ck_assert_int_eq(run(&out, NULL, argv), 2);
    ck_assert_msg(strstr(out, "bad.toml:2") && strstr(out, "episods"), "got: %s", out);
    ck_assert_int_eq(h_count(out, "\n"), 1);
    free(out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, h_setup, h_cleanup);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, help_lists_every_flag_with_default);
    tcase_add_loop_test(tc, bad_flags_exit_2_naming_the_flag, 0,
                        (int)(sizeof bad_lines / sizeof bad_lines[0]));
    tcase_add_test(tc, busy_port_names_holder_and_flag);
    tcase_add_test(tc, frontend_dev_without_npm_suggests_static);
    tcase_add_test(tc, resume_without_a_run);
    tcase_add_test(tc, unwritable_run_dir);
    tcase_add_test(tc, bad_config_names_file_and_line);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
