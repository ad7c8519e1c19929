/* inference/server.c — the lws protocol callback, HTTP API, static files, trainer link
 * and training broadcast. See server.h and docs/PROTOCOL.md. */
#include "inference/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <dirent.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/ckpt.h"
#include "common/clk.h"
#include "common/json.h"
#include "common/log.h"
#include "common/recfile.h"
#include "inference/admit.h"
#include "inference/cmd.h"
#include "inference/conn.h"
#include "inference/job.h"
#include "inference/session.h"
#include "inference/world.h"

#define TRAINER_MAX_MESSAGE (4 << 20)
#define MAX_ERRORS          20
#define RATE_PER_SEC        50.0
#define RATE_BURST          100.0
#define SLOW_CLOSE_MS       5000
/* Pending connections (admit.h): per peer address and in all; the header pool is larger
 * than the total so that a connection admitted never waits for a header buffer, and an
 * idle one gives its buffer back after AH_IDLE_SECS. */
#define ADMIT_PER_PEER 32
#define ADMIT_TOTAL    256
#define HEADER_POOL    512
#define AH_IDLE_SECS   5

struct srv {
    uv_loop_t *loop;
    cfg_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    char host[256];
    char run_dir[CFG_PATH_MAX];
    char ckpt_dir[CFG_PATH_MAX + 16];
    char static_root[CFG_PATH_MAX]; /* realpath, "" = none */
    char access_token[80];          /* "" = not required */
    char trainer_token[256];
    int frontend_port;
    uint64_t start_ms;
    bool stopping, destroyed;

    conn_set conns; /* every connection, by endpoint, and the message pool (conn.h) */
    /* The jobs: [0] is the run directory's own (a single run, as always); a sweep's
     * trainers add theirs by the `job` of their hello (PROTOCOL §4.1). */
    job_set jobs;
    sess_ctx sess; /* what the inference sessions share (session.h) */

    admit_t admit; /* connections that have not completed a request (admit.h) */
    /* The config's world (inference/world.h), serialized once at start-up: it never changes
     * during a run, so every hello and connected copies this text. */
    char *world;
    size_t world_len;

    /* metrics */
    uint64_t msgs_in[CONN_EP_COUNT];
    uint64_t refused_max, refused_origin, refused_token, refused_sessions;
    uint64_t refused_host;
    uint64_t http_requests;

    uv_timer_t tick;       /* 1 s housekeeping: slow clients */
    uv_timer_t stop_timer; /* bounds the wait for close frames */
    uv_timer_t fs_retry;   /* sets the checkpoint watch up once the folder exists */
    uv_timer_t fs_debounce;
    uv_fs_event_t fs_ev;
    bool fs_active;
    int open_handles;
    int stop_ticks;

    json_buf jb; /* building area for responses (dynamic, reused) */
};

static bool const_eq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* ---- browser messages ---- */

/* Token bucket: true when the client may send one more command now. */
static bool rate_ok(conn_t *c) {
    uint64_t now = clk_mono_ms();
    if (!c->tokens_ms)
        c->tokens = RATE_BURST;
    else
        c->tokens += (double)(now - c->tokens_ms) * RATE_PER_SEC / 1000.0;
    if (c->tokens > RATE_BURST) c->tokens = RATE_BURST;
    c->tokens_ms = now;
    if (c->tokens < 1) return false;
    c->tokens -= 1;
    return true;
}

/* Returns -1 when the connection must close (its close reason is set). */
static int on_browser_message(srv_t *s, conn_t *c, const char *in, size_t len) {
    s->msgs_in[c->ep]++;
    if (!rate_ok(c)) {
        log_warn("%s client %llu floods commands, closing (1008)", conn_ep_names[c->ep],
                 (unsigned long long)c->id);
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"rate limit",
                         10);
        return -1;
    }
    cmd_msg cmd;
    char err[200], out[1600];
    cmd_result r = cmd_parse(in, len, c->ep == CONN_TRAINING ? CMD_TRAINING : CMD_INFERENCE, &cmd,
                             err, sizeof err);
    if (r == CMD_BAD_JSON) {
        json_buf j;
        json_init_fixed(&j, out, sizeof out);
        json_obj_open(&j);
        json_kstr(&j, "type", "error");
        json_kstr(&j, "error", err);
        json_obj_close(&j);
        if (json_ok(&j)) conn_send(&s->conns, c, OUTQ_RECORD, out, j.len);
    } else if (r == CMD_REFUSED) {
        int n = cmd_result_json(&cmd, false, err, out, sizeof out);
        if (n > 0) conn_send(&s->conns, c, OUTQ_RECORD, out, (size_t)n);
    }
    if (r != CMD_OK) {
        if (++c->errors >= MAX_ERRORS) {
            log_warn("%s client %llu: too many bad messages, closing (1008)", conn_ep_names[c->ep],
                     (unsigned long long)c->id);
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                             (unsigned char *)"too many errors", 15);
            return -1;
        }
        return 0;
    }
    if (c->ep == CONN_INFERENCE) {
        if (c->sess) sess_command(c->sess, &cmd);
        return 0;
    }
    if (c->overview) {
        int n = cmd_result_json(&cmd, false, "the overview takes no commands: use a job's stream",
                                out, sizeof out);
        if (n > 0) conn_send(&s->conns, c, OUTQ_RECORD, out, (size_t)n);
        return 0;
    }
    const char *why = NULL;
    bool ok = job_relay_command(&s->jobs, c->job ? c->job : s->jobs.jobs[0], &cmd, &why) == 0;
    int n = cmd_result_json(&cmd, ok, ok ? NULL : why, out, sizeof out);
    if (n > 0) conn_send(&s->conns, c, OUTQ_RECORD, out, (size_t)n);
    return 0;
}

/* ---- the handshake: path, token, Origin ---- */

/* The endpoint of a WebSocket path; *job is a training viewer's job (NULL for an unknown
 * /ws/training/{job_id}). */
static conn_ep path_endpoint(srv_t *s, const char *uri, job_t **job) {
    *job = s->jobs.jobs[0];
    if (strcmp(uri, "/ws") == 0 || strcmp(uri, "/ws/") == 0) return CONN_INFERENCE;
    if (strcmp(uri, "/ws/trainer") == 0) return CONN_TRAINER;
    if (strcmp(uri, "/ws/training") == 0 || strcmp(uri, "/ws/training/") == 0) return CONN_TRAINING;
    if (strcmp(uri, "/ws/jobs") == 0) { /* the overview: a training viewer of no one job */
        *job = NULL;
        return CONN_TRAINING;
    }
    if (strncmp(uri, "/ws/training/", 13) == 0) {
        *job = job_find(&s->jobs, uri + 13);
        return CONN_TRAINING;
    }
    return CONN_NONE;
}

/* The token a request presents: ?token=, the rd_token cookie, or X-Run-Demo-Token. */
static void request_token(struct lws *wsi, char *out, size_t cap, bool *from_query) {
    *from_query = false;
    out[0] = 0;
    /* lws 4.1 copies the whole "token=VALUE" fragment and returns a pointer past "=". */
    char arg[320];
    const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, (int)sizeof arg);
    if (v && v[0]) {
        snprintf(out, cap, "%s", v);
        *from_query = true;
        return;
    }
    out[0] = 0;
    if (lws_hdr_custom_copy(wsi, out, (int)cap, "x-run-demo-token:", 17) > 0) return;
    out[0] = 0;
    char cookie[1024];
    if (lws_hdr_copy(wsi, cookie, sizeof cookie, WSI_TOKEN_HTTP_COOKIE) > 0) {
        for (char *p = cookie; (p = strstr(p, "rd_token=")) != NULL; p++) {
            if (p != cookie && p[-1] != ' ' && p[-1] != ';') continue;
            p += 9;
            size_t n = strcspn(p, "; ");
            if (n >= cap) n = cap - 1;
            memcpy(out, p, n);
            out[n] = 0;
            return;
        }
    }
}

static bool token_ok(struct lws *wsi, const char *expected, bool *from_query) {
    char tok[256];
    request_token(wsi, tok, sizeof tok, from_query);
    return tok[0] && const_eq(tok, expected);
}

/* True when the log should show the n-th occurrence of something repeated: the first
 * three, then at powers of two (a flood must not become a flood of log lines). */
static bool log_sparse(uint64_t n) {
    return n <= 3 || (n & (n - 1)) == 0;
}

/* name is in the comma-separated list (case-insensitive, spaces around names ignored). */
static bool in_list(const char *list, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && t[-1] == ' ') t--;
        if ((size_t)(t - p) == nl && nl && strncasecmp(p, name, nl) == 0) return true;
        p = e;
    }
    return false;
}

/* The Host header names this server (PROTOCOL.md §6): a loopback name, an IP literal (a
 * DNS-rebinding page has a name of its own, never a literal), the name we were bound
 * with, this machine's name, or a name listed in [unified_server] allowed_hosts. Anything
 * else is a page that made its own name resolve to us. */
static bool host_ok(srv_t *s, struct lws *wsi) {
    char h[300] = "", shown[300] = "";
    if (lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HOST) <= 0) goto refuse;
    memcpy(shown, h, sizeof shown);
    char *name = h, *port = NULL;
    if (h[0] == '[') {
        char *rb = strchr(h, ']');
        if (!rb) goto refuse;
        *rb = 0;
        name = h + 1;
        if (rb[1] == ':')
            port = rb + 2;
        else if (rb[1])
            goto refuse;
    } else {
        char *colon = strchr(h, ':');
        if (colon) {
            *colon = 0;
            port = colon + 1;
        }
    }
    if (port && (!port[0] || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5))
        goto refuse;
    unsigned char a[16];
    char self[256] = "", given[256];
    snprintf(given, sizeof given, "%s", s->host);
    if (given[0] == '[') { /* "[::1]" given: compare without brackets */
        memmove(given, given + 1, strlen(given));
        char *rb = strchr(given, ']');
        if (rb) *rb = 0;
    }
    if (gethostname(self, sizeof self) != 0) self[0] = 0;
    self[sizeof self - 1] = 0;
    if (name[0] &&
        (addr_is_loopback_name(name) || inet_pton(AF_INET, name, a) == 1 ||
         inet_pton(AF_INET6, name, a) == 1 || strcasecmp(name, given) == 0 ||
         (self[0] && strcasecmp(name, self) == 0) || in_list(s->cfg.server.allowed_hosts, name)))
        return true;
refuse:
    s->refused_host++;
    if (log_sparse(s->refused_host))
        log_warn("refused a request for Host '%.100s' (%llu so far): not a name of this server; "
                 "list it in [unified_server] allowed_hosts to allow it",
                 shown, (unsigned long long)s->refused_host);
    return false;
}

static bool origin_ok(srv_t *s, struct lws *wsi) {
    char origin[256];
    int n = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (n <= 0) return true; /* not a browser: the token (when required) is the gate */
    /* The name the browser used to reach us (Host header, without its port): on a server
     * bound to 0.0.0.0 that is the only way to know our own origin. A page elsewhere sends
     * its own origin, which does not match the Host it connects to. */
    char reqhost[256] = "";
    if (lws_hdr_copy(wsi, reqhost, sizeof reqhost, WSI_TOKEN_HOST) > 0) {
        char *colon = reqhost[0] == '[' ? strchr(reqhost, ']') : strrchr(reqhost, ':');
        if (colon && *colon == ']') colon = strchr(colon, ':');
        if (colon) *colon = 0;
    }
    const char *hosts[] = {s->host, "localhost", "127.0.0.1", "[::1]", reqhost};
    int ports[] = {s->port, s->frontend_port};
    for (size_t h = 0; h < sizeof hosts / sizeof hosts[0]; h++) {
        for (size_t p = 0; p < 2; p++) {
            char want[320];
            const char *host = hosts[h];
            if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) continue;
            if (strchr(host, ':') && host[0] != '[')
                snprintf(want, sizeof want, "http://[%s]:%d", host, ports[p]);
            else
                snprintf(want, sizeof want, "http://%s:%d", host, ports[p]);
            if (strcasecmp(origin, want) == 0) return true;
        }
    }
    s->refused_origin++;
    if (log_sparse(s->refused_origin))
        log_warn("refused a request from origin '%.100s' (%llu so far)", origin,
                 (unsigned long long)s->refused_origin);
    return false;
}

/* ---- HTTP ---- */

/* Our own security headers rather than lws's enforced set: its CSP forbids inline style
 * attributes, which a built Vue app may use. */
static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end) {
    static const char *const h[][2] = {
        {"content-security-policy:",
         "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
         "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'"},
        {"x-content-type-options:", "nosniff"},
        {"x-frame-options:", "deny"},
        {"referrer-policy:", "no-referrer"},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[i][0],
                                        (const unsigned char *)h[i][1], (int)strlen(h[i][1]), p,
                                        end))
            return -1;
    return 0;
}

static int http_reply(srv_t *s, struct lws *wsi, conn_t *c, int status, const char *ctype,
                      const char *body, size_t len, const char *extra_name, const char *extra_val) {
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    s->http_requests++;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, (lws_filepos_t)len, &p, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        add_security_headers(wsi, &p, end))
        return -1;
    if (extra_name && lws_add_http_header_by_name(wsi, (const unsigned char *)extra_name,
                                                  (const unsigned char *)extra_val,
                                                  (int)strlen(extra_val), &p, end))
        return -1;
    if (c && c->set_cookie) {
        char ck[200];
        int n = snprintf(ck, sizeof ck, "rd_token=%s; Path=/; HttpOnly; SameSite=Strict",
                         s->access_token);
        if (lws_add_http_header_by_name(
                wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)ck, n, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    if (len) {
        unsigned char *b = malloc(LWS_PRE + len);
        if (!b) return -1;
        memcpy(b + LWS_PRE, body, len);
        int w = lws_write(wsi, b + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(b);
        if (w < (int)len) return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_json(srv_t *s, struct lws *wsi, conn_t *c, int status, const char *body) {
    return http_reply(s, wsi, c, status, "application/json", body, strlen(body), NULL, NULL);
}

static int http_error(srv_t *s, struct lws *wsi, conn_t *c, int status, const char *msg) {
    char body[600];
    json_buf j;
    json_init_fixed(&j, body, sizeof body);
    json_obj_open(&j);
    json_kstr(&j, "error", msg);
    json_obj_close(&j);
    return http_json(s, wsi, c, status, json_ok(&j) ? body : "{\"error\":\"error\"}");
}

static int api_status(srv_t *s, struct lws *wsi, conn_t *c) {
    job_t *j = s->jobs.jobs[0];
    json_buf *jw = &s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kint(jw, "protocol", 1);
    json_key(jw, "server");
    json_obj_open(jw);
    json_kstr(jw, "version", RD_VERSION);
    json_kint(jw, "pid", (long long)getpid());
    json_kstr(jw, "host", s->host);
    json_kint(jw, "port", s->port);
    json_knum(jw, "uptime_seconds", (double)(clk_mono_ms() - s->start_ms) / 1000.0);
    json_kbool(jw, "token_required", s->access_token[0] != 0);
    json_obj_close(jw);
    json_key(jw, "job");
    json_obj_open(jw);
    json_kstr(jw, "id", j->job_id);
    json_kstr(jw, "config", j->config_name);
    json_kstr(jw, "run_dir", s->run_dir);
    json_kbool(jw, "trainer_connected", j->trainer != NULL);
    json_kstr(jw, "status", j->status);
    json_kint(jw, "episode", (long long)j->episode);
    json_kint(jw, "total_episodes", (long long)j->total_episodes);
    json_kint(jw, "resumed_from", (long long)j->resumed_from);
    json_kint(jw, "history", j->hist.count);
    json_key(jw, "last_episode");
    if (j->last_episode) /* a record we printed ourselves (cJSON) and validated */
        json_raw(jw, j->last_episode, strlen(j->last_episode));
    else
        json_null(jw);
    json_obj_close(jw);
    json_kint(jw, "jobs", s->jobs.n_jobs);
    json_kint(jw, "sessions", s->conns.counts[CONN_INFERENCE]);
    json_key(jw, "clients");
    json_obj_open(jw);
    json_kint(jw, "training", s->conns.counts[CONN_TRAINING]);
    json_kint(jw, "inference", s->conns.counts[CONN_INFERENCE]);
    json_kint(jw, "trainer", j->trainer ? 1 : 0);
    json_obj_close(jw);
    json_obj_close(jw);
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "application/json", jw->buf, jw->len, NULL, NULL);
}

/* GET /api/jobs (PROTOCOL §2): every job, the run's own first. */
static int api_jobs(srv_t *s, struct lws *wsi, conn_t *c) {
    json_buf *jw = &s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_key(jw, "jobs");
    json_arr_open(jw);
    for (int i = 0; i < s->jobs.n_jobs; i++) {
        const job_t *j = s->jobs.jobs[i];
        json_obj_open(jw);
        job_put_state(jw, j, i == 0);
        json_kstr(jw, "run_dir", j->run_dir);
        json_knum(jw, "best", j->best);
        json_kint(jw, "history", j->hist.count);
        json_kint(jw, "viewers", job_viewers(&s->jobs, j));
        json_key(jw, "last_episode");
        if (j->last_episode)
            json_raw(jw, j->last_episode, strlen(j->last_episode));
        else
            json_null(jw);
        json_obj_close(jw);
    }
    json_arr_close(jw);
    json_obj_close(jw);
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "application/json", jw->buf, jw->len, NULL, NULL);
}

static int api_models(srv_t *s, struct lws *wsi, conn_t *c) {
    enum { MAX_MODELS = 512 };
    ckpt_info *info = calloc(MAX_MODELS, sizeof *info);
    if (!info) return -1;
    char err[256];
    int n = ckpt_list(s->ckpt_dir, info, MAX_MODELS, err, sizeof err);
    if (n < 0) n = 0; /* no folder yet: an empty list */
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
    const char *latest = NULL, *best = NULL;
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", info[i].name);
        cJSON_AddNumberToObject(m, "episode", (double)info[i].episode);
        cJSON_AddNumberToObject(m, "steps", (double)info[i].steps);
        if (info[i].score >= 0)
            cJSON_AddNumberToObject(m, "score", info[i].score);
        else
            cJSON_AddNullToObject(m, "score");
        cJSON_AddNumberToObject(m, "best_score", info[i].best_score);
        cJSON_AddNumberToObject(m, "mtime", (double)info[i].mtime);
        cJSON_AddBoolToObject(m, "latest", info[i].is_latest);
        cJSON_AddBoolToObject(m, "best", info[i].is_best);
        cJSON_AddItemToArray(arr, m);
        if (info[i].is_latest) latest = info[i].name;
        if (info[i].is_best) best = info[i].name;
    }
    if (latest)
        cJSON_AddStringToObject(root, "latest", latest);
    else
        cJSON_AddNullToObject(root, "latest");
    if (best)
        cJSON_AddStringToObject(root, "best", best);
    else
        cJSON_AddNullToObject(root, "best");
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(info);
    if (!body) return -1;
    int r = http_json(s, wsi, c, 200, body);
    free(body);
    return r;
}

static int api_metrics(srv_t *s, struct lws *wsi, conn_t *c) {
    job_t *j = s->jobs.jobs[0];
    /* Text, not JSON: the writer's buffer serves as a growing string. */
    json_buf *jw = &s->jb;
    json_reset(jw);
    char line[256];
#define M(...) json_append(jw, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    M("# HELP rd_server_up The server is serving.\n# TYPE rd_server_up gauge\nrd_server_up 1\n");
    M("# TYPE rd_server_connections gauge\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_connections{endpoint=\"%s\"} %d\n", conn_ep_names[e], s->conns.counts[e]);
    M("# TYPE rd_server_connections_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_connections_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->conns.total[e]);
    M("# TYPE rd_server_refused_total counter\n");
    M("rd_server_refused_total{reason=\"max_clients\"} %llu\n", (unsigned long long)s->refused_max);
    M("rd_server_refused_total{reason=\"origin\"} %llu\n", (unsigned long long)s->refused_origin);
    M("rd_server_refused_total{reason=\"token\"} %llu\n", (unsigned long long)s->refused_token);
    M("rd_server_refused_total{reason=\"trainer_busy\"} %llu\n",
      (unsigned long long)s->jobs.refused_busy);
    M("rd_server_refused_total{reason=\"max_sessions\"} %llu\n",
      (unsigned long long)s->refused_sessions);
    M("rd_server_refused_total{reason=\"host\"} %llu\n", (unsigned long long)s->refused_host);
    M("rd_server_refused_total{reason=\"pending_evicted\"} %llu\n",
      (unsigned long long)s->admit.evicted);
    M("# TYPE rd_server_messages_in_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_messages_in_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->msgs_in[e]);
    M("# TYPE rd_server_messages_out_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_messages_out_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->conns.msgs_out[e]);
    M("# TYPE rd_server_dropped_messages_total counter\nrd_server_dropped_messages_total %llu\n",
      (unsigned long long)s->conns.pool.dropped);
    M("# TYPE rd_server_slow_closes_total counter\nrd_server_slow_closes_total %llu\n",
      (unsigned long long)s->conns.slow_closes);
    M("# TYPE rd_server_http_requests_total counter\nrd_server_http_requests_total %llu\n",
      (unsigned long long)s->http_requests);
    M("# TYPE rd_training_trainer_connected gauge\nrd_training_trainer_connected %d\n",
      j->trainer ? 1 : 0);
    M("# TYPE rd_training_episode gauge\nrd_training_episode %lld\n", (long long)j->episode);
    M("# TYPE rd_training_total_episodes gauge\nrd_training_total_episodes %lld\n",
      (long long)j->total_episodes);
    M("# TYPE rd_training_epsilon gauge\nrd_training_epsilon %g\n", j->epsilon);
    M("# TYPE rd_training_last_steps gauge\nrd_training_last_steps %lld\n",
      (long long)j->last_steps);
    M("# TYPE rd_training_last_reward gauge\nrd_training_last_reward %g\n", j->last_reward);
    M("# TYPE rd_training_best gauge\nrd_training_best %g\n", j->best);
    M("# TYPE rd_training_steps_per_second gauge\nrd_training_steps_per_second %g\n", j->sps);
    M("# TYPE rd_training_history_records gauge\nrd_training_history_records %d\n", j->hist.count);
    M("# TYPE rd_inference_sessions gauge\nrd_inference_sessions %d\n",
      s->conns.counts[CONN_INFERENCE]);
#undef M
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "text/plain; version=0.0.4", jw->buf, jw->len, NULL, NULL);
}

static const char *mime_for(const char *path) {
    static const struct {
        const char *ext, *mime;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript"},
                 {".mjs", "text/javascript"},
                 {".css", "text/css"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".jpg", "image/jpeg"},
                 {".ico", "image/x-icon"},
                 {".wasm", "application/wasm"},
                 {".map", "application/json"},
                 {".txt", "text/plain"},
                 {".woff2", "font/woff2"},
                 {".woff", "font/woff"}};
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].mime;
    return "application/octet-stream";
}

/* Serves uri below the static root, or refuses it. Returns the callback's result. */
static int serve_static(srv_t *s, struct lws *wsi, conn_t *c, const char *uri) {
    if (!s->static_root[0]) return http_error(s, wsi, c, 404, "not found");
    /* lws has already decoded %xx and folded "/../"; refuse what survives anyway, so a
     * future change of that never exposes the file system. */
    if (uri[0] != '/' || strstr(uri, "..") || strchr(uri, '\\') || strchr(uri, '%') ||
        strstr(uri, "//"))
        return http_error(s, wsi, c, 403, "forbidden");
    char path[PATH_MAX + 32], real[PATH_MAX];
    const char *rel = uri + 1;
    size_t ul = strlen(rel);
    if (ul == 0 || rel[ul - 1] == '/')
        snprintf(path, sizeof path, "%s/%sindex.html", s->static_root, rel);
    else
        snprintf(path, sizeof path, "%s/%s", s->static_root, rel);
    if (!realpath(path, real)) {
        const char *last = strrchr(uri, '/');
        if (errno == ENOENT && last && !strchr(last, '.')) {
            /* A client-side route of the single-page app. */
            snprintf(path, sizeof path, "%s/index.html", s->static_root);
            if (!realpath(path, real)) return http_error(s, wsi, c, 404, "not found");
        } else {
            return http_error(s, wsi, c, 404, "not found");
        }
    }
    size_t rl = strlen(s->static_root);
    struct stat st;
    if (strncmp(real, s->static_root, rl) != 0 || real[rl] != '/' || stat(real, &st) < 0 ||
        !S_ISREG(st.st_mode)) {
        log_warn("static: refused %.200s", uri);
        return http_error(s, wsi, c, 403, "forbidden");
    }
    s->http_requests++;
    unsigned char extra[1024], *p = extra, *end = extra + sizeof extra;
    if (add_security_headers(wsi, &p, end)) return -1;
    if (c->set_cookie) {
        char ck[200];
        int n = snprintf(ck, sizeof ck, "rd_token=%s; Path=/; HttpOnly; SameSite=Strict",
                         s->access_token);
        if (lws_add_http_header_by_name(
                wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)ck, n, &p, end))
            return -1;
    }
    int n = lws_serve_http_file(wsi, real, mime_for(real), p > extra ? (const char *)extra : NULL,
                                (int)(p - extra));
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi))) return -1;
    return 0;
}

/* ---- extend, recordings, metrics as CSV (PROTOCOL §2, §8) ---- */

/* One CSV field of record o (PROTOCOL §2 /api/metrics.csv): a finite number, a boolean, or
 * a plain [a-z_] word; anything else is left empty, so no cell can start a formula. */
static int csv_field(const cJSON *o, const char *k, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
        return snprintf(out, cap, "%.15g", v->valuedouble);
    if (cJSON_IsBool(v)) return snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsString(v) && strlen(v->valuestring) <= 32 &&
        strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyz_") == strlen(v->valuestring))
        return snprintf(out, cap, "%s", v->valuestring);
    if (cap) out[0] = 0;
    return 0;
}

/* GET /api/metrics.csv: every episode line of DIR/metrics.jsonl, one CSV row each. */
static int api_metrics_csv(srv_t *s, struct lws *wsi, conn_t *c) {
    enum { CSV_MAX = 32 << 20, LINE_MAX_BYTES = 65536, ROW_MAX = 1024 };
    static const char *const cols[] = {"episode",   "steps",      "total_reward", "loss",
                                       "epsilon",   "multiplier", "stage",        "eval_score",
                                       "evaluated", "outcome",    "timestamp"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    char path[CFG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.jsonl", s->run_dir);
    size_t cap = 65536, len = 0;
    char *out = malloc(cap), *line = malloc(LINE_MAX_BYTES + 2);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0) close(fd);
    int r = -1;
    bool too_big = false;
    if (!out || !line) goto done;
    for (int i = 0; i < NCOLS; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", cols[i]);
    out[len++] = '\n';
    while (f && fgets(line, LINE_MAX_BYTES + 2, f)) {
        size_t n = strlen(line);
        if (n > LINE_MAX_BYTES) { /* skip the rest of an oversized line */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {}
            continue;
        }
        cJSON *o = cJSON_ParseWithLength(line, n);
        if (!cJSON_IsObject(o) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "episode"))) {
            cJSON_Delete(o);
            continue;
        }
        if (len + ROW_MAX > cap) {
            if (cap * 2 > CSV_MAX) {
                cJSON_Delete(o);
                too_big = true;
                break;
            }
            char *b = realloc(out, cap * 2);
            if (!b) {
                cJSON_Delete(o);
                goto done;
            }
            out = b;
            cap *= 2;
        }
        for (int i = 0; i < NCOLS; i++) {
            if (i) out[len++] = ',';
            len += (size_t)csv_field(o, cols[i], out + len, 80);
        }
        out[len++] = '\n';
        cJSON_Delete(o);
    }
    if (too_big)
        r = http_error(s, wsi, c, 413, "metrics too large for CSV: read DIR/metrics.jsonl");
    else
        r = http_reply(s, wsi, c, 200, "text/csv; charset=utf-8", out, len, NULL, NULL);
done:
    if (f) fclose(f);
    free(line);
    free(out);
    return r;
}

/* POST /api/training/extend?episodes=N: relays {"command":"extend","episodes":N}. */
static int api_extend(srv_t *s, struct lws *wsi, conn_t *c) {
    job_t *job = s->jobs.jobs[0];
    char arg[48], *end = NULL, out[160];
    const char *v = lws_get_urlarg_by_name(wsi, "episodes=", arg, (int)sizeof arg);
    long long n = v && *v ? strtoll(v, &end, 10) : 0;
    const char *why = NULL;
    int status = 200;
    if (!v || !*v || *end || n < 1 || n > 1000000) {
        why = "episodes must be an integer in [1, 1000000]";
        status = 400;
    } else if (!job->trainer) {
        why = "no trainer linked";
        status = 409;
    }
    json_buf j;
    if (!why) {
        json_init_fixed(&j, out, sizeof out);
        json_obj_open(&j);
        json_kstr(&j, "command", "extend");
        json_kint(&j, "episodes", n);
        json_kint(&j, "id", ++job->next_cmd_id);
        json_obj_close(&j);
        long k = json_finish(&j);
        if (k < 0 || conn_send(&s->conns, job->trainer, OUTQ_RECORD, out, (size_t)k) < 0) {
            why = "trainer not reachable";
            status = 409;
        }
    }
    json_init_fixed(&j, out, sizeof out);
    json_obj_open(&j);
    if (why) json_kstr(&j, "error", why);
    json_kstr(&j, "command", "extend");
    if (!why) {
        json_kbool(&j, "accepted", true);
        json_kint(&j, "episodes", n);
    }
    json_obj_close(&j);
    return http_json(s, wsi, c, status, out);
}

/* Reads RUN_DIR/recordings/NAME.rec into buf (RECF_MAX_BYTES) when it is a regular file
 * (no symlink followed) that passes recf_check(). 0, -1 no such file, -2 malformed. The
 * file may be hostile: its size is checked before reading and its bytes after. */
static int load_recording(const srv_t *s, const char *name, uint8_t *buf, size_t *len,
                          recf_info *info) {
    if (!recf_name_ok(name)) return -1;
    char path[CFG_PATH_MAX + 48];
    snprintf(path, sizeof path, "%s/recordings/%s.rec", s->run_dir, name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno == ELOOP ? -2 : -1;
    struct stat sb;
    int rc = -2;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size <= RECF_MAX_BYTES) {
        ssize_t n = read(fd, buf, RECF_MAX_BYTES);
        if (n > 0 && n == sb.st_size && recf_check(buf, (size_t)n, info)) {
            *len = (size_t)n;
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

static int cmp_desc(const void *a, const void *b) {
    return strcmp((const char *)b, (const char *)a);
}

/* GET /api/recordings: the valid ones, newest first, at most 64 looked at. */
static int api_recordings_list(srv_t *s, struct lws *wsi, conn_t *c) {
    enum { MAX_LISTED = 64, MAX_NAMES = 1024 };
    static const char *const outcomes[4] = {"running", "health", "energy", "max_steps"};
    char dir[CFG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/recordings", s->run_dir);
    char(*names)[RECF_NAME_LEN + 1] = malloc(MAX_NAMES * sizeof *names);
    uint8_t *buf = malloc(RECF_MAX_BYTES);
    json_buf jb;
    json_init_dyn(&jb);
    json_obj_open(&jb);
    json_key(&jb, "recordings");
    json_arr_open(&jb);
    int n = 0, r = -1;
    DIR *d = names && buf ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && n < MAX_NAMES && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l != RECF_NAME_LEN + 4 || strcmp(de->d_name + RECF_NAME_LEN, ".rec") != 0) continue;
        memcpy(names[n], de->d_name, RECF_NAME_LEN);
        names[n][RECF_NAME_LEN] = 0;
        if (recf_name_ok(names[n])) n++;
    }
    if (d) closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_desc);
    for (int i = 0; i < n && i < MAX_LISTED; i++) {
        size_t len;
        recf_info in;
        if (load_recording(s, names[i], buf, &len, &in) != 0) continue;
        json_obj_open(&jb);
        json_kstr(&jb, "name", names[i]);
        json_kint(&jb, "episode", in.episode);
        json_kint(&jb, "steps", in.real_steps);
        json_key(&jb, "score"); /* float32 in the file: 7 digits; null when not finite */
        json_num_prec(&jb, in.score, 7);
        json_key(&jb, "total_reward");
        json_num_prec(&jb, in.total_reward, 7);
        json_kstr(&jb, "outcome", outcomes[in.outcome]);
        json_kint(&jb, "bytes", (long long)len);
        json_obj_close(&jb);
    }
    json_arr_close(&jb);
    json_obj_close(&jb);
    if (names && buf && json_finish(&jb) >= 0) r = http_json(s, wsi, c, 200, jb.buf);
    json_free(&jb);
    free(buf);
    free(names);
    return r;
}

/* GET /api/recordings[/NAME] (rest = what follows "/api/recordings"). */
static int api_recordings(srv_t *s, struct lws *wsi, conn_t *c, const char *rest) {
    if (!*rest) return api_recordings_list(s, wsi, c);
    if (rest[0] != '/') return http_error(s, wsi, c, 404, "not found");
    uint8_t *buf = malloc(RECF_MAX_BYTES);
    if (!buf) return -1;
    size_t len = 0;
    int rc = load_recording(s, rest + 1, buf, &len, NULL), r;
    if (rc == 0)
        r = http_reply(s, wsi, c, 200, "application/octet-stream", (const char *)buf, len, NULL,
                       NULL);
    else if (rc == -2)
        r = http_error(s, wsi, c, 422, "recording is malformed");
    else
        r = http_error(s, wsi, c, 404, "no such recording");
    free(buf);
    return r;
}

static int handle_post(srv_t *s, struct lws *wsi, conn_t *c, const char *what) {
    static const char *const names[] = {"start", "stop", "pause", "resume"};
    if (strcmp(what, "extend") == 0) return api_extend(s, wsi, c);
    cmd_msg cmd;
    memset(&cmd, 0, sizeof cmd);
    for (size_t i = 0; i < 4; i++)
        if (strcmp(what, names[i]) == 0) {
            cmd.cmd = (cmd_kind)(i == 0   ? CMD_START
                                 : i == 1 ? CMD_STOP
                                 : i == 2 ? CMD_PAUSE
                                          : CMD_RESUME);
            snprintf(cmd.name, sizeof cmd.name, "%s", what);
        }
    if (cmd.cmd == CMD_NONE) {
        char e[80];
        snprintf(e, sizeof e, "unknown command '%.40s'", what);
        return http_error(s, wsi, c, 404, e);
    }
    const char *why = NULL;
    bool ok = job_relay_command(&s->jobs, s->jobs.jobs[0], &cmd, &why) == 0; /* the run's own job */
    char body[300];
    json_buf j;
    json_init_fixed(&j, body, sizeof body);
    json_obj_open(&j);
    if (!ok) json_kstr(&j, "error", why);
    json_kstr(&j, "command", cmd.name);
    if (ok) json_kbool(&j, "accepted", true);
    json_obj_close(&j);
    return http_json(s, wsi, c, ok ? 200 : 409, body);
}

static int handle_http(srv_t *s, struct lws *wsi, conn_t *c, const char *uri) {
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    if (!host_ok(s, wsi)) return http_error(s, wsi, c, 421, "unknown host");
    if (strcmp(uri, "/healthz") == 0) return http_json(s, wsi, c, 200, "{\"status\":\"ok\"}");
    if (s->access_token[0]) {
        bool q;
        if (!token_ok(wsi, s->access_token, &q)) {
            s->refused_token++;
            return http_error(s, wsi, c, 401, "token required");
        }
        c->set_cookie = q;
    }
    if (strncmp(uri, "/api/training/", 14) == 0) {
        if (!post)
            return http_reply(s, wsi, c, 405, "application/json",
                              "{\"error\":\"method not allowed\"}", 30, "allow:", "POST");
        /* A state change from a browser must come from a page of ours (as the WebSocket
         * upgrade), and never as a "simple" cross-site form or text post: those are sent
         * without a CORS preflight. */
        if (!origin_ok(s, wsi)) return http_error(s, wsi, c, 403, "origin not allowed");
        char ct[128] = "";
        if (lws_hdr_copy(wsi, ct, sizeof ct, WSI_TOKEN_HTTP_CONTENT_TYPE) > 0 &&
            strncasecmp(ct, "application/json", 16) != 0)
            return http_error(s, wsi, c, 415, "Content-Type must be application/json");
        char cl[32] = "";
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (atol(cl) > 0) { /* answer once the body has been read */
            snprintf(c->post_cmd, sizeof c->post_cmd, "%.20s", uri + 14);
            return 0;
        }
        return handle_post(s, wsi, c, uri + 14);
    }
    if (!get)
        return http_reply(s, wsi, c, 405, "application/json", "{\"error\":\"method not allowed\"}",
                          30, "allow:", "GET");
    if (strcmp(uri, "/api/status") == 0) return api_status(s, wsi, c);
    if (strcmp(uri, "/api/models") == 0) return api_models(s, wsi, c);
    if (strcmp(uri, "/api/jobs") == 0) return api_jobs(s, wsi, c);
    if (strncmp(uri, "/api/recordings", 15) == 0) return api_recordings(s, wsi, c, uri + 15);
    if (strcmp(uri, "/api/metrics.csv") == 0) return api_metrics_csv(s, wsi, c);
    if (strcmp(uri, "/metrics") == 0) return api_metrics(s, wsi, c);
    if (strncmp(uri, "/api/", 5) == 0 || strncmp(uri, "/ws", 3) == 0)
        return http_error(s, wsi, c, 404, "not found");
    return serve_static(s, wsi, c, uri);
}

/* ---- the protocol callback ---- */

static int refuse_handshake(struct lws *wsi, unsigned status, const char *why) {
    lws_return_http_status(wsi, status, why);
    return -1;
}

static int on_filter(srv_t *s, struct lws *wsi, conn_t *c) {
    char uri[256];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return refuse_handshake(wsi, 404, "not found");
    job_t *job;
    conn_ep ep = path_endpoint(s, uri, &job);
    if (ep == CONN_NONE) return refuse_handshake(wsi, 404, "not found");
    c->ep = ep;
    if (s->stopping) {
        c->refuse_code = 1001;
        snprintf(c->refuse_reason, sizeof c->refuse_reason, "server shutting down");
        return 0;
    }
    if (ep == CONN_TRAINER) {
        bool q;
        if (s->trainer_token[0] && !token_ok(wsi, s->trainer_token, &q)) {
            s->refused_token++;
            c->refuse_code = 4001;
            snprintf(c->refuse_reason, sizeof c->refuse_reason, "unauthorized");
        }
        return 0;
    }
    if (!host_ok(s, wsi)) return refuse_handshake(wsi, 421, "unknown host");
    if (!origin_ok(s, wsi)) {
        return refuse_handshake(wsi, 403, "origin not allowed");
    }
    if (s->access_token[0]) {
        bool q;
        if (!token_ok(wsi, s->access_token, &q)) {
            s->refused_token++;
            return refuse_handshake(wsi, 401, "token required");
        }
    }
    c->job = ep == CONN_TRAINING ? job : NULL;
    c->overview = ep == CONN_TRAINING && strcmp(uri, "/ws/jobs") == 0;
    if (ep == CONN_TRAINING && !job && !c->overview) {
        c->refuse_code = 4004;
        snprintf(c->refuse_reason, sizeof c->refuse_reason, "unknown job");
    }
    return 0;
}

static int close_now(struct lws *wsi, int code, const char *reason) {
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    return -1;
}

static int on_established(srv_t *s, struct lws *wsi, conn_t *c) {
    job_t *j = c->job;
    c->wsi = wsi;
    c->id = ++s->conns.next_id;
    lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    conn_ep ep = c->ep;
    if (c->refuse_code) {
        log_info("%s connection from %s refused: %s (%d)", conn_ep_names[ep], c->peer,
                 c->refuse_reason, c->refuse_code);
        return close_now(wsi, c->refuse_code, c->refuse_reason);
    }
    if (ep == CONN_TRAINING && job_viewers(&s->jobs, j) >= s->cfg.server.max_clients_per_job) {
        s->refused_max++;
        log_warn("training client from %s refused: %d clients of job %s (4029)", c->peer,
                 job_viewers(&s->jobs, j), j->job_id);
        return close_now(wsi, 4029, "too many clients");
    }
    if (ep == CONN_INFERENCE && s->conns.counts[CONN_INFERENCE] >= s->cfg.server.max_sessions) {
        s->refused_sessions++;
        log_warn("inference session from %s refused: %d sessions (4029)", c->peer,
                 s->conns.counts[CONN_INFERENCE]);
        return close_now(wsi, 4029, "too many sessions");
    }
    int cap = ep == CONN_TRAINER ? 64 : s->cfg.server.client_queue_limit;
    if (outq_queue_init(&c->q, cap) < 0) return close_now(wsi, 1011, "internal error");
    c->have_q = true;
    conn_list_add(&s->conns, c, ep);
    if (ep == CONN_TRAINER) { /* its job is known from its hello: bind_trainer() */
        log_info("trainer connected from %s", c->peer);
        return 0;
    }
    if (ep == CONN_TRAINING) {
        log_info("training client %llu connected from %s (%d clients)", (unsigned long long)c->id,
                 c->peer, s->conns.counts[CONN_TRAINING]);
        if (c->overview) { /* built for this viewer: its history is every job's */
            s->jobs.n_overview++;
            outq_msg *h = job_overview_hello(&s->jobs);
            int r = h ? conn_push(&s->conns, c, h) : -1;
            if (h) outq_msg_unref(&s->conns.pool, h);
            return r < 0 ? close_now(wsi, 1011, "internal error") : 0;
        }
        outq_msg *h = job_hello(&s->jobs, j);
        if (!h || conn_push(&s->conns, c, h) < 0) return close_now(wsi, 1011, "internal error");
        return 0;
    }
    char err[300];
    c->sess = sess_create(&s->sess, c, err, sizeof err);
    if (!c->sess) {
        log_error("inference session: %s", err);
        return close_now(wsi, 1011, "internal error");
    }
    log_info("inference session %llu connected from %s (%d sessions)", (unsigned long long)c->id,
             c->peer, s->conns.counts[CONN_INFERENCE]);
    return 0;
}

static void on_closed(srv_t *s, conn_t *c) {
    job_t *j = c->job;
    if (!c->listed) {
        free(c->rx);
        c->rx = NULL;
        return;
    }
    conn_ep ep = c->ep;
    conn_list_remove(&s->conns, c);
    if (c->overview) s->jobs.n_overview--;
    if (c->sess) {
        sess_destroy(c->sess);
        c->sess = NULL;
    }
    if (c->have_q) outq_queue_close(&c->q, &s->conns.pool);
    c->have_q = false;
    free(c->rx);
    c->rx = NULL;
    if (ep == CONN_TRAINER && j && j->trainer == c) {
        job_trainer_closed(&s->jobs, c, s->stopping);
    } else {
        log_info("%s client %llu disconnected (%d left)", conn_ep_names[ep],
                 (unsigned long long)c->id, s->conns.counts[ep]);
    }
}

static int on_receive(srv_t *s, struct lws *wsi, conn_t *c, const char *in, size_t len) {
    if (!c->listed) return -1;
    if (lws_frame_is_binary(wsi)) {
        log_warn("%s client %llu sent a binary frame, closing (1003)", conn_ep_names[c->ep],
                 (unsigned long long)c->id);
        return close_now(wsi, 1003, "binary frames are not accepted");
    }
    size_t max =
        c->ep == CONN_TRAINER ? TRAINER_MAX_MESSAGE : (size_t)s->cfg.server.max_message_bytes;
    bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
    bool whole = final && c->rx_len == 0 && first && lws_remaining_packet_payload(wsi) == 0;
    if (c->rx_len + len + lws_remaining_packet_payload(wsi) > max) {
        log_warn("%s client %llu sent a message over %zu bytes, closing (1009)",
                 conn_ep_names[c->ep], (unsigned long long)c->id, max);
        return close_now(wsi, 1009, "message too big");
    }
    if (!whole) {
        if (c->rx_len + len > c->rx_cap) {
            size_t cap = c->rx_cap ? c->rx_cap : 1024;
            while (cap < c->rx_len + len) cap *= 2;
            char *r = realloc(c->rx, cap);
            if (!r) return close_now(wsi, 1011, "internal error");
            c->rx = r;
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!final || lws_remaining_packet_payload(wsi)) return 0;
        in = c->rx;
        len = c->rx_len;
    }
    int r = 0;
    if (c->ep == CONN_TRAINER) {
        s->msgs_in[CONN_TRAINER]++;
        job_trainer_message(&s->jobs, c, in, len);
    } else {
        r = on_browser_message(s, c, in, len);
    }
    c->rx_len = 0;
    if (c->rx_cap > 65536) { /* a big message once is no reason to keep its buffer */
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
    return r;
}

/* A new TCP connection: pending until its request's headers are complete. */
static void admit_connection(srv_t *s, struct lws *wsi) {
    char peer[ADMIT_PEER_MAX] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    struct lws *victim = admit_new(&s->admit, wsi, peer, clk_mono_ms());
    if (!victim) return;
    /* Logged at powers of two: a flood must not become a flood of log lines. */
    uint64_t n = s->admit.evicted;
    if ((n & (n - 1)) == 0)
        log_warn("%llu connection%s closed before sending a request (over %d pending from %s, "
                 "or %d in all)",
                 (unsigned long long)n, n == 1 ? "" : "s", ADMIT_PER_PEER, peer, ADMIT_TOTAL);
    lws_set_timeout(victim, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct lws_context *ctx = lws_get_context(wsi);
    srv_t *s = ctx ? lws_context_user(ctx) : NULL;
    conn_t *c = user;
    switch (reason) {
        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
            if (s) admit_connection(s, wsi);
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            if (s) admit_done(&s->admit, wsi);
            return 0;
        case LWS_CALLBACK_HTTP:
            if (s) admit_done(&s->admit, wsi);
            if (!s || !c) return -1;
            c->wsi = wsi;
            c->ep = CONN_HTTP;
            c->post_cmd[0] = 0;
            c->set_cookie = false;
            return handle_http(s, wsi, c, (const char *)in);
        case LWS_CALLBACK_HTTP_BODY:
            return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (c && c->post_cmd[0]) {
                char what[24];
                snprintf(what, sizeof what, "%s", c->post_cmd);
                c->post_cmd[0] = 0;
                return handle_post(s, wsi, c, what);
            }
            return lws_callback_http_dummy(wsi, reason, user, in, len);
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            if (s) admit_done(&s->admit, wsi);
            if (!s || !c) return -1;
            return on_filter(s, wsi, c);
        case LWS_CALLBACK_ESTABLISHED:
            return on_established(s, wsi, c);
        case LWS_CALLBACK_RECEIVE:
            return on_receive(s, wsi, c, (const char *)in, len);
        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!c->listed) return -1;
            if (c->close_code) return conn_write_close(&s->conns, c);
            return conn_write_next(&s->conns, c);
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if (c && len >= 2) {
                const unsigned char *p = in;
                c->peer_close_code = (p[0] << 8) | p[1];
            }
            return 0;
        case LWS_CALLBACK_CLOSED:
            if (s && c) on_closed(s, c);
            return 0;
        default:
            return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"run-demo", callback, sizeof(conn_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Half-open connections: ping after 30 s of silence, hang up 10 s later
 * ($RD_SERVER_PING_SECS shortens both for tests: ping after N s, hang up after 2N s). */
static lws_retry_bo_t retry = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 40,
};

/* ---- timers, checkpoint watch, lifecycle ---- */

static void on_handle_closed(uv_handle_t *h) {
    srv_t *s = h->data;
    s->open_handles--;
}

static void close_handle(srv_t *s, uv_handle_t *h) {
    if (!uv_is_closing(h)) {
        h->data = s;
        uv_close(h, on_handle_closed);
    }
}

static void on_tick(uv_timer_t *t) {
    srv_t *s = t->data;
    conn_cull_slow(&s->conns, clk_mono_ms(), SLOW_CLOSE_MS);
}

static void watch_checkpoints(srv_t *s);

static void on_fs_debounce(uv_timer_t *t) {
    srv_t *s = t->data;
    sess_checkpoints_changed(&s->sess);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status) {
    srv_t *s = h->data;
    if (status < 0) return;
    /* Each save is a burst of renames; react once it settles. */
    uv_timer_start(&s->fs_debounce, on_fs_debounce, 150, 0);
}

static void on_fs_retry(uv_timer_t *t) {
    watch_checkpoints(t->data);
}

/* Watches checkpoints/ with the loop's file events. Until the trainer has created the
 * folder, retries once a second (setting the watch up, not polling for checkpoints). */
static void watch_checkpoints(srv_t *s) {
    if (s->fs_active || s->stopping) return;
    struct stat st;
    if (stat(s->ckpt_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        uv_fs_event_start(&s->fs_ev, on_fs_event, s->ckpt_dir, 0) == 0) {
        s->fs_active = true;
        uv_timer_stop(&s->fs_retry);
        sess_checkpoints_changed(&s->sess);
        return;
    }
    uv_timer_start(&s->fs_retry, on_fs_retry, 1000, 0);
}

/* A trainer reported a checkpoint: sessions following `latest` reload it. */
static void on_checkpoint(void *arg) {
    srv_t *s = arg;
    sess_checkpoints_changed(&s->sess);
}

static int random_token(char *out, size_t cap) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return -1;
    for (size_t i = 0; i < sizeof b && 2 * i + 2 < cap; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

srv_t *srv_create(uv_loop_t *loop, const cfg_config *cfg, const srv_options *opt, char *err,
                  size_t errlen) {
    srv_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_init_dyn(&s->jb);
    s->loop = loop;
    s->cfg = *cfg;
    s->start_ms = clk_mono_ms();
    snprintf(s->host, sizeof s->host, "%s", opt->host ? opt->host : "127.0.0.1");
    snprintf(s->run_dir, sizeof s->run_dir, "%s", opt->run_dir);
    snprintf(s->ckpt_dir, sizeof s->ckpt_dir, "%s/checkpoints", s->run_dir);
    s->frontend_port = opt->frontend_port ? opt->frontend_port : cfg->server.frontend_port;
    if (opt->static_dir) {
        if (!realpath(opt->static_dir, s->static_root)) {
            snprintf(err, errlen, "--static %s: %s", opt->static_dir, strerror(errno));
            goto fail;
        }
    }
    /* The address to bind, resolved once: the token rule and the check after binding both
     * go by it, never by the name given. */
    struct sockaddr_storage want;
    char aerr[200];
    if (addr_resolve(s->host, &want, aerr, sizeof aerr) < 0) {
        snprintf(err, errlen, "--host %s: %s", s->host, aerr);
        goto fail;
    }
    if (opt->token && opt->token[0]) {
        if (strlen(opt->token) >= sizeof s->access_token || strpbrk(opt->token, "; \t\r\n\"")) {
            snprintf(err, errlen, "--token: at most %zu characters, no spaces, quotes or ';'",
                     sizeof s->access_token - 1);
            goto fail;
        }
        snprintf(s->access_token, sizeof s->access_token, "%s", opt->token);
    } else if (!addr_is_loopback_sa((struct sockaddr *)&want) &&
               random_token(s->access_token, sizeof s->access_token) < 0) {
        snprintf(err, errlen, "cannot generate a token: %s", strerror(errno));
        goto fail;
    }
    const char *tt = opt->trainer_token ? opt->trainer_token : getenv("RD_TRAINER_TOKEN");
    snprintf(s->trainer_token, sizeof s->trainer_token, "%s", tt && tt[0] ? tt : s->access_token);
    s->jobs.conns = &s->conns;
    s->jobs.cfg = &s->cfg;
    s->jobs.run_dir = s->run_dir;
    s->jobs.jb = &s->jb;
    s->jobs.on_checkpoint = on_checkpoint;
    s->jobs.arg = s;
    if (job_set_open(&s->jobs, err, errlen) < 0) goto fail;
    s->world = world_json(&s->cfg, &s->world_len);
    if (!s->world) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->jobs.world = s->world;
    s->jobs.world_len = s->world_len;
    s->sess = (sess_ctx){.loop = loop,
                         .cfg = &s->cfg,
                         .conns = &s->conns,
                         .ckpt_dir = s->ckpt_dir,
                         .world = s->world,
                         .world_len = s->world_len,
                         .multiplier = &s->jobs.jobs[0]->multiplier};
    if (conn_set_init(&s->conns) < 0 || admit_init(&s->admit, ADMIT_PER_PEER, ADMIT_TOTAL) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    /* lws binds to an interface name or a numeric address: the resolved one. An lws 4.1
     * vhost with IPv6 enabled binds an IPv4 `iface` as [::] — every interface — so IPv6 is
     * disabled for an IPv4 address, and what was bound is checked below either way. */
    char bind_addr[INET6_ADDRSTRLEN] = "";
    addr_format((struct sockaddr *)&want, -1, bind_addr, sizeof bind_addr);
    info.port = opt->port;
    info.iface = bind_addr;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (want.ss_family == AF_INET) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.user = s;
    info.pcontext = &s->ctx; /* lws clears it when the destruction has completed */
    const char *ping = getenv("RD_SERVER_PING_SECS");
    if (ping && atoi(ping) > 0 && atoi(ping) < 3600) {
        retry.secs_since_valid_ping = (uint16_t)atoi(ping);
        retry.secs_since_valid_hangup = (uint16_t)(2 * atoi(ping));
    }
    info.retry_and_idle_policy = &retry;
    info.timeout_secs = 10;
    info.timeout_secs_ah_idle = AH_IDLE_SECS;
    info.max_http_header_pool = HEADER_POOL;
    info.fd_limit_per_thread = 0;
    /* lws logs through our log: errors and warnings only. */
    lws_set_log_level(LLL_ERR, NULL);
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (port in use, or no libuv event plugin)",
                 s->host, opt->port);
        goto fail;
    }
    s->vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : opt->port;
    if (s->port <= 0) {
        snprintf(err, errlen, "cannot listen on %s:%d", s->host, opt->port);
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        goto fail;
    }
    /* The address actually bound must be the one asked for: a wider bind would serve the
     * network without a token. */
    aerr[0] = 0;
    if (addr_check_listening((struct sockaddr *)&want, s->port, aerr, sizeof aerr) <= 0) {
        snprintf(err, errlen, "--host %s: %s; refusing to serve", s->host,
                 aerr[0] ? aerr : "no listening socket found on the port");
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        goto fail;
    }

    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->stop_timer);
    uv_timer_init(loop, &s->fs_retry);
    uv_timer_init(loop, &s->fs_debounce);
    uv_fs_event_init(loop, &s->fs_ev);
    s->tick.data = s->stop_timer.data = s->fs_retry.data = s->fs_debounce.data = s;
    s->fs_ev.data = s;
    s->open_handles = 5;
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    watch_checkpoints(s);
    return s;
fail:
    json_free(&s->jb);
    admit_close(&s->admit);
    job_set_close(&s->jobs);
    free(s->world);
    conn_set_close(&s->conns);
    free(s);
    return NULL;
}

int srv_port(const srv_t *s) {
    return s->port;
}

const char *srv_token(const srv_t *s) {
    return s->access_token;
}

static void finish_stop(srv_t *s) {
    if (s->destroyed) return;
    s->destroyed = true;
    /* Destroying the context closes the listening socket and every remaining connection;
     * with a foreign loop lws closes its own handles and the loop runs dry after ours. */
    lws_context_destroy(s->ctx);
    close_handle(s, (uv_handle_t *)&s->tick);
    close_handle(s, (uv_handle_t *)&s->stop_timer);
    close_handle(s, (uv_handle_t *)&s->fs_retry);
    close_handle(s, (uv_handle_t *)&s->fs_debounce);
    close_handle(s, (uv_handle_t *)&s->fs_ev);
}

static void on_stop_timer(uv_timer_t *t) {
    srv_t *s = t->data;
    int left = s->conns.counts[CONN_TRAINER] + s->conns.counts[CONN_TRAINING] +
               s->conns.counts[CONN_INFERENCE];
    if (left && --s->stop_ticks > 0) return;
    finish_stop(s);
}

void srv_shutdown(srv_t *s) {
    if (s->stopping) { /* asked twice: stop waiting for the peers */
        finish_stop(s);
        return;
    }
    s->stopping = true;
    int n = 0;
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        for (conn_t *c = s->conns.lists[e]; c; c = c->next, n++) {
            c->close_code = 0;
            conn_close(c, 1001, "server shutting down");
        }
    log_info("shutting down: closing %d WebSocket%s", n, n == 1 ? "" : "s");
    /* Poll every 20 ms for up to 1 s until every peer has seen its close frame. */
    s->stop_ticks = 50;
    uv_timer_start(&s->stop_timer, on_stop_timer, n ? 20 : 0, 20);
}

void srv_free(srv_t *s) {
    if (!s) return;
    /* With a foreign loop the first lws_context_destroy() only starts the teardown; once
     * the loop has run dry, a second call frees the rest (as in lws's foreign-loop
     * example). */
    if (s->ctx) {
        lws_context_destroy(s->ctx);
        while (uv_run(s->loop, UV_RUN_NOWAIT)) {}
    }
    job_set_close(&s->jobs);
    conn_set_close(&s->conns);
    admit_close(&s->admit);
    free(s->world);
    json_free(&s->jb);
    sess_ctx_close(&s->sess);
    free(s);
}
