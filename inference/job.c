/* inference/job.c — see job.h. */
#include "inference/job.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clk.h"
#include "common/log.h"

#define COUNT_MAX 1000000000000000LL /* 1e15 episodes or steps: far beyond any run */
/* Trainer messages relayed to browsers: an episode, status or checkpoint record is a few
 * hundred bytes, a visual-mode frame a few KiB; anything far larger is refused. */
#define RECORD_MAX (64 * 1024)
#define FRAME_MAX  (1024 * 1024)
#define JSON_DEPTH 32
/* The overview's hello carries at most this many points of each job's history. */
#define OVERVIEW_POINTS 1000

/* The broadcast: one shared message queued by reference to every training client of
 * job j. */
static void broadcast(job_set *s, job_t *j, outq_kind kind, const char *json, size_t len) {
    if (!s->conns->lists[CONN_TRAINING]) return;
    outq_msg *m = outq_msg_new(&s->conns->pool, kind, json, len);
    if (!m) return;
    for (conn_t *c = s->conns->lists[CONN_TRAINING]; c; c = c->next)
        if (c->job == j) conn_push(s->conns, c, m);
    outq_msg_unref(&s->conns->pool, m);
}

/* A count from a trainer message or metrics.jsonl: clamped, so that 1e308 or -5 cannot
 * become a negative or overflowing counter. */
static int64_t count_of(double v) {
    return json_clamp_i64(v, 0, COUNT_MAX);
}

static const char *get_str(cJSON *o, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_num(cJSON *o, const char *k, double *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v)) return false;
    *out = v->valuedouble;
    return true;
}

/* ---- jobs ---- */

/* The default job's id: the run directory's base name, in [A-Za-z0-9._-]. */
static void default_job_id(const char *run_dir, char *out, size_t cap) {
    char tmp[CFG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", run_dir);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0;
    const char *base = strrchr(tmp, '/');
    base = base ? base + 1 : tmp;
    snprintf(out, cap, "%.127s", *base ? base : "job");
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') *p = '_';
}

static void job_free(job_set *s, job_t *j) {
    if (!j) return;
    if (j->hello) outq_msg_unref(&s->conns->pool, j->hello);
    hist_close(&j->hist);
    free(j->last_episode);
    free(j);
}

/* A new job (appended to s->jobs) with its history from RUN_DIR/metrics.jsonl. The run's
 * own job keeps history_bytes of history; a sweep's jobs an eighth each, so that 64 jobs
 * stay within 9 x history_bytes. NULL with err. */
/* Takes the job's entry of the sweep file (NULL: the file does not name it); true when
 * anything a row shows changed. */
static bool take_sweep_entry(job_t *j, const sweepf_entry *e) {
    sweepf_entry next;
    if (e)
        next = *e;
    else
        memset(&next, 0, sizeof next);
    if (memcmp(&next, &j->sweep, sizeof next) == 0) return false;
    j->sweep = next;
    return true;
}

static job_t *job_new(job_set *s, const char *id, const char *run_dir, char *err, size_t errlen) {
    if (s->n_jobs >= JOB_MAX) {
        snprintf(err, errlen, "too many jobs (%d)", JOB_MAX);
        return NULL;
    }
    job_t *j = calloc(1, sizeof *j);
    size_t bytes = (size_t)s->cfg->server.history_bytes / (s->n_jobs ? 8 : 1);
    if (!j || hist_init(&j->hist, s->cfg->server.history_limit, bytes) < 0) {
        free(j);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(j->job_id, sizeof j->job_id, "%s", id);
    snprintf(j->run_dir, sizeof j->run_dir, "%s", run_dir);
    snprintf(j->config_name, sizeof j->config_name, "%s", s->cfg->name);
    snprintf(j->status, sizeof j->status, "waiting");
    take_sweep_entry(j, sweepf_find(&s->sweep, id));
    j->best_eval = NAN;
    char mpath[sizeof j->run_dir + 16];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", run_dir);
    int bad = 0, added = hist_load_jsonl(&j->hist, mpath, &bad, err, errlen);
    if (added < 0) {
        job_free(s, j);
        return NULL;
    }
    if (added || bad)
        log_info("history: %d episodes from %s (%d unreadable lines, %d kept)", added, mpath, bad,
                 j->hist.count);
    /* the wall time from the file's first and last records, the best evaluation from the
     * kept history (records we printed ourselves: a plain look for the key is enough) */
    past_time_span(mpath, &j->started, &j->last_ts);
    for (int i = 0; i < j->hist.count; i++) {
        const char *e = strstr(j->hist.rec[i], "\"eval_score\":");
        double v = e ? strtod(e + 13, NULL) : NAN;
        if (isfinite(v) && !(v <= j->best_eval)) j->best_eval = v;
    }
    if (j->hist.count) {
        const char *last = j->hist.rec[j->hist.count - 1];
        j->last_episode = strdup(last);
        cJSON *o = cJSON_Parse(last);
        double v;
        if (o && get_num(o, "episode", &v)) j->episode = j->hist_last = count_of(v);
        if (o && get_num(o, "epsilon", &v)) j->epsilon = v;
        if (o && get_num(o, "multiplier", &v)) j->multiplier = v;
        cJSON_Delete(o);
    }
    s->jobs[s->n_jobs++] = j;
    return j;
}

job_t *job_find(job_set *s, const char *id) {
    for (int i = 0; i < s->n_jobs; i++)
        if (strcmp(s->jobs[i]->job_id, id) == 0) return s->jobs[i];
    return NULL;
}

/* Viewers of job j. */
int job_viewers(const job_set *s, const job_t *j) {
    int n = 0;
    for (const conn_t *c = s->conns->lists[CONN_TRAINING]; c; c = c->next) n += c->job == j;
    return n;
}

/* A sweep directory's runs (subdirectories holding a config.toml) are jobs from the
 * start, with their history: a finished sweep can be looked at, and a run's page works
 * before its trainer links. At most JOB_MAX - 1; names must be job names. */
static void add_sweep_jobs(job_set *s) {
    DIR *d = opendir(s->run_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && s->n_jobs < JOB_MAX) {
        char rd[sizeof s->jobs[0]->run_dir], cf[sizeof rd + 16], err[200];
        struct stat st;
        if (!past_name_ok(e->d_name) || job_find(s, e->d_name)) continue;
        snprintf(rd, sizeof rd, "%s/%.200s", s->run_dir, e->d_name);
        snprintf(cf, sizeof cf, "%s/config.toml", rd);
        if (stat(rd, &st) < 0 || !S_ISDIR(st.st_mode) || stat(cf, &st) < 0) continue;
        if (!job_new(s, e->d_name, rd, err, sizeof err)) log_warn("job %s: %s", e->d_name, err);
    }
    closedir(d);
}

static void invalidate_hello(job_set *s, job_t *j) {
    if (j->hello) outq_msg_unref(&s->conns->pool, j->hello);
    j->hello = NULL;
}

/* The members the training hello and every job listing (a past run's too) share. */
static void put_progress_of(json_buf *jw, const char *config, const char *status, bool linked,
                            int64_t episode, int64_t total) {
    json_kstr(jw, "config", config);
    json_kstr(jw, "status", status);
    json_kbool(jw, "trainer_connected", linked);
    json_kint(jw, "episode", (long long)episode);
    json_kint(jw, "total_episodes", (long long)total);
}

static void put_progress(json_buf *jw, const job_t *j) {
    put_progress_of(jw, j->config_name, j->status, j->trainer != NULL, j->episode,
                    j->total_episodes);
}

outq_msg *job_hello(job_set *s, job_t *j) {
    if (j->hello) return j->hello;
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "type", "hello");
    json_kint(jw, "protocol", 1);
    json_kstr(jw, "job_id", j->job_id);
    put_progress(jw, j);
    json_kbool(jw, "visual", j->visual);
    json_knum(jw, "speed", j->speed);
    json_kint(jw, "history_total", (long long)j->hist.total);
    json_kbool(jw, "history_downsampled", j->hist.downsampled);
    json_key(jw, "world");
    json_raw(jw, s->world, s->world_len);
    json_key(jw, "history");
    if (!json_ok(jw)) return NULL;
    size_t head = jw->len, total = head + hist_array_size(&j->hist) + 2;
    outq_msg *m = outq_msg_new(&s->conns->pool, OUTQ_RECORD, NULL, total);
    if (!m) return NULL;
    memcpy(m->data, jw->buf, head);
    size_t n = head + hist_write_array(&j->hist, m->data + head);
    m->data[n++] = '}';
    m->data[n] = 0;
    m->len = n;
    j->hello = m;
    return m;
}

static void set_status(job_set *s, job_t *j, const char *st) {
    snprintf(j->status, sizeof j->status, "%s", st);
    invalidate_hello(s, j);
}

static void on_trainer_episode(job_set *s, job_t *j, cJSON *o) {
    double v;
    if (get_num(o, "episode", &v)) j->episode = count_of(v);
    if (get_num(o, "epsilon", &v)) j->epsilon = v;
    if (get_num(o, "total_reward", &v)) j->last_reward = v;
    if (get_num(o, "steps", &v)) j->last_steps = count_of(v);
    if (get_num(o, "best", &v)) j->best = v;
    if (get_num(o, "steps_per_second", &v)) j->sps = v;
    if (get_num(o, "multiplier", &v)) j->multiplier = v;
    if (get_num(o, "eval_score", &v) && isfinite(v) && !(v <= j->best_eval)) j->best_eval = v;
    if (get_num(o, "timestamp", &v) && isfinite(v)) {
        if (!isfinite(j->started)) j->started = v;
        if (!(v <= j->last_ts)) j->last_ts = v;
    }
    /* A record the history already has (sent again by a link that reconnected to a
     * restarted server, which read it from metrics.jsonl) is not kept twice. */
    double ep;
    bool has_ep = get_num(o, "episode", &ep);
    if (has_ep && count_of(ep) <= j->hist_last && j->hist.count) return;
    if (has_ep) j->hist_last = count_of(ep);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "type");
    char *rec = cJSON_PrintUnformatted(o);
    if (!rec) return;
    hist_add(&j->hist, rec, strlen(rec));
    free(j->last_episode);
    j->last_episode = rec;
    invalidate_hello(s, j);
}

/* A row's "slurm" (PROTOCOL §5.4): the run's Slurm task as the sweep file says, or null for
 * a run that is not on Slurm. */
static void put_slurm(json_buf *jw, const sweepf_entry *sw) {
    json_key(jw, "slurm");
    if (!sw || !sw->slurm[0]) {
        json_null(jw);
        return;
    }
    json_obj_open(jw);
    json_kstr(jw, "state", sw->slurm);
    json_key(jw, "job");
    json_str_or_null(jw, sw->slurm_job[0] ? sw->slurm_job : NULL);
    json_key(jw, "node");
    json_str_or_null(jw, sw->slurm_node[0] ? sw->slurm_node : NULL);
    json_key(jw, "reason");
    json_str_or_null(jw, sw->slurm_reason[0] ? sw->slurm_reason : NULL);
    json_obj_close(jw);
}

/* The row members a job and a past run share (PROTOCOL §5.4), in the table's order. */
static void put_row(json_buf *jw, const char *id, bool is_default, bool past, const char *config,
                    const char *status, const sweepf_entry *sw, bool linked, int64_t episode,
                    int64_t total, double multiplier, double sps, double best, double best_eval,
                    double started, double wall) {
    json_kstr(jw, "id", id);
    json_kbool(jw, "default", is_default);
    json_kbool(jw, "past", past);
    put_progress_of(jw, config, status, linked, episode, total);
    json_key(jw, "sweep_state");
    json_str_or_null(jw, sw && sw->state[0] ? sw->state : NULL);
    put_slurm(jw, sw);
    json_knum(jw, "multiplier", multiplier);
    json_knum(jw, "steps_per_second", sps);
    json_knum(jw, "best", best);
    json_knum(jw, "best_eval", best_eval); /* null when NAN */
    json_knum(jw, "started", started);
    json_knum(jw, "wall_seconds", wall);
}

void job_put_state(json_buf *jw, const job_t *j, bool is_default) {
    double wall = j->last_ts - j->started;
    put_row(jw, j->job_id, is_default, false, j->config_name, j->status, &j->sweep,
            j->trainer != NULL, j->episode, j->total_episodes, j->multiplier, j->sps, j->best,
            j->best_eval, j->started, isfinite(wall) && wall > 0 ? wall : 0);
}

void job_put_past(json_buf *jw, const past_run *r) {
    put_row(jw, r->id, false, true, r->config, r->status, NULL, false, r->episode, r->total,
            r->multiplier, r->sps, r->best, r->best_eval, r->started, r->wall);
}

/* Queues the message in jw once for every overview viewer (/ws/jobs); a message that did
 * not fit is dropped whole. */
static void overview_send(job_set *s, const json_buf *jw) {
    if (!json_ok(jw)) return;
    outq_msg *m = outq_msg_new(&s->conns->pool, OUTQ_RECORD, jw->buf, jw->len);
    if (!m) return;
    for (conn_t *c = s->conns->lists[CONN_TRAINING]; c; c = c->next)
        if (c->overview) conn_push(s->conns, c, m);
    outq_msg_unref(&s->conns->pool, m);
}

/* Tells the overview viewers job j's row changed: {"job":ID,"type":"job","row":{...}}. */
static void overview_row(job_set *s, const job_t *j) {
    if (!s->n_overview) return;
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "job", j->job_id);
    json_kstr(jw, "type", "job");
    json_key(jw, "row");
    json_obj_open(jw);
    job_put_state(jw, j, j == s->jobs[0]);
    json_obj_close(jw);
    json_obj_close(jw);
    overview_send(s, jw);
}

/* Relays a trainer record of job j to the overview viewers (/ws/jobs) with the job's id
 * first: {"job":"seed=3","type":"episode",...}. */
static void overview_relay(job_set *s, const job_t *j, const char *in, size_t len) {
    if (!s->n_overview || len < 2 || in[0] != '{') return;
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "job", j->job_id);
    json_append(jw, ",", 1);
    json_append(jw, in + 1, len - 1); /* validated by on_trainer_message */
    overview_send(s, jw);
}

/* Job j's kept history as series columns (PROTOCOL §5.4), every stride-th record so that
 * at most OVERVIEW_POINTS remain, the newest always included; v holds PAST_COLS x
 * OVERVIEW_POINTS values. */
static void put_series(json_buf *jw, const job_t *j, double *v) {
    int n = j->hist.count, stride = (n + OVERVIEW_POINTS - 1) / OVERVIEW_POINTS, k = 0;
    if (stride < 1) stride = 1;
    for (int r = n ? (n - 1) % stride : 0; r < n && k < OVERVIEW_POINTS; r += stride, k++) {
        cJSON *o = cJSON_ParseWithLength(j->hist.rec[r], j->hist.len[r]);
        past_record_columns(o, v, OVERVIEW_POINTS, k);
        cJSON_Delete(o);
    }
    past_write_series(jw, v, OVERVIEW_POINTS, k);
}

/* The overview's hello (PROTOCOL §5.4): every job's state and its history as columns,
 * thinned to OVERVIEW_POINTS, so that 16 runs of 10,000 episodes stay well under 1 MiB;
 * then the past runs' rows, without series (fetched on request). */
outq_msg *job_overview_hello(job_set *s) {
    double *v = malloc(sizeof(double) * OVERVIEW_POINTS * PAST_COLS);
    if (!v) return NULL;
    job_refresh_past(s, false);
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "type", "overview");
    json_kint(jw, "protocol", 1);
    json_key(jw, "jobs");
    json_arr_open(jw);
    for (int i = 0; i < s->n_jobs; i++) {
        const job_t *j = s->jobs[i];
        json_obj_open(jw);
        job_put_state(jw, j, i == 0);
        json_key(jw, "series");
        put_series(jw, j, v);
        json_obj_close(jw);
    }
    for (int i = 0; i < s->past.n; i++) {
        json_obj_open(jw);
        job_put_past(jw, &s->past.runs[i]);
        json_obj_close(jw);
    }
    json_arr_close(jw);
    json_obj_close(jw);
    free(v);
    if (!json_ok(jw)) return NULL;
    return outq_msg_new(&s->conns->pool, OUTQ_RECORD, jw->buf, jw->len);
}

/* Broadcasts the JSON being built in s->jb (nothing when it could not be built). */
static void broadcast_jb(job_set *s, job_t *j) {
    long n = json_finish(s->jb);
    if (n > 0) broadcast(s, j, OUTQ_RECORD, s->jb->buf, (size_t)n);
}

static void final_message(job_set *s, job_t *j, const char *type, const char *error) {
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "type", type);
    json_kstr(jw, "job_id", j->job_id);
    json_kstr(jw, "status", type);
    json_kbool(jw, "complete", true);
    if (strcmp(type, "completed") == 0)
        json_kint(jw, "episode", (long long)j->episode);
    else
        json_kstr(jw, "error", error);
    json_knum(jw, "timestamp", clk_wall());
    json_obj_close(jw);
    broadcast_jb(s, j);
}

/* A cheap look at the first bytes: frames are the bulk of the traffic in visual mode and
 * need no parsing, only relaying. */
static bool looks_like_frame(const char *in, size_t len) {
    size_t n = len < 48 ? len : 48;
    static const char pat[] = "\"type\":\"frame\"";
    for (size_t i = 0; i + sizeof pat - 1 <= n; i++)
        if (memcmp(in + i, pat, sizeof pat - 1) == 0) return true;
    return false;
}

/* Logs a refused trainer message: the first few, then at powers of two. */
static void refuse_trainer_message(job_set *s, const char *why, size_t len) {
    uint64_t n = ++s->trainer_refused;
    if (n <= 3 || (n & (n - 1)) == 0)
        log_warn("trainer message refused (%llu so far): %s (%zu bytes)", (unsigned long long)n,
                 why, len);
}

/* Binds trainer c to its job: `name` from its hello (NULL: the run's own job). A sweep's
 * job is a run directory below the server's, created on first sight. Returns the job, or
 * NULL after closing c (4004 unknown job, 4009 the job has its trainer, 4029 too many). */
static job_t *bind_trainer(job_set *s, conn_t *c, const char *name) {
    job_t *j = s->jobs[0];
    if (name) {
        char rd[sizeof j->run_dir], e[200];
        struct stat st;
        snprintf(rd, sizeof rd, "%s/%.200s", s->run_dir, past_name_ok(name) ? name : "");
        j = past_name_ok(name) ? job_find(s, name) : NULL;
        if (!j && past_name_ok(name) && stat(rd, &st) == 0 && S_ISDIR(st.st_mode)) {
            j = job_new(s, name, rd, e, sizeof e);
            if (!j) {
                log_warn("trainer from %s for job '%.200s' refused: %s", c->peer, name, e);
                conn_close(c, 4029, "too many jobs");
                return NULL;
            }
            log_info("job %s: %s", name, rd);
        }
        if (!j) {
            log_warn("trainer from %s for an unknown job '%.200s' (no run directory %s/NAME)",
                     c->peer, name, s->run_dir);
            conn_close(c, 4004, "unknown job");
            return NULL;
        }
    }
    if (j->trainer && j->trainer != c) {
        s->refused_busy++;
        log_warn("second trainer for job %s from %s refused (4009)", j->job_id, c->peer);
        conn_close(c, 4009, "trainer already linked");
        return NULL;
    }
    j->trainer = c;
    c->job = j;
    log_info("trainer linked from %s for job %s", c->peer, j->job_id);
    invalidate_hello(s, j);
    return j;
}

void job_trainer_message(job_set *s, conn_t *c, const char *in, size_t len) {
    job_t *j = c->job;
    if (c->close_code) return; /* refused: being closed */
    /* What is relayed reaches every viewer verbatim: it must be one valid JSON value in
     * valid UTF-8 (checked without building a tree), and of a sane size. */
    if (!json_valid(in, len, JSON_DEPTH)) {
        refuse_trainer_message(s, "not valid JSON (or not UTF-8, or nested too deep)", len);
        return;
    }
    if (!j && looks_like_frame(in, len) && !(j = bind_trainer(s, c, NULL))) return;
    if (looks_like_frame(in, len)) {
        if (len > FRAME_MAX)
            refuse_trainer_message(s, "frame over 1 MiB", len);
        else
            broadcast(s, j, OUTQ_FRAME, in, len);
        return;
    }
    if (len > RECORD_MAX) {
        refuse_trainer_message(s, "record over 64 KiB", len);
        return;
    }
    cJSON *o = cJSON_ParseWithLength(in, len);
    const char *type = o ? get_str(o, "type") : NULL;
    if (!o || !cJSON_IsObject(o) || !type) {
        if (++c->errors <= 3) log_warn("trainer sent a message without a type; ignored");
        cJSON_Delete(o);
        return;
    }
    if (!j && !(j = bind_trainer(s, c, strcmp(type, "hello") == 0 ? get_str(o, "job") : NULL))) {
        cJSON_Delete(o);
        return;
    }
    double v;
    if (strcmp(type, "hello") == 0) {
        const char *cfgname = get_str(o, "config"), *st = get_str(o, "status");
        if (cfgname) snprintf(j->config_name, sizeof j->config_name, "%s", cfgname);
        if (get_num(o, "total_episodes", &v)) j->total_episodes = count_of(v);
        if (get_num(o, "resumed_from", &v)) j->resumed_from = count_of(v);
        if (j->episode < j->resumed_from) j->episode = j->resumed_from;
        set_status(s, j, st && strlen(st) < 20 ? st : "running");
        j->trainer_seen = true;
        json_buf *jw = s->jb;
        json_reset(jw);
        json_obj_open(jw);
        json_kstr(jw, "type", "trainer_connected");
        json_kstr(jw, "job_id", j->job_id);
        json_kstr(jw, "config", j->config_name);
        json_kint(jw, "total_episodes", (long long)j->total_episodes);
        json_kint(jw, "resumed_from", (long long)j->resumed_from);
        json_obj_close(jw);
        broadcast_jb(s, j);
        log_info("trainer hello: config %s, %lld episodes, resumed from %lld", j->config_name,
                 (long long)j->total_episodes, (long long)j->resumed_from);
        job_refresh_sweep(s, true); /* run_demo marked it running just before */
        overview_row(s, j);
    } else if (strcmp(type, "episode") == 0) {
        broadcast(s, j, OUTQ_RECORD, in, len); /* verbatim, before the history copy is made */
        overview_relay(s, j, in, len);
        on_trainer_episode(s, j, o);
    } else if (strcmp(type, "status") == 0) {
        const char *st = get_str(o, "status");
        cJSON *vis = cJSON_GetObjectItemCaseSensitive(o, "visual");
        if (get_num(o, "speed", &v)) j->speed = v;
        if (cJSON_IsBool(vis)) j->visual = cJSON_IsTrue(vis);
        if (get_num(o, "episode", &v)) j->episode = count_of(v);
        if (get_num(o, "total_episodes", &v)) j->total_episodes = count_of(v); /* extend */
        broadcast(s, j, OUTQ_RECORD, in, len);
        overview_relay(s, j, in, len);
        if (st && strlen(st) < 20) {
            set_status(s, j, st);
            if (strcmp(st, "completed") == 0) final_message(s, j, "completed", NULL);
            if (strcmp(st, "failed") == 0) {
                const char *e = get_str(o, "error");
                char msg[260];
                snprintf(msg, sizeof msg, "trainer reported: %s", e ? e : "failure");
                final_message(s, j, "failed", msg);
            }
        }
        invalidate_hello(s, j);
    } else if (strcmp(type, "checkpoint") == 0) {
        broadcast(s, j, OUTQ_RECORD, in, len);
        s->on_checkpoint(s->arg);
    } else {
        /* A frame the quick look missed (other spacing) is still only a frame. */
        broadcast(s, j, strcmp(type, "frame") == 0 ? OUTQ_FRAME : OUTQ_RECORD, in, len);
    }
    cJSON_Delete(o);
}

/* Sends a validated command to the trainer. 0, or -1 with *why. */
int job_relay_command(job_set *s, job_t *j, const cmd_msg *cmd, const char **why) {
    if (!j->trainer) {
        *why = "no trainer linked";
        return -1;
    }
    char out[256];
    int n = cmd_trainer_json(cmd, ++j->next_cmd_id, out, sizeof out);
    if (n < 0 || conn_send(s->conns, j->trainer, OUTQ_RECORD, out, (size_t)n) < 0) {
        *why = "trainer not reachable";
        return -1;
    }
    return 0;
}

void job_trainer_closed(job_set *s, conn_t *c, bool stopping) {
    job_t *j = c->job;
    j->trainer = NULL;
    int code = c->peer_close_code ? c->peer_close_code : 1006;
    log_info("trainer link of job %s closed (%d)", j->job_id, code);
    /* `stopped` is not final: a stopped trainer idles, linked, until `start`, so
     * losing it then is news to the viewers too. */
    if (strcmp(j->status, "completed") && strcmp(j->status, "failed") && !stopping) {
        set_status(s, j, "disconnected");
        json_buf *jw = s->jb;
        json_reset(jw);
        json_obj_open(jw);
        json_kstr(jw, "type", "trainer_disconnected");
        json_kstr(jw, "status", "disconnected");
        json_kint(jw, "code", code);
        json_obj_close(jw);
        broadcast_jb(s, j);
    }
    invalidate_hello(s, j);
    if (!stopping) {
        job_refresh_sweep(s, true);
        overview_row(s, j);
    }
}

/* ---- the sweep file and past runs ---- */

void job_refresh_sweep(job_set *s, bool force) {
    uint64_t now = clk_mono_ms();
    if (!force && now - s->sweep_ms < 1000) return;
    s->sweep_ms = now;
    char path[CFG_PATH_MAX + 16], err[300];
    snprintf(path, sizeof path, "%s/sweep.toml", s->run_dir);
    int rc = sweepf_refresh(&s->sweep, path, err, sizeof err);
    if (rc < 0) log_warn("sweep file: %s (the runs' states stay as they were)", err);
    if (rc <= 0) return;
    for (int i = 1; i < s->n_jobs; i++) {
        job_t *j = s->jobs[i];
        if (take_sweep_entry(j, sweepf_find(&s->sweep, j->job_id))) overview_row(s, j);
    }
    /* a run the sweep names whose directory appeared after the server started */
    for (int i = 0; i < s->sweep.n && s->n_jobs < JOB_MAX; i++) {
        const char *name = s->sweep.e[i].name;
        char rd[sizeof s->jobs[0]->run_dir], cf[sizeof rd + 16];
        struct stat st;
        snprintf(rd, sizeof rd, "%s/%.200s", s->run_dir, name);
        snprintf(cf, sizeof cf, "%s/config.toml", rd);
        if (job_find(s, name) || stat(cf, &st) != 0) continue;
        job_t *j = job_new(s, name, rd, err, sizeof err);
        if (j)
            overview_row(s, j);
        else
            log_warn("job %s: %s", name, err);
    }
}

void job_refresh_past(job_set *s, bool force) {
    if (!s->runs_root) return;
    uint64_t now = clk_mono_ms();
    if (!force && s->past.scanned_ms && now - s->past.scanned_ms < 30000) return;
    if (past_scan(&s->past, s->runs_root, s->run_dir) < 0 && !s->past.scanned_ms)
        log_warn("runs root %s cannot be listed: no past runs", s->runs_root);
    s->past.scanned_ms = now;
}

int job_lookup(job_set *s, const char *id, job_ref *out) {
    memset(out, 0, sizeof *out);
    job_t *j = !id || !id[0] ? s->jobs[0] : job_find(s, id);
    if (j) {
        out->job = j;
        out->id = j->job_id;
        out->dir = j->run_dir;
        out->multiplier = &j->multiplier;
        return 0;
    }
    job_refresh_past(s, false);
    past_run *r = past_find(&s->past, id);
    if (!r) return -1;
    out->past = r;
    out->id = r->id;
    out->dir = r->dir;
    out->multiplier = &r->multiplier;
    return 0;
}

void job_put_series(job_set *s, const job_ref *ref, json_buf *jw) {
    (void)s;
    if (ref->job) {
        double *v = malloc(sizeof(double) * OVERVIEW_POINTS * PAST_COLS);
        if (v)
            put_series(jw, ref->job, v);
        else
            past_write_series(jw, NULL, 0, 0);
        free(v);
        return;
    }
    char path[PAST_DIR_MAX + 16];
    snprintf(path, sizeof path, "%s/metrics.jsonl", ref->dir);
    double best = NAN;
    past_series(path, PAST_POINTS, jw, &best);
    ref->past->best_eval = best;
}

int job_set_open(job_set *s, char *err, size_t errlen) {
    char id[sizeof s->jobs[0]->job_id];
    char path[CFG_PATH_MAX + 16], e[300];
    sweepf_init(&s->sweep);
    /* the states first: the jobs made next take theirs */
    snprintf(path, sizeof path, "%s/sweep.toml", s->run_dir);
    if (sweepf_refresh(&s->sweep, path, e, sizeof e) < 0) log_warn("sweep file: %s", e);
    s->sweep_ms = clk_mono_ms();
    default_job_id(s->run_dir, id, sizeof id);
    if (!job_new(s, id, s->run_dir, err, errlen)) return -1;
    add_sweep_jobs(s);
    return 0;
}

void job_set_close(job_set *s) {
    for (int i = 0; i < s->n_jobs; i++) job_free(s, s->jobs[i]);
    s->n_jobs = 0;
    sweepf_free(&s->sweep);
    past_free(&s->past);
}
