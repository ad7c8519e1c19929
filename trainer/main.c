/* trainer/main.c — the trainer program.
 *
 *   trainer --config FILE --run-dir DIR --episodes N [--seed S] [--server URL] [--job NAME]
 *           [--quiet]
 *
 * Creates or resumes DIR (trainer.h), trains until the episode counter reaches N, and
 * exits 0 — or, when linked to a server, stays up idle (status "completed") so that the
 * demo stays watchable and `start` can be answered, until SIGTERM/SIGINT.
 *
 * Signals: the first SIGTERM/SIGINT finishes the current episode at full speed (no pause,
 * no visual delay) if it can end within stop_grace_seconds; if it cannot (or a second
 * signal comes) the episode is suspended instead and the checkpoint holds it in progress
 * (trainer.h), so nothing is lost and the resumed run continues it exactly. Then the
 * checkpoint is written and the program exits 0; the write itself is never interrupted
 * (handlers only set a flag).
 *
 * Commands (trainer/control.h) are read before every step: `checkpoint` is written there
 * and then, mid-episode if need be; `stop` suspends the episode, checkpoints and idles,
 * and `start` continues the same episode.
 *
 * Exit status: 0 done or stopped by a signal; 1 runtime failure; 2 usage or config error
 * (including a run directory made with another config). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clk.h"
#include "common/cfg.h"
#include "common/json.h"
#include "common/log.h"
#include "common/nn.h"
#include "common/pdeath.h"
#include "trainer/control.h"
#include "trainer/link.h"
#include "trainer/trainer.h"

static volatile sig_atomic_t signals_seen;
static volatile sig_atomic_t last_signal;

static void on_signal(int sig) {
    last_signal = sig;
    if (signals_seen < 2) signals_seen++;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

typedef struct {
    trainer_t *t;
    link_t *link;
    control_state ctl;
    bool finishing;         /* a signal arrived: end this episode at full speed */
    double finish_deadline; /* monotonic; suspend the episode after it */
    double last_frame;
    bool sent_affordances;
    double last_status;                     /* monotonic time of the last status message */
    const char *job_id, *config_name, *job; /* for the hello (job: --job, or NULL) */
    trainer_status sent_status;
    char msg[4096];
} app_t;

static void send_record(app_t *a, const char *json) {
    if (a->link) link_send(a->link, LINK_RECORD, json, strlen(json));
}

/* Starts a->msg as {"type":TYPE ... (the caller closes it and sends it with send_built). */
static json_buf *begin_msg(app_t *a, json_buf *j, const char *type) {
    json_init_fixed(j, a->msg, sizeof a->msg);
    json_obj_open(j);
    json_kstr(j, "type", type);
    return j;
}

static void send_built(app_t *a, json_buf *j, link_kind kind) {
    json_obj_close(j);
    if (a->link && json_ok(j)) link_send(a->link, kind, a->msg, j->len);
}

static void set_status(app_t *a, trainer_status s) {
    trainer_set_status(a->t, s);
    /* On every change, and at least every 10 s (PROTOCOL §4.1). */
    if (s == a->sent_status && clk_mono() - a->last_status < 10.0) return;
    a->last_status = clk_mono();
    a->sent_status = s;
    trainer_write_progress(a->t);
    trainer_view v;
    trainer_get_view(a->t, &v);
    json_buf j;
    begin_msg(a, &j, "status");
    json_kstr(&j, "status", trainer_status_names[s]);
    json_kint(&j, "episode", v.episode);
    json_kint(&j, "total", v.target_episodes);
    json_kint(&j, "total_episodes", v.target_episodes); /* PROTOCOL §4.1: follows extend */
    json_kint(&j, "speed", a->ctl.speed);
    json_kbool(&j, "visual", a->ctl.visual);
    send_built(a, &j, LINK_RECORD);
}

/* The `checkpoint` message for the last checkpoint written (or resumed from). */
static void announce_checkpoint(app_t *a, bool is_best) {
    trainer_view v;
    trainer_get_view(a->t, &v);
    const trainer_view *t = &v;
    if (t->saved_episode_step > 0)
        log_info("checkpoint %s at episode %" PRId64 ", step %" PRId32 " of episode %" PRId64,
                 t->saved_path, t->saved_episode, t->saved_episode_step, t->saved_episode + 1);
    else
        log_info("checkpoint %s at episode %" PRId64 "%s", t->saved_path, t->saved_episode,
                 is_best ? " (best)" : "");
    json_buf j;
    begin_msg(a, &j, "checkpoint");
    json_kint(&j, "episode", t->saved_episode);
    json_kint(&j, "episode_step", t->saved_episode_step);
    json_kstr(&j, "name", t->saved_name);
    json_kstr(&j, "path", t->saved_path); /* any bytes a run directory's name may hold */
    json_kbool(&j, "best", is_best);
    json_key(&j, "score");
    json_num_prec(&j, t->last_score, 7);
    send_built(a, &j, LINK_RECORD);
}

/* Writes a checkpoint unless the one on disk already holds exactly this state (the env
 * step counter only grows, so equal counts mean equal states; a boundary checkpoint and
 * one at step 0 of the next episode resume alike). `announce_kept`: say which file holds
 * it even then (an explicit `checkpoint` command deserves its reply). */
static int save_checkpoint(app_t *a, bool announce_kept) {
    trainer_t *t = a->t;
    trainer_view v;
    trainer_get_view(t, &v);
    if (v.steps == v.saved_steps) {
        if (announce_kept && v.saved_path[0]) announce_checkpoint(a, false);
        return 0;
    }
    char err[1024];
    double t0 = clk_mono();
    if (trainer_checkpoint(t, false, NULL, 0, err, sizeof err) != 0) {
        log_error("checkpoint failed: %s", err);
        return -1;
    }
    log_debug("checkpoint written in %.0f ms", (clk_mono() - t0) * 1e3);
    announce_checkpoint(a, false);
    return 0;
}

/* `stop`: checkpoint, then idle (status `stopped`) until `start`. */
static void stop_and_idle(app_t *a) {
    save_checkpoint(a, false);
    a->ctl.idle = true;
    set_status(a, TRAINER_STATUS_STOPPED);
    trainer_view v;
    trainer_get_view(a->t, &v);
    if (v.in_episode)
        log_info("stopped at step %" PRId32 " of episode %" PRId64 "; waiting for start",
                 v.episode_steps, v.episode + 1);
    else
        log_info("stopped at episode %" PRId64 "; waiting for start", v.episode);
}

/* The hello the link sends on every (re)connection (PROTOCOL §4.1); set again when
 * `extend` changes the target. */
static void set_hello(app_t *a) {
    if (!a->link) return;
    trainer_view v;
    trainer_get_view(a->t, &v);
    const trainer_view *t = &v;
    json_buf j;
    begin_msg(a, &j, "hello");
    json_kstr(&j, "job_id", a->job_id);
    json_kstr(&j, "config", a->config_name);
    json_kstr(&j, "run_dir", t->run_dir); /* a name may hold quotes, backslashes, any byte */
    json_kint(&j, "total_episodes", t->target_episodes);
    json_kint(&j, "episode", t->episode);
    json_kint(&j, "resumed_from", t->resumed_episode);
    json_kint(&j, "pid", (long long)getpid());
    /* A sweep's trainer names its job (PROTOCOL §4.1); without --job the hello is as it
     * always was and the server serves it as its default job. */
    if (a->job) json_kstr(&j, "job", a->job);
    json_obj_close(&j);
    if (json_ok(&j)) link_set_hello(a->link, a->msg, j.len);
}

/* `extend`: a higher target, at once; a completed run goes back to running (PROTOCOL
 * §4.2), a paused or stopped one keeps waiting for its resume/start. */
static void apply_extend(app_t *a) {
    trainer_extend(a->t, a->ctl.extend);
    a->ctl.extend = 0;
    trainer_view v;
    trainer_get_view(a->t, &v);
    log_info("target raised to %" PRId64 " episodes", v.target_episodes);
    set_hello(a);
    trainer_status s = a->ctl.idle ? TRAINER_STATUS_STOPPED : v.status;
    a->sent_status = (trainer_status)-1; /* announce the new total */
    set_status(a, s);
}

/* Applies the commands that came; a `checkpoint` is written here and now (between two
 * steps the state is whole, mid-episode included). */
static void poll_commands(app_t *a) {
    if (!a->link) return;
    char buf[4096], err[256];
    size_t n;
    while ((n = link_poll_command(a->link, buf, sizeof buf)) > 0) {
        control_command c = control_apply(&a->ctl, buf, n, err, sizeof err);
        if (c == CONTROL_UNKNOWN)
            log_warn("ignoring command: %s", err);
        else
            log_info("command: %s", control_command_names[c]);
        if (c == CONTROL_SET_SPEED || c == CONTROL_SET_MODE) {
            trainer_status s = a->sent_status;
            a->sent_status = (trainer_status)-1; /* re-announce speed/visual */
            set_status(a, s);
        }
        if (a->ctl.extend > 0) apply_extend(a);
    }
    if (a->ctl.checkpoint_requested) {
        a->ctl.checkpoint_requested = false;
        save_checkpoint(a, true);
    }
}

/* Called before every step: commands, signals, pause, visual delay. */
static int before_step(void *ctx) {
    app_t *a = ctx;
    poll_commands(a);
    if (signals_seen >= 2) return 1; /* suspend now: the checkpoint saves the episode */
    if (signals_seen == 1 && !a->finishing) {
        a->finishing = true;
        const cfg_config *cfg = trainer_config(a->t);
        const env_t *e = trainer_world(a->t);
        trainer_view v;
        trainer_get_view(a->t, &v);
        double grace = cfg->training.stop_grace_seconds;
        a->finish_deadline = clk_mono() + grace;
        /* Estimate the rest of the episode at the recent speed; if it cannot end within
         * the grace, suspend it now rather than at the deadline. */
        double left = cfg->environment.max_steps - e->step;
        double sps = v.steps_per_second;
        bool fits = !(sps > 0 && left / sps > grace);
        log_info("%s: %s episode %" PRId64 " at step %d", strsignal(last_signal),
                 fits ? "finishing" : "saving", v.episode + 1, e->step);
        if (!fits) return 1;
    }
    if (a->finishing) return clk_mono() > a->finish_deadline;
    if (a->ctl.stop_requested) return 1; /* main checkpoints the episode and idles */
    if (a->ctl.paused) {
        set_status(a, TRAINER_STATUS_PAUSED);
        while (a->ctl.paused && !signals_seen && !a->ctl.stop_requested) {
            sleep_ms(10);
            poll_commands(a);
        }
        set_status(a, TRAINER_STATUS_RUNNING);
        if (signals_seen || a->ctl.stop_requested) return before_step(ctx);
    }
    int delay = control_step_delay_ms(&a->ctl);
    if (delay > 0) sleep_ms(delay);
    return 0;
}

static void after_step(void *ctx, int action, const float *q, float reward) {
    app_t *a = ctx;
    if (!a->link || !a->ctl.visual || a->finishing) return;
    /* Frames at most ~60 a second at full speed: the link would drop the rest anyway. */
    double now = clk_mono();
    if (control_step_delay_ms(&a->ctl) == 0 && now - a->last_frame < 1.0 / 60) return;
    a->last_frame = now;
    const env_t *e = trainer_world(a->t);
    float qbuf[ENV_NUM_ACTIONS];
    if (!q) {
        /* One greedy forward pass (a few microseconds) for a frame at most 60 times a second
         * costs nothing, and it draws no random number, so the training run is the same with
         * or without frames. The network may have taken this step's update already. */
        trainer_q_values(a->t, qbuf);
        q = qbuf;
    }
    /* Q-values that are not finite (a diverged network) go out as null. */
    json_buf j;
    begin_msg(a, &j, "frame");
    trainer_view v;
    trainer_get_view(a->t, &v);
    json_kint(&j, "episode", v.episode + 1);
    json_kint(&j, "step", e->step);
    json_key(&j, "grid");
    json_obj_open(&j);
    json_kint(&j, "width", e->cfg->width);
    json_kint(&j, "height", e->cfg->height);
    json_key(&j, "agent");
    json_obj_open(&j);
    json_kint(&j, "x", e->x);
    json_kint(&j, "y", e->y);
    json_obj_close(&j);
    if (!a->sent_affordances) {
        /* PROTOCOL §4.1: the affordances may come only in an episode's first frame. */
        a->sent_affordances = true;
        json_key(&j, "affordances");
        json_arr_open(&j);
        for (int i = 0; i < e->cfg->n_affordances; i++) {
            json_obj_open(&j);
            json_kstr(&j, "name", e->cfg->affordances[i].name);
            json_kint(&j, "x", e->cfg->affordances[i].x);
            json_kint(&j, "y", e->cfg->affordances[i].y);
            json_obj_close(&j);
        }
        json_arr_close(&j);
    }
    json_obj_close(&j);
    json_kstr(&j, "action", env_action_names[action]);
    json_key(&j, "reward");
    json_num_prec(&j, reward, 4);
    json_key(&j, "multiplier");
    json_num_prec(&j, e->multiplier, 4);
    json_key(&j, "meters");
    json_obj_open(&j);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        json_key(&j, cfg_meter_names[m]);
        json_num_prec(&j, e->meters[m], 4);
    }
    json_obj_close(&j);
    json_key(&j, "q_values");
    json_arr_open(&j);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++) json_num_prec(&j, q[i], 5);
    json_arr_close(&j);
    send_built(a, &j, LINK_FRAME);
}

static void usage(FILE *f) {
    fputs("usage: trainer --config FILE --run-dir DIR --episodes N [--seed S]\n"
          "               [--server ws://HOST:PORT/ws/trainer] [--job NAME] [--quiet]\n",
          f);
}

/* A job name (PROTOCOL §4.1 `job`): a sweep's run name, 1-200 of [A-Za-z0-9._=,-], so that
 * it goes into the hello's JSON and into URLs as it is. */
static bool job_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 200) return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("._=,-", *s)))
            return false;
    return true;
}

/* The command line. */
typedef struct {
    const char *config, *run_dir, *server, *job;
    long long episodes, seed; /* -1: not given */
    bool quiet;
} args_t;

/* 1. Flags. -1 to go on, else the exit status (0 after --help, 2 on a usage error). */
static int parse_args(int argc, char **argv, args_t *o) {
    *o = (args_t){.episodes = -1, .seed = -1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(arg, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (!val) {
            fprintf(stderr, "trainer: %s needs a value\n", arg);
            usage(stderr);
            return 2;
        }
        char *end = NULL;
        if (!strcmp(arg, "--config"))
            o->config = val;
        else if (!strcmp(arg, "--run-dir"))
            o->run_dir = val;
        else if (!strcmp(arg, "--server"))
            o->server = val;
        else if (!strcmp(arg, "--job")) {
            o->job = val;
            if (!job_name_ok(o->job)) {
                fprintf(stderr, "trainer: --job wants 1-200 of A-Z a-z 0-9 . _ = , -\n");
                return 2;
            }
        } else if (!strcmp(arg, "--episodes")) {
            o->episodes = strtoll(val, &end, 10);
            if (*end || o->episodes < 0) o->episodes = -2;
        } else if (!strcmp(arg, "--seed")) {
            o->seed = strtoll(val, &end, 10);
            if (*end || o->seed < 0) {
                fprintf(stderr, "trainer: --seed wants a non-negative integer\n");
                return 2;
            }
        } else {
            fprintf(stderr, "trainer: unknown option %s\n", arg);
            usage(stderr);
            return 2;
        }
        i++;
    }
    return -1;
}

/* 2. The config: defaults, the file, the flags over both (--seed, --episodes), then the
 * checks. 0, or 2 after logging what is wrong. */
static int load_config(args_t *o, cfg_config *cfg) {
    cfg_defaults(cfg);
    char err[2048];
    if (o->config && cfg_load_file(cfg, o->config, err, sizeof err) != 0) {
        log_error("%s", err);
        return 2;
    }
    /* Flag over config (cfg_flag_*): --seed and --episodes when given. */
    cfg->training.seed = cfg_flag_u64(o->seed >= 0, (uint64_t)o->seed, cfg->training.seed);
    o->episodes = cfg_flag_i64(o->episodes >= 0, o->episodes, cfg->training.episodes);
    if (cfg_validate(cfg, err, sizeof err) != 0) {
        log_error("%s", err);
        return 2;
    }
    return 0;
}

/* 3. Signals: the handlers only count (the loop and the checkpoint write are never
 * interrupted); a closed link is an error return, not a signal. */
static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* 4. What this process starts from: a new run, or where the resume put it. */
static void log_start(const trainer_t *t) {
    trainer_view v;
    trainer_get_view(t, &v);
    if (v.resumed_from[0] && v.in_episode) {
        /* "at episode N" as for a boundary checkpoint: run_demo's tests look for it. */
        log_info("resumed from %s at episode %" PRId64 ", %" PRId32 " steps into episode %" PRId64
                 " (target %" PRId64 ")",
                 v.resumed_from, v.episode, v.episode_steps, v.episode + 1, v.target_episodes);
    } else if (v.resumed_from[0]) {
        log_info("resumed from %s at episode %" PRId64 " (target %" PRId64 ")", v.resumed_from,
                 v.episode, v.target_episodes);
    } else {
        log_info("new run in %s: %" PRId64 " episodes, seed %" PRIu64 ", network %d->...->%d "
                 "(%zu parameters)",
                 v.run_dir, v.target_episodes, v.seed, v.n_inputs, ENV_NUM_ACTIONS, v.n_params);
    }
}

/* 5. The server link, when --server names one: started, and its hello set. 0, or 2 after
 * logging why (a malformed URL). */
static int connect_link(app_t *a, const args_t *o, const cfg_config *cfg) {
    char err[512];
    a->link = link_start(o->server, getenv("RD_TRAINER_TOKEN"), 1024, err, sizeof err);
    if (!a->link) {
        log_error("--server %s: %s", o->server, err);
        return 2;
    }
    /* PROTOCOL §4.1: the job id is the run directory's base name (trailing '/' ignored). */
    char base[CFG_PATH_MAX];
    snprintf(base, sizeof base, "%s", o->run_dir);
    for (size_t n = strlen(base); n > 1 && base[n - 1] == '/'; n--) base[n - 1] = 0;
    const char *slash = strrchr(base, '/');
    static char job_id[CFG_PATH_MAX];
    snprintf(job_id, sizeof job_id, "%s", slash && slash[1] ? slash + 1 : base);
    a->job_id = job_id;
    a->config_name = cfg->name;
    a->job = o->job;
    set_hello(a);
    return 0;
}

/* 6. The run loop: commands, idling, pause, one episode at a time and its record, until a
 * signal (or, without a link, completion). Returns the exit status so far. */
static int run(app_t *a) {
    trainer_t *t = a->t;
    trainer_hooks hooks = {.before_step = before_step, .after_step = after_step, .ctx = a};
    trainer_view v;
    trainer_get_view(t, &v);
    set_status(a, v.status == TRAINER_STATUS_COMPLETED ? TRAINER_STATUS_COMPLETED
                                                       : TRAINER_STATUS_RUNNING);
    char json[1024], err[1024];
    while (!signals_seen) {
        poll_commands(a);
        trainer_get_view(t, &v);
        if (a->ctl.start_requested) {
            a->ctl.start_requested = false;
            a->ctl.idle = false;
            if (v.episode < v.target_episodes) set_status(a, TRAINER_STATUS_RUNNING);
        }
        if (a->ctl.stop_requested) {
            /* Checkpoint (the episode in progress too, if `stop` suspended one) and idle
             * until `start`, which continues where this left off. */
            a->ctl.stop_requested = false;
            if (!a->ctl.idle && v.status != TRAINER_STATUS_COMPLETED) stop_and_idle(a);
        }
        trainer_get_view(t, &v);
        if (a->ctl.idle || v.status == TRAINER_STATUS_COMPLETED) {
            if (!a->link) break;
            set_status(a, v.status); /* the periodic re-announcement */
            sleep_ms(50);
            continue;
        }
        if (a->ctl.paused) {
            set_status(a, TRAINER_STATUS_PAUSED);
            sleep_ms(10);
            continue;
        }
        set_status(a, TRAINER_STATUS_RUNNING);
        hooks.want_q = false; /* after_step computes them for the frames it sends */
        if (!v.in_episode) a->sent_affordances = false; /* a new episode, not a continued one */
        trainer_episode_result res;
        trainer_run_episode(t, &hooks, &res);
        if (res.suspended) continue; /* a signal (the loop ends) or `stop` (handled above) */
        if (trainer_end_episode(t, &res, res.seconds, json, sizeof json, err, sizeof err) != 0) {
            log_error("%s", err);
            return 1;
        }
        send_record(a, json);
        trainer_get_view(t, &v);
        if (v.saved_now) announce_checkpoint(a, v.saved_best);
        if (a->finishing) break; /* the signal's episode is finished */
        if (v.status == TRAINER_STATUS_COMPLETED) {
            save_checkpoint(a, false);
            a->sent_status = (trainer_status)-1;
            set_status(a, TRAINER_STATUS_COMPLETED);
            log_info("completed %" PRId64 " episodes%s", v.episode,
                     a->link ? "; idle until stopped" : "");
        }
    }
    return 0;
}

/* 7. Shutdown: the checkpoint first (a second signal cannot interrupt it: the handler only
 * counts), then the status and the link. Returns the final exit status. */
static int shut_down(app_t *a, int exit_code) {
    trainer_t *t = a->t;
    if (save_checkpoint(a, false) != 0) exit_code = 1;
    trainer_view v;
    trainer_get_view(t, &v);
    if (signals_seen)
        log_info("stopping on %s at episode %" PRId64, strsignal(last_signal), v.episode);
    if (v.status != TRAINER_STATUS_COMPLETED)
        set_status(a, exit_code ? TRAINER_STATUS_FAILED : TRAINER_STATUS_STOPPED);
    else
        trainer_write_progress(t);
    link_stop(a->link, 300);
    return exit_code;
}

int main(int argc, char **argv) {
    args_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    const char *parent = getenv("RD_PARENT_PID");
    log_init("trainer", parent == NULL);
    if (!pdeath_arm(SIGTERM)) { /* die with run_demo, and not start after it */
        log_error("parent %s is gone", parent);
        return 1;
    }
    if (!o.run_dir || o.episodes == -2) {
        fprintf(stderr, "trainer: --run-dir and a non-negative --episodes are required\n");
        usage(stderr);
        return 2;
    }
    cfg_config cfg;
    if ((rc = load_config(&o, &cfg)) != 0) return rc;

    nn_set_backend(NN_BACKEND_NATIVE); /* chosen by measurement: docs/design/learner.md */
    install_signals();

    app_t app = {.sent_status = (trainer_status)-1};
    app_t *a = &app;
    control_init(&a->ctl);
    a->t = trainer_new();
    if (!a->t) {
        log_error("out of memory");
        return 1;
    }
    trainer_opts opts = {.run_dir = o.run_dir, .episodes = o.episodes, .quiet = o.quiet};
    char err[2048];
    rc = trainer_open(a->t, &cfg, &opts, err, sizeof err);
    if (rc != 0) {
        log_error("%s", err);
        free(a->t);
        return rc == -2 ? 2 : 1;
    }
    log_start(a->t);
    int exit_code = o.server ? connect_link(a, &o, &cfg) : 0;
    if (exit_code == 0) exit_code = shut_down(a, run(a));
    trainer_close(a->t);
    free(a->t);
    return exit_code;
}
