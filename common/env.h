/* common/env.h — the Townlet grid world (prefix env_), run by the trainer and by every
 * inference session of the server.
 *
 * Levels 1-3 of docs/design/world.md, every number from a cfg_environment. The world is a plain
 * struct the caller owns (no allocation): env_init() binds it to a config and a seed,
 * env_reset() starts an episode, env_step() advances one step. Deterministic: the same
 * config, seed and actions give the same episode, bit for bit. env_step() and
 * env_observe() are the trainer's hot path: no allocation, no I/O. */
#ifndef RD_COMMON_ENV_H
#define RD_COMMON_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/rng.h"

enum { ENV_UP = 0, ENV_DOWN, ENV_LEFT, ENV_RIGHT, ENV_INTERACT, ENV_WAIT, ENV_NUM_ACTIONS };
extern const char *const env_action_names[ENV_NUM_ACTIONS]; /* "up", "down", ... */

/* Largest observation any level produces; callers may size buffers with it. Level 3 at the
 * largest grid holds the grid, the meters, the affordance one-hot (n + 1), two time
 * features, n open flags and the progress: hence two CFG_MAX_AFFORDANCES. env_init()
 * refuses a config whose observation would not fit. */
#define ENV_MAX_OBS (CFG_MAX_GRID * CFG_MAX_GRID + CFG_NUM_METERS + 2 * CFG_MAX_AFFORDANCES + 16)

/* Largest view_radius of a partial observation (a 31x31 window); env_init() refuses more. */
#define ENV_MAX_VIEW_RADIUS CFG_MAX_VIEW_RADIUS

typedef enum {
    ENV_RUNNING = 0,
    ENV_DIED_HEALTH, /* health reached 0 */
    ENV_DIED_ENERGY, /* energy reached 0 */
    ENV_TIMEOUT      /* max_steps reached alive */
} env_outcome;
extern const char *const env_outcome_names[4]; /* "running", "health", "energy", "max_steps" */

typedef struct {
    const cfg_environment *cfg; /* borrowed; must outlive the env */
    double multiplier;          /* curriculum decay multiplier, applied to every decay */
    rng_t rng;
    int x, y;
    int step; /* steps taken this episode */
    double meters[CFG_NUM_METERS];
    int8_t cell[CFG_MAX_GRID * CFG_MAX_GRID]; /* affordance index per cell, -1 = none */
    int progress_aff;                         /* level 3: affordance being worked on, -1 = none */
    int progress_ticks;                       /* level 3: consecutive interact steps on it */
    env_outcome outcome;
    int last_action;       /* -1 before the first step */
    bool last_interact_ok; /* the last interact paid and applied (or progressed) */

    /* Derived by env_init() from cfg (and from multiplier, recomputed by env_reset() and
     * env_step() whenever multiplier changed) so that the hot path neither divides nor
     * branches on the config. Read-only for callers; nothing here is episode state, so
     * copying the state fields above into an env bound to the same config is enough to
     * observe it (trainer/replay.c does that). */
    struct {
        double multiplier;            /* the value the rates below were made for */
        double decay[CFG_NUM_METERS]; /* decay * multiplier */
        double fh_const, fh_slope;    /* health -= fh_const - fh_slope * fitness */
        double action_cost[ENV_NUM_ACTIONS][CFG_NUM_METERS]; /* move, 0 (interact), wait */
        bool cost_may_raise;            /* some cost is negative: clamp after the action */
        double src_thr[CFG_NUM_METERS]; /* highest threshold of a cascade from the meter */
        int n_cascades;
        int8_t csrc[CFG_MAX_CASCADES], ctgt[CFG_MAX_CASCADES];
        double cthr[CFG_MAX_CASCADES];      /* threshold */
        double ck[CFG_MAX_CASCADES];        /* strength * multiplier / threshold */
        double price[CFG_MAX_AFFORDANCES];  /* cost / 100, in money-meter units */
        int16_t ticks[CFG_MAX_AFFORDANCES]; /* ticks to complete (1 without day_cycle) */
        float inv_ticks[CFG_MAX_AFFORDANCES];
        uint32_t open_by_hour[24]; /* bit a: affordance a open during that hour */
        uint8_t cell_mask[CFG_MAX_GRID * CFG_MAX_GRID]; /* moves inside the grid, interact on
                                                           an affordance, wait */
        /* partial: the grid with a border of view_radius cells, row-major with rows of
         * width + 2r cells: -1 outside the grid, 1 an affordance, 0 an empty cell */
        int8_t view[(CFG_MAX_GRID + 2 * ENV_MAX_VIEW_RADIUS) *
                    (CFG_MAX_GRID + 2 * ENV_MAX_VIEW_RADIUS)];
        float inv_w1, inv_h1; /* 1 / (width - 1), 1 / (height - 1); 0 for one column/row */
        int start_hour;       /* cfg start_hour in [0, 24) */
        int obs_size;
    } pc;
} env_t;

/* Binds e to cfg (borrowed) and seeds its generator; then env_reset(). 0 or -1 when cfg
 * cannot be run (grid too large, ...). */
int env_init(env_t *e, const cfg_environment *cfg, uint64_t seed);

/* Starts a new episode: meters to their initial values, agent on a uniformly random cell. */
void env_reset(env_t *e);

/* Advances one step with `action` (an ENV_* value; a masked action acts as wait) and
 * returns the outcome after it. */
env_outcome env_step(env_t *e, int action);

/* Bit a set = action a allowed now (moves inside the grid; interact on an affordance that
 * is open, level 3). Wait is always allowed. */
uint8_t env_action_mask(const env_t *e);

/* Floats env_observe() writes for this config (87 at level 1). */
int env_obs_size(const cfg_environment *cfg);
void env_observe(const env_t *e, float *obs);

/* Hour of day in [0, 24) at the current step (level 3; 0 when there is no day cycle). */
double env_hour(const env_t *e);

/* Reward of the step that led to e's current state, by the agent's reward choice.
 * survival: reward_per_step for a step that leaves the agent alive (the step that reaches
 * max_steps included), death_penalty for the step that kills it. death_time (the Python
 * system's): 0 until the episode ends, then steps - baseline on its last step (death or
 * max_steps); baseline is reward_baseline, or when that is <= 0 the survival of an agent
 * that only walks: 1 / (energy decay * multiplier + energy move cost). */
float env_reward(const env_t *e, const cfg_agent *agent);

/* The death_time baseline env_reward() uses for e (see above). */
double env_reward_baseline(const env_t *e, const cfg_agent *agent);

/* How the world applies affordance af of cfg (level 3 rules): its opening hours (equal
 * modulo 24: always open; close < open wraps past midnight) and the ticks an interaction
 * takes. Without a day cycle every place is open from 0 to 24 and completes in one tick,
 * whatever the file says. */
void env_affordance_rule(const cfg_environment *cfg, const cfg_affordance *af, int *open_hour,
                         int *close_hour, int *ticks);

/* Whether affordance a is open at e's current step (always, without a day cycle). */
bool env_is_open(const env_t *e, int a);

#endif
