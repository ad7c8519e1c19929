/* tests/test_orch_orphans.c — no orphans, ever. Children that leave their process group
 * (setpgid), their session (setsid) or their parent (double fork) must still end after a
 * normal stop, after their parent child crashes, and after `kill -9` of run_demo itself —
 * within one second, also when a child ignores SIGTERM. The test process is a subreaper,
 * so every survivor would be reparented to it and counted. */
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

#define FIX "\"{bindir}/orch_fixture\""

static pid_t launch(const char *trainer, const char *server, const char *frontend) {
    return h_launch3(h_out, sizeof h_out, trainer, server, frontend, NULL, NULL);
}

static bool alive(pid_t p) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    char *s = h_read(path);
    char *rp = strrchr(s, ')');
    bool live = rp && rp[2] != 'Z';
    free(s);
    return live;
}

/* The escapee pids a fixture wrote to name. */
static int escapees(const char *name, pid_t *out) {
    char path[512];
    h_path(path, sizeof path, name);
    char *s = h_read(path);
    int a = 0, b = 0, c = 0;
    int n = sscanf(s, "%d %d %d", &a, &b, &c);
    free(s);
    out[0] = a;
    out[1] = b;
    out[2] = c;
    return n;
}

/* Every escaping fixture has said "escapees started". */
static bool wait_escapees(int n) {
    long long end = h_now_ms() + 20000;
    while (h_now_ms() < end) {
        char *s = h_read(h_out);
        int k = h_count(s, "escapees started");
        free(s);
        if (k >= n) return true;
        h_sleep_ms(20);
    }
    return false;
}

static void trainer_server_escaping(char *t, char *s, char *f, size_t len) {
    char e1[512], e2[512], e3[512];
    h_path(e1, sizeof e1, "esc_trainer");
    h_path(e2, sizeof e2, "esc_server");
    h_path(e3, sizeof e3, "esc_frontend");
    unlink(e1);
    unlink(e2);
    unlink(e3);
    snprintf(t, len, "[" FIX ", \"--escape\", \"%s\", \"--serve\"]", e1);
    snprintf(s, len,
             "[" FIX ", \"--escape\", \"%s\", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", e2);
    if (f)
        snprintf(f, len,
                 "[" FIX ", \"--escape\", \"%s\", \"--listen\", \"RD_FRONTEND_PORT\", \"--serve\"]",
                 e3);
}

START_TEST(escapees_end_on_sigint) {
    char t[1024], s[1024], f[1024];
    trainer_server_escaping(t, s, f, sizeof t);
    pid_t pid = launch(t, s, f);
    ck_assert(h_wait_output(h_out, "All systems operational", 20000));
    ck_assert(wait_escapees(3));
    pid_t esc[3];
    ck_assert_int_eq(escapees("esc_trainer", esc), 3);
    for (int i = 0; i < 3; i++) ck_assert(alive(esc[i]));
    kill(pid, SIGINT);
    ck_assert_int_eq(h_code(h_wait(pid, 20000)), 130);
    ck_assert_int_eq(h_survivors(1000), 0);
    for (int i = 0; i < 3; i++) ck_assert(!alive(esc[i]));
}
END_TEST

START_TEST(escapees_end_when_their_parent_crashes) {
    char e1[512], t[1024];
    h_path(e1, sizeof e1, "esc_trainer");
    snprintf(t, sizeof t,
             "[" FIX ", \"--escape\", \"%s\", \"--sleep-ms\", \"300\", \"--exit\", \"3\"]\n"
             "restart = \"never\"",
             e1);
    pid_t pid = launch(t, "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL);
    ck_assert_int_eq(h_code(h_wait(pid, 20000)), 1);
    ck_assert_int_eq(h_survivors(1000), 0);
    pid_t esc[3];
    ck_assert_int_eq(escapees("esc_trainer", esc), 3);
    for (int i = 0; i < 3; i++) ck_assert(!alive(esc[i]));
}
END_TEST

/* kill -9 of run_demo: every descendant gone within a second; several trials. */
START_TEST(kill9_leaves_nothing) {
    for (int trial = 0; trial < 5; trial++) {
        char t[1024], s[1024], f[1024];
        trainer_server_escaping(t, s, f, sizeof t);
        pid_t pid = launch(t, s, f);
        ck_assert(h_wait_output(h_out, "All systems operational", 20000));
        ck_assert(wait_escapees(3));
        pid_t pids[64];
        ck_assert_int_ge(h_descendants(pids, 64), 1 + 3 * 2 + 9);
        kill(pid, SIGKILL);
        ck_assert_int_eq(h_code(h_wait(pid, 5000)), 128 + SIGKILL);
        int left = h_survivors(1000);
        ck_assert_msg(left == 0, "trial %d: %d processes survived kill -9 by 1 s", trial, left);
    }
}
END_TEST

START_TEST(kill9_with_a_child_ignoring_sigterm) {
    pid_t pid =
        launch("[" FIX ", \"--ignore-term\", \"--say\", \"ready\", \"--serve\"]",
               "[" FIX ", \"--ignore-term\", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 20000));
    ck_assert(h_wait_output(h_out, "ready", 20000));
    kill(pid, SIGKILL);
    h_wait(pid, 5000);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

START_TEST(children_lead_their_own_session) {
    /* uv_spawn(UV_PROCESS_DETACHED) is setsid(): rd_exec leads a session and a group, and
     * the command has a group of its own inside it (rd_exec's setpgid). */
    pid_t pid = launch("[" FIX ", \"--serve\"]",
                       "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL);
    ck_assert(h_wait_output(h_out, "All systems operational", 20000));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    char *kids = h_read(path);
    int checked = 0;
    for (char *p = kids, *e;; p = e) {
        long k = strtol(p, &e, 10);
        if (e == p) break;
        snprintf(path, sizeof path, "/proc/%ld/stat", k);
        char *st = h_read(path);
        int ppid = 0, pgrp = 0, sid = 0;
        sscanf(strrchr(st, ')') + 2, "%*c %d %d %d", &ppid, &pgrp, &sid);
        ck_assert_int_eq(sid, k);
        ck_assert_int_eq(pgrp, k);
        free(st);
        checked++;
    }
    free(kids);
    ck_assert_int_eq(checked, 2);
    kill(pid, SIGINT);
    ck_assert_int_eq(h_code(h_wait(pid, 20000)), 130);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_orphans");
    TCase *tc = tcase_create("orphans");
    tcase_add_checked_fixture(tc, h_setup_out, h_cleanup);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, escapees_end_on_sigint);
    tcase_add_test(tc, escapees_end_when_their_parent_crashes);
    tcase_add_test(tc, kill9_leaves_nothing);
    tcase_add_test(tc, kill9_with_a_child_ignoring_sigterm);
    tcase_add_test(tc, children_lead_their_own_session);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
