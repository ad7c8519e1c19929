/* tests/test_env_dynamics.c — the world's rules pinned with exact expectations.
 *
 * The expected values are written from docs/design/world.md's numbers, literally, not read back
 * from the config: a test that computed its expectation from cfg_defaults() would pass
 * whatever the defaults said. Where one rule is to be seen alone, the test switches the
 * others off in its own config (no decay, no fitness term, no cascades, no wait cost). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/env.h"
#include "tests/support/runner.h"

#define TOL 1e-12

enum {
    E = METER_ENERGY,
    HY = METER_HYGIENE,
    SA = METER_SATIATION,
    MO = METER_MONEY,
    MD = METER_MOOD,
    SO = METER_SOCIAL,
    HE = METER_HEALTH,
    FI = METER_FITNESS
};

static cfg_config g_cfg;

static const cfg_environment *defaults(void) {
    cfg_defaults(&g_cfg);
    return &g_cfg.environment;
}

/* The default world with every passive change switched off: decay, the fitness term,
 * the cascades and the wait cost (moves keep their cost). */
static cfg_environment *quiet(void) {
    cfg_defaults(&g_cfg);
    cfg_environment *c = &g_cfg.environment;
    memset(c->decay, 0, sizeof c->decay);
    memset(c->wait_cost, 0, sizeof c->wait_cost);
    c->fitness_health_rate = 0;
    c->n_cascades = 0;
    return c;
}

static void start(env_t *e, const cfg_environment *c, int x, int y, double level) {
    ck_assert_int_eq(env_init(e, c, 1), 0);
    e->x = x;
    e->y = y;
    for (int i = 0; i < CFG_NUM_METERS; i++) e->meters[i] = level;
}

#define ck_meter(e, m, want) ck_assert_double_eq_tol((e)->meters[m], (want), TOL)

/* ---- decay, fitness, multiplier ---- */

START_TEST(test_decay_wait) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.8); /* (3,4) holds no affordance */
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_RUNNING);
    ck_meter(&e, E, 0.8 - 0.001 - 0.005);
    ck_meter(&e, HY, 0.8 - 0.003);
    ck_meter(&e, SA, 0.8 - 0.004);
    ck_meter(&e, MO, 0.8);
    ck_meter(&e, MD, 0.8 - 0.001);
    ck_meter(&e, SO, 0.8 - 0.006);
    ck_meter(&e, FI, 0.8 - 0.002);
    /* the fitness term uses fitness after this step's decay */
    ck_meter(&e, HE, 0.8 - 0.001 * (0.5 + 2.5 * (1 - (0.8 - 0.002))));
    ck_assert_int_eq(e.step, 1);
    ck_assert_int_eq(e.last_action, ENV_WAIT);
}
END_TEST

START_TEST(test_decay_move) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.8);
    env_step(&e, ENV_RIGHT);
    ck_assert_int_eq(e.x, 4);
    ck_assert_int_eq(e.y, 4);
    ck_meter(&e, E, 0.8 - 0.005 - 0.005);
    ck_meter(&e, HY, 0.8 - 0.003 - 0.003);
    ck_meter(&e, SA, 0.8 - 0.004 - 0.004);
    ck_meter(&e, MD, 0.8 - 0.001);
    ck_meter(&e, SO, 0.8 - 0.006);
    ck_meter(&e, MO, 0.8);
    env_step(&e, ENV_UP);
    ck_assert_int_eq(e.y, 3);
    env_step(&e, ENV_LEFT);
    ck_assert_int_eq(e.x, 3);
    env_step(&e, ENV_DOWN);
    ck_assert_int_eq(e.y, 4);
}
END_TEST

START_TEST(test_fitness_health_term) {
    /* Only the fitness term: health -= 0.001 * (0.5 + 2.5 * (1 - fitness)). */
    for (int k = 0; k <= 4; k++) {
        cfg_environment *c = quiet();
        c->fitness_health_rate = 0.001;
        env_t e;
        start(&e, c, 3, 4, 0.9);
        double fit = k / 4.0;
        e.meters[FI] = fit;
        env_step(&e, ENV_WAIT);
        ck_meter(&e, HE, 0.9 - 0.001 * (0.5 + 2.5 * (1 - fit)));
        ck_meter(&e, FI, fit);
    }
}
END_TEST

START_TEST(test_multiplier) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.8);
    e.multiplier = 0.2; /* set between steps, as the curriculum does */
    env_step(&e, ENV_WAIT);
    ck_meter(&e, E, 0.8 - 0.001 - 0.2 * 0.005); /* the wait cost is not a decay */
    ck_meter(&e, HY, 0.8 - 0.2 * 0.003);
    ck_meter(&e, SA, 0.8 - 0.2 * 0.004);
    ck_meter(&e, MD, 0.8 - 0.2 * 0.001);
    ck_meter(&e, SO, 0.8 - 0.2 * 0.006);
    ck_meter(&e, FI, 0.8 - 0.2 * 0.002);
    ck_meter(&e, HE, 0.8 - 0.2 * 0.001 * (0.5 + 2.5 * (1 - (0.8 - 0.2 * 0.002))));
    /* moves cost the same at any multiplier */
    double e0 = e.meters[E];
    env_step(&e, ENV_RIGHT);
    ck_meter(&e, E, e0 - 0.005 - 0.2 * 0.005);
    /* cascades scale too: satiation 0.15 costs health 0.004 * 0.5 * multiplier */
    cfg_environment *c = quiet();
    c->n_cascades = 1;
    c->cascades[0] = (cfg_cascade){SA, HE, 0.3, 0.004};
    start(&e, c, 3, 4, 0.8);
    e.meters[SA] = 0.15;
    e.multiplier = 0.5;
    env_step(&e, ENV_WAIT);
    ck_meter(&e, HE, 0.8 - 0.5 * 0.004 * 0.5);
}
END_TEST

/* ---- cascades ---- */

/* docs/design/world.md's list: source, target, strength (threshold 0.3). */
static const struct {
    int src, tgt;
    double strength;
} cascades[10] = {
    {SA, HE, 0.004}, {SA, E, 0.005},  {MD, E, 0.005},   {HY, SA, 0.002}, {HY, FI, 0.002},
    {HY, MD, 0.003}, {SO, MD, 0.004}, {HY, HE, 0.0005}, {HY, E, 0.0005}, {SO, E, 0.0008},
};

START_TEST(test_cascade_list_matches_design) {
    const cfg_environment *c = defaults();
    ck_assert_int_eq(c->n_cascades, 10);
    for (int k = 0; k < 10; k++) {
        bool found = false;
        for (int j = 0; j < c->n_cascades; j++)
            if (c->cascades[j].source == cascades[k].src &&
                c->cascades[j].target == cascades[k].tgt) {
                ck_assert_double_eq_tol(c->cascades[j].strength, cascades[k].strength, TOL);
                ck_assert_double_eq_tol(c->cascades[j].threshold, 0.3, TOL);
                found = true;
            }
        ck_assert_msg(found, "cascade %d missing", k);
    }
}
END_TEST

/* Each cascade alone, with its source at, just above, just below, half of and at zero
 * below the threshold: target loses strength * (0.3 - source) / 0.3 only below it. */
START_TEST(test_cascade_each_around_threshold) {
    int k = _i;
    const double srcs[] = {0.3, 0.3 + 1e-9, 0.3 - 1e-6, 0.2, 0.15, 0.0};
    for (size_t s = 0; s < sizeof srcs / sizeof srcs[0]; s++) {
        cfg_environment *c = quiet();
        c->n_cascades = 1;
        c->cascades[0] = (cfg_cascade){cascades[k].src, cascades[k].tgt, 0.3, cascades[k].strength};
        env_t e;
        start(&e, c, 3, 4, 0.9);
        e.meters[cascades[k].src] = srcs[s];
        env_step(&e, ENV_WAIT);
        double loss = srcs[s] < 0.3 ? cascades[k].strength * (0.3 - srcs[s]) / 0.3 : 0.0;
        ck_meter(&e, cascades[k].tgt, 0.9 - loss);
        ck_meter(&e, cascades[k].src, srcs[s]);
        for (int m = 0; m < CFG_NUM_METERS; m++)
            if (m != cascades[k].src && m != cascades[k].tgt) ck_meter(&e, m, 0.9);
    }
}
END_TEST

/* All ten at once from the defaults, with every source low: each target loses the sum of
 * its cascades, all computed from the meters before any cascade of the step (hygiene's
 * cascade into satiation does not deepen satiation's own cascades this step). */
START_TEST(test_cascades_all_from_snapshot) {
    cfg_environment *c = quiet();
    cfg_config full;
    cfg_defaults(&full);
    c->n_cascades = full.environment.n_cascades;
    memcpy(c->cascades, full.environment.cascades, sizeof c->cascades);
    env_t e;
    start(&e, c, 3, 4, 0.9);
    e.meters[SA] = 0.1;
    e.meters[MD] = 0.2;
    e.meters[HY] = 0.05;
    e.meters[SO] = 0.25;
    double before[CFG_NUM_METERS];
    memcpy(before, e.meters, sizeof before);
    env_step(&e, ENV_WAIT);
    double want[CFG_NUM_METERS];
    memcpy(want, before, sizeof want);
    for (int k = 0; k < 10; k++) {
        double s = before[cascades[k].src];
        if (s < 0.3) want[cascades[k].tgt] -= cascades[k].strength * (0.3 - s) / 0.3;
    }
    for (int m = 0; m < CFG_NUM_METERS; m++) ck_meter(&e, m, want[m]);
}
END_TEST

START_TEST(test_clamp) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.0005);
    e.meters[E] = 1.0;
    e.meters[HE] = 1.0;
    env_step(&e, ENV_WAIT);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        ck_assert(e.meters[m] >= 0.0);
        ck_assert(e.meters[m] <= 1.0);
    }
    ck_meter(&e, HY, 0.0); /* 0.0005 - 0.003 clamps at 0 */
    ck_meter(&e, MO, 0.0005);
}
END_TEST

/* ---- affordances ---- */

static const struct {
    const char *name;
    int x, y;
    double cost;
    double fx[CFG_NUM_METERS]; /* energy hygiene satiation money mood social health fitness */
} affs[14] = {
    {"Bed", 1, 1, 5, {0.50, 0, 0, 0, 0, 0, 0.02, 0}},
    {"LuxuryBed", 2, 1, 11, {0.75, 0, 0, 0, 0, 0, 0.05, 0}},
    {"Shower", 2, 2, 3, {0, 0.40, 0, 0, 0, 0, 0, 0}},
    {"HomeMeal", 1, 3, 3, {0, 0, 0.45, 0, 0, 0, 0.03, 0}},
    {"FastFood", 5, 6, 10, {0.15, 0, 0.45, 0, 0, 0.01, -0.02, -0.03}},
    {"Job", 6, 6, 0, {-0.15, 0, 0, 0.225, 0, 0.02, -0.03, 0}},
    {"Labor", 7, 6, 0, {-0.20, 0, 0, 0.15, 0, 0.01, -0.05, -0.05}},
    {"Gym", 7, 3, 8, {-0.08, 0, 0, 0, 0, 0, 0, 0.30}},
    {"Bar", 7, 0, 15, {-0.20, -0.15, 0.30, 0, 0.25, 0.50, -0.05, 0}},
    {"Park", 0, 4, 0, {-0.15, 0, 0, 0, 0.15, 0.15, 0, 0.20}},
    {"Recreation", 0, 7, 6, {0.12, 0, 0, 0, 0.25, 0, 0, 0}},
    {"Therapist", 1, 7, 15, {0, 0, 0, 0, 0.40, 0, 0, 0}},
    {"Doctor", 5, 1, 8, {0, 0, 0, 0, 0, 0, 0.25, 0}},
    {"Hospital", 6, 1, 15, {0, 0, 0, 0, 0, 0, 0.40, 0}},
};

static double clamp01(double v) {
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

START_TEST(test_affordance_list_matches_design) {
    const cfg_environment *c = defaults();
    ck_assert_int_eq(c->n_affordances, 14);
    for (int a = 0; a < 14; a++) {
        ck_assert_str_eq(c->affordances[a].name, affs[a].name);
        ck_assert_int_eq(cfg_affordance_at(c, affs[a].x, affs[a].y), a);
    }
}
END_TEST

/* Each affordance's price and effects, alone (a quiet world), from meters at 0.5 (money
 * 0.5 = $50, enough for all) and, to see the clamp, from meters at 0.9. */
START_TEST(test_affordance_each) {
    int a = _i;
    const double levels[] = {0.5, 0.9};
    for (int l = 0; l < 2; l++) {
        env_t e;
        start(&e, quiet(), affs[a].x, affs[a].y, levels[l]);
        ck_assert(env_action_mask(&e) & (1u << ENV_INTERACT));
        env_step(&e, ENV_INTERACT);
        ck_assert(e.last_interact_ok);
        ck_assert_int_eq(e.last_action, ENV_INTERACT);
        ck_assert_int_eq(e.x, affs[a].x); /* interacting does not move */
        for (int m = 0; m < CFG_NUM_METERS; m++) {
            double want = levels[l] + affs[a].fx[m];
            if (m == MO) want -= affs[a].cost / 100.0;
            ck_meter(&e, m, clamp01(want));
        }
    }
}
END_TEST

/* Without the money an interaction does nothing: no price, no effect, no wait cost. With
 * the money to the cent, it goes through. */
START_TEST(test_affordance_no_money) {
    int a = _i;
    if (affs[a].cost == 0) {
        /* free places work with an empty purse */
        env_t e;
        start(&e, quiet(), affs[a].x, affs[a].y, 0.5);
        e.meters[MO] = 0.0;
        env_step(&e, ENV_INTERACT);
        ck_assert(e.last_interact_ok);
        ck_meter(&e, MO, clamp01(affs[a].fx[MO]));
        return;
    }
    cfg_environment *c = quiet();
    c->wait_cost[E] = 0.001; /* so that acting as wait would show */
    env_t e;
    start(&e, c, affs[a].x, affs[a].y, 0.5);
    e.meters[MO] = affs[a].cost / 100.0 - 0.001;
    double before[CFG_NUM_METERS];
    memcpy(before, e.meters, sizeof before);
    env_step(&e, ENV_INTERACT);
    ck_assert(!e.last_interact_ok);
    for (int m = 0; m < CFG_NUM_METERS; m++) ck_meter(&e, m, before[m]);
    /* exactly the price: paid, money ends at 0 (plus the money effect, none here) */
    e.meters[MO] = affs[a].cost / 100.0;
    env_step(&e, ENV_INTERACT);
    ck_assert(e.last_interact_ok);
    ck_meter(&e, MO, 0.0);
}
END_TEST

START_TEST(test_money_rounding_tolerated) {
    /* $15 buys three $5 nights in Bed, although 0.15 - 0.05 - 0.05 is 0.04999999999999999
     * in doubles: a price is compared with a tolerance far below a cent. */
    env_t e;
    start(&e, quiet(), 1, 1, 0.5);
    e.meters[MO] = 0.15;
    int bought = 0;
    for (int i = 0; i < 5; i++) {
        env_step(&e, ENV_INTERACT);
        bought += e.last_interact_ok;
    }
    ck_assert_int_eq(bought, 3);
    ck_assert(e.meters[MO] >= 0.0 && e.meters[MO] < 1e-12);
}
END_TEST

/* ---- death and timeout ---- */

START_TEST(test_death_health) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.8);
    e.meters[HE] = 0.0005; /* the fitness term alone takes 0.0005 or more */
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_DIED_HEALTH);
    ck_assert_int_eq(e.outcome, ENV_DIED_HEALTH);
    ck_meter(&e, HE, 0.0);
    /* a finished episode does not move on */
    int step = e.step;
    ck_assert_int_eq(env_step(&e, ENV_RIGHT), ENV_DIED_HEALTH);
    ck_assert_int_eq(e.step, step);
    ck_assert_int_eq(e.x, 3);
}
END_TEST

START_TEST(test_death_energy) {
    env_t e;
    start(&e, defaults(), 3, 4, 0.8);
    e.meters[E] = 0.0059; /* wait 0.001 + decay 0.005 */
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_DIED_ENERGY);
    start(&e, defaults(), 3, 4, 0.8);
    e.meters[E] = 0.0061;
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_RUNNING);
    /* both at once: health is reported */
    start(&e, defaults(), 3, 4, 0.8);
    e.meters[E] = 0.001;
    e.meters[HE] = 0.0001;
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_DIED_HEALTH);
}
END_TEST

START_TEST(test_timeout) {
    cfg_environment *c = quiet();
    c->max_steps = 5;
    env_t e;
    start(&e, c, 3, 4, 0.9);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_RUNNING);
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_TIMEOUT);
    ck_assert_int_eq(e.step, 5);
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_TIMEOUT);
    ck_assert_int_eq(e.step, 5);
    /* death on the last step is death */
    start(&e, defaults(), 3, 4, 0.9);
    c = (cfg_environment *)e.cfg;
    c->max_steps = 1;
    e.meters[E] = 0.001;
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_DIED_ENERGY);
    ck_assert_str_eq(env_outcome_names[ENV_TIMEOUT], "max_steps");
}
END_TEST

/* ---- masks ---- */

#define B(a) (1u << (a))

START_TEST(test_masks) {
    env_t e;
    start(&e, defaults(), 0, 0, 0.9);
    ck_assert_uint_eq(env_action_mask(&e), B(ENV_DOWN) | B(ENV_RIGHT) | B(ENV_WAIT));
    e.x = 7, e.y = 7;
    ck_assert_uint_eq(env_action_mask(&e), B(ENV_UP) | B(ENV_LEFT) | B(ENV_WAIT));
    e.x = 7, e.y = 0; /* Bar */
    ck_assert_uint_eq(env_action_mask(&e),
                      B(ENV_DOWN) | B(ENV_LEFT) | B(ENV_INTERACT) | B(ENV_WAIT));
    e.x = 0, e.y = 7; /* Recreation */
    ck_assert_uint_eq(env_action_mask(&e),
                      B(ENV_UP) | B(ENV_RIGHT) | B(ENV_INTERACT) | B(ENV_WAIT));
    e.x = 3, e.y = 4;
    ck_assert_uint_eq(env_action_mask(&e),
                      B(ENV_UP) | B(ENV_DOWN) | B(ENV_LEFT) | B(ENV_RIGHT) | B(ENV_WAIT));
    e.x = 1, e.y = 1; /* Bed */
    ck_assert_uint_eq(env_action_mask(&e), 0x3f);
    /* every cell: interact exactly on the 14 affordances */
    int n = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            e.x = x, e.y = y;
            uint8_t m = env_action_mask(&e);
            n += !!(m & B(ENV_INTERACT));
            ck_assert_int_eq(!!(m & B(ENV_INTERACT)), cfg_affordance_at(e.cfg, x, y) >= 0);
            ck_assert(m & B(ENV_WAIT));
        }
    ck_assert_int_eq(n, 14);
}
END_TEST

/* A masked action (a move off the grid, interact off an affordance, or no action at all)
 * acts as wait: no move, the wait cost, no move cost. */
START_TEST(test_masked_acts_as_wait) {
    const int actions[] = {ENV_UP, ENV_LEFT, ENV_INTERACT, -1, ENV_NUM_ACTIONS, 99};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        env_t e;
        start(&e, defaults(), 0, 0, 0.8);
        env_step(&e, actions[i]);
        ck_assert_int_eq(e.x, 0);
        ck_assert_int_eq(e.y, 0);
        ck_assert_int_eq(e.last_action, ENV_WAIT);
        ck_meter(&e, E, 0.8 - 0.001 - 0.005);
        ck_meter(&e, HY, 0.8 - 0.003);
    }
}
END_TEST

/* ---- reset, determinism ---- */

START_TEST(test_reset) {
    cfg_environment *c = (cfg_environment *)defaults();
    env_t e;
    ck_assert_int_eq(env_init(&e, c, 7), 0);
    ck_assert_int_eq(e.step, 0);
    ck_assert_int_eq(e.outcome, ENV_RUNNING);
    ck_assert_int_eq(e.last_action, -1);
    ck_assert_int_eq(e.progress_aff, -1);
    for (int m = 0; m < CFG_NUM_METERS; m++) ck_meter(&e, m, m == MO ? 0.5 : 1.0);
    /* start cells: uniform over the 64 cells */
    static int count[64];
    memset(count, 0, sizeof count);
    for (int i = 0; i < 64000; i++) {
        env_reset(&e);
        ck_assert(e.x >= 0 && e.x < 8 && e.y >= 0 && e.y < 8);
        count[e.y * 8 + e.x]++;
    }
    for (int i = 0; i < 64; i++)
        ck_assert_msg(count[i] > 850 && count[i] < 1150, "cell %d: %d", i, count[i]);
}
END_TEST

/* Runs `episodes` episodes with random valid actions from `act_seed`; returns a hash of
 * the trajectory (positions, meters bit patterns, outcomes). */
static uint64_t trajectory_hash(const cfg_environment *c, uint64_t seed, uint64_t act_seed,
                                int episodes, double mult) {
    env_t e;
    ck_assert_int_eq(env_init(&e, c, seed), 0);
    e.multiplier = mult;
    rng_t r;
    rng_seed(&r, act_seed, 99);
    uint64_t h = 1469598103934665603ULL;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ULL)
    for (int ep = 0; ep < episodes; ep++) {
        env_reset(&e);
        MIX(e.x);
        MIX(e.y);
        while (e.outcome == ENV_RUNNING) {
            int a = (int)rng_below(&r, ENV_NUM_ACTIONS);
            env_step(&e, a);
            MIX(e.x * 64 + e.y);
            for (int m = 0; m < CFG_NUM_METERS; m++) {
                uint64_t bits;
                memcpy(&bits, &e.meters[m], sizeof bits);
                MIX(bits);
            }
        }
        MIX(e.outcome);
        MIX(e.step);
    }
#undef MIX
    return h;
}

START_TEST(test_determinism) {
    const cfg_environment *c = defaults();
    uint64_t a = trajectory_hash(c, 5, 6, 20, 0.2);
    uint64_t b = trajectory_hash(c, 5, 6, 20, 0.2);
    ck_assert_uint_eq(a, b);
    ck_assert_uint_ne(a, trajectory_hash(c, 8, 6, 20, 0.2)); /* the start cells differ */
    ck_assert_uint_ne(a, trajectory_hash(c, 5, 6, 20, 1.0));
    /* a copy of an env continues exactly as the original */
    env_t e1, e2;
    env_init(&e1, c, 3);
    for (int i = 0; i < 10; i++) env_step(&e1, ENV_WAIT);
    e2 = e1;
    for (int i = 0; i < 50; i++) {
        env_step(&e1, i % 6);
        env_step(&e2, i % 6);
    }
    ck_assert_mem_eq(e1.meters, e2.meters, sizeof e1.meters);
}
END_TEST

/* ---- rewards ---- */

START_TEST(test_reward_survival) {
    cfg_config cc;
    cfg_defaults(&cc);
    const cfg_agent *ag = &cc.agent;
    ck_assert_int_eq(ag->reward, CFG_REWARD_SURVIVAL);
    env_t e;
    start(&e, &cc.environment, 3, 4, 0.8);
    ck_assert_float_eq(env_reward(&e, ag), 0.0f); /* no step yet */
    env_step(&e, ENV_WAIT);
    ck_assert_float_eq(env_reward(&e, ag), (float)ag->reward_per_step);
    e.meters[E] = 0.001;
    env_step(&e, ENV_WAIT);
    ck_assert_float_eq(env_reward(&e, ag), (float)ag->death_penalty);
    /* the step that reaches max_steps alive earns the step reward */
    cc.environment.max_steps = 2;
    start(&e, &cc.environment, 3, 4, 0.8);
    env_step(&e, ENV_WAIT);
    ck_assert_int_eq(env_step(&e, ENV_WAIT), ENV_TIMEOUT);
    ck_assert_float_eq(env_reward(&e, ag), (float)ag->reward_per_step);
}
END_TEST

START_TEST(test_reward_death_time) {
    cfg_config cc;
    cfg_defaults(&cc);
    cfg_agent *ag = &cc.agent;
    ag->reward = CFG_REWARD_DEATH_TIME;
    ag->reward_baseline = 100;
    env_t e;
    start(&e, &cc.environment, 3, 4, 0.8);
    for (int i = 0; i < 30; i++) {
        env_step(&e, ENV_WAIT);
        ck_assert_float_eq(env_reward(&e, ag), 0.0f);
    }
    e.meters[E] = 0.001;
    env_step(&e, ENV_WAIT);
    ck_assert_int_eq(e.outcome, ENV_DIED_ENERGY);
    ck_assert_float_eq(env_reward(&e, ag), 31.0f - 100.0f);
    /* timeout: steps - baseline as well */
    cfg_environment *q = quiet();
    q->max_steps = 150;
    start(&e, q, 3, 4, 1.0);
    while (env_step(&e, ENV_WAIT) == ENV_RUNNING) {}
    ck_assert_int_eq(e.outcome, ENV_TIMEOUT);
    ck_assert_float_eq(env_reward(&e, ag), 50.0f);
    /* baseline 0: the Python system's R = 1 / (0.005 * multiplier + 0.005) */
    ag->reward_baseline = 0;
    ck_assert_int_eq(env_init(&e, &cc.environment, 1), 0);
    e.multiplier = 0.2;
    ck_assert_double_eq_tol(env_reward_baseline(&e, ag), 1.0 / 0.006, 1e-9);
    e.multiplier = 1.0;
    ck_assert_double_eq_tol(env_reward_baseline(&e, ag), 100.0, 1e-9);
}
END_TEST

START_TEST(test_init_refuses) {
    env_t e;
    cfg_environment *c = quiet();
    c->width = CFG_MAX_GRID + 1;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    c = quiet();
    c->affordances[3].x = 8;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    c = quiet();
    c->n_cascades = 1;
    c->cascades[0].source = 8;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    c = quiet();
    c->max_steps = 0;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    c = quiet();
    c->day_cycle = true;
    c->day_length = 0;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    c = quiet();
    c->observability = CFG_OBS_PARTIAL;
    c->view_radius = 16;
    ck_assert_int_eq(env_init(&e, c, 1), -1);
    ck_assert_int_eq(env_init(&e, NULL, 1), -1);
    /* the largest world that fits */
    c = quiet();
    c->width = c->height = CFG_MAX_GRID;
    c->day_cycle = true;
    c->n_affordances = CFG_MAX_AFFORDANCES;
    for (int a = 0; a < CFG_MAX_AFFORDANCES; a++) {
        c->affordances[a] = c->affordances[a % 14];
        c->affordances[a].x = a;
        c->affordances[a].y = a % 5;
    }
    ck_assert_int_eq(env_init(&e, c, 1), 0);
    ck_assert_int_le(env_obs_size(c), ENV_MAX_OBS);
    env_step(&e, ENV_WAIT);
}
END_TEST

int main(void) {
    Suite *s = suite_create("env_dynamics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_decay_wait);
    tcase_add_test(tc, test_decay_move);
    tcase_add_test(tc, test_fitness_health_term);
    tcase_add_test(tc, test_multiplier);
    tcase_add_test(tc, test_cascade_list_matches_design);
    tcase_add_loop_test(tc, test_cascade_each_around_threshold, 0, 10);
    tcase_add_test(tc, test_cascades_all_from_snapshot);
    tcase_add_test(tc, test_clamp);
    tcase_add_test(tc, test_affordance_list_matches_design);
    tcase_add_loop_test(tc, test_affordance_each, 0, 14);
    tcase_add_loop_test(tc, test_affordance_no_money, 0, 14);
    tcase_add_test(tc, test_money_rounding_tolerated);
    tcase_add_test(tc, test_death_health);
    tcase_add_test(tc, test_death_energy);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_masks);
    tcase_add_test(tc, test_masked_acts_as_wait);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_reward_survival);
    tcase_add_test(tc, test_reward_death_time);
    tcase_add_test(tc, test_init_refuses);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
