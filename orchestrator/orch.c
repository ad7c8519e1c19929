/* orchestrator/orch.c — see orch.h. */
#define _GNU_SOURCE
#include "orchestrator/orch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "orchestrator/cluster.h"
#include "orchestrator/health.h"
#include "orchestrator/logmux.h"
#include "orchestrator/progress.h"
#include "orchestrator/summary.h"
#include "orchestrator/restart.h"

extern char **environ;

#define TICK_MS        100
#define START_TICK_MS  10   /* while starting: health probes retried this often */
#define DRAIN_MS       1000 /* after a child's exit, how long its pipes may stay open */
#define LAST_RESORT_MS 1000 /* after SIGUSR2 to rd_exec, before SIGKILL to its group */
#define RD_EXEC_GRACE  400  /* rd_exec's SIGTERM→SIGKILL grace when run_demo vanishes */
/* Batching: after a read, a pipe rests READ_PAUSE_MS so that a child writing one line per
 * write(2) is read in large chunks, not one wake-up per line; output waits at most
 * FLUSH_DELAY_MS (or until FLUSH_BYTES are buffered). Both are far below what a reader
 * notices, and they turn a per-line cost into a per-chunk one. Pipes get PIPE_BYTES of
 * kernel buffer so that a child does not block during the pause. */
#define READ_PAUSE_MS  1
#define FLUSH_DELAY_MS 2
#define FLUSH_BYTES    (64 * 1024)
#define PIPE_BYTES     (1024 * 1024)

typedef enum { CH_IDLE = 0, CH_RUNNING, CH_BACKOFF, CH_DONE } ch_state;
typedef enum { ST_STARTING = 0, ST_UP, ST_STOPPING, ST_FINISHED } orch_state;

typedef struct orch orch;

typedef struct {
    orch *o;
    plan_child *spec;
    int idx;
    ch_state state;
    uv_process_t proc;
    bool proc_active;      /* spawned and its exit not seen yet: may be signalled */
    bool proc_handle_open; /* uv_close not finished */
    uv_pipe_t pipes[2];
    bool pipe_open[2];
    int pipes_closing; /* uv_close()d, close callback not run yet: not reusable */
    logmux_stream *streams[2];
    logmux_tail tail;
    uv_timer_t timer; /* backoff, stop escalation */
    uv_timer_t drain;
    uv_timer_t resume[2]; /* re-arms reading a pipe after a short pause (batching) */
    restart_state rs;
    uint64_t started_ms;
    int pid;
    int64_t exit_status;
    int term_signal;
    int stop_stage; /* 0 running, 1 SIGTERM sent, 2 tree kill asked, 3 group SIGKILLed */
    bool healthy;
    health_probe probe;
    int last_probe;
    /* A sweep's trainer slot: the run it trains (-1: free), its own command line and its
     * metrics tail; `completing`: its run reached its episodes and we stop the trainer. */
    int run;
    plan_child *own;
    progress_metrics *metrics;
    bool completing;
} child;

/* Trainer slots beyond the first go after server and frontend in ch[]. */
#define ORCH_MAX_CHILDREN (CFG_NUM_PROCS + CLI_MAX_PARALLEL - 1)

struct orch {
    uv_loop_t *loop;
    plan_t *plan;
    logmux *mux;
    orch_state state;
    int exit_code;
    bool hurry;
    int n_ch; /* CFG_NUM_PROCS, plus a sweep's extra trainer slots */
    child ch[ORCH_MAX_CHILDREN];
    uv_signal_t sigs[3];
    uv_timer_t tick;
    uv_check_t flush;
    uv_timer_t flush_timer; /* bounds how long output waits in the buffer */
    uint64_t last_slow_ms;  /* last progress poll / orphan sweep */
    uint64_t start_ms;
    uint64_t deadline_ms;
    int watch[2]; /* rd_exec's lifeline: EOF on watch[0] = run_demo is gone */
    bool completed_seen;
    bool training_finished;
    int browser_pid;
    bool browser_open; /* its handle is open (closed at exit without killing it) */
    uv_process_t browser;
    progress_metrics metrics;
    char status_text[LOGMUX_STATUS_MAX];
    /* Sweeps */
    bool sweep_over;      /* every run is done or failed */
    bool runs_started;    /* the server answered: trainer slots filled */
    long sweep_eps0;      /* episodes done at the first poll (for the ETA) */
    uint64_t sweep_t0_ms; /* ... and when */
    long sweep_block;     /* the last multiple of PROGRESS_BLOCK summarised */
    /* --backend slurm: the runs are Slurm tasks (orchestrator/cluster.h), not slots */
    cluster *cl;
    bool cl_stopped; /* none of its tasks is left (after a stop) */
};

static bool is_trainer(const child *c) {
    return c->idx == CFG_PROC_TRAINER || c->idx >= CFG_NUM_PROCS;
}

static void orch_stop(orch *o, int code);
static void stop_advance(orch *o);
static void child_spawn(child *c);

static double now_s(const orch *o) {
    return (double)uv_now(o->loop) / 1000.0;
}

static void describe_exit(const child *c, char *out, size_t outlen) {
    if (c->term_signal)
        snprintf(out, outlen, "killed by signal %d (%s)", c->term_signal,
                 strsignal(c->term_signal));
    else
        snprintf(out, outlen, "exit status %lld", (long long)c->exit_status);
}

/* "the trainer failed: ..., its last lines:" followed by them. */
static void report_failure(orch *o, child *c, const char *what) {
    char lines[LOGMUX_TAIL_LINES * (LOGMUX_TAIL_WIDTH + 8)];
    logmux_tail_format(&c->tail, lines, sizeof lines);
    if (lines[0])
        logmux_printf(o->mux, "%s; its last lines:\n%s", what, lines);
    else
        logmux_printf(o->mux, "%s; it wrote nothing", what);
}

/* ---- pipes ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    child *c = h->data;
    logmux_stream *s = c->streams[h == (uv_handle_t *)&c->pipes[1]];
    char *p;
    size_t len;
    (void)suggested;
    logmux_stream_space(s, &p, &len);
    *buf = uv_buf_init(p, (unsigned)len);
}

static void maybe_settled(child *c);
static void runs_trainer_ended(child *c);

static void on_pipe_closed(uv_handle_t *h) {
    child *c = h->data;
    c->pipes_closing--;
}

/* Prints what is left of the stream (an unterminated last line) and closes the pipe. */
static void close_pipe(child *c, int k) {
    if (!c->pipe_open[k]) return;
    c->pipe_open[k] = false;
    uv_timer_stop(&c->resume[k]);
    logmux_stream_finish(c->o->mux, c->streams[k]);
    uv_read_stop((uv_stream_t *)&c->pipes[k]);
    c->pipes_closing++;
    uv_close((uv_handle_t *)&c->pipes[k], on_pipe_closed);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void on_resume(uv_timer_t *t) {
    child *c = t->data;
    int k = t == &c->resume[1];
    if (c->pipe_open[k]) uv_read_start((uv_stream_t *)&c->pipes[k], on_alloc, on_read);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    child *c = st->data;
    int k = st == (uv_stream_t *)&c->pipes[1];
    (void)buf;
    if (n > 0) {
        logmux_stream_commit(c->o->mux, c->streams[k], (size_t)n);
        /* Rest a moment so that the next read finds many lines, not one. */
        if (c->pipe_open[k] && uv_read_stop(st) == 0)
            uv_timer_start(&c->resume[k], on_resume, READ_PAUSE_MS, 0);
    } else if (n < 0) {
        close_pipe(c, k);
        maybe_settled(c);
    }
}

/* ---- process lifecycle ---- */

static void on_proc_closed(uv_handle_t *h) {
    child *c = h->data;
    c->proc_handle_open = false;
}

static void on_drain_timeout(uv_timer_t *t) {
    /* The child exited but something (a grandchild rd_exec could not reach?) keeps its
     * pipes open: stop waiting for them. */
    child *c = t->data;
    close_pipe(c, 0);
    close_pipe(c, 1);
    maybe_settled(c);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig) {
    child *c = p->data;
    c->proc_active = false;
    c->exit_status = status;
    c->term_signal = sig;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)p, on_proc_closed);
    uv_timer_start(&c->drain, on_drain_timeout, DRAIN_MS, 0);
    maybe_settled(c);
}

static void on_backoff_done(uv_timer_t *t) {
    child *c = t->data;
    if (c->o->state >= ST_STOPPING) return;
    child_spawn(c);
}

/* A child's run is over (exited, pipes drained): apply the policy. */
static void child_ended(child *c) {
    orch *o = c->o;
    uv_timer_stop(&c->drain);
    c->healthy = false;
    if (o->plan->is_sweep && is_trainer(c)) {
        runs_trainer_ended(c);
        return;
    }
    if (o->state >= ST_STOPPING) {
        c->state = CH_DONE;
        char how[96];
        describe_exit(c, how, sizeof how);
        logmux_printf(o->mux, "%s stopped (%s)", c->spec->name, how);
        stop_advance(o);
        return;
    }
    bool failed = c->exit_status != 0 || c->term_signal != 0;
    char how[96];
    describe_exit(c, how, sizeof how);
    if (c->idx == CFG_PROC_TRAINER && !failed && c->spec->policy.restart != CFG_RESTART_ALWAYS) {
        c->state = CH_DONE;
        o->training_finished = true;
        if (o->plan->exit_on_complete) {
            logmux_printf(o->mux,
                          "Training finished (trainer exited 0); stopping (--exit-on-complete)");
            orch_stop(o, 0);
        } else {
            logmux_printf(o->mux,
                          "Training finished; the demo stays up for viewing at %s (Ctrl+C to stop)",
                          o->plan->url);
        }
        return;
    }
    double delay = 0;
    char why[96];
    double uptime = (double)(uv_now(o->loop) - c->started_ms) / 1000.0;
    restart_verdict v =
        restart_decide(&c->rs, &c->spec->policy, failed, now_s(o), uptime, &delay, why, sizeof why);
    char what[256];
    if (v == RESTART_AFTER) {
        logmux_printf(o->mux, "%s exited (%s); restarting in %.1f s (restart %d)%s", c->spec->name,
                      how, delay, c->rs.total,
                      c->idx == CFG_PROC_TRAINER ? ", resuming from its last checkpoint" : "");
        c->state = CH_BACKOFF;
        uv_timer_start(&c->timer, on_backoff_done, (uint64_t)(delay * 1000.0), 0);
        return;
    }
    c->state = CH_DONE;
    if (v == RESTART_GIVE_UP)
        snprintf(what, sizeof what, "%s failed (%s) after %s; giving up", c->spec->name, how, why);
    else if (failed)
        snprintf(what, sizeof what, "%s failed (%s; restart policy: never)", c->spec->name, how);
    else
        snprintf(what, sizeof what, "%s exited unexpectedly (%s); the demo cannot run without it",
                 c->spec->name, how);
    report_failure(o, c, what);
    orch_stop(o, 1);
}

static void maybe_settled(child *c) {
    if (c->state != CH_RUNNING || c->proc_active || c->pipe_open[0] || c->pipe_open[1]) return;
    child_ended(c);
}

/* environ, minus the names we set, plus the child's own variables. */
static char **build_env(const child *c, char *parent_pid) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + (size_t)c->spec->n_env + 2, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = !strncmp(environ[i], "RD_PARENT_PID=", 14);
        for (int e = 0; e < c->spec->n_env && !overridden; e++)
            overridden = !strncmp(c->spec->env[e], environ[i], nl) && c->spec->env[e][nl] == '=';
        if (!overridden) env[k++] = environ[i];
    }
    for (int e = 0; e < c->spec->n_env; e++) env[k++] = (char *)c->spec->env[e];
    env[k++] = parent_pid;
    env[k] = NULL;
    return env;
}

/* A child that could not be started ends as a shell's "command not found" does (127), so
 * that the restart policy treats it like any other failure. */
static void child_not_started(child *c) {
    c->exit_status = 127;
    c->term_signal = 0;
    child_ended(c);
}

/* Starts reading the child's stdout and stderr (the read ends fds[k][0]) into its streams. */
static void read_child_output(child *c, int fds[2][2]) {
    for (int k = 0; k < 2; k++) {
        uv_pipe_init(c->o->loop, &c->pipes[k], 0);
        c->pipes[k].data = c;
        c->streams[k]->len = 0;
        c->streams[k]->continued = false;
        if (uv_pipe_open(&c->pipes[k], fds[k][0]) != 0) {
            close(fds[k][0]); /* cannot happen for a fresh pipe; the drain timer settles it */
            c->pipes_closing++;
            uv_close((uv_handle_t *)&c->pipes[k], on_pipe_closed);
            continue;
        }
        c->pipe_open[k] = true;
        uv_read_start((uv_stream_t *)&c->pipes[k], on_alloc, on_read);
    }
}

static void child_spawn(child *c) {
    orch *o = c->o;
    if (c->proc_handle_open || c->pipes_closing) {
        /* The previous run's handles are still closing: try again in a moment. */
        uv_timer_start(&c->timer, on_backoff_done, 20, 0);
        return;
    }
    char rd_exec[PATH_MAX + 16], watch_fd[16], grace[16], parent_pid[48];
    snprintf(rd_exec, sizeof rd_exec, "%s/rd_exec", o->plan->bindir);
    snprintf(watch_fd, sizeof watch_fd, "%d", 3);
    snprintf(grace, sizeof grace, "%d", RD_EXEC_GRACE);
    snprintf(parent_pid, sizeof parent_pid, "RD_PARENT_PID=%d", (int)getpid());
    char *args[PLAN_MAX_ARGS + 8];
    int a = 0;
    args[a++] = rd_exec;
    args[a++] = "--watch-fd";
    args[a++] = watch_fd;
    args[a++] = "--grace-ms";
    args[a++] = grace;
    args[a++] = "--";
    for (int i = 0; i < c->spec->argc; i++) args[a++] = c->spec->argv[i];
    args[a] = NULL;
    char **env = build_env(c, parent_pid);

    /* Real pipes, not libuv's UV_CREATE_PIPE: that makes a Unix socketpair, where every
     * small write(2) of a child becomes a socket buffer of its own — measured 7x slower
     * for a child writing one line per write than a pipe, whose writes coalesce in pages.
     * Both ends are O_CLOEXEC; libuv's dup2() onto the child's fd 1 and 2 clears it there
     * alone, so no other child inherits a write end (which would hold EOF back). */
    int fds[2][2];
    for (int k = 0; k < 2; k++) {
        if (pipe2(fds[k], O_CLOEXEC) != 0) {
            int e = errno;
            if (k) {
                close(fds[0][0]);
                close(fds[0][1]);
            }
            free(env);
            logmux_printf(o->mux, "cannot start %s: pipe: %s", c->spec->name, strerror(e));
            c->state = CH_RUNNING;
            child_not_started(c);
            return;
        }
        fcntl(fds[k][0], F_SETPIPE_SZ, PIPE_BYTES);
    }
    uv_stdio_container_t stdio[4];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[0][1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1][1];
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = o->watch[0];

    uv_process_options_t opt;
    memset(&opt, 0, sizeof opt);
    opt.exit_cb = on_child_exit;
    opt.file = rd_exec;
    opt.args = args;
    opt.env = env;
    opt.cwd = c->spec->cwd[0] ? c->spec->cwd : NULL;
    /* DETACHED = setsid() in the child: rd_exec leads its own session and process group,
     * so the terminal's Ctrl+C reaches run_demo alone and the stop order is ours. */
    opt.flags = UV_PROCESS_DETACHED;
    opt.stdio_count = 4;
    opt.stdio = stdio;
    c->proc.data = c;
    c->started_ms = uv_now(o->loop);
    c->stop_stage = 0;
    c->state = CH_RUNNING;
    int rc = uv_spawn(o->loop, &c->proc, &opt);
    free(env);
    c->proc_handle_open = true; /* uv_spawn initialises the handle even when it fails */
    for (int k = 0; k < 2; k++) close(fds[k][1]); /* the child has its own copies */
    if (rc != 0) {
        logmux_printf(o->mux, "cannot start %s (%s): %s", c->spec->name, rd_exec, uv_strerror(rc));
        uv_close((uv_handle_t *)&c->proc, on_proc_closed);
        for (int k = 0; k < 2; k++) close(fds[k][0]);
        c->proc_active = false;
        child_not_started(c);
        return;
    }
    c->proc_active = true;
    c->pid = c->proc.pid;
    read_child_output(c, fds);
}

/* ---- stopping ---- */

static void on_stop_escalate(uv_timer_t *t) {
    child *c = t->data;
    /* Never signal after the exit callback (the pid may be reused) or a pid we never had. */
    if (!c->proc_active || c->pid <= 0) return;
    if (c->stop_stage == 1) {
        logmux_printf(c->o->mux, "%s did not stop within %g s; killing it and its descendants",
                      c->spec->name, c->spec->policy.stop_timeout);
        kill(c->pid, SIGUSR2); /* rd_exec: SIGKILL to the whole tree */
        c->stop_stage = 2;
        uv_timer_start(&c->timer, on_stop_escalate, LAST_RESORT_MS, 0);
    } else if (c->stop_stage == 2) {
        kill(-c->pid, SIGKILL); /* rd_exec itself is stuck: its group, then the sweep */
        kill(c->pid, SIGKILL);
        c->stop_stage = 3;
    }
}

static void child_stop(child *c, bool hurry) {
    if (c->state == CH_BACKOFF) {
        uv_timer_stop(&c->timer);
        c->state = CH_DONE;
        return;
    }
    if (c->state != CH_RUNNING || !c->proc_active || c->pid <= 0) return;
    if (hurry) {
        if (c->stop_stage < 2) {
            kill(c->pid, SIGUSR2);
            c->stop_stage = 2;
            uv_timer_start(&c->timer, on_stop_escalate, LAST_RESORT_MS, 0);
        }
        return;
    }
    if (c->stop_stage > 0) return;
    /* SIGTERM to rd_exec alone: it forwards it once to the command's process group. */
    kill(c->pid, SIGTERM);
    c->stop_stage = 1;
    uv_timer_start(&c->timer, on_stop_escalate, (uint64_t)(c->spec->policy.stop_timeout * 1000.0),
                   0);
}

static void close_handle(uv_handle_t *h) {
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Every child is done: close what keeps the loop alive. */
static void finish(orch *o) {
    if (o->state == ST_FINISHED) return;
    o->state = ST_FINISHED;
    for (int i = 0; i < 3; i++) close_handle((uv_handle_t *)&o->sigs[i]);
    close_handle((uv_handle_t *)&o->tick);
    close_handle((uv_handle_t *)&o->flush);
    close_handle((uv_handle_t *)&o->flush_timer);
    if (o->browser_open) close_handle((uv_handle_t *)&o->browser);
    cluster_close(o->cl);
    for (int i = 0; i < o->n_ch; i++) {
        child *c = &o->ch[i];
        close_handle((uv_handle_t *)&c->timer);
        close_handle((uv_handle_t *)&c->drain);
        close_handle((uv_handle_t *)&c->resume[0]);
        close_handle((uv_handle_t *)&c->resume[1]);
        health_close(&c->probe);
        close_pipe(c, 0);
        close_pipe(c, 1);
    }
}

static void runs_release(child *c, sweep_state st);

/* Stops the children in order: every trainer at once (each writes its checkpoint), then
 * the server, then the frontend — the next only when the previous have ended. */
static void stop_advance(orch *o) {
    if (o->cl && !o->cl_stopped) {
        /* The Slurm tasks first, as local trainers: each writes its checkpoint. */
        if (!cluster_stop(o->cl, o->hurry)) return;
        o->cl_stopped = true;
    }
    bool waiting = false;
    for (int i = 0; i < o->n_ch; i++) {
        child *c = &o->ch[i];
        if (!is_trainer(c)) continue;
        if (c->state == CH_BACKOFF) {
            child_stop(c, o->hurry);
            if (o->plan->is_sweep && c->run >= 0) runs_release(c, SWEEP_STOPPED);
        }
        if (c->state == CH_RUNNING) {
            child_stop(c, o->hurry);
            waiting = true;
        }
    }
    if (waiting && !o->hurry) return;
    static const int rest[2] = {CFG_PROC_SERVER, CFG_PROC_FRONTEND};
    for (int k = 0; k < 2; k++) {
        child *c = &o->ch[rest[k]];
        if (c->state == CH_BACKOFF) child_stop(c, o->hurry);
        if (c->state == CH_RUNNING) {
            child_stop(c, o->hurry);
            if (!o->hurry) return;
        }
    }
    for (int k = 0; k < o->n_ch; k++)
        if (o->ch[k].state == CH_RUNNING) return;
    finish(o);
}

static void orch_stop(orch *o, int code) {
    if (o->state >= ST_STOPPING) return;
    o->state = ST_STOPPING;
    o->exit_code = code;
    logmux_set_status(o->mux, "");
    stop_advance(o);
}

static void on_signal(uv_signal_t *h, int sig) {
    orch *o = h->data;
    if (o->state < ST_STOPPING) {
        logmux_printf(o->mux,
                      "%s received: stopping the trainer (it writes a checkpoint), then the "
                      "server and the frontend; press Ctrl+C again to skip the waiting",
                      sig == SIGINT    ? "SIGINT"
                      : sig == SIGTERM ? "SIGTERM"
                                       : "SIGHUP");
        orch_stop(o, 128 + sig);
    } else if (!o->hurry) {
        logmux_printf(o->mux, "second signal: killing every child now");
        o->hurry = true;
        stop_advance(o);
    }
}

/* ---- orphans ---- */

/* Session id of pid, or -1. */
static int session_of(int pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    /* pid (comm) state ppid pgrp session: comm may hold spaces, so start after ')'. */
    char *p = strrchr(buf, ')');
    int ppid, pgrp, sid;
    char st;
    if (!p || sscanf(p + 1, " %c %d %d %d", &st, &ppid, &pgrp, &sid) != 4) return -1;
    return sid;
}

/* run_demo is a child subreaper: a descendant orphaned by a killed rd_exec lands here.
 * Anything among our children that is not a child we spawned (or the browser's session)
 * is such an orphan: kill and reap it. Returns how many were found. Only specific pids
 * are waited for, never -1, so libuv's own reaping is undisturbed. */
static int sweep_orphans(orch *o) {
    int found = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        char *p = buf;
        for (;;) {
            char *end;
            long pid = strtol(p, &end, 10);
            if (end == p) break;
            p = end;
            if (pid <= 1) continue;
            bool ours = false;
            for (int i = 0; i < o->n_ch && !ours; i++)
                ours = o->ch[i].pid == pid && (o->ch[i].proc_active || o->ch[i].proc_handle_open);
            if (ours || cluster_owns(o->cl, (int)pid)) continue;
            if (o->browser_pid && (pid == o->browser_pid || session_of((int)pid) == o->browser_pid))
                continue;
            kill((pid_t)pid, SIGKILL);
            waitpid((pid_t)pid, NULL, WNOHANG);
            found++;
        }
    }
    closedir(d);
    return found;
}

/* ---- health, progress ---- */

static void on_browser_exit(uv_process_t *p, int64_t status, int sig) {
    orch *o = p->loop->data;
    (void)status;
    (void)sig;
    o->browser_open = false;
    uv_close((uv_handle_t *)p, NULL);
}

static void open_browser(orch *o) {
    const char *b = getenv("BROWSER");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s", b && *b ? b : "xdg-open");
    cmd[strcspn(cmd, ":")] = '\0'; /* $BROWSER may list several: take the first */
    char *args[] = {cmd, o->plan->url, NULL};
    uv_stdio_container_t stdio[3] = {{UV_IGNORE, {0}}, {UV_IGNORE, {0}}, {UV_IGNORE, {0}}};
    uv_process_options_t opt;
    memset(&opt, 0, sizeof opt);
    opt.exit_cb = on_browser_exit;
    opt.file = cmd;
    opt.args = args;
    opt.flags = UV_PROCESS_DETACHED;
    opt.stdio_count = 3;
    opt.stdio = stdio;
    int rc = uv_spawn(o->loop, &o->browser, &opt);
    if (rc) {
        logmux_printf(o->mux, "could not open a browser (%s: %s); open %s yourself", cmd,
                      uv_strerror(rc), o->plan->url);
        uv_close((uv_handle_t *)&o->browser, NULL);
        return;
    }
    o->browser_pid = o->browser.pid;
    /* The browser may run for hours (when $BROWSER is the browser itself): it must not
     * keep run_demo's loop alive, and it is the user's, never killed by us. */
    uv_unref((uv_handle_t *)&o->browser);
    o->browser_open = true;
}

static void check_health(orch *o);

static void on_probe(health_probe *h, int result) {
    child *c = h->data;
    c->last_probe = result;
    if (result >= 200 && result < 400 && c->state == CH_RUNNING && c->proc_active) {
        c->healthy = true;
        /* Operational as soon as the last probe succeeds, not at the next tick. */
        if (c->o->state == ST_STARTING) check_health(c->o);
    }
}

static bool child_ready(const child *c) {
    if (!c->spec->enabled) return true;
    /* A sweep's slot is ready when it runs its trainer or has nothing (left) to run. */
    if (is_trainer(c) && c->o->plan->is_sweep)
        return c->o->runs_started && (c->state == CH_RUNNING || c->run < 0);
    if (c->idx == CFG_PROC_TRAINER) return c->state == CH_RUNNING || c->o->training_finished;
    return c->state == CH_RUNNING && (c->spec->health_port == 0 || c->healthy);
}

static void runs_fill(orch *o);
static void runs_check_over(orch *o);

static void check_health(orch *o) {
    if (o->plan->is_sweep && !o->runs_started && o->ch[CFG_PROC_SERVER].healthy) {
        o->runs_started = true;
        if (o->cl && cluster_start(o->cl) != 0) {
            orch_stop(o, 2); /* sbatch refused the sweep: nothing was submitted */
            return;
        }
        runs_fill(o);
        runs_check_over(o);
        if (o->state != ST_STARTING) return;
    }
    bool all = true;
    for (int i = 0; i < o->n_ch; i++) {
        child *c = &o->ch[i];
        if (!child_ready(c)) all = false;
        if (c->spec->enabled && c->spec->health_port && !c->healthy && c->state == CH_RUNNING &&
            c->proc_active && !c->probe.busy)
            health_start(&c->probe, o->plan->connect_host, c->spec->health_port,
                         c->spec->health_path, on_probe);
    }
    if (all) {
        o->state = ST_UP;
        double ms = (double)(uv_now(o->loop) - o->start_ms);
        logmux_printf(o->mux, "All systems operational (%.0f ms): %s", ms, o->plan->url);
        if (o->plan->open_browser)
            open_browser(o);
        else
            logmux_printf(o->mux, "Open %s in a browser (run dir: %s)", o->plan->url,
                          o->plan->run_dir);
        return;
    }
    if (uv_now(o->loop) < o->deadline_ms) return;
    for (int i = 0; i < o->n_ch; i++) {
        child *c = &o->ch[i];
        if (child_ready(c)) continue;
        char what[512];
        if (c->spec->health_port) {
            char res[64];
            if (c->last_probe < 0)
                snprintf(res, sizeof res, "%s", uv_strerror(c->last_probe));
            else if (c->last_probe)
                snprintf(res, sizeof res, "HTTP %d", c->last_probe);
            else
                snprintf(res, sizeof res, "no answer");
            snprintf(what, sizeof what,
                     "%s is not healthy after %g s (health_check_timeout): GET http://%s:%d%s: %s",
                     c->spec->name, o->plan->cfg.server.health_check_timeout, o->plan->connect_host,
                     c->spec->health_port, c->spec->health_path, res);
        } else {
            snprintf(what, sizeof what, "%s is not running after %g s (health_check_timeout)",
                     c->spec->name, o->plan->cfg.server.health_check_timeout);
        }
        report_failure(o, c, what);
    }
    orch_stop(o, 1);
}

static void poll_progress(orch *o) {
    char summaries[2048];
    if (progress_metrics_poll(&o->metrics, summaries, sizeof summaries) > 0)
        logmux_printf(o->mux, "%s", summaries);
    progress_status st;
    if (progress_read(o->plan->run_dir, &st) != 0) return;
    if (isnan(st.mean_steps)) st.mean_steps = progress_metrics_recent_mean(&o->metrics);
    char line[LOGMUX_STATUS_MAX];
    progress_format(&st, line, sizeof line);
    logmux_set_status(o->mux, line);
    if (strcmp(st.status, "completed") != 0) o->completed_seen = false; /* extended */
    if (!strcmp(st.status, "completed") && !o->completed_seen) {
        o->completed_seen = true;
        if (o->plan->exit_on_complete) {
            logmux_printf(o->mux,
                          "Training completed (%ld episodes); stopping (--exit-on-complete)",
                          st.episode);
            orch_stop(o, 0);
        } else {
            logmux_printf(o->mux,
                          "Training completed (%ld episodes); the demo stays up for viewing at %s "
                          "(Ctrl+C to stop)",
                          st.episode, o->plan->url);
        }
    }
}

/* ---- sweeps: trainer slots, the queue, the summary ---- */

/* Trainer colours, apart from the server's magenta and the frontend's green. */
static const int run_colours[] = {LOGMUX_CYAN, LOGMUX_YELLOW, LOGMUX_BLUE, 96, 93, 94, 31, 91};

static void runs_save(orch *o) {
    static bool warned;
    if (plan_save_sweep(o->plan) != 0 && !warned) {
        warned = true;
        logmux_printf(o->mux, "cannot write %s/%s: %s (the runs go on)", o->plan->run_dir,
                      SWEEP_FILE_NAME, strerror(errno));
    }
}

/* The slot's run gets its final (or resumable) state; the slot is free again. */
static void runs_release(child *c, sweep_state st) {
    orch *o = c->o;
    if (c->run < 0) return;
    o->plan->sweep.runs[c->run].state = st;
    c->run = -1;
    c->completing = false;
    c->state = CH_DONE;
    runs_save(o);
}

static void runs_assign(child *c, int run) {
    orch *o = c->o;
    sweep_run *r = &o->plan->sweep.runs[run];
    plan_trainer_for_run(o->plan, run, c->own);
    c->spec = c->own;
    c->run = run;
    c->completing = false;
    restart_init(&c->rs);
    int colour = run_colours[run % (int)(sizeof run_colours / sizeof run_colours[0])];
    for (int k = 0; k < 2; k++)
        logmux_stream_init(c->streams[k], o->mux, r->name, colour, &c->tail);
    char dir[PATH_MAX];
    plan_run_dir(o->plan, run, dir, sizeof dir);
    progress_metrics_init(c->metrics, dir);
    r->state = SWEEP_RUNNING;
    runs_save(o);
    logmux_printf(o->mux, "starting run %s (%d of %d)", r->name, run + 1, o->plan->sweep.n_runs);
    child_spawn(c);
}

/* Free slots take the next queued runs. */
static void runs_fill(orch *o) {
    sweep_spec *sw = &o->plan->sweep;
    if (o->cl) return; /* Slurm runs every submitted task: no slots */
    int next = 0;
    for (int i = 0; i < o->n_ch && o->state < ST_STOPPING; i++) {
        child *c = &o->ch[i];
        if (!is_trainer(c) || c->run >= 0 || c->state == CH_RUNNING || c->state == CH_BACKOFF)
            continue;
        while (next < sw->n_runs && sw->runs[next].state != SWEEP_QUEUED) next++;
        if (next == sw->n_runs) return;
        runs_assign(c, next);
    }
}

/* Every run done or failed: say so; with --exit-on-complete stop, exit 1 if any failed. */
static void runs_check_over(orch *o) {
    const sweep_spec *sw = &o->plan->sweep;
    int done = 0, failed = 0;
    for (int r = 0; r < sw->n_runs; r++) {
        if (sw->runs[r].state == SWEEP_QUEUED || sw->runs[r].state == SWEEP_RUNNING) return;
        done += sw->runs[r].state == SWEEP_DONE;
        failed += sw->runs[r].state == SWEEP_FAILED;
    }
    if (o->sweep_over || o->state >= ST_STOPPING) return;
    o->sweep_over = true;
    o->training_finished = true;
    logmux_printf(o->mux, "Sweep finished: %d of %d runs done, %d failed (%s)", done, sw->n_runs,
                  failed, o->plan->run_dir);
    if (o->plan->exit_on_complete)
        orch_stop(o, failed ? 1 : 0);
    else
        logmux_printf(o->mux, "the demo stays up for viewing at %s (Ctrl+C to stop)", o->plan->url);
}

static bool run_completed(const orch *o, int run, const char *dir, progress_status *st) {
    return progress_reached(dir, o->plan->sweep.runs[run].episodes, st);
}

/* A sweep trainer's process is over: its run is done, stopped, restarted or failed. */
static void runs_trainer_ended(child *c) {
    orch *o = c->o;
    if (c->run < 0) { /* a slot stopped while in backoff: already released */
        c->state = CH_DONE;
        if (o->state >= ST_STOPPING) stop_advance(o);
        return;
    }
    const char *name = o->plan->sweep.runs[c->run].name;
    char dir[PATH_MAX], how[96];
    plan_run_dir(o->plan, c->run, dir, sizeof dir);
    describe_exit(c, how, sizeof how);
    bool failed = c->exit_status != 0 || c->term_signal != 0;
    progress_status st;
    bool completed = run_completed(o, c->run, dir, &st);
    if (!failed && completed) {
        logmux_printf(o->mux, "run %s done (%ld episodes)", name, st.episode);
        runs_release(c, SWEEP_DONE);
    } else if (o->state >= ST_STOPPING) {
        logmux_printf(o->mux, "run %s stopped (%s); --resume continues it", name, how);
        runs_release(c, SWEEP_STOPPED);
    } else {
        double delay = 0, uptime = (double)(uv_now(o->loop) - c->started_ms) / 1000.0;
        char why[96], what[512];
        restart_verdict v = restart_decide(&c->rs, &c->spec->policy, true, now_s(o), uptime, &delay,
                                           why, sizeof why);
        if (v == RESTART_AFTER) {
            logmux_printf(o->mux,
                          "run %s: trainer exited (%s); restarting in %.1f s (restart %d), "
                          "resuming from its last checkpoint",
                          name, how, delay, c->rs.total);
            o->plan->sweep.runs[c->run].restarts++;
            runs_save(o);
            c->state = CH_BACKOFF;
            uv_timer_start(&c->timer, on_backoff_done, (uint64_t)(delay * 1000.0), 0);
            return;
        }
        snprintf(what, sizeof what, "run %s failed (%s%s%s); the sweep goes on without it", name,
                 how, v == RESTART_GIVE_UP ? " after " : "; restart policy: never",
                 v == RESTART_GIVE_UP ? why : "");
        report_failure(o, c, what);
        runs_release(c, SWEEP_FAILED);
    }
    if (o->state >= ST_STOPPING) {
        stop_advance(o);
        return;
    }
    runs_fill(o);
    runs_check_over(o);
}

#define MEANS_MAX 1024

/* One running run's progress: its 100-episode summaries logged, its episodes and rate added
 * to the sweep's, its recent mean to means. Whether it reached its episodes. */
static bool run_progress(orch *o, int run, progress_metrics *m, long *eps, double *sps, char *means,
                         size_t *mo) {
    const char *name = o->plan->sweep.runs[run].name;
    char dir[PATH_MAX], lines[2048];
    plan_run_dir(o->plan, run, dir, sizeof dir);
    if (progress_metrics_poll(m, lines, sizeof lines) > 0)
        for (char *l = lines, *nl; l; l = nl) {
            nl = strchr(l, '\n');
            if (nl) *nl++ = '\0';
            logmux_printf(o->mux, "[%s] %s", name, l);
        }
    double mean = progress_metrics_recent_mean(m);
    if (!isnan(mean) && *mo < MEANS_MAX)
        *mo += (size_t)snprintf(means + *mo, MEANS_MAX - *mo, "%s%s %.1f", *mo ? ", " : "", name,
                                mean);
    progress_status st;
    bool completed = run_completed(o, run, dir, &st);
    if (!st.valid) return false;
    *eps += st.episode;
    if (!strcmp(st.status, "running") && !isnan(st.steps_per_second)) *sps += st.steps_per_second;
    return completed;
}

/* Once a second: each running run's progress (a completed one is stopped to free its slot),
 * the sweep's status line, and a summary line per PROGRESS_BLOCK episodes of the sweep. */
static void runs_poll(orch *o) {
    const sweep_spec *sw = &o->plan->sweep;
    long eps = 0, target = 0;
    double sps = 0;
    int n[5] = {0};
    for (int r = 0; r < sw->n_runs; r++) {
        n[sw->runs[r].state]++;
        if (sw->runs[r].state != SWEEP_FAILED) target += sw->runs[r].episodes;
        if (sw->runs[r].state == SWEEP_DONE) eps += sw->runs[r].episodes;
    }
    char means[MEANS_MAX];
    size_t mo = 0;
    means[0] = '\0';
    for (int i = 0; i < o->n_ch; i++) {
        child *c = &o->ch[i];
        if (!is_trainer(c) || c->run < 0) continue;
        if (run_progress(o, c->run, c->metrics, &eps, &sps, means, &mo) && !c->completing &&
            c->state == CH_RUNNING) {
            /* The trainer idles after its episodes (linked, for viewing); the slot is worth
             * more to the queue. Its checkpoint is written: SIGTERM ends it at once. */
            c->completing = true;
            child_stop(c, false);
        }
    }
    for (int r = 0; o->cl && r < sw->n_runs; r++) {
        progress_metrics *m = cluster_metrics(o->cl, r);
        /* A Slurm task idles the same way, holding its allocation: it is ended through Slurm. */
        if (m && run_progress(o, r, m, &eps, &sps, means, &mo)) cluster_complete(o->cl, r);
    }
    uint64_t now = uv_now(o->loop);
    if (!o->sweep_t0_ms) {
        o->sweep_t0_ms = now;
        o->sweep_eps0 = eps;
    }
    char line[LOGMUX_STATUS_MAX], eta[32] = "", failed[32] = "";
    if (n[SWEEP_FAILED]) snprintf(failed, sizeof failed, ", %d failed", n[SWEEP_FAILED]);
    double secs = (double)(now - o->sweep_t0_ms) / 1000.0;
    if (secs > 2 && eps > o->sweep_eps0 && target > eps) {
        long e = (long)((double)(target - eps) * secs / (double)(eps - o->sweep_eps0));
        snprintf(eta, sizeof eta, e >= 3600 ? " | ETA %ldh%02ldm" : " | ETA %ldm%02lds",
                 e >= 3600 ? e / 3600 : e / 60, e >= 3600 ? e / 60 % 60 : e % 60);
    }
    snprintf(line, sizeof line,
             "Sweep: %d done, %d running, %d queued%s | episodes %ld/%ld | %.0f steps/s%s",
             n[SWEEP_DONE], n[SWEEP_RUNNING], n[SWEEP_QUEUED] + n[SWEEP_STOPPED], failed, eps,
             target, sps, eta);
    logmux_set_status(o->mux, line);
    if (eps / PROGRESS_BLOCK > o->sweep_block) {
        o->sweep_block = eps / PROGRESS_BLOCK;
        logmux_printf(o->mux, "%s%s%s", line, means[0] ? " | mean survival " : "", means);
    }
}

static void on_cluster_changed(void *ctx) {
    orch *o = ctx;
    if (o->state < ST_STOPPING && o->runs_started) runs_check_over(o);
}

static void on_cluster_stopped(void *ctx) {
    orch *o = ctx;
    o->cl_stopped = true;
    if (o->state >= ST_STOPPING) stop_advance(o);
}

static void on_tick(uv_timer_t *t) {
    orch *o = t->data;
    if (o->state == ST_STARTING) {
        check_health(o);
        /* Up (or stopping): back to the slow tick; probes are no longer needed. */
        if (o->state != ST_STARTING) uv_timer_set_repeat(&o->tick, TICK_MS);
    }
    uint64_t now = uv_now(o->loop);
    bool slow = now - o->last_slow_ms >= 1000;
    if (slow) o->last_slow_ms = now;
    if (slow && (o->state == ST_UP || o->state == ST_STARTING))
        o->plan->is_sweep ? runs_poll(o) : poll_progress(o);
    if (o->cl && o->runs_started) cluster_tick(o->cl);
    /* Orphans: often while stopping, once a second otherwise (it is a few reads). */
    if (o->state == ST_STOPPING || slow) sweep_orphans(o);
}

static void on_flush_timer(uv_timer_t *t) {
    orch *o = t->data;
    logmux_flush(o->mux);
}

/* After each loop iteration: write a full buffer now, a small one within FLUSH_DELAY_MS. */
static void on_check(uv_check_t *h) {
    orch *o = h->data;
    if (o->mux->out_len >= FLUSH_BYTES || o->state == ST_FINISHED) {
        logmux_flush(o->mux);
        uv_timer_stop(&o->flush_timer);
    } else if (o->mux->out_len && !uv_is_active((uv_handle_t *)&o->flush_timer) &&
               !uv_is_closing((uv_handle_t *)&o->flush_timer)) {
        uv_timer_start(&o->flush_timer, on_flush_timer, FLUSH_DELAY_MS, 0);
    }
}

/* Child slot i of run_demo: its spec, timers, probe and log streams. false when out of
 * memory (what was allocated is freed by orch_run's end). */
static bool child_init(orch *o, int i) {
    plan_t *plan = o->plan;
    child *c = &o->ch[i];
    bool ok = true;
    c->o = o;
    c->idx = i;
    c->run = -1;
    c->spec = &plan->child[is_trainer(c) ? CFG_PROC_TRAINER : i];
    if (plan->is_sweep && is_trainer(c)) {
        c->own = malloc(sizeof *c->own);
        c->metrics = malloc(sizeof *c->metrics);
        if (!c->own || !c->metrics) ok = false;
    }
    restart_init(&c->rs);
    uv_timer_init(o->loop, &c->timer);
    c->timer.data = c;
    uv_timer_init(o->loop, &c->drain);
    c->drain.data = c;
    for (int k = 0; k < 2; k++) {
        uv_timer_init(o->loop, &c->resume[k]);
        c->resume[k].data = c;
    }
    health_init(&c->probe, o->loop);
    c->probe.data = c;
    for (int k = 0; k < 2; k++) {
        c->streams[k] = malloc(sizeof *c->streams[k]);
        if (!c->streams[k]) {
            ok = false;
            continue;
        }
        logmux_stream_init(c->streams[k], o->mux, c->spec->label, c->spec->colour, &c->tail);
    }
    return ok;
}

/* Says what runs where, then starts the server, and the trainer and frontend after it. */
static void start_children(orch *o) {
    const plan_t *plan = o->plan;
    const char *fe = plan->frontend == CLI_FRONTEND_DEV      ? "dev"
                     : plan->frontend == CLI_FRONTEND_STATIC ? "static"
                                                             : "none";
    logmux_printf(o->mux, "run directory %s; config %s; frontend %s", plan->run_dir,
                  plan->config_path[0] ? plan->config_path : "built-in level1", fe);
    if (plan->is_sweep)
        logmux_printf(o->mux, "%s of %d runs, %d at once%s: %s/%s",
                      plan->sweep_resumed ? "continuing the sweep" : "sweep", plan->sweep.n_runs,
                      plan->parallel, plan->slurm ? " as Slurm jobs" : "", plan->run_dir,
                      SWEEP_FILE_NAME);
    /* The server first: the trainer connects to it, the frontend proxies to it. */
    child_spawn(&o->ch[CFG_PROC_SERVER]);
    if (o->state < ST_STOPPING) {
        /* A sweep's trainers start once the server answers (check_health): up to P
         * of them starting at once would otherwise compete with it for the cores. */
        if (!plan->is_sweep) child_spawn(&o->ch[CFG_PROC_TRAINER]);
    }
    if (o->state < ST_STOPPING && plan->child[CFG_PROC_FRONTEND].enabled)
        child_spawn(&o->ch[CFG_PROC_FRONTEND]);
}

int orch_run(plan_t *plan) {
    static orch ob; /* one per process; large (streams are separate allocations) */
    orch *o = &ob;
    memset(o, 0, sizeof *o);
    o->plan = plan;
    o->exit_code = 0;
    int rc = 1;

    logmux *mux = malloc(sizeof *mux);
    if (!mux) return 1;
    bool color = logmux_want_color(plan->color_mode, STDOUT_FILENO);
    logmux_init(mux, STDOUT_FILENO, color, isatty(STDOUT_FILENO));
    o->mux = mux;

    /* Orphaned descendants come to us, not to init, so that none can escape (see
     * sweep_orphans and docs/design/orchestrator.md). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(o->watch, O_CLOEXEC) != 0) {
        logmux_printf(mux, "pipe: %s", strerror(errno));
        goto out_mux;
    }

    uv_loop_t *loop = uv_default_loop();
    o->loop = loop;
    loop->data = o;
    uv_update_time(loop);
    o->start_ms = uv_now(loop);
    o->deadline_ms = o->start_ms + (uint64_t)(plan->cfg.server.health_check_timeout * 1000.0);
    progress_metrics_init(&o->metrics, plan->run_dir);

    static const int signums[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, &o->sigs[i]);
        o->sigs[i].data = o;
        uv_signal_start(&o->sigs[i], on_signal, signums[i]);
    }
    uv_timer_init(loop, &o->tick);
    o->tick.data = o;
    uv_check_init(loop, &o->flush);
    o->flush.data = o;
    uv_timer_init(loop, &o->flush_timer);
    o->flush_timer.data = o;
    uv_check_start(&o->flush, on_check);

    bool alloc_ok = true;
    o->n_ch = CFG_NUM_PROCS + (plan->is_sweep && !plan->slurm ? plan->parallel - 1 : 0);
    if (plan->slurm) {
        cluster_hooks hooks = {on_cluster_changed, on_cluster_stopped, o};
        o->cl = cluster_new(loop, plan, mux, &hooks);
        if (!o->cl) alloc_ok = false;
    }
    for (int i = 0; i < o->n_ch; i++)
        if (!child_init(o, i)) alloc_ok = false;
    if (!alloc_ok) {
        logmux_printf(mux, "out of memory");
        orch_stop(o, 1);
    } else {
        start_children(o);
    }
    o->last_slow_ms = uv_now(loop);
    uv_timer_start(&o->tick, on_tick, START_TICK_MS, START_TICK_MS);
    if (o->state == ST_STARTING) check_health(o); /* first probes now, not after a tick */
    uv_run(loop, UV_RUN_DEFAULT);

    /* Whatever reached us as an orphan during the last moments goes too. */
    for (int i = 0; i < 100 && sweep_orphans(o) > 0; i++) usleep(10000);
    logmux_set_status(mux, "");
    char summary[8192];
    uv_update_time(loop);
    if (summary_format(plan, (double)(uv_now(loop) - o->start_ms) / 1000.0, summary,
                       sizeof summary))
        logmux_printf(mux, "%s", summary);
    logmux_printf(mux, "stopped (exit status %d)", o->exit_code);
    logmux_flush(mux);
    rc = o->exit_code;
    uv_loop_close(loop);
    cluster_free(o->cl);
    for (int i = 0; i < o->n_ch; i++) {
        for (int k = 0; k < 2; k++) free(o->ch[i].streams[k]);
        free(o->ch[i].own);
        free(o->ch[i].metrics);
    }
    close(o->watch[0]);
    close(o->watch[1]);
out_mux:
    free(mux);
    return rc;
}
