/* tests/test_orch_faults.c — run_demo against misbehaving children (tests/fixtures/
 * orch_fixture in the children's places through [processes.*] command): crash at start,
 * crash loop, crash then recovery, a signal death, slow start past the deadline, a child
 * that ignores SIGTERM, a second Ctrl+C, early exits with status 0, completion, and the
 * exit status after each signal. Each checks what the user sees and that nothing is left
 * running (the test is a subreaper: every leftover would be counted). */
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

#include "tests/support/orch_harness.h"
#include "tests/support/runner.h"

#define FIX          "\"{bindir}/orch_fixture\""
#define SERVER_OK    "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]"
#define TRAINER_OK   "[" FIX ", \"--say\", \"trainer up\", \"--serve\"]"
#define FAST_BACKOFF "backoff_initial = 0.05\nbackoff_max = 0.2\n"

/* Writes a config with the given [processes.*] bodies and starts run_demo on it with
 * --frontend none --no-browser, a fresh port and a run directory in the scratch dir. */
static pid_t launch(const char *trainer, const char *server, const char *extra_toml,
                    const char *extra_flag) {
    h_next_out(h_out, sizeof h_out);
    char cfg[512], dir[512], port[16];
    h_path(cfg, sizeof cfg, "test.toml");
    h_path(dir, sizeof dir, "run");
    snprintf(port, sizeof port, "%d", h_free_port());
    h_write(cfg,
            "[unified_server]\n%s\n"
            "[processes.trainer]\n%s\n[processes.server]\n%s\n",
            extra_toml ? extra_toml : "health_check_timeout = 10.0", trainer, server);
    const char *argv[] = {
        "--config",         cfg, "--port",   port, "--frontend", "none", "--no-browser",
        "--checkpoint-dir", dir, extra_flag, NULL};
    return h_start(h_out, argv);
}

static char *output(void) {
    return h_read(h_out);
}

/* Waits for the end; asserts the exit code and that no descendant is left after 1 s. */
static char *expect_exit(pid_t pid, int code, int timeout_ms) {
    int st = h_wait(pid, timeout_ms);
    char *out = output();
    if (st < 0) kill(pid, SIGKILL);
    ck_assert_msg(st >= 0, "run_demo still running after %d ms; output:\n%s", timeout_ms, out);
    ck_assert_msg(h_code(st) == code, "exit %d, want %d; output:\n%s", h_code(st), code, out);
    ck_assert_msg(h_survivors(1000) == 0, "processes left running; output:\n%s", out);
    return out;
}

START_TEST(crash_at_start_policy_never) {
    pid_t pid = launch("command = " TRAINER_OK,
                       "command = [" FIX ", \"--err\", \"boom: cannot bind\", \"--exit\", \"3\"]\n"
                       "restart = \"never\"",
                       NULL, NULL);
    char *out = expect_exit(pid, 1, 20000);
    expect_in(out, "server failed (exit status 3; restart policy: never)");
    expect_in(out, "boom: cannot bind"); /* its last lines */
    ck_assert_ptr_null(strstr(out, "All systems operational"));
    free(out);
}
END_TEST

START_TEST(crash_loop_gives_up_with_last_lines) {
    pid_t pid = launch("command = [" FIX ", \"--err\", \"trainer dying\", \"--exit\", \"3\"]\n"
                       "max_restarts = 2\nrestart_window = 60.0\n" FAST_BACKOFF,
                       "command = " SERVER_OK, NULL, NULL);
    char *out = expect_exit(pid, 1, 20000);
    ck_assert_int_eq(h_count(out, "restarting in"), 2);
    expect_in(out, "resuming from its last checkpoint");
    expect_in(out, "trainer failed (exit status 3) after 2 restarts within 60 s; giving up");
    expect_in(out, "| trainer dying");
    free(out);
}
END_TEST

START_TEST(crash_then_recovers) {
    char counter[512], trainer[1200];
    h_path(counter, sizeof counter, "count");
    snprintf(trainer, sizeof trainer,
             "command = [" FIX ", \"--crash-until\", \"2\", \"%s\", \"--say\", \"trainer ok\", "
             "\"--serve\"]\n" FAST_BACKOFF,
             counter);
    pid_t pid = launch(trainer, "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "trainer ok", 20000));
    ck_assert(h_wait_output(h_out, "All systems operational", 20000));
    kill(pid, SIGINT);
    char *out = expect_exit(pid, 130, 20000);
    expect_in(out, "restart 2");
    ck_assert_int_eq(h_count(out, "crashing on purpose"), 2);
    free(out);
}
END_TEST

START_TEST(signal_death_is_named) {
    pid_t pid = launch("command = [" FIX ", \"--say\", \"about to fault\", \"--segv\"]\n"
                       "restart = \"never\"",
                       "command = " SERVER_OK, NULL, NULL);
    char *out = expect_exit(pid, 1, 20000);
    expect_in(out, "trainer failed (killed by signal 11");
    expect_in(out, "about to fault");
    free(out);
}
END_TEST

START_TEST(slow_start_misses_deadline) {
    pid_t pid = launch("command = " TRAINER_OK,
                       "command = [" FIX ", \"--say\", \"warming up\", \"--sleep-ms\", \"20000\", "
                       "\"--listen\", \"RD_SERVER_PORT\", \"--serve\"]",
                       "health_check_timeout = 1.0", NULL);
    char *out = expect_exit(pid, 1, 15000);
    expect_in(out, "server is not healthy after 1 s (health_check_timeout)");
    expect_in(out, "/healthz");
    expect_in(out, "| warming up");
    ck_assert_ptr_null(strstr(out, "All systems operational"));
    free(out);
}
END_TEST

START_TEST(ignores_sigterm_is_killed_after_stop_timeout) {
    pid_t pid = launch("command = [" FIX ", \"--ignore-term\", \"--say\", \"stubborn\", "
                       "\"--serve\"]\nstop_timeout = 0.3",
                       "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "stubborn", 15000));
    kill(pid, SIGINT);
    char *out = expect_exit(pid, 130, 15000);
    expect_in(out, "trainer did not stop within 0.3 s; killing it");
    expect_in(out, "server stopped (exit status 0)");
    free(out);
}
END_TEST

START_TEST(second_sigint_skips_waiting) {
    pid_t pid = launch("command = [" FIX ", \"--ignore-term\", \"--say\", \"ready\", \"--serve\"]\n"
                       "stop_timeout = 600",
                       "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "ready", 15000));
    kill(pid, SIGINT);
    ck_assert(h_wait_output(h_out, "SIGINT received", 5000));
    kill(pid, SIGINT);
    /* Far less than the 600 s stop timeout: the second signal skipped it. */
    char *out = expect_exit(pid, 130, 15000);
    expect_in(out, "second signal");
    free(out);
}
END_TEST

START_TEST(stop_order_trainer_first_with_its_checkpoint) {
    pid_t pid = launch("command = [" FIX ", \"--term-delay-ms\", \"300\", \"--say\", \"ready\", "
                       "\"--serve\"]",
                       "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "ready", 15000));
    kill(pid, SIGTERM);
    char *out = expect_exit(pid, 143, 15000);
    const char *t = strstr(out, "trainer stopped (exit status 0)");
    const char *c = strstr(out, "checkpoint written");
    const char *s = strstr(out, "server stopped");
    ck_assert_msg(t && c && s && c < t && t < s, "wrong order:\n%s", out);
    free(out);
}
END_TEST

START_TEST(sighup_exits_129) {
    pid_t pid = launch("command = " TRAINER_OK, "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "trainer up", 15000));
    kill(pid, SIGHUP);
    free(expect_exit(pid, 129, 15000));
}
END_TEST

START_TEST(server_exit_0_early_stops_the_demo) {
    pid_t pid = launch("command = " TRAINER_OK,
                       "command = [" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--sleep-ms\", "
                       "\"300\", \"--say\", \"bye\", \"--exit\", \"0\"]",
                       NULL, NULL);
    char *out = expect_exit(pid, 1, 15000);
    expect_in(out, "server exited unexpectedly (exit status 0)");
    expect_in(out, "| bye");
    free(out);
}
END_TEST

START_TEST(trainer_exit_0_stays_up_for_viewing) {
    pid_t pid = launch("command = [" FIX ", \"--sleep-ms\", \"200\", \"--say\", \"done\"]",
                       "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "the demo stays up for viewing", 15000));
    h_sleep_ms(300);
    ck_assert_int_eq(h_wait(pid, 0), -1); /* still up */
    kill(pid, SIGTERM);
    free(expect_exit(pid, 143, 15000));
}
END_TEST

START_TEST(trainer_exit_0_with_exit_on_complete) {
    pid_t pid = launch("command = [" FIX ", \"--sleep-ms\", \"200\", \"--say\", \"done\"]",
                       "command = " SERVER_OK, NULL, "--exit-on-complete");
    char *out = expect_exit(pid, 0, 15000);
    expect_in(out, "Training finished");
    free(out);
}
END_TEST

START_TEST(progress_completed_with_exit_on_complete) {
    pid_t pid = launch("command = [" FIX ", \"--progress\", \"{run_dir}\", \"completed\", \"10\", "
                       "\"10\", \"--serve\"]",
                       "command = " SERVER_OK, NULL, "--exit-on-complete");
    char *out = expect_exit(pid, 0, 15000);
    expect_in(out, "Training completed (10 episodes)");
    expect_in(out, "trainer stopped (exit status 0)");
    free(out);
}
END_TEST

START_TEST(children_get_the_process_contract) {
    pid_t pid = launch("command = [" FIX ", \"--say\", \"ready\", \"--serve\"]\n"
                       "env = { EXTRA = \"x{port}\" }",
                       "command = " SERVER_OK, NULL, NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "ready", 15000));
    /* The trainer's environment, read from /proc: token, parent pid, ports, our extra. */
    pid_t pids[64];
    int n = h_descendants(pids, 64);
    bool seen = false;
    for (int i = 0; i < n && i < 64; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pids[i]);
        char *env = h_read(path);
        /* environ is NUL-separated: look at each entry. */
        char cmd[64];
        snprintf(cmd, sizeof cmd, "/proc/%d/cmdline", (int)pids[i]);
        (void)cmd;
        FILE *f = fopen(path, "r");
        char buf[65536];
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[len] = '\0';
        bool token = false, extra = false, parent = false;
        for (size_t o = 0; o < len; o += strlen(buf + o) + 1) {
            if (!strncmp(buf + o, "RD_TRAINER_TOKEN=", 17) && strlen(buf + o) == 17 + 32)
                token = true;
            if (!strncmp(buf + o, "EXTRA=x", 7)) extra = true;
            if (!strncmp(buf + o, "RD_PARENT_PID=", 14)) {
                /* The real parent (rd_exec), so that getppid() == RD_PARENT_PID holds. */
                char stat[64];
                snprintf(stat, sizeof stat, "/proc/%d/stat", (int)pids[i]);
                char *sb = h_read(stat);
                char *rp = strrchr(sb, ')');
                int ppid = 0;
                if (rp) sscanf(rp + 2, "%*c %d", &ppid);
                parent = ppid == atoi(buf + o + 14);
                free(sb);
            }
        }
        if (token && extra && parent) seen = true;
        free(env);
    }
    ck_assert_msg(seen, "no child had RD_TRAINER_TOKEN, EXTRA and a true RD_PARENT_PID");
    kill(pid, SIGINT);
    free(expect_exit(pid, 130, 15000));
}
END_TEST

START_TEST(new_run_dir_and_resume_the_newest) {
    char runs[512], env_runs[600], cfg[512], port[16];
    h_path(runs, sizeof runs, "runs");
    snprintf(env_runs, sizeof env_runs, "RD_RUNS_DIR=%s", runs);
    h_path(cfg, sizeof cfg, "demo.toml");
    h_write(cfg, "[processes.trainer]\ncommand = [" FIX ", \"--say\", \"dir={run_dir}\", "
                 "\"--serve\"]\n[processes.server]\ncommand = " SERVER_OK "\n");
    const char *env[] = {env_runs, NULL};
    /* A new run: runs/demo/YYYY-MM-DD_HHMMSS, created. */
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {"--config",     cfg,  "--port", port, "--frontend", "none",
                          "--no-browser", NULL, NULL};
    pid_t pid = h_start_env(h_out, env, argv);
    ck_assert(h_wait_output(h_out, "dir=", 15000));
    kill(pid, SIGINT);
    char *out = expect_exit(pid, 130, 15000);
    char want[800];
    snprintf(want, sizeof want, "dir=%s/demo/20", runs);
    expect_in(out, want);
    free(out);
    /* --resume picks the newest of the runs of this config. */
    char d1[700], d2[700];
    snprintf(d1, sizeof d1, "%s/demo/2000-01-01_000000", runs);
    snprintf(d2, sizeof d2, "%s/demo/2999-12-31_235959", runs);
    mkdir(d1, 0755);
    mkdir(d2, 0755);
    snprintf(port, sizeof port, "%d", h_free_port());
    h_path(h_out, sizeof h_out, "resume.txt");
    argv[7] = "--resume";
    pid = h_start_env(h_out, env, argv);
    ck_assert(h_wait_output(h_out, "dir=", 15000));
    kill(pid, SIGINT);
    out = expect_exit(pid, 130, 15000);
    snprintf(want, sizeof want, "dir=%s\n", d2);
    expect_in(out, want);
    free(out);
}
END_TEST

/* The browser opens with $BROWSER only when there is a display and no SSH session. */
static bool browser_opened(const char *const *env, const char *flag, char *url_file) {
    char script[512], cfg[512], dir[512], port[16], benv[600];
    h_path(script, sizeof script, "browser.sh");
    h_path(url_file, 512, "browser_url");
    unlink(url_file);
    h_write(script, "#!/bin/sh\necho \"$1\" > '%s'\n", url_file);
    chmod(script, 0755);
    snprintf(benv, sizeof benv, "BROWSER=%s", script);
    const char *envs[8] = {benv};
    int n = 1;
    for (int i = 0; env[i]; i++) envs[n++] = env[i];
    envs[n] = NULL;
    h_path(cfg, sizeof cfg, "b.toml");
    h_path(dir, sizeof dir, "run");
    h_write(cfg, "[processes.trainer]\ncommand = " TRAINER_OK
                 "\n[processes.server]\ncommand = " SERVER_OK "\n");
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {"--config",         cfg, "--port", port, "--frontend", "none",
                          "--checkpoint-dir", dir, flag,     NULL};
    static int launches;
    char name[32];
    snprintf(name, sizeof name, "browser%d.txt", ++launches);
    h_path(h_out, sizeof h_out, name);
    pid_t pid = h_start_env(h_out, envs, argv);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    h_sleep_ms(300);
    kill(pid, SIGINT);
    free(expect_exit(pid, 130, 15000));
    return access(url_file, F_OK) == 0;
}

START_TEST(browser_only_with_display_and_not_over_ssh) {
    char url_file[512];
    const char *display[] = {"DISPLAY=:99",
                             "WAYLAND_DISPLAY=", "SSH_CONNECTION=", "SSH_TTY=", NULL};
    ck_assert(browser_opened(display, NULL, url_file));
    char *url = h_read(url_file);
    ck_assert_msg(!strncmp(url, "http://127.0.0.1:", 17), "browser got '%s'", url);
    free(url);
    ck_assert(!browser_opened(display, "--no-browser", url_file));
    const char *nodisplay[] = {"DISPLAY=", "WAYLAND_DISPLAY=", "SSH_CONNECTION=", "SSH_TTY=", NULL};
    ck_assert(!browser_opened(nodisplay, NULL, url_file));
    const char *ssh[] = {"DISPLAY=:99", "SSH_CONNECTION=10.0.0.1 5 10.0.0.2 22", NULL};
    ck_assert(!browser_opened(ssh, NULL, url_file));
    char *out = h_read(h_out);
    expect_in(out, "Open http://127.0.0.1:");
    free(out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, h_setup_out, h_cleanup);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, crash_at_start_policy_never);
    tcase_add_test(tc, crash_loop_gives_up_with_last_lines);
    tcase_add_test(tc, crash_then_recovers);
    tcase_add_test(tc, signal_death_is_named);
    tcase_add_test(tc, slow_start_misses_deadline);
    tcase_add_test(tc, ignores_sigterm_is_killed_after_stop_timeout);
    tcase_add_test(tc, second_sigint_skips_waiting);
    tcase_add_test(tc, stop_order_trainer_first_with_its_checkpoint);
    tcase_add_test(tc, sighup_exits_129);
    tcase_add_test(tc, server_exit_0_early_stops_the_demo);
    tcase_add_test(tc, trainer_exit_0_stays_up_for_viewing);
    tcase_add_test(tc, trainer_exit_0_with_exit_on_complete);
    tcase_add_test(tc, progress_completed_with_exit_on_complete);
    tcase_add_test(tc, children_get_the_process_contract);
    tcase_add_test(tc, new_run_dir_and_resume_the_newest);
    tcase_add_test(tc, browser_only_with_display_and_not_over_ssh);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
