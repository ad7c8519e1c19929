/* inference/session.c — see session.h. */
#include "inference/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/ckpt.h"
#include "common/clk.h"
#include "common/env.h"
#include "common/json.h"
#include "common/log.h"
#include "common/policy.h"

struct session {
    session_ctx *ctx;
    conn_t *c;
    env_t env;
    policy_t *pol;
    uv_timer_t timer;
    bool playing, follow, untrained, need_start;
    double speed;
    double next_due; /* loop time (ms) of the next step while playing */
    char model[64];
    char path[CFG_PATH_MAX];
    /* the job whose checkpoints it loads (PROTOCOL §7.2 `load` with `job`) */
    char job[PAST_ID_MAX];
    char ckpt_dir[PAST_DIR_MAX + 16];
    const double *multiplier; /* that job's trainer's difficulty multiplier; 0 = none yet */
    int64_t loaded_mtime_ns;
    int episode;
    double cum;
    float obs[ENV_MAX_OBS];
    json_buf out; /* the message being built: grows once, reused for every step */
};

/* Sends what x->out holds (nothing when it could not be built). */
static void send_out(session_t *x, outq_kind kind) {
    long n = json_finish(&x->out);
    if (n > 0) conn_send(x->ctx->conns, x->c, kind, x->out.buf, (size_t)n);
}

/* Starts x->out as {"type":TYPE, ... */
static json_buf *begin(session_t *x, const char *type) {
    json_buf *j = &x->out;
    json_reset(j);
    json_obj_open(j);
    json_kstr(j, "type", type);
    return j;
}

static void put_meters(json_buf *j, const env_t *e) {
    json_obj_open(j);
    for (int i = 0; i < CFG_NUM_METERS; i++) {
        json_key(j, cfg_meter_names[i]);
        json_num_prec(j, e->meters[i], 6);
    }
    json_obj_close(j);
}

static void put_grid(json_buf *j, const session_t *x, bool agent) {
    const cfg_environment *ce = &x->ctx->cfg->environment;
    json_obj_open(j);
    json_kint(j, "width", ce->width);
    json_kint(j, "height", ce->height);
    if (agent) {
        json_key(j, "agent");
        json_obj_open(j);
        json_kint(j, "x", x->env.x);
        json_kint(j, "y", x->env.y);
        json_obj_close(j);
    }
    json_key(j, "affordances");
    json_arr_open(j);
    for (int i = 0; i < ce->n_affordances; i++) {
        json_obj_open(j);
        json_kstr(j, "name", ce->affordances[i].name);
        json_kint(j, "x", ce->affordances[i].x);
        json_kint(j, "y", ce->affordances[i].y);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j);
}

static void start_episode(session_t *x) {
    env_reset(&x->env);
    if (*x->multiplier > 0) x->env.multiplier = *x->multiplier;
    x->episode++;
    x->cum = 0;
    x->need_start = false;
    json_buf *j = begin(x, "episode_start");
    json_kint(j, "episode", x->episode);
    json_kstr(j, "model", x->untrained ? NULL : x->model);
    json_key(j, "grid");
    put_grid(j, x, true);
    json_key(j, "meters");
    put_meters(j, &x->env);
    json_obj_close(j);
    send_out(x, OUTQ_RECORD);
}

static void end_episode(session_t *x, const char *reason) {
    json_buf *j = begin(x, "episode_end");
    json_kint(j, "episode", x->episode);
    json_kint(j, "steps", x->env.step);
    json_key(j, "total_reward");
    json_num_prec(j, x->cum, 6);
    json_kstr(j, "reason", reason);
    json_obj_close(j);
    send_out(x, OUTQ_RECORD);
    x->need_start = true;
}

/* One greedy step and its state_update. Q-values that are not finite (a diverged
 * network) go out as null (PROTOCOL.md §7.1). */
static void step_once(session_t *x) {
    if (x->need_start) {
        start_episode(x);
        return;
    }
    env_t *e = &x->env;
    uint8_t mask = env_action_mask(e);
    float q[ENV_NUM_ACTIONS];
    env_observe(e, x->obs);
    int a = policy_act(x->pol, x->obs, mask, q);
    env_outcome oc = env_step(e, a);
    float r = env_reward(e, &x->ctx->cfg->agent);
    x->cum += r;
    json_buf *j = begin(x, "state_update");
    json_kint(j, "episode", x->episode);
    json_kint(j, "step", e->step);
    json_key(j, "grid");
    put_grid(j, x, true);
    json_key(j, "meters");
    put_meters(j, e);
    json_kstr(j, "action", env_action_names[a]);
    json_key(j, "q_values");
    json_arr_open(j);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++) json_num_prec(j, (double)q[i], 6);
    json_arr_close(j);
    json_key(j, "action_masks");
    json_arr_open(j);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++) json_bool(j, (mask >> i) & 1);
    json_arr_close(j);
    json_key(j, "reward");
    json_num_prec(j, (double)r, 6);
    json_key(j, "cumulative_reward");
    json_num_prec(j, x->cum, 6);
    json_key(j, "hour");
    if (x->ctx->cfg->environment.day_cycle)
        json_num_prec(j, env_hour(e), 4);
    else
        json_null(j);
    json_key(j, "timestamp");
    json_num_prec(j, clk_wall(), 13);
    json_obj_close(j);
    send_out(x, OUTQ_FRAME);
    if (oc != ENV_RUNNING) end_episode(x, env_outcome_names[oc]);
}

/* Steps are scheduled against deadlines (start + k * period), not "period after the last
 * one", so a late tick on a busy machine does not slow the session down: the next one
 * comes sooner. A session more than a period behind drops the backlog instead of
 * bursting. */
static void on_timer(uv_timer_t *t) {
    session_t *x = t->data;
    step_once(x);
    if (!x->playing) return;
    double now = (double)uv_now(t->loop), period = 1000.0 / x->speed;
    x->next_due += period;
    if (x->next_due < now - period) x->next_due = now;
    double delay = x->next_due - now;
    uv_timer_start(&x->timer, on_timer, delay > 0 ? (uint64_t)(delay + 0.5) : 0, 0);
}

static void restart_timer(session_t *x) {
    uv_timer_stop(&x->timer);
    if (!x->playing) return;
    double period = 1000.0 / x->speed;
    x->next_due = (double)uv_now(x->timer.loop) + period;
    uv_timer_start(&x->timer, on_timer, (uint64_t)(period + 0.5), 0);
}

static void send_model_loaded(session_t *x, const char *reason) {
    session_model_cache *mc = &x->ctx->model;
    bool known = !x->untrained && strcmp(mc->path, x->path) == 0;
    json_buf *j = begin(x, "model_loaded");
    json_kstr(j, "job", x->job);
    json_kstr(j, "model", x->untrained ? NULL : x->model);
    json_kint(j, "episode", known ? (long long)mc->info.episode : 0);
    json_key(j, "score");
    if (known && mc->info.score >= 0)
        json_num_prec(j, mc->info.score, 6);
    else
        json_null(j);
    json_kbool(j, "untrained", x->untrained);
    json_kbool(j, "follow_latest", x->follow);
    json_kstr(j, "reason", reason);
    json_obj_close(j);
    send_out(x, OUTQ_RECORD);
}

static void base_name(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    snprintf(out, cap, "%.63s", b ? b + 1 : path);
    char *dot = strstr(out, ".ckpt");
    if (dot) *dot = 0;
}

/* Loads `model` of checkpoint folder ckpt_dir into x's policy (through the server's
 * one-checkpoint cache). 0; -2 when no checkpoint goes by that name; -1 with err when it
 * does but cannot be loaded (err names the file, never the server's directories); 1 when
 * model is "latest" and there is no checkpoint at all (x plays its untrained policy). */
static int load_model(session_t *x, const char *ckpt_dir, const char *model, char *err,
                      size_t errlen) {
    session_ctx *s = x->ctx;
    char path[CFG_PATH_MAX];
    if (ckpt_resolve(ckpt_dir, model, path, sizeof path, err, errlen) < 0) {
        if (strcmp(model, "latest") == 0) {
            ckpt_info one;
            char e2[64];
            if (ckpt_list(ckpt_dir, &one, 1, e2, sizeof e2) <= 0) return 1;
        }
        return -2;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%.300s: cannot read", path);
        return -1;
    }
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    session_model_cache *mc = &s->model;
    size_t n = policy_num_params(x->pol);
    if (!(strcmp(mc->path, path) == 0 && mc->mtime_ns == mt && mc->size == st.st_size &&
          mc->n == n && mc->params)) {
        ckpt_info info;
        if (ckpt_load_policy(path, s->cfg, x->pol, &info, err, errlen) < 0) {
            /* "/abs/run/checkpoints/ep_5.ckpt: reason" -> "ep_5.ckpt: reason" */
            size_t dl = strlen(ckpt_dir);
            if (strncmp(err, ckpt_dir, dl) == 0 && err[dl] == '/')
                memmove(err, err + dl + 1, strlen(err + dl + 1) + 1);
            return -1;
        }
        float *p = realloc(mc->params, n * sizeof *p);
        if (p) {
            memcpy(p, policy_params(x->pol), n * sizeof *p);
            mc->params = p;
            mc->n = n;
            mc->mtime_ns = mt;
            mc->size = st.st_size;
            mc->info = info;
            snprintf(mc->path, sizeof mc->path, "%s", path);
        }
    } else {
        memcpy(policy_params(x->pol), mc->params, n * sizeof(float));
    }
    snprintf(x->path, sizeof x->path, "%s", path);
    base_name(path, x->model, sizeof x->model);
    x->loaded_mtime_ns = mt;
    x->untrained = false;
    return 0;
}

static void send_result(session_t *x, const cmd_msg *cmd, bool ok, const char *error) {
    char out[1600];
    int n = cmd_result_json(cmd, ok, error, out, sizeof out);
    if (n > 0) conn_send(x->ctx->conns, x->c, OUTQ_RECORD, out, (size_t)n);
}

static void send_connected(session_t *x) {
    const session_ctx *s = x->ctx;
    enum { MAX_MODELS = 64 };
    ckpt_info *info = calloc(MAX_MODELS, sizeof *info);
    char err[200];
    int n = info ? ckpt_list(x->ckpt_dir, info, MAX_MODELS, err, sizeof err) : 0;
    if (n < 0) n = 0;
    json_buf *j = begin(x, "connected");
    json_kint(j, "protocol", 1);
    json_kint(j, "session", (long long)x->c->id);
    json_kstr(j, "config", s->cfg->name);
    json_kstr(j, "job", x->job);
    json_key(j, "models");
    json_arr_open(j);
    for (int i = 0; i < n; i++) {
        json_obj_open(j);
        json_kstr(j, "name", info[i].name);
        json_kint(j, "episode", (long long)info[i].episode);
        json_key(j, "score");
        if (info[i].score >= 0)
            json_num_prec(j, info[i].score, 6);
        else
            json_null(j);
        json_kbool(j, "latest", info[i].is_latest);
        json_kbool(j, "best", info[i].is_best);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_key(j, "grid");
    put_grid(j, x, false);
    json_key(j, "actions");
    json_arr_open(j);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++) json_str(j, env_action_names[i]);
    json_arr_close(j);
    json_key(j, "meters");
    json_arr_open(j);
    for (int i = 0; i < CFG_NUM_METERS; i++) json_str(j, cfg_meter_names[i]);
    json_arr_close(j);
    json_kint(j, "max_steps", s->cfg->environment.max_steps);
    json_key(j, "speed");
    json_num_prec(j, x->speed, 6);
    json_kbool(j, "playing", false);
    json_kbool(j, "follow_latest", false);
    /* world: the text built at start-up, as in the training hello; grid, actions and
     * meters above stay for clients that predate it. */
    json_key(j, "world");
    json_raw(j, s->world, s->world_len);
    json_obj_close(j);
    send_out(x, OUTQ_RECORD);
    free(info);
}

/* Points x at job id's checkpoints (NULL: the run's own job). 0, or -1 when no job has
 * that id. */
static int set_job(session_t *x, const char *id) {
    job_ref ref;
    if (job_lookup(x->ctx->jobs, id, &ref) < 0) return -1;
    snprintf(x->job, sizeof x->job, "%s", ref.id);
    snprintf(x->ckpt_dir, sizeof x->ckpt_dir, "%s/checkpoints", ref.dir);
    x->multiplier = ref.multiplier;
    return 0;
}

session_t *session_create(session_ctx *s, conn_t *c, char *err, size_t errlen) {
    session_t *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->ctx = s;
    x->c = c;
    x->speed = 10;
    json_init_dyn(&x->out);
    uint64_t seed =
        s->cfg->training.seed ^ (++s->started * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)time(NULL);
    if (env_init(&x->env, &s->cfg->environment, seed) < 0) {
        snprintf(err, errlen, "the config's environment cannot be run");
        json_free(&x->out);
        free(x);
        return NULL;
    }
    x->pol = policy_create(s->cfg, seed, err, errlen);
    if (!x->pol) {
        json_free(&x->out);
        free(x);
        return NULL;
    }
    uv_timer_init(s->loop, &x->timer);
    x->timer.data = x;
    set_job(x, NULL);
    send_connected(x);
    char lerr[400];
    int r = load_model(x, x->ckpt_dir, "latest", lerr, sizeof lerr);
    if (r == 0) {
        send_model_loaded(x, NULL);
    } else {
        x->untrained = true;
        char why[512];
        snprintf(why, sizeof why, "%s: playing the untrained policy",
                 r == 1    ? "no checkpoint yet"
                 : r == -2 ? "no usable 'latest' checkpoint"
                           : lerr);
        send_model_loaded(x, why);
    }
    start_episode(x);
    return x;
}

static void on_timer_closed(uv_handle_t *h) {
    session_t *x = h->data;
    policy_free(x->pol);
    json_free(&x->out);
    free(x);
}

void session_destroy(session_t *x) {
    uv_timer_stop(&x->timer);
    x->c = NULL;
    uv_close((uv_handle_t *)&x->timer, on_timer_closed);
}

void session_command(session_t *x, const cmd_msg *cmd) {
    char err[400];
    switch (cmd->cmd) {
        case CMD_LOAD: {
            /* another job's checkpoints: the session moves there only when the load works */
            job_ref ref;
            char dir[sizeof x->ckpt_dir];
            if (cmd->job[0] && job_lookup(x->ctx->jobs, cmd->job, &ref) < 0) {
                char e[300];
                snprintf(e, sizeof e, "unknown job '%s'", cmd->job);
                send_result(x, cmd, false, e);
                return;
            }
            snprintf(dir, sizeof dir, "%s", x->ckpt_dir);
            if (cmd->job[0]) snprintf(dir, sizeof dir, "%s/checkpoints", ref.dir);
            int r = load_model(x, dir, cmd->model, err, sizeof err);
            if (r < 0) {
                char e[480];
                if (r == -2)
                    snprintf(e, sizeof e, "unknown model '%s'", cmd->model);
                else
                    snprintf(e, sizeof e, "checkpoint refused: %s", err);
                send_result(x, cmd, false, e);
                return;
            }
            if (cmd->job[0]) set_job(x, cmd->job);
            send_result(x, cmd, true, NULL);
            if (r == 1) {
                x->untrained = true;
                send_model_loaded(x, "no checkpoint yet: playing the untrained policy");
            } else {
                send_model_loaded(x, NULL);
            }
            if (x->env.step > 0 && !x->need_start) end_episode(x, "reset");
            start_episode(x);
            return;
        }
        case CMD_PLAY:
            x->playing = true;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case CMD_PAUSE:
            x->playing = false;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case CMD_STEP:
            send_result(x, cmd, true, NULL);
            step_once(x);
            return;
        case CMD_RESET:
            send_result(x, cmd, true, NULL);
            if (!x->need_start) end_episode(x, "reset");
            start_episode(x);
            return;
        case CMD_SET_SPEED:
            x->speed = cmd->speed;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case CMD_FOLLOW_LATEST:
            x->follow = cmd->enabled;
            send_result(x, cmd, true, NULL);
            if (x->follow) session_checkpoints_changed(x->ctx);
            return;
        default:
            send_result(x, cmd, false, "unknown command");
    }
}

void session_checkpoints_changed(session_ctx *s) {
    for (conn_t *c = s->conns->lists[CONN_INFERENCE]; c; c = c->next) {
        session_t *x = c->sess;
        if (!x || !x->follow) continue;
        char path[CFG_PATH_MAX], err[400];
        if (ckpt_resolve(x->ckpt_dir, "latest", path, sizeof path, err, sizeof err) < 0) continue;
        struct stat st;
        if (stat(path, &st) < 0) continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (!x->untrained && strcmp(path, x->path) == 0 && mt == x->loaded_mtime_ns) continue;
        if (load_model(x, x->ckpt_dir, "latest", err, sizeof err) == 0)
            send_model_loaded(x, NULL);
        else
            log_warn("session %llu: reload of latest failed: %s", (unsigned long long)c->id, err);
    }
}

void session_ctx_close(session_ctx *ctx) {
    free(ctx->model.params);
    ctx->model.params = NULL;
}
