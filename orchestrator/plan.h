/* orchestrator/plan.h — everything run_demo decides before it starts a process (prefix
 * plan_).
 *
 * plan_build() turns the command line into a complete plan — the config, the ports, the
 * frontend mode, the run directory, each child's command line, environment and restart
 * policy — and checks everything that can be checked up front (docs/design/processes.md §4: config
 * loads, ports free, npm present for `dev`, the run directory writable, a run to resume). It starts
 * nothing and writes nothing; a failure is one line in err and means exit 2. plan_create_run_dir()
 * then makes the run directory. */
#ifndef RD_ORCH_PLAN_H
#define RD_ORCH_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/cfg.h"
#include "orchestrator/cli.h"
#include "orchestrator/sweep.h"

#define PLAN_MAX_ARGS (CFG_MAX_ARGS + 16)
#define PLAN_MAX_ENV  (CFG_MAX_ENV + 16)
#define PLAN_STR_MAX  (PATH_MAX + 64)

typedef struct {
    bool enabled;
    const char *name;  /* "trainer", "server", "frontend" (cfg_process_names) */
    const char *label; /* "Training", "Server", "Frontend" */
    int colour;        /* LOGMUX_* */
    int argc;
    char argv[PLAN_MAX_ARGS][PLAN_STR_MAX];
    int n_env; /* added to (or replacing in) run_demo's environment */
    char env[PLAN_MAX_ENV][PLAN_STR_MAX];
    char cwd[PATH_MAX]; /* "" = run_demo's */
    cfg_process policy;
    int health_port;      /* 0: healthy once started */
    char health_path[64]; /* "/healthz", "/" */
} plan_child;

typedef struct {
    char root[PATH_MAX];   /* the repository: configs/, frontend/, runs/ */
    char bindir[PATH_MAX]; /* run_demo's own directory: trainer, server, rd_exec */
    char runs_dir[PATH_MAX];
    char config_path[PATH_MAX]; /* "" for the built-in config */
    cfg_config cfg;
    cli_frontend frontend;  /* resolved: never AUTO */
    char host[256];         /* bind address */
    char connect_host[256]; /* where to reach it: 127.0.0.1 for 0.0.0.0 */
    int port, frontend_port;
    long episodes;
    bool has_seed;
    unsigned long long seed;
    char run_dir[PATH_MAX];
    bool run_dir_exists; /* --resume or an existing --checkpoint-dir */
    bool open_browser;
    bool exit_on_complete;
    int color_mode;        /* 0 auto, 1 always, 2 never */
    char token[40];        /* RD_TRAINER_TOKEN: the trainer's key to /ws/trainer */
    char access_token[40]; /* off loopback: the browsers' token (server --token), "" else */
    char url[512];         /* what the user opens */
    plan_child child[CFG_NUM_PROCS];
    /* A sweep (orchestrator/sweep.h): run_dir is the sweep directory, which holds
     * sweep.toml and one run directory per run; the trainer's child above is run 0's, a
     * template — orch starts up to `parallel` trainers with plan_trainer_for_run(). */
    bool is_sweep;
    bool sweep_resumed; /* continuing the sweep.toml found in run_dir */
    bool fresh_stamp;   /* run_dir is a new runs/<config>/<stamp>/ */
    int parallel;
    char set_config[PATH_MAX]; /* a single run with --set: its resolved config, "" else */
    sweep_spec sweep;
} plan_t;

/* Fills p (a large struct: allocate it, do not put it on a small stack). 0 or -1 + err. */
int plan_build(plan_t *p, const cli_options *o, char *err, size_t errlen);

/* Creates the run directory (and its parents) and checks that it is writable. */
int plan_create_run_dir(plan_t *p, char *err, size_t errlen);

/* Run `run` of a sweep: its directory (run_dir/<name>) and its trainer's command line
 * (--config <its dir>/config.toml --job <name>, label = its name). */
void plan_run_dir(const plan_t *p, int run, char *out, size_t outlen);
void plan_trainer_for_run(const plan_t *p, int run, plan_child *out);

/* Rewrites run_dir/sweep.toml from p->sweep (the runs' states). 0 or -1 (errno). */
int plan_save_sweep(const plan_t *p);

/* The newest run directory under runs_dir/<name>/ into out. 0, or -1 when there is none. */
int plan_find_latest_run(const char *runs_dir, const char *name, char *out, size_t outlen);

#endif
