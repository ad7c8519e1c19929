/* tests/test_env_invariants.c — properties that hold in every world a config can describe.
 *
 * Random worlds (grid 1x1 to 32x32, 0 to 32 affordances at random cells with random
 * prices, effects, hours and ticks, random decays, costs, cascades, both views, with and
 * without a day cycle, multipliers 0 to 2) run with random actions, valid or not. After
 * every step: meters in [0,1], the agent inside the grid, the mask consistent with the
 * grid and the affordances, the observation finite and exactly env_obs_size() floats, the
 * step within max_steps, and the outcome consistent with the meters. Under the sanitizer
 * build this is also the world's memory-safety test. Fixed seeds: a failure reproduces. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/env.h"
#include "tests/support/runner.h"

static double uni(rng_t *r, double lo, double hi) {
    return lo + (hi - lo) * rng_double(r);
}

static void random_world(cfg_environment *c, rng_t *r) {
    cfg_config base;
    cfg_defaults(&base);
    *c = base.environment;
    c->width = 1 + (int)rng_below(r, CFG_MAX_GRID);
    c->height = 1 + (int)rng_below(r, CFG_MAX_GRID);
    if (rng_below(r, 3) == 0) c->width = c->height = 8;
    c->max_steps = 1 + (int)rng_below(r, 600);
    c->observability = rng_below(r, 2) ? CFG_OBS_PARTIAL : CFG_OBS_FULL;
    c->view_radius = (int)rng_below(r, ENV_MAX_VIEW_RADIUS + 1);
    c->day_cycle = rng_below(r, 2);
    c->day_length = 1 + (int)rng_below(r, 400);
    c->start_hour = (int)rng_below(r, 24);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        c->initial[m] = uni(r, 0.05, 1.0);
        c->decay[m] = uni(r, 0, 0.004);
        c->move_cost[m] = uni(r, -0.002, 0.01); /* a negative cost raises a meter */
        c->wait_cost[m] = uni(r, 0, 0.003);
    }
    c->fitness_health_rate = uni(r, 0, 0.002);
    c->n_cascades = (int)rng_below(r, CFG_MAX_CASCADES + 1);
    for (int k = 0; k < c->n_cascades; k++)
        c->cascades[k] =
            (cfg_cascade){(int)rng_below(r, CFG_NUM_METERS), (int)rng_below(r, CFG_NUM_METERS),
                          uni(r, 0, 0.6), uni(r, 0, 0.01)};
    int cells = c->width * c->height;
    c->n_affordances = (int)rng_below(
        r, (uint32_t)(cells < CFG_MAX_AFFORDANCES ? cells + 1 : CFG_MAX_AFFORDANCES + 1));
    for (int a = 0; a < c->n_affordances; a++) {
        cfg_affordance *af = &c->affordances[a];
        af->x = (int)rng_below(r, (uint32_t)c->width);
        af->y = (int)rng_below(r, (uint32_t)c->height);
        af->cost = rng_below(r, 3) ? uni(r, 0, 30) : 0;
        for (int m = 0; m < CFG_NUM_METERS; m++) af->effects[m] = uni(r, -0.5, 0.8);
        af->open_hour = (int)rng_below(r, 25);
        af->close_hour = (int)rng_below(r, 25);
        af->ticks = 1 + (int)rng_below(r, 5);
    }
}

/* Check records every ck_assert through a pipe to the parent process; millions of them
 * would cost minutes of system time. REQUIRE calls into Check only when it fails. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg("world %d episode %d step %d: failed: %s", world, ep, e.step, #cond);     \
    } while (0)

START_TEST(test_random_worlds) {
    rng_t r;
    rng_seed(&r, 2024, (uint64_t)_i);
    static float obs[ENV_MAX_OBS + 1];
    env_t e;
    e.step = 0;
    long steps = 0, interacts = 0, progressed = 0;
    for (int world = 0; world < 100; world++) {
        cfg_environment c;
        random_world(&c, &r);
        int ep = -1;
        REQUIRE(env_init(&e, &c, rng_next(&r)) == 0);
        int size = env_obs_size(&c);
        REQUIRE((size) <= (ENV_MAX_OBS));
        for (ep = 0; ep < 5; ep++) {
            e.multiplier = uni(&r, 0, 2);
            env_reset(&e);
            for (int m = 0; m < CFG_NUM_METERS; m++) REQUIRE(e.meters[m] == c.initial[m]);
            while (e.outcome == ENV_RUNNING) {
                uint8_t mask = env_action_mask(&e);
                REQUIRE(mask & (1u << ENV_WAIT));
                REQUIRE((!!(mask & (1u << ENV_UP))) == (e.y > 0));
                REQUIRE((!!(mask & (1u << ENV_DOWN))) == (e.y < c.height - 1));
                REQUIRE((!!(mask & (1u << ENV_LEFT))) == (e.x > 0));
                REQUIRE((!!(mask & (1u << ENV_RIGHT))) == (e.x < c.width - 1));
                int here = cfg_affordance_at(&c, e.x, e.y);
                REQUIRE(!!(mask & (1u << ENV_INTERACT)) == (here >= 0 && env_is_open(&e, here)));
                obs[size] = 12345.0f; /* the canary past the end */
                env_observe(&e, obs);
                REQUIRE((obs[size]) == (12345.0f));
                for (int i = 0; i < size; i++) REQUIRE(isfinite(obs[i]));
                int a = (int)rng_below(&r, ENV_NUM_ACTIONS + 2) - 1; /* -1 .. 6 */
                int x0 = e.x, y0 = e.y;
                env_outcome out = env_step(&e, a);
                steps++;
                interacts += e.last_interact_ok;
                progressed += e.progress_aff >= 0;
                REQUIRE(e.x >= 0 && e.x < c.width && e.y >= 0 && e.y < c.height);
                REQUIRE(abs(e.x - x0) + abs(e.y - y0) <= 1);
                for (int m = 0; m < CFG_NUM_METERS; m++)
                    REQUIRE(e.meters[m] >= 0.0 && e.meters[m] <= 1.0);
                REQUIRE((e.step) <= (c.max_steps));
                REQUIRE((out) == (e.outcome));
                if (out == ENV_DIED_HEALTH) REQUIRE(e.meters[METER_HEALTH] == 0.0);
                if (out == ENV_DIED_ENERGY) REQUIRE(e.meters[METER_ENERGY] == 0.0);
                if (out == ENV_RUNNING) {
                    REQUIRE(e.meters[METER_HEALTH] > 0.0 && e.meters[METER_ENERGY] > 0.0);
                    REQUIRE((e.step) < (c.max_steps));
                }
                if (e.progress_aff >= 0) {
                    REQUIRE(c.day_cycle);
                    REQUIRE(cfg_affordance_at(&c, e.x, e.y) == e.progress_aff);
                    REQUIRE((e.progress_ticks) < (c.affordances[e.progress_aff].ticks));
                }
                double h = env_hour(&e);
                REQUIRE(h >= 0.0 && h < 24.0);
            }
        }
    }
    /* not vacuous: the worlds were lived in, and interactions (multi-tick ones too) ran */
    ck_assert_int_gt(steps, 20000);
    ck_assert_int_gt(interacts, 100);
    ck_assert_int_gt(progressed, 10);
}
END_TEST

int main(void) {
    Suite *s = suite_create("env_invariants");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_random_worlds, 0, 8);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
