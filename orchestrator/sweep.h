/* orchestrator/sweep.h — many runs of one config: the grid, its run names, its file
 * (prefix sweep_). docs/design/sweeps.md describes the formats.
 *
 * A sweep is built from `--set KEY=V1[,V2...]` (one value: a plain override of every run;
 * several: an axis of the grid), `--runs N` (an axis of seeds seed..seed+N-1) or a
 * `--sweep FILE` holding the same in TOML. sweep_expand() checks every value against the
 * config schema (cfg_set_value: unknown key with a suggestion, wrong type, out of range) and
 * every grid point as a whole, and names each run from its axis values
 * ("agent.gamma=0.99,seed=43"). Nothing here starts a process or writes a file except
 * sweep_write_file().
 *
 * Values are kept as TOML text ("0.99", "[64, 64]", "\"hard\""), so that a value reads the
 * same from the command line, from a sweep file and from the sweep's own sweep.toml. */
#ifndef RD_ORCH_SWEEP_H
#define RD_ORCH_SWEEP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"

#define SWEEP_MAX_AXES   8
#define SWEEP_MAX_VALUES 64
#define SWEEP_MAX_FIXED  32
#define SWEEP_MAX_RUNS   256
#define SWEEP_KEY_MAX    96
#define SWEEP_VALUE_MAX  256
#define SWEEP_NAME_MAX   200 /* a directory name, a job id (PROTOCOL §4.1) */
#define SWEEP_FILE_NAME  "sweep.toml"
#define SWEEP_SEED_KEY   "training.seed"

typedef struct {
    char key[SWEEP_KEY_MAX]; /* "agent.gamma" */
    int n;
    char values[SWEEP_MAX_VALUES][SWEEP_VALUE_MAX]; /* TOML text */
} sweep_axis;

typedef enum {
    SWEEP_QUEUED = 0, /* not started yet */
    SWEEP_RUNNING,    /* its trainer runs (or ran when run_demo vanished) */
    SWEEP_DONE,       /* reached its episodes */
    SWEEP_FAILED,     /* its trainer failed beyond the restart policy */
    SWEEP_STOPPED     /* stopped by a signal: resumes from its checkpoint */
} sweep_state;
extern const char *const sweep_state_names[5]; /* "queued", "running", ... */

typedef struct {
    char name[SWEEP_NAME_MAX + 1]; /* its directory in the sweep directory and its job id */
    int idx[SWEEP_MAX_AXES];       /* value index on each axis */
    sweep_state state;
    int restarts;
    long episodes; /* its target (trainer --episodes) */
} sweep_run;

typedef struct {
    int n_fixed;
    char fixed_key[SWEEP_MAX_FIXED][SWEEP_KEY_MAX];
    char fixed_val[SWEEP_MAX_FIXED][SWEEP_VALUE_MAX];
    int n_axes; /* the seed axis, when there is one, is last */
    sweep_axis axes[SWEEP_MAX_AXES];
    int n_seeds;           /* --runs N / seeds = N: an axis of N seeds from the base's */
    bool seeds_explicit;   /* seeds = [..] in a file: already an axis */
    char config[PATH_MAX]; /* from a sweep file: its `config` ("" = none) */
    long episodes;         /* from a sweep file (0 = none) */
    int parallel;          /* from a sweep file (0 = none) */
    int n_runs;            /* after sweep_expand */
    sweep_run runs[SWEEP_MAX_RUNS];
} sweep_spec;

void sweep_init(sweep_spec *s);

/* One --set argument "KEY=V1[,V2...]" (commas inside [...], {...} or quotes do not split).
 * The key is checked now (unknown → suggestion); values by sweep_expand. 0 or -1 + err
 * ("--set agent.gama=0.9: unknown key 'gama' in [agent] (did you mean 'gamma'?)"). */
int sweep_add_set(sweep_spec *s, const char *arg, char *err, size_t errlen);

/* Reads a sweep file (docs/design/sweeps.md): config, episodes, parallel, seeds, [set],
 * [axes]. Errors are "FILE:LINE:COL: message". 0 or -1 + err. */
int sweep_load_file(sweep_spec *s, const char *path, char *err, size_t errlen);

/* Whether this is a sweep (several runs) rather than one run with overrides. */
bool sweep_is_grid(const sweep_spec *s);

/* Adds the seed axis (when n_seeds > 1), checks every value and every grid point against
 * base, and names the runs (all queued). 0 or -1 + err, which names the --set or the file. */
int sweep_expand(sweep_spec *s, const cfg_config *base, const char *origin, char *err,
                 size_t errlen);

/* base with the fixed overrides and run i's axis values (run -1: the fixed ones only). */
int sweep_config(const sweep_spec *s, const cfg_config *base, int run, cfg_config *out, char *err,
                 size_t errlen);

/* Writes dir/sweep.toml atomically (temporary file + rename): the grid and each run's
 * state. config_path "" = the built-in config. 0 or -1 (errno). */
int sweep_write_file(const sweep_spec *s, const char *dir, const char *config_path,
                     const char *created, long episodes, int parallel);

/* Reads dir/sweep.toml written by sweep_write_file into s (grid, runs and their states);
 * *config_path gets its config ("" built-in), *episodes its episodes. 0 or -1 + err. */
int sweep_read_state(sweep_spec *s, const char *dir, char *config_path, size_t pathlen,
                     long *episodes, char *err, size_t errlen);

#endif
