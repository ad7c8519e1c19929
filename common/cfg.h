/* common/cfg.h — the run's configuration (prefix cfg_).
 *
 * One struct for every table of a level's TOML file (configs/level1.toml documents every
 * key): [environment], [agent], [training], [curriculum], [unified_server] and
 * [processes.trainer|server|frontend]. cfg_defaults() fills the built-in level 1 values, which
 * equal configs/level1.toml; cfg_load_file() overlays a file on them. Every error names the file,
 * line, column and key, e.g. configs/level1.toml:12:1: unknown key 'episods' in [training] (did you
 * mean 'episodes'?)
 *
 * The struct is plain data with fixed-size arrays: it is copied freely, never freed, and
 * safe to hand to another thread. Units: meters are in [0,1]; money 1.0 = $100, and
 * affordance costs are in dollars.
 *
 * The code: cfg_defaults.c (the built-in values), cfg_schema.c (every key's type, range and
 * table, and the operations of each field type: common/cfg_schema.h), cfg_load.c (TOML to the
 * struct, positions of errors, cfg_set), cfg_validate.c (ranges and cross-field rules),
 * cfg_write.c (the struct to TOML, the hash). */
#ifndef RD_COMMON_CFG_H
#define RD_COMMON_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_NUM_METERS      8
#define CFG_MAX_AFFORDANCES 32
#define CFG_MAX_CASCADES    32
#define CFG_MAX_STAGES      8
#define CFG_MAX_HIDDEN      4
#define CFG_MAX_GRID        32
#define CFG_MAX_VIEW_RADIUS 15 /* a window that covers a 32x32 grid from any cell */
#define CFG_NAME_MAX        32
#define CFG_PATH_MAX        1024
#define CFG_MAX_ARGS        32
#define CFG_ARG_MAX         256
#define CFG_MAX_ENV         16

typedef enum {
    METER_ENERGY = 0,
    METER_HYGIENE,
    METER_SATIATION,
    METER_MONEY,
    METER_MOOD,
    METER_SOCIAL,
    METER_HEALTH,
    METER_FITNESS
} cfg_meter;

/* "energy", "hygiene", ... indexed by cfg_meter; the keys of every meter table. */
extern const char *const cfg_meter_names[CFG_NUM_METERS];

typedef struct {
    char name[CFG_NAME_MAX];        /* "Bed", "Job", ... */
    int x, y;                       /* cell; x = column (0 = left), y = row (0 = top) */
    double cost;                    /* dollars taken from money per interaction (0 = free) */
    double effects[CFG_NUM_METERS]; /* added to each meter on completion (clamped to [0,1]) */
    int open_hour, close_hour;      /* level 3: open when open <= hour < close, wrapping past
                                       midnight when close < open; 0 and 24 = always open */
    int ticks; /* level 3: consecutive interact steps to complete (1 = instant); moving away
                  resets the progress */
} cfg_affordance;

/* A cascade's threshold when its table does not give one (the defaults' and a loaded
 * file's); the page's "critical" mark of a world without cascades uses it too. */
#define CFG_CASCADE_THRESHOLD 0.3

typedef struct {
    int source, target; /* cfg_meter */
    double threshold;   /* active while source < threshold (CFG_CASCADE_THRESHOLD) */
    double strength;    /* target loses strength * (threshold - source) / threshold per step */
} cfg_cascade;

typedef enum { CFG_OBS_FULL = 0, CFG_OBS_PARTIAL } cfg_observability;

typedef struct {
    int level; /* 1, 2 or 3: which world rules apply (see configs/) */
    int width, height;
    int max_steps;
    cfg_observability observability; /* full: one-hot grid; partial: egocentric window */
    int view_radius;                 /* partial: window of (2r+1)^2 cells; 2 gives 5x5 */
    double initial[CFG_NUM_METERS];
    double decay[CFG_NUM_METERS];     /* per step, before the curriculum multiplier */
    double move_cost[CFG_NUM_METERS]; /* extra per move */
    double wait_cost[CFG_NUM_METERS]; /* extra per wait */
    /* health loses fitness_health_rate * (base + slope * (1 - fitness)) per step */
    double fitness_health_rate, fitness_health_base, fitness_health_slope;
    int n_cascades;
    cfg_cascade cascades[CFG_MAX_CASCADES];
    int n_affordances;
    cfg_affordance affordances[CFG_MAX_AFFORDANCES];
    bool day_cycle; /* level 3: 24-hour day, opening hours, time-of-day features */
    int day_length; /* steps per 24-hour day */
    int start_hour; /* hour of the first step of an episode */
    /* The observation ends with the curriculum's decay multiplier, so that one network can
     * tell the stages' worlds apart (docs/design/learner.md). */
    bool observe_multiplier;
    /* interact is masked at a place the agent cannot pay for (as at a closed one), unless
     * it is in the middle of a use it already paid for (docs/design/world.md). */
    bool mask_unaffordable;
} cfg_environment;

typedef enum { CFG_REWARD_SURVIVAL = 0, CFG_REWARD_DEATH_TIME } cfg_reward;
typedef enum { CFG_TARGET_HARD = 0, CFG_TARGET_POLYAK } cfg_target_update;

typedef struct {
    int n_hidden;
    int hidden[CFG_MAX_HIDDEN];       /* [128, 128] */
    double learning_rate;             /* Adam's step size at the start... */
    double learning_rate_end;         /* ...falling linearly to this... */
    int learning_rate_decay_episodes; /* ...over this many episodes (0: constant); then */
    int learning_rate_final_episodes; /* ...over this many more (0: it stays at _end)... */
    double learning_rate_final;       /* ...on to this, linearly */
    double adam_beta1, adam_beta2, adam_eps;
    double gamma;
    int replay_capacity;
    int batch_size;
    int train_every;     /* env steps per gradient update */
    int learning_starts; /* transitions in replay before the first update */
    cfg_target_update target_update;
    int target_update_every; /* hard: env steps between copies */
    double tau;              /* polyak: target += tau * (online - target) per update */
    double epsilon_start, epsilon_end;
    int epsilon_decay_episodes; /* linear from start to end over this many episodes */
    bool double_dqn;
    bool dueling; /* dueling heads: Q = V + A - mean(A) (common/nn.h) */
    int n_step;   /* rewards summed before the target bootstraps (1: one-step DQN) */
    /* Proportional prioritized replay (docs/design/learner.md): a transition is drawn with
     * probability p^alpha / sum, p = |TD error| + priority_eps; 0 = uniform replay. Each
     * row's gradient is scaled by its importance weight (N P)^-beta / max. */
    double priority_alpha, priority_beta, priority_eps;
    double huber_delta;
    double grad_clip; /* max global gradient norm; 0 = off */
    cfg_reward reward;
    double reward_per_step; /* survival: reward for each step alive */
    double death_penalty;   /* survival: reward on the step that dies (e.g. -10) */
    double reward_baseline; /* death_time: reward at death = steps - baseline */
} cfg_agent;

typedef struct {
    int episodes; /* target total; --episodes overrides */
    uint64_t seed;
    int checkpoint_every; /* episodes */
    int keep_checkpoints; /* newest K periodic checkpoints kept; `best` is always kept */
    int eval_every;       /* episodes between greedy evaluations (0 = never) */
    int eval_episodes;
    /* At the curriculum's last stage an evaluation under this fraction of the best one
     * there puts the best one's weights back (0 = never): docs/design/learner.md. */
    double restore_below;
    double stop_grace_seconds; /* on SIGTERM: finish the episode if it ends within this */
    int progress_every;        /* episodes between progress.json rewrites */
} cfg_training;

/* What the curriculum advances on: the mean training survival over its window, or a
 * greedy evaluation at the stage's multiplier (what the agent can do without exploring). */
typedef enum { CFG_ADVANCE_TRAINING = 0, CFG_ADVANCE_GREEDY } cfg_advance_on;

typedef struct {
    bool enabled;
    int n_stages;
    double stages[CFG_MAX_STAGES]; /* decay multipliers: 0.2, 0.5, 0.8, 1.0 */
    int window;                    /* episodes averaged to decide */
    double advance_survival;       /* advance when mean steps/max_steps >= this */
    double retreat_survival;       /* retreat when mean steps/max_steps < this */
    int min_episodes;              /* at least this many episodes at a stage before moving */
    cfg_advance_on advance_on;
    int advance_eval_every;    /* greedy: episodes between checks at a stage */
    int advance_eval_episodes; /* greedy: episodes per check */
    bool restart_schedules;    /* epsilon and learning rate start over at every move */
    /* At the last stage: after this many episodes there (since arriving or the last
     * restart) with no evaluation there at advance_survival, the schedules start over
     * (0 = never; needs restart_schedules and restore_below's kept best). */
    int plateau_episodes;
    int plateau_reset_layers; /* ...and the last this many weight layers get fresh weights */
} cfg_curriculum;

/* The decay multiplier of curriculum stage `stage` (the last stage's past the end); 1.0
 * without a curriculum. The trainer's world and the replay's rebuilt observations use it. */
double cfg_stage_multiplier(const cfg_curriculum *c, int stage);

typedef struct {
    char host[256];
    int inference_port; /* 8766 */
    int frontend_port;  /* 5173 */
    bool open_browser;
    double health_check_timeout; /* seconds */
    int max_clients_per_job;
    int max_sessions;        /* inference sessions at once */
    int max_message_bytes;   /* largest WebSocket message accepted from a client */
    int history_limit;       /* episode records kept for late joiners (downsampled beyond) */
    int history_bytes;       /* ... and at most this many bytes of them */
    int client_queue_limit;  /* messages queued per browser before frames are dropped */
    char allowed_hosts[512]; /* more names the Host header may carry, comma-separated */
} cfg_server;

typedef enum { CFG_RESTART_NEVER = 0, CFG_RESTART_ON_FAILURE, CFG_RESTART_ALWAYS } cfg_restart;

enum { CFG_PROC_TRAINER = 0, CFG_PROC_SERVER, CFG_PROC_FRONTEND, CFG_NUM_PROCS };
extern const char *const cfg_process_names[CFG_NUM_PROCS]; /* "trainer", "server", ... */

typedef struct {
    int argc; /* 0 = the built-in command line */
    char argv[CFG_MAX_ARGS][CFG_ARG_MAX];
    int n_env; /* extra environment, "NAME=value" */
    char env[CFG_MAX_ENV][CFG_ARG_MAX];
    cfg_restart restart;
    int max_restarts;       /* within restart_window seconds, then the demo fails */
    double restart_window;  /* seconds */
    double backoff_initial; /* seconds, doubled per consecutive crash */
    double backoff_max;     /* seconds */
    double stop_timeout;    /* seconds between SIGTERM and SIGKILL to the group */
} cfg_process;

/* [cluster]: run_demo --backend slurm (docs/design/slurm.md). Empty strings and 0 leave the
 * choice to Slurm. */
typedef struct {
    char partition[64];
    char time_limit[32]; /* Slurm time: "90", "2:00:00", "1-00:00:00" */
    int cpus_per_trainer;
    char mem_per_trainer[32]; /* "4G" */
    char account[64];
    char qos[64];
    char sbatch_args[512];       /* further sbatch options, separated by spaces */
    int warn_seconds;            /* with a time limit: USR1 this long before it, then requeue */
    char server_host[256];       /* the server as the nodes reach it ("": the bind address) */
    char run_root[CFG_PATH_MAX]; /* shared by head and nodes ("": runs/) */
} cfg_cluster;

typedef struct {
    char name[CFG_NAME_MAX]; /* the file's stem ("level1"), "level1" for the built-ins */
    char path[CFG_PATH_MAX]; /* the file loaded, "" for the built-ins */
    cfg_environment environment;
    cfg_agent agent;
    cfg_training training;
    cfg_curriculum curriculum;
    cfg_server server;
    cfg_process processes[CFG_NUM_PROCS];
    cfg_cluster cluster;
} cfg_config;

/* Fills c with the built-in level 1 configuration (equal to configs/level1.toml). */
void cfg_defaults(cfg_config *c);

/* Loads TOML text over the defaults. `origin` names the text in errors ("configs/x.toml").
 * Returns 0, or -1 with one line in err: "origin:line:col: message". On error c holds the
 * defaults. */
int cfg_load_string(cfg_config *c, const char *text, size_t len, const char *origin, char *err,
                    size_t errlen);

/* Reads `path` and loads it as above; c->name becomes the file's stem, c->path the path. */
int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen);

/* Resolves a --config argument: a path that exists is used as is; a bare name like
 * "level1.toml" or "level1" is looked up in `configs_dir`. Returns 0 or -1 with err. */
int cfg_resolve_path(const char *arg, const char *configs_dir, char *out, size_t outlen, char *err,
                     size_t errlen);

/* Checks cross-field rules (affordances inside the grid, ports 1-65535, ...). Called by
 * the loaders; exposed for values set from the command line. 0 or -1 with err. */
int cfg_validate(const cfg_config *c, char *err, size_t errlen);

struct toml_value;

/* Sets one value by its dotted key as in a file ("agent.gamma", "processes.trainer.restart",
 * "environment.decay.energy") and validates the result: on any error c is unchanged and err
 * holds one line without a position — "unknown key 'gama' in [agent] (did you mean
 * 'gamma'?)", "wrong type for 'gamma' in [agent]: expected a number, found a string", "'gamma'
 * in [agent] must be between 0 and 1, got 1.5". Lists of tables (affordances, cascades)
 * cannot be set this way. cfg_set() reads the value as TOML ("0.99", "[64, 64]"); text that
 * is not one TOML value (hard, 127.0.0.1) is a string. 0 or -1. */
int cfg_set_value(cfg_config *c, const char *key, const struct toml_value *v, char *err,
                  size_t errlen);
int cfg_set(cfg_config *c, const char *key, const char *text, char *err, size_t errlen);

/* Parses text as exactly one TOML value. Returns the document (free it with toml_free)
 * with the value in *v, or NULL (and *v NULL) when text is not one TOML value. */
struct toml_value *cfg_parse_value(const char *text, const struct toml_value **v);

/* Writes c as a complete TOML document that cfg_load_string reads back to the same c. */
int cfg_write_toml(const cfg_config *c, FILE *f);

/* A hash of what makes weights and checkpoints meaningful: [environment] and [agent]
 * (network shape, reward). Checkpoints record it; resuming under another hash is refused. */
uint64_t cfg_hash(const cfg_config *c);

/* Flag over config, the rule of run_demo, the server and the trainer: a value given on the
 * command line wins over the config's, for this run only. `given` says whether the flag was
 * on the command line (each program has its own "not given" value: -1, 0, a bool). */
static inline int cfg_flag_int(bool given, int flag, int config) {
    return given ? flag : config;
}
static inline int64_t cfg_flag_i64(bool given, int64_t flag, int64_t config) {
    return given ? flag : config;
}
static inline uint64_t cfg_flag_u64(bool given, uint64_t flag, uint64_t config) {
    return given ? flag : config;
}
/* A string flag, NULL when not given; an empty config value means `fallback`. */
static inline const char *cfg_flag_str(const char *flag, const char *config, const char *fallback) {
    return flag ? flag : config[0] ? config : fallback;
}

/* Index of an affordance at (x, y), or -1. */
int cfg_affordance_at(const cfg_environment *e, int x, int y);

#endif
