/* inference/http.c — see http.h. */
#include "inference/http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/ckpt.h"
#include "common/clk.h"
#include "common/log.h"
#include "common/recfile.h"
#include "inference/cmd.h"

static bool const_eq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
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

bool http_token_ok(struct lws *wsi, const char *expected, bool *from_query) {
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
bool http_host_ok(http_ctx *s, struct lws *wsi) {
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
         (self[0] && strcasecmp(name, self) == 0) || in_list(s->cfg->server.allowed_hosts, name)))
        return true;
refuse:
    s->refused_host++;
    if (log_sparse(s->refused_host))
        log_warn("refused a request for Host '%.100s' (%llu so far): not a name of this server; "
                 "list it in [unified_server] allowed_hosts to allow it",
                 shown, (unsigned long long)s->refused_host);
    return false;
}

bool http_origin_ok(http_ctx *s, struct lws *wsi) {
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

/* The rd_token cookie, for a client that presented the token as ?token= (c->set_cookie),
 * so that the page's own requests carry it. 0 or -1. */
static int add_token_cookie(const http_ctx *s, struct lws *wsi, const conn_t *c, unsigned char **p,
                            unsigned char *end) {
    if (!c || !c->set_cookie) return 0;
    char ck[200];
    int n =
        snprintf(ck, sizeof ck, "rd_token=%s; Path=/; HttpOnly; SameSite=Strict", s->access_token);
    return lws_add_http_header_by_name(
               wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)ck, n, p, end)
               ? -1
               : 0;
}

static int http_reply(http_ctx *s, struct lws *wsi, conn_t *c, int status, const char *ctype,
                      const char *body, size_t len, const char *extra_name, const char *extra_val) {
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    s->requests++;
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
    if (add_token_cookie(s, wsi, c, &p, end)) return -1;
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

static int http_json(http_ctx *s, struct lws *wsi, conn_t *c, int status, const char *body) {
    return http_reply(s, wsi, c, status, "application/json", body, strlen(body), NULL, NULL);
}

static int http_error(http_ctx *s, struct lws *wsi, conn_t *c, int status, const char *msg) {
    char body[600];
    json_buf j;
    json_init_fixed(&j, body, sizeof body);
    json_obj_open(&j);
    json_kstr(&j, "error", msg);
    json_obj_close(&j);
    return http_json(s, wsi, c, status, json_ok(&j) ? body : "{\"error\":\"error\"}");
}

static int api_status(http_ctx *s, struct lws *wsi, conn_t *c) {
    job_t *j = s->jobs->jobs[0];
    json_buf *jw = s->jb;
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
    json_kint(jw, "jobs", s->jobs->n_jobs);
    json_kint(jw, "sessions", s->conns->counts[CONN_INFERENCE]);
    json_key(jw, "clients");
    json_obj_open(jw);
    json_kint(jw, "training", s->conns->counts[CONN_TRAINING]);
    json_kint(jw, "inference", s->conns->counts[CONN_INFERENCE]);
    json_kint(jw, "trainer", j->trainer ? 1 : 0);
    json_obj_close(jw);
    json_obj_close(jw);
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "application/json", jw->buf, jw->len, NULL, NULL);
}

/* What ?job=ID names (PROTOCOL §1 "?job=ID"): absent, the run's own job. 0, or -1 when
 * the id names nothing (an empty one included). The id is only ever compared with the
 * jobs' ids, never used as a path. */
static int job_of(http_ctx *s, struct lws *wsi, job_ref *ref, bool *named) {
    char arg[PAST_ID_MAX + 8];
    const char *v = lws_get_urlarg_by_name(wsi, "job=", arg, (int)sizeof arg);
    if (named) *named = v != NULL;
    if (v && !*v) return -1;
    return job_lookup(s->jobs, v, ref);
}

/* GET /api/jobs (PROTOCOL §2): every job, the run's own first, then the past runs. */
static int api_jobs(http_ctx *s, struct lws *wsi, conn_t *c) {
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_key(jw, "jobs");
    json_arr_open(jw);
    for (int i = 0; i < s->jobs->n_jobs; i++) {
        const job_t *j = s->jobs->jobs[i];
        json_obj_open(jw);
        job_put_state(jw, j, i == 0);
        json_kstr(jw, "run_dir", j->run_dir);
        json_kint(jw, "history", j->hist.count);
        json_kint(jw, "viewers", job_viewers(s->jobs, j));
        json_key(jw, "last_episode");
        if (j->last_episode)
            json_raw(jw, j->last_episode, strlen(j->last_episode));
        else
            json_null(jw);
        json_obj_close(jw);
    }
    job_refresh_past(s->jobs, false);
    for (int i = 0; i < s->jobs->past.n; i++) {
        const past_run *r = &s->jobs->past.runs[i];
        json_obj_open(jw);
        job_put_past(jw, r);
        json_kstr(jw, "run_dir", r->dir);
        json_kint(jw, "history", 0);
        json_kint(jw, "viewers", 0);
        json_key(jw, "last_episode");
        json_null(jw);
        json_obj_close(jw);
    }
    json_arr_close(jw);
    json_obj_close(jw);
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "application/json", jw->buf, jw->len, NULL, NULL);
}

/* GET /api/series?job=ID (PROTOCOL §2). */
static int api_series(http_ctx *s, struct lws *wsi, conn_t *c, const job_ref *ref) {
    json_buf *jw = s->jb;
    json_reset(jw);
    json_obj_open(jw);
    json_kstr(jw, "job", ref->id);
    json_key(jw, "series");
    job_put_series(s->jobs, ref, jw);
    json_obj_close(jw);
    if (!json_ok(jw)) return -1;
    return http_reply(s, wsi, c, 200, "application/json", jw->buf, jw->len, NULL, NULL);
}

static int api_models(http_ctx *s, struct lws *wsi, conn_t *c, const job_ref *ref, bool named) {
    enum { MAX_MODELS = 512 };
    ckpt_info *info = calloc(MAX_MODELS, sizeof *info);
    if (!info) return -1;
    char err[256], ck[PAST_DIR_MAX + 16];
    snprintf(ck, sizeof ck, "%s/checkpoints", ref->dir);
    int n = ckpt_list(ck, info, MAX_MODELS, err, sizeof err);
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
    if (named) cJSON_AddStringToObject(root, "job", ref->id);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(info);
    if (!body) return -1;
    int r = http_json(s, wsi, c, 200, body);
    free(body);
    return r;
}

static int api_metrics(http_ctx *s, struct lws *wsi, conn_t *c) {
    job_t *j = s->jobs->jobs[0];
    /* Text, not JSON: the writer's buffer serves as a growing string. */
    json_buf *jw = s->jb;
    json_reset(jw);
    char line[256];
#define M(...) json_append(jw, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    M("# HELP rd_server_up The server is serving.\n# TYPE rd_server_up gauge\nrd_server_up 1\n");
    M("# TYPE rd_server_connections gauge\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_connections{endpoint=\"%s\"} %d\n", conn_ep_names[e], s->conns->counts[e]);
    M("# TYPE rd_server_connections_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_connections_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->conns->total[e]);
    M("# TYPE rd_server_refused_total counter\n");
    M("rd_server_refused_total{reason=\"max_clients\"} %llu\n", (unsigned long long)s->refused_max);
    M("rd_server_refused_total{reason=\"origin\"} %llu\n", (unsigned long long)s->refused_origin);
    M("rd_server_refused_total{reason=\"token\"} %llu\n", (unsigned long long)s->refused_token);
    M("rd_server_refused_total{reason=\"trainer_busy\"} %llu\n",
      (unsigned long long)s->jobs->refused_busy);
    M("rd_server_refused_total{reason=\"max_sessions\"} %llu\n",
      (unsigned long long)s->refused_sessions);
    M("rd_server_refused_total{reason=\"host\"} %llu\n", (unsigned long long)s->refused_host);
    M("rd_server_refused_total{reason=\"pending_evicted\"} %llu\n",
      (unsigned long long)s->admit->evicted);
    M("# TYPE rd_server_messages_in_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_messages_in_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->msgs_in[e]);
    M("# TYPE rd_server_messages_out_total counter\n");
    for (int e = CONN_TRAINER; e < CONN_EP_COUNT; e++)
        M("rd_server_messages_out_total{endpoint=\"%s\"} %llu\n", conn_ep_names[e],
          (unsigned long long)s->conns->msgs_out[e]);
    M("# TYPE rd_server_dropped_messages_total counter\nrd_server_dropped_messages_total %llu\n",
      (unsigned long long)s->conns->pool.dropped);
    M("# TYPE rd_server_slow_closes_total counter\nrd_server_slow_closes_total %llu\n",
      (unsigned long long)s->conns->slow_closes);
    M("# TYPE rd_server_http_requests_total counter\nrd_server_http_requests_total %llu\n",
      (unsigned long long)s->requests);
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
      s->conns->counts[CONN_INFERENCE]);
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
static int serve_static(http_ctx *s, struct lws *wsi, conn_t *c, const char *uri) {
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
    s->requests++;
    unsigned char extra[1024], *p = extra, *end = extra + sizeof extra;
    if (add_security_headers(wsi, &p, end)) return -1;
    if (add_token_cookie(s, wsi, c, &p, end)) return -1;
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
static int api_metrics_csv(http_ctx *s, struct lws *wsi, conn_t *c, const job_ref *ref) {
    enum { CSV_MAX = 32 << 20, LINE_MAX_BYTES = 65536, ROW_MAX = 1024 };
    static const char *const cols[] = {"episode",   "steps",      "total_reward", "loss",
                                       "epsilon",   "multiplier", "stage",        "eval_score",
                                       "evaluated", "outcome",    "timestamp"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    char path[PAST_DIR_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.jsonl", ref->dir);
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

/* POST /api/training/extend?episodes=N: relays {"command":"extend","episodes":N} to job
 * (NULL: a past run, which has no trainer). */
static int api_extend(http_ctx *s, struct lws *wsi, conn_t *c, job_t *job) {
    char arg[48], *end = NULL, out[160];
    const char *v = lws_get_urlarg_by_name(wsi, "episodes=", arg, (int)sizeof arg);
    long long n = v && *v ? strtoll(v, &end, 10) : 0;
    const char *why = NULL;
    int status = 200;
    if (!v || !*v || *end || n < 1 || n > 1000000) {
        why = "episodes must be an integer in [1, 1000000]";
        status = 400;
    } else if (!job || !job->trainer) {
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
        if (k < 0 || conn_send(s->conns, job->trainer, OUTQ_RECORD, out, (size_t)k) < 0) {
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
static int load_recording(const char *run_dir, const char *name, uint8_t *buf, size_t *len,
                          recf_info *info) {
    if (!recf_name_ok(name)) return -1;
    char path[PAST_DIR_MAX + 48];
    snprintf(path, sizeof path, "%s/recordings/%s.rec", run_dir, name);
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
static int api_recordings_list(http_ctx *s, struct lws *wsi, conn_t *c, const char *run_dir) {
    enum { MAX_LISTED = 64, MAX_NAMES = 1024 };
    static const char *const outcomes[4] = {"running", "health", "energy", "max_steps"};
    char dir[PAST_DIR_MAX + 16];
    snprintf(dir, sizeof dir, "%s/recordings", run_dir);
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
        if (load_recording(run_dir, names[i], buf, &len, &in) != 0) continue;
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
static int api_recordings(http_ctx *s, struct lws *wsi, conn_t *c, const char *rest,
                          const char *run_dir) {
    if (!*rest) return api_recordings_list(s, wsi, c, run_dir);
    if (rest[0] != '/') return http_error(s, wsi, c, 404, "not found");
    uint8_t *buf = malloc(RECF_MAX_BYTES);
    if (!buf) return -1;
    size_t len = 0;
    int rc = load_recording(run_dir, rest + 1, buf, &len, NULL), r;
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

int http_post(http_ctx *s, struct lws *wsi, conn_t *c, const char *what) {
    static const char *const names[] = {"start", "stop", "pause", "resume"};
    job_ref ref;
    if (job_of(s, wsi, &ref, NULL) < 0) return http_error(s, wsi, c, 404, "unknown job");
    if (strcmp(what, "extend") == 0) return api_extend(s, wsi, c, ref.job);
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
    const char *why = "no trainer linked"; /* a past run's */
    bool ok = ref.job && job_relay_command(s->jobs, ref.job, &cmd, &why) == 0;
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

int http_handle(http_ctx *s, struct lws *wsi, conn_t *c, const char *uri) {
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    if (!http_host_ok(s, wsi)) return http_error(s, wsi, c, 421, "unknown host");
    if (strcmp(uri, "/healthz") == 0) return http_json(s, wsi, c, 200, "{\"status\":\"ok\"}");
    if (s->access_token[0]) {
        bool q;
        if (!http_token_ok(wsi, s->access_token, &q)) {
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
        if (!http_origin_ok(s, wsi)) return http_error(s, wsi, c, 403, "origin not allowed");
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
        return http_post(s, wsi, c, uri + 14);
    }
    if (!get)
        return http_reply(s, wsi, c, 405, "application/json", "{\"error\":\"method not allowed\"}",
                          30, "allow:", "GET");
    if (strcmp(uri, "/api/status") == 0) return api_status(s, wsi, c);
    if (strcmp(uri, "/api/jobs") == 0) return api_jobs(s, wsi, c);
    /* the per-job requests: ?job=ID or the run's own (PROTOCOL §1) */
    bool models = strcmp(uri, "/api/models") == 0, csv = strcmp(uri, "/api/metrics.csv") == 0,
         rec = strncmp(uri, "/api/recordings", 15) == 0, series = strcmp(uri, "/api/series") == 0;
    if (models || csv || rec || series) {
        job_ref ref;
        bool named;
        if (job_of(s, wsi, &ref, &named) < 0) return http_error(s, wsi, c, 404, "unknown job");
        if (models) return api_models(s, wsi, c, &ref, named);
        if (csv) return api_metrics_csv(s, wsi, c, &ref);
        if (rec) return api_recordings(s, wsi, c, uri + 15, ref.dir);
        return api_series(s, wsi, c, &ref);
    }
    if (strcmp(uri, "/metrics") == 0) return api_metrics(s, wsi, c);
    if (strncmp(uri, "/api/", 5) == 0 || strncmp(uri, "/ws", 3) == 0)
        return http_error(s, wsi, c, 404, "not found");
    return serve_static(s, wsi, c, uri);
}
