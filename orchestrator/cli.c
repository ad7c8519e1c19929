/* orchestrator/cli.c — see cli.h. */
#include "orchestrator/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

enum {
    OPT_CONFIG = 256,
    OPT_EPISODES,
    OPT_CHECKPOINT_DIR,
    OPT_RESUME,
    OPT_PORT,
    OPT_FRONTEND_PORT,
    OPT_FRONTEND,
    OPT_HOST,
    OPT_NO_BROWSER,
    OPT_SEED,
    OPT_COLOR,
    OPT_EXIT_ON_COMPLETE,
    OPT_HELP,
    OPT_VERSION,
    OPT_RUNS,
    OPT_SET,
    OPT_SWEEP,
    OPT_PARALLEL,
    OPT_BACKEND,
    OPT_CANCEL_SWEEP,
};

static const struct option cli_longopts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"episodes", required_argument, NULL, OPT_EPISODES},
    {"checkpoint-dir", required_argument, NULL, OPT_CHECKPOINT_DIR},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"port", required_argument, NULL, OPT_PORT},
    {"frontend-port", required_argument, NULL, OPT_FRONTEND_PORT},
    {"frontend", required_argument, NULL, OPT_FRONTEND},
    {"host", required_argument, NULL, OPT_HOST},
    {"no-browser", no_argument, NULL, OPT_NO_BROWSER},
    {"seed", required_argument, NULL, OPT_SEED},
    {"color", required_argument, NULL, OPT_COLOR},
    {"exit-on-complete", no_argument, NULL, OPT_EXIT_ON_COMPLETE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"set", required_argument, NULL, OPT_SET},
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"cancel-sweep", required_argument, NULL, OPT_CANCEL_SWEEP},
    {NULL, 0, NULL, 0},
};

void cli_usage(FILE *f) {
    fputs("usage: run_demo [OPTION]...\n"
          "Starts the trainer, the server and the web frontend, watches them, and stops them\n"
          "in order on Ctrl+C (the trainer writes a checkpoint first).\n"
          "\n"
          "  --config FILE            level config; a bare name (level1.toml) is looked up in\n"
          "                           configs/ (default: the built-in level 1 config)\n"
          "  --episodes N             target total episodes; a resumed run continues to N\n"
          "                           (default: [training] episodes, 10000)\n"
          "  --checkpoint-dir DIR     resume from and write checkpoints to DIR; a run's\n"
          "                           checkpoints/ folder means that run (default: a new run\n"
          "                           directory runs/<config>/<YYYY-MM-DD_HHMMSS>/)\n"
          "  --resume                 continue the newest run of this config (default: off)\n"
          "  --port N                 server port (default: [unified_server] inference_port,\n"
          "                           8766)\n"
          "  --frontend-port N        Vite dev server port (default: [unified_server]\n"
          "                           frontend_port, 5173)\n"
          "  --frontend dev|static|none\n"
          "                           dev: Vite with hot reload (needs npm and\n"
          "                           frontend/node_modules); static: the server serves\n"
          "                           frontend/dist on its own port; none: no UI (default: dev\n"
          "                           when frontend/node_modules exists, else static when\n"
          "                           frontend/dist exists, else none)\n"
          "  --host ADDR              bind address (default: [unified_server] host, 127.0.0.1)\n"
          "  --no-browser             print the URL, do not open a browser (default: open it\n"
          "                           when [unified_server] open_browser and a display exist)\n"
          "  --seed N                 random seed (default: [training] seed, 42)\n"
          "  --color auto|always|never\n"
          "                           coloured output (default: auto: a terminal, unless\n"
          "                           NO_COLOR; FORCE_COLOR forces it)\n"
          "  --exit-on-complete       exit 0 when the episodes are done (default: stay up for\n"
          "                           viewing until Ctrl+C)\n"
          "  --runs N                 N runs of the config with seeds seed, seed+1, ... (a\n"
          "                           sweep; default: 1, a single run)\n"
          "  --set SECTION.KEY=V[,V...]\n"
          "                           override a config value (agent.gamma=0.99); several\n"
          "                           values make an axis, several --set a grid of every\n"
          "                           combination (default: none)\n"
          "  --sweep FILE             the grid, seeds and base config from a TOML file\n"
          "                           (docs/design/sweeps.md; default: none)\n"
          "  --parallel P             trainers at once in a sweep; the rest wait (default:\n"
          "                           cores - 1, at least 1)\n"
          "  --backend local|slurm    where a sweep's trainers run: local: children of\n"
          "                           run_demo; slurm: one Slurm job array, configured by\n"
          "                           [cluster] (docs/design/slurm.md; default: local, or the\n"
          "                           backend a continued sweep recorded)\n"
          "  --cancel-sweep DIR       stop the Slurm jobs of the sweep in DIR (each trainer\n"
          "                           writes its checkpoint), start nothing, and exit\n"
          "  --help                   this text\n"
          "  --version                the version\n"
          "\n"
          "Exit status: 0 clean finish; 1 a child failed beyond its restart policy or was not\n"
          "healthy in time; 2 usage or configuration error (nothing started); 129/130/143\n"
          "after SIGHUP/SIGINT/SIGTERM.\n"
          "\n"
          "Examples:\n"
          "  ./run_demo --config level1.toml --episodes 3000\n"
          "      train level 1 for 3000 episodes; the page opens in a browser to watch it\n"
          "  ./run_demo --resume --config level1.toml --episodes 5000\n"
          "      continue the newest level-1 run up to 5000 episodes (at exit run_demo prints\n"
          "      the exact command that resumes its own run)\n"
          "  ./run_demo --config level2.toml --seed 7 --no-browser --exit-on-complete\n"
          "      a level-2 run with seed 7, no browser, exiting when its episodes are done\n",
          f);
    /* Sweep examples: one block (other examples are added beside it, not inside it). */
    fputs("\n"
          "Sweeps: one directory runs/<config>/<time>/ with one run directory per grid point\n"
          "(seed=43, agent.gamma=0.99,seed=43) and sweep.toml, the grid and each run's state.\n"
          "  run_demo --runs 4 --episodes 2000 --parallel 2\n"
          "      four seeds (42..45) of level 1, two trainers at a time\n"
          "  run_demo --config level2 --set agent.gamma=0.99,0.995 --runs 3\n"
          "      six runs: each gamma with three seeds; --resume continues the newest sweep\n"
          "  run_demo --backend slurm --runs 16 --parallel 8\n"
          "      sixteen seeds as one Slurm job array, eight at a time, watched in the same page;\n"
          "      Ctrl+C stops them all, --resume reattaches after a lost session\n",
          f);
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* One option c with its value arg into o: 0, -1 with err (a bad value), or 1 when c is not
 * an option of ours (the caller names it as written). */
static int take_option(int c, const char *arg, cli_options *o, char *err, size_t errlen) {
    long v;
    switch (c) {
        case OPT_CONFIG:
            o->config = arg;
            break;
        case OPT_EPISODES:
            if (parse_long(arg, 1, 1000000000L, &v))
                return err_set(err, errlen, "--episodes: '%s' is not a positive whole number", arg);
            o->episodes = v;
            break;
        case OPT_CHECKPOINT_DIR:
            if (!*arg) return err_set(err, errlen, "--checkpoint-dir: empty path");
            o->checkpoint_dir = arg;
            break;
        case OPT_RESUME:
            o->resume = true;
            break;
        case OPT_PORT:
        case OPT_FRONTEND_PORT:
            if (parse_long(arg, 1, 65535, &v))
                return err_set(err, errlen, "%s: '%s' is not a port (1-65535)",
                               c == OPT_PORT ? "--port" : "--frontend-port", arg);
            if (c == OPT_PORT)
                o->port = (int)v;
            else
                o->frontend_port = (int)v;
            break;
        case OPT_FRONTEND:
            if (!strcmp(arg, "dev"))
                o->frontend = CLI_FRONTEND_DEV;
            else if (!strcmp(arg, "static"))
                o->frontend = CLI_FRONTEND_STATIC;
            else if (!strcmp(arg, "none"))
                o->frontend = CLI_FRONTEND_NONE;
            else
                return err_set(err, errlen, "--frontend: '%s' is not dev, static or none", arg);
            break;
        case OPT_HOST:
            if (!*arg || strlen(arg) >= 256)
                return err_set(err, errlen, "--host: '%s' is not an address", arg);
            o->host = arg;
            break;
        case OPT_NO_BROWSER:
            o->no_browser = true;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(arg, &end, 10);
            if (errno || end == arg || *end || arg[0] == '-')
                return err_set(err, errlen, "--seed: '%s' is not a whole number >= 0", arg);
            o->has_seed = true;
            o->seed = s;
            break;
        }
        case OPT_COLOR:
            if (!strcmp(arg, "auto"))
                o->color = CLI_COLOR_AUTO;
            else if (!strcmp(arg, "always"))
                o->color = CLI_COLOR_ALWAYS;
            else if (!strcmp(arg, "never"))
                o->color = CLI_COLOR_NEVER;
            else
                return err_set(err, errlen, "--color: '%s' is not auto, always or never", arg);
            break;
        case OPT_EXIT_ON_COMPLETE:
            o->exit_on_complete = true;
            break;
        case OPT_HELP:
            o->help = true;
            break;
        case OPT_VERSION:
            o->version = true;
            break;
        case OPT_RUNS:
            if (parse_long(arg, 1, 64, &v))
                return err_set(err, errlen, "--runs: '%s' is not a whole number 1-64", arg);
            o->runs = (int)v;
            break;
        case OPT_SET:
            if (o->n_sets >= CLI_MAX_SETS)
                return err_set(err, errlen, "--set: more than %d", CLI_MAX_SETS);
            if (!strchr(arg, '='))
                return err_set(err, errlen, "--set %s: expected SECTION.KEY=VALUE[,VALUE...]", arg);
            o->sets[o->n_sets++] = arg;
            break;
        case OPT_SWEEP:
            if (!*arg) return err_set(err, errlen, "--sweep: empty path");
            o->sweep_file = arg;
            break;
        case OPT_PARALLEL:
            if (parse_long(arg, 1, CLI_MAX_PARALLEL, &v))
                return err_set(err, errlen, "--parallel: '%s' is not a whole number 1-%d", arg,
                               CLI_MAX_PARALLEL);
            o->parallel = (int)v;
            break;
        case OPT_BACKEND:
            if (!strcmp(arg, "local"))
                o->backend = CLI_BACKEND_LOCAL;
            else if (!strcmp(arg, "slurm"))
                o->backend = CLI_BACKEND_SLURM;
            else
                return err_set(err, errlen, "--backend: '%s' is not local or slurm", arg);
            break;
        case OPT_CANCEL_SWEEP:
            if (!*arg) return err_set(err, errlen, "--cancel-sweep: empty path");
            o->cancel_sweep = arg;
            break;
        default:
            return 1;
    }
    return 0;
}

/* Options that do not go together, once all are read. */
static int check_combinations(int argc, char **argv, const cli_options *o, char *err,
                              size_t errlen) {
    if (optind < argc)
        return err_set(err, errlen, "%s: unexpected argument (options start with --; see --help)",
                       argv[optind]);
    if (o->cancel_sweep && argc > 3)
        return err_set(err, errlen, "--cancel-sweep: takes no other option");
    if (o->resume && o->checkpoint_dir)
        return err_set(err, errlen, "--resume: cannot be combined with --checkpoint-dir");
    if (o->resume && (o->runs || o->n_sets || o->sweep_file))
        return err_set(err, errlen,
                       "--resume: cannot be combined with %s (a sweep's grid is in its "
                       "sweep.toml)",
                       o->runs     ? "--runs"
                       : o->n_sets ? "--set"
                                   : "--sweep");
    return 0;
}

int cli_parse(int argc, char **argv, cli_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    o->episodes = -1;
    o->port = -1;
    o->frontend_port = -1;
    optind = 1;
    opterr = 0; /* our own one-line messages */
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, ":", cli_longopts, NULL);
        if (c == -1) break;
        if (c == ':') return err_set(err, errlen, "%s: needs a value", argv[prev]);
        int rc = take_option(c, optarg, o, err, errlen);
        if (rc < 0) return -1;
        if (rc > 0) {
            const char *bad = prev < argc ? argv[prev] : "?";
            return err_set(err, errlen, "%s: unknown option (see run_demo --help)", bad);
        }
    }
    return check_combinations(argc, argv, o, err, errlen);
}
