/* tests/test_common_proc.c — the process primitives of common/: the clocks (common/clk.h)
 * and the parent-death watch (common/pdeath.h), each in a forked child so that the
 * environment and prctl settings of the test runner stay untouched. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clk.h"
#include "common/pdeath.h"
#include "tests/support/runner.h"

START_TEST(clocks_agree_with_the_system) {
    double m0 = clk_mono();
    uint64_t ms0 = clk_mono_ms();
    double w = clk_wall();
    time_t now = time(NULL);
    ck_assert(w >= (double)now - 1 && w <= (double)now + 1);
    /* The two monotonic readings are the same clock in two units. */
    ck_assert((double)ms0 / 1000 >= m0 - 0.001 && (double)ms0 / 1000 <= m0 + 1.0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ck_assert(clk_mono() >= m0 + 0.019);
    ck_assert_uint_ge(clk_mono_ms(), ms0 + 19);
}
END_TEST

/* Runs pdeath_arm(SIGTERM) in a child with RD_PARENT_PID set to `parent` (NULL: unset);
 * its result as the child's exit status (0 = true, 1 = false). */
static int arm_in_child(const char *parent) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (parent)
            setenv("RD_PARENT_PID", parent, 1);
        else
            unsetenv("RD_PARENT_PID");
        _exit(pdeath_arm(SIGTERM) ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

START_TEST(pdeath_checks_the_named_parent) {
    char me[32];
    snprintf(me, sizeof me, "%ld", (long)getpid());
    ck_assert_int_eq(arm_in_child(me), 0);   /* the parent is who it says */
    ck_assert_int_eq(arm_in_child("1"), 1);  /* another process: the parent is gone */
    ck_assert_int_eq(arm_in_child(NULL), 0); /* run by hand: nothing to watch */
}
END_TEST

START_TEST(pdeath_signal_arrives) {
    /* middle forks a grandchild that arms SIGTERM with middle as its parent, then middle
     * exits: the grandchild must be killed by SIGTERM (it would otherwise sleep 10 s). */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t middle = fork();
    ck_assert_int_ge(middle, 0);
    if (middle == 0) {
        char me[32];
        snprintf(me, sizeof me, "%ld", (long)getpid());
        setenv("RD_PARENT_PID", me, 1);
        pid_t g = fork();
        if (g == 0) {
            /* Check's runner forwards SIGTERM to its process group: the default action
             * here, as in a real child. */
            signal(SIGTERM, SIG_DFL);
            if (!pdeath_arm(SIGTERM)) _exit(3);
            ssize_t w = write(fds[1], "r", 1); /* armed */
            (void)w;
            sleep(10);
            _exit(4);
        }
        char c;
        ssize_t r = read(fds[0], &c, 1);
        (void)r;
        _exit(0);
    }
    close(fds[1]);
    int st;
    ck_assert_int_eq(waitpid(middle, &st, 0), middle);
    /* The grandchild now belongs to init (or a subreaper): watch its pipe end close. */
    char c;
    time_t t0 = time(NULL);
    while (read(fds[0], &c, 1) > 0) continue;
    close(fds[0]);
    ck_assert_msg(time(NULL) - t0 < 5, "the grandchild outlived its parent");
}
END_TEST

int main(void) {
    Suite *s = suite_create("common_proc");
    TCase *tc = tcase_create("proc");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, clocks_agree_with_the_system);
    tcase_add_test(tc, pdeath_checks_the_named_parent);
    tcase_add_test(tc, pdeath_signal_arrives);
    suite_add_tcase(s, tc);
    return runner_run(s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
