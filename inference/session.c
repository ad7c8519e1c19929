/* inference/session.c — inference sessions on /ws (docs/PROTOCOL.md §7): one environment
 * and one policy per connection, stepped by a uv_timer at the requested speed, with
 * `latest` reloaded when the trainer writes a newer checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/ckpt.h"
#include "common/env.h"
#include "common/log.h"
#include "common/policy.h"
#include "inference/srv_int.h"

struct sess {
    srv_t *s;
    conn_t *c;
    env_t env;
    policy_t *pol;
    uv_timer_t timer;
    bool playing, follow, untrained, need_start;
    double speed;
    double next_due; /* loop time (ms) of the next step while playing */
    char model[64];
    char path[CFG_PATH_MAX];
    int64_t loaded_mtime_ns;
    int episode;
    double cum;
    float obs[ENV_MAX_OBS];
};

#define OUT_CAP 8192

static void send_text(sess_t *x, oq_kind kind, const char *json, int n) {
    if (n > 0 && n < OUT_CAP) srv_send(x->s, x->c, kind, json, (size_t)n);
}

static int put_meters(const env_t *e, char *out, size_t cap) {
    int o = snprintf(out, cap, "{");
    for (int i = 0; i < CFG_NUM_METERS; i++)
        o += snprintf(out + o, cap - (size_t)o, "%s\"%s\":%.6g", i ? "," : "", cfg_meter_names[i],
                      e->meters[i]);
    o += snprintf(out + o, cap - (size_t)o, "}");
    return o;
}

static int put_affordances(const cfg_environment *ce, char *out, size_t cap) {
    int o = snprintf(out, cap, "[");
    for (int i = 0; i < ce->n_affordances; i++) {
        char name[80];
        smsg_json_string(ce->affordances[i].name, name, sizeof name);
        o += snprintf(out + o, cap - (size_t)o, "%s{\"name\":%s,\"x\":%d,\"y\":%d}", i ? "," : "",
                      name, ce->affordances[i].x, ce->affordances[i].y);
    }
    o += snprintf(out + o, cap - (size_t)o, "]");
    return o;
}

static int put_grid(const sess_t *x, bool agent, char *out, size_t cap) {
    const cfg_environment *ce = &x->s->cfg.environment;
    int o = snprintf(out, cap, "{\"width\":%d,\"height\":%d,", ce->width, ce->height);
    if (agent)
        o += snprintf(out + o, cap - (size_t)o, "\"agent\":{\"x\":%d,\"y\":%d},", x->env.x,
                      x->env.y);
    o += snprintf(out + o, cap - (size_t)o, "\"affordances\":");
    o += put_affordances(ce, out + o, cap - (size_t)o);
    o += snprintf(out + o, cap - (size_t)o, "}");
    return o;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start_episode(sess_t *x) {
    env_reset(&x->env);
    if (x->s->multiplier > 0) x->env.multiplier = x->s->multiplier;
    x->episode++;
    x->cum = 0;
    x->need_start = false;
    char out[OUT_CAP], model[80] = "null";
    if (!x->untrained) smsg_json_string(x->model, model, sizeof model);
    int o = snprintf(
        out, sizeof out,
        "{\"type\":\"episode_start\",\"episode\":%d,\"model\":%s,\"grid\":", x->episode, model);
    o += put_grid(x, true, out + o, sizeof out - (size_t)o);
    o += snprintf(out + o, sizeof out - (size_t)o, ",\"meters\":");
    o += put_meters(&x->env, out + o, sizeof out - (size_t)o);
    o += snprintf(out + o, sizeof out - (size_t)o, "}");
    send_text(x, OQ_RECORD, out, o);
}

static void end_episode(sess_t *x, const char *reason) {
    char out[256];
    int o = snprintf(out, sizeof out,
                     "{\"type\":\"episode_end\",\"episode\":%d,\"steps\":%d,\"total_reward\":%.6g,"
                     "\"reason\":\"%s\"}",
                     x->episode, x->env.step, x->cum, reason);
    send_text(x, OQ_RECORD, out, o);
    x->need_start = true;
}

/* One greedy step and its state_update. */
static void step_once(sess_t *x) {
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
    float r = env_reward(e, &x->s->cfg.agent);
    x->cum += r;
    char out[OUT_CAP];
    int o = snprintf(out, sizeof out,
                     "{\"type\":\"state_update\",\"episode\":%d,\"step\":%d,\"grid\":", x->episode,
                     e->step);
    o += put_grid(x, true, out + o, sizeof out - (size_t)o);
    o += snprintf(out + o, sizeof out - (size_t)o, ",\"meters\":");
    o += put_meters(e, out + o, sizeof out - (size_t)o);
    o += snprintf(out + o, sizeof out - (size_t)o, ",\"action\":\"%s\",\"q_values\":[",
                  env_action_names[a]);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++)
        o += snprintf(out + o, sizeof out - (size_t)o, "%s%.6g", i ? "," : "", (double)q[i]);
    o += snprintf(out + o, sizeof out - (size_t)o, "],\"action_masks\":[");
    for (int i = 0; i < ENV_NUM_ACTIONS; i++)
        o += snprintf(out + o, sizeof out - (size_t)o, "%s%s", i ? "," : "",
                      (mask >> i) & 1 ? "true" : "false");
    char hour[32] = "null";
    if (x->s->cfg.environment.day_cycle) snprintf(hour, sizeof hour, "%.4g", env_hour(e));
    o += snprintf(out + o, sizeof out - (size_t)o,
                  "],\"reward\":%.6g,\"cumulative_reward\":%.6g,\"hour\":%s,\"timestamp\":%.3f}",
                  (double)r, x->cum, hour, wall_now());
    send_text(x, OQ_FRAME, out, o);
    if (oc != ENV_RUNNING) end_episode(x, env_outcome_names[oc]);
}

/* Steps are scheduled against deadlines (start + k * period), not "period after the last
 * one", so a late tick on a busy machine does not slow the session down: the next one
 * comes sooner. A session more than a period behind drops the backlog instead of
 * bursting. */
static void on_timer(uv_timer_t *t) {
    sess_t *x = t->data;
    step_once(x);
    if (!x->playing) return;
    double now = (double)uv_now(t->loop), period = 1000.0 / x->speed;
    x->next_due += period;
    if (x->next_due < now - period) x->next_due = now;
    double delay = x->next_due - now;
    uv_timer_start(&x->timer, on_timer, delay > 0 ? (uint64_t)(delay + 0.5) : 0, 0);
}

static void restart_timer(sess_t *x) {
    uv_timer_stop(&x->timer);
    if (!x->playing) return;
    double period = 1000.0 / x->speed;
    x->next_due = (double)uv_now(x->timer.loop) + period;
    uv_timer_start(&x->timer, on_timer, (uint64_t)(period + 0.5), 0);
}

static void send_model_loaded(sess_t *x, const char *reason) {
    char out[1024], model[80] = "null", why[400] = "null";
    if (!x->untrained) smsg_json_string(x->model, model, sizeof model);
    if (reason) smsg_json_string(reason, why, sizeof why);
    srv_model_cache *mc = &x->s->model;
    char score[32] = "null";
    int64_t ep = 0;
    if (!x->untrained && strcmp(mc->path, x->path) == 0) {
        ep = mc->info.episode;
        if (mc->info.score >= 0) snprintf(score, sizeof score, "%.6g", mc->info.score);
    }
    int o = snprintf(out, sizeof out,
                     "{\"type\":\"model_loaded\",\"model\":%s,\"episode\":%lld,\"score\":%s,"
                     "\"untrained\":%s,\"follow_latest\":%s,\"reason\":%s}",
                     model, (long long)ep, score, x->untrained ? "true" : "false",
                     x->follow ? "true" : "false", why);
    send_text(x, OQ_RECORD, out, o);
}

static void base_name(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    snprintf(out, cap, "%.63s", b ? b + 1 : path);
    char *dot = strstr(out, ".ckpt");
    if (dot) *dot = 0;
}

/* Loads `model` into x's policy (through the server's one-checkpoint cache). 0, or -1
 * with err; 1 when model is "latest" and there is no checkpoint at all (x plays its
 * untrained policy). */
static int load_model(sess_t *x, const char *model, char *err, size_t errlen) {
    srv_t *s = x->s;
    char path[CFG_PATH_MAX];
    if (ckpt_resolve(s->ckpt_dir, model, path, sizeof path, err, errlen) < 0) {
        if (strcmp(model, "latest") == 0) {
            ckpt_info one;
            char e2[64];
            if (ckpt_list(s->ckpt_dir, &one, 1, e2, sizeof e2) <= 0) return 1;
        }
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%.300s: cannot read", path);
        return -1;
    }
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    srv_model_cache *mc = &s->model;
    size_t n = policy_num_params(x->pol);
    if (!(strcmp(mc->path, path) == 0 && mc->mtime_ns == mt && mc->size == st.st_size &&
          mc->n == n && mc->params)) {
        ckpt_info info;
        if (ckpt_load_policy(path, &s->cfg, x->pol, &info, err, errlen) < 0) return -1;
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

static void send_result(sess_t *x, const smsg_command *cmd, bool ok, const char *error) {
    char out[600];
    int n = smsg_result_json(cmd, ok, error, out, sizeof out);
    send_text(x, OQ_RECORD, out, n);
}

static void send_connected(sess_t *x) {
    srv_t *s = x->s;
    enum { MAX_MODELS = 64 };
    ckpt_info *info = calloc(MAX_MODELS, sizeof *info);
    char err[200];
    int n = info ? ckpt_list(s->ckpt_dir, info, MAX_MODELS, err, sizeof err) : 0;
    if (n < 0) n = 0;
    size_t cap = OUT_CAP + s->world_len + (size_t)n * 200;
    char *out = malloc(cap);
    if (!out) {
        free(info);
        return;
    }
    char cn[80];
    smsg_json_string(s->cfg.name, cn, sizeof cn);
    int o = snprintf(
        out, cap,
        "{\"type\":\"connected\",\"protocol\":1,\"session\":%llu,\"config\":%s,\"models\":[",
        (unsigned long long)x->c->id, cn);
    for (int i = 0; i < n; i++) {
        char score[32] = "null";
        if (info[i].score >= 0) snprintf(score, sizeof score, "%.6g", info[i].score);
        o += snprintf(out + o, cap - (size_t)o,
                      "%s{\"name\":\"%s\",\"episode\":%lld,\"score\":%s,\"latest\":%s,\"best\":%s}",
                      i ? "," : "", info[i].name, (long long)info[i].episode, score,
                      info[i].is_latest ? "true" : "false", info[i].is_best ? "true" : "false");
    }
    o += snprintf(out + o, cap - (size_t)o, "],\"grid\":");
    o += put_grid(x, false, out + o, cap - (size_t)o);
    o += snprintf(out + o, cap - (size_t)o, ",\"actions\":[");
    for (int i = 0; i < ENV_NUM_ACTIONS; i++)
        o += snprintf(out + o, cap - (size_t)o, "%s\"%s\"", i ? "," : "", env_action_names[i]);
    o += snprintf(out + o, cap - (size_t)o, "],\"meters\":[");
    for (int i = 0; i < CFG_NUM_METERS; i++)
        o += snprintf(out + o, cap - (size_t)o, "%s\"%s\"", i ? "," : "", cfg_meter_names[i]);
    /* world: the text built at start-up, as in the training hello (cap has room for it);
     * grid, actions and meters above stay for clients that predate it. */
    o += snprintf(out + o, cap - (size_t)o,
                  "],\"max_steps\":%d,\"speed\":%.6g,\"playing\":false,\"follow_latest\":false,"
                  "\"world\":%s}",
                  s->cfg.environment.max_steps, x->speed, s->world);
    if (o > 0 && (size_t)o < cap) srv_send(s, x->c, OQ_RECORD, out, (size_t)o);
    free(out);
    free(info);
}

sess_t *sess_create(srv_t *s, conn_t *c, char *err, size_t errlen) {
    sess_t *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->s = s;
    x->c = c;
    x->speed = 10;
    uint64_t seed =
        s->cfg.training.seed ^ (++s->sess_seed * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)time(NULL);
    if (env_init(&x->env, &s->cfg.environment, seed) < 0) {
        snprintf(err, errlen, "the config's environment cannot be run");
        free(x);
        return NULL;
    }
    x->pol = policy_create(&s->cfg, seed, err, errlen);
    if (!x->pol) {
        free(x);
        return NULL;
    }
    uv_timer_init(s->loop, &x->timer);
    x->timer.data = x;
    send_connected(x);
    char lerr[400];
    int r = load_model(x, "latest", lerr, sizeof lerr);
    if (r == 0) {
        send_model_loaded(x, NULL);
    } else {
        x->untrained = true;
        char why[512];
        snprintf(why, sizeof why, "%s: playing the untrained policy",
                 r == 1 ? "no checkpoint yet" : lerr);
        send_model_loaded(x, why);
    }
    start_episode(x);
    return x;
}

static void on_timer_closed(uv_handle_t *h) {
    sess_t *x = h->data;
    policy_free(x->pol);
    free(x);
}

void sess_destroy(sess_t *x) {
    uv_timer_stop(&x->timer);
    x->c = NULL;
    uv_close((uv_handle_t *)&x->timer, on_timer_closed);
}

void sess_command(sess_t *x, const smsg_command *cmd) {
    char err[400];
    switch (cmd->cmd) {
        case SMSG_LOAD: {
            int r = load_model(x, cmd->model, err, sizeof err);
            if (r < 0) {
                char e[480];
                if (strstr(err, "no such") || strstr(err, "not found") || strstr(err, "unknown"))
                    snprintf(e, sizeof e, "unknown model '%s'", cmd->model);
                else
                    snprintf(e, sizeof e, "checkpoint refused: %s", err);
                send_result(x, cmd, false, e);
                return;
            }
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
        case SMSG_PLAY:
            x->playing = true;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case SMSG_PAUSE:
            x->playing = false;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case SMSG_STEP:
            send_result(x, cmd, true, NULL);
            step_once(x);
            return;
        case SMSG_RESET:
            send_result(x, cmd, true, NULL);
            if (!x->need_start) end_episode(x, "reset");
            start_episode(x);
            return;
        case SMSG_SET_SPEED:
            x->speed = cmd->speed;
            send_result(x, cmd, true, NULL);
            restart_timer(x);
            return;
        case SMSG_FOLLOW_LATEST:
            x->follow = cmd->enabled;
            send_result(x, cmd, true, NULL);
            if (x->follow) sess_checkpoints_changed(x->s);
            return;
        default:
            send_result(x, cmd, false, "unknown command");
    }
}

void sess_checkpoints_changed(srv_t *s) {
    for (conn_t *c = s->lists[EP_INFERENCE]; c; c = c->next) {
        sess_t *x = c->sess;
        if (!x || !x->follow) continue;
        char path[CFG_PATH_MAX], err[400];
        if (ckpt_resolve(s->ckpt_dir, "latest", path, sizeof path, err, sizeof err) < 0) continue;
        struct stat st;
        if (stat(path, &st) < 0) continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (!x->untrained && strcmp(path, x->path) == 0 && mt == x->loaded_mtime_ns) continue;
        if (load_model(x, "latest", err, sizeof err) == 0)
            send_model_loaded(x, NULL);
        else
            log_warn("session %llu: reload of latest failed: %s", (unsigned long long)c->id, err);
    }
}
