/* tests/test_orch_restart.c — the restart policy (orchestrator/restart.h) as pure
 * bookkeeping: which endings restart under never / on-failure / always, the backoff
 * doubling up to its cap, the reset after a healthy run, the give-up beyond max_restarts
 * within restart_window, and the window sliding. */
#include <check.h>

#include "orchestrator/restart.h"
#include "tests/support/runner.h"

static cfg_process policy(cfg_restart r) {
    cfg_process p;
    memset(&p, 0, sizeof p);
    p.restart = r;
    p.max_restarts = 3;
    p.restart_window = 60;
    p.backoff_initial = 0.5;
    p.backoff_max = 3;
    p.stop_timeout = 5;
    return p;
}

START_TEST(which_endings_restart) {
    restart_state s;
    double d;
    char why[64];
    cfg_process never = policy(CFG_RESTART_NEVER), onf = policy(CFG_RESTART_ON_FAILURE),
                always = policy(CFG_RESTART_ALWAYS);
    restart_init(&s);
    ck_assert_int_eq(restart_decide(&s, &never, true, 0, 1, &d, why, sizeof why), RESTART_NO);
    ck_assert_int_eq(restart_decide(&s, &onf, false, 0, 1, &d, why, sizeof why), RESTART_NO);
    ck_assert_int_eq(restart_decide(&s, &onf, true, 0, 1, &d, why, sizeof why), RESTART_AFTER);
    restart_init(&s);
    ck_assert_int_eq(restart_decide(&s, &always, false, 0, 1, &d, why, sizeof why), RESTART_AFTER);
}
END_TEST

START_TEST(backoff_doubles_to_cap_and_gives_up) {
    restart_state s;
    restart_init(&s);
    cfg_process p = policy(CFG_RESTART_ON_FAILURE);
    p.max_restarts = 6;
    double d, want[] = {0.5, 1, 2, 3, 3, 3};
    char why[64];
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(restart_decide(&s, &p, true, i, 0.1, &d, why, sizeof why), RESTART_AFTER);
        ck_assert_double_eq_tol(d, want[i], 1e-9);
    }
    ck_assert_int_eq(restart_decide(&s, &p, true, 7, 0.1, &d, why, sizeof why), RESTART_GIVE_UP);
    ck_assert_str_eq(why, "6 restarts within 60 s");
}
END_TEST

START_TEST(healthy_run_resets_backoff_and_window_slides) {
    restart_state s;
    restart_init(&s);
    cfg_process p = policy(CFG_RESTART_ON_FAILURE);
    double d;
    char why[64];
    restart_decide(&s, &p, true, 0, 0.1, &d, why, sizeof why);
    restart_decide(&s, &p, true, 1, 0.1, &d, why, sizeof why);
    ck_assert_double_eq_tol(d, 1, 1e-9);
    /* It then ran 30 s (longer than max(backoff_max, 10 s)): back to the first wait. */
    ck_assert_int_eq(restart_decide(&s, &p, true, 31, 30, &d, why, sizeof why), RESTART_AFTER);
    ck_assert_double_eq_tol(d, 0.5, 1e-9);
    /* Three restarts at 0, 1, 31: the budget (3) is spent until the first leaves the window. */
    ck_assert_int_eq(restart_decide(&s, &p, true, 40, 0.1, &d, why, sizeof why), RESTART_GIVE_UP);
    ck_assert_int_eq(restart_decide(&s, &p, true, 61.5, 0.1, &d, why, sizeof why), RESTART_AFTER);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_restart");
    TCase *tc = tcase_create("restart");
    tcase_add_test(tc, which_endings_restart);
    tcase_add_test(tc, backoff_doubles_to_cap_and_gives_up);
    tcase_add_test(tc, healthy_run_resets_backoff_and_window_slides);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
