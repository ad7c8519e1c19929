/* tests/test_trainer_schedule.c — the per-episode schedules (trainer/trainer.h): epsilon and
 * Adam's learning rate fall linearly by episode count, hold at their end values after the
 * decay, and the learning rate reaches the optimizer at the start of each episode; a decay
 * of 0 episodes keeps learning_rate throughout; learning_rate_final_episodes adds a second
 * piece after the first that leaves the first's rates as they were; with [curriculum]
 * restart_schedules both count the episodes at the current stage, and plateau_episodes
 * starts that count over at the last stage when no evaluation there reached
 * advance_survival. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "trainer/trainer.h"
#include "trainer/trainer_internal.h"
#include "tests/support/tepisode.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static trainer_t *open_trainer(cfg_config *cfg, char *dir) {
    snprintf(dir, 64, "/tmp/rd_test_schedule_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    trainer_t *t = calloc(1, sizeof *t);
    trainer_opts o = {.run_dir = dir, .episodes = 100, .quiet = true};
    char err[1024];
    ck_assert_msg(trainer_open(t, cfg, &o, err, sizeof err) == 0, "%s", err);
    return t;
}

static void close_trainer(trainer_t *t, const char *dir) {
    trainer_close(t);
    free(t);
    scratch_rm_rf(dir);
}

/* Defaults with a rate falling from 1e-3 to 1e-4 over 100 episodes of the run. */
static void rate_cfg(cfg_config *cfg) {
    cfg_defaults(cfg);
    cfg->agent.learning_rate = 1e-3;
    cfg->agent.learning_rate_end = 1e-4;
    cfg->agent.learning_rate_decay_episodes = 100;
    cfg->agent.replay_capacity = 1000;
    cfg->agent.hidden[0] = cfg->agent.hidden[1] = 16; /* the rate is tested, not the network */
    cfg->curriculum.restart_schedules = false;        /* by the run's episode count */
}

START_TEST(test_learning_rate_schedule) {
    cfg_config cfg;
    rate_cfg(&cfg);
    cfg.agent.learning_starts = 1; /* updates from the first steps: the rate is used */
    char dir[64];
    trainer_t *t = open_trainer(&cfg, dir);
    struct {
        int64_t episode;
        double lr;
    } want[] = {{0, 1e-3}, {50, 5.5e-4}, {100, 1e-4}, {5000, 1e-4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        t->st.episode = want[i].episode;
        ck_assert_double_eq_tol(trainer_learning_rate(t), want[i].lr, 1e-12);
        trainer_episode_result res;
        trainer_run_episode(t, NULL, &res);
        ck_assert_float_eq_tol(t->dqn.adam.lr, (float)want[i].lr, 1e-9f);
        ck_assert_int_gt(t->dqn.updates, 0);
    }
    /* epsilon shares the schedule's shape: start at 0, end after its decay */
    t->st.episode = 0;
    ck_assert_double_eq_tol(trainer_epsilon(t), cfg.agent.epsilon_start, 1e-12);
    t->st.episode = cfg.agent.epsilon_decay_episodes * 10;
    ck_assert_double_eq_tol(trainer_epsilon(t), cfg.agent.epsilon_end, 1e-12);

    /* restart_schedules: both follow the episodes at the current stage instead. */
    t->cfg.curriculum.restart_schedules = true;
    t->st.episode = 5000;
    t->st.stage_episodes = 50;
    ck_assert_double_eq_tol(trainer_learning_rate(t), 5.5e-4, 1e-12);
    t->st.stage_episodes = 0;
    ck_assert_double_eq_tol(trainer_epsilon(t), cfg.agent.epsilon_start, 1e-12);
    /* ...but only with a curriculum that has stages to move between. */
    t->cfg.curriculum.enabled = false;
    ck_assert_double_eq_tol(trainer_learning_rate(t), 1e-4, 1e-12);
    ck_assert_double_eq_tol(trainer_epsilon(t), cfg.agent.epsilon_end, 1e-12);

    t->cfg.agent.learning_rate_decay_episodes = 0; /* constant: the schedule reads t->cfg */
    t->st.episode = 12345;
    ck_assert_double_eq_tol(trainer_learning_rate(t), 1e-3, 1e-12);
    close_trainer(t, dir);
}
END_TEST

/* learning_rate_final_episodes: after the first decay the rate goes on, linearly, from
 * learning_rate_end to learning_rate_final; up to the first decay's end every rate is the
 * one without it, bit for bit (a run is the same run until then). */
START_TEST(test_learning_rate_second_piece) {
    cfg_config cfg;
    rate_cfg(&cfg);
    char dir[64];
    trainer_t *t = open_trainer(&cfg, dir);
    double one_piece[101];
    for (int e = 0; e <= 100; e++) {
        t->st.episode = e;
        one_piece[e] = trainer_learning_rate(t);
    }
    t->cfg.agent.learning_rate_final_episodes = 50;
    t->cfg.agent.learning_rate_final = 2e-5;
    for (int e = 0; e <= 100; e++) {
        t->st.episode = e;
        double lr = trainer_learning_rate(t);
        ck_assert_msg(memcmp(&lr, &one_piece[e], sizeof lr) == 0, "episode %d: %.17g vs %.17g", e,
                      lr, one_piece[e]);
    }
    struct {
        int64_t episode;
        double lr;
    } want[] = {{101, 1e-4 - 8e-5 / 50}, {125, 6e-5}, {150, 2e-5}, {151, 2e-5}, {9999, 2e-5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        t->st.episode = want[i].episode;
        ck_assert_double_eq_tol(trainer_learning_rate(t), want[i].lr, 1e-12);
    }
    /* It reaches the optimizer like the first piece. */
    t->cfg.agent.learning_starts = 1;
    t->st.episode = 125;
    trainer_episode_result res;
    trainer_run_episode(t, NULL, &res);
    ck_assert_float_eq_tol(t->dqn.adam.lr, 6e-5f, 1e-10f);
    /* With restart_schedules both pieces count the episodes at the stage. */
    t->cfg.curriculum.restart_schedules = true;
    t->st.episode = 5000;
    t->st.stage_episodes = 125;
    ck_assert_double_eq_tol(trainer_learning_rate(t), 6e-5, 1e-12);
    t->st.stage_episodes = 50;
    ck_assert_double_eq_tol(trainer_learning_rate(t), 5.5e-4, 1e-12);
    close_trainer(t, dir);
}
END_TEST

START_TEST(test_plateau_restart) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg.agent.replay_capacity = 1000;
    cfg.agent.hidden[0] = cfg.agent.hidden[1] = 16;
    cfg.agent.epsilon_decay_episodes = 100;
    cfg.curriculum.plateau_episodes = 10;
    cfg.training.eval_every = 0; /* the kept best is set by hand below */
    cfg.training.checkpoint_every = 1000000;
    char dir[64];
    trainer_t *t = open_trainer(&cfg, dir);
    int last = cfg.curriculum.n_stages - 1;
    double bar = cfg.curriculum.advance_survival * cfg.environment.max_steps;

    /* Not at the last stage: the count goes on (min_episodes keeps the stage). */
    t->st.stage = last - 1;
    t->st.stage_episodes = 9;
    tepisode_run(t);
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage, last - 1);
    ck_assert_int_eq(t->st.stage_episodes, 11);
    ck_assert_int_eq(t->plateau_restarts, 0);

    /* At the last stage with no evaluation there: the 10th episode starts it over. */
    t->st.stage = last;
    t->st.stage_episodes = 8;
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage_episodes, 9);
    ck_assert_double_eq_tol(trainer_epsilon(t), 1.0 - 0.99 * 9 / 100, 1e-12);
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage_episodes, 0);
    ck_assert_int_eq(t->plateau_restarts, 1);
    ck_assert_double_eq_tol(trainer_epsilon(t), cfg.agent.epsilon_start, 1e-12);
    ck_assert_double_eq_tol(trainer_learning_rate(t), cfg.agent.learning_rate, 1e-12);

    /* With plateau_reset_layers = 1 the output layer is drawn afresh in both networks and
     * its Adam moments start at zero; the layers below keep what they learnt. */
    dqn_t *d = &t->dqn;
    size_t low = nn_weight_offset(&d->shape, d->shape.n_layers - 1), n = d->n_params;
    float *before = malloc(sizeof(float) * n);
    t->cfg.curriculum.plateau_reset_layers = 1;
    t->st.stage_episodes = 9;
    trainer_episode_result res;
    char err[256];
    trainer_run_episode(t, NULL, &res);
    memcpy(before, d->online, sizeof(float) * n); /* after the episode's updates */
    ck_assert_msg(trainer_end_episode(t, &res, 0.0, NULL, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t->plateau_restarts, 2);
    ck_assert(memcmp(before, d->online, sizeof(float) * low) == 0);
    int redrawn = 0;
    for (size_t i = low; i < n; i++) {
        redrawn += d->online[i] != before[i];
        ck_assert(d->target[i] == d->online[i]);
        ck_assert(d->adam_m[i] == 0.0f && d->adam_v[i] == 0.0f);
    }
    ck_assert_int_gt(redrawn, (int)(n - low) / 2);
    free(before);
    t->cfg.curriculum.plateau_reset_layers = 0;

    /* A kept best just under advance_survival: still a plateau. */
    t->keep.valid = true;
    t->keep.score = bar - 0.5;
    t->st.stage_episodes = 9;
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage_episodes, 0);
    ck_assert_int_eq(t->plateau_restarts, 3);

    ck_assert(!t->keep.valid); /* the plateau's weights are not put back */

    /* At advance_survival: the stage is learnt, no restart however long it runs. */
    t->keep.valid = true;
    t->keep.score = bar;
    t->st.stage_episodes = 9;
    tepisode_run(t);
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage_episodes, 11);
    ck_assert_int_eq(t->plateau_restarts, 3);

    /* Off (0): never. */
    t->keep.valid = false;
    t->cfg.curriculum.plateau_episodes = 0;
    t->st.stage_episodes = 9;
    tepisode_run(t);
    ck_assert_int_eq(t->st.stage_episodes, 10);
    ck_assert_int_eq(t->plateau_restarts, 3);
    close_trainer(t, dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_schedule");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_learning_rate_schedule);
    tcase_add_test(tc, test_learning_rate_second_piece);
    tcase_add_test(tc, test_plateau_restart);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
