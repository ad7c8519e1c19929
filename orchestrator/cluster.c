/* orchestrator/cluster.c — see cluster.h. */
#define _GNU_SOURCE
#include "orchestrator/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/restart.h"
#include "orchestrator/slurm.h"
#include "orchestrator/sweep.h"

#define SCRIPT_NAME "sweep.sbatch"

typedef struct {
    bool active;     /* submitted; its task is not over (as far as we know) */
    bool started;    /* its task was seen running: it may hold a checkpoint */
    bool completing; /* reached its episodes; SIGTERM sent through Slurm */
    bool retry;      /* waiting for retry_ms to be resubmitted */
    uint64_t retry_ms;
    uint64_t started_ms;
    restart_state rs;
    progress_metrics *metrics; /* allocated at its first submission */
    logmux_stream *stream;     /* its task's output file, followed */
    logmux_tail tail;
    int fd; /* the output file, -1 until it exists */
    off_t off;
} crun;

struct cluster {
    uv_loop_t *loop;
    plan_t *plan;
    logmux *mux;
    cluster_hooks hooks;
    uv_timer_t poll_timer;
    bool timer_open;
    slurm_exec poll;
    bool poll_busy;
    char poll_buf[SWEEP_MAX_RUNS * 24 + 16]; /* "--jobs=12,13,..." */
    long jobs[SWEEP_MAX_RUNS];               /* per run: its job while active, else -1 */
    slurm_task_status st[SWEEP_MAX_RUNS];
    crun runs[SWEEP_MAX_RUNS];
    bool stopping, hurry, cancelled, stop_told, gave_up;
    uint64_t stop_ms, cancel_ms;
    unsigned poll_failures;
    char script[PATH_MAX + 32];
};

static const int run_colours[] = {LOGMUX_CYAN, LOGMUX_YELLOW, LOGMUX_BLUE, 96, 93, 94, 31, 91};

static sweep_spec *sw(cluster *c) {
    return &c->plan->sweep;
}

static void save(cluster *c) {
    static bool warned;
    if (plan_save_sweep(c->plan) != 0 && !warned) {
        warned = true;
        logmux_printf(c->mux, "cannot write %s/%s: %s (the runs go on)", c->plan->run_dir,
                      SWEEP_FILE_NAME, strerror(errno));
    }
}

/* ---- following each task's output ------------------------------------------------------ */

static void output_path(const cluster *c, int r, char *out, size_t outlen) {
    snprintf(out, outlen, "%.*s/slurm/task-%d.out", PATH_MAX - 32, c->plan->run_dir, r);
}

/* New bytes of run r's output file into its stream (whole lines reach the log). */
static void follow(cluster *c, int r) {
    crun *k = &c->runs[r];
    if (k->fd < 0) {
        char path[PATH_MAX + 64];
        output_path(c, r, path, sizeof path);
        k->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (k->fd < 0) return;
    }
    for (int i = 0; i < 16; i++) { /* at most 16 buffers a tick: a flood waits its turn */
        char *p;
        size_t len;
        logmux_stream_space(k->stream, &p, &len);
        ssize_t n = pread(k->fd, p, len, k->off);
        if (n <= 0) return;
        k->off += n;
        logmux_stream_commit(c->mux, k->stream, (size_t)n);
    }
}

/* Starts following run r from the current end of its output file: what an earlier attempt
 * or session wrote there was shown then. */
static void follow_from_end(cluster *c, int r) {
    crun *k = &c->runs[r];
    if (k->fd >= 0) close(k->fd);
    k->fd = -1;
    k->off = 0;
    char path[PATH_MAX + 64];
    output_path(c, r, path, sizeof path);
    struct stat stt;
    if (stat(path, &stt) == 0) k->off = stt.st_size;
}

static void follow_end(cluster *c, int r) {
    crun *k = &c->runs[r];
    follow(c, r);
    logmux_stream_finish(c->mux, k->stream);
    if (k->fd >= 0) close(k->fd);
    k->fd = -1;
}

/* ---- submission -------------------------------------------------------------------------- */

/* The batch script (every run is a task of it; which ones are submitted is sbatch's --array)
 * into run_dir/sweep.sbatch. Each task's trainer gets the command line a local slot would
 * give it, minus --run-dir and --server, which the script adds. */
static int write_script(cluster *c, char *err, size_t errlen) {
    const plan_t *p = c->plan;
    int n = sw(c)->n_runs, rc = -1;
    slurm_task *tasks = calloc((size_t)n, sizeof *tasks);
    char(*dirs)[PATH_MAX] = calloc((size_t)n, sizeof *dirs);
    const char **args = calloc((size_t)n * (PLAN_MAX_ARGS + 1), sizeof *args);
    plan_child *ch = calloc((size_t)n, sizeof *ch);
    const char *extra[PLAN_MAX_SBATCH_EXTRA + 1] = {0};
    if (!tasks || !dirs || !args || !ch) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int r = 0; r < n; r++) {
        plan_trainer_for_run(p, r, &ch[r]);
        plan_run_dir(p, r, dirs[r], sizeof dirs[r]);
        const char **a = args + (size_t)r * (PLAN_MAX_ARGS + 1);
        int k = 0;
        for (int i = 1; i < ch[r].argc; i++) {
            if ((!strcmp(ch[r].argv[i], "--run-dir") || !strcmp(ch[r].argv[i], "--server")) &&
                i + 1 < ch[r].argc) {
                i++;
                continue;
            }
            a[k++] = ch[r].argv[i];
        }
        a[k] = NULL;
        tasks[r] = (slurm_task){dirs[r], a};
    }
    const plan_cluster *cl = &p->cluster;
    for (int i = 0; i < cl->n_extra; i++) extra[i] = cl->extra[i];
    char name[64];
    snprintf(name, sizeof name, "rd-%s", p->cfg.name);
    for (char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '-' || *q == '_' || *q == '.'))
            *q = '_';
    slurm_spec spec = {
        .job_name = name,
        .partition = cl->partition[0] ? cl->partition : NULL,
        .time_limit = cl->time_limit[0] ? cl->time_limit : NULL,
        .cpus = cl->cpus,
        .mem = cl->mem[0] ? cl->mem : NULL,
        .account = cl->account[0] ? cl->account : NULL,
        .qos = cl->qos[0] ? cl->qos : NULL,
        .extra = extra,
        .warn_seconds = cl->time_limit[0] ? cl->warn_seconds : 0,
        .parallel = p->parallel,
        .sweep_dir = p->run_dir,
        .trainer = ch[0].argv[0],
        .server_url = p->trainer_url,
        .tasks = tasks,
        .n_tasks = (size_t)n,
    };
    rc = slurm_script_write(&spec, c->script, err, errlen);
out:
    free(tasks);
    free(dirs);
    free(args);
    free(ch);
    return rc;
}

/* A run is about to be submitted: its follower and metrics tail start afresh. */
static void arm_run(cluster *c, int r, long job) {
    crun *k = &c->runs[r];
    sweep_run *run = &sw(c)->runs[r];
    char dir[PATH_MAX];
    plan_run_dir(c->plan, r, dir, sizeof dir);
    progress_metrics_init(k->metrics, dir);
    follow_from_end(c, r);
    k->active = true;
    k->completing = false;
    k->retry = false;
    run->job = job;
    c->jobs[r] = job;
    memset(&c->st[r], 0, sizeof c->st[r]);
}

/* Submits the runs in list[0..n) as one job array, throttled to --parallel. */
static int submit(cluster *c, const int *list, int n) {
    char err[512], array[SWEEP_MAX_RUNS * 5 + 16];
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        /* Ranges where the runs follow each other: "0-15", "2,5-7". */
        int j = i;
        while (j + 1 < n && list[j + 1] == list[j] + 1) j++;
        o += (size_t)snprintf(array + o, sizeof array - o, j > i ? "%s%d-%d" : "%s%d", o ? "," : "",
                              list[i], list[j]);
        i = j;
    }
    if (c->plan->parallel > 0 && n > 1)
        snprintf(array + o, sizeof array - o, "%%%d", c->plan->parallel);
    long job = 0;
    if (write_script(c, err, sizeof err) != 0 ||
        slurm_submit_array(c->script, array, c->plan->token, &job, err, sizeof err) != 0) {
        logmux_printf(c->mux, "%s", err);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        arm_run(c, list[i], job);
        snprintf(sw(c)->runs[list[i]].slurm, sizeof sw(c)->runs[0].slurm, "submitted");
        sw(c)->runs[list[i]].slurm_reason[0] = sw(c)->runs[list[i]].slurm_node[0] = '\0';
    }
    save(c);
    if (n == 1)
        logmux_printf(c->mux, "run %s: submitted as Slurm job %ld_%d (%s)",
                      sw(c)->runs[list[0]].name, job, list[0], c->script);
    else
        logmux_printf(c->mux, "submitted %d runs as Slurm job array %ld (--array=%s): %s", n, job,
                      array, c->script);
    return 0;
}

/* ---- watching -------------------------------------------------------------------------- */

static void poll_start(cluster *c);

static void on_poll_timer(uv_timer_t *t) {
    poll_start(t->data);
}

static void schedule_poll(cluster *c) {
    if (!c->timer_open) return;
    uv_timer_start(&c->poll_timer, on_poll_timer,
                   c->stopping ? CLUSTER_STOP_POLL_MS : CLUSTER_POLL_MS, 0);
}

static void describe(const slurm_task_status *t, char *out, size_t outlen) {
    if (t->state == SLURM_PENDING)
        snprintf(out, outlen, "pending%s%s%s", t->reason[0] ? " (" : "", t->reason,
                 t->reason[0] ? ")" : "");
    else if (t->state == SLURM_RUNNING)
        snprintf(out, outlen, "running on %s", t->node[0] ? t->node : "?");
    else if (t->state == SLURM_OTHER)
        snprintf(out, outlen, "%s", t->raw);
    else if (t->state == SLURM_GONE)
        snprintf(out, outlen, "gone from Slurm's queue");
    else
        snprintf(out, outlen, "%s", slurm_state_name(t->state));
}

static bool active_any(const cluster *c) {
    for (int r = 0; r < c->plan->sweep.n_runs; r++)
        if (c->runs[r].active) return true;
    return false;
}

static void maybe_stopped(cluster *c) {
    if (!c->stopping || c->stop_told || active_any(c)) return;
    c->stop_told = true;
    if (c->timer_open) uv_timer_stop(&c->poll_timer);
    logmux_printf(c->mux, "no task of the sweep is pending or running in Slurm");
    if (c->hooks.stopped) c->hooks.stopped(c->hooks.ctx);
}

/* Run r's task is over (completed, failed, timeout, cancelled, or forgotten by Slurm): its
 * run directory says whether the run is done; otherwise the restart policy decides. */
static void task_over(cluster *c, int r, const char *how) {
    crun *k = &c->runs[r];
    sweep_run *run = &sw(c)->runs[r];
    k->active = false;
    c->jobs[r] = -1;
    follow_end(c, r);
    char dir[PATH_MAX];
    plan_run_dir(c->plan, r, dir, sizeof dir);
    progress_status st;
    if (progress_reached(dir, run->episodes, &st)) {
        logmux_printf(c->mux, "run %s done (%ld episodes)", run->name, st.episode);
        run->state = SWEEP_DONE;
    } else if (c->stopping) {
        /* Started: seen running, or (a task quicker than one poll) its trainer wrote progress. */
        bool started = k->started || st.valid;
        logmux_printf(c->mux, "run %s %s (%s); --resume continues it", run->name,
                      started ? "stopped" : "not started", how);
        run->state = started ? SWEEP_STOPPED : SWEEP_QUEUED;
    } else {
        const cfg_process *pol = &c->plan->child[CFG_PROC_TRAINER].policy;
        double now = (double)uv_now(c->loop) / 1000.0, delay = 0;
        double up = k->started ? now - (double)k->started_ms / 1000.0 : 0;
        char why[96];
        restart_verdict v = restart_decide(&k->rs, pol, true, now, up, &delay, why, sizeof why);
        if (v == RESTART_AFTER) {
            logmux_printf(c->mux,
                          "run %s: its task ended (%s); resubmitting in %.1f s (restart %d), "
                          "resuming from its last checkpoint",
                          run->name, how, delay, k->rs.total);
            run->restarts++;
            k->retry = true;
            k->retry_ms = uv_now(c->loop) + (uint64_t)(delay * 1000.0);
        } else {
            char lines[LOGMUX_TAIL_LINES * (LOGMUX_TAIL_WIDTH + 8)];
            logmux_tail_format(&k->tail, lines, sizeof lines);
            logmux_printf(
                c->mux, "run %s failed (%s%s%s); the sweep goes on without it%s%s", run->name, how,
                v == RESTART_GIVE_UP ? " after " : "; restart policy: never",
                v == RESTART_GIVE_UP ? why : "", lines[0] ? "; its last lines:\n" : "", lines);
            run->state = SWEEP_FAILED;
        }
    }
    save(c);
    if (c->hooks.changed) c->hooks.changed(c->hooks.ctx);
}

/* What the last poll said of run r, against what was recorded. */
static void apply(cluster *c, int r) {
    crun *k = &c->runs[r];
    sweep_run *run = &sw(c)->runs[r];
    const slurm_task_status *t = &c->st[r];
    if (t->state == SLURM_UNKNOWN) return; /* not listed yet: sbatch just returned */
    const char *name = slurm_state_name(t->state);
    bool changed = strcmp(run->slurm, t->state == SLURM_OTHER ? t->raw : name) != 0 ||
                   strcmp(run->slurm_reason, t->reason) != 0 ||
                   (t->node[0] && strcmp(run->slurm_node, t->node) != 0);
    if (changed) {
        char what[160];
        describe(t, what, sizeof what);
        logmux_printf(c->mux, "run %s: Slurm job %ld_%d %s", run->name, run->job, r, what);
        snprintf(run->slurm, sizeof run->slurm, "%s", t->state == SLURM_OTHER ? t->raw : name);
        snprintf(run->slurm_reason, sizeof run->slurm_reason, "%s", t->reason);
        if (t->node[0]) snprintf(run->slurm_node, sizeof run->slurm_node, "%s", t->node);
    }
    if (t->state == SLURM_RUNNING && !k->started) {
        k->started = true;
        k->started_ms = uv_now(c->loop);
    }
    if (t->state == SLURM_RUNNING && run->state != SWEEP_RUNNING) {
        run->state = SWEEP_RUNNING;
        changed = true;
    }
    if (t->state == SLURM_COMPLETED || t->state == SLURM_FAILED || t->state == SLURM_TIMEOUT ||
        t->state == SLURM_CANCELLED || t->state == SLURM_GONE) {
        char how[160];
        describe(t, how, sizeof how);
        task_over(c, r, how);
        return;
    }
    if (changed) {
        save(c);
        if (c->hooks.changed) c->hooks.changed(c->hooks.ctx);
    }
}

/* The jobs of the active runs, "12,15" (each once), into out. 0 when there is none. */
static int job_list(cluster *c, char *out, size_t outlen) {
    int n = 0;
    size_t o = 0;
    out[0] = '\0';
    for (int r = 0; r < sw(c)->n_runs; r++) {
        c->jobs[r] = c->runs[r].active ? sw(c)->runs[r].job : -1;
        if (!c->runs[r].active) {
            memset(&c->st[r], 0, sizeof c->st[r]);
            continue;
        }
        bool dup = false;
        for (int q = 0; q < r && !dup; q++) dup = c->jobs[q] == c->jobs[r];
        if (dup) continue;
        int w = snprintf(out + o, outlen - o, "%s%ld", o ? "," : "", c->jobs[r]);
        if (w < 0 || (size_t)w >= outlen - o) break;
        o += (size_t)w;
        n++;
    }
    return n;
}

/* Applies one squeue answer (text) to every active run. */
static void apply_all(cluster *c, const char *text) {
    slurm_parse_squeue_jobs(text, 0, c->jobs, c->st, (size_t)sw(c)->n_runs);
    for (int r = 0; r < sw(c)->n_runs; r++)
        if (c->runs[r].active) apply(c, r);
}

/* squeue's verdict: 0 with its output, or -1 (logged now and then). A job list that
 * slurmctld has entirely forgotten is an empty answer, not an error. */
static int poll_verdict(cluster *c, slurm_exec *x) {
    if (x->spawn_error == 0 && !x->timed_out && !x->term_signal &&
        (x->exit_status == 0 || (x->exit_status == 1 && strstr(x->err, "Invalid job id")))) {
        if (x->exit_status != 0) x->out[0] = '\0';
        c->poll_failures = 0;
        return 0;
    }
    if (c->poll_failures++ % 15 == 0)
        logmux_printf(c->mux, "squeue failed (%s%s); the tasks' states wait for the next poll",
                      x->timed_out ? "no answer in time; " : "",
                      x->err && x->err[0] ? x->err : "no message");
    return -1;
}

static void on_poll(slurm_exec *x) {
    cluster *c = x->data;
    c->poll_busy = false;
    if (poll_verdict(c, x) == 0) apply_all(c, x->out);
    slurm_exec_free(x);
    maybe_stopped(c);
    if (c->stop_told || !c->timer_open) return;
    /* After scancel, tasks that will not go: say so once and let the supervisor finish. */
    if (c->stopping && c->cancelled && uv_now(c->loop) - c->cancel_ms > CLUSTER_KILL_WAIT_MS &&
        !c->gave_up) {
        c->gave_up = true;
        logmux_printf(c->mux,
                      "Slurm still lists tasks of this sweep; end them with run_demo "
                      "--cancel-sweep %s",
                      c->plan->run_dir);
        for (int r = 0; r < sw(c)->n_runs; r++) c->runs[r].active = false;
        maybe_stopped(c);
        return;
    }
    schedule_poll(c);
}

static void cancel_all(cluster *c);

static void poll_start(cluster *c) {
    if (c->poll_busy || c->stop_told) return;
    if (c->stopping && !c->cancelled) {
        double bound = c->plan->child[CFG_PROC_TRAINER].policy.stop_timeout * 1000.0;
        if (c->hurry || (double)(uv_now(c->loop) - c->stop_ms) > bound) cancel_all(c);
    }
    const char *argv[8];
    char jobs[SWEEP_MAX_RUNS * 24];
    if (job_list(c, jobs, sizeof jobs) == 0) {
        maybe_stopped(c);
        schedule_poll(c);
        return;
    }
    slurm_squeue_jobs_argv(jobs, argv, c->poll_buf, sizeof c->poll_buf);
    c->poll.data = c;
    if (slurm_exec_start(&c->poll, c->loop, argv, NULL, SLURM_CALL_MS, on_poll) != 0) {
        schedule_poll(c);
        return;
    }
    c->poll_busy = true;
}

/* ---- the public side --------------------------------------------------------------------- */

cluster *cluster_new(uv_loop_t *loop, plan_t *plan, logmux *mux, const cluster_hooks *hooks) {
    cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->plan = plan;
    c->mux = mux;
    c->hooks = *hooks;
    snprintf(c->script, sizeof c->script, "%.*s/%s", PATH_MAX - 32, plan->run_dir, SCRIPT_NAME);
    for (int r = 0; r < plan->sweep.n_runs; r++) {
        crun *k = &c->runs[r];
        k->fd = -1;
        c->jobs[r] = -1;
        restart_init(&k->rs);
        k->metrics = malloc(sizeof *k->metrics);
        k->stream = malloc(sizeof *k->stream);
        if (!k->metrics || !k->stream) {
            cluster_free(c);
            return NULL;
        }
        int colour = run_colours[r % (int)(sizeof run_colours / sizeof run_colours[0])];
        logmux_stream_init(k->stream, mux, plan->sweep.runs[r].name, colour, &k->tail);
    }
    uv_timer_init(loop, &c->poll_timer);
    c->poll_timer.data = c;
    c->timer_open = true;
    return c;
}

/* A continued sweep: one squeue for every recorded job; a pending or running task is
 * reattached (its link comes back to the new server by itself), never resubmitted. */
static void reattach(cluster *c) {
    int n = 0;
    for (int r = 0; r < sw(c)->n_runs; r++) {
        sweep_run *run = &sw(c)->runs[r];
        if (run->job > 0 && run->state != SWEEP_DONE) {
            c->runs[r].active = true; /* for job_list */
            n++;
        }
    }
    if (n == 0) return;
    char jobs[SWEEP_MAX_RUNS * 24], buf[sizeof c->poll_buf];
    const char *argv[8];
    job_list(c, jobs, sizeof jobs);
    slurm_squeue_jobs_argv(jobs, argv, buf, sizeof buf);
    slurm_exec x;
    char err[256];
    slurm_exec_run(&x, argv, NULL, SLURM_CALL_MS, err, sizeof err);
    bool ok = poll_verdict(c, &x) == 0;
    if (ok) slurm_parse_squeue_jobs(x.out, 0, c->jobs, c->st, (size_t)sw(c)->n_runs);
    slurm_exec_free(&x);
    for (int r = 0; r < sw(c)->n_runs; r++) {
        crun *k = &c->runs[r];
        if (!k->active) continue;
        slurm_state s = ok ? c->st[r].state : SLURM_UNKNOWN;
        k->active = false;
        if (s != SLURM_PENDING && s != SLURM_RUNNING && s != SLURM_OTHER) continue;
        long job = sw(c)->runs[r].job;
        char what[160];
        describe(&c->st[r], what, sizeof what);
        arm_run(c, r, job);
        k->started = s == SLURM_RUNNING || sw(c)->runs[r].slurm[0] == 'r';
        k->started_ms = uv_now(c->loop);
        logmux_printf(c->mux, "run %s: reattached to Slurm job %ld_%d (%s)", sw(c)->runs[r].name,
                      job, r, what);
        memset(&c->st[r], 0, sizeof c->st[r]); /* the first poll logs and records it */
        sw(c)->runs[r].slurm[0] = '\0';
    }
}

int cluster_start(cluster *c) {
    reattach(c);
    static int list[SWEEP_MAX_RUNS];
    int n = 0;
    for (int r = 0; r < sw(c)->n_runs; r++) {
        sweep_run *run = &sw(c)->runs[r];
        if (c->runs[r].active || run->state == SWEEP_DONE) continue;
        char dir[PATH_MAX];
        progress_status st;
        plan_run_dir(c->plan, r, dir, sizeof dir);
        if (progress_reached(dir, run->episodes, &st)) { /* it finished while we were away */
            logmux_printf(c->mux, "run %s done (%ld episodes)", run->name, st.episode);
            run->state = SWEEP_DONE;
            continue;
        }
        run->state = SWEEP_QUEUED;
        list[n++] = r;
    }
    save(c);
    int rc = n ? submit(c, list, n) : 0;
    if (c->hooks.changed) c->hooks.changed(c->hooks.ctx);
    uv_timer_start(&c->poll_timer, on_poll_timer, 0, 0); /* the first poll now */
    return rc;
}

void cluster_tick(cluster *c) {
    uint64_t now = uv_now(c->loop);
    for (int r = 0; r < sw(c)->n_runs; r++) {
        crun *k = &c->runs[r];
        if (k->active) follow(c, r);
        if (k->retry && !c->stopping && now >= k->retry_ms) {
            k->retry = false;
            int one = r;
            if (submit(c, &one, 1) != 0) {
                sw(c)->runs[r].state = SWEEP_FAILED;
                logmux_printf(c->mux, "run %s failed: it could not be resubmitted",
                              sw(c)->runs[r].name);
                save(c);
                if (c->hooks.changed) c->hooks.changed(c->hooks.ctx);
            }
        }
    }
}

progress_metrics *cluster_metrics(cluster *c, int r) {
    return c->runs[r].active ? c->runs[r].metrics : NULL;
}

void cluster_complete(cluster *c, int r) {
    crun *k = &c->runs[r];
    if (!k->active || k->completing) return;
    k->completing = true;
    char err[512];
    if (slurm_signal_task(sw(c)->runs[r].job, r, err, sizeof err) != 0)
        logmux_printf(c->mux, "run %s reached its episodes; ending its task: %s",
                      sw(c)->runs[r].name, err);
}

/* scancel of every job still holding an active run (the stop's last resort). */
static void cancel_all(cluster *c) {
    c->cancelled = true;
    c->cancel_ms = uv_now(c->loop);
    char jobs[SWEEP_MAX_RUNS * 24];
    job_list(c, jobs, sizeof jobs);
    for (int r = 0; r < sw(c)->n_runs; r++) {
        bool first = c->jobs[r] > 0;
        for (int q = 0; q < r && first; q++) first = c->jobs[q] != c->jobs[r];
        char err[512];
        if (first && slurm_cancel(c->jobs[r], err, sizeof err) != 0)
            logmux_printf(c->mux, "%s", err);
    }
    if (!c->hurry)
        logmux_printf(c->mux, "tasks still running after %g s (stop_timeout): cancelled",
                      c->plan->child[CFG_PROC_TRAINER].policy.stop_timeout);
}

bool cluster_stop(cluster *c, bool hurry) {
    if (c->stop_told) return true;
    if (c->stopping) { /* a second signal: cancel at the next poll */
        c->hurry = c->hurry || hurry;
        return false;
    }
    c->stopping = true;
    c->hurry = hurry;
    c->stop_ms = uv_now(c->loop);
    for (int r = 0; r < sw(c)->n_runs; r++)
        if (c->runs[r].retry) { /* waiting to be resubmitted: it stays stopped */
            c->runs[r].retry = false;
            sw(c)->runs[r].state = SWEEP_STOPPED;
        }
    save(c);
    char jobs[SWEEP_MAX_RUNS * 24];
    if (job_list(c, jobs, sizeof jobs) == 0) {
        c->stop_told = true;
        if (c->timer_open) uv_timer_stop(&c->poll_timer);
        return true;
    }
    logmux_printf(c->mux,
                  "stopping the sweep's Slurm tasks (job%s %s): pending ones cancelled, "
                  "running ones get SIGTERM and write their checkpoints",
                  strchr(jobs, ',') ? "s" : "", jobs);
    for (int r = 0; r < sw(c)->n_runs; r++) {
        bool first = c->jobs[r] > 0;
        for (int q = 0; q < r && first; q++) first = c->jobs[q] != c->jobs[r];
        char err[512];
        if (first && slurm_stop(c->jobs[r], err, sizeof err) != 0) logmux_printf(c->mux, "%s", err);
    }
    if (!c->poll_busy) {
        uv_timer_stop(&c->poll_timer);
        schedule_poll(c);
    }
    return false;
}

bool cluster_owns(const cluster *c, int pid) {
    return c && c->poll_busy && c->poll.proc.pid == pid;
}

void cluster_close(cluster *c) {
    if (!c || !c->timer_open) return;
    c->timer_open = false;
    uv_close((uv_handle_t *)&c->poll_timer, NULL);
}

void cluster_free(cluster *c) {
    if (!c) return;
    for (int r = 0; r < SWEEP_MAX_RUNS; r++) {
        if (c->runs[r].fd >= 0) close(c->runs[r].fd);
        free(c->runs[r].metrics);
        free(c->runs[r].stream);
    }
    free(c);
}

/* ---- run_demo --cancel-sweep DIR ------------------------------------------------------- */

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One squeue of the runs' jobs into t; the number of tasks pending or running, -1 on error. */
static int cancel_poll(const sweep_spec *s, const long *jobs, slurm_task_status *t, char *err,
                       size_t errlen) {
    char list[SWEEP_MAX_RUNS * 24], buf[SWEEP_MAX_RUNS * 24 + 16];
    size_t o = 0;
    list[0] = '\0';
    for (int r = 0; r < s->n_runs; r++) {
        bool dup = jobs[r] <= 0;
        for (int q = 0; q < r && !dup; q++) dup = jobs[q] == jobs[r];
        if (!dup) o += (size_t)snprintf(list + o, sizeof list - o, "%s%ld", o ? "," : "", jobs[r]);
    }
    if (!o) return 0;
    const char *argv[8];
    slurm_squeue_jobs_argv(list, argv, buf, sizeof buf);
    slurm_exec x;
    int rc = slurm_exec_run(&x, argv, NULL, SLURM_CALL_MS, err, errlen);
    if (rc != 0 && x.spawn_error == 0 && !x.timed_out && x.exit_status == 1 &&
        strstr(x.err, "Invalid job id")) {
        x.out[0] = '\0';
        rc = 0;
    }
    int live = -1;
    if (rc == 0) {
        slurm_parse_squeue_jobs(x.out, 0, jobs, t, (size_t)s->n_runs);
        live = 0;
        for (int r = 0; r < s->n_runs; r++)
            live += jobs[r] > 0 && t[r].seen &&
                    (t[r].state == SLURM_PENDING || t[r].state == SLURM_RUNNING);
    }
    slurm_exec_free(&x);
    return live;
}

int cluster_cancel_sweep(const char *dir, FILE *out) {
    static sweep_spec s; /* large */
    static slurm_task_status t[SWEEP_MAX_RUNS];
    static long jobs[SWEEP_MAX_RUNS];
    static bool ran[SWEEP_MAX_RUNS];
    char err[1024], config[PATH_MAX];
    long episodes = 0;
    if (sweep_read_state(&s, dir, config, sizeof config, &episodes, err, sizeof err) != 0) {
        fprintf(out, "run_demo: --cancel-sweep %s: %s\n", dir, err);
        return 2;
    }
    for (int r = 0; r < s.n_runs; r++) {
        jobs[r] = s.runs[r].job > 0 && s.runs[r].state != SWEEP_DONE ? s.runs[r].job : 0;
        memset(&t[r], 0, sizeof t[r]);
        t[r].state = SLURM_UNKNOWN;
    }
    int live = cancel_poll(&s, jobs, t, err, sizeof err);
    if (live < 0) {
        fprintf(out, "run_demo: --cancel-sweep %s: %s\n", dir, err);
        return strstr(err, "not on the PATH") ? 2 : 1;
    }
    if (live == 0) {
        fprintf(out, "run_demo: no task of the sweep in %s is pending or running\n", dir);
        return 0;
    }
    int running = 0, pending = 0;
    for (int r = 0; r < s.n_runs; r++) {
        ran[r] = t[r].seen && t[r].state == SLURM_RUNNING;
        running += ran[r];
        pending += t[r].seen && t[r].state == SLURM_PENDING;
    }
    int rc = 0;
    for (int r = 0; r < s.n_runs; r++) {
        bool first = jobs[r] > 0;
        for (int q = 0; q < r && first; q++) first = jobs[q] != jobs[r];
        if (first && slurm_stop(jobs[r], err, sizeof err) != 0) {
            fprintf(out, "run_demo: %s\n", err);
            rc = 1;
        }
    }
    /* The trainers write their checkpoints; scancel what is left after 30 s. */
    double t0 = mono_s();
    bool cancelled = false;
    while ((live = cancel_poll(&s, jobs, t, err, sizeof err)) != 0) {
        double waited = mono_s() - t0;
        if (!cancelled && waited > 30) {
            cancelled = true;
            for (int r = 0; r < s.n_runs; r++)
                if (jobs[r] > 0) slurm_cancel(jobs[r], err, sizeof err);
        }
        if (waited > 30 + CLUSTER_KILL_WAIT_MS / 1000.0) break;
        usleep(CLUSTER_STOP_POLL_MS * 1000);
    }
    for (int r = 0; r < s.n_runs; r++) {
        if (!jobs[r]) continue;
        sweep_run *run = &s.runs[r];
        if (t[r].state != SLURM_UNKNOWN)
            snprintf(run->slurm, sizeof run->slurm, "%s", slurm_state_name(t[r].state));
        run->slurm_reason[0] = '\0';
        if (run->state != SWEEP_FAILED) run->state = ran[r] ? SWEEP_STOPPED : SWEEP_QUEUED;
    }
    const char *stamp = strrchr(dir, '/');
    if (sweep_write_file(&s, dir, config, stamp && stamp[1] ? stamp + 1 : dir, episodes,
                         s.parallel) != 0) {
        fprintf(out, "run_demo: cannot write %s/%s: %s\n", dir, SWEEP_FILE_NAME, strerror(errno));
        rc = 1;
    }
    if (live != 0) {
        fprintf(out, "run_demo: %d task(s) of the sweep in %s are still listed by squeue\n", live,
                dir);
        return 1;
    }
    fprintf(out,
            "run_demo: the sweep in %s is stopped: %d running task(s) ended with their "
            "checkpoints, %d pending task(s) cancelled; run_demo --checkpoint-dir %s continues "
            "it\n",
            dir, running, pending, dir);
    return rc;
}
