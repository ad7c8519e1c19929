/* common/cfg_schema.c — the config's schema: every table's keys, types and ranges, and the
 * row of operations of each field type (common/cfg_schema.h explains how they fit). */
#include "common/cfg_schema.h"

#include <string.h>

void cfg_set_str(char *dst, size_t size, const char *src, size_t len) {
    memset(dst, 0, size);
    if (len > size - 1) len = size - 1;
    memcpy(dst, src, len);
}

static const char *const observability_names[] = {"full", "partial", NULL};
static const char *const target_update_names[] = {"hard", "polyak", NULL};
static const char *const reward_names[] = {"survival", "death_time", NULL};
static const char *const restart_names[] = {"never", "on-failure", "always", NULL};
static const char *const advance_on_names[] = {"training", "greedy", NULL};

#define E(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_environment, k), lo, hi, fl, NULL, 0 }
static const cfg_field environment_fields[] = {
    E(level, CFG_F_INT, 1, 3, 0),
    E(width, CFG_F_INT, 1, CFG_MAX_GRID, 0),
    E(height, CFG_F_INT, 1, CFG_MAX_GRID, 0),
    /* The replay's compact state holds the step as int16 (trainer/replay.h). */
    E(max_steps, CFG_F_INT, 1, 32767, 0),
    {"observability", CFG_F_ENUM, offsetof(cfg_environment, observability), 0, 0, 0,
     observability_names, 0},
    E(view_radius, CFG_F_INT, 1, CFG_MAX_VIEW_RADIUS, 0),
    E(fitness_health_rate, CFG_F_DOUBLE, 0, 1, 0),
    E(fitness_health_base, CFG_F_DOUBLE, 0, 100, 0),
    E(fitness_health_slope, CFG_F_DOUBLE, 0, 100, 0),
    E(day_cycle, CFG_F_BOOL, 0, 0, 0),
    E(day_length, CFG_F_INT, 24, 10000000, 0),
    E(start_hour, CFG_F_INT, 0, 23, 0),
    E(observe_multiplier, CFG_F_BOOL, 0, 0, CFG_HASH_UNLESS_SET),
    E(mask_unaffordable, CFG_F_BOOL, 0, 0, CFG_HASH_UNLESS_SET),
    E(initial, CFG_F_METERS, 0, 1, 0),
    E(decay, CFG_F_METERS, 0, 1, 0),
    E(move_cost, CFG_F_METERS, 0, 1, 0),
    E(wait_cost, CFG_F_METERS, 0, 1, 0),
    E(cascades, CFG_F_CASCADES, 0, 0, 0),
    E(affordances, CFG_F_AFFORDANCES, 0, 0, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef E

#define A(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_agent, k), lo, hi, fl, NULL, 0 }
static const cfg_field agent_fields[] = {
    A(hidden, CFG_F_HIDDEN, 1, 4096, 0),
    A(learning_rate, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MIN),
    A(learning_rate_end, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MIN),
    A(learning_rate_decay_episodes, CFG_F_INT, 0, CFG_BIG, 0),
    A(learning_rate_final_episodes, CFG_F_INT, 0, CFG_BIG, CFG_HASH_UNLESS_SET),
    A(learning_rate_final, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MIN | CFG_HASH_WITH_SWITCH),
    A(adam_beta1, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MAX),
    A(adam_beta2, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MAX),
    A(adam_eps, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MIN),
    A(gamma, CFG_F_DOUBLE, 0, 1, 0),
    A(replay_capacity, CFG_F_INT, 1, 10000000, 0),
    A(batch_size, CFG_F_INT, 1, 65536, 0),
    A(train_every, CFG_F_INT, 1, 1000000, 0),
    A(learning_starts, CFG_F_INT, 0, CFG_BIG, 0),
    {"target_update", CFG_F_ENUM, offsetof(cfg_agent, target_update), 0, 0, 0, target_update_names,
     0},
    A(target_update_every, CFG_F_INT, 1, CFG_BIG, 0),
    A(tau, CFG_F_DOUBLE, 0, 1, CFG_EXCL_MIN),
    A(epsilon_start, CFG_F_DOUBLE, 0, 1, 0),
    A(epsilon_end, CFG_F_DOUBLE, 0, 1, 0),
    A(epsilon_decay_episodes, CFG_F_INT, 0, CFG_BIG, 0),
    A(double_dqn, CFG_F_BOOL, 0, 0, 0),
    A(dueling, CFG_F_BOOL, 0, 0, CFG_HASH_UNLESS_SET),
    A(n_step, CFG_F_INT, 1, 64, 0),
    /* Uniform replay at alpha 0 (the behaviour before the keys): the hash leaves the three
     * out there, so that checkpoints written before them still load. */
    A(priority_alpha, CFG_F_DOUBLE, 0, 1, CFG_HASH_UNLESS_SET),
    A(priority_beta, CFG_F_DOUBLE, 0, 1, CFG_HASH_WITH_SWITCH),
    A(priority_eps, CFG_F_DOUBLE, 0, 1e6, CFG_EXCL_MIN | CFG_HASH_WITH_SWITCH),
    A(huber_delta, CFG_F_DOUBLE, 0, 1e6, CFG_EXCL_MIN),
    A(grad_clip, CFG_F_DOUBLE, 0, 1e9, 0),
    {"reward", CFG_F_ENUM, offsetof(cfg_agent, reward), 0, 0, 0, reward_names, 0},
    A(reward_per_step, CFG_F_DOUBLE, -1e6, 1e6, 0),
    A(death_penalty, CFG_F_DOUBLE, -1e6, 1e6, 0),
    A(reward_baseline, CFG_F_DOUBLE, -1e6, 1e6, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef A

#define T(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_training, k), lo, hi, fl, NULL, 0 }
static const cfg_field training_fields[] = {
    T(episodes, CFG_F_INT, 1, CFG_BIG, 0),         T(seed, CFG_F_SEED, 0, 0, 0),
    T(checkpoint_every, CFG_F_INT, 1, CFG_BIG, 0), T(keep_checkpoints, CFG_F_INT, 1, 1000000, 0),
    T(eval_every, CFG_F_INT, 0, CFG_BIG, 0),       T(eval_episodes, CFG_F_INT, 1, 1000000, 0),
    T(restore_below, CFG_F_DOUBLE, 0, 1, 0),       T(stop_grace_seconds, CFG_F_DOUBLE, 0, 3600, 0),
    T(progress_every, CFG_F_INT, 1, CFG_BIG, 0),   {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef T

#define C(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_curriculum, k), lo, hi, fl, NULL, 0 }
static const cfg_field curriculum_fields[] = {
    C(enabled, CFG_F_BOOL, 0, 0, 0),
    C(stages, CFG_F_STAGES, 0, 100, CFG_EXCL_MIN),
    C(window, CFG_F_INT, 1, 1000000, 0),
    C(advance_survival, CFG_F_DOUBLE, 0, 1, 0),
    C(retreat_survival, CFG_F_DOUBLE, 0, 1, 0),
    C(min_episodes, CFG_F_INT, 0, CFG_BIG, 0),
    {"advance_on", CFG_F_ENUM, offsetof(cfg_curriculum, advance_on), 0, 0, 0, advance_on_names, 0},
    C(advance_eval_every, CFG_F_INT, 1, CFG_BIG, 0),
    C(advance_eval_episodes, CFG_F_INT, 1, 1000000, 0),
    C(restart_schedules, CFG_F_BOOL, 0, 0, 0),
    C(plateau_episodes, CFG_F_INT, 0, CFG_BIG, CFG_HASH_UNLESS_SET),
    C(plateau_reset_layers, CFG_F_INT, 0, CFG_MAX_HIDDEN + 1, CFG_HASH_UNLESS_SET),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef C

#define S(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_server, k), lo, hi, fl, NULL, 0 }
static const cfg_field server_fields[] = {
    {"host", CFG_F_STRING, offsetof(cfg_server, host), 0, 0, 0, NULL,
     sizeof(((cfg_server *)0)->host)},
    S(inference_port, CFG_F_INT, 1, 65535, 0),
    S(frontend_port, CFG_F_INT, 1, 65535, 0),
    S(open_browser, CFG_F_BOOL, 0, 0, 0),
    S(health_check_timeout, CFG_F_DOUBLE, 0, 3600, CFG_EXCL_MIN),
    S(max_clients_per_job, CFG_F_INT, 1, 1000000, 0),
    S(max_sessions, CFG_F_INT, 1, 100000, 0),
    S(max_message_bytes, CFG_F_INT, 256, 64 << 20, 0),
    S(history_limit, CFG_F_INT, 1, 10000000, 0),
    S(history_bytes, CFG_F_INT, 65536, 1 << 30, 0),
    S(client_queue_limit, CFG_F_INT, 1, 1000000, 0),
    {"allowed_hosts", CFG_F_STRING, offsetof(cfg_server, allowed_hosts), 0, 0, CFG_MAY_BE_EMPTY,
     NULL, sizeof(((cfg_server *)0)->allowed_hosts)},
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef S

#define P(k, t, lo, hi, fl)                                                                        \
    { #k, t, offsetof(cfg_process, k), lo, hi, fl, NULL, 0 }
static const cfg_field process_fields[] = {
    {"command", CFG_F_COMMAND, offsetof(cfg_process, argv), 0, 0, 0, NULL, 0},
    {"env", CFG_F_ENV, offsetof(cfg_process, env), 0, 0, 0, NULL, 0},
    {"restart", CFG_F_ENUM, offsetof(cfg_process, restart), 0, 0, 0, restart_names, 0},
    P(max_restarts, CFG_F_INT, 0, 1000000, 0),
    P(restart_window, CFG_F_DOUBLE, 0, 1e6, CFG_EXCL_MIN),
    P(backoff_initial, CFG_F_DOUBLE, 0, 3600, 0),
    P(backoff_max, CFG_F_DOUBLE, 0, 3600, 0),
    P(stop_timeout, CFG_F_DOUBLE, 0, 3600, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef P

#define K_STR(k)                                                                                   \
    {                                                                                              \
#k, CFG_F_STRING, offsetof(cfg_cluster, k), 0, 0, CFG_MAY_BE_EMPTY, NULL,                  \
            sizeof(((cfg_cluster *)0)->k)                                                          \
    }
static const cfg_field cluster_fields[] = {
    K_STR(partition),
    K_STR(time_limit),
    {"cpus_per_trainer", CFG_F_INT, offsetof(cfg_cluster, cpus_per_trainer), 0, 4096, 0, NULL, 0},
    K_STR(mem_per_trainer),
    K_STR(account),
    K_STR(qos),
    K_STR(sbatch_args),
    {"warn_seconds", CFG_F_INT, offsetof(cfg_cluster, warn_seconds), 0, 86400, 0, NULL, 0},
    K_STR(server_host),
    K_STR(run_root),
    {NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef K_STR

const cfg_section cfg_sections[CFG_NUM_SECTIONS] = {
    {"environment", offsetof(cfg_config, environment), environment_fields},
    {"agent", offsetof(cfg_config, agent), agent_fields},
    {"training", offsetof(cfg_config, training), training_fields},
    {"curriculum", offsetof(cfg_config, curriculum), curriculum_fields},
    {"unified_server", offsetof(cfg_config, server), server_fields},
    {"processes.trainer", offsetof(cfg_config, processes[CFG_PROC_TRAINER]), process_fields},
    {"processes.server", offsetof(cfg_config, processes[CFG_PROC_SERVER]), process_fields},
    {"processes.frontend", offsetof(cfg_config, processes[CFG_PROC_FRONTEND]), process_fields},
    {"cluster", offsetof(cfg_config, cluster), cluster_fields},
};

/* One row per field type: how it loads, checks and writes (cfg_load.c, cfg_validate.c,
 * cfg_write.c). A NULL check means the rules of cfg_validate.c cover it; a NULL write means
 * it has no key among the section's keys. */
const cfg_type_ops cfg_types[CFG_NUM_TYPES] = {
    [CFG_F_INT] = {cfg_load_int, cfg_check_int, cfg_write_int, NULL, false, false},
    [CFG_F_SEED] = {cfg_load_seed, cfg_check_seed, cfg_write_seed, NULL, false, false},
    [CFG_F_DOUBLE] = {cfg_load_double, cfg_check_double, cfg_write_double, NULL, false, false},
    [CFG_F_BOOL] = {cfg_load_bool, NULL, cfg_write_bool, NULL, false, false},
    [CFG_F_STRING] = {cfg_load_string_field, cfg_check_string, cfg_write_string, NULL, false,
                      false},
    [CFG_F_ENUM] = {cfg_load_enum, cfg_check_enum, cfg_write_enum, NULL, false, false},
    [CFG_F_METERS] = {cfg_load_meters, cfg_check_meters, NULL, cfg_write_meter_table, false, true},
    [CFG_F_HIDDEN] = {cfg_load_hidden, cfg_check_hidden, cfg_write_hidden, NULL, false, false},
    [CFG_F_STAGES] = {cfg_load_stages, cfg_check_stages, cfg_write_stages, NULL, false, false},
    [CFG_F_COMMAND] = {cfg_load_command, cfg_check_command, cfg_write_command, NULL, false, false},
    [CFG_F_ENV] = {cfg_load_env, cfg_check_env, cfg_write_env, NULL, false, false},
    [CFG_F_AFFORDANCES] = {cfg_load_affordances, NULL, cfg_write_affordances,
                           cfg_write_affordance_tables, true, false},
    [CFG_F_CASCADES] = {cfg_load_cascades, NULL, cfg_write_cascades, cfg_write_cascade_tables, true,
                        false},
};

/* ---- helpers shared by the loader, the validation and the writer ---------------------- */

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

const char *cfg_nearest(const char *key, const char *const *cands, size_t n) {
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

const char *const cfg_meter_enum_names[] = {"energy", "hygiene", "satiation", "money", "mood",
                                            "social", "health",  "fitness",   NULL};

int cfg_meter_index(const char *name) {
    for (int m = 0; m < CFG_NUM_METERS; m++)
        if (strcmp(cfg_meter_names[m], name) == 0) return m;
    return -1;
}

bool cfg_name_char_ok(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

void cfg_subtable_where(char *buf, size_t size, const char *where, const char *key) {
    snprintf(buf, size, "%.*s.%s]", (int)strlen(where) - 1, where, key);
}

bool cfg_field_is_zero(const cfg_field *f, const char *base) {
    const char *p = base + f->off;
    switch (f->type) {
        case CFG_F_BOOL:
            return !*(const bool *)p;
        case CFG_F_INT:
        case CFG_F_ENUM:
            return *(const int *)p == 0;
        case CFG_F_DOUBLE:
            return *(const double *)p == 0.0;
        default:
            return false;
    }
}

void cfg_former_behaviour(cfg_config *c) {
    for (size_t s = 0; s < CFG_NUM_SECTIONS; s++) {
        char *base = (char *)c + cfg_sections[s].off;
        for (const cfg_field *f = cfg_sections[s].fields; f->key; f++) {
            if (!(f->flags & CFG_HASH_UNLESS_SET)) continue;
            char *p = base + f->off;
            if (f->type == CFG_F_BOOL) *(bool *)p = false;
            if (f->type == CFG_F_INT || f->type == CFG_F_ENUM) *(int *)p = 0;
            if (f->type == CFG_F_DOUBLE) *(double *)p = 0.0;
        }
    }
}
