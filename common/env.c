/* common/env.c — the Townlet grid world. See common/env.h and docs/design/world.md, which
 * states the world's numbers and every rule this file decides.
 *
 * One step, in this order (each phase ends with the meters clamped to [0,1]):
 *   1. the action: a move and its move_cost, a wait and its wait_cost, or an interact
 *      (price and effects, see interact()); a masked or unknown action acts as wait;
 *   2. the base decay × multiplier, then the fitness→health term × multiplier;
 *   3. the cascades × multiplier, all computed from the meters as phase 2 left them;
 *   4. death (health, then energy, at 0), then the timeout at max_steps.
 *
 * The hot path (env_step, env_action_mask, env_observe) reads only precomputed constants
 * from e->pc: rates already scaled by the multiplier, cascade factors already divided by
 * their threshold, a per-cell action mask and a per-hour open mask. */
#include "common/env.h"

#include <math.h>
#include <string.h>

const char *const env_action_names[ENV_NUM_ACTIONS] = {"up",    "down",     "left",
                                                       "right", "interact", "wait"};
const char *const env_outcome_names[4] = {"running", "health", "energy", "max_steps"};

/* The stream env_init() seeds its generator with, so that the world's randomness (the
 * start cell) never shares a sequence with another generator drawn from the same seed. */
#define ENV_RNG_STREAM 0x656e76ULL /* "env" */

/* Money compared against a price tolerates this much rounding: $3 is 0.03 in the meter,
 * and 0.5 - 0.03 - 0.03 ... accumulates errors of a few ulps that must not make an
 * affordable interaction unaffordable. */
#define ENV_MONEY_EPS 1e-9

#define BIT(a) (1u << (a))

/* Per action: up, down, left, right, interact, wait. */
static const int8_t move_dx[ENV_NUM_ACTIONS] = {0, 0, -1, 1, 0, 0};
static const int8_t move_dy[ENV_NUM_ACTIONS] = {-1, 1, 0, 0, 0, 0};

/* Whether an affordance with these hours is open during `hour` (0-23). Equal hours modulo
 * 24 (0 and 24 in particular) mean always open; close < open wraps past midnight. */
static bool hours_open(int open_hour, int close_hour, int hour) {
    int o = ((open_hour % 24) + 24) % 24, c = ((close_hour % 24) + 24) % 24;
    if (o == c) return true;
    if (o < c) return hour >= o && hour < c;
    return hour >= o || hour < c;
}

/* Rates that depend on the multiplier; called when it changes, so the step never
 * multiplies or divides by it. */
static void set_rates(env_t *e) {
    const cfg_environment *c = e->cfg;
    double mult = e->multiplier;
    e->pc.multiplier = mult;
    for (int i = 0; i < CFG_NUM_METERS; i++) e->pc.decay[i] = c->decay[i] * mult;
    /* rate * mult * (base + slope * (1 - f)) = rate * mult * (base + slope) - rate * mult *
     * slope * f */
    double r = c->fitness_health_rate * mult;
    e->pc.fh_const = r * (c->fitness_health_base + c->fitness_health_slope);
    e->pc.fh_slope = r * c->fitness_health_slope;
    for (int k = 0; k < e->pc.n_cascades; k++) {
        const cfg_cascade *cc = &c->cascades[k];
        /* A threshold <= 0 can never be undercut by a meter in [0,1]: the cascade is off. */
        e->pc.ck[k] = cc->threshold > 0 ? cc->strength * mult / cc->threshold : 0.0;
    }
}

/* Everything that depends on the config alone. */
static void set_constants(env_t *e) {
    const cfg_environment *c = e->cfg;
    int w = c->width, h = c->height;
    memset(e->cell, -1, sizeof e->cell);
    /* Backwards so that the first of two affordances on one cell wins, as in
     * cfg_affordance_at(). */
    for (int a = c->n_affordances - 1; a >= 0; a--)
        e->cell[c->affordances[a].y * w + c->affordances[a].x] = (int8_t)a;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t m = BIT(ENV_WAIT);
            if (y > 0) m |= BIT(ENV_UP);
            if (y < h - 1) m |= BIT(ENV_DOWN);
            if (x > 0) m |= BIT(ENV_LEFT);
            if (x < w - 1) m |= BIT(ENV_RIGHT);
            if (e->cell[y * w + x] >= 0) m |= BIT(ENV_INTERACT);
            e->pc.cell_mask[y * w + x] = m;
        }
    e->pc.cost_may_raise = false;
    for (int i = 0; i < CFG_NUM_METERS; i++) {
        for (int a = ENV_UP; a <= ENV_RIGHT; a++) e->pc.action_cost[a][i] = c->move_cost[i];
        e->pc.action_cost[ENV_INTERACT][i] = 0.0;
        e->pc.action_cost[ENV_WAIT][i] = c->wait_cost[i];
        if (c->move_cost[i] < 0 || c->wait_cost[i] < 0) e->pc.cost_may_raise = true;
        e->pc.src_thr[i] = -1.0; /* no meter in [0,1] is below: not a source */
    }
    e->pc.n_cascades = c->n_cascades;
    for (int k = 0; k < c->n_cascades; k++) {
        const cfg_cascade *cc = &c->cascades[k];
        e->pc.csrc[k] = (int8_t)cc->source;
        e->pc.ctgt[k] = (int8_t)cc->target;
        e->pc.cthr[k] = cc->threshold;
        if (cc->threshold > e->pc.src_thr[cc->source]) e->pc.src_thr[cc->source] = cc->threshold;
    }
    for (int a = 0; a < c->n_affordances; a++) {
        const cfg_affordance *af = &c->affordances[a];
        e->pc.price[a] = af->cost / 100.0;
        int open_hour, close_hour, ticks;
        env_affordance_rule(c, af, &open_hour, &close_hour, &ticks);
        if (ticks > INT16_MAX) ticks = INT16_MAX;
        e->pc.ticks[a] = (int16_t)ticks;
        e->pc.inv_ticks[a] = 1.0f / (float)ticks;
    }
    for (int hr = 0; hr < 24; hr++) {
        uint32_t open = 0;
        for (int a = 0; a < c->n_affordances; a++) {
            int open_hour, close_hour, ticks;
            env_affordance_rule(c, &c->affordances[a], &open_hour, &close_hour, &ticks);
            if (hours_open(open_hour, close_hour, hr)) open |= BIT(a);
        }
        e->pc.open_by_hour[hr] = open;
    }
    if (c->observability == CFG_OBS_PARTIAL) {
        /* The grid with a border of r cells on each side: -1 outside, 1 an affordance. */
        int r = c->view_radius, pw = w + 2 * r, ph = h + 2 * r;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                int gx = x - r, gy = y - r;
                bool in = gx >= 0 && gx < w && gy >= 0 && gy < h;
                e->pc.view[y * pw + x] = !in ? -1 : e->cell[gy * w + gx] >= 0 ? 1 : 0;
            }
    }
    e->pc.inv_w1 = w > 1 ? 1.0f / (float)(w - 1) : 0.0f;
    e->pc.inv_h1 = h > 1 ? 1.0f / (float)(h - 1) : 0.0f;
    e->pc.start_hour = ((c->start_hour % 24) + 24) % 24;
    e->pc.obs_size = env_obs_size(c);
}

int env_obs_size(const cfg_environment *cfg) {
    int n = cfg->n_affordances;
    int size;
    if (cfg->observability == CFG_OBS_PARTIAL) {
        int side = 2 * cfg->view_radius + 1;
        size = side * side + 2; /* the window, then x and y normalised */
    } else {
        size = cfg->width * cfg->height;
    }
    size += CFG_NUM_METERS + n + 1;
    if (cfg->day_cycle) size += 2 + n + 1; /* sin, cos of the hour; open flags; progress */
    if (cfg->observe_multiplier) size += 1;
    return size;
}

int env_init(env_t *e, const cfg_environment *cfg, uint64_t seed) {
    memset(e, 0, sizeof *e);
    if (!cfg || cfg->width < 1 || cfg->height < 1 || cfg->width > CFG_MAX_GRID ||
        cfg->height > CFG_MAX_GRID || cfg->max_steps < 1 || cfg->n_affordances < 0 ||
        cfg->n_affordances > CFG_MAX_AFFORDANCES || cfg->n_cascades < 0 ||
        cfg->n_cascades > CFG_MAX_CASCADES)
        return -1;
    if (cfg->day_cycle && cfg->day_length < 1) return -1;
    if (cfg->observability == CFG_OBS_PARTIAL &&
        (cfg->view_radius < 0 || cfg->view_radius > ENV_MAX_VIEW_RADIUS))
        return -1;
    for (int a = 0; a < cfg->n_affordances; a++) {
        const cfg_affordance *af = &cfg->affordances[a];
        if (af->x < 0 || af->y < 0 || af->x >= cfg->width || af->y >= cfg->height) return -1;
    }
    for (int k = 0; k < cfg->n_cascades; k++) {
        const cfg_cascade *cc = &cfg->cascades[k];
        if (cc->source < 0 || cc->source >= CFG_NUM_METERS || cc->target < 0 ||
            cc->target >= CFG_NUM_METERS)
            return -1;
    }
    if (env_obs_size(cfg) > ENV_MAX_OBS) return -1;
    e->cfg = cfg;
    e->multiplier = 1.0;
    rng_seed(&e->rng, seed, ENV_RNG_STREAM);
    set_constants(e);
    set_rates(e);
    env_reset(e);
    return 0;
}

void env_reset(env_t *e) {
    const cfg_environment *c = e->cfg;
    if (e->multiplier != e->pc.multiplier) set_rates(e);
    uint32_t cell = rng_below(&e->rng, (uint32_t)(c->width * c->height));
    e->x = (int)(cell % (uint32_t)c->width);
    e->y = (int)(cell / (uint32_t)c->width);
    e->step = 0;
    for (int i = 0; i < CFG_NUM_METERS; i++) e->meters[i] = c->initial[i];
    e->progress_aff = -1;
    e->progress_ticks = 0;
    e->outcome = ENV_RUNNING;
    e->last_action = -1;
    e->last_interact_ok = false;
}

/* The hour (0-23) of e's current step; the one integer division of level 3. */
static inline int hour_now(const env_t *e) {
    int len = e->cfg->day_length;
    int tick = e->step % len;
    return (e->pc.start_hour + tick * 24 / len) % 24;
}

static inline uint32_t open_now(const env_t *e) {
    return e->cfg->day_cycle ? e->pc.open_by_hour[hour_now(e)] : 0xffffffffu;
}

void env_affordance_rule(const cfg_environment *cfg, const cfg_affordance *af, int *open_hour,
                         int *close_hour, int *ticks) {
    *open_hour = cfg->day_cycle ? af->open_hour : 0;
    *close_hour = cfg->day_cycle ? af->close_hour : 24;
    /* Multi-tick interactions are a level 3 rule: without a day cycle every interaction
     * completes at once (the observation could not show progress). */
    *ticks = cfg->day_cycle && af->ticks > 1 ? af->ticks : 1;
}

double env_hour(const env_t *e) {
    if (!e->cfg->day_cycle) return 0.0;
    int len = e->cfg->day_length;
    double h = e->pc.start_hour + (double)(e->step % len) * 24.0 / len;
    return h >= 24.0 ? h - 24.0 : h;
}

bool env_is_open(const env_t *e, int a) {
    if (a < 0 || a >= e->cfg->n_affordances) return false;
    return (open_now(e) >> a) & 1;
}

uint8_t env_action_mask(const env_t *e) {
    int cell = e->y * e->cfg->width + e->x;
    uint8_t m = e->pc.cell_mask[cell];
    if (!(m & BIT(ENV_INTERACT))) return m;
    int a = e->cell[cell];
    if (e->cfg->day_cycle && !((e->pc.open_by_hour[hour_now(e)] >> a) & 1))
        m &= (uint8_t)~BIT(ENV_INTERACT);
    /* Without the money an interact does nothing and costs nothing: cheaper than a wait,
     * so a policy can settle on it at a place it can no longer afford. A use already
     * paid for continues. */
    else if (e->cfg->mask_unaffordable && e->progress_aff != a &&
             e->meters[METER_MONEY] < e->pc.price[a] - ENV_MONEY_EPS)
        m &= (uint8_t)~BIT(ENV_INTERACT);
    return m;
}

/* Written as two selects, one bound each, so that the compiler turns the loop into packed
 * compare-and-select instructions; a nested ternary stayed scalar (callgrind: 140
 * instructions a step for the clamps, against 50 now). */
static inline void clamp_meters(double *m) {
    for (int i = 0; i < CFG_NUM_METERS; i++) {
        double v = m[i] > 0.0 ? m[i] : 0.0;
        m[i] = v < 1.0 ? v : 1.0;
    }
}

static inline void reset_progress(env_t *e) {
    e->progress_aff = -1;
    e->progress_ticks = 0;
}

/* Interact with affordance a (open: the mask said so). The first tick pays the price, or
 * does nothing at all without the money; the tick that completes the interaction (the
 * first when ticks = 1) adds the effects. Ticks in between only advance the progress. */
static void interact(env_t *e, int a) {
    double *m = e->meters;
    if (e->progress_aff != a) {
        reset_progress(e);
        if (m[METER_MONEY] < e->pc.price[a] - ENV_MONEY_EPS) return;
        m[METER_MONEY] -= e->pc.price[a];
        e->progress_aff = a;
    }
    e->progress_ticks++;
    e->last_interact_ok = true;
    if (e->progress_ticks >= e->pc.ticks[a]) {
        const double *fx = e->cfg->affordances[a].effects;
        for (int i = 0; i < CFG_NUM_METERS; i++) m[i] += fx[i];
        reset_progress(e);
    }
}

env_outcome env_step(env_t *e, int action) {
    if (e->outcome != ENV_RUNNING) return e->outcome;
    if (e->multiplier != e->pc.multiplier) set_rates(e);
    const cfg_environment *c = e->cfg;
    double *m = e->meters;

    /* 1. The action. */
    uint8_t allowed = env_action_mask(e);
    if ((unsigned)action >= ENV_NUM_ACTIONS || !((allowed >> action) & 1)) action = ENV_WAIT;
    e->last_action = action;
    e->last_interact_ok = false;
    if (action == ENV_INTERACT) {
        interact(e, e->cell[e->y * c->width + e->x]);
        clamp_meters(m);
    } else {
        /* Tables rather than branches: the action is random while exploring. */
        const double *cost = e->pc.action_cost[action];
        reset_progress(e);
        e->x += move_dx[action];
        e->y += move_dy[action];
        for (int i = 0; i < CFG_NUM_METERS; i++) m[i] -= cost[i];
        /* Costs only lower meters (unless a config makes one negative): a meter they take
         * below 0 ends this step at 0 through the next clamp just the same. */
        if (e->pc.cost_may_raise) clamp_meters(m);
    }

    /* 2. Living wears everything down; poor fitness wears health down. */
    for (int i = 0; i < CFG_NUM_METERS; i++) m[i] -= e->pc.decay[i];
    double fit = m[METER_FITNESS] < 0.0 ? 0.0 : m[METER_FITNESS];
    m[METER_HEALTH] -= e->pc.fh_const - e->pc.fh_slope * fit;
    clamp_meters(m);

    /* 3. Cascades, from a snapshot so that their order in the config does not matter.
     * Most steps of a living agent have every source above its threshold: one packed
     * comparison skips the loop then. */
    int below = 0;
    for (int i = 0; i < CFG_NUM_METERS; i++) below |= m[i] < e->pc.src_thr[i];
    if (below) {
        double src[CFG_NUM_METERS];
        memcpy(src, m, sizeof src);
        for (int k = 0; k < e->pc.n_cascades; k++) {
            double gap = e->pc.cthr[k] - src[e->pc.csrc[k]];
            m[e->pc.ctgt[k]] -= e->pc.ck[k] * (gap > 0.0 ? gap : 0.0);
        }
        clamp_meters(m);
    }

    /* 4. The end of the episode. */
    e->step++;
    if (m[METER_HEALTH] <= 0.0)
        e->outcome = ENV_DIED_HEALTH;
    else if (m[METER_ENERGY] <= 0.0)
        e->outcome = ENV_DIED_ENERGY;
    else if (e->step >= c->max_steps)
        e->outcome = ENV_TIMEOUT;
    return e->outcome;
}

void env_observe(const env_t *e, float *obs) {
    const cfg_environment *c = e->cfg;
    int w = c->width, h = c->height, n = c->n_affordances;
    int cell = e->y * w + e->x;
    float *o = obs;

    if (c->observability == CFG_OBS_PARTIAL) {
        /* Row by row from the top-left of the window: 1 an affordance, 0 an empty cell,
         * -1 outside the grid (so that the agent can tell walls from open ground). */
        int r = c->view_radius, side = 2 * r + 1, pw = w + 2 * r;
        /* The padded view grid has the agent's window at its (x, y): rows of plain
         * conversions, no bounds tests. */
        const int8_t *row = e->pc.view + e->y * pw + e->x;
        for (int y = 0; y < side; y++, row += pw)
            for (int x = 0; x < side; x++) *o++ = (float)row[x];
        *o++ = (float)e->x * e->pc.inv_w1;
        *o++ = (float)e->y * e->pc.inv_h1;
    } else {
        memset(o, 0, sizeof(float) * (size_t)(w * h));
        o[cell] = 1.0f;
        o += w * h;
    }

    for (int i = 0; i < CFG_NUM_METERS; i++) *o++ = (float)e->meters[i];

    memset(o, 0, sizeof(float) * (size_t)(n + 1));
    int a = e->cell[cell];
    o[a >= 0 ? a : n] = 1.0f; /* the last slot: no affordance here */
    o += n + 1;

    if (c->day_cycle) {
        /* float precision suffices for a float feature, and sinf/cosf on one argument
         * become a single sincosf: this is half of a level 3 observation's cost. */
        float angle = (float)(env_hour(e) * (2.0 * M_PI / 24.0));
        *o++ = sinf(angle);
        *o++ = cosf(angle);
        uint32_t open = open_now(e);
        for (int k = 0; k < n; k++) *o++ = (float)((open >> k) & 1);
        *o++ = e->progress_aff >= 0 ? (float)e->progress_ticks * e->pc.inv_ticks[e->progress_aff]
                                    : 0.0f;
    }
    if (c->observe_multiplier) *o++ = (float)e->multiplier;
}

double env_reward_baseline(const env_t *e, const cfg_agent *agent) {
    if (agent->reward_baseline > 0) return agent->reward_baseline;
    const cfg_environment *c = e->cfg;
    double per_step = c->decay[METER_ENERGY] * e->multiplier + c->move_cost[METER_ENERGY];
    return per_step > 0 ? 1.0 / per_step : 0.0;
}

float env_reward(const env_t *e, const cfg_agent *agent) {
    if (e->step == 0) return 0.0f; /* no step led here */
    bool died = e->outcome == ENV_DIED_HEALTH || e->outcome == ENV_DIED_ENERGY;
    if (agent->reward == CFG_REWARD_DEATH_TIME) {
        if (e->outcome == ENV_RUNNING) return 0.0f;
        return (float)(e->step - env_reward_baseline(e, agent));
    }
    return (float)(died ? agent->death_penalty : agent->reward_per_step);
}
