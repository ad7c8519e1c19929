/* tests/test_trainer_view.c — what the program reads of a run and sets in it, through the
 * public trainer.h only (trainer_t opaque, as trainer/main.c sees it): trainer_get_view's
 * counters, status and last checkpoint follow the run; trainer_extend raises the target and
 * brings a completed run back to running; a reopened run says where it resumed from. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/env.h"
#include "trainer/trainer.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static trainer_t *open_run(const cfg_config *cfg, const char *dir, int64_t episodes) {
    trainer_t *t = trainer_new();
    ck_assert_ptr_nonnull(t);
    trainer_opts o = {.run_dir = dir, .episodes = episodes, .quiet = true};
    char err[1024];
    ck_assert_msg(trainer_open(t, cfg, &o, err, sizeof err) == 0, "%s", err);
    return t;
}

static void close_run(trainer_t *t) {
    trainer_close(t);
    free(t);
}

START_TEST(test_view_follows_the_run) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg.agent.replay_capacity = 2000;
    cfg.training.checkpoint_every = 1000; /* none periodic: only the explicit one below */
    cfg.training.eval_every = 1000;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/rd_test_view_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));

    trainer_t *t = open_run(&cfg, dir, 2);
    trainer_view v;
    trainer_get_view(t, &v);
    ck_assert_str_eq(v.run_dir, dir);
    ck_assert_str_eq(v.resumed_from, "");
    ck_assert_int_eq(v.episode, 0);
    ck_assert_int_eq(v.steps, 0);
    ck_assert_int_eq(v.target_episodes, 2);
    ck_assert_int_eq(v.status, TRAINER_STATUS_RUNNING);
    ck_assert(!v.in_episode);
    ck_assert_int_eq(v.saved_episode, -1);
    ck_assert_int_eq(v.n_inputs, env_obs_size(&cfg.environment));
    ck_assert_uint_gt(v.n_params, 0);
    ck_assert_uint_eq(v.seed, cfg.training.seed);
    ck_assert_ptr_eq(trainer_world(t)->cfg, &trainer_config(t)->environment);

    /* Two episodes: the counters add up and the run completes. */
    int64_t steps = 0;
    char err[1024];
    for (int e = 0; e < 2; e++) {
        trainer_episode_result res;
        trainer_run_episode(t, NULL, &res);
        ck_assert(!res.suspended);
        steps += res.steps;
        ck_assert_int_eq(trainer_world(t)->step, res.steps);
        ck_assert_msg(trainer_end_episode(t, &res, res.seconds, NULL, 0, err, sizeof err) == 0,
                      "%s", err);
    }
    trainer_get_view(t, &v);
    ck_assert_int_eq(v.episode, 2);
    ck_assert_int_eq(v.steps, steps);
    ck_assert_int_eq(v.status, TRAINER_STATUS_COMPLETED);
    ck_assert(!v.saved_now);

    /* extend: a higher target; a completed run that now falls short runs again. */
    trainer_extend(t, 3);
    trainer_get_view(t, &v);
    ck_assert_int_eq(v.target_episodes, 5);
    ck_assert_int_eq(v.status, TRAINER_STATUS_RUNNING);
    /* A paused run stays paused (the program decides when it resumes). */
    trainer_set_status(t, TRAINER_STATUS_PAUSED);
    trainer_extend(t, 1);
    trainer_get_view(t, &v);
    ck_assert_int_eq(v.target_episodes, 6);
    ck_assert_int_eq(v.status, TRAINER_STATUS_PAUSED);

    /* The last checkpoint, as the `checkpoint` message names it. */
    char path[1024];
    ck_assert_msg(trainer_checkpoint(t, false, path, sizeof path, err, sizeof err) == 0, "%s", err);
    trainer_get_view(t, &v);
    ck_assert_int_eq(v.saved_episode, 2);
    ck_assert_int_eq(v.saved_steps, steps);
    ck_assert_int_eq(v.saved_episode_step, 0);
    ck_assert_str_eq(v.saved_name, "ep_0000002");
    ck_assert_str_eq(v.saved_path, path);
    float q[ENV_NUM_ACTIONS];
    trainer_q_values(t, q); /* the last observation's q-values: finite for a fresh network */
    for (int i = 0; i < ENV_NUM_ACTIONS; i++) ck_assert(q[i] == q[i]);
    close_run(t);

    /* Reopened: where it resumed from. */
    t = open_run(&cfg, dir, 4);
    trainer_get_view(t, &v);
    ck_assert_str_eq(v.resumed_from, path);
    ck_assert_int_eq(v.resumed_episode, 2);
    ck_assert_int_eq(v.episode, 2);
    ck_assert_int_eq(v.steps, steps);
    ck_assert_int_eq(v.target_episodes, 4);
    ck_assert_int_eq(v.status, TRAINER_STATUS_RUNNING);
    ck_assert_str_eq(v.saved_name, "ep_0000002");
    close_run(t);
    scratch_rm_rf(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_view");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_view_follows_the_run);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
