/* tests/test_trainer_control.c — the command handling of the trainer (trainer/control.h):
 * pause, resume, stop, start, set_speed, set_mode, checkpoint, malformed input. The wire is
 * the link's tests' business; this pins what each command does to the state the training
 * loop obeys. */
#include <check.h>
#include <string.h>

#include "trainer/control.h"
#include "tests/support/runner.h"

static ctl_command apply(ctl_state *c, const char *json) {
    char err[256];
    return ctl_apply(c, json, strlen(json), err, sizeof err);
}

START_TEST(test_pause_resume) {
    ctl_state c;
    ctl_init(&c);
    ck_assert(!c.paused);
    ck_assert_int_eq(apply(&c, "{\"command\":\"pause\",\"id\":1}"), CTL_PAUSE);
    ck_assert(c.paused);
    /* Applied while paused: resume must work (commands come before the pause check). */
    ck_assert_int_eq(apply(&c, "{\"command\":\"resume\"}"), CTL_RESUME);
    ck_assert(!c.paused);
}
END_TEST

START_TEST(test_stop_start) {
    ctl_state c;
    ctl_init(&c);
    apply(&c, "{\"command\":\"pause\"}");
    ck_assert_int_eq(apply(&c, "{\"command\":\"stop\"}"), CTL_STOP);
    ck_assert(c.stop_requested); /* stop works while paused */
    ck_assert(!c.paused);
    /* The loop finishes the episode, checkpoints, and goes idle. */
    c.stop_requested = false;
    c.idle = true;
    ck_assert_int_eq(apply(&c, "{\"command\":\"stop\"}"), CTL_STOP);
    ck_assert(!c.stop_requested); /* nothing to stop while idle */
    ck_assert_int_eq(apply(&c, "{\"command\":\"start\"}"), CTL_START);
    ck_assert(c.start_requested);
}
END_TEST

START_TEST(test_speed_mode_checkpoint) {
    ctl_state c;
    ctl_init(&c);
    ck_assert_int_eq(ctl_step_delay_ms(&c), 0); /* no delay outside visual mode */
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_speed\",\"speed\":20}"), CTL_SET_SPEED);
    ck_assert_int_eq(ctl_step_delay_ms(&c), 0);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":true}"), CTL_SET_MODE);
    ck_assert(c.visual);
    ck_assert_int_eq(ctl_step_delay_ms(&c), 50);
    apply(&c, "{\"command\":\"set_speed\",\"speed\":100000}");
    ck_assert_int_eq(c.speed, 1000);
    ck_assert_int_eq(ctl_step_delay_ms(&c), 1);
    apply(&c, "{\"command\":\"set_speed\",\"speed\":-3}");
    ck_assert_int_eq(c.speed, 1);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":false}"), CTL_SET_MODE);
    ck_assert_int_eq(ctl_step_delay_ms(&c), 0);
    ck_assert_int_eq(apply(&c, "{\"command\":\"checkpoint\"}"), CTL_CHECKPOINT);
    ck_assert(c.checkpoint_requested);
}
END_TEST

START_TEST(test_malformed) {
    ctl_state c, before;
    ctl_init(&c);
    before = c;
    ck_assert_int_eq(apply(&c, "not json"), CTL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"explode\"}"), CTL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":7}"), CTL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_speed\"}"), CTL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":\"yes\"}"), CTL_UNKNOWN);
    ck_assert_int_eq(memcmp(&c, &before, sizeof c), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_control");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pause_resume);
    tcase_add_test(tc, test_stop_start);
    tcase_add_test(tc, test_speed_mode_checkpoint);
    tcase_add_test(tc, test_malformed);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
