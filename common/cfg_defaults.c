/* common/cfg_defaults.c — the built-in level 1 configuration (equal to configs/level1.toml,
 * which a test checks) and the names of meters and processes. See common/cfg.h. */
#include "common/cfg.h"

#include <string.h>

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
    c->threshold = CFG_CASCADE_THRESHOLD;
    c->strength = strength;
}

double cfg_stage_multiplier(const cfg_curriculum *c, int stage) {
    if (!c->enabled || c->n_stages < 1) return 1.0;
    return c->stages[stage >= 0 && stage < c->n_stages ? stage : c->n_stages - 1];
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
    a->learning_rate_final_episodes = 0;
    a->learning_rate_final = 0.00005;
    a->adam_beta1 = 0.9;
    a->adam_beta2 = 0.999;
    a->adam_eps = 1e-8;
    a->gamma = 0.999;
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
    a->dueling = false;
    a->n_step = 3;
    a->priority_alpha = 0.6; /* measured: docs/design/learner.md "Time to competence" */
    a->priority_beta = 0.4;
    a->priority_eps = 1e-3;
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
    t->restore_below = 0.9;
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
    c->plateau_episodes = 0;
    c->plateau_reset_layers = 0;
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
    c->cluster.warn_seconds = 120; /* the rest empty: Slurm's own defaults */
}

int cfg_affordance_at(const cfg_environment *e, int x, int y) {
    for (int i = 0; i < e->n_affordances; i++)
        if (e->affordances[i].x == x && e->affordances[i].y == y) return i;
    return -1;
}
