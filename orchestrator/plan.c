/* orchestrator/plan.c — see plan.h. */
#include "orchestrator/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/fs.h"
#include "orchestrator/logmux.h"
#include "orchestrator/ports.h"
#include "orchestrator/slurm.h"
#include "orchestrator/sweep.h"

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds an executable `name` in $PATH. */
static bool in_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return false;
    char buf[PATH_MAX];
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + strlen(name) + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
            if (access(buf, X_OK) == 0) return true;
        }
        path += n + (path[n] == ':');
    }
    return false;
}

/* bindir = the directory of /proc/self/exe; root = its grandparent when that holds configs/
 * or CMakeLists.txt (build/bin/run_demo), else the source directory compiled in. */
static void find_dirs(plan_t *p) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(p->bindir, sizeof p->bindir, "%s", dirname(exe));
    } else {
        snprintf(p->bindir, sizeof p->bindir, "%s", RD_BIN_DIR);
    }
    char tmp[PATH_MAX], probe[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s", p->bindir);
    char *build = dirname(tmp);
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", build);
    snprintf(root, sizeof root, "%s", dirname(root));
    snprintf(probe, sizeof probe, "%s/CMakeLists.txt", root);
    if (is_file(probe))
        snprintf(p->root, sizeof p->root, "%s", root);
    else
        snprintf(p->root, sizeof p->root, "%s", RD_SOURCE_DIR);
    const char *runs = getenv("RD_RUNS_DIR");
    if (runs && *runs)
        snprintf(p->runs_dir, sizeof p->runs_dir, "%s", runs);
    else
        snprintf(p->runs_dir, sizeof p->runs_dir, "%.*s/runs", PATH_MAX - 8, p->root);
}

int plan_find_latest_run(const char *runs_dir, const char *name, char *out, size_t outlen) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", runs_dir, name);
    DIR *d = opendir(dir);
    if (!d) return -1;
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        /* YYYY-MM-DD_HHMMSS[...]: names sort by time. */
        const char *s = de->d_name;
        if (strlen(s) < 17 || s[4] != '-' || s[7] != '-' || s[10] != '_') continue;
        char full[PATH_MAX + 300];
        snprintf(full, sizeof full, "%s/%s", dir, s);
        if (!is_dir(full)) continue;
        if (strcmp(s, best) > 0) snprintf(best, sizeof best, "%s", s);
    }
    closedir(d);
    if (!best[0]) return -1;
    snprintf(out, outlen, "%s/%s", dir, best);
    return 0;
}

static void set_arg(plan_child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_arg(plan_child *c, const char *fmt, ...) {
    if (c->argc >= PLAN_MAX_ARGS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->argv[c->argc++], PLAN_STR_MAX, fmt, ap);
    va_end(ap);
}

static void set_env(plan_child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_env(plan_child *c, const char *fmt, ...) {
    if (c->n_env >= PLAN_MAX_ENV) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->env[c->n_env++], PLAN_STR_MAX, fmt, ap);
    va_end(ap);
}

/* What differs between the runs of a sweep: each trainer's config, run directory,
 * episodes and seed. */
typedef struct {
    const char *config; /* "" = the built-in config */
    const char *run_dir;
    long episodes;
    unsigned long long seed;
    const char *job; /* trainer --job (a sweep's run name), NULL for a single run */
} run_vars;

/* Expands {bindir} {root} {config} {run_dir} {host} {port} {frontend_port} {episodes}
 * {seed} in a configured command line, so that [processes.*] command can name our values
 * without repeating them. */
static void expand(const plan_t *p, const run_vars *rv, const char *in, char *out, size_t outlen) {
    char num[32];
    size_t o = 0;
    while (*in && o + 1 < outlen) {
        const char *val = NULL;
        size_t skip = 0;
        if (*in == '{') {
            static const char *const keys[] = {"{bindir}",        "{root}",     "{config}",
                                               "{run_dir}",       "{host}",     "{port}",
                                               "{frontend_port}", "{episodes}", "{seed}"};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                size_t kl = strlen(keys[k]);
                if (strncmp(in, keys[k], kl) != 0) continue;
                skip = kl;
                switch (k) {
                    case 0:
                        val = p->bindir;
                        break;
                    case 1:
                        val = p->root;
                        break;
                    case 2:
                        val = rv->config;
                        break;
                    case 3:
                        val = rv->run_dir;
                        break;
                    case 4:
                        val = p->connect_host;
                        break;
                    case 5:
                        snprintf(num, sizeof num, "%d", p->port);
                        val = num;
                        break;
                    case 6:
                        snprintf(num, sizeof num, "%d", p->frontend_port);
                        val = num;
                        break;
                    case 7:
                        snprintf(num, sizeof num, "%ld", rv->episodes);
                        val = num;
                        break;
                    default:
                        snprintf(num, sizeof num, "%llu", rv->seed);
                        val = num;
                }
                break;
            }
        }
        if (val) {
            int k = snprintf(out + o, outlen - o, "%s", val);
            o += (k > 0) ? (size_t)k : 0;
            if (o >= outlen) o = outlen - 1;
            in += skip;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

static const char *const child_labels[CFG_NUM_PROCS] = {"Training", "Server", "Frontend"};
static const int child_colours[CFG_NUM_PROCS] = {LOGMUX_CYAN, LOGMUX_MAGENTA, LOGMUX_GREEN};

/* The parts every child shares: name, label, policy; after its own command line, the
 * config's (when it names one) and the environment. */
static void child_head(const plan_t *p, int i, plan_child *c) {
    memset(c, 0, sizeof *c);
    c->name = cfg_process_names[i];
    c->label = child_labels[i];
    c->colour = child_colours[i];
    c->policy = p->cfg.processes[i];
    c->enabled = i != CFG_PROC_FRONTEND || p->frontend == CLI_FRONTEND_DEV;
}

static void child_tail(const plan_t *p, int i, const run_vars *rv, plan_child *c) {
    const cfg_process *cp = &p->cfg.processes[i];
    if (cp->argc > 0) { /* the config's command line replaces ours */
        c->argc = 0;
        for (int a = 0; a < cp->argc && a < CFG_MAX_ARGS; a++)
            expand(p, rv, cp->argv[a], c->argv[c->argc++], PLAN_STR_MAX);
    }
    set_env(c, "RD_TRAINER_TOKEN=%s", p->token);
    set_env(c, "RD_SERVER_PORT=%d", p->port);
    set_env(c, "RD_SERVER_HOST=%s", p->connect_host);
    set_env(c, "RD_FRONTEND_PORT=%d", p->frontend_port);
    set_env(c, "RD_RUN_DIR=%s", rv->run_dir);
    /* Children's colour codes would reach the terminal neutralised (^[[32m): ask for
     * none. NO_COLOR is honoured by Vite and most Node tools. */
    set_env(c, "NO_COLOR=1");
    set_env(c, "FORCE_COLOR=0");
    for (int e = 0; e < cp->n_env; e++) expand(p, rv, cp->env[e], c->env[c->n_env++], PLAN_STR_MAX);
}

static void build_trainer(const plan_t *p, const run_vars *rv, bool has_seed, plan_child *t) {
    child_head(p, CFG_PROC_TRAINER, t);
    set_arg(t, "%s/trainer", p->bindir);
    if (rv->config[0]) {
        set_arg(t, "--config");
        set_arg(t, "%s", rv->config);
    }
    set_arg(t, "--run-dir");
    set_arg(t, "%s", rv->run_dir);
    set_arg(t, "--episodes");
    set_arg(t, "%ld", rv->episodes);
    if (has_seed) {
        set_arg(t, "--seed");
        set_arg(t, "%llu", rv->seed);
    }
    set_arg(t, "--server");
    set_arg(t, "ws://%s:%d/ws/trainer", p->connect_host, p->port);
    if (rv->job) {
        set_arg(t, "--job");
        set_arg(t, "%s", rv->job);
    }
    child_tail(p, CFG_PROC_TRAINER, rv, t);
}

void plan_run_dir(const plan_t *p, int run, char *out, size_t outlen) {
    snprintf(out, outlen, "%.*s/%s", PATH_MAX - SWEEP_NAME_MAX - 8, p->run_dir,
             p->sweep.runs[run].name);
}

void plan_trainer_for_run(const plan_t *p, int run, plan_child *out) {
    char dir[PATH_MAX], config[PATH_MAX + 16];
    plan_run_dir(p, run, dir, sizeof dir);
    snprintf(config, sizeof config, "%.*s/config.toml", PATH_MAX - 16, dir);
    /* The run's own config.toml holds its seed and every override. */
    run_vars rv = {config, dir, p->sweep.runs[run].episodes, p->seed, p->sweep.runs[run].name};
    build_trainer(p, &rv, false, out);
    out->label = p->sweep.runs[run].name;
}

/* The command lines of the process contract (docs/design/processes.md §2), or the config's. */
static void build_children(plan_t *p) {
    const char *config = p->set_config[0] ? p->set_config : p->config_path;
    run_vars rv = {config, p->run_dir, p->episodes,
                   p->has_seed ? p->seed : (unsigned long long)p->cfg.training.seed, NULL};
    if (p->is_sweep) {
        /* The template of every run's trainer (orch fills slots with plan_trainer_for_run). */
        plan_trainer_for_run(p, 0, &p->child[CFG_PROC_TRAINER]);
    } else {
        build_trainer(p, &rv, p->has_seed, &p->child[CFG_PROC_TRAINER]);
    }

    plan_child *s = &p->child[CFG_PROC_SERVER];
    child_head(p, CFG_PROC_SERVER, s);
    set_arg(s, "%s/server", p->bindir);
    if (config[0]) {
        set_arg(s, "--config");
        set_arg(s, "%s", config);
    }
    set_arg(s, "--run-dir");
    set_arg(s, "%s", p->run_dir);
    set_arg(s, "--runs-root=%s", p->runs_dir); /* past runs, listed read-only */
    set_arg(s, "--port");
    set_arg(s, "%d", p->port);
    set_arg(s, "--host");
    set_arg(s, "%s", p->host);
    set_arg(s, "--frontend-port"); /* the dev frontend's origin is allowed on /ws */
    set_arg(s, "%d", p->frontend_port);
    /* The access token goes in the server's environment, never on its command line:
     * /proc/PID/cmdline (ps) is readable by every local user. */
    if (p->access_token[0]) set_env(s, "RD_ACCESS_TOKEN=%s", p->access_token);
    if (p->frontend == CLI_FRONTEND_STATIC) {
        set_arg(s, "--static");
        set_arg(s, "%s/frontend/dist", p->root);
    }
    s->health_port = p->port;
    snprintf(s->health_path, sizeof s->health_path, "/healthz");
    child_tail(p, CFG_PROC_SERVER, &rv, s);

    plan_child *f = &p->child[CFG_PROC_FRONTEND];
    child_head(p, CFG_PROC_FRONTEND, f);
    set_arg(f, "npm");
    set_arg(f, "run");
    set_arg(f, "dev");
    set_arg(f, "--");
    set_arg(f, "--port");
    set_arg(f, "%d", p->frontend_port);
    set_arg(f, "--strictPort");
    set_arg(f, "--host");
    set_arg(f, "%s", p->host);
    snprintf(f->cwd, sizeof f->cwd, "%.*s/frontend", PATH_MAX - 16, p->root);
    f->health_port = p->frontend_port;
    snprintf(f->health_path, sizeof f->health_path, "/");
    child_tail(p, CFG_PROC_FRONTEND, &rv, f);
}

/* 128 random bits as 32 hex digits. */
static int random_hex(char out[40]) {
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return -1;
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    return 0;
}

static int check_port(const plan_t *p, int port, const char *flag, char *err, size_t errlen) {
    int rc = ports_check(p->host, port);
    if (rc == 0) return 0;
    if (rc == -EINVAL)
        return err_set(err, errlen, "--host: '%s' is not an IP address on this machine", p->host);
    if (rc == -EADDRNOTAVAIL)
        return err_set(err, errlen, "--host: %s is not an address of this machine", p->host);
    if (rc == -EACCES)
        return err_set(err, errlen, "port %d on %s needs privileges; choose another with %s N",
                       port, p->host, flag);
    char holder[128];
    ports_holder(port, holder, sizeof holder);
    return err_set(err, errlen,
                   "port %d on %s is in use by %s; stop it or choose another with %s N", port,
                   p->host, holder, flag);
}

/* Can we create files in dir (or, when it does not exist yet, in its nearest parent)? */
static int check_writable(const char *dir, char *err, size_t errlen) {
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s", dir);
    while (!is_dir(probe)) {
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe) {
            snprintf(probe, sizeof probe, "%s", slash == probe ? "/" : ".");
            break;
        }
        *slash = '\0';
    }
    if (access(probe, W_OK | X_OK) != 0)
        return err_set(err, errlen, "run directory %s: %s is not writable (%s)", dir, probe,
                       strerror(errno));
    return 0;
}

/* An axis over what the whole sweep shares (one server, one frontend) cannot vary. */
static bool shared_key(const char *key) {
    return !strncmp(key, "unified_server.", 15) || !strncmp(key, "processes.server.", 17) ||
           !strncmp(key, "processes.frontend.", 19) || !strncmp(key, "cluster.", 8);
}

/* Checks the overrides and the grid against the config (exit 2 on any error) and applies
 * the plain overrides to p->cfg, which the server and the policies then use. */
static int sweep_expand_plan(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    sweep_spec *sw = &p->sweep;
    if (!sw->n_fixed && !sw->n_axes && sw->n_seeds <= 1) return 0;
    const char *origin = o->sweep_file ? o->sweep_file : "--set";
    if (sweep_expand(sw, &p->cfg, origin, err, errlen) != 0) return -1;
    for (int a = 0; a < sw->n_axes; a++)
        if (shared_key(sw->axes[a].key))
            return err_set(err, errlen,
                           "%s %s: the sweep shares one server and frontend: give [%.*s] one "
                           "value",
                           origin, sw->axes[a].key,
                           (int)(strrchr(sw->axes[a].key, '.') - sw->axes[a].key), sw->axes[a].key);
    cfg_config *fixed = malloc(sizeof *fixed);
    if (!fixed) return err_set(err, errlen, "out of memory");
    int rc = sweep_config(sw, &p->cfg, -1, fixed, err, errlen);
    if (rc == 0) p->cfg = *fixed;
    free(fixed);
    p->is_sweep = rc == 0 && sweep_is_grid(sw);
    return rc;
}

/* Each run's episodes: --episodes or the sweep file's, else its own config's. */
static int sweep_episodes(plan_t *p, const cli_options *o, const cfg_config *base, char *err,
                          size_t errlen) {
    long explicit_eps = o->episodes > 0 ? o->episodes : p->sweep.episodes;
    cfg_config *c = malloc(sizeof *c);
    if (!c) return err_set(err, errlen, "out of memory");
    int rc = 0;
    for (int r = 0; r < p->sweep.n_runs && rc == 0; r++) {
        rc = sweep_config(&p->sweep, base, r, c, err, errlen);
        p->sweep.runs[r].episodes = explicit_eps > 0 ? explicit_eps : c->training.episodes;
    }
    free(c);
    return rc;
}

/* The sweep directory: a new grid, or the sweep.toml of the one being continued (--resume,
 * or --checkpoint-dir naming a sweep directory). A single run with overrides gets its
 * resolved config as run_dir/config.set.toml. */
static int plan_sweep_dir(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    char state[PATH_MAX + 32];
    snprintf(state, sizeof state, "%.*s/%s", PATH_MAX - 16, p->run_dir, SWEEP_FILE_NAME);
    bool have_state = !p->fresh_stamp && is_file(state);
    if (have_state && (o->runs || o->n_sets || o->sweep_file))
        return err_set(err, errlen,
                       "%s already holds a sweep: continue it with --checkpoint-dir %s alone "
                       "(its grid is in %s), or give another directory",
                       p->run_dir, p->run_dir, SWEEP_FILE_NAME);
    if (have_state) {
        char cfgp[PATH_MAX];
        long eps;
        if (sweep_read_state(&p->sweep, p->run_dir, cfgp, sizeof cfgp, &eps, err, errlen) != 0)
            return -1;
        p->is_sweep = p->sweep_resumed = true;
        for (int r = 0; r < p->sweep.n_runs; r++) {
            sweep_run *run = &p->sweep.runs[r];
            /* Interrupted, stopped or failed: continue from the checkpoint; done stays done
             * unless --episodes asks for more. */
            if (o->episodes > 0 && o->episodes != run->episodes) {
                if (run->state == SWEEP_DONE && o->episodes > run->episodes)
                    run->state = SWEEP_QUEUED;
                run->episodes = o->episodes;
            }
            if (run->state != SWEEP_DONE) run->state = SWEEP_QUEUED;
            run->restarts = 0;
        }
        return 0;
    }
    if (p->is_sweep) return sweep_episodes(p, o, &p->cfg, err, errlen);
    if (p->sweep.n_fixed > 0)
        snprintf(p->set_config, sizeof p->set_config, "%.*s/config.set.toml", PATH_MAX - 20,
                 p->run_dir);
    return 0;
}

/* The config: a sweep file (its grid, and perhaps its config), the config file over the
 * built-in defaults, then the overrides and the grid, each checked against the schema. */
static int load_config(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    sweep_init(&p->sweep);
    const char *config_arg = o->config;
    char file_config[PATH_MAX + 16];
    if (o->sweep_file) {
        if (sweep_load_file(&p->sweep, o->sweep_file, err, errlen) != 0) return -1;
        if (!config_arg && p->sweep.config[0]) {
            /* Relative to the sweep file when it is there, else a name in configs/. */
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", o->sweep_file);
            snprintf(file_config, sizeof file_config, "%s/%s", dirname(dir), p->sweep.config);
            config_arg =
                p->sweep.config[0] != '/' && is_file(file_config) ? file_config : p->sweep.config;
        }
    }

    /* The config file. */
    cfg_defaults(&p->cfg);
    if (config_arg) {
        char configs[PATH_MAX + 16];
        snprintf(configs, sizeof configs, "%s/configs", p->root);
        if (cfg_resolve_path(config_arg, configs, p->config_path, sizeof p->config_path, err,
                             errlen) != 0)
            return -1;
        if (cfg_load_file(&p->cfg, p->config_path, err, errlen) != 0) return -1;
        /* Children get an absolute path: the frontend runs in frontend/. */
        char abs[PATH_MAX];
        if (realpath(p->config_path, abs))
            snprintf(p->config_path, sizeof p->config_path, "%s", abs);
    }

    /* Overrides and the grid: every value checked against the schema now. */
    if (o->has_seed) p->cfg.training.seed = o->seed; /* --runs counts from it */
    for (int i = 0; i < o->n_sets; i++)
        if (sweep_add_set(&p->sweep, o->sets[i], err, errlen) != 0) return -1;
    if (o->runs) p->sweep.n_seeds = o->runs;
    if (sweep_expand_plan(p, o, err, errlen) != 0) return -1;
    return 0;
}

/* Command-line values over the config's. */
static int apply_flags(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    snprintf(p->host, sizeof p->host, "%s", cfg_flag_str(o->host, p->cfg.server.host, ""));
    if (!strcmp(p->host, "0.0.0.0") || !strcmp(p->host, "::") || !p->host[0])
        snprintf(p->connect_host, sizeof p->connect_host, "127.0.0.1");
    else
        snprintf(p->connect_host, sizeof p->connect_host, "%s", p->host);
    p->port = cfg_flag_int(o->port > 0, o->port, p->cfg.server.inference_port);
    p->frontend_port =
        cfg_flag_int(o->frontend_port > 0, o->frontend_port, p->cfg.server.frontend_port);
    /* A sweep file's episodes sit between the flag and the config. */
    p->episodes = cfg_flag_i64(
        o->episodes > 0, o->episodes,
        cfg_flag_i64(p->sweep.episodes > 0, p->sweep.episodes, p->cfg.training.episodes));
    p->has_seed = o->has_seed;
    p->seed = o->seed;
    p->exit_on_complete = o->exit_on_complete;
    p->color_mode = o->color == CLI_COLOR_ALWAYS ? 1 : o->color == CLI_COLOR_NEVER ? 2 : 0;
    if (p->port < 1 || p->port > 65535)
        return err_set(err, errlen, "[unified_server] inference_port: %d is not a port", p->port);
    return 0;
}

/* The frontend mode, and what it needs. */
static int choose_frontend(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    char nm[PATH_MAX + 32], dist[PATH_MAX + 32];
    snprintf(nm, sizeof nm, "%s/frontend/node_modules", p->root);
    snprintf(dist, sizeof dist, "%s/frontend/dist/index.html", p->root);
    bool have_npm = in_path("npm"), have_nm = is_dir(nm), have_dist = is_file(dist);
    p->frontend = o->frontend;
    if (p->frontend == CLI_FRONTEND_AUTO)
        p->frontend = (have_npm && have_nm) ? CLI_FRONTEND_DEV
                      : have_dist           ? CLI_FRONTEND_STATIC
                                            : CLI_FRONTEND_NONE;
    if (p->frontend == CLI_FRONTEND_DEV && p->cfg.processes[CFG_PROC_FRONTEND].argc == 0) {
        if (!have_npm)
            return err_set(err, errlen,
                           "--frontend dev: npm is not installed (not in PATH); use --frontend "
                           "static (the server serves frontend/dist) or --frontend none");
        if (!have_nm)
            return err_set(err, errlen,
                           "--frontend dev: %s is missing (run scripts/bootstrap, or `npm ci` in "
                           "frontend/); or use --frontend static or --frontend none",
                           nm);
    }
    if (p->frontend == CLI_FRONTEND_STATIC && !have_dist)
        return err_set(
            err, errlen,
            "--frontend static: %s is missing (run scripts/bootstrap to build it); or use "
            "--frontend none",
            dist);
    return 0;
}

/* Ports: free now, and not the same twice. */
static int check_ports(plan_t *p, char *err, size_t errlen) {
    if (check_port(p, p->port, "--port", err, errlen)) return -1;
    if (p->frontend == CLI_FRONTEND_DEV) {
        if (p->frontend_port == p->port)
            return err_set(err, errlen, "--frontend-port: %d is also the server's port (--port)",
                           p->port);
        if (check_port(p, p->frontend_port, "--frontend-port", err, errlen)) return -1;
    }
    return 0;
}

/* The run directory (a sweep's: the sweep directory). */
static int choose_run_dir(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    if (o->checkpoint_dir) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", o->checkpoint_dir);
        size_t n = strlen(tmp);
        while (n > 1 && tmp[n - 1] == '/') tmp[--n] = '\0';
        const char *base = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
        if (!strcmp(base, "checkpoints")) {
            /* A run's checkpoints/ folder stands for that run. */
            if (base == tmp)
                snprintf(p->run_dir, sizeof p->run_dir, ".");
            else
                snprintf(p->run_dir, sizeof p->run_dir, "%.*s", (int)(base - tmp - 1), tmp);
            if (!p->run_dir[0]) snprintf(p->run_dir, sizeof p->run_dir, "/");
        } else {
            snprintf(p->run_dir, sizeof p->run_dir, "%s", tmp);
        }
        p->run_dir_exists = is_dir(p->run_dir);
    } else if (o->resume) {
        if (plan_find_latest_run(p->runs_dir, p->cfg.name, p->run_dir, sizeof p->run_dir) != 0)
            return err_set(err, errlen, "--resume: no earlier run of '%s' in %s/%s/", p->cfg.name,
                           p->runs_dir, p->cfg.name);
        p->run_dir_exists = true;
    } else {
        p->fresh_stamp = true;
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%d_%H%M%S", &tm);
        snprintf(p->run_dir, sizeof p->run_dir, "%.*s/%s/%s", PATH_MAX - 80, p->runs_dir,
                 p->cfg.name, stamp);
        /* Two runs started in the same second get distinct directories. */
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s", p->run_dir);
        for (int k = 2; is_dir(p->run_dir) && k < 100; k++)
            snprintf(p->run_dir, sizeof p->run_dir, "%.*s_%d", (int)(sizeof p->run_dir - 8), base,
                     k);
    }
    if (p->run_dir[0] != '/') {
        /* Children get absolute paths: the frontend runs in frontend/. */
        char cwd[PATH_MAX], rel[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return err_set(err, errlen, "getcwd: %s", strerror(errno));
        snprintf(rel, sizeof rel, "%s", p->run_dir);
        snprintf(p->run_dir, sizeof p->run_dir, "%.*s/%.*s", PATH_MAX / 2 - 1, cwd,
                 PATH_MAX / 2 - 1, rel);
    }
    if (check_writable(p->run_dir, err, errlen)) return -1;
    if (plan_sweep_dir(p, o, err, errlen) != 0) return -1;
    return 0;
}

/* Browser, token, URL. */
static int browser_token_url(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    const char *display = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
    bool has_display = (display && *display) || (wayland && *wayland);
    bool ssh = getenv("SSH_CONNECTION") || getenv("SSH_TTY");
    p->open_browser = !o->no_browser && p->cfg.server.open_browser && has_display && !ssh;
    /* A continued Slurm sweep keeps its token: its running tasks hold it (plan_backend). */
    if (!p->token[0] && random_hex(p->token) != 0)
        return err_set(err, errlen, "getrandom: %s (no token for the trainer link)",
                       strerror(errno));
    /* The server's rule (common/addr.h): the URL carries a token exactly when it asks. */
    bool loopback = addr_is_loopback_name(p->host);
    int url_port = p->frontend == CLI_FRONTEND_DEV ? p->frontend_port : p->port;
    /* An IPv6 literal goes in brackets in a URL. */
    const char *url_host = loopback ? p->connect_host : p->host;
    char hostname[256];
    /* Bound to every address: the machine's name is what another machine can reach. */
    if ((!strcmp(p->host, "0.0.0.0") || !strcmp(p->host, "::")) &&
        gethostname(hostname, sizeof hostname) == 0) {
        hostname[sizeof hostname - 1] = '\0';
        url_host = hostname;
    }
    bool v6 = strchr(url_host, ':') != NULL;
    if (loopback) {
        snprintf(p->url, sizeof p->url, "http://%s%s%s:%d/", v6 ? "[" : "", url_host, v6 ? "]" : "",
                 url_port);
    } else {
        /* Off loopback the server requires an access token (PROTOCOL.md §6): ours, so that
         * the URL we print carries it. */
        if (random_hex(p->access_token) != 0)
            return err_set(err, errlen, "getrandom: %s (no access token)", strerror(errno));
        snprintf(p->url, sizeof p->url, "http://%s%s%s:%d/?token=%s", v6 ? "[" : "", url_host,
                 v6 ? "]" : "", url_port, p->access_token);
    }
    return 0;
}

/* Our own programs, beside run_demo (a missing one would only show as a crash loop). */
static int check_programs(plan_t *p, char *err, size_t errlen) {
    static const char *const progs[] = {"rd_exec", "trainer", "server"};
    for (int i = 0; i < 3; i++) {
        if (i == 1 && p->cfg.processes[CFG_PROC_TRAINER].argc > 0) continue;
        if (i == 2 && p->cfg.processes[CFG_PROC_SERVER].argc > 0) continue;
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%.*s/%s", PATH_MAX - 16, p->bindir, progs[i]);
        if (access(path, X_OK) != 0)
            return err_set(err, errlen, "%s is missing (%s): build it with scripts/bootstrap", path,
                           strerror(errno));
    }
    return 0;
}

/* How many trainers at once: --parallel, the sweep file's, else cores - 1. */
static int choose_parallel(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    if (p->is_sweep) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        p->parallel = o->parallel         ? o->parallel
                      : p->sweep.parallel ? p->sweep.parallel
                      : cores > 1         ? (int)cores - 1
                                          : 1;
        if (p->parallel > CLI_MAX_PARALLEL) p->parallel = CLI_MAX_PARALLEL;
        if (p->parallel > p->sweep.n_runs) p->parallel = p->sweep.n_runs;
    }
    return 0;
}

/* [cluster] into p->cluster; with --backend slurm its shared run root replaces runs/ and a
 * server address off loopback makes the server listen where the nodes reach it (then the
 * browsers need the access token, as for any address off loopback). */
static int cluster_settings(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    plan_cluster *k = &p->cluster;
    const cfg_cluster *c = &p->cfg.cluster;
    memset(k, 0, sizeof *k);
    snprintf(k->partition, sizeof k->partition, "%s", c->partition);
    snprintf(k->time_limit, sizeof k->time_limit, "%s", c->time_limit);
    k->cpus = c->cpus_per_trainer;
    snprintf(k->mem, sizeof k->mem, "%s", c->mem_per_trainer);
    snprintf(k->account, sizeof k->account, "%s", c->account);
    snprintf(k->qos, sizeof k->qos, "%s", c->qos);
    k->warn_seconds = c->warn_seconds;
    snprintf(k->server_host, sizeof k->server_host, "%s", c->server_host);
    snprintf(k->run_root, sizeof k->run_root, "%s", c->run_root);
    /* sbatch_args: one option per word (a #SBATCH line cannot carry a space anyway). */
    for (const char *a = c->sbatch_args; *a;) {
        size_t n = strcspn(a, " \t");
        if (n > 0) {
            if (k->n_extra == PLAN_MAX_SBATCH_EXTRA || n >= sizeof k->extra[0])
                return err_set(err, errlen,
                               "[cluster] sbatch_args: at most %d options of at most %zu bytes",
                               PLAN_MAX_SBATCH_EXTRA, sizeof k->extra[0] - 1);
            snprintf(k->extra[k->n_extra++], sizeof k->extra[0], "%.*s", (int)n, a);
        }
        a += n;
        a += strspn(a, " \t");
    }
    if (o->backend == CLI_BACKEND_SLURM && k->run_root[0])
        snprintf(p->runs_dir, sizeof p->runs_dir, "%s", k->run_root);
    return 0;
}

static void cluster_bind(plan_t *p, const cli_options *o) {
    if (o->backend != CLI_BACKEND_SLURM || o->host || !p->cluster.server_host[0] ||
        addr_is_loopback_name(p->cluster.server_host) || !addr_is_loopback_name(p->host))
        return;
    snprintf(p->host, sizeof p->host, "0.0.0.0");
    snprintf(p->connect_host, sizeof p->connect_host, "127.0.0.1");
}

void plan_token_path(const plan_t *p, char *out, size_t outlen) {
    snprintf(out, outlen, "%.*s/slurm/token", PATH_MAX - 16, p->run_dir);
}

/* Reads a continued Slurm sweep's token (32 hex digits) into p->token; absent: a new one. */
static int read_token(plan_t *p, char *err, size_t errlen) {
    char path[PATH_MAX];
    plan_token_path(p, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : err_set(err, errlen, "%s: %s", path, strerror(errno));
    char buf[40];
    ssize_t n = read(fd, buf, 32);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f'))) n = -1;
    if (n != 32)
        return err_set(err, errlen, "%s: not a token (32 hex digits); delete it to start afresh",
                       path);
    memcpy(p->token, buf, 32);
    p->token[32] = '\0';
    return 0;
}

/* Local or Slurm: --backend, else what a continued sweep recorded. Slurm is checked now —
 * sbatch on the PATH, sinfo answering, the partition known — so that a bad setting is one
 * message and exit 2 with nothing submitted. */
static int plan_backend(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    bool recorded = p->sweep_resumed && !strcmp(p->sweep.backend, "slurm");
    if (o->backend == CLI_BACKEND_LOCAL && recorded)
        return err_set(err, errlen,
                       "--backend local: the sweep in %s runs as Slurm jobs; continue it with "
                       "--backend slurm, or end its jobs first with --cancel-sweep %s",
                       p->run_dir, p->run_dir);
    p->slurm = o->backend == CLI_BACKEND_SLURM || (o->backend == CLI_BACKEND_DEFAULT && recorded);
    if (!p->slurm) return 0;
    if (!p->is_sweep)
        return err_set(err, errlen,
                       "--backend slurm: runs a sweep (--runs N, a --set with several values, "
                       "or --sweep FILE); a single run is local");
    if (slurm_check(p->cluster.partition, err, errlen) != 0) return -1;
    /* The running tasks of a continued sweep reach the server at the port they were given. */
    if (recorded && p->sweep.server_port > 0 && o->port <= 0 && p->sweep.server_port != p->port) {
        p->port = p->sweep.server_port;
        if (check_port(p, p->port, "--port", err, errlen)) return -1;
    }
    if (p->sweep_resumed && read_token(p, err, errlen) != 0) return -1;
    snprintf(p->sweep.backend, sizeof p->sweep.backend, "slurm");
    p->sweep.server_port = p->port;
    const char *h = p->cluster.server_host[0] ? p->cluster.server_host : p->connect_host;
    bool v6 = strchr(h, ':') != NULL;
    snprintf(p->trainer_url, sizeof p->trainer_url, "ws://%s%s%s:%d/ws/trainer", v6 ? "[" : "", h,
             v6 ? "]" : "", p->port);
    return 0;
}

int plan_build(plan_t *p, const cli_options *o, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    find_dirs(p);
    /* In this order: each step uses what the ones before it decided (the config holds the
     * defaults the flags override; the URL needs the frontend mode and the ports). */
    if (load_config(p, o, err, errlen) != 0 || cluster_settings(p, o, err, errlen) != 0 ||
        apply_flags(p, o, err, errlen) != 0)
        return -1;
    cluster_bind(p, o);
    if (choose_frontend(p, o, err, errlen) != 0 || check_ports(p, err, errlen) != 0 ||
        choose_run_dir(p, o, err, errlen) != 0 || plan_backend(p, o, err, errlen) != 0 ||
        browser_token_url(p, o, err, errlen) != 0 || check_programs(p, err, errlen) != 0 ||
        choose_parallel(p, o, err, errlen) != 0)
        return -1;
    build_children(p);
    return 0;
}

/* A resolved config (cfg_write_toml) written atomically (common/fs.h): readers see the old
 * file or the new one. 0, or -1 with errno. */
static int write_config(const char *path, const cfg_config *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return -1;
    int rc = cfg_write_toml(c, m);
    if (fclose(m) != 0) rc = -1;
    if (rc == 0) rc = fs_write_atomic(path, buf, len, 0, NULL, 0);
    int e = errno;
    free(buf);
    errno = e;
    return rc;
}

/* run_dir/slurm/token, owner-only: the token the sweep's tasks get in their environment. */
static int write_token(const plan_t *p, char *err, size_t errlen) {
    char dir[PATH_MAX + 16], path[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s/slurm", PATH_MAX - 16, p->run_dir);
    plan_token_path(p, path, sizeof path);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_set(err, errlen, "%s: cannot create it (%s)", dir, strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
              write(fd, p->token, strlen(p->token)) == (ssize_t)strlen(p->token);
    int e = errno;
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (!ok) return err_set(err, errlen, "%s: cannot write it (%s)", path, strerror(e));
    return 0;
}

int plan_create_run_dir(plan_t *p, char *err, size_t errlen) {
    if (fs_mkdir_p(p->run_dir, 0) != 0)
        return err_set(err, errlen, "run directory %s: cannot create it (%s)", p->run_dir,
                       strerror(errno));
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/.run_demo-probe", p->run_dir);
    int fd = open(probe, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(err, errlen, "run directory %s: not writable (%s)", p->run_dir,
                       strerror(errno));
    close(fd);
    unlink(probe);
    if (p->set_config[0] && write_config(p->set_config, &p->cfg) != 0)
        return err_set(err, errlen, "%s: cannot write it (%s)", p->set_config, strerror(errno));
    if (!p->is_sweep) return 0;
    /* Every run's directory and config.toml now, so that a run started later (or resumed
     * after run_demo was killed) finds them; an existing config.toml is the run's own. */
    cfg_config *c = malloc(sizeof *c);
    if (!c) return err_set(err, errlen, "out of memory");
    int rc = 0;
    for (int r = 0; r < p->sweep.n_runs && rc == 0; r++) {
        char dir[PATH_MAX], cpath[PATH_MAX + 16];
        plan_run_dir(p, r, dir, sizeof dir);
        snprintf(cpath, sizeof cpath, "%.*s/config.toml", PATH_MAX - 16, dir);
        if (fs_mkdir_p(dir, 0) != 0)
            rc = err_set(err, errlen, "run directory %s: cannot create it (%s)", dir,
                         strerror(errno));
        else if (!is_file(cpath) && !p->sweep_resumed &&
                 (sweep_config(&p->sweep, &p->cfg, r, c, err, errlen) != 0 ||
                  write_config(cpath, c) != 0))
            rc = err_set(err, errlen, "%s: cannot write it (%s)", cpath, strerror(errno));
    }
    free(c);
    if (rc == 0 && p->slurm) rc = write_token(p, err, errlen);
    if (rc == 0 && plan_save_sweep(p) != 0)
        rc = err_set(err, errlen, "%s/%s: cannot write it (%s)", p->run_dir, SWEEP_FILE_NAME,
                     strerror(errno));
    return rc;
}

int plan_save_sweep(const plan_t *p) {
    const char *stamp = strrchr(p->run_dir, '/');
    return sweep_write_file(&p->sweep, p->run_dir, p->config_path, stamp ? stamp + 1 : p->run_dir,
                            p->episodes, p->parallel);
}
