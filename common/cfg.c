/* common/cfg.c — the run's configuration: built-in defaults, the TOML loader on top of
 * common/toml.h, validation, the TOML writer and the config hash. See common/cfg.h. */
#include "common/cfg.h"

#include "common/err.h"
#include "common/toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const cfg_meter_names[CFG_NUM_METERS] = {
    "energy", "hygiene", "satiation", "money", "mood", "social", "health", "fitness",
};

const char *const cfg_process_names[CFG_NUM_PROCS] = {"trainer", "server", "frontend"};

/* One affordance (docs/design/world.md): position, cost in dollars and its effects. */
static void add_affordance(cfg_environment *e, const char *name, int x, int y, double cost,
                           double energy, double hygiene, double satiation, double money,
                           double mood, double social, double health, double fitness) {
    cfg_affordance *a = &e->affordances[e->n_affordances++];
    snprintf(a->name, sizeof a->name, "%s", name);
    a->x = x;
    a->y = y;
    a->cost = cost;
    a->effects[METER_ENERGY] = energy;
    a->effects[METER_HYGIENE] = hygiene;
    a->effects[METER_SATIATION] = satiation;
    a->effects[METER_MONEY] = money;
    a->effects[METER_MOOD] = mood;
    a->effects[METER_SOCIAL] = social;
    a->effects[METER_HEALTH] = health;
    a->effects[METER_FITNESS] = fitness;
    a->open_hour = 0;
    a->close_hour = 24;
    a->ticks = 1;
}

static void add_cascade(cfg_environment *e, int source, int target, double strength) {
    cfg_cascade *c = &e->cascades[e->n_cascades++];
    c->source = source;
    c->target = target;
    c->threshold = 0.3;
    c->strength = strength;
}

static void default_environment(cfg_environment *e) {
    e->level = 1;
    e->width = 8;
    e->height = 8;
    e->max_steps = 500;
    e->observability = CFG_OBS_FULL;
    e->view_radius = 2;
    for (int m = 0; m < CFG_NUM_METERS; m++) e->initial[m] = 1.0;
    e->initial[METER_MONEY] = 0.5;

    e->decay[METER_ENERGY] = 0.005;
    e->decay[METER_HYGIENE] = 0.003;
    e->decay[METER_SATIATION] = 0.004;
    e->decay[METER_MONEY] = 0.0;
    e->decay[METER_MOOD] = 0.001;
    e->decay[METER_SOCIAL] = 0.006;
    e->decay[METER_HEALTH] = 0.0;
    e->decay[METER_FITNESS] = 0.002;

    e->move_cost[METER_ENERGY] = 0.005;
    e->move_cost[METER_HYGIENE] = 0.003;
    e->move_cost[METER_SATIATION] = 0.004;
    e->wait_cost[METER_ENERGY] = 0.001;

    e->fitness_health_rate = 0.001;
    e->fitness_health_base = 0.5;
    e->fitness_health_slope = 2.5;

    add_cascade(e, METER_SATIATION, METER_HEALTH, 0.004);
    add_cascade(e, METER_SATIATION, METER_ENERGY, 0.005);
    add_cascade(e, METER_MOOD, METER_ENERGY, 0.005);
    add_cascade(e, METER_HYGIENE, METER_SATIATION, 0.002);
    add_cascade(e, METER_HYGIENE, METER_FITNESS, 0.002);
    add_cascade(e, METER_HYGIENE, METER_MOOD, 0.003);
    add_cascade(e, METER_SOCIAL, METER_MOOD, 0.004);
    add_cascade(e, METER_HYGIENE, METER_HEALTH, 0.0005);
    add_cascade(e, METER_HYGIENE, METER_ENERGY, 0.0005);
    add_cascade(e, METER_SOCIAL, METER_ENERGY, 0.0008);

    /* name, x, y, cost ($); then the effects on energy, hygiene, satiation, money, mood,
     * social, health, fitness. */
    add_affordance(e, "Bed", 1, 1, 5, 0.50, 0, 0, 0, 0, 0, 0.02, 0);
    add_affordance(e, "LuxuryBed", 2, 1, 11, 0.75, 0, 0, 0, 0, 0, 0.05, 0);
    add_affordance(e, "Shower", 2, 2, 3, 0, 0.40, 0, 0, 0, 0, 0, 0);
    add_affordance(e, "HomeMeal", 1, 3, 3, 0, 0, 0.45, 0, 0, 0, 0.03, 0);
    add_affordance(e, "FastFood", 5, 6, 10, 0.15, 0, 0.45, 0, 0, 0.01, -0.02, -0.03);
    add_affordance(e, "Job", 6, 6, 0, -0.15, 0, 0, 0.225, 0, 0.02, -0.03, 0);
    add_affordance(e, "Labor", 7, 6, 0, -0.20, 0, 0, 0.15, 0, 0.01, -0.05, -0.05);
    add_affordance(e, "Gym", 7, 3, 8, -0.08, 0, 0, 0, 0, 0, 0, 0.30);
    add_affordance(e, "Bar", 7, 0, 15, -0.20, -0.15, 0.30, 0, 0.25, 0.50, -0.05, 0);
    add_affordance(e, "Park", 0, 4, 0, -0.15, 0, 0, 0, 0.15, 0.15, 0, 0.20);
    add_affordance(e, "Recreation", 0, 7, 6, 0.12, 0, 0, 0, 0.25, 0, 0, 0);
    add_affordance(e, "Therapist", 1, 7, 15, 0, 0, 0, 0, 0.40, 0, 0, 0);
    add_affordance(e, "Doctor", 5, 1, 8, 0, 0, 0, 0, 0, 0, 0.25, 0);
    add_affordance(e, "Hospital", 6, 1, 15, 0, 0, 0, 0, 0, 0, 0.40, 0);

    /* Level 3 only (day_cycle): 240 steps a day = 10 steps an hour, starting at 08:00. */
    e->day_cycle = false;
    e->day_length = 240;
    e->start_hour = 8;
}

static void default_agent(cfg_agent *a) {
    a->n_hidden = 2;
    a->hidden[0] = 128;
    a->hidden[1] = 128;
    a->learning_rate = 0.0005;
    a->learning_rate_end = 0.00005;
    a->learning_rate_decay_episodes = 700;
    a->adam_beta1 = 0.9;
    a->adam_beta2 = 0.999;
    a->adam_eps = 1e-8;
    a->gamma = 0.995;
    a->replay_capacity = 300000;
    a->batch_size = 64;
    a->train_every = 4;
    a->learning_starts = 1000;
    a->target_update = CFG_TARGET_POLYAK;
    a->target_update_every = 1000;
    a->tau = 0.01;
    a->epsilon_start = 1.0;
    a->epsilon_end = 0.01;
    a->epsilon_decay_episodes = 30;
    a->double_dqn = true;
    a->n_step = 1;
    a->huber_delta = 100.0;
    a->grad_clip = 10.0;
    a->reward = CFG_REWARD_SURVIVAL;
    a->reward_per_step = 1.0;
    a->death_penalty = -10.0;
    a->reward_baseline = 100.0;
}

static void default_training(cfg_training *t) {
    t->episodes = 10000;
    t->seed = 42;
    t->checkpoint_every = 500;
    t->keep_checkpoints = 5;
    t->eval_every = 250;
    t->eval_episodes = 20;
    t->stop_grace_seconds = 2.0;
    t->progress_every = 10;
}

static void default_curriculum(cfg_curriculum *c) {
    c->enabled = true;
    c->n_stages = 4;
    c->stages[0] = 0.2;
    c->stages[1] = 0.5;
    c->stages[2] = 0.8;
    c->stages[3] = 1.0;
    c->window = 100;
    c->advance_survival = 0.8;
    c->retreat_survival = 0.3;
    c->min_episodes = 200;
    c->advance_on = CFG_ADVANCE_GREEDY;
    c->advance_eval_every = 25;
    c->advance_eval_episodes = 20;
    c->restart_schedules = true;
}

static void default_server(cfg_server *s) {
    snprintf(s->host, sizeof s->host, "%s", "127.0.0.1");
    s->inference_port = 8766;
    s->frontend_port = 5173;
    s->open_browser = true;
    s->health_check_timeout = 30.0;
    s->max_clients_per_job = 1000;
    s->max_sessions = 64;
    s->max_message_bytes = 65536;
    s->history_limit = 2000;
    s->history_bytes = 8 << 20;
    s->client_queue_limit = 256;
    s->allowed_hosts[0] = 0;
}

static void default_process(cfg_process *p, double stop_timeout) {
    p->argc = 0;
    p->n_env = 0;
    p->restart = CFG_RESTART_ON_FAILURE;
    p->max_restarts = 5;
    p->restart_window = 60.0;
    p->backoff_initial = 0.5;
    p->backoff_max = 10.0;
    p->stop_timeout = stop_timeout;
}

void cfg_defaults(cfg_config *c) {
    /* Zero everything first, padding included, so that two default structs compare equal
     * with memcmp and unused array slots are deterministic (the hash relies on it). */
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", "level1");
    default_environment(&c->environment);
    default_agent(&c->agent);
    default_training(&c->training);
    default_curriculum(&c->curriculum);
    default_server(&c->server);
    default_process(&c->processes[CFG_PROC_TRAINER], 10.0);
    default_process(&c->processes[CFG_PROC_SERVER], 5.0);
    default_process(&c->processes[CFG_PROC_FRONTEND], 5.0);
}

int cfg_affordance_at(const cfg_environment *e, int x, int y) {
    for (int i = 0; i < e->n_affordances; i++)
        if (e->affordances[i].x == x && e->affordances[i].y == y) return i;
    return -1;
}

/* ---- strings (errors: common/err.h) ------------------------------------------------ */

/* Copies a string into a fixed buffer, zeroing the rest so that structs compare equal
 * byte for byte. */
static void set_str(char *dst, size_t size, const char *src, size_t len) {
    memset(dst, 0, size);
    if (len > size - 1) len = size - 1;
    memcpy(dst, src, len);
}

/* ---- the schema ----------------------------------------------------------------------- */

typedef enum {
    F_INT,         /* int */
    F_SEED,        /* uint64_t, written as a non-negative TOML integer */
    F_DOUBLE,      /* double; TOML integers are accepted too */
    F_BOOL,        /* bool */
    F_STRING,      /* char[size] */
    F_ENUM,        /* an int-sized enum, written as one of names[] */
    F_METERS,      /* double[CFG_NUM_METERS], a sub-table keyed by meter name */
    F_HIDDEN,      /* cfg_agent.hidden/n_hidden: array of integers */
    F_STAGES,      /* cfg_curriculum.stages/n_stages: array of floats */
    F_COMMAND,     /* cfg_process.argv/argc: array of strings */
    F_ENV,         /* cfg_process.env/n_env: table of strings */
    F_AFFORDANCES, /* cfg_environment.affordances: array of tables */
    F_CASCADES     /* cfg_environment.cascades: array of tables */
} field_type;

/* Range flags: the bound itself is not allowed. */
#define EXCL_MIN     1
#define EXCL_MAX     2
#define MAY_BE_EMPTY 4 /* F_STRING: "" is a valid value */

typedef struct {
    const char *key;
    field_type type;
    size_t off; /* into the section's struct */
    double min, max;
    int flags;
    const char *const *names; /* F_ENUM, NULL-terminated */
    size_t size;              /* F_STRING */
} field;

#define BIG 1e9

static const char *const observability_names[] = {"full", "partial", NULL};
static const char *const target_update_names[] = {"hard", "polyak", NULL};
static const char *const reward_names[] = {"survival", "death_time", NULL};
static const char *const restart_names[] = {"never", "on-failure", "always", NULL};
static const char *const advance_on_names[] = {"training", "greedy", NULL};

#define E(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_environment, k), lo, hi, fl, NULL, 0 }
static const field environment_fields[] = {
    E(level, F_INT, 1, 3, 0),
    E(width, F_INT, 1, CFG_MAX_GRID, 0),
    E(height, F_INT, 1, CFG_MAX_GRID, 0),
    /* The replay's compact state holds the step as int16 (trainer/replay.h). */
    E(max_steps, F_INT, 1, 32767, 0),
    {"observability", F_ENUM, offsetof(cfg_environment, observability), 0, 0, 0,
     observability_names, 0},
    E(view_radius, F_INT, 1, CFG_MAX_VIEW_RADIUS, 0),
    E(fitness_health_rate, F_DOUBLE, 0, 1, 0),
    E(fitness_health_base, F_DOUBLE, 0, 100, 0),
    E(fitness_health_slope, F_DOUBLE, 0, 100, 0),
    E(day_cycle, F_BOOL, 0, 0, 0),
    E(day_length, F_INT, 24, 10000000, 0),
    E(start_hour, F_INT, 0, 23, 0),
    E(initial, F_METERS, 0, 1, 0),
    E(decay, F_METERS, 0, 1, 0),
    E(move_cost, F_METERS, 0, 1, 0),
    E(wait_cost, F_METERS, 0, 1, 0),
    E(cascades, F_CASCADES, 0, 0, 0),
    E(affordances, F_AFFORDANCES, 0, 0, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef E

#define A(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_agent, k), lo, hi, fl, NULL, 0 }
static const field agent_fields[] = {
    A(hidden, F_HIDDEN, 1, 4096, 0),
    A(learning_rate, F_DOUBLE, 0, 1, EXCL_MIN),
    A(learning_rate_end, F_DOUBLE, 0, 1, EXCL_MIN),
    A(learning_rate_decay_episodes, F_INT, 0, BIG, 0),
    A(adam_beta1, F_DOUBLE, 0, 1, EXCL_MAX),
    A(adam_beta2, F_DOUBLE, 0, 1, EXCL_MAX),
    A(adam_eps, F_DOUBLE, 0, 1, EXCL_MIN),
    A(gamma, F_DOUBLE, 0, 1, 0),
    A(replay_capacity, F_INT, 1, 10000000, 0),
    A(batch_size, F_INT, 1, 65536, 0),
    A(train_every, F_INT, 1, 1000000, 0),
    A(learning_starts, F_INT, 0, BIG, 0),
    {"target_update", F_ENUM, offsetof(cfg_agent, target_update), 0, 0, 0, target_update_names, 0},
    A(target_update_every, F_INT, 1, BIG, 0),
    A(tau, F_DOUBLE, 0, 1, EXCL_MIN),
    A(epsilon_start, F_DOUBLE, 0, 1, 0),
    A(epsilon_end, F_DOUBLE, 0, 1, 0),
    A(epsilon_decay_episodes, F_INT, 0, BIG, 0),
    A(double_dqn, F_BOOL, 0, 0, 0),
    A(n_step, F_INT, 1, 64, 0),
    A(huber_delta, F_DOUBLE, 0, 1e6, EXCL_MIN),
    A(grad_clip, F_DOUBLE, 0, 1e9, 0),
    {"reward", F_ENUM, offsetof(cfg_agent, reward), 0, 0, 0, reward_names, 0},
    A(reward_per_step, F_DOUBLE, -1e6, 1e6, 0),
    A(death_penalty, F_DOUBLE, -1e6, 1e6, 0),
    A(reward_baseline, F_DOUBLE, -1e6, 1e6, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef A

#define T(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_training, k), lo, hi, fl, NULL, 0 }
static const field training_fields[] = {
    T(episodes, F_INT, 1, BIG, 0),
    T(seed, F_SEED, 0, 0, 0),
    T(checkpoint_every, F_INT, 1, BIG, 0),
    T(keep_checkpoints, F_INT, 1, 1000000, 0),
    T(eval_every, F_INT, 0, BIG, 0),
    T(eval_episodes, F_INT, 1, 1000000, 0),
    T(stop_grace_seconds, F_DOUBLE, 0, 3600, 0),
    T(progress_every, F_INT, 1, BIG, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef T

#define C(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_curriculum, k), lo, hi, fl, NULL, 0 }
static const field curriculum_fields[] = {
    C(enabled, F_BOOL, 0, 0, 0),
    C(stages, F_STAGES, 0, 100, EXCL_MIN),
    C(window, F_INT, 1, 1000000, 0),
    C(advance_survival, F_DOUBLE, 0, 1, 0),
    C(retreat_survival, F_DOUBLE, 0, 1, 0),
    C(min_episodes, F_INT, 0, BIG, 0),
    {"advance_on", F_ENUM, offsetof(cfg_curriculum, advance_on), 0, 0, 0, advance_on_names, 0},
    C(advance_eval_every, F_INT, 1, BIG, 0),
    C(advance_eval_episodes, F_INT, 1, 1000000, 0),
    C(restart_schedules, F_BOOL, 0, 0, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef C

#define S(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_server, k), lo, hi, fl, NULL, 0 }
static const field server_fields[] = {
    {"host", F_STRING, offsetof(cfg_server, host), 0, 0, 0, NULL, sizeof(((cfg_server *)0)->host)},
    S(inference_port, F_INT, 1, 65535, 0),
    S(frontend_port, F_INT, 1, 65535, 0),
    S(open_browser, F_BOOL, 0, 0, 0),
    S(health_check_timeout, F_DOUBLE, 0, 3600, EXCL_MIN),
    S(max_clients_per_job, F_INT, 1, 1000000, 0),
    S(max_sessions, F_INT, 1, 100000, 0),
    S(max_message_bytes, F_INT, 256, 64 << 20, 0),
    S(history_limit, F_INT, 1, 10000000, 0),
    S(history_bytes, F_INT, 65536, 1 << 30, 0),
    S(client_queue_limit, F_INT, 1, 1000000, 0),
    {"allowed_hosts", F_STRING, offsetof(cfg_server, allowed_hosts), 0, 0, MAY_BE_EMPTY, NULL,
     sizeof(((cfg_server *)0)->allowed_hosts)},
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef S

#define P(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_process, k), lo, hi, fl, NULL, 0 }
static const field process_fields[] = {
    {"command", F_COMMAND, offsetof(cfg_process, argv), 0, 0, 0, NULL, 0},
    {"env", F_ENV, offsetof(cfg_process, env), 0, 0, 0, NULL, 0},
    {"restart", F_ENUM, offsetof(cfg_process, restart), 0, 0, 0, restart_names, 0},
    P(max_restarts, F_INT, 0, 1000000, 0),
    P(restart_window, F_DOUBLE, 0, 1e6, EXCL_MIN),
    P(backoff_initial, F_DOUBLE, 0, 3600, 0),
    P(backoff_max, F_DOUBLE, 0, 3600, 0),
    P(stop_timeout, F_DOUBLE, 0, 3600, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef P

/* Keys of one affordance and of one cascade (checked by hand: they are arrays of tables). */
static const char *const affordance_keys[] = {"name",      "x",          "y",     "cost", "effects",
                                              "open_hour", "close_hour", "ticks", NULL};
static const char *const cascade_keys[] = {"source", "target", "threshold", "strength", NULL};

typedef struct {
    const char *name; /* dotted TOML table name */
    size_t off;       /* into cfg_config */
    const field *fields;
} section;

static const section sections[] = {
    {"environment", offsetof(cfg_config, environment), environment_fields},
    {"agent", offsetof(cfg_config, agent), agent_fields},
    {"training", offsetof(cfg_config, training), training_fields},
    {"curriculum", offsetof(cfg_config, curriculum), curriculum_fields},
    {"unified_server", offsetof(cfg_config, server), server_fields},
    {"processes.trainer", offsetof(cfg_config, processes[CFG_PROC_TRAINER]), process_fields},
    {"processes.server", offsetof(cfg_config, processes[CFG_PROC_SERVER]), process_fields},
    {"processes.frontend", offsetof(cfg_config, processes[CFG_PROC_FRONTEND]), process_fields},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

/* ---- suggestions ---------------------------------------------------------------------- */

/* Levenshtein distance, for "did you mean". Keys longer than 63 bytes get no suggestion. */
static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 1000;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The candidate nearest to `key`, or NULL when none is close enough to be a typo. */
static const char *nearest(const char *key, const char *const *cands, size_t n) {
    const char *best = NULL;
    int best_d = 1000;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i]) continue;
        int d = edit_distance(key, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    int len = (int)strlen(key);
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (best && best_d <= limit && best_d < len) return best;
    return NULL;
}

/* ---- loading -------------------------------------------------------------------------- */

typedef struct {
    const char *origin;
    char *err;
    size_t errlen;
} loader;

static int load_fail(loader *l, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int load_fail(loader *l, int line, int col, const char *fmt, ...) {
    /* No origin: a value from the command line (cfg_set), which has no position. */
    char where[CFG_PATH_MAX + 32];
    if (l->origin) snprintf(where, sizeof where, "%s:%d:%d", l->origin, line, col);
    va_list ap;
    va_start(ap, fmt);
    err_vat(l->err, l->errlen, l->origin ? where : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

/* Whether an entry's key is exactly s (a TOML key may hold a NUL, which strcmp misses). */
static bool key_is(const toml_entry *e, const char *s) {
    return e->key_len == strlen(s) && memcmp(e->key, s, e->key_len) == 0;
}

/* "an integer", "a string", ... */
static const char *a_type(toml_type t) {
    switch (t) {
        case TOML_INTEGER:
            return "an integer";
        case TOML_ARRAY:
            return "an array";
        case TOML_DATETIME:
            return "an offset date-time";
        default:
            break;
    }
    static const char *const names[] = {
        "a table",   "an array",    "a string",          "an integer",   "a float",
        "a boolean", "a date-time", "a local date-time", "a local date", "a local time"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "a value";
}

static int wrong_type(loader *l, const toml_value *v, const char *key, const char *where,
                      const char *want) {
    return load_fail(l, v->line, v->col, "wrong type for '%s' in %s: expected %s, found %s", key,
                     where, want, a_type(v->type));
}

/* A key as it may be shown in a message: control characters (a NUL from "\u0000", say)
 * escaped, long keys cut. */
static const char *shown(const toml_entry *e, char *buf, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < e->key_len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)e->key[i];
        if (o + 12 >= size) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7F)
            o += (size_t)snprintf(buf + o, size - o, "\\u%04X", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

/* The nearest candidate to an entry's key, none for keys holding a NUL. */
static const char *nearest_key(const toml_entry *e, const char *const *cands, size_t n) {
    return e->key_len == strlen(e->key) ? nearest(e->key, cands, n) : NULL;
}

static int unknown_key(loader *l, const toml_entry *e, const char *where, const char *const *cands,
                       size_t n) {
    char k[128];
    const char *s = nearest_key(e, cands, n);
    if (s)
        return load_fail(l, e->line, e->col, "unknown key '%s' in %s (did you mean '%s'?)",
                         shown(e, k, sizeof k), where, s);
    return load_fail(l, e->line, e->col, "unknown key '%s' in %s", shown(e, k, sizeof k), where);
}

/* Reads an integer into *out, checking the range only against int's (the schema's ranges
 * are checked by validation, which knows the positions through the locator). */
static int get_int(loader *l, const toml_value *v, const char *key, const char *where, int *out) {
    if (v->type != TOML_INTEGER) return wrong_type(l, v, key, where, "an integer");
    if (v->u.i < INT32_MIN || v->u.i > INT32_MAX)
        return load_fail(l, v->line, v->col, "'%s' in %s is out of range: %lld", key, where,
                         (long long)v->u.i);
    *out = (int)v->u.i;
    return 0;
}

static int get_double(loader *l, const toml_value *v, const char *key, const char *where,
                      double *out) {
    if (v->type == TOML_INTEGER)
        *out = (double)v->u.i;
    else if (v->type == TOML_FLOAT)
        *out = v->u.f;
    else
        return wrong_type(l, v, key, where, "a number");
    return 0;
}

static int get_string(loader *l, const toml_value *v, const char *key, const char *where, char *dst,
                      size_t size) {
    if (v->type != TOML_STRING) return wrong_type(l, v, key, where, "a string");
    if (v->u.s.len >= size || memchr(v->u.s.ptr, '\0', v->u.s.len))
        return load_fail(l, v->line, v->col,
                         "'%s' in %s is too long (at most %zu bytes) or holds a NUL", key, where,
                         size - 1);
    set_str(dst, size, v->u.s.ptr, v->u.s.len);
    return 0;
}

static int get_enum(loader *l, const toml_value *v, const char *key, const char *where,
                    const char *const *names, int *out) {
    if (v->type != TOML_STRING) return wrong_type(l, v, key, where, "a string");
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (strlen(names[i]) == v->u.s.len && memcmp(names[i], v->u.s.ptr, v->u.s.len) == 0) {
            *out = i;
            return 0;
        }
        int w = snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", names[i]);
        if (w > 0 && o + (size_t)w < sizeof list) o += (size_t)w;
    }
    return load_fail(l, v->line, v->col, "'%s' in %s must be one of %s, got \"%.*s\"", key, where,
                     list, v->u.s.len > 64 ? 64 : (int)v->u.s.len, v->u.s.ptr);
}

/* cfg_meter_names with a NULL end, for get_enum(). */
static const char *const meter_enum_names[] = {"energy", "hygiene", "satiation", "money", "mood",
                                               "social", "health",  "fitness",   NULL};

static int meter_index(const char *name) {
    for (int m = 0; m < CFG_NUM_METERS; m++)
        if (strcmp(cfg_meter_names[m], name) == 0) return m;
    return -1;
}

/* A table keyed by meter name, overlaid on `out`. */
static int get_meters(loader *l, const toml_value *v, const char *key, const char *where,
                      double *out) {
    if (v->type != TOML_TABLE) return wrong_type(l, v, key, where, "a table of meters");
    for (size_t i = 0; i < v->u.tab.len; i++) {
        const toml_entry *e = &v->u.tab.items[i];
        int m = e->key_len == strlen(e->key) ? meter_index(e->key) : -1;
        if (m < 0) return unknown_key(l, e, where, cfg_meter_names, CFG_NUM_METERS);
        if (get_double(l, e->value, e->key, where, &out[m])) return -1;
    }
    return 0;
}

/* Arrays of tables: either [[header]] elements or an array of inline tables. */
static int check_table_array(loader *l, const toml_value *v, const char *key, const char *where,
                             size_t max) {
    if (v->type != TOML_ARRAY) return wrong_type(l, v, key, where, "an array of tables");
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (v->u.arr.items[i]->type != TOML_TABLE)
            return wrong_type(l, v->u.arr.items[i], key, where, "an array of tables");
    if (v->u.arr.len > max)
        return load_fail(l, v->line, v->col, "too many %s: at most %zu", key, max);
    return 0;
}

static int load_affordances(loader *l, const toml_value *v, cfg_environment *env) {
    if (check_table_array(l, v, "affordances", "[environment]", CFG_MAX_AFFORDANCES)) return -1;
    memset(env->affordances, 0, sizeof env->affordances);
    env->n_affordances = (int)v->u.arr.len;
    for (size_t i = 0; i < v->u.arr.len; i++) {
        const toml_value *t = v->u.arr.items[i];
        cfg_affordance *a = &env->affordances[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.affordances]] #%zu", i + 1);
        a->open_hour = 0;
        a->close_hour = 24;
        a->ticks = 1;
        bool have_name = false, have_x = false, have_y = false;
        for (size_t k = 0; k < t->u.tab.len; k++) {
            const toml_entry *e = &t->u.tab.items[k];
            const toml_value *x = e->value;
            int rc;
            if (key_is(e, "name")) {
                rc = get_string(l, x, e->key, where, a->name, sizeof a->name);
                have_name = true;
            } else if (key_is(e, "x")) {
                rc = get_int(l, x, e->key, where, &a->x);
                have_x = true;
            } else if (key_is(e, "y")) {
                rc = get_int(l, x, e->key, where, &a->y);
                have_y = true;
            } else if (key_is(e, "cost")) {
                rc = get_double(l, x, e->key, where, &a->cost);
            } else if (key_is(e, "effects")) {
                char w2[96];
                snprintf(w2, sizeof w2, "'effects' of %s", where);
                rc = get_meters(l, x, e->key, w2, a->effects);
            } else if (key_is(e, "open_hour")) {
                rc = get_int(l, x, e->key, where, &a->open_hour);
            } else if (key_is(e, "close_hour")) {
                rc = get_int(l, x, e->key, where, &a->close_hour);
            } else if (key_is(e, "ticks")) {
                rc = get_int(l, x, e->key, where, &a->ticks);
            } else {
                rc = unknown_key(l, e, where, affordance_keys,
                                 sizeof affordance_keys / sizeof affordance_keys[0] - 1);
            }
            if (rc) return -1;
        }
        const char *missing = !have_name ? "name" : !have_x ? "x" : !have_y ? "y" : NULL;
        if (missing) return load_fail(l, t->line, t->col, "%s is missing '%s'", where, missing);
    }
    return 0;
}

static int load_cascades(loader *l, const toml_value *v, cfg_environment *env) {
    if (check_table_array(l, v, "cascades", "[environment]", CFG_MAX_CASCADES)) return -1;
    memset(env->cascades, 0, sizeof env->cascades);
    env->n_cascades = (int)v->u.arr.len;
    for (size_t i = 0; i < v->u.arr.len; i++) {
        const toml_value *t = v->u.arr.items[i];
        cfg_cascade *c = &env->cascades[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.cascades]] #%zu", i + 1);
        c->threshold = 0.3;
        bool have_source = false, have_target = false, have_strength = false;
        for (size_t k = 0; k < t->u.tab.len; k++) {
            const toml_entry *e = &t->u.tab.items[k];
            const toml_value *x = e->value;
            int rc;
            if (key_is(e, "source") || key_is(e, "target")) {
                int m = 0;
                rc = get_enum(l, x, e->key, where, meter_enum_names, &m);
                if (e->key[0] == 's') {
                    c->source = m;
                    have_source = true;
                } else {
                    c->target = m;
                    have_target = true;
                }
            } else if (key_is(e, "threshold")) {
                rc = get_double(l, x, e->key, where, &c->threshold);
            } else if (key_is(e, "strength")) {
                rc = get_double(l, x, e->key, where, &c->strength);
                have_strength = true;
            } else {
                rc = unknown_key(l, e, where, cascade_keys,
                                 sizeof cascade_keys / sizeof cascade_keys[0] - 1);
            }
            if (rc) return -1;
        }
        const char *missing = !have_source     ? "source"
                              : !have_target   ? "target"
                              : !have_strength ? "strength"
                                               : NULL;
        if (missing) return load_fail(l, t->line, t->col, "%s is missing '%s'", where, missing);
    }
    return 0;
}

static bool env_name_ok(const char *s, size_t len) {
    if (len == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static int load_field(loader *l, const field *f, const toml_entry *e, char *base,
                      const char *where) {
    const toml_value *v = e->value;
    void *p = base + f->off;
    switch (f->type) {
        case F_INT:
            return get_int(l, v, f->key, where, p);
        case F_SEED:
            if (v->type != TOML_INTEGER) return wrong_type(l, v, f->key, where, "an integer");
            if (v->u.i < 0)
                return load_fail(l, v->line, v->col,
                                 "'%s' in %s must be between 0 and 9223372036854775807, got %lld",
                                 f->key, where, (long long)v->u.i);
            *(uint64_t *)p = (uint64_t)v->u.i;
            return 0;
        case F_DOUBLE:
            return get_double(l, v, f->key, where, p);
        case F_BOOL:
            if (v->type != TOML_BOOL) return wrong_type(l, v, f->key, where, "a boolean");
            *(bool *)p = v->u.b;
            return 0;
        case F_STRING:
            return get_string(l, v, f->key, where, p, f->size);
        case F_ENUM: {
            int x;
            if (get_enum(l, v, f->key, where, f->names, &x)) return -1;
            memcpy(p, &x, sizeof x);
            return 0;
        }
        case F_METERS: {
            char w2[64];
            snprintf(w2, sizeof w2, "[environment.%s]", f->key);
            return get_meters(l, v, f->key, w2, p);
        }
        case F_HIDDEN: {
            cfg_agent *a = (cfg_agent *)base;
            if (v->type != TOML_ARRAY)
                return wrong_type(l, v, f->key, where, "an array of integers");
            if (v->u.arr.len < 1 || v->u.arr.len > CFG_MAX_HIDDEN)
                return load_fail(l, v->line, v->col, "'%s' in %s must list 1 to %d layer sizes",
                                 f->key, where, CFG_MAX_HIDDEN);
            memset(a->hidden, 0, sizeof a->hidden);
            for (size_t i = 0; i < v->u.arr.len; i++)
                if (get_int(l, v->u.arr.items[i], f->key, where, &a->hidden[i])) return -1;
            a->n_hidden = (int)v->u.arr.len;
            return 0;
        }
        case F_STAGES: {
            cfg_curriculum *c = (cfg_curriculum *)base;
            if (v->type != TOML_ARRAY)
                return wrong_type(l, v, f->key, where, "an array of numbers");
            if (v->u.arr.len < 1 || v->u.arr.len > CFG_MAX_STAGES)
                return load_fail(l, v->line, v->col, "'%s' in %s must list 1 to %d stages", f->key,
                                 where, CFG_MAX_STAGES);
            memset(c->stages, 0, sizeof c->stages);
            for (size_t i = 0; i < v->u.arr.len; i++)
                if (get_double(l, v->u.arr.items[i], f->key, where, &c->stages[i])) return -1;
            c->n_stages = (int)v->u.arr.len;
            return 0;
        }
        case F_COMMAND: {
            cfg_process *pr = (cfg_process *)base;
            if (v->type != TOML_ARRAY)
                return wrong_type(l, v, f->key, where, "an array of strings");
            if (v->u.arr.len > CFG_MAX_ARGS)
                return load_fail(l, v->line, v->col, "'%s' in %s has more than %d arguments",
                                 f->key, where, CFG_MAX_ARGS);
            memset(pr->argv, 0, sizeof pr->argv);
            for (size_t i = 0; i < v->u.arr.len; i++)
                if (get_string(l, v->u.arr.items[i], f->key, where, pr->argv[i], CFG_ARG_MAX))
                    return -1;
            pr->argc = (int)v->u.arr.len;
            if (pr->argc > 0 && pr->argv[0][0] == '\0')
                return load_fail(l, v->line, v->col, "'%s' in %s: the program name is empty",
                                 f->key, where);
            return 0;
        }
        case F_ENV: {
            cfg_process *pr = (cfg_process *)base;
            if (v->type != TOML_TABLE) return wrong_type(l, v, f->key, where, "a table of strings");
            if (v->u.tab.len > CFG_MAX_ENV)
                return load_fail(l, v->line, v->col, "'%s' in %s has more than %d variables",
                                 f->key, where, CFG_MAX_ENV);
            memset(pr->env, 0, sizeof pr->env);
            for (size_t i = 0; i < v->u.tab.len; i++) {
                const toml_entry *x = &v->u.tab.items[i];
                char k[128];
                if (!env_name_ok(x->key, x->key_len))
                    return load_fail(l, x->line, x->col,
                                     "'%s' in %s: '%s' is not a valid environment variable name",
                                     f->key, where, shown(x, k, sizeof k));
                if (x->value->type != TOML_STRING)
                    return wrong_type(l, x->value, x->key, where, "a string");
                if (x->key_len + 1 + x->value->u.s.len >= CFG_ARG_MAX ||
                    memchr(x->value->u.s.ptr, '\0', x->value->u.s.len))
                    return load_fail(l, x->value->line, x->value->col,
                                     "'%s' in %s is too long (NAME=value at most %d bytes)", x->key,
                                     where, CFG_ARG_MAX - 1);
                snprintf(pr->env[i], CFG_ARG_MAX, "%s=%s", x->key, x->value->u.s.ptr);
            }
            pr->n_env = (int)v->u.tab.len;
            return 0;
        }
        case F_AFFORDANCES:
            return load_affordances(l, v, (cfg_environment *)base);
        case F_CASCADES:
            return load_cascades(l, v, (cfg_environment *)base);
    }
    return -1;
}

static int load_section(loader *l, const section *s, const toml_value *t, cfg_config *c) {
    char where[64];
    snprintf(where, sizeof where, "[%s]", s->name);
    if (t->type != TOML_TABLE) return wrong_type(l, t, s->name, "the document", "a table");
    const char *cands[32];
    size_t n = 0;
    for (const field *f = s->fields; f->key && n < 32; f++) cands[n++] = f->key;
    for (size_t i = 0; i < t->u.tab.len; i++) {
        const toml_entry *e = &t->u.tab.items[i];
        const field *f = s->fields;
        while (f->key && !key_is(e, f->key)) f++;
        if (!f->key) return unknown_key(l, e, where, cands, n);
        if (load_field(l, f, e, (char *)c + s->off, where)) return -1;
    }
    return 0;
}

static bool name_char_ok(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static bool name_ok(const char *s) {
    if (s[0] == '\0' || s[0] == '.') return false;
    for (; *s; s++)
        if (!name_char_ok(*s)) return false;
    return true;
}

/* Walks the document: known tables go to their sections, anything else is an error. */
static int load_document(loader *l, const toml_value *root, cfg_config *c) {
    static const char *const top[] = {"name",       "environment",    "agent",    "training",
                                      "curriculum", "unified_server", "processes"};
    for (size_t i = 0; i < root->u.tab.len; i++) {
        const toml_entry *e = &root->u.tab.items[i];
        const toml_value *v = e->value;
        if (key_is(e, "name")) {
            if (get_string(l, v, "name", "the document", c->name, sizeof c->name)) return -1;
            /* The name becomes a directory (runs/<name>/): keep it one plain component. */
            if (!name_ok(c->name))
                return load_fail(l, v->line, v->col,
                                 "'name' must be letters, digits, '.', '_' or '-' and not "
                                 "start with '.'");
            continue;
        }
        if (key_is(e, "processes")) {
            if (v->type != TOML_TABLE)
                return wrong_type(l, v, "processes", "the document", "a table");
            for (size_t pi = 0; pi < v->u.tab.len; pi++) {
                const toml_entry *pe = &v->u.tab.items[pi];
                size_t j = 0;
                while (j < CFG_NUM_PROCS && !key_is(pe, cfg_process_names[j])) j++;
                if (j == CFG_NUM_PROCS) {
                    char k[128];
                    const char *s = nearest_key(pe, cfg_process_names, CFG_NUM_PROCS);
                    const toml_value *pv = pe->value;
                    if (s)
                        return load_fail(l, pv->line, pv->col,
                                         "unknown table [processes.%s] (did you mean "
                                         "[processes.%s]?)",
                                         shown(pe, k, sizeof k), s);
                    return load_fail(l, pv->line, pv->col,
                                     "unknown table [processes.%s] (expected trainer, server "
                                     "or frontend)",
                                     shown(pe, k, sizeof k));
                }
                if (load_section(l, &sections[5 + j], pe->value, c)) return -1;
            }
            continue;
        }
        size_t j = 0;
        while (j < 5 && !key_is(e, sections[j].name)) j++;
        if (j < 5) {
            if (load_section(l, &sections[j], v, c)) return -1;
            continue;
        }
        char k[128];
        const char *s = nearest_key(e, top, sizeof top / sizeof top[0]);
        if (v->type == TOML_TABLE) {
            /* A table points at its header's '[' (or at its key when made by dotted keys). */
            if (s)
                return load_fail(l, v->line, v->col, "unknown table [%s] (did you mean [%s]?)",
                                 shown(e, k, sizeof k), s);
            return load_fail(l, v->line, v->col, "unknown table [%s]", shown(e, k, sizeof k));
        }
        if (s)
            return load_fail(l, e->line, e->col,
                             "unknown key '%s' at the top level (did you mean '%s'?)",
                             shown(e, k, sizeof k), s);
        return load_fail(l, e->line, e->col, "unknown key '%s' at the top level",
                         shown(e, k, sizeof k));
    }
    return 0;
}

/* ---- validation ----------------------------------------------------------------------- */

/* Where a validation error belongs, so that the loader can find its line and column:
 * a section, a key in it, an element of an array of tables and a key inside that. */
typedef struct {
    const char *section;
    const char *key;
    int index;          /* element of an array of tables, or -1 */
    const char *subkey; /* key in that element, or in a sub-table (meters), or NULL */
    const char *key2;   /* the other key of a cross-field rule, blamed when `key` is a default */
} locator;

static void fmt_num(char *buf, size_t size, double v) {
    snprintf(buf, size, "%.10g", v);
}

static int range_fail(char *err, size_t errlen, const char *key, const char *where, const field *f,
                      double v) {
    char lo[32], hi[32], got[32];
    fmt_num(lo, sizeof lo, f->min);
    fmt_num(hi, sizeof hi, f->max);
    fmt_num(got, sizeof got, v);
    if (f->max >= BIG)
        err_set(err, errlen, "'%s' in %s must be %s %s, got %s", key, where,
                f->flags & EXCL_MIN ? "greater than" : "at least", lo, got);
    else if (f->flags & (EXCL_MIN | EXCL_MAX))
        err_set(err, errlen, "'%s' in %s must be %s %s and %s %s, got %s", key, where,
                f->flags & EXCL_MIN ? "greater than" : "at least", lo,
                f->flags & EXCL_MAX ? "less than" : "at most", hi, got);
    else
        err_set(err, errlen, "'%s' in %s must be between %s and %s, got %s", key, where, lo, hi,
                got);
    return -1;
}

static bool in_range(const field *f, double v) {
    if (isnan(v)) return false;
    if (f->flags & EXCL_MIN ? v <= f->min : v < f->min) return false;
    if (f->flags & EXCL_MAX ? v >= f->max : v > f->max) return false;
    return true;
}

static int validate_impl(const cfg_config *c, char *err, size_t errlen, locator *loc) {
    memset(loc, 0, sizeof *loc);
    loc->index = -1;
    for (size_t s = 0; s < N_SECTIONS; s++) {
        const section *sec = &sections[s];
        const char *base = (const char *)c + sec->off;
        char where[64];
        snprintf(where, sizeof where, "[%s]", sec->name);
        loc->section = sec->name;
        for (const field *f = sec->fields; f->key; f++) {
            const void *p = base + f->off;
            loc->key = f->key;
            double v;
            switch (f->type) {
                case F_INT:
                    v = *(const int *)p;
                    if (!in_range(f, v)) return range_fail(err, errlen, f->key, where, f, v);
                    break;
                case F_DOUBLE:
                    v = *(const double *)p;
                    if (!in_range(f, v)) return range_fail(err, errlen, f->key, where, f, v);
                    break;
                case F_SEED:
                    if (*(const uint64_t *)p > (uint64_t)INT64_MAX) {
                        err_set(err, errlen,
                                "'seed' in [training] must be between 0 and "
                                "9223372036854775807, got %llu",
                                (unsigned long long)*(const uint64_t *)p);
                        return -1;
                    }
                    break;
                case F_ENUM: {
                    int x;
                    memcpy(&x, p, sizeof x);
                    int n = 0;
                    while (f->names[n]) n++;
                    if (x < 0 || x >= n) {
                        err_set(err, errlen, "'%s' in %s has no valid value (%d)", f->key, where,
                                x);
                        return -1;
                    }
                    break;
                }
                case F_STRING:
                    if (((const char *)p)[0] == '\0' && !(f->flags & MAY_BE_EMPTY)) {
                        err_set(err, errlen, "'%s' in %s must not be empty", f->key, where);
                        return -1;
                    }
                    break;
                case F_METERS: {
                    char w2[64];
                    snprintf(w2, sizeof w2, "[environment.%s]", f->key);
                    for (int m = 0; m < CFG_NUM_METERS; m++) {
                        v = ((const double *)p)[m];
                        loc->subkey = cfg_meter_names[m];
                        if (!in_range(f, v))
                            return range_fail(err, errlen, cfg_meter_names[m], w2, f, v);
                    }
                    loc->subkey = NULL;
                    break;
                }
                case F_HIDDEN: {
                    const cfg_agent *a = &c->agent;
                    if (a->n_hidden < 1 || a->n_hidden > CFG_MAX_HIDDEN) {
                        err_set(err, errlen, "'hidden' in [agent] must list 1 to %d layer sizes",
                                CFG_MAX_HIDDEN);
                        return -1;
                    }
                    for (int i = 0; i < a->n_hidden; i++)
                        if (!in_range(f, a->hidden[i]))
                            return range_fail(err, errlen, f->key, where, f, a->hidden[i]);
                    break;
                }
                case F_STAGES: {
                    const cfg_curriculum *cu = &c->curriculum;
                    if (cu->n_stages < 1 || cu->n_stages > CFG_MAX_STAGES) {
                        err_set(err, errlen, "'stages' in [curriculum] must list 1 to %d stages",
                                CFG_MAX_STAGES);
                        return -1;
                    }
                    for (int i = 0; i < cu->n_stages; i++)
                        if (!in_range(f, cu->stages[i]))
                            return range_fail(err, errlen, f->key, where, f, cu->stages[i]);
                    break;
                }
                case F_COMMAND: {
                    const cfg_process *pr = (const cfg_process *)base;
                    if (pr->argc < 0 || pr->argc > CFG_MAX_ARGS ||
                        (pr->argc > 0 && pr->argv[0][0] == '\0')) {
                        err_set(err, errlen, "'command' in %s is not a valid command line", where);
                        return -1;
                    }
                    break;
                }
                case F_ENV: {
                    const cfg_process *pr = (const cfg_process *)base;
                    if (pr->n_env < 0 || pr->n_env > CFG_MAX_ENV) {
                        err_set(err, errlen, "'env' in %s has more than %d variables", where,
                                CFG_MAX_ENV);
                        return -1;
                    }
                    break;
                }
                case F_BOOL:
                case F_AFFORDANCES:
                case F_CASCADES:
                    break;
            }
        }
    }

    /* Cross-field rules, each blamed on the key a person most likely has to change. */
    const cfg_environment *e = &c->environment;
    loc->section = "environment";
    loc->key = "affordances";
    if (e->n_affordances < 0 || e->n_affordances > CFG_MAX_AFFORDANCES) {
        err_set(err, errlen, "too many affordances: at most %d", CFG_MAX_AFFORDANCES);
        return -1;
    }
    for (int i = 0; i < e->n_affordances; i++) {
        const cfg_affordance *a = &e->affordances[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.affordances]] #%d", i + 1);
        loc->index = i;
        loc->subkey = "name";
        if (a->name[0] == '\0') {
            err_set(err, errlen, "%s has an empty name", where);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(e->affordances[j].name, a->name) == 0) {
                err_set(err, errlen, "%s: the name '%s' is already used by #%d", where, a->name,
                        j + 1);
                return -1;
            }
        loc->subkey = a->x < 0 || a->x >= e->width ? "x" : "y";
        loc->key2 = a->x < 0 || a->x >= e->width ? "width" : "height";
        if (a->x < 0 || a->x >= e->width || a->y < 0 || a->y >= e->height) {
            err_set(err, errlen, "affordance '%s' at (%d, %d) is outside the %dx%d grid", a->name,
                    a->x, a->y, e->width, e->height);
            return -1;
        }
        loc->subkey = "x";
        loc->key2 = NULL;
        for (int j = 0; j < i; j++)
            if (e->affordances[j].x == a->x && e->affordances[j].y == a->y) {
                err_set(err, errlen, "affordance '%s' at (%d, %d) is on the same cell as '%s'",
                        a->name, a->x, a->y, e->affordances[j].name);
                return -1;
            }
        static const field cost = {"cost", F_DOUBLE, 0, 0, 1000, 0, NULL, 0};
        static const field effect = {"effects", F_DOUBLE, 0, -1, 1, 0, NULL, 0};
        static const field hour = {"hour", F_INT, 0, 0, 24, 0, NULL, 0};
        /* The replay's compact state holds the progress as int8 (trainer/replay.h). */
        static const field ticks = {"ticks", F_INT, 0, 1, 127, 0, NULL, 0};
        loc->subkey = "cost";
        if (!in_range(&cost, a->cost))
            return range_fail(err, errlen, "cost", where, &cost, a->cost);
        loc->subkey = "effects";
        for (int m = 0; m < CFG_NUM_METERS; m++)
            if (!in_range(&effect, a->effects[m]))
                return range_fail(err, errlen, cfg_meter_names[m], where, &effect, a->effects[m]);
        loc->subkey = "open_hour";
        if (!in_range(&hour, a->open_hour))
            return range_fail(err, errlen, "open_hour", where, &hour, a->open_hour);
        loc->subkey = "close_hour";
        if (!in_range(&hour, a->close_hour))
            return range_fail(err, errlen, "close_hour", where, &hour, a->close_hour);
        loc->subkey = "ticks";
        if (!in_range(&ticks, a->ticks))
            return range_fail(err, errlen, "ticks", where, &ticks, a->ticks);
    }
    loc->key = "cascades";
    loc->index = -1;
    loc->subkey = NULL;
    if (e->n_cascades < 0 || e->n_cascades > CFG_MAX_CASCADES) {
        err_set(err, errlen, "too many cascades: at most %d", CFG_MAX_CASCADES);
        return -1;
    }
    for (int i = 0; i < e->n_cascades; i++) {
        const cfg_cascade *k = &e->cascades[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.cascades]] #%d", i + 1);
        static const field threshold = {"threshold", F_DOUBLE, 0, 0, 1, EXCL_MIN, NULL, 0};
        static const field strength = {"strength", F_DOUBLE, 0, 0, 1, 0, NULL, 0};
        loc->index = i;
        loc->subkey = "source";
        if (k->source < 0 || k->source >= CFG_NUM_METERS || k->target < 0 ||
            k->target >= CFG_NUM_METERS) {
            err_set(err, errlen, "%s names a meter that does not exist", where);
            return -1;
        }
        loc->subkey = "threshold";
        if (!in_range(&threshold, k->threshold))
            return range_fail(err, errlen, "threshold", where, &threshold, k->threshold);
        loc->subkey = "strength";
        if (!in_range(&strength, k->strength))
            return range_fail(err, errlen, "strength", where, &strength, k->strength);
    }
    loc->index = -1;
    loc->subkey = NULL;

    loc->section = "agent";
    loc->key = "batch_size";
    loc->key2 = "replay_capacity";
    if (c->agent.batch_size > c->agent.replay_capacity) {
        err_set(err, errlen, "'batch_size' in [agent] (%d) must not exceed 'replay_capacity' (%d)",
                c->agent.batch_size, c->agent.replay_capacity);
        return -1;
    }
    loc->section = "curriculum";
    loc->key = "retreat_survival";
    loc->key2 = "advance_survival";
    if (c->curriculum.retreat_survival > c->curriculum.advance_survival) {
        err_set(err, errlen,
                "'retreat_survival' in [curriculum] (%g) must not exceed 'advance_survival' (%g)",
                c->curriculum.retreat_survival, c->curriculum.advance_survival);
        return -1;
    }
    for (int j = 0; j < CFG_NUM_PROCS; j++) {
        const cfg_process *pr = &c->processes[j];
        loc->section = sections[5 + j].name;
        loc->key = "backoff_initial";
        loc->key2 = "backoff_max";
        if (pr->backoff_initial > pr->backoff_max) {
            err_set(err, errlen,
                    "'backoff_initial' in [%s] (%g) must not exceed 'backoff_max' (%g)",
                    sections[5 + j].name, pr->backoff_initial, pr->backoff_max);
            return -1;
        }
    }
    return 0;
}

int cfg_validate(const cfg_config *c, char *err, size_t errlen) {
    locator loc;
    return validate_impl(c, err, errlen, &loc);
}

/* Finds the position of what a locator names in the document; the deepest part that the
 * file actually wrote wins (a default value has no position, its table has). */
static void locate(const toml_value *root, const locator *loc, int *line, int *col) {
    *line = 1;
    *col = 1;
    const toml_value *t = root;
    char sec[64];
    snprintf(sec, sizeof sec, "%s", loc->section ? loc->section : "");
    char *save = NULL;
    for (char *part = strtok_r(sec, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        const toml_entry *e = toml_table_find(t, part);
        if (!e) return;
        t = e->value;
        *line = e->line;
        *col = e->col;
        if (t->type == TOML_TABLE) {
            *line = t->line;
            *col = t->col;
        }
    }
    if (!loc->key) return;
    const toml_entry *e = toml_table_find(t, loc->key);
    if (!e && loc->key2 && (e = toml_table_find(t, loc->key2)) != NULL) {
        *line = e->value->line;
        *col = e->value->col;
        return;
    }
    if (!e) return;
    const toml_value *v = e->value;
    *line = v->line;
    *col = v->col;
    if (loc->index >= 0) {
        if (v->type != TOML_ARRAY || (size_t)loc->index >= v->u.arr.len) return;
        v = v->u.arr.items[loc->index];
        *line = v->line;
        *col = v->col;
    }
    if (!loc->subkey) return;
    e = toml_table_find(v, loc->subkey);
    if (!e) return;
    *line = e->value->line;
    *col = e->value->col;
}

/* ---- public loaders ------------------------------------------------------------------- */

static int load_string_impl(cfg_config *c, const char *text, size_t len, const char *origin,
                            char *err, size_t errlen, bool *named) {
    loader l = {origin ? origin : "<string>", err, errlen};
    char perr[512];
    cfg_defaults(c);
    if (named) *named = false;
    toml_value *root = toml_parse(text, len, perr, sizeof perr);
    if (!root) {
        err_set(err, errlen, "%s:%s", l.origin, perr);
        return -1;
    }
    cfg_config *tmp = malloc(sizeof *tmp); /* ~40 KB: too big for some thread stacks */
    if (!tmp) {
        toml_free(root);
        err_set(err, errlen, "%s: out of memory", l.origin);
        return -1;
    }
    cfg_defaults(tmp);
    int rc = load_document(&l, root, tmp);
    if (rc == 0) {
        char verr[400];
        locator loc;
        if (validate_impl(tmp, verr, sizeof verr, &loc) != 0) {
            int line, col;
            locate(root, &loc, &line, &col);
            rc = load_fail(&l, line, col, "%s", verr);
        }
    }
    if (rc == 0) {
        if (named) *named = toml_table_find(root, "name") != NULL;
        *c = *tmp;
    }
    free(tmp);
    toml_free(root);
    return rc;
}

int cfg_load_string(cfg_config *c, const char *text, size_t len, const char *origin, char *err,
                    size_t errlen) {
    return load_string_impl(c, text, len, origin, err, errlen, NULL);
}

int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen) {
    cfg_defaults(c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* Config files are small; refuse anything absurd rather than read it all. */
    enum { MAX_CONFIG_BYTES = 4 << 20 };
    char *text = malloc(MAX_CONFIG_BYTES + 1);
    if (!text) {
        fclose(f);
        err_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    errno = 0;
    size_t len = fread(text, 1, MAX_CONFIG_BYTES + 1, f);
    int read_err = ferror(f), read_err_no = errno ? errno : EIO;
    fclose(f);
    int rc = -1;
    if (read_err) {
        err_set(err, errlen, "%s: cannot read: %s", path, strerror(read_err_no));
        goto out_text;
    }
    if (len > MAX_CONFIG_BYTES) {
        err_set(err, errlen, "%s: larger than %d bytes", path, MAX_CONFIG_BYTES);
        goto out_text;
    }
    bool named;
    if (load_string_impl(c, text, len, path, err, errlen, &named) != 0) goto out_text;
    /* The stem names the run ("level1"), unless the file names itself: the resolved
     * config.toml of a run directory carries `name` so that it keeps its level's name. */
    if (!named) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".toml") == 0) n -= 5;
        set_str(c->name, sizeof c->name, base, n);
        /* The name becomes a directory (runs/<name>/): make an odd file name safe. */
        for (char *ch = c->name; *ch; ch++)
            if (!name_char_ok(*ch)) *ch = '_';
        if (c->name[0] == '.' || c->name[0] == '\0') c->name[0] = '_';
    }
    set_str(c->path, sizeof c->path, path, strlen(path));
    rc = 0;
out_text:
    free(text);
    if (rc != 0) cfg_defaults(c);
    return rc;
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cfg_resolve_path(const char *arg, const char *configs_dir, char *out, size_t outlen, char *err,
                     size_t errlen) {
    if (!arg || !*arg) {
        err_set(err, errlen, "empty config name");
        return -1;
    }
    char cand[CFG_PATH_MAX + 16];
    const char *found = NULL;
    if (is_file(arg)) {
        found = arg;
    } else if (!strchr(arg, '/') && configs_dir) {
        snprintf(cand, sizeof cand, "%s/%s", configs_dir, arg);
        if (is_file(cand)) {
            found = cand;
        } else {
            size_t n = strlen(arg);
            if (n < 5 || strcmp(arg + n - 5, ".toml") != 0) {
                snprintf(cand, sizeof cand, "%s/%s.toml", configs_dir, arg);
                if (is_file(cand)) found = cand;
            }
        }
    }
    if (!found) {
        if (strchr(arg, '/') || !configs_dir)
            err_set(err, errlen, "config file '%s' not found", arg);
        else
            err_set(err, errlen, "config file '%s' not found (looked in . and %s/)", arg,
                    configs_dir);
        return -1;
    }
    if (strlen(found) >= outlen) {
        err_set(err, errlen, "config path '%s' is too long", found);
        return -1;
    }
    snprintf(out, outlen, "%s", found);
    return 0;
}

/* ---- writing -------------------------------------------------------------------------- */

/* The shortest decimal form that reads back to exactly v, always recognisable as a float. */
static void fmt_double(char *buf, size_t size, double v) {
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".eE")) {
        size_t n = strlen(buf);
        if (n + 2 < size) memcpy(buf + n, ".0", 3);
    }
}

static void write_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F)
            fprintf(f, "\\u%04X", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void write_double(FILE *f, double v) {
    char b[64];
    fmt_double(b, sizeof b, v);
    fputs(b, f);
}

static void write_enum(FILE *f, const char *const *names, const void *p) {
    int x;
    memcpy(&x, p, sizeof x);
    int n = 0;
    while (names[n]) n++;
    write_str(f, x >= 0 && x < n ? names[x] : "?");
}

static void write_meters(FILE *f, const double *m, bool inline_table) {
    bool first = true;
    if (inline_table) fputs("{", f);
    for (int i = 0; i < CFG_NUM_METERS; i++) {
        if (inline_table && m[i] == 0 && !signbit(m[i])) continue;
        if (inline_table) fputs(first ? " " : ", ", f);
        fprintf(f, "%s = ", cfg_meter_names[i]);
        write_double(f, m[i]);
        if (!inline_table) fputc('\n', f);
        first = false;
    }
    if (inline_table) fputs(first ? "}" : " }", f);
}

/* Writes the scalar keys of one section, then its sub-tables. */
static void write_section(FILE *f, const section *s, const cfg_config *c) {
    const char *base = (const char *)c + s->off;
    fprintf(f, "\n[%s]\n", s->name);
    for (const field *fd = s->fields; fd->key; fd++) {
        const void *p = base + fd->off;
        switch (fd->type) {
            case F_INT:
                fprintf(f, "%s = %d\n", fd->key, *(const int *)p);
                break;
            case F_SEED:
                fprintf(f, "%s = %llu\n", fd->key, (unsigned long long)*(const uint64_t *)p);
                break;
            case F_DOUBLE:
                fprintf(f, "%s = ", fd->key);
                write_double(f, *(const double *)p);
                fputc('\n', f);
                break;
            case F_BOOL:
                fprintf(f, "%s = %s\n", fd->key, *(const bool *)p ? "true" : "false");
                break;
            case F_STRING:
                fprintf(f, "%s = ", fd->key);
                write_str(f, p);
                fputc('\n', f);
                break;
            case F_ENUM:
                fprintf(f, "%s = ", fd->key);
                write_enum(f, fd->names, p);
                fputc('\n', f);
                break;
            case F_HIDDEN: {
                const cfg_agent *a = (const cfg_agent *)base;
                fprintf(f, "%s = [", fd->key);
                for (int i = 0; i < a->n_hidden && i < CFG_MAX_HIDDEN; i++)
                    fprintf(f, "%s%d", i ? ", " : "", a->hidden[i]);
                fputs("]\n", f);
                break;
            }
            case F_STAGES: {
                const cfg_curriculum *cu = (const cfg_curriculum *)base;
                fprintf(f, "%s = [", fd->key);
                for (int i = 0; i < cu->n_stages && i < CFG_MAX_STAGES; i++) {
                    if (i) fputs(", ", f);
                    write_double(f, cu->stages[i]);
                }
                fputs("]\n", f);
                break;
            }
            case F_COMMAND: {
                const cfg_process *pr = (const cfg_process *)base;
                fprintf(f, "%s = [", fd->key);
                for (int i = 0; i < pr->argc && i < CFG_MAX_ARGS; i++) {
                    if (i) fputs(", ", f);
                    write_str(f, pr->argv[i]);
                }
                fputs("]\n", f);
                break;
            }
            case F_ENV: {
                const cfg_process *pr = (const cfg_process *)base;
                fprintf(f, "%s = {", fd->key);
                for (int i = 0; i < pr->n_env && i < CFG_MAX_ENV; i++) {
                    const char *eq = strchr(pr->env[i], '=');
                    if (!eq) continue;
                    fprintf(f, "%s%.*s = ", i ? ", " : " ", (int)(eq - pr->env[i]), pr->env[i]);
                    write_str(f, eq + 1);
                }
                fputs(pr->n_env ? " }\n" : "}\n", f);
                break;
            }
            case F_AFFORDANCES:
                if (((const cfg_environment *)base)->n_affordances == 0)
                    fprintf(f, "%s = []\n", fd->key);
                break;
            case F_CASCADES:
                if (((const cfg_environment *)base)->n_cascades == 0)
                    fprintf(f, "%s = []\n", fd->key);
                break;
            case F_METERS:
                break;
        }
    }
    if (s->fields != environment_fields) return;
    const cfg_environment *e = (const cfg_environment *)base;
    for (const field *fd = s->fields; fd->key; fd++) {
        if (fd->type != F_METERS) continue;
        fprintf(f, "\n[environment.%s]\n", fd->key);
        write_meters(f, (const double *)(base + fd->off), false);
    }
    for (int i = 0; i < e->n_cascades && i < CFG_MAX_CASCADES; i++) {
        const cfg_cascade *k = &e->cascades[i];
        fputs("\n[[environment.cascades]]\nsource = ", f);
        write_str(f,
                  k->source >= 0 && k->source < CFG_NUM_METERS ? cfg_meter_names[k->source] : "?");
        fputs("\ntarget = ", f);
        write_str(f,
                  k->target >= 0 && k->target < CFG_NUM_METERS ? cfg_meter_names[k->target] : "?");
        fputs("\nthreshold = ", f);
        write_double(f, k->threshold);
        fputs("\nstrength = ", f);
        write_double(f, k->strength);
        fputc('\n', f);
    }
    for (int i = 0; i < e->n_affordances && i < CFG_MAX_AFFORDANCES; i++) {
        const cfg_affordance *a = &e->affordances[i];
        fputs("\n[[environment.affordances]]\nname = ", f);
        write_str(f, a->name);
        fprintf(f, "\nx = %d\ny = %d\ncost = ", a->x, a->y);
        write_double(f, a->cost);
        fputs("\neffects = ", f);
        write_meters(f, a->effects, true);
        fprintf(f, "\nopen_hour = %d\nclose_hour = %d\nticks = %d\n", a->open_hour, a->close_hour,
                a->ticks);
    }
}

int cfg_write_toml(const cfg_config *c, FILE *f) {
    fputs("# run_demo configuration, resolved: every value the run used (cfg_write_toml).\n", f);
    fputs("name = ", f);
    write_str(f, c->name);
    fputc('\n', f);
    for (size_t s = 0; s < N_SECTIONS; s++) write_section(f, &sections[s], c);
    fflush(f);
    return ferror(f) ? -1 : 0;
}

uint64_t cfg_hash(const cfg_config *c) {
    /* FNV-1a 64 over the canonical TOML of [environment] and [agent]: what the weights
     * mean. The text is deterministic (shortest round-trip floats), so equal configs hash
     * equal on every machine. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    uint64_t h = 0xcbf29ce484222325ULL;
    if (!f) return h;
    write_section(f, &sections[0], c);
    write_section(f, &sections[1], c);
    fclose(f);
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
    free(text);
    return h;
}

/* ---- single values (command line, sweep files) ---------------------------------------- */

/* The section a dotted key starts with (the longest name that matches, so that
 * "processes.trainer.restart" finds [processes.trainer]); *rest points after its dot. */
static const section *section_of(const char *key, const char **rest) {
    const section *best = NULL;
    for (size_t i = 0; i < N_SECTIONS; i++) {
        size_t n = strlen(sections[i].name);
        if (strncmp(key, sections[i].name, n) == 0 && key[n] == '.' &&
            (!best || n > strlen(best->name))) {
            best = &sections[i];
            *rest = key + n + 1;
        }
    }
    return best;
}

int cfg_set_value(cfg_config *c, const char *key, const struct toml_value *v, char *err,
                  size_t errlen) {
    loader l = {NULL, err, errlen};
    const char *rest = NULL;
    const section *sec = section_of(key, &rest);
    if (!sec) {
        const char *dot = strrchr(key, '.');
        if (!dot) {
            err_set(err, errlen, "'%s' is not SECTION.KEY (e.g. agent.gamma)", key);
            return -1;
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(dot - key), key);
        const char *cands[N_SECTIONS];
        for (size_t i = 0; i < N_SECTIONS; i++) cands[i] = sections[i].name;
        const char *sug = nearest(name, cands, N_SECTIONS);
        if (sug)
            err_set(err, errlen, "unknown section [%s] (did you mean [%s]?)", name, sug);
        else
            err_set(err, errlen,
                    "unknown section [%s] (expected environment, agent, training, curriculum, "
                    "unified_server or processes.trainer|server|frontend)",
                    name);
        return -1;
    }
    char where[64], field_name[64];
    snprintf(where, sizeof where, "[%s]", sec->name);
    /* "decay.energy": one meter of a meter table. */
    const char *sub = strchr(rest, '.');
    snprintf(field_name, sizeof field_name, "%.*s", sub ? (int)(sub - rest) : (int)strlen(rest),
             rest);
    const char *cands[32];
    size_t n = 0;
    const field *f = NULL;
    for (const field *x = sec->fields; x->key && n < 32; x++) {
        cands[n++] = x->key;
        if (!strcmp(x->key, field_name)) f = x;
    }
    if (!f) {
        const char *sug = nearest(field_name, cands, n);
        if (sug)
            err_set(err, errlen, "unknown key '%s' in %s (did you mean '%s'?)", field_name, where,
                    sug);
        else
            err_set(err, errlen, "unknown key '%s' in %s", field_name, where);
        return -1;
    }
    if (f->type == F_AFFORDANCES || f->type == F_CASCADES) {
        err_set(err, errlen, "'%s' in %s is a list of tables: set it in a config file", f->key,
                where);
        return -1;
    }
    if (sub && f->type != F_METERS) {
        err_set(err, errlen, "'%s' in %s has no sub-keys (got '%s')", f->key, where, rest);
        return -1;
    }
    cfg_config *tmp = malloc(sizeof *tmp);
    if (!tmp) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    *tmp = *c;
    char *base = (char *)tmp + sec->off;
    int rc;
    if (sub) {
        int m = meter_index(sub + 1);
        char w2[96];
        snprintf(w2, sizeof w2, "[environment.%s]", f->key);
        if (m < 0) {
            const char *sug = nearest(sub + 1, cfg_meter_names, CFG_NUM_METERS);
            if (sug)
                rc = load_fail(&l, 0, 0, "unknown key '%s' in %s (did you mean '%s'?)", sub + 1, w2,
                               sug);
            else
                rc = load_fail(&l, 0, 0, "unknown key '%s' in %s", sub + 1, w2);
        } else {
            rc = get_double(&l, v, sub + 1, w2, (double *)(base + f->off) + m);
        }
    } else {
        toml_entry e = {f->key, strlen(f->key), v->line, v->col, (toml_value *)v};
        rc = load_field(&l, f, &e, base, where);
    }
    locator loc;
    if (rc == 0 && validate_impl(tmp, err, errlen, &loc) != 0) rc = -1;
    if (rc == 0) *c = *tmp;
    free(tmp);
    return rc;
}

struct toml_value *cfg_parse_value(const char *text, const struct toml_value **v) {
    size_t tl = strlen(text);
    char *doc = malloc(tl + 8);
    *v = NULL;
    if (!doc) return NULL;
    memcpy(doc, "v = ", 4);
    memcpy(doc + 4, text, tl);
    memcpy(doc + 4 + tl, "\n", 2);
    char perr[256];
    toml_value *root = toml_parse(doc, tl + 5, perr, sizeof perr);
    free(doc);
    /* "1\nx = 2" parses too, as two keys: not one value. */
    if (root && root->u.tab.len == 1 && key_is(&root->u.tab.items[0], "v"))
        *v = root->u.tab.items[0].value;
    if (!*v) {
        toml_free(root);
        root = NULL;
    }
    return root;
}

int cfg_set(cfg_config *c, const char *key, const char *text, char *err, size_t errlen) {
    /* The value in TOML syntax ("0.99", "[64, 64]", "true", "\"x\""); anything that is not
     * one TOML value (a bare word: hard, partial, 127.0.0.1) is taken as a string. */
    const toml_value *v;
    toml_value *root = cfg_parse_value(text, &v);
    toml_value str = {.type = TOML_STRING, .line = 1, .col = 1};
    if (!v) {
        str.u.s.ptr = text;
        str.u.s.len = strlen(text);
        v = &str;
    }
    int rc = cfg_set_value(c, key, v, err, errlen);
    toml_free(root);
    return rc;
}
