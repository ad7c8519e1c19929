/* orchestrator/cli.h — run_demo's command line (prefix cli_), docs/design/processes.md §1.
 *
 * cli_parse() only parses: it checks each value's form (a number, a port, one of the
 * words) and reports the first bad flag in one line; what the values mean together
 * (ports free, the config loads, a run to resume exists) is checked by plan.h. */
#ifndef RD_ORCH_CLI_H
#define RD_ORCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CLI_FRONTEND_AUTO = 0,
    CLI_FRONTEND_DEV,
    CLI_FRONTEND_STATIC,
    CLI_FRONTEND_NONE
} cli_frontend;
#define CLI_MAX_SETS     40
#define CLI_MAX_PARALLEL 64

typedef enum { CLI_COLOR_AUTO = 0, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER } cli_color;

/* Where a sweep's trainers run: run_demo's children, or Slurm jobs (orchestrator/cluster.h).
 * DEFAULT: local, or what a continued sweep recorded. */
typedef enum { CLI_BACKEND_DEFAULT = 0, CLI_BACKEND_LOCAL, CLI_BACKEND_SLURM } cli_backend;

typedef struct {
    const char *config;         /* NULL: the built-in level 1 config */
    long episodes;              /* -1: from the config */
    const char *checkpoint_dir; /* NULL: a new run directory (or --resume) */
    bool resume;
    int port;          /* -1: [unified_server] inference_port */
    int frontend_port; /* -1: [unified_server] frontend_port */
    cli_frontend frontend;
    const char *host; /* NULL: [unified_server] host */
    bool no_browser;
    bool has_seed;
    uint64_t seed;
    cli_color color;
    bool exit_on_complete;
    bool help, version;
    /* Sweeps (orchestrator/sweep.h): several runs at once. */
    int runs;   /* --runs N: seeds seed..seed+N-1 (0: not given) */
    int n_sets; /* --set KEY=V1[,V2...], in order */
    const char *sets[CLI_MAX_SETS];
    const char *sweep_file;   /* --sweep FILE */
    int parallel;             /* --parallel P (0: cores - 1, at least 1) */
    cli_backend backend;      /* --backend local|slurm */
    const char *cancel_sweep; /* --cancel-sweep DIR: cancel its Slurm jobs, start nothing */
} cli_options;

/* Parses argv (pointers into it are kept). Returns 0, or -1 with one line in err that
 * names the flag ("--port: 'abc' is not a port (1-65535)"). */
int cli_parse(int argc, char **argv, cli_options *o, char *err, size_t errlen);

/* The --help text: every flag with its default. */
void cli_usage(FILE *f);

#endif
