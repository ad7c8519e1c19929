/* tests/test_env_levels.c — the observation of each level, element by element, and the
 * level 3 rules: the clock, opening hours, multi-tick interactions and their reset. Also
 * that the three shipped configs build a world of the expected observation size. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/env.h"
#include "tests/support/runner.h"

#define TOL 1e-12

static cfg_config g_cfg;

/* Level 1 defaults, optionally without passive change (so a level 3 interaction's price
 * and effects can be read exactly). */
static cfg_environment *world(bool quiet) {
    cfg_defaults(&g_cfg);
    cfg_environment *c = &g_cfg.environment;
    if (quiet) {
        memset(c->decay, 0, sizeof c->decay);
        memset(c->wait_cost, 0, sizeof c->wait_cost);
        c->fitness_health_rate = 0;
        c->n_cascades = 0;
    }
    return c;
}

/* Level 3 rules on the level 1 town: 240 steps a day from 08:00; the Job (index 5) open
 * 8-17 taking 4 ticks, the Bar (8) open 18-2, Bed (0) always open taking 3 ticks. */
static cfg_environment *level3(bool quiet) {
    cfg_environment *c = world(quiet);
    c->day_cycle = true;
    c->day_length = 240;
    c->start_hour = 8;
    c->max_steps = 2000;
    c->affordances[5].open_hour = 8;
    c->affordances[5].close_hour = 17;
    c->affordances[5].ticks = 4;
    c->affordances[8].open_hour = 18;
    c->affordances[8].close_hour = 2;
    c->affordances[0].ticks = 3;
    return c;
}

static float obs[ENV_MAX_OBS];

/* ---- level 1 ---- */

START_TEST(test_obs_level1) {
    cfg_environment *c = world(false);
    ck_assert_int_eq(env_obs_size(c), 87);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 5, e.y = 6; /* FastFood, index 4 */
    for (int m = 0; m < CFG_NUM_METERS; m++) e.meters[m] = 0.1 * (m + 1);
    for (int i = 0; i < ENV_MAX_OBS; i++) obs[i] = 42.0f; /* nothing is left unwritten */
    env_observe(&e, obs);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(obs[i], i == 6 * 8 + 5 ? 1.0f : 0.0f);
    for (int m = 0; m < 8; m++) ck_assert_float_eq(obs[64 + m], (float)(0.1 * (m + 1)));
    for (int a = 0; a < 15; a++) ck_assert_float_eq(obs[72 + a], a == 4 ? 1.0f : 0.0f);
    ck_assert_float_eq(obs[87], 42.0f); /* and nothing beyond */
    /* off any affordance: the 15th slot */
    e.x = 3, e.y = 4;
    env_observe(&e, obs);
    ck_assert_float_eq(obs[4 * 8 + 3], 1.0f);
    for (int a = 0; a < 15; a++) ck_assert_float_eq(obs[72 + a], a == 14 ? 1.0f : 0.0f);
    /* each affordance lights its own slot */
    for (int a = 0; a < 14; a++) {
        e.x = c->affordances[a].x, e.y = c->affordances[a].y;
        env_observe(&e, obs);
        float sum = 0;
        for (int k = 0; k < 15; k++) sum += obs[72 + k];
        ck_assert_float_eq(sum, 1.0f);
        ck_assert_float_eq(obs[72 + a], 1.0f);
    }
}
END_TEST

/* ---- level 2 ---- */

START_TEST(test_obs_level2) {
    cfg_environment *c = world(false);
    c->observability = CFG_OBS_PARTIAL;
    c->view_radius = 2;
    ck_assert_int_eq(env_obs_size(c), 25 + 2 + 8 + 15);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    /* At the top-left corner (0,0): rows y = -2..2, columns x = -2..2. */
    e.x = 0, e.y = 0;
    for (int i = 0; i < ENV_MAX_OBS; i++) obs[i] = 42.0f;
    env_observe(&e, obs);
    for (int wy = 0; wy < 5; wy++)
        for (int wx = 0; wx < 5; wx++) {
            int x = wx - 2, y = wy - 2;
            float want = x < 0 || y < 0 ? -1.0f : cfg_affordance_at(c, x, y) >= 0 ? 1.0f : 0.0f;
            ck_assert_float_eq(obs[wy * 5 + wx], want);
        }
    ck_assert_float_eq(obs[3 * 5 + 3], 1.0f); /* Bed at (1,1) */
    ck_assert_float_eq(obs[3 * 5 + 4], 1.0f); /* LuxuryBed at (2,1) */
    ck_assert_float_eq(obs[2 * 5 + 2], 0.0f); /* the agent's own cell, empty */
    ck_assert_float_eq(obs[25], 0.0f);        /* x / 7 */
    ck_assert_float_eq(obs[26], 0.0f);        /* y / 7 */
    ck_assert_float_eq(obs[27 + 0], 1.0f);    /* energy */
    ck_assert_float_eq(obs[27 + 3], 0.5f);    /* money */
    ck_assert_float_eq(obs[35 + 14], 1.0f);   /* no affordance here */
    ck_assert_float_eq(obs[50], 42.0f);
    /* At (7,6), on Labor (index 6): right of it is off the grid; Job at (6,6) to the left,
     * FastFood at (5,6), Gym at (7,3) out of the window (dy = -3). */
    e.x = 7, e.y = 6;
    env_observe(&e, obs);
    for (int wy = 0; wy < 5; wy++)
        for (int wx = 0; wx < 5; wx++) {
            int x = 7 + wx - 2, y = 6 + wy - 2;
            float want = x > 7 || y > 7 ? -1.0f : cfg_affordance_at(c, x, y) >= 0 ? 1.0f : 0.0f;
            ck_assert_float_eq(obs[wy * 5 + wx], want);
        }
    ck_assert_float_eq(obs[2 * 5 + 2], 1.0f); /* standing on Labor */
    ck_assert_float_eq(obs[2 * 5 + 1], 1.0f); /* Job */
    ck_assert_float_eq(obs[2 * 5 + 0], 1.0f); /* FastFood */
    ck_assert_float_eq(obs[2 * 5 + 3], -1.0f);
    ck_assert_float_eq(obs[25], 1.0f);
    ck_assert_float_eq_tol(obs[26], 6.0f / 7.0f, 1e-6f);
    ck_assert_float_eq(obs[35 + 6], 1.0f);
    ck_assert_float_eq(obs[35 + 14], 0.0f);
    /* radius 1: a 3x3 window */
    c->view_radius = 1;
    ck_assert_int_eq(env_obs_size(c), 9 + 2 + 8 + 15);
}
END_TEST

/* Every cell of a non-square grid (6 wide, 4 high, affordances on some cells), radii 0 to
 * 4: the window against a plain reference, and the normalised position. */
START_TEST(test_obs_window_reference) {
    cfg_environment *c = world(false);
    c->width = 6;
    c->height = 4;
    c->observability = CFG_OBS_PARTIAL;
    c->n_affordances = 5;
    const int ax[5] = {0, 5, 2, 5, 3}, ay[5] = {0, 0, 1, 3, 3};
    for (int a = 0; a < 5; a++) c->affordances[a].x = ax[a], c->affordances[a].y = ay[a];
    for (int r = 0; r <= 4; r++) {
        c->view_radius = r;
        int side = 2 * r + 1;
        ck_assert_int_eq(env_obs_size(c), side * side + 2 + 8 + 6);
        env_t e;
        ck_assert_int_eq(env_init(&e, c, 1), 0);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++) {
                e.x = x, e.y = y;
                env_observe(&e, obs);
                for (int wy = 0; wy < side; wy++)
                    for (int wx = 0; wx < side; wx++) {
                        int gx = x + wx - r, gy = y + wy - r;
                        float want = gx < 0 || gy < 0 || gx >= 6 || gy >= 4 ? -1.0f
                                     : cfg_affordance_at(c, gx, gy) >= 0    ? 1.0f
                                                                            : 0.0f;
                        ck_assert_float_eq(obs[wy * side + wx], want);
                    }
                ck_assert_float_eq_tol(obs[side * side], x / 5.0f, 1e-6f);
                ck_assert_float_eq_tol(obs[side * side + 1], y / 3.0f, 1e-6f);
                int a = cfg_affordance_at(c, x, y);
                ck_assert_float_eq(obs[side * side + 2 + 8 + (a >= 0 ? a : 5)], 1.0f);
            }
    }
}
END_TEST

/* ---- level 3 ---- */

START_TEST(test_obs_level3) {
    cfg_environment *c = level3(false);
    int n = 14;
    ck_assert_int_eq(env_obs_size(c), 64 + 8 + (n + 1) + 2 + n + 1);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 6, e.y = 6; /* Job */
    for (int i = 0; i < ENV_MAX_OBS; i++) obs[i] = 42.0f;
    env_observe(&e, obs);
    int t = 64 + 8 + n + 1; /* time features */
    ck_assert_float_eq(obs[6 * 8 + 6], 1.0f);
    ck_assert_float_eq(obs[72 + 5], 1.0f);
    ck_assert_double_eq_tol(obs[t], sin(2 * M_PI * 8 / 24), 1e-6);
    ck_assert_double_eq_tol(obs[t + 1], cos(2 * M_PI * 8 / 24), 1e-6);
    for (int a = 0; a < n; a++) ck_assert_float_eq(obs[t + 2 + a], a == 8 ? 0.0f : 1.0f);
    ck_assert_float_eq(obs[t + 2 + n], 0.0f); /* no progress */
    ck_assert_float_eq(obs[t + 3 + n], 42.0f);
    /* 19:30 (step 115): the Job closed, the Bar open; the clock continues */
    e.step = 115;
    ck_assert_double_eq_tol(env_hour(&e), 19.5, 1e-12);
    env_observe(&e, obs);
    ck_assert_double_eq_tol(obs[t], sin(2 * M_PI * 19.5 / 24), 1e-6);
    ck_assert_double_eq_tol(obs[t + 1], cos(2 * M_PI * 19.5 / 24), 1e-6);
    ck_assert_float_eq(obs[t + 2 + 5], 0.0f);
    ck_assert_float_eq(obs[t + 2 + 8], 1.0f);
    /* progress: two of the Job's four ticks */
    e.step = 0;
    e.meters[METER_ENERGY] = 1.0;
    env_step(&e, ENV_INTERACT);
    env_step(&e, ENV_INTERACT);
    env_observe(&e, obs);
    ck_assert_float_eq(obs[t + 2 + n], 0.5f);
}
END_TEST

/* observe_multiplier: one more input, the world's decay multiplier, after everything else;
 * the inputs before it are those of the observation without it. */
START_TEST(test_obs_multiplier) {
    cfg_environment *c = level3(false);
    int n = env_obs_size(c);
    env_t plain, with;
    ck_assert_int_eq(env_init(&plain, c, 3), 0);
    float base[ENV_MAX_OBS];
    plain.multiplier = 0.5;
    env_observe(&plain, base);
    c->observe_multiplier = true;
    ck_assert_int_eq(env_obs_size(c), n + 1);
    ck_assert_int_eq(env_init(&with, c, 3), 0);
    with.multiplier = 0.5;
    for (int i = 0; i < ENV_MAX_OBS; i++) obs[i] = 42.0f;
    env_observe(&with, obs);
    ck_assert_mem_eq(obs, base, sizeof(float) * (size_t)n);
    ck_assert_float_eq(obs[n], 0.5f);
    ck_assert_float_eq(obs[n + 1], 42.0f);
    with.multiplier = 1.0; /* a curriculum move: the next observation says so */
    env_observe(&with, obs);
    ck_assert_float_eq(obs[n], 1.0f);
}
END_TEST

START_TEST(test_clock) {
    cfg_environment *c = level3(true);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    ck_assert_double_eq_tol(env_hour(&e), 8.0, TOL);
    e.step = 10;
    ck_assert_double_eq_tol(env_hour(&e), 9.0, TOL);
    e.step = 159;
    ck_assert_double_eq_tol(env_hour(&e), 23.9, 1e-9);
    e.step = 160;
    ck_assert_double_eq_tol(env_hour(&e), 0.0, TOL);
    e.step = 240 + 45;
    ck_assert_double_eq_tol(env_hour(&e), 12.5, TOL);
    /* stepping advances the clock */
    env_reset(&e);
    for (int i = 0; i < 25; i++) env_step(&e, ENV_WAIT);
    ck_assert_double_eq_tol(env_hour(&e), 10.5, TOL);
    /* without a day cycle there is no clock, and everything is open */
    c->day_cycle = false;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.step = 115;
    ck_assert_double_eq_tol(env_hour(&e), 0.0, TOL);
    for (int a = 0; a < 14; a++) ck_assert(env_is_open(&e, a));
}
END_TEST

/* The Job (8-17) and the Bar (18-2, past midnight), hour by hour: open exactly when
 * open <= hour < close, and interact is masked when closed. */
START_TEST(test_opening_hours) {
    cfg_environment *c = level3(true);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    for (int hour = 0; hour < 24; hour++) {
        int step = ((hour - 8 + 24) % 24) * 10 + 9; /* the last step of that hour */
        e.step = step;
        bool job = hour >= 8 && hour < 17, bar = hour >= 18 || hour < 2;
        ck_assert_msg(env_is_open(&e, 5) == job, "job at %d", hour);
        ck_assert_msg(env_is_open(&e, 8) == bar, "bar at %d", hour);
        ck_assert(env_is_open(&e, 0));
        e.x = 6, e.y = 6;
        ck_assert_int_eq(!!(env_action_mask(&e) & (1u << ENV_INTERACT)), job);
        e.x = 7, e.y = 0;
        ck_assert_int_eq(!!(env_action_mask(&e) & (1u << ENV_INTERACT)), bar);
    }
}
END_TEST

/* Interact at a closed place acts as wait: the wait cost, no price. */
START_TEST(test_closed_acts_as_wait) {
    cfg_environment *c = level3(true);
    c->wait_cost[METER_ENERGY] = 0.001;
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 7, e.y = 0; /* the Bar, closed at 08:00 */
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.last_action, ENV_WAIT);
    ck_assert(!e.last_interact_ok);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.5, TOL);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.999, TOL);
}
END_TEST

/* Bed takes 3 ticks: the price at the first, nothing at the second, the effects at the
 * third; then the next interact starts (and pays for) a new night. */
START_TEST(test_multi_tick) {
    cfg_environment *c = level3(true);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 1, e.y = 1;
    e.meters[METER_ENERGY] = 0.2;
    e.meters[METER_HEALTH] = 0.5;
    env_step(&e, ENV_INTERACT);
    ck_assert(e.last_interact_ok);
    ck_assert_int_eq(e.progress_aff, 0);
    ck_assert_int_eq(e.progress_ticks, 1);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.45, TOL);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.2, TOL);
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.progress_ticks, 2);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.45, TOL);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.2, TOL);
    env_step(&e, ENV_INTERACT);
    ck_assert(e.last_interact_ok);
    ck_assert_int_eq(e.progress_aff, -1);
    ck_assert_int_eq(e.progress_ticks, 0);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.7, TOL);
    ck_assert_double_eq_tol(e.meters[METER_HEALTH], 0.52, TOL);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.45, TOL);
    env_step(&e, ENV_INTERACT);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.40, TOL);
    ck_assert_int_eq(e.progress_ticks, 1);
    /* without a day cycle the same config completes at once */
    c->day_cycle = false;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 1, e.y = 1;
    e.meters[METER_ENERGY] = 0.2;
    env_step(&e, ENV_INTERACT);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.7, TOL);
    ck_assert_int_eq(e.progress_aff, -1);
}
END_TEST

/* Any other action resets the progress, and what was paid is lost: a wait, a move away
 * (even coming straight back), and a masked action. */
START_TEST(test_multi_tick_reset) {
    const int breaks[] = {ENV_WAIT, ENV_RIGHT, ENV_UP /* masked at y = 0: a wait */};
    for (int b = 0; b < 3; b++) {
        cfg_environment *c = level3(true);
        env_t e;
        ck_assert_int_eq(env_init(&e, c, 1), 0);
        int x = b == 2 ? 7 : 6, y = b == 2 ? 0 : 6;
        if (b == 2) { /* the Bar at 18:00, 2 ticks */
            c->affordances[8].ticks = 2;
            ck_assert_int_eq(env_init(&e, c, 1), 0);
            e.step = 100;
        }
        e.x = x, e.y = y;
        e.meters[METER_MONEY] = 0.5;
        env_step(&e, ENV_INTERACT);
        env_step(&e, b == 2 ? ENV_UP : ENV_INTERACT);
        if (b == 2) {
            ck_assert_int_eq(e.last_action, ENV_WAIT);
            ck_assert_int_eq(e.progress_ticks, 0);
            ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.35, TOL);
            continue;
        }
        ck_assert_int_eq(e.progress_ticks, 2);
        env_step(&e, breaks[b]);
        ck_assert_int_eq(e.progress_aff, -1);
        ck_assert_int_eq(e.progress_ticks, 0);
        if (breaks[b] == ENV_RIGHT) env_step(&e, ENV_LEFT);
        double money = e.meters[METER_MONEY];
        for (int i = 0; i < 3; i++) env_step(&e, ENV_INTERACT);
        ck_assert_int_eq(e.progress_ticks, 3); /* started over: no effects yet */
        ck_assert_double_eq_tol(e.meters[METER_MONEY], money, TOL);
        env_step(&e, ENV_INTERACT);
        ck_assert_double_eq_tol(e.meters[METER_MONEY], money + 0.225, TOL);
    }
}
END_TEST

/* A place that closes in the middle of a shift: the next interact is masked, the shift is
 * lost. The Job closes at 17:00 = step 90. */
START_TEST(test_multi_tick_closing) {
    cfg_environment *c = level3(true);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 6, e.y = 6;
    e.step = 88;
    env_step(&e, ENV_INTERACT);
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.progress_ticks, 2);
    env_step(&e, ENV_INTERACT); /* step 90: 17:00 */
    ck_assert_int_eq(e.last_action, ENV_WAIT);
    ck_assert_int_eq(e.progress_ticks, 0);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.5, TOL);
}
END_TEST

/* No money at the first tick: nothing happens, no progress starts. */
START_TEST(test_multi_tick_no_money) {
    cfg_environment *c = level3(true);
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 1, e.y = 1;
    e.meters[METER_MONEY] = 0.04;
    e.meters[METER_ENERGY] = 0.2;
    for (int i = 0; i < 5; i++) {
        env_step(&e, ENV_INTERACT);
        ck_assert(!e.last_interact_ok);
        ck_assert_int_eq(e.progress_aff, -1);
    }
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.2, TOL);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.04, TOL);
}
END_TEST

/* mask_unaffordable: interact is masked where the price cannot be paid (the step then
 * acts as a wait, with its cost), offered again with the money, and left offered through
 * the ticks of a use already paid for even when the rest of the money is gone. Off, the
 * unaffordable interact stays offered and does nothing, at no cost (the rule before it). */
START_TEST(test_mask_unaffordable) {
    cfg_environment *c = level3(true);
    c->wait_cost[METER_ENERGY] = 0.001;
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    e.x = 1, e.y = 1; /* Bed, $5, 3 ticks */
    e.meters[METER_MONEY] = 0.04;
    ck_assert(env_action_mask(&e) & (1u << ENV_INTERACT));
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.last_action, ENV_INTERACT);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 1.0, TOL);

    c->mask_unaffordable = true;
    ck_assert(!(env_action_mask(&e) & (1u << ENV_INTERACT)));
    ck_assert(env_action_mask(&e) & (1u << ENV_WAIT));
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.last_action, ENV_WAIT);
    ck_assert_double_eq_tol(e.meters[METER_ENERGY], 0.999, TOL);
    ck_assert_double_eq_tol(e.meters[METER_MONEY], 0.04, TOL);
    /* exactly the price, within the 1e-9 tolerance the step itself uses */
    e.meters[METER_MONEY] = 0.05 - 1e-12;
    ck_assert(env_action_mask(&e) & (1u << ENV_INTERACT));
    env_step(&e, ENV_INTERACT);
    ck_assert(e.last_interact_ok);
    ck_assert_int_eq(e.progress_aff, 0);
    ck_assert(e.meters[METER_MONEY] < 0.05 - 1e-9);        /* paid: now short of a new night */
    ck_assert(env_action_mask(&e) & (1u << ENV_INTERACT)); /* but this one continues */
    env_step(&e, ENV_INTERACT);
    env_step(&e, ENV_INTERACT);
    ck_assert_int_eq(e.progress_aff, -1); /* the night is complete */
    ck_assert(!(env_action_mask(&e) & (1u << ENV_INTERACT)));
    /* a free place stays offered without a cent: the Park */
    e.x = 0, e.y = 4;
    e.meters[METER_MONEY] = 0.0;
    ck_assert(env_action_mask(&e) & (1u << ENV_INTERACT));
    /* a closed place is masked whatever the money */
    e.x = 7, e.y = 0;
    e.meters[METER_MONEY] = 1.0;
    ck_assert(!(env_action_mask(&e) & (1u << ENV_INTERACT)));
}
END_TEST

/* The observation depends only on the state fields a replay buffer keeps (position, step,
 * meters, progress): a fresh env given them observes the same floats. */
START_TEST(test_obs_from_state_fields) {
    cfg_environment *c = level3(false);
    env_t a, b;
    ck_assert_int_eq(env_init(&a, c, 3), 0);
    ck_assert_int_eq(env_init(&b, c, 99), 0);
    static float o2[ENV_MAX_OBS];
    rng_t r;
    rng_seed(&r, 1, 2);
    for (int i = 0; i < 400 && a.outcome == ENV_RUNNING; i++) {
        env_step(&a, (int)rng_below(&r, ENV_NUM_ACTIONS));
        b.x = a.x, b.y = a.y, b.step = a.step;
        memcpy(b.meters, a.meters, sizeof a.meters);
        b.progress_aff = a.progress_aff, b.progress_ticks = a.progress_ticks;
        env_observe(&a, obs);
        env_observe(&b, o2);
        ck_assert_mem_eq(obs, o2, sizeof(float) * (size_t)env_obs_size(c));
        ck_assert_uint_eq(env_action_mask(&a), env_action_mask(&b));
    }
}
END_TEST

/* The shipped configs: each builds a world of the documented size. */
START_TEST(test_shipped_configs) {
    const struct {
        const char *file;
        int size;
    } want[] = {{"level1.toml", 87}, {"level2.toml", 50}, {"level3.toml", 104}};
    for (int i = 0; i < 3; i++) {
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/configs/%s", RD_SOURCE_DIR, want[i].file);
        cfg_config cc;
        ck_assert_msg(cfg_load_file(&cc, path, err, sizeof err) == 0, "%s", err);
        env_t e;
        ck_assert_int_eq(env_init(&e, &cc.environment, 1), 0);
        ck_assert_int_eq(env_obs_size(&cc.environment), want[i].size);
        int steps = 0;
        while (env_step(&e, ENV_WAIT) == ENV_RUNNING) steps++;
        ck_assert_int_gt(steps, 50);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("env_levels");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_obs_level1);
    tcase_add_test(tc, test_obs_level2);
    tcase_add_test(tc, test_obs_window_reference);
    tcase_add_test(tc, test_obs_level3);
    tcase_add_test(tc, test_obs_multiplier);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_opening_hours);
    tcase_add_test(tc, test_closed_acts_as_wait);
    tcase_add_test(tc, test_multi_tick);
    tcase_add_test(tc, test_multi_tick_reset);
    tcase_add_test(tc, test_multi_tick_closing);
    tcase_add_test(tc, test_multi_tick_no_money);
    tcase_add_test(tc, test_mask_unaffordable);
    tcase_add_test(tc, test_obs_from_state_fields);
    tcase_add_test(tc, test_shipped_configs);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
