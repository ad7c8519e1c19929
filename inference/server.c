/* inference/server.c — the lws protocol callback (handshake, browser commands, message
 * reassembly), the checkpoint watch and the server's lifecycle; the HTTP side is http.c,
 * the jobs job.c, the sessions session.c, sending conn.c. See server.h and
 * docs/PROTOCOL.md. */
#include "inference/server.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/clk.h"
#include "common/json.h"
#include "common/log.h"
#include "inference/admit.h"
#include "inference/cmd.h"
#include "inference/conn.h"
#include "inference/http.h"
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

struct server {
    uv_loop_t *loop;
    cfg_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    char host[256];
    char run_dir[CFG_PATH_MAX];
    char ckpt_dir[CFG_PATH_MAX + 16];
    char runs_root[CFG_PATH_MAX];   /* "" = none */
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
    session_ctx sess; /* what the inference sessions share (session.h) */

    admit_t admit; /* connections that have not completed a request (admit.h) */
    /* The config's world (inference/world.h), serialized once at start-up: it never changes
     * during a run, so every hello and connected copies this text. */
    char *world;
    size_t world_len;

    http_ctx http; /* the HTTP side and the counters /metrics reports (http.h) */

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
static int on_browser_message(server_t *s, conn_t *c, const char *in, size_t len) {
    s->http.msgs_in[c->ep]++;
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
        if (c->sess) session_command(c->sess, &cmd);
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
static conn_ep path_endpoint(server_t *s, const char *uri, job_t **job) {
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

/* ---- the protocol callback ---- */

static int refuse_handshake(struct lws *wsi, unsigned status, const char *why) {
    lws_return_http_status(wsi, status, why);
    return -1;
}

static int on_filter(server_t *s, struct lws *wsi, conn_t *c) {
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
        if (s->trainer_token[0] && !http_token_ok(wsi, s->trainer_token, &q)) {
            s->http.refused_token++;
            c->refuse_code = 4001;
            snprintf(c->refuse_reason, sizeof c->refuse_reason, "unauthorized");
        }
        return 0;
    }
    if (!http_host_ok(&s->http, wsi)) return refuse_handshake(wsi, 421, "unknown host");
    if (!http_origin_ok(&s->http, wsi)) {
        return refuse_handshake(wsi, 403, "origin not allowed");
    }
    if (s->access_token[0]) {
        bool q;
        if (!http_token_ok(wsi, s->access_token, &q)) {
            s->http.refused_token++;
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

static int on_established(server_t *s, struct lws *wsi, conn_t *c) {
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
        s->http.refused_max++;
        log_warn("training client from %s refused: %d clients of job %s (4029)", c->peer,
                 job_viewers(&s->jobs, j), j->job_id);
        return close_now(wsi, 4029, "too many clients");
    }
    if (ep == CONN_INFERENCE && s->conns.counts[CONN_INFERENCE] >= s->cfg.server.max_sessions) {
        s->http.refused_sessions++;
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
    c->sess = session_create(&s->sess, c, err, sizeof err);
    if (!c->sess) {
        log_error("inference session: %s", err);
        return close_now(wsi, 1011, "internal error");
    }
    log_info("inference session %llu connected from %s (%d sessions)", (unsigned long long)c->id,
             c->peer, s->conns.counts[CONN_INFERENCE]);
    return 0;
}

static void on_closed(server_t *s, conn_t *c) {
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
        session_destroy(c->sess);
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

static int on_receive(server_t *s, struct lws *wsi, conn_t *c, const char *in, size_t len) {
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
        s->http.msgs_in[CONN_TRAINER]++;
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
static void admit_connection(server_t *s, struct lws *wsi) {
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
    server_t *s = ctx ? lws_context_user(ctx) : NULL;
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
            return http_handle(&s->http, wsi, c, (const char *)in);
        case LWS_CALLBACK_HTTP_BODY:
            return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (c && c->post_cmd[0]) {
                char what[24];
                snprintf(what, sizeof what, "%s", c->post_cmd);
                c->post_cmd[0] = 0;
                return http_post(&s->http, wsi, c, what);
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
    server_t *s = h->data;
    s->open_handles--;
}

static void close_handle(server_t *s, uv_handle_t *h) {
    if (!uv_is_closing(h)) {
        h->data = s;
        uv_close(h, on_handle_closed);
    }
}

static void on_tick(uv_timer_t *t) {
    server_t *s = t->data;
    conn_cull_slow(&s->conns, clk_mono_ms(), SLOW_CLOSE_MS);
    job_refresh_sweep(&s->jobs, false); /* run states without a trainer (PROTOCOL §4) */
}

static void watch_checkpoints(server_t *s);

static void on_fs_debounce(uv_timer_t *t) {
    server_t *s = t->data;
    session_checkpoints_changed(&s->sess);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status) {
    server_t *s = h->data;
    if (status < 0) return;
    /* Each save is a burst of renames; react once it settles. */
    uv_timer_start(&s->fs_debounce, on_fs_debounce, 150, 0);
}

static void on_fs_retry(uv_timer_t *t) {
    watch_checkpoints(t->data);
}

/* Watches checkpoints/ with the loop's file events. Until the trainer has created the
 * folder, retries once a second (setting the watch up, not polling for checkpoints). */
static void watch_checkpoints(server_t *s) {
    if (s->fs_active || s->stopping) return;
    struct stat st;
    if (stat(s->ckpt_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        uv_fs_event_start(&s->fs_ev, on_fs_event, s->ckpt_dir, 0) == 0) {
        s->fs_active = true;
        uv_timer_stop(&s->fs_retry);
        session_checkpoints_changed(&s->sess);
        return;
    }
    uv_timer_start(&s->fs_retry, on_fs_retry, 1000, 0);
}

/* A trainer reported a checkpoint: sessions following `latest` reload it. */
static void on_checkpoint(void *arg) {
    server_t *s = arg;
    session_checkpoints_changed(&s->sess);
}

static int random_token(char *out, size_t cap) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return -1;
    for (size_t i = 0; i < sizeof b && 2 * i + 2 < cap; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* server_create, step 1: the options — directories, the address to bind, the tokens. */
static int take_options(server_t *s, const server_options *opt, struct sockaddr_storage *want,
                        char *err, size_t errlen) {
    snprintf(s->host, sizeof s->host, "%s", opt->host ? opt->host : "127.0.0.1");
    snprintf(s->run_dir, sizeof s->run_dir, "%s", opt->run_dir);
    snprintf(s->ckpt_dir, sizeof s->ckpt_dir, "%s/checkpoints", s->run_dir);
    s->frontend_port = opt->frontend_port ? opt->frontend_port : s->cfg.server.frontend_port;
    if (opt->static_dir) {
        if (!realpath(opt->static_dir, s->static_root)) {
            snprintf(err, errlen, "--static %s: %s", opt->static_dir, strerror(errno));
            return -1;
        }
    }
    /* The address to bind, resolved once: the token rule and the check after binding both
     * go by it, never by the name given. */
    char aerr[200];
    if (addr_resolve(s->host, want, aerr, sizeof aerr) < 0) {
        snprintf(err, errlen, "--host %s: %s", s->host, aerr);
        return -1;
    }
    if (opt->token && opt->token[0]) {
        if (strlen(opt->token) >= sizeof s->access_token || strpbrk(opt->token, "; \t\r\n\"")) {
            snprintf(err, errlen, "--token: at most %zu characters, no spaces, quotes or ';'",
                     sizeof s->access_token - 1);
            return -1;
        }
        snprintf(s->access_token, sizeof s->access_token, "%s", opt->token);
    } else if (!addr_is_loopback_sa((struct sockaddr *)want) &&
               random_token(s->access_token, sizeof s->access_token) < 0) {
        snprintf(err, errlen, "cannot generate a token: %s", strerror(errno));
        return -1;
    }
    const char *tt = opt->trainer_token ? opt->trainer_token : getenv("RD_TRAINER_TOKEN");
    snprintf(s->trainer_token, sizeof s->trainer_token, "%s", tt && tt[0] ? tt : s->access_token);
    snprintf(s->runs_root, sizeof s->runs_root, "%s", opt->runs_root ? opt->runs_root : "");
    return 0;
}

/* server_create, step 2: the jobs (with their history), the world text, and the contexts of
 * the sessions and the HTTP side, which point into s. */
static int open_parts(server_t *s, char *err, size_t errlen) {
    s->jobs.conns = &s->conns;
    s->jobs.cfg = &s->cfg;
    s->jobs.run_dir = s->run_dir;
    s->jobs.runs_root = s->runs_root[0] ? s->runs_root : NULL;
    s->jobs.jb = &s->jb;
    s->jobs.on_checkpoint = on_checkpoint;
    s->jobs.arg = s;
    if (job_set_open(&s->jobs, err, errlen) < 0) return -1;
    s->world = world_json(&s->cfg, &s->world_len);
    if (!s->world) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->jobs.world = s->world;
    s->jobs.world_len = s->world_len;
    s->sess = (session_ctx){.loop = s->loop,
                            .cfg = &s->cfg,
                            .conns = &s->conns,
                            .jobs = &s->jobs,
                            .world = s->world,
                            .world_len = s->world_len};
    s->http = (http_ctx){.cfg = &s->cfg,
                         .host = s->host,
                         .frontend_port = s->frontend_port,
                         .run_dir = s->run_dir,
                         .ckpt_dir = s->ckpt_dir,
                         .static_root = s->static_root,
                         .access_token = s->access_token,
                         .start_ms = s->start_ms,
                         .jobs = &s->jobs,
                         .conns = &s->conns,
                         .admit = &s->admit,
                         .jb = &s->jb};
    if (conn_set_init(&s->conns) < 0 || admit_init(&s->admit, ADMIT_PER_PEER, ADMIT_TOTAL) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* server_create, step 3: the lws context on the caller's loop, listening on want (and
 * nowhere wider). */
static int listen_on(server_t *s, const struct sockaddr_storage *want, int port, char *err,
                     size_t errlen) {
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {s->loop};
    /* lws binds to an interface name or a numeric address: the resolved one. An lws 4.1
     * vhost with IPv6 enabled binds an IPv4 `iface` as [::] — every interface — so IPv6 is
     * disabled for an IPv4 address, and what was bound is checked below either way. */
    char bind_addr[INET6_ADDRSTRLEN] = "";
    addr_format((const struct sockaddr *)want, -1, bind_addr, sizeof bind_addr);
    info.port = port;
    info.iface = bind_addr;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (want->ss_family == AF_INET) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
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
                 s->host, port);
        return -1;
    }
    s->vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : port;
    s->http.port = s->port;
    char aerr[200] = "";
    if (s->port <= 0) {
        snprintf(err, errlen, "cannot listen on %s:%d", s->host, port);
        goto fail;
    }
    /* The address actually bound must be the one asked for: a wider bind would serve the
     * network without a token. */
    if (addr_check_listening((const struct sockaddr *)want, s->port, aerr, sizeof aerr) <= 0) {
        snprintf(err, errlen, "--host %s: %s; refusing to serve", s->host,
                 aerr[0] ? aerr : "no listening socket found on the port");
        goto fail;
    }
    return 0;
fail:
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    return -1;
}

/* server_create, step 4: the server's own handles — housekeeping, the stop, the checkpoint
 * watch. */
static void start_handles(server_t *s) {
    uv_timer_init(s->loop, &s->tick);
    uv_timer_init(s->loop, &s->stop_timer);
    uv_timer_init(s->loop, &s->fs_retry);
    uv_timer_init(s->loop, &s->fs_debounce);
    uv_fs_event_init(s->loop, &s->fs_ev);
    s->tick.data = s->stop_timer.data = s->fs_retry.data = s->fs_debounce.data = s;
    s->fs_ev.data = s;
    s->open_handles = 5;
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    watch_checkpoints(s);
}

server_t *server_create(uv_loop_t *loop, const cfg_config *cfg, const server_options *opt,
                        char *err, size_t errlen) {
    server_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_init_dyn(&s->jb);
    s->loop = loop;
    s->cfg = *cfg;
    s->start_ms = clk_mono_ms();
    struct sockaddr_storage want;
    if (take_options(s, opt, &want, err, errlen) < 0 || open_parts(s, err, errlen) < 0 ||
        listen_on(s, &want, opt->port, err, errlen) < 0)
        goto fail;
    start_handles(s);
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

int server_port(const server_t *s) {
    return s->port;
}

const char *server_token(const server_t *s) {
    return s->access_token;
}

static void finish_stop(server_t *s) {
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
    server_t *s = t->data;
    int left = s->conns.counts[CONN_TRAINER] + s->conns.counts[CONN_TRAINING] +
               s->conns.counts[CONN_INFERENCE];
    if (left && --s->stop_ticks > 0) return;
    finish_stop(s);
}

void server_shutdown(server_t *s) {
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

void server_free(server_t *s) {
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
    session_ctx_close(&s->sess);
    free(s);
}
