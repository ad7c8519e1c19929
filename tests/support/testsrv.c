/* tests/support/testsrv.c — a small WebSocket server for tests (see testsrv.h).
 *
 * Same threading rule as the code under test: every lws call happens on the server's own
 * thread except lws_cancel_service(), which the test thread uses to hand it work. */
#include "tests/support/testsrv.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS_MAX_CONNS 64
#define TS_OUT_SLOTS 64

typedef struct {
    int conn;
    char *text;
} stored;

typedef struct {
    char path[512], token[256], query_token[256];
    bool closed_normally;
} conn_info;

/* Per-connection state (lws allocates it for each wsi). */
typedef struct {
    int conn;
    unsigned char *rx;
    size_t rx_len, rx_alloc;
    bool kick;
    int kick_code;
} session;

struct testsrv {
    struct lws_context *ctx;
    pthread_t thread;
    int port;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    stored *msgs;
    int store_max, stored_n;
    uint64_t count, bytes;
    int n_conns, open_conns;
    conn_info conns[TS_MAX_CONNS];
    char *out[TS_OUT_SLOTS];
    bool out_binary[TS_OUT_SLOTS];
    int out_head, out_count;
    bool kick_requested, stop;
    int reject_code;

    struct lws *newest; /* server thread only */
    bool done;
};

static testsrv *from_wsi(struct lws *wsi) {
    return lws_context_user(lws_get_context(wsi));
}

static int ts_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len) {
    testsrv *s = from_wsi(wsi);
    session *ss = user;
    switch (reason) {
        case LWS_CALLBACK_ESTABLISHED: {
            pthread_mutex_lock(&s->mu);
            ss->conn = ++s->n_conns;
            s->open_conns++;
            if (ss->conn <= TS_MAX_CONNS) {
                conn_info *ci = &s->conns[ss->conn - 1];
                char uri[256] = "", args[256] = "";
                lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
                if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0) {
                    /* lws splits the query into its arguments; put them back together. */
                    int frag = 0;
                    size_t o = 0;
                    char part[256];
                    while (lws_hdr_copy_fragment(wsi, part, sizeof part, WSI_TOKEN_HTTP_URI_ARGS,
                                                 frag) > 0) {
                        o += (size_t)snprintf(args + o, sizeof args - o, "%s%s", frag ? "&" : "",
                                              part);
                        if (o >= sizeof args) break;
                        frag++;
                    }
                }
                snprintf(ci->path, sizeof ci->path, "%s%s%s", uri, *args ? "?" : "", args);
                /* lws copies the whole "token=..." argument and points past the name. */
                char arg[256];
                const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, (int)sizeof arg);
                snprintf(ci->query_token, sizeof ci->query_token, "%s", v ? v : "");
                int tl = lws_hdr_custom_length(wsi, "x-run-demo-token:", 17);
                if (tl > 0 && tl < (int)sizeof ci->token)
                    lws_hdr_custom_copy(wsi, ci->token, sizeof ci->token, "x-run-demo-token:", 17);
            }
            int reject = s->reject_code;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            s->newest = wsi;
            if (reject) {
                /* Like the real server with a bad token: accept, then close at once. */
                ss->kick = true;
                ss->kick_code = reject;
                lws_callback_on_writable(wsi);
            }
            break;
        }
        case LWS_CALLBACK_RECEIVE: {
            if (ss->rx_len + len > ss->rx_alloc) {
                size_t want = (ss->rx_len + len) * 2;
                ss->rx = realloc(ss->rx, want);
                if (!ss->rx) return -1;
                ss->rx_alloc = want;
            }
            memcpy(ss->rx + ss->rx_len, in, len);
            ss->rx_len += len;
            if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) break;
            pthread_mutex_lock(&s->mu);
            if (s->stored_n < s->store_max) {
                stored *m = &s->msgs[s->stored_n];
                m->conn = ss->conn;
                m->text = malloc(ss->rx_len + 1);
                if (m->text) {
                    memcpy(m->text, ss->rx, ss->rx_len);
                    m->text[ss->rx_len] = '\0';
                    s->stored_n++;
                }
            }
            s->count++;
            s->bytes += ss->rx_len;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            ss->rx_len = 0;
            break;
        }
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if (len >= 2 && ss->conn >= 1 && ss->conn <= TS_MAX_CONNS) {
                const unsigned char *c = in;
                pthread_mutex_lock(&s->mu);
                s->conns[ss->conn - 1].closed_normally = (c[0] << 8 | c[1]) == 1000;
                pthread_mutex_unlock(&s->mu);
            }
            break;
        case LWS_CALLBACK_SERVER_WRITEABLE: {
            if (ss->kick) {
                lws_close_reason(wsi,
                                 ss->kick_code ? (enum lws_close_status)ss->kick_code
                                               : LWS_CLOSE_STATUS_GOINGAWAY,
                                 (unsigned char *)"kick", 4);
                return -1;
            }
            if (wsi != s->newest) break;
            pthread_mutex_lock(&s->mu);
            char *t = NULL;
            bool binary = false;
            if (s->out_count > 0) {
                t = s->out[s->out_head];
                binary = s->out_binary[s->out_head];
                s->out_head = (s->out_head + 1) % TS_OUT_SLOTS;
                s->out_count--;
            }
            bool more = s->out_count > 0;
            pthread_mutex_unlock(&s->mu);
            if (t) {
                size_t n = strlen(t);
                unsigned char *b = malloc(LWS_PRE + n);
                if (b) {
                    memcpy(b + LWS_PRE, t, n);
                    lws_write(wsi, b + LWS_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
                    free(b);
                }
                free(t);
            }
            if (more) lws_callback_on_writable(wsi);
            break;
        }
        case LWS_CALLBACK_CLOSED:
            pthread_mutex_lock(&s->mu);
            s->open_conns--;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            if (s->newest == wsi) s->newest = NULL;
            free(ss->rx);
            ss->rx = NULL;
            break;
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
            pthread_mutex_lock(&s->mu);
            bool kick = s->kick_requested, stop = s->stop, out = s->out_count > 0;
            s->kick_requested = false;
            pthread_mutex_unlock(&s->mu);
            if (stop) s->done = true;
            if (s->newest && (kick || out)) {
                if (kick) ((session *)lws_wsi_user(s->newest))->kick = true;
                lws_callback_on_writable(s->newest);
            }
            break;
        }
        default:
            break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols ts_protocols[] = {
    {"rd-test", ts_callback, sizeof(session), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *ts_main(void *arg) {
    testsrv *s = arg;
    while (!s->done)
        if (lws_service(s->ctx, 0) < 0) break;
    return NULL;
}

testsrv *testsrv_start(int port, int store_max) {
    testsrv *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->store_max = store_max;
    s->msgs = calloc(store_max > 0 ? (size_t)store_max : 1, sizeof *s->msgs);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = ts_protocols;
    info.user = s;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) goto fail;
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, ts_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        lws_context_destroy(s->ctx);
        goto fail;
    }
    return s;
fail:
    free(s->msgs);
    free(s);
    return NULL;
}

int testsrv_port(const testsrv *s) {
    return s->port;
}

static void deadline_after(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

uint64_t testsrv_count(testsrv *s) {
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t testsrv_bytes(testsrv *s) {
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->bytes;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int testsrv_connections(testsrv *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n_conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

bool testsrv_wait_count(testsrv *s, uint64_t n, int timeout_ms) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (s->count < n && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0) {}
    bool ok = s->count >= n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool testsrv_wait_connections(testsrv *s, int n, int timeout_ms) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (s->n_conns < n && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0) {}
    bool ok = s->n_conns >= n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool testsrv_wait_no_clients(testsrv *s, int timeout_ms) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (s->open_conns > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0) {}
    bool ok = s->open_conns == 0;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int testsrv_message(testsrv *s, int i, char *buf, size_t cap) {
    int conn = -1;
    pthread_mutex_lock(&s->mu);
    if (i >= 0 && i < s->stored_n) {
        snprintf(buf, cap, "%s", s->msgs[i].text);
        conn = s->msgs[i].conn;
    }
    pthread_mutex_unlock(&s->mu);
    return conn;
}

int testsrv_conn_info(testsrv *s, int conn, char *path, size_t pathcap, char *token,
                      size_t tokcap) {
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (conn >= 1 && conn <= s->n_conns && conn <= TS_MAX_CONNS) {
        snprintf(path, pathcap, "%s", s->conns[conn - 1].path);
        snprintf(token, tokcap, "%s", s->conns[conn - 1].token);
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int testsrv_conn_query_token(testsrv *s, int conn, char *buf, size_t cap) {
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (conn >= 1 && conn <= s->n_conns && conn <= TS_MAX_CONNS) {
        snprintf(buf, cap, "%s", s->conns[conn - 1].query_token);
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

bool testsrv_conn_closed_normally(testsrv *s, int conn) {
    pthread_mutex_lock(&s->mu);
    bool ok = conn >= 1 && conn <= TS_MAX_CONNS && s->conns[conn - 1].closed_normally;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int send_msg(testsrv *s, const char *text, bool binary) {
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (s->open_conns > 0 && s->out_count < TS_OUT_SLOTS) {
        int i = (s->out_head + s->out_count) % TS_OUT_SLOTS;
        s->out[i] = strdup(text);
        s->out_binary[i] = binary;
        s->out_count++;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) lws_cancel_service(s->ctx);
    return rc;
}

int testsrv_send(testsrv *s, const char *text) {
    return send_msg(s, text, false);
}

int testsrv_send_binary(testsrv *s, const char *data) {
    return send_msg(s, data, true);
}

void testsrv_kick(testsrv *s) {
    pthread_mutex_lock(&s->mu);
    s->kick_requested = true;
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
}

void testsrv_set_reject(testsrv *s, int code) {
    pthread_mutex_lock(&s->mu);
    s->reject_code = code;
    pthread_mutex_unlock(&s->mu);
}

void testsrv_stop(testsrv *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
    pthread_join(s->thread, NULL);
    lws_context_destroy(s->ctx);
    for (int i = 0; i < s->stored_n; i++) free(s->msgs[i].text);
    for (int i = 0; i < s->out_count; i++) free(s->out[(s->out_head + i) % TS_OUT_SLOTS]);
    free(s->msgs);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
